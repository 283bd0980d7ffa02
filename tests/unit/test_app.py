"""The Lambda entry point end to end in process: app's wiring of the real lifecycle into the Provider, one answer
per event, the hand-over to polling, and the logs an operator reads.

Connect, EventBridge and Lambda are real botocore clients behind Stubber; the answer is captured where
``response.send`` would PUT it. The Provider on its own (the crhelper seam) is tested in test_provider.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

import app
import polling as polling_module
from provider import Provider
from tests.unit.conftest import (
    GROUP_ARN,
    RULE_ARN,
    RULE_NAME,
    Capture,
    FakeClock,
    FakeConnection,
    FakeContext,
    FakeTimer,
    Regions,
    aws_client,
    describe,
    describe_missing,
    get_traffic,
    load_event,
)


@pytest.fixture
def schedule_clients() -> polling_module.ScheduleClients:
    return polling_module.ScheduleClients(aws_client)


@pytest.fixture
def provider(
    monkeypatch: pytest.MonkeyPatch,
    clients: Regions,
    schedule_clients: polling_module.ScheduleClients,
    clock: FakeClock,
) -> Iterator[Provider]:
    """app's own wiring, with the fake clock and stubbed clients."""
    helper = build(clients, clock, schedule_clients)
    monkeypatch.setattr(app, "helper", helper)
    yield helper


def build(
    clients: Regions,
    clock: FakeClock,
    schedule_clients: polling_module.ScheduleClients,
    sleep: Callable[[float], None] | None = None,
) -> Provider:
    """app's own wiring, through app.build_provider, with stubbed clients and the fake clock."""
    return app.build_provider(
        region="us-east-1",
        connect_clients=clients,
        schedule_clients=schedule_clients,
        allowed_response_hosts=None,
        logger=app.logger,
        metrics=app.metrics,
        clock=clock,
        sleep=sleep or clock.sleep,
    )


@pytest.fixture
def polling(provider: Provider, schedule_clients: polling_module.ScheduleClients) -> Iterator[tuple[Stubber, Stubber]]:
    with Stubber(schedule_clients.events) as events, Stubber(schedule_clients.lambda_) as lambda_:
        yield events, lambda_
        events.assert_no_pending_responses()
        lambda_.assert_no_pending_responses()


def invoke(event: dict[str, Any], clock: FakeClock, timeout_s: float = 900) -> None:
    app.handler(event, FakeContext(timeout_s=timeout_s, clock=clock))


def test_create_answers_once_with_attributes(
    stub: Stubber, provider: Provider, answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ARN[-36:], "Arn": GROUP_ARN}, None)
    describe(stub, "CREATION_IN_PROGRESS")
    describe(stub, "ACTIVE")
    get_traffic(stub)

    invoke(load_event("create"), clock)

    assert len(answers) == 1
    assert answers[0]["Status"] == "SUCCESS"
    assert answers[0]["PhysicalResourceId"] == GROUP_ARN
    assert answers[0]["Data"]["Arn"] == GROUP_ARN
    assert set(answers[0]["Data"]) == {
        *("Id", "Arn", "InstanceArn", "Status", "IsDefault"),
        *("TelephonyDistribution", "AgentDistribution"),
    }


def test_invalid_properties_fail_once_with_an_id_that_delete_ignores(
    provider: Provider, answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    event = load_event("create")
    event["ResourceProperties"]["Descripton"] = "typo"

    invoke(event, clock)

    assert [a["Status"] for a in answers] == ["FAILED"]
    assert answers[0]["Reason"].startswith("Unknown property Descripton.")
    physical_id = answers[0]["PhysicalResourceId"]
    assert physical_id.startswith("consumer_Tdg_")

    invoke(load_event("delete", PhysicalResourceId=physical_id, ResourceProperties=event["ResourceProperties"]), clock)
    assert [a["Status"] for a in answers] == ["FAILED", "SUCCESS"]
    assert answers[1]["PhysicalResourceId"] == physical_id


def test_creation_failed_returns_the_group_so_rollback_deletes_it(
    stub: Stubber, provider: Provider, answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ARN[-36:], "Arn": GROUP_ARN}, None)
    describe(stub, "CREATION_FAILED")

    invoke(load_event("create"), clock)

    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [("FAILED", GROUP_ARN)]


def test_a_request_done_in_its_invocation_builds_no_polling_client(
    stub: Stubber, clients: Regions, answers: list[dict[str, Any]], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EventBridge and Lambda clients cost cold-start time; only a hand-over to polling needs them.
    built: list[str] = []
    helper = build(clients, clock, polling_module.ScheduleClients(lambda service: built.append(service)))
    monkeypatch.setattr(app, "helper", helper)
    stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ARN[-36:], "Arn": GROUP_ARN}, None)
    describe(stub, "ACTIVE")
    get_traffic(stub)

    invoke(load_event("create"), clock)

    assert [a["Status"] for a in answers] == ["SUCCESS"]
    assert built == []


def test_a_delivery_retry_is_logged_as_json_with_the_request(
    provider: Provider,
    s3: type[FakeConnection],
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_stream = io.StringIO()
    monkeypatch.setattr(app.logger.registered_handler, "stream", log_stream)
    s3.script = [503, 200]
    # A Delete of an id crhelper invented for a failed Create: no Connect call, only the answer.
    invoke(load_event("delete", PhysicalResourceId="tdg-stack_Tdg_ABCDEFGH"), clock)

    records = {r["message"]: r for r in map(json.loads, log_stream.getvalue().splitlines())}
    retry = records["Answer not delivered yet; retrying"]
    assert retry["level"] == "WARNING" and retry["error"] == "HTTP 503 Reason"
    assert retry["RequestId"] == "1f0c9a5e-delete-4d2b-9d1e-000000000003"
    assert retry["LogicalResourceId"] == "Tdg"
    assert retry["StackId"].startswith("arn:aws:cloudformation")
    assert records["Answer delivered to CloudFormation"]["attempt"] == 2
    assert len(s3.requests) == 2 and json.loads(s3.requests[1][2])["Status"] == "SUCCESS"


def test_delete_answers_as_soon_as_the_group_is_gone_without_sleeping(
    stub: Stubber, provider: Provider, answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    describe(stub)
    stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
    describe_missing(stub)

    invoke(load_event("delete"), clock)

    assert [a["Status"] for a in answers] == ["SUCCESS"]
    assert len(clock.sleeps) == 1 and 0.5 <= clock.sleeps[0] <= 1.0  # one jittered poll, no sleep_on_delete


def test_unexpected_error_is_one_failed_answer(
    stub: Stubber, provider: Provider, answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ARN[-36:], "Arn": GROUP_ARN}, None)
    stub.add_response(
        "describe_traffic_distribution_group",
        {"TrafficDistributionGroup": {"Id": GROUP_ARN[-36:]}},  # Connect never omits Arn; the provider must not crash
    )

    invoke(load_event("create"), clock)

    assert [a["Status"] for a in answers] == ["FAILED"]
    assert answers[0]["Reason"].startswith("Unexpected error in the provider: KeyError")
    assert answers[0]["PhysicalResourceId"] == GROUP_ARN  # the group was made: the rollback's Delete removes it


@pytest.fixture
def fixed_rule_name(monkeypatch: pytest.MonkeyPatch) -> None:
    real = polling_module.rule_name
    monkeypatch.setattr(polling_module, "rule_name", lambda logical_id: real(logical_id, suffix="ABCDEFGH"))


def slow_create(stub: Stubber) -> None:
    """Create answers, and the group stays CREATION_IN_PROGRESS for the whole of a 4-second invocation."""
    stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ARN[-36:], "Arn": GROUP_ARN}, None)
    for _ in range(3):
        describe(stub, "CREATION_IN_PROGRESS")


def expect_polling_setup(events: Stubber, lambda_: Stubber, *, put_targets: list[dict[str, Any]]) -> Capture:
    """PutRule and AddPermission succeed; PutTargets answers each of ``put_targets`` in turn."""
    events.add_response(
        "put_rule",
        {"RuleArn": RULE_ARN},
        {"Name": RULE_NAME, "ScheduleExpression": "rate(1 minute)", "State": "ENABLED"},
    )
    lambda_.add_response(
        "add_permission",
        {"Statement": "{}"},
        {
            "FunctionName": "connect-tdg-provider",
            "StatementId": RULE_NAME,
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": RULE_ARN,
        },
    )
    targets = Capture()
    for answer in put_targets:
        events.add_response("put_targets", answer, {"Rule": RULE_NAME, "Targets": targets})
    return targets


def expect_polling_removal(events: Stubber, lambda_: Stubber) -> None:
    events.add_response("remove_targets", {"FailedEntryCount": 0}, {"Rule": RULE_NAME, "Ids": ["1"]})
    lambda_.add_response("remove_permission", {}, {"FunctionName": "connect-tdg-provider", "StatementId": RULE_NAME})
    events.add_response("delete_rule", {}, {"Name": RULE_NAME})


@pytest.mark.usefixtures("fixed_rule_name")
def test_slow_creation_hands_over_to_polling_and_leaves_nothing_behind(
    stub: Stubber,
    provider: Provider,
    polling: tuple[Stubber, Stubber],
    answers: list[dict[str, Any]],
    clock: FakeClock,
) -> None:
    events, lambda_ = polling
    slow_create(stub)
    targets = expect_polling_setup(events, lambda_, put_targets=[{"FailedEntryCount": 0}])

    invoke(load_event("create"), clock, timeout_s=4)

    assert answers == []
    assert targets.value[0]["Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:connect-tdg-provider"
    poll_event = json.loads(targets.value[0]["Input"])
    assert poll_event["CrHelperPoll"] is True
    assert poll_event["CrHelperData"]["State"] == {"Phase": "create", "GroupArn": GROUP_ARN}
    assert (poll_event["CrHelperRule"], poll_event["CrHelperPermission"]) == (RULE_ARN, RULE_NAME)

    describe(stub, "ACTIVE")
    get_traffic(stub)
    expect_polling_removal(events, lambda_)

    invoke(poll_event, clock)

    assert len(answers) == 1
    assert answers[0]["Status"] == "SUCCESS"
    assert answers[0]["PhysicalResourceId"] == GROUP_ARN
    assert answers[0]["Data"]["Status"] == "ACTIVE"
    assert "State" not in answers[0]["Data"] and "PhysicalResourceId" not in answers[0]["Data"]


@pytest.mark.usefixtures("fixed_rule_name")
def test_a_target_eventbridge_did_not_apply_is_put_again(
    stub: Stubber, provider: Provider, polling: tuple[Stubber, Stubber], answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    events, lambda_ = polling
    slow_create(stub)
    partial = {
        "FailedEntryCount": 1,
        "FailedEntries": [{"TargetId": "1", "ErrorCode": "ConcurrentModificationException", "ErrorMessage": "busy"}],
    }
    expect_polling_setup(events, lambda_, put_targets=[partial, {"FailedEntryCount": 0}])

    invoke(load_event("create"), clock, timeout_s=4)

    assert answers == []  # handed over: the second PutTargets applied the target


@pytest.mark.usefixtures("fixed_rule_name")
def test_a_target_eventbridge_never_applies_fails_with_the_group_and_removes_the_schedule(
    stub: Stubber, provider: Provider, polling: tuple[Stubber, Stubber], answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    events, lambda_ = polling
    slow_create(stub)
    partial = {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "1", "ErrorCode": "InternalException"}]}
    expect_polling_setup(events, lambda_, put_targets=[partial] * polling_module.ATTEMPTS)
    expect_polling_removal(events, lambda_)

    invoke(load_event("create"), clock, timeout_s=4)

    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert answer["PhysicalResourceId"] == GROUP_ARN  # the rollback's Delete removes the group
    assert "scheduled polling could not be set up in EventBridge" in answer["Reason"]
    assert "PutTargets failed for target 1: InternalException" in answer["Reason"]


def test_logs_carry_the_request_and_never_the_response_url(
    stub: Stubber,
    provider: Provider,
    answers: list[dict[str, Any]],
    clock: FakeClock,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level("DEBUG")
    log_stream = io.StringIO()
    monkeypatch.setattr(app.logger.registered_handler, "stream", log_stream)
    stub.add_client_error("create_traffic_distribution_group", "AccessDeniedException", "no", 403)

    invoke(load_event("create"), clock)

    out = capfd.readouterr()
    logs = log_stream.getvalue() + out.out + out.err + caplog.text
    assert "SECRETSIGNATURE" not in logs and "X-Amz-Signature" not in logs
    records = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    failure = next(r for r in records if r["message"] == "Request failed")
    assert failure["RequestId"] == "1f0c9a5e-create-4d2b-9d1e-000000000001"
    assert failure["LogicalResourceId"] == "Tdg"
    assert failure["RequestType"] == "Create"
    assert failure["StackId"].startswith("arn:aws:cloudformation")
    metrics = [json.loads(line) for line in out.out.splitlines() if '"_aws"' in line]
    assert any("CreateDuration" in m for m in metrics)
    assert any(m.get("ErrorCode") == "AccessDeniedException" for m in metrics)


@pytest.mark.parametrize("request_type", ["create", "update", "delete"])
def test_an_event_with_a_foreign_response_url_gets_no_call_no_answer_and_one_error_line(
    request_type: str,
    stub: Stubber,
    provider: Provider,
    answers: list[dict[str, Any]],
    clock: FakeClock,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_stream = io.StringIO()
    monkeypatch.setattr(app.logger.registered_handler, "stream", log_stream)
    url = "https://collector.example.com:8443/hook/X-Amz-Signature?token=SECRETSIGNATURE"

    invoke(load_event(request_type, ResponseURL=url), clock)  # the stub has no response: any Connect call fails

    assert answers == []
    records = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [r["level"] for r in records] == ["ERROR"]
    assert records[0]["response_host"] == "collector.example.com"
    assert "SECRETSIGNATURE" not in log_stream.getvalue() and "/hook" not in log_stream.getvalue()
    metrics = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m.get("RefusedEvents") for m in metrics] == [[1.0]]


def test_a_poll_event_with_a_foreign_response_url_is_refused_too(
    stub: Stubber, provider: Provider, polling: tuple[Stubber, Stubber], answers: list[dict[str, Any]], clock: FakeClock
) -> None:
    # EventBridge targets can be rewritten by anyone with events:PutTargets on the rule.
    poll = load_event("create", ResponseURL="https://collector.example.com/")
    poll.update(
        CrHelperPoll=True,
        CrHelperRule=RULE_ARN,
        CrHelperPermission=RULE_NAME,
        CrHelperData={"State": {"Phase": "create", "GroupArn": GROUP_ARN}},
    )

    invoke(poll, clock)  # neither Connect nor EventBridge nor Lambda has a response: any call fails

    assert answers == []


def test_the_timer_answer_names_the_group_a_create_made(
    stub: Stubber,
    clients: Regions,
    schedule_clients: polling_module.ScheduleClients,
    timers: list[FakeTimer],
    answers: list[dict[str, Any]],
    clock: FakeClock,
) -> None:
    # Given a Create that Connect accepted, and the last-resort timer firing while the provider waits for the group
    def sleep(seconds: float) -> None:
        if not timers[0].cancelled:
            timers[0].function()
        timers[0].cancel()
        clock.sleep(seconds)

    helper = build(clients, clock, schedule_clients, sleep=sleep)
    stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ARN[-36:], "Arn": GROUP_ARN}, None)
    describe(stub, "CREATION_IN_PROGRESS")
    describe(stub, "ACTIVE")
    get_traffic(stub)

    helper(load_event("create"), FakeContext(clock=clock))

    # Then its one answer is FAILED and names the group, so that the rollback's Delete removes it
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert answer["PhysicalResourceId"] == GROUP_ARN
