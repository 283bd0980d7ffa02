"""Pacing of the status command's calls under the account's shared Connect quota (about 2 requests/s, burst 5).

A token bucket slightly below the quota, with jitter on every wait, so that a long read does not meet throttling
from its own calls, and two operators (or an operator and a deploying provider) do not send in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

RATE = 1.9  # requests/s: under Connect's ~2/s, which other callers share
BURST = 5  # Connect's burst
JITTER = 0.1  # a wait is lengthened by up to this share of one interval


class Pace:
    """A token bucket: ``take`` returns at once while tokens are left, then waits for the next one, jittered."""

    def __init__(
        self,
        rate: float = RATE,
        burst: int = BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.rate, self.burst = rate, burst
        self.clock, self.sleep, self.jitter = clock, sleep, jitter
        self.tokens = float(burst)
        self.updated = clock()
        self.waited = 0.0

    def take(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            wait = (1 - self.tokens) / self.rate + self.jitter(0.0, JITTER / self.rate)
            self.sleep(wait)
            self.waited += wait
            self.tokens = min(self.burst, self.tokens + (self.clock() - self.updated) * self.rate)
            self.updated = self.clock()
        self.tokens -= 1

    def attach(self, client: Any) -> Any:
        """Make every request of ``client`` take a token first; returns the client."""
        client.meta.events.register("before-parameter-build.connect", lambda **_: self.take())
        return client
