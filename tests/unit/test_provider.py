"""The Provider on its own (the crhelper seam), driven through its public call, or through app.handler where a
test reads the logs and metrics it leaves: what it tells the lifecycle, the answer it sends (once, with which
physical id, by when), crhelper's last-resort timer, the hand-over to polling and its limits, and what operators see.

The lifecycle is replaced by plain functions here; tests/unit/test_app.py runs the Provider with the real one.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.stub import Stubber

import app
import polling
import response
from errors import ProviderError
from provider import Handler, Provider
from request import Done, Pending, Progress, Request, Result
from tests.unit.conftest import (
    GROUP_ARN,
    NEW_GROUP_ARN,
    RULE_ARN,
    RULE_NAME,
    Capture,
    FakeClock,
    FakeContext,
    FakeTimer,
    aws_client,
    load_event,
    lone_provider,
)
from waiting import Budget


@pytest.mark.parametrize(
    ("timeout_s", "fires_after_s"),
    [(900, 890.0), (100, 90.0), (60, 54.0), (5, 4.5), (1, 0.9)],
    ids=["900s-keeps-10s", "100s-keeps-10s", "60s-keeps-10pc", "5s-keeps-10pc", "1s-keeps-10pc"],
)
def test_the_last_resort_timer_keeps_10_s_or_a_tenth_of_the_time_to_answer(
    timers: list[FakeTimer], answers: list[dict[str, Any]], timeout_s: float, fires_after_s: float
) -> None:
    clock = FakeClock()
    budgets: list[Budget] = []

    def handle(request: Request, budget: Budget, progress: Progress) -> Result:
        budgets.append(budget)
        return Done(GROUP_ARN)

    lone_provider(clock, handle=handle)(load_event("create"), FakeContext(timeout_s=timeout_s, clock=clock))

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

    lone_provider(clock, handle=overrun)(load_event("create"), FakeContext(timeout_s=900, clock=clock))

    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("The provider ran out of time")
    assert answer["PhysicalResourceId"] == GROUP_ARN  # so the rollback's Delete removes the group


# --- what the seam gives the lifecycle, what it answers, logs and counts -----------------------------------------

STATE = {"Phase": "create", "GroupArn": GROUP_ARN}


class Observed:
    """What an invocation through ``app.handler`` leaves for an operator: JSON log lines and EMF metrics."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
        self._stream = io.StringIO()
        self._capfd = capfd
        # Metrics are shared by the process: a test that calls a Provider directly leaves its own, unflushed
        app.metrics.clear_metrics()
        self._emf: list[dict[str, Any]] = []
        monkeypatch.setattr(app.logger.registered_handler, "stream", self._stream)
        self._monkeypatch = monkeypatch

    def invoke(self, helper: Provider, event: dict[str, Any], clock: FakeClock, timeout_s: float = 900) -> None:
        self._monkeypatch.setattr(app, "helper", helper)
        app.handler(event, FakeContext(timeout_s=timeout_s, clock=clock))

    def logs(self, message: str) -> list[dict[str, Any]]:
        return [r for r in self._records() if r["message"].startswith(message)]

    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self._records() if r["level"] == "ERROR"]

    def text(self) -> str:
        return self._stream.getvalue()

    def _records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines()]

    def metrics(self, name: str) -> list[tuple[list[float], str | None, dict[str, str]]]:
        """Each emission of ``name``: its values, its unit, and the dimensions it was emitted with."""
        self._emf += [json.loads(line) for line in self._capfd.readouterr().out.splitlines() if '"_aws"' in line]
        found = []
        for emf in self._emf:
            (directive,) = emf["_aws"]["CloudWatchMetrics"]
            for metric in directive["Metrics"]:
                if metric["Name"] == name:
                    dimensions = {d: emf[d] for group in directive["Dimensions"] for d in group}
                    found.append((emf[name], metric.get("Unit"), dimensions))
        return found


@pytest.fixture
def observed(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Observed:
    return Observed(monkeypatch, capfd)


def poll_event(state: dict[str, str] | None = None, *, schedule: bool = True, **overrides: Any) -> dict[str, Any]:
    """A scheduled poll of a Create, as the polling rule delivers it (the schedule's keys unless told otherwise)."""
    event = load_event("create", **overrides)
    event.update(CrHelperPoll=True, CrHelperData={"State": dict(state or STATE), "PhysicalResourceId": ""})
    if schedule:
        event.update(CrHelperRule=RULE_ARN, CrHelperPermission=RULE_NAME)
    return event


def raises(error: Exception) -> Handler:
    def handle(request: Request, budget: Budget, progress: Progress) -> Result:
        raise error

    return handle


def test_the_lifecycle_is_told_the_function_region_which_a_bare_instance_id_means(
    answers: list[dict[str, Any]],
) -> None:
    # Given a provider in us-east-1 (CloudFormation invokes only a function of the stack's own region, so the
    # function's region and the event's are the same)
    clock, regions = FakeClock(), []

    def handle(request: Request, budget: Budget, progress: Progress) -> Result:
        regions.append(request.region)
        return Done(GROUP_ARN)

    def resume(request: Request, state: Mapping[str, str], budget: Budget, progress: Progress) -> Result:
        regions.append(request.region)
        return Done(GROUP_ARN)

    helper = lone_provider(clock, handle=handle, resume=resume)
    # When a request is handled, and when a poll resumes one
    helper(load_event("create"), FakeContext(clock=clock))
    helper(poll_event(schedule=False), FakeContext(clock=clock))
    # Then both are told the function's region
    assert regions == ["us-east-1", "us-east-1"]
    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS"]


def test_a_poll_invocation_spends_at_most_45_s_on_connect_whatever_the_function_timeout(
    answers: list[dict[str, Any]],
) -> None:
    # Given a 900-second function, whose polls fire every minute
    clock, budgets = FakeClock(), []

    def resume(request: Request, state: Mapping[str, str], budget: Budget, progress: Progress) -> Result:
        budgets.append(budget)
        budget.nap(1.0)
        return Done(GROUP_ARN)

    # When a poll runs
    lone_provider(clock, resume=resume)(poll_event(schedule=False), FakeContext(timeout_s=900, clock=clock))

    # Then its budget ends 45 s after it started (two polls never overlap), and it waits on the provider's clock
    (budget,) = budgets
    assert budget.deadline == pytest.approx(1000.0 + 45.0)
    assert clock.sleeps == [1.0]
    assert [a["Status"] for a in answers] == ["SUCCESS"]


@pytest.mark.parametrize(
    ("replacing", "left_behind"),
    [(True, f" The replacement group {NEW_GROUP_ARN} may be left behind; delete it if so."), (False, "")],
    ids=["update-replacing", "create"],
)
def test_the_timer_during_a_poll_names_a_replacement_group_it_may_leave_behind(
    timers: list[FakeTimer], answers: list[dict[str, Any]], replacing: bool, left_behind: str
) -> None:
    # Given a poll that has made a group (a replacement, or the group of a Create)
    clock = FakeClock()

    def resume(request: Request, state: Mapping[str, str], budget: Budget, progress: Progress) -> Result:
        progress.created, progress.replacing = NEW_GROUP_ARN, replacing
        timers[0].function()  # When the last-resort timer fires while it still runs
        return Done(NEW_GROUP_ARN)

    lone_provider(clock, resume=resume)(poll_event(schedule=False), FakeContext(clock=clock))

    # Then the one answer says what to do, and names the replacement group only when there is one
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].endswith("check the group's status in the Connect console." + left_behind)


@pytest.mark.parametrize("request_type", ["update", "delete"])
def test_the_timer_answer_to_an_update_or_delete_keeps_the_groups_physical_id(
    timers: list[FakeTimer], answers: list[dict[str, Any]], request_type: str
) -> None:
    # Given an Update or Delete of the group still running when the timer fires
    clock = FakeClock()

    def overrun(request: Request, budget: Budget, progress: Progress) -> Result:
        timers[0].function()
        return Done(GROUP_ARN)

    lone_provider(clock, handle=overrun)(load_event(request_type), FakeContext(clock=clock))

    # Then the FAILED answer keeps the group's id: an answer changes it only to mean a replacement
    (answer,) = answers
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("FAILED", GROUP_ARN)


def test_an_update_that_replaces_the_group_answers_with_the_new_groups_id(answers: list[dict[str, Any]]) -> None:
    # Given an Update of GROUP_ARN whose lifecycle made a new group
    helper = lone_provider(handle=lambda request, budget, progress: Done(NEW_GROUP_ARN))
    # When it answers
    helper(load_event("update"), FakeContext(clock=FakeClock()))
    # Then with the new id, which tells CloudFormation to delete the old group in its clean-up
    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [("SUCCESS", NEW_GROUP_ARN)]


def test_a_failure_answers_with_the_physical_id_its_error_names(answers: list[dict[str, Any]]) -> None:
    # Given a Create whose error names the group it made (nothing recorded in the progress)
    error = ProviderError("The group ended CREATION_FAILED.", physical_resource_id=GROUP_ARN, code="CreationFailed")
    # When it fails
    lone_provider(handle=raises(error))(load_event("create"), FakeContext(clock=FakeClock()))
    # Then the answer names that group, so that the rollback's Delete removes it
    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [("FAILED", GROUP_ARN)]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ProviderError("Connect refused the call.", code="AccessDeniedException"), "AccessDeniedException"),
        (RuntimeError("boom"), "Unexpected"),
    ],
    ids=["provider-error", "unexpected"],
)
def test_a_failure_is_logged_once_with_its_reason_and_counted_by_operation_and_code(
    observed: Observed, answers: list[dict[str, Any]], error: Exception, code: str
) -> None:
    # When the lifecycle of a Create fails
    observed.invoke(lone_provider(handle=raises(error)), load_event("create"), FakeClock())

    # Then one ERROR line carries the Reason sent and the code, and one Failures metric counts it
    (answer,) = answers
    (record,) = observed.logs("Request failed")
    assert (record["level"], record["reason"], record["error_code"]) == ("ERROR", answer["Reason"], code)
    assert observed.metrics("Failures") == [([1.0], "Count", {"Operation": "Create", "ErrorCode": code})]


def test_the_timer_answer_counts_a_timeout_failure(
    timers: list[FakeTimer], observed: Observed, answers: list[dict[str, Any]]
) -> None:
    clock = FakeClock()

    def overrun(request: Request, budget: Budget, progress: Progress) -> Result:
        timers[0].function()
        return Done(GROUP_ARN)

    observed.invoke(lone_provider(clock, handle=overrun), load_event("update"), clock)

    assert [a["Status"] for a in answers] == ["FAILED"]
    assert observed.metrics("Failures") == [([1.0], "Count", {"Operation": "Update", "ErrorCode": "Timeout"})]
    # The handler's own answer, once it returns, is not sent: a warning says why
    assert [r["level"] for r in observed.logs("Not sent: this request was already answered")] == ["WARNING"]


def test_a_crash_outside_the_lifecycle_is_counted_as_unexpected(
    observed: Observed, answers: list[dict[str, Any]]
) -> None:
    # Given a request that must hand over, and a polling client that crashes (not an EventBridge error)
    helper = lone_provider(handle=lambda request, budget, progress: Pending(STATE))
    # When it runs
    observed.invoke(helper, load_event("create"), FakeClock())
    # Then it answers FAILED, and the failure is counted with the code Unexpected
    assert [a["Status"] for a in answers] == ["FAILED"]
    assert observed.metrics("Failures") == [([1.0], "Count", {"Operation": "Create", "ErrorCode": "Unexpected"})]


def test_each_invocation_counts_its_duration_in_milliseconds_and_throttles_only_when_throttled(
    observed: Observed, answers: list[dict[str, Any]]
) -> None:
    clock = FakeClock()

    def slow(throttles: int) -> Handler:
        def handle(request: Request, budget: Budget, progress: Progress) -> Result:
            budget.sleep(2.5)
            budget.throttles = throttles
            return Done(GROUP_ARN)

        return handle

    observed.invoke(lone_provider(clock, handle=slow(0)), load_event("create"), clock)
    assert [(values, unit) for values, unit, _ in observed.metrics("CreateDuration")] == [([2500.0], "Milliseconds")]
    assert observed.metrics("ConnectThrottles") == []

    observed.invoke(lone_provider(clock, handle=slow(3)), load_event("update"), clock)
    assert [(values, unit) for values, unit, _ in observed.metrics("ConnectThrottles")] == [([3.0], "Count")]
    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS"]


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The events polling.start was asked to schedule (nothing reaches EventBridge)."""
    events: list[dict[str, Any]] = []

    def start(*args: Any, event: dict[str, Any], **kwargs: Any) -> polling.Schedule:
        events.append(event)
        return polling.Schedule(RULE_ARN, RULE_NAME)

    monkeypatch.setattr(polling, "start", start)
    return events


class Abandoned:
    """The ``abandon`` of the resource types: records the state and how long it was given, on the provider's clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[Mapping[str, str], float]] = []

    def __call__(self, request: Request, state: Mapping[str, str], budget: Budget) -> str:
        assert request.request_id == load_event("create")["RequestId"]
        self.calls.append((state, budget.remaining()))
        budget.nap(0.5)
        return f" The replacement group {NEW_GROUP_ARN} was deleted."


def test_an_event_too_large_for_an_eventbridge_target_fails_before_any_schedule_is_made(
    scheduled: list[dict[str, Any]], observed: Observed, answers: list[dict[str, Any]]
) -> None:
    # Given a request that must hand over, whose event (with the rule ARN and statement id it gains) is just
    # within EventBridge's 8192 characters
    clock = FakeClock()
    pending = lone_provider(clock, handle=lambda request, budget, progress: Pending(STATE))
    pending(load_event("create"), FakeContext(clock=clock))
    padding = polling.MAX_INPUT - 200 - polling.input_size(scheduled[0])
    fits = load_event("create")
    fits["ResourceProperties"]["Description"] += "x" * padding
    pending(fits, FakeContext(clock=clock))
    assert len(scheduled) == 2 and answers == []  # handed over: the polls answer

    # When the event is one character longer
    abandon = Abandoned(clock)
    too_large = load_event("create")
    too_large["ResourceProperties"]["Description"] += "x" * (padding + 1)
    helper = lone_provider(clock, handle=lambda request, budget, progress: Pending(STATE), abandon=abandon)
    observed.invoke(helper, too_large, clock)

    # Then no schedule is made, what the request made is undone within 10 s, and the FAILED answer says why
    assert len(scheduled) == 2
    assert abandon.calls == [(STATE, 10.0)] and clock.sleeps == [0.5]
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == (
        f"Connect is still working on {GROUP_ARN} and this invocation is out of time, but the event (8193 "
        "characters) is too large for scheduled polling (EventBridge keeps 8192). Use fewer or shorter tags, "
        f"or raise the function's timeout. The replacement group {NEW_GROUP_ARN} was deleted."
    )
    (record,) = observed.logs("Request failed")
    assert (record["reason"], record["error_code"]) == (answer["Reason"], "PollingUnavailable")
    assert observed.metrics("Failures") == [
        ([1.0], "Count", {"Operation": "Create", "ErrorCode": "PollingUnavailable"})
    ]


def test_polling_eventbridge_refuses_fails_naming_the_group_and_undoes_what_the_request_made(
    monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any]]
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> polling.Schedule:
        raise polling.PollingError("ClientError: AccessDenied")

    monkeypatch.setattr(polling, "start", refuse)
    clock = FakeClock()
    abandon = Abandoned(clock)
    helper = lone_provider(clock, handle=lambda request, budget, progress: Pending(STATE), abandon=abandon)

    helper(load_event("create"), FakeContext(clock=clock))

    assert abandon.calls == [(STATE, 10.0)]
    (answer,) = answers
    assert answer["Reason"].startswith(
        f"Connect is still working on {GROUP_ARN} and this invocation is out of time, but scheduled polling could "
        "not be set up in EventBridge (ClientError: AccessDenied)."
    )
    assert answer["Reason"].endswith(f" The replacement group {NEW_GROUP_ARN} was deleted.")


def test_no_polling_once_the_timer_answered_and_the_warning_says_what_was_undone(
    timers: list[FakeTimer], scheduled: list[dict[str, Any]], observed: Observed, answers: list[dict[str, Any]]
) -> None:
    clock = FakeClock()
    abandon = Abandoned(clock)

    def overrun(request: Request, budget: Budget, progress: Progress) -> Result:
        timers[0].function()
        return Pending(STATE)

    observed.invoke(lone_provider(clock, handle=overrun, abandon=abandon), load_event("create"), clock)

    assert scheduled == [] and [a["Status"] for a in answers] == ["FAILED"]
    assert abandon.calls == [(STATE, 10.0)]
    (record,) = observed.logs("No scheduled polling")
    assert record["level"] == "WARNING"
    assert record["message"] == (
        "No scheduled polling: the request was already answered FAILED."
        f" The replacement group {NEW_GROUP_ARN} was deleted."
    )


def test_a_schedule_that_cannot_be_removed_is_logged_and_the_answer_still_goes_out(
    observed: Observed, answers: list[dict[str, Any]]
) -> None:
    # Given the last poll of a request, and an EventBridge that throttles once, then refuses the removal
    clock, clients = FakeClock(), polling.ScheduleClients(aws_client)
    helper = lone_provider(
        clock, resume=lambda request, state, budget, progress: Done(GROUP_ARN), schedule_clients=clients
    )
    with Stubber(clients.events) as events, Stubber(clients.lambda_) as lambda_:
        events.add_client_error("remove_targets", "ThrottlingException", "slow down", 400)
        events.add_response("remove_targets", {"FailedEntryCount": 0}, {"Rule": RULE_NAME, "Ids": ["1"]})
        lambda_.add_client_error("remove_permission", "AccessDeniedException", "no", 403)
        events.add_client_error("delete_rule", "AccessDeniedException", "no", 400)

        # When it answers
        observed.invoke(helper, poll_event(), clock)

        events.assert_no_pending_responses()
        lambda_.assert_no_pending_responses()

    # Then SUCCESS goes out, the throttle was waited out on the provider's clock, and an ERROR line says what is left
    assert [a["Status"] for a in answers] == ["SUCCESS"]
    assert len(clock.sleeps) == 1
    (record,) = observed.logs("Could not remove the polling schedule")
    assert record["level"] == "ERROR"
    assert [problem.split(":")[0] for problem in record["problems"]] == ["RemovePermission", "DeleteRule"]


def test_a_newer_state_is_given_to_the_polls_even_if_eventbridge_applies_it_on_a_second_try(
    answers: list[dict[str, Any]],
) -> None:
    clock, clients = FakeClock(), polling.ScheduleClients(aws_client)
    newer = {**STATE, "Sent": "true"}
    helper = lone_provider(
        clock, resume=lambda request, state, budget, progress: Pending(newer), schedule_clients=clients
    )
    partial = {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "1", "ErrorCode": "InternalException"}]}
    target = {
        "Id": "1",
        "Arn": "arn:aws:lambda:us-east-1:123456789012:function:connect-tdg-provider",
        "Input": json.dumps({**poll_event(), "CrHelperData": {"State": newer, "PhysicalResourceId": ""}}),
    }
    with Stubber(clients.events) as events:
        for answer in (partial, {"FailedEntryCount": 0}):
            events.add_response("put_targets", answer, {"Rule": RULE_NAME, "Targets": [target]})

        helper(poll_event(), FakeContext(clock=clock))

        events.assert_no_pending_responses()
    assert answers == [] and len(clock.sleeps) == 1


def test_when_eventbridge_refuses_the_newer_state_polling_goes_on_from_the_older_one_with_a_warning(
    observed: Observed, answers: list[dict[str, Any]]
) -> None:
    clock, clients = FakeClock(), polling.ScheduleClients(aws_client)
    newer = {**STATE, "Sent": "true"}
    helper = lone_provider(
        clock, resume=lambda request, state, budget, progress: Pending(newer), schedule_clients=clients
    )
    with Stubber(clients.events) as events:
        events.add_client_error("put_targets", "AccessDeniedException", "no", 400)

        observed.invoke(helper, poll_event(), clock)

    assert answers == []
    (record,) = observed.logs("Polling goes on from the older state")
    assert record["level"] == "WARNING"
    assert "AccessDeniedException" in record["error"]


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (
            {k: v for k, v in load_event("create").items() if k not in ("RequestId", "ResponseURL")},
            "The event has no RequestId, ResponseURL: it is not a CloudFormation custom resource request.",
        ),
        (
            load_event("create", ResponseURL="https://collector.example.com/"),
            "Its ResponseURL is not an HTTPS URL where CloudFormation listens. If the host is CloudFormation's, "
            "add it to the function's ALLOWED_RESPONSE_HOSTS.",
        ),
    ],
    ids=["missing-keys", "foreign-host"],
)
def test_a_refused_event_is_logged_with_why_and_counted(
    observed: Observed, answers: list[dict[str, Any]], event: dict[str, Any], why: str
) -> None:
    observed.invoke(lone_provider(handle=raises(AssertionError("no call"))), event, FakeClock())

    assert answers == []
    (record,) = observed.logs("Refused an event")
    assert record["message"] == f"Refused an event: no call, no answer. {why}"
    assert [(values, unit) for values, unit, _ in observed.metrics("RefusedEvents")] == [([1.0], "Count")]


def test_an_event_without_a_request_id_is_refused_and_the_previous_request_is_not_answered_again(
    answers: list[dict[str, Any]],
) -> None:
    clock = FakeClock()
    helper = lone_provider(clock, handle=lambda request, budget, progress: Done("tdg-stack_Tdg_ABCDEFGH"))
    helper(load_event("delete", PhysicalResourceId="tdg-stack_Tdg_ABCDEFGH"), FakeContext(clock=clock))
    malformed = load_event("create")
    del malformed["RequestId"]

    helper(malformed, FakeContext(clock=clock))

    assert [(a["Status"], a["RequestId"]) for a in answers] == [("SUCCESS", "1f0c9a5e-delete-4d2b-9d1e-000000000003")]


def test_a_success_with_a_caveat_logs_the_caveat_as_a_warning(
    observed: Observed, answers: list[dict[str, Any]]
) -> None:
    note = "Traffic moved, but Connect could not be read back."
    observed.invoke(
        lone_provider(handle=lambda request, budget, progress: Done(GROUP_ARN, note=note)),
        load_event("update"),
        FakeClock(),
    )

    assert [a["Status"] for a in answers] == ["SUCCESS"]
    assert [r["level"] for r in observed.logs(note)] == ["WARNING"]


def test_a_success_that_names_a_metric_counts_it_once(observed: Observed, answers: list[dict[str, Any]]) -> None:
    result = Done(GROUP_ARN, note="Left the distribution as it is", metric="DistributionMovedOutsideStack")

    observed.invoke(lone_provider(handle=lambda request, budget, progress: result), load_event("update"), FakeClock())

    assert [a["Status"] for a in answers] == ["SUCCESS"]
    assert [(values, unit) for values, unit, _ in observed.metrics("DistributionMovedOutsideStack")] == [
        ([1.0], "Count")
    ]


def test_crhelper_never_logs_the_event_even_when_the_root_logger_is_at_debug(
    observed: Observed, answers: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    # Given crhelper's logger as a fresh process has it (app's Provider, built at import, set it already)
    crhelper_logger = logging.getLogger("crhelper")
    level, handlers, propagate = crhelper_logger.level, crhelper_logger.handlers, crhelper_logger.propagate
    crhelper_logger.setLevel(logging.NOTSET)
    crhelper_logger.handlers, crhelper_logger.propagate = [], True
    try:
        helper = lone_provider()
        caplog.set_level(logging.DEBUG)
        # When an event is handled
        observed.invoke(helper, load_event("create"), FakeClock())
    finally:
        crhelper_logger.setLevel(level)
        crhelper_logger.handlers, crhelper_logger.propagate = handlers, propagate
    # Then crhelper logged nothing of it: its DEBUG line holds the pre-signed ResponseURL
    assert [r for r in caplog.records if r.name.startswith("crhelper")] == []
    assert "SECRETSIGNATURE" not in caplog.text
    assert "SECRETSIGNATURE" not in observed.text()
    assert [a["Status"] for a in answers] == ["SUCCESS"]


def test_crhelpers_own_lines_are_json_lines_of_the_powertools_logger(observed: Observed) -> None:
    # Given a Provider (it routes crhelper's logger)
    lone_provider()
    # When crhelper logs an error, as its flow does for an exception it catches
    logging.getLogger("crhelper.resource_helper").error("boom", exc_info=ValueError("boom"))
    logging.getLogger("crhelper.resource_helper").info("Setting up polling")
    # Then the error is one JSON line with the Powertools keys, its INFO is dropped, and nothing reaches the root
    # logger, whose handler writes plain text
    (record,) = observed.logs("boom")
    assert (record["level"], record["service"], record["exception"]) == (
        "ERROR",
        "connect-tdg-provider",
        "ValueError: boom",
    )
    assert observed.logs("Setting up polling") == []
    assert not logging.getLogger("crhelper").propagate


@pytest.mark.parametrize(
    ("timeout_s", "delivery_s"), [(900, 60.0), (30, 29.0), (1.5, 1.0)], ids=["at-most-60s", "ends-1s-early", "1s-least"]
)
def test_the_answer_is_delivered_within_60_s_and_a_second_before_the_function_ends(
    monkeypatch: pytest.MonkeyPatch, timers: list[FakeTimer], timeout_s: float, delivery_s: float
) -> None:
    clock, deliveries = FakeClock(), []

    def send(url: str, body: bytes, **kwargs: Any) -> bool:
        deliveries.append(kwargs)
        kwargs["sleep"](0.25)  # a pause between attempts passes on the provider's clock
        return True

    monkeypatch.setattr(response, "send", send)

    lone_provider(clock)(load_event("create"), FakeContext(timeout_s=timeout_s, clock=clock))

    (delivery,) = deliveries
    assert delivery["deadline"] == pytest.approx(1000.0 + delivery_s, abs=1e-6)
    assert clock.sleeps == [0.25]


def test_an_unexpected_error_is_one_log_line_with_its_traceback(
    observed: Observed, answers: list[dict[str, Any]]
) -> None:
    # The Reason asks to report it "with the function's logs": they must hold where it happened, in one line
    observed.invoke(lone_provider(handle=raises(KeyError("Arn"))), load_event("create"), FakeClock())

    assert answers[0]["Reason"].startswith("Unexpected error in the provider: KeyError: 'Arn'.")
    assert observed.logs("Unexpected error") == []
    (record,) = observed.logs("Request failed")
    assert (record["level"], record["reason"], record["error_code"]) == ("ERROR", answers[0]["Reason"], "Unexpected")
    assert "KeyError: 'Arn'" in record["exception"] and "raise error" in record["exception"]


def test_a_hand_over_to_polling_is_logged_with_the_state_the_polls_resume_from(
    scheduled: list[dict[str, Any]], observed: Observed, answers: list[dict[str, Any]]
) -> None:
    helper = lone_provider(handle=lambda request, budget, progress: Pending(STATE))

    observed.invoke(helper, load_event("create"), FakeClock())

    assert answers == [] and len(scheduled) == 1
    (record,) = observed.logs("Connect is still working; handing over to scheduled polling")
    assert (record["level"], record["Phase"], record["GroupArn"]) == ("INFO", "create", GROUP_ARN)


def test_a_polling_setup_that_fails_is_one_json_line_and_nothing_from_crhelper(
    monkeypatch: pytest.MonkeyPatch,
    observed: Observed,
    answers: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a request that must hand over, and an EventBridge that refuses the schedule
    def refuse(*args: Any, **kwargs: Any) -> polling.Schedule:
        raise polling.PollingError("ClientError: AccessDenied")

    monkeypatch.setattr(polling, "start", refuse)
    helper = lone_provider(handle=lambda request, budget, progress: Pending(STATE))
    # When it runs
    observed.invoke(helper, load_event("create"), FakeClock())
    # Then one FAILED answer, one ERROR line saying why, and no line from crhelper (it would be a traceback)
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert [(r["message"], r["reason"]) for r in observed.errors()] == [("Request failed", answer["Reason"])]
    assert [r for r in caplog.records if r.name.startswith("crhelper")] == []


# --- the last-resort timer and the hand-over to polling --------------------------------------------------------


def test_no_polling_is_set_up_once_the_timer_has_answered_failed(
    timers: list[FakeTimer], answers: list[dict[str, Any]]
) -> None:
    # A Connect call that overran the budget: the last-resort timer answered while the handler still ran.
    clock, built = FakeClock(), []
    abandoned: list[Mapping[str, str]] = []

    def handle(request: Request, budget: Budget, progress: Progress) -> Result:
        timers[0].function()
        return Pending({"Phase": "replace", "GroupArn": GROUP_ARN})

    helper = lone_provider(
        clock,
        handle=handle,
        abandon=lambda request, state, budget: abandoned.append(state) or "",
        schedule_clients=polling.ScheduleClients(lambda service: built.append(service)),
    )

    helper(load_event("create"), FakeContext(clock=clock))

    assert [a["Status"] for a in answers] == ["FAILED"]
    assert built == []  # no rule, permission or target: polls would act on a request CloudFormation rolls back
    assert abandoned == [{"Phase": "replace", "GroupArn": GROUP_ARN}]  # what only this request made is undone


def test_a_timer_that_fires_while_polling_is_set_up_waits_and_then_sends_nothing(
    timers: list[FakeTimer], answers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The timer thread fires while EventBridge is still being called: once the schedule exists, the polls answer.
    clock, timer = FakeClock(), []

    def start(*args: Any, **kwargs: Any) -> None:
        timer.append(threading.Thread(target=timers[0].function))
        timer[0].start()
        timer[0].join(0.2)
        assert timer[0].is_alive()  # held back until the schedule is made

    monkeypatch.setattr(polling, "start", start)
    helper = lone_provider(
        clock, handle=lambda request, budget, progress: Pending({"Phase": "create", "GroupArn": GROUP_ARN})
    )

    helper(load_event("create"), FakeContext(clock=clock))
    timer[0].join(5)

    assert not timer[0].is_alive()
    assert answers == []


def test_a_timer_that_fires_while_success_is_delivered_counts_no_failure(
    timers: list[FakeTimer], observed: Observed, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivered: list[str] = []

    def slow_delivery(url: str, body: bytes, **_: Any) -> bool:
        timers[0].function()  # the timer fires during the delivery of the SUCCESS answer
        delivered.append(json.loads(body)["Status"])
        return True

    monkeypatch.setattr(response, "send", slow_delivery)
    observed.invoke(lone_provider(), load_event("delete", PhysicalResourceId="tdg-stack_Tdg_ABCDEFGH"), FakeClock())

    assert delivered == ["SUCCESS"]
    assert observed.metrics("DeleteDuration") != []
    assert observed.metrics("Failures") == []


def test_under_sam_local_crhelper_skips_polling_and_the_answer(
    answers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    clock, built = FakeClock(), []
    helper = lone_provider(
        clock,
        handle=lambda request, budget, progress: Pending(STATE),
        schedule_clients=polling.ScheduleClients(lambda service: built.append(service)),
    )

    helper(load_event("create"), FakeContext(timeout_s=4, clock=clock))

    assert answers == [] and built == []


def test_a_poll_that_moves_on_gives_the_next_polls_its_newer_state(answers: list[dict[str, Any]]) -> None:
    # The update was sent during this poll: the next polls must know it (never FAILED after traffic moved).
    clock, clients = FakeClock(), polling.ScheduleClients(aws_client)
    newer = {"Phase": "update", "GroupArn": GROUP_ARN, "Sent": "true"}
    helper = lone_provider(
        clock,
        handle=lambda request, budget, progress: Pending({}),
        resume=lambda request, state, budget, progress: Pending(newer),
        schedule_clients=clients,
    )
    poll_event = {
        **load_event("update"),
        "CrHelperPoll": True,
        "CrHelperRule": RULE_ARN,
        "CrHelperPermission": RULE_NAME,
        "CrHelperData": {"State": {"Phase": "update", "GroupArn": GROUP_ARN}},
    }
    targets = Capture()
    with Stubber(clients.events) as events:
        events.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": RULE_NAME, "Targets": targets})

        helper(poll_event, FakeContext(clock=clock))

        events.assert_no_pending_responses()
    assert answers == []
    assert json.loads(targets.value[0]["Input"])["CrHelperData"]["State"] == newer
