"""The Provider on its own: crhelper's last-resort timer, driven through the Provider's public call.

The lifecycle is replaced by plain functions here; tests/unit/test_app.py runs the Provider with the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from local.invoke import LambdaContext

from request import Done, Progress, Request, Result
from tests.unit.conftest import GROUP_ARN, FakeClock, load_event, lone_provider
from waiting import Budget


class FakeTimer:
    """threading.Timer that only records: the test decides whether and when it fires."""

    made: list[FakeTimer] = []  # noqa: RUF012 - reset by the fixture

    def __init__(self, interval: float, function: Callable[[], None]) -> None:
        self.interval, self.function = interval, function
        self.daemon = self.started = self.cancelled = False
        FakeTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[FakeTimer]:
    FakeTimer.made = []
    monkeypatch.setattr(threading, "Timer", FakeTimer)
    return FakeTimer.made


@pytest.mark.parametrize(
    ("timeout_s", "fires_after_s"),
    [(900, 890.0), (100, 90.0), (60, 54.0), (5, 4.5)],
    ids=["900s-keeps-10s", "100s-keeps-10s", "60s-keeps-10pc", "5s-keeps-10pc"],
)
def test_the_last_resort_timer_keeps_10_s_or_a_tenth_of_the_time_to_answer(
    timers: list[FakeTimer], answers: list[dict[str, Any]], timeout_s: float, fires_after_s: float
) -> None:
    clock = FakeClock()
    budgets: list[Budget] = []

    def handle(request: Request, budget: Budget, progress: Progress) -> Result:
        budgets.append(budget)
        return Done(GROUP_ARN)

    lone_provider(clock, handle=handle)(load_event("create"), LambdaContext(timeout_s=timeout_s, clock=clock))

    (timer,) = timers
    assert timer.interval == pytest.approx(fires_after_s, abs=0.01)
    assert timer.daemon and timer.started and timer.cancelled  # cancelled once the handler answered
    # A last resort: it fires only after the lifecycle's own budget has ended.
    assert budgets[0].deadline - clock() < timer.interval < timeout_s
    assert [a["Status"] for a in answers] == ["SUCCESS"]


def test_the_timer_answers_failed_once_naming_the_group_the_create_made(
    timers: list[FakeTimer], answers: list[dict[str, Any]]
) -> None:
    clock = FakeClock()

    def overrun(request: Request, budget: Budget, progress: Progress) -> Result:
        progress.created = GROUP_ARN
        timers[0].function()  # the handler is still running when the timer fires
        return Done(GROUP_ARN)

    lone_provider(clock, handle=overrun)(load_event("create"), LambdaContext(timeout_s=900, clock=clock))

    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("The provider ran out of time")
    assert answer["PhysicalResourceId"] == GROUP_ARN  # so the rollback's Delete removes the group
