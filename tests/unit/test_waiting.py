"""The pace of polling: spread at first, steady after, slower while Connect throttles."""

from __future__ import annotations

import itertools

import pytest

from waiting import Budget


def pauses(first: float, count: int, **kwargs: float) -> list[float]:
    budget = Budget(deadline=1e9, jitter=lambda low, high: first)
    return [round(p, 3) for p in itertools.islice(budget.pauses(**kwargs), count)]


@pytest.mark.parametrize("first", [0.5, 0.8, 1.0])
def test_the_first_poll_is_spread_and_later_polls_keep_the_schedule(first: float) -> None:
    schedule = list(itertools.accumulate(pauses(first, 5)))

    assert schedule[0] == first
    assert schedule[1:] == [2.25, 3.75, 5.25, 6.75]


def test_throttling_slows_polls_down_and_they_recover() -> None:
    budget = Budget(deadline=1e9, jitter=lambda low, high: high)
    paced = budget.pauses()
    seen = [next(paced), next(paced)]
    budget.throttles += 1
    seen += [next(paced)]
    budget.throttles += 1
    seen += [next(paced), next(paced), next(paced)]

    assert seen == [1.0, 1.25, 2.5, 5.0, 2.5, 1.5]


def test_long_work_settles_at_a_longer_interval() -> None:
    assert pauses(1.0, 14, settle=10.0)[-3:] == [10.0, 10.0, 10.0]
