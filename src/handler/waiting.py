"""Time and the account's Connect quota: how long an invocation may keep working, and how gently it polls.

Connect allows about 2 requests/s per account and region, shared by every resource of every stack that
is deploying. So the waits here are paced: the first poll is spread with jitter (16 resources created at
once must not poll in lockstep), polls settle at an interval that keeps the answer within 2 s of the
change, and a throttled invocation polls more slowly until Connect stops throttling it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

# Poll quickly at first (most groups are ready within seconds), then settle at an interval that keeps
# the answer within 2 s of the change while using under one of the account's ~2 Connect requests/s.
FIRST_POLL_INTERVAL = 1.0
POLL_BACKOFF = 1.25
MAX_POLL_INTERVAL = 1.5
# After a throttle the interval doubles up to this, and comes back down once calls pass again.
MAX_THROTTLED_POLL_INTERVAL = 8.0

# What an invocation keeps back from its own timeout: time to set up scheduled polling and to deliver
# the answer. A quarter of the time at hand for short functions, at most 30 s.
MAX_HANDOVER_MARGIN = 30.0
HANDOVER_SHARE = 0.25


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class OutOfTime(Exception):
    """The budget ended while a call was still being retried: hand over to scheduled polling.

    ``throttled`` tells the account's quota (it will pass) from server errors (the region may be down).
    """

    def __init__(self, reason: str, *, throttled: bool) -> None:
        super().__init__(reason)
        self.throttled = throttled


@dataclass
class Budget:
    """The time this invocation may still spend on Connect before it hands over or gives up.

    ``throttles`` counts the ThrottlingExceptions this invocation met: they slow its polls down and
    become a metric. ``clock``, ``sleep`` and ``jitter`` are injectable so that tests run without waiting.
    """

    deadline: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = field(default=time.sleep)
    jitter: Callable[[float, float], float] = field(default=random.uniform)
    throttles: int = 0

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

    def pauses(self, settle: float = MAX_POLL_INTERVAL) -> Iterator[float]:
        """The pauses between polls: a jittered first one, then slower up to ``settle``, and slower still
        while throttled. Work that takes minutes (replication) settles at a longer interval."""
        first = self.jitter(FIRST_POLL_INTERVAL / 2, FIRST_POLL_INTERVAL)
        yield first
        # The second pause makes up for the jitter, so that later polls keep the unjittered schedule
        # (1, 2.25, 3.75 s, ...), which answers soonest after a group that is ready in a few seconds.
        interval = FIRST_POLL_INTERVAL
        throttled_limit = max(MAX_THROTTLED_POLL_INTERVAL, settle)
        seen = self.throttles
        while True:
            if self.throttles > seen:
                seen = self.throttles
                interval = min(throttled_limit, max(interval, FIRST_POLL_INTERVAL) * 2)
            elif interval > settle:
                interval = max(settle, interval / 2)
            else:
                interval = min(settle, max(interval, FIRST_POLL_INTERVAL) * POLL_BACKOFF)
            yield interval + (FIRST_POLL_INTERVAL - first)
            first = FIRST_POLL_INTERVAL
