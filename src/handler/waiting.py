"""Time: how long an invocation may keep working, and how gently it polls Connect while it waits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

T = TypeVar("T")

# Poll quickly at first (most groups are ready within seconds), then settle at an interval that keeps
# the answer within 2 s of the change while using under one of the account's ~2 Connect requests/s.
FIRST_POLL_INTERVAL = 1.0
POLL_BACKOFF = 1.25
MAX_POLL_INTERVAL = 1.5

# What an invocation keeps back from its own timeout: time to set up scheduled polling and to deliver
# the answer. A quarter of the time at hand for short functions, at most 30 s.
MAX_HANDOVER_MARGIN = 30.0
HANDOVER_SHARE = 0.25


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class Budget:
    """The time this invocation may still spend on Connect before it hands over or gives up.

    ``clock`` and ``sleep`` are injectable so that tests run without real waiting.
    """

    deadline: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = field(default=time.sleep)

    @classmethod
    def from_context(
        cls,
        context: LambdaContext,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        limit: float | None = None,
    ) -> Budget:
        """Everything the invocation has left, minus the margin it needs to answer; at most ``limit``."""
        remaining = context.get_remaining_time_in_millis() / 1000.0
        usable = remaining - min(MAX_HANDOVER_MARGIN, remaining * HANDOVER_SHARE)
        if limit is not None:
            usable = min(usable, limit)
        return cls(deadline=clock() + max(0.0, usable), clock=clock, sleep=sleep)

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def nap(self, seconds: float) -> bool:
        """Sleep for ``seconds`` unless that would pass the deadline; return whether it slept."""
        if seconds > self.remaining():
            return False
        self.sleep(seconds)
        return True


def poll_intervals() -> Iterator[float]:
    interval = FIRST_POLL_INTERVAL
    while True:
        yield interval
        interval = min(MAX_POLL_INTERVAL, interval * POLL_BACKOFF)


def wait_for(check: Callable[[], T | None], budget: Budget) -> T | None:
    """Call ``check`` until it returns a value, pausing between calls; None when the budget runs out."""
    for interval in poll_intervals():
        result = check()
        if result is not None:
            return result
        if not budget.nap(interval):
            return None
    raise AssertionError("unreachable")  # pragma: no cover
