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
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

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
    become a metric. ``clock``, ``sleep``, ``jitter`` and ``wall`` are injectable so that tests run without waiting.
    """

    deadline: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = field(default=time.sleep)
    jitter: Callable[[float, float], float] = field(default=random.uniform)
    throttles: int = 0
    # Seconds since the epoch: for a wait that goes on across invocations (``clock`` is this process's own).
    wall: Callable[[], float] = field(default=time.time)

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


def poll_until(step: Callable[[], T | None], budget: Budget, *, settle: float = MAX_POLL_INTERVAL) -> T | None:
    """Run ``step`` until it returns a value, pausing as ``Budget.pauses`` says between runs.

    None means the budget ended first (a call of ``step`` still retrying raised OutOfTime, or the next pause
    would pass the deadline): the caller hands over to scheduled polling from the state it has.
    """
    pauses = budget.pauses(settle)
    while True:
        try:
            result = step()
        except OutOfTime:
            return None
        if result is not None:
            return result
        if not budget.nap(next(pauses)):
            return None


class NoTimeToRetry(Exception):
    """``retry`` would have tried again, but ``pause`` had no time for the wait. ``error`` is the last failure."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def retry(
    call: Callable[[], T],
    *,
    retryable: Callable[[Exception], bool],
    pause: Callable[[float], bool],
    first: float,
    cap: float,
    jitter: Callable[[float, float], float] = random.uniform,
) -> T:
    """Call until it returns, with jittered exponential backoff (``first`` doubling up to ``cap``) between tries.

    A failure that ``retryable`` refuses is raised as it is; ``retryable`` may count, and refuse after N. ``pause``
    waits the given seconds and says whether it did; when it had no time, NoTimeToRetry carries the last failure.
    """
    backoff = first
    while True:
        try:
            return call()
        except Exception as error:
            if not retryable(error):
                raise
            if not pause(jitter(backoff / 2, backoff)):
                raise NoTimeToRetry(error) from error
        backoff = min(cap, backoff * 2)


# Connect's default quota for the traffic distribution calls: about 2 requests/s per account, with a burst of 5.
QUOTA_RATE = 2.0
QUOTA_BURST = 5


@dataclass
class Pacer:
    """Spaces a run of Connect calls at the account's quota (a token bucket of ``burst`` at ``rate`` per second),
    so that work of many calls, such as moving 20 groups or reading 10 groups' status, spends its time calling
    rather than in throttling backoff. Call it before each request (or ``attach`` it to a client); it waits
    through ``budget``, never past its deadline. ``jitter`` lengthens each wait by up to that share of one
    interval, so that two callers sharing the quota do not send in lockstep."""

    budget: Budget
    rate: float = QUOTA_RATE
    burst: int = QUOTA_BURST
    jitter: float = 0.0
    _tokens: float = field(init=False, default=-1.0)
    _at: float = field(init=False, default=0.0)

    def __call__(self) -> None:
        now = self.budget.clock()
        if self._tokens < 0:
            self._tokens = float(self.burst)
        else:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            wait = (1 - self._tokens) / self.rate
            if self.jitter:
                wait += self.budget.jitter(0.0, self.jitter / self.rate)
            if self.budget.nap(wait):
                self._tokens, self._at = 1.0, self.budget.clock()
        self._tokens = max(0.0, self._tokens - 1)

    def attach(self, client: Any) -> Any:
        """Make every request of ``client`` wait for its turn first; returns the client."""
        client.meta.events.register("before-parameter-build.connect", lambda **_: self())
        return client
