"""The time an invocation may spend on Connect, and the pace of polling: spread at first, steady after, slower while
Connect throttles."""

from __future__ import annotations

import itertools

import boto3
import pytest
from botocore.stub import Stubber

from tests.unit.conftest import INSTANCE_ID, FakeClock, FakeContext
from waiting import Budget, NoTimeToRetry, OutOfTime, Pacer, poll_until, retry


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


class TestPollUntil:
    def test_the_first_value_a_step_returns_ends_the_wait_after_the_paced_pauses(self, clock: FakeClock) -> None:
        budget = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        answers = iter([None, None, "ready"])

        assert poll_until(lambda: next(answers), budget) == "ready"
        assert clock.sleeps == [1.0, 1.25]

    def test_a_wait_the_budget_cannot_hold_ends_with_none_without_sleeping_past_the_deadline(
        self, clock: FakeClock
    ) -> None:
        budget = Budget(deadline=clock() + 2.0, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        steps: list[float] = []

        assert poll_until(lambda: steps.append(clock()), budget) is None
        assert clock.sleeps == [1.0] and len(steps) == 2

    def test_a_step_still_retrying_at_the_deadline_ends_the_wait_with_none(self, clock: FakeClock) -> None:
        budget = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep)

        def step() -> str | None:
            raise OutOfTime("Connect throttled every call", throttled=True)

        assert poll_until(step, budget) is None
        assert clock.sleeps == []

    def test_long_work_settles_at_the_interval_it_asks_for(self, clock: FakeClock) -> None:
        budget = Budget(deadline=clock() + 600, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        answers = iter([*([None] * 14), "done"])

        assert poll_until(lambda: next(answers), budget, settle=10.0) == "done"
        assert clock.sleeps[-3:] == [10.0, 10.0, 10.0]


class TestRetry:
    def test_what_passes_is_tried_again_with_jittered_doubling_pauses_up_to_the_cap(self) -> None:
        failures = iter([ValueError("1"), ValueError("2"), ValueError("3"), ValueError("4")])
        pauses: list[float] = []
        ranges: list[tuple[float, float]] = []

        def call() -> str:
            error = next(failures, None)
            if error:
                raise error
            return "answer"

        def jitter(low: float, high: float) -> float:
            ranges.append((low, high))
            return high

        result = retry(
            call,
            retryable=lambda error: isinstance(error, ValueError),
            pause=lambda seconds: pauses.append(seconds) is None,
            first=1.0,
            cap=3.0,
            jitter=jitter,
        )

        assert result == "answer"
        assert ranges == [(0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]
        assert pauses == [1.0, 2.0, 3.0, 3.0]

    def test_what_does_not_pass_is_raised_as_it_is_at_once(self) -> None:
        refused = KeyError("refused")
        pauses: list[float] = []

        def call() -> str:
            raise refused

        with pytest.raises(KeyError) as raised:
            retry(call, retryable=lambda error: False, pause=lambda s: pauses.append(s) is None, first=1, cap=8)

        assert raised.value is refused and pauses == []

    def test_a_pause_without_time_gives_up_with_the_last_failure(self) -> None:
        failures = [ValueError("first"), ValueError("second")]

        def call() -> str:
            raise failures.pop(0)

        naps = iter([True, False])
        with pytest.raises(NoTimeToRetry) as stopped:
            retry(call, retryable=lambda error: True, pause=lambda seconds: next(naps), first=1, cap=8)

        assert str(stopped.value.error) == "second" and isinstance(stopped.value.__cause__, ValueError)

    def test_retryable_may_count_and_refuse_after_a_number_of_tries(self) -> None:
        tries: list[Exception] = []

        def call() -> str:
            raise ConnectionResetError("lost")

        def retryable(error: Exception) -> bool:
            tries.append(error)
            return len(tries) < 3

        with pytest.raises(ConnectionResetError):
            retry(call, retryable=retryable, pause=lambda seconds: True, first=0.1, cap=1)

        assert len(tries) == 3


def test_the_pacer_lets_a_burst_through_then_keeps_to_the_rate(clock: FakeClock, budget: Budget) -> None:
    pace = Pacer(budget)

    for _ in range(8):
        pace()

    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_the_pacer_refills_while_the_caller_works(clock: FakeClock, budget: Budget) -> None:
    pace = Pacer(budget, rate=2.0, burst=2)
    pace()
    pace()
    clock.now += 0.75  # a call took 0.75 s: 1.5 tokens came back

    pace()
    pace()

    assert clock.sleeps == [pytest.approx(0.25)]


def test_the_pacer_never_waits_past_the_deadline(clock: FakeClock) -> None:
    budget = Budget(deadline=clock() + 0.2, clock=clock, sleep=clock.sleep)
    pace = Pacer(budget, burst=1)
    pace()

    pace()

    assert clock.sleeps == []


def test_the_pacer_lengthens_each_wait_by_up_to_its_jitter_share_of_an_interval(clock: FakeClock) -> None:
    # Two callers sharing the quota (an operator's status and a deploying stack) must not send in lockstep
    spans: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        spans.append((low, high))
        return high

    budget = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep, jitter=jitter)
    pace = Pacer(budget, rate=1.9, burst=5, jitter=0.1)
    for _ in range(7):
        pace()

    interval = 1 / 1.9
    assert clock.sleeps == pytest.approx([interval * 1.1, interval * 1.1])
    assert [low for low, _ in spans] == [0.0, 0.0]
    assert [high for _, high in spans] == pytest.approx([interval * 0.1] * 2)


def test_every_request_of_a_client_the_pacer_is_attached_to_waits_its_turn(clock: FakeClock) -> None:
    budget = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep)
    client = Pacer(budget, rate=1.0, burst=1).attach(
        boto3.client("connect", region_name="us-west-2", aws_access_key_id="t", aws_secret_access_key="t")
    )
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response("get_cross_region_routing", {}, {"InstanceId": INSTANCE_ID})
            client.get_cross_region_routing(InstanceId=INSTANCE_ID)

    assert clock.sleeps == [1.0, 1.0]
