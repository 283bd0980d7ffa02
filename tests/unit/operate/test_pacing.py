"""operate.pacing: the status command's calls stay under the account's ~2 requests/s Connect quota."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from operate.pacing import BURST, RATE, Pace
from tests.unit.conftest import FakeClock


def test_a_burst_goes_at_once_then_one_call_per_interval_lengthened_by_jitter(clock: FakeClock) -> None:
    jitters: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        jitters.append((low, high))
        return high

    pace = Pace(clock=clock, sleep=clock.sleep, jitter=jitter)
    for _ in range(BURST + 2):
        pace.take()

    interval = 1 / RATE
    assert clock.sleeps == pytest.approx(
        [interval * 1.1, interval]
    )  # the second wait is shorter by the first one's jitter
    assert [high for _, high in jitters] == pytest.approx([interval * 0.1] * 2)
    assert (RATE, BURST) == (1.9, 5)  # under Connect's 2/s, with its burst of 5


def test_a_pause_between_calls_refills_the_bucket_up_to_the_burst(clock: FakeClock) -> None:
    pace = Pace(clock=clock, sleep=clock.sleep, jitter=lambda low, high: 0.0)
    for _ in range(BURST):
        pace.take()
    clock.now += 60
    for _ in range(BURST):
        pace.take()
    assert clock.sleeps == []
    pace.take()
    assert clock.sleeps == [1 / RATE]


def test_every_request_of_an_attached_client_takes_a_token(clock: FakeClock, connect_client: Any) -> None:
    pace = Pace(rate=1.0, burst=1, clock=clock, sleep=clock.sleep, jitter=lambda low, high: 0.0)
    pace.attach(connect_client)
    with Stubber(connect_client) as stub:
        for _ in range(3):
            stub.add_response("get_cross_region_routing", {}, {"InstanceId": "11111111-2222-3333-4444-555555555555"})
        for _ in range(3):
            connect_client.get_cross_region_routing(InstanceId="11111111-2222-3333-4444-555555555555")
    assert clock.sleeps == [1.0, 1.0]
