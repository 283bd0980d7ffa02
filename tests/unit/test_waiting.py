"""The time an invocation may spend on Connect, and the pace of polling: spread at first, steady after, slower while
Connect throttles."""

from __future__ import annotations

import itertools

import pytest

from tests.unit.conftest import FakeClock, FakeContext
from waiting import Budget, OutOfTime


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


@pytest.mark.parametrize(
    ("remaining_ms", "usable"),
    [(4_000, 3.0), (20_000, 15.0), (120_000, 90.0), (900_000, 870.0)],
)
def test_the_budget_keeps_a_quarter_of_a_short_invocation_and_30_s_of_a_long_one(
    clock: FakeClock, remaining_ms: int, usable: float
) -> None:
    # Given an invocation with this much time left; when its budget is made
    budget = Budget.from_context(FakeContext(timeout_s=remaining_ms / 1000, clock=clock), clock, clock.sleep)

    # Then the rest is kept to set up polling and deliver the answer before the function's timeout
    assert budget.remaining() == usable


def test_a_poll_budget_is_capped_by_its_limit(clock: FakeClock) -> None:
    budget = Budget.from_context(FakeContext(timeout_s=900, clock=clock), clock, clock.sleep, limit=45.0)

    assert budget.remaining() == 45.0


def test_an_invocation_with_no_time_left_has_no_budget_and_never_naps(clock: FakeClock) -> None:
    # Given an invocation already at its timeout; when its budget is made
    budget = Budget.from_context(FakeContext(timeout_s=0, clock=clock), clock, clock.sleep)

    # Then not even a short pause fits
    assert budget.remaining() == 0.0
    assert budget.nap(0.5) is False
    assert clock.sleeps == []


def test_a_nap_that_ends_exactly_at_the_deadline_is_taken_and_one_beyond_is_not(clock: FakeClock) -> None:
    budget = Budget(deadline=clock() + 10.0, clock=clock, sleep=clock.sleep)

    assert budget.nap(10.5) is False
    assert budget.nap(10.0) is True
    assert clock.sleeps == [10.0]


def test_out_of_time_carries_its_reason_into_the_answer() -> None:
    # The Reason of a replacement that could not be deleted quotes it ("could not be deleted (<reason>)")
    error = OutOfTime("Connect in us-east-1 throttled DeleteTrafficDistributionGroup 8 times", throttled=True)

    assert str(error) == "Connect in us-east-1 throttled DeleteTrafficDistributionGroup 8 times"
    assert error.throttled is True
