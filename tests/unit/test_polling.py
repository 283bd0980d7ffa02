"""The polling schedule: what EventBridge and Lambda report is checked, and a failed setup leaves nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

import polling

NAME = "ConnectTdgPoll-Tdg-ABCDEFGH"
RULE_ARN = f"arn:aws:events:us-east-1:123456789012:rule/{NAME}"
FUNCTION = "connect-tdg-provider"


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")


@pytest.fixture
def stubs() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    events, lambda_ = client("events"), client("lambda")
    with Stubber(events) as events_stub, Stubber(lambda_) as lambda_stub:
        yield events, lambda_, events_stub, lambda_stub
        events_stub.assert_no_pending_responses()
        lambda_stub.assert_no_pending_responses()


def start(events: Any, lambda_: Any) -> polling.Schedule:
    return polling.start(
        events,
        lambda_,
        name=NAME,
        function_name=FUNCTION,
        event={"RequestId": "r"},
        interval_minutes=1,
        sleep=lambda s: None,
    )


def rule_made(events_stub: Stubber) -> None:
    events_stub.add_response("put_rule", {"RuleArn": RULE_ARN}, None)


def removal(events_stub: Stubber, lambda_stub: Stubber, *, permission_exists: bool = True) -> None:
    events_stub.add_response("remove_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Ids": ["1"]})
    if permission_exists:
        lambda_stub.add_response("remove_permission", {}, {"FunctionName": FUNCTION, "StatementId": NAME})
    else:
        lambda_stub.add_client_error("remove_permission", "ResourceNotFoundException", "no such statement", 404)
    events_stub.add_response("delete_rule", {}, {"Name": NAME})


def test_a_permission_whose_answer_was_lost_is_not_a_failure(stubs: tuple[Any, Any, Stubber, Stubber]) -> None:
    events, lambda_, events_stub, lambda_stub = stubs
    rule_made(events_stub)
    lambda_stub.add_client_error("add_permission", "ServiceException", "oops", 500)
    lambda_stub.add_client_error(
        "add_permission",
        "ResourceConflictException",
        f"The statement id ({NAME}) provided already exists. Please provide a new statement id.",
        409,
    )
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": ANY})

    schedule = start(events, lambda_)

    assert schedule == polling.Schedule(RULE_ARN, NAME)


def test_a_refused_permission_removes_the_rule_and_says_why(stubs: tuple[Any, Any, Stubber, Stubber]) -> None:
    events, lambda_, events_stub, lambda_stub = stubs
    rule_made(events_stub)
    lambda_stub.add_client_error("add_permission", "AccessDeniedException", "not allowed", 403)
    removal(events_stub, lambda_stub, permission_exists=False)

    with pytest.raises(polling.PollingError, match="AccessDeniedException"):
        start(events, lambda_)


def test_a_target_eventbridge_would_not_remove_is_reported_not_raised(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    events, lambda_, events_stub, lambda_stub = stubs
    partial = {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "1", "ErrorCode": "InternalException"}]}
    for _ in range(polling.ATTEMPTS):
        events_stub.add_response("remove_targets", partial, {"Rule": NAME, "Ids": ["1"]})
    lambda_stub.add_response("remove_permission", {}, {"FunctionName": FUNCTION, "StatementId": NAME})
    events_stub.add_client_error("delete_rule", "ValidationException", "Rule can't be deleted since it has targets.")

    problems = polling.stop(
        events, lambda_, polling.Schedule(RULE_ARN, NAME), function_name=FUNCTION, sleep=lambda s: None
    )

    assert [problem.split(":")[0] for problem in problems] == ["RemoveTargets", "DeleteRule"]


def refused(stub: Stubber, operation: str, code: str, message: str, status: int = 400, **expected: Any) -> None:
    stub.add_client_error(operation, code, message, status, expected_params=expected or None)


def test_the_schedule_clients_are_in_the_functions_region_and_try_each_call_once() -> None:
    # Given the function's region; when polling builds its clients
    clients = polling.ScheduleClients.for_region("us-west-2")

    # Then each talks to its service there, and makes one attempt per call (_retry retries; attempts must not
    # multiply with botocore's), with timeouts short enough for the handover's 30 s
    for built, service in ((clients.events, "events"), (clients.lambda_, "lambda")):
        assert built.meta.service_model.service_name == service
        assert built.meta.region_name == "us-west-2"
        assert built.meta.config.retries["total_max_attempts"] == 1
        assert (built.meta.config.connect_timeout, built.meta.config.read_timeout) == (3, 10)


@pytest.mark.parametrize(("minutes", "expression"), [(1, "rate(1 minute)"), (5, "rate(5 minutes)")])
def test_the_schedule_expression_is_singular_for_one_minute_and_plural_beyond(
    stubs: tuple[Any, Any, Stubber, Stubber], minutes: int, expression: str
) -> None:
    # Given EventBridge, which refuses "rate(1 minutes)" and "rate(5 minute)"
    events, lambda_, events_stub, lambda_stub = stubs
    events_stub.add_response(
        "put_rule", {"RuleArn": RULE_ARN}, {"Name": NAME, "ScheduleExpression": expression, "State": "ENABLED"}
    )
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": ANY})

    # When a schedule of that many minutes is made; then PutRule gets the expression (the stub checks it)
    polling.start(
        events, lambda_, name=NAME, function_name=FUNCTION, event={}, interval_minutes=minutes, sleep=lambda s: None
    )


def test_a_refused_rule_leaves_nothing_to_remove_and_names_the_error(stubs: tuple[Any, Any, Stubber, Stubber]) -> None:
    # Given PutRule refused: nothing of the schedule exists
    events, lambda_, events_stub, _ = stubs
    refused(events_stub, "put_rule", "AccessDeniedException", "not allowed")

    # When polling is set up
    with pytest.raises(polling.PollingError) as raised:
        start(events, lambda_)

    # Then no removal is attempted (any call would find no stubbed answer), and the error names what was refused
    assert str(raised.value) == (
        "AccessDeniedException: An error occurred (AccessDeniedException) when calling the PutRule operation: "
        "not allowed"
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ConcurrentModificationException", 400),
        ("InternalException", 400),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_throttling_concurrent_changes_and_server_errors_of_any_code_are_retried(
    stubs: tuple[Any, Any, Stubber, Stubber], code: str, status: int
) -> None:
    # Given EventBridge refuses PutRule once with a passing error
    events, lambda_, events_stub, lambda_stub = stubs
    refused(events_stub, "put_rule", code, "try again", status)
    rule_made(events_stub)
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": ANY})

    # When polling is set up; then the rule is made on the second try
    assert start(events, lambda_) == polling.Schedule(RULE_ARN, NAME)


@pytest.mark.parametrize(
    "lost",
    [
        EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://events.us-east-1.amazonaws.com/"),
    ],
)
def test_a_lost_connection_is_retried(
    stubs: tuple[Any, Any, Stubber, Stubber], lost: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the first PutRule never gets an answer
    events, lambda_, events_stub, lambda_stub = stubs
    tries: list[str] = []
    put_rule = events.put_rule

    def connection(**params: Any) -> Any:
        tries.append("PutRule")
        if len(tries) == 1:
            raise lost
        return put_rule(**params)

    monkeypatch.setattr(events, "put_rule", connection)
    rule_made(events_stub)
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": ANY})

    # When polling is set up; then PutRule is sent again and the schedule is made
    assert start(events, lambda_) == polling.Schedule(RULE_ARN, NAME)
    assert tries == ["PutRule", "PutRule"]


def test_retries_back_off_from_half_a_second_doubling_so_a_call_waits_at_most_7_5_s(
    stubs: tuple[Any, Any, Stubber, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given PutRule throttled four times: each of the three calls may take five tries within the handover's 30 s
    events, lambda_, events_stub, lambda_stub = stubs
    for _ in range(polling.ATTEMPTS - 1):
        refused(events_stub, "put_rule", "ThrottlingException", "Rate exceeded")
    rule_made(events_stub)
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": ANY})
    ranges: list[tuple[float, float]] = []
    monkeypatch.setattr(polling.random, "uniform", lambda low, high: ranges.append((low, high)) or high)
    slept: list[float] = []

    # When polling is set up
    polling.start(events, lambda_, name=NAME, function_name=FUNCTION, event={}, interval_minutes=1, sleep=slept.append)

    # Then each pause is jittered in the upper half of a backoff that starts at 0.5 s and doubles
    assert ranges == [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]
    assert slept == [0.5, 1.0, 2.0, 4.0]


def test_a_permission_conflict_that_is_not_a_duplicate_statement_is_retried(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    # Given Lambda busy with another change of the function's policy (not "already exists": nothing was made)
    events, lambda_, events_stub, lambda_stub = stubs
    rule_made(events_stub)
    refused(
        lambda_stub,
        "add_permission",
        "ResourceConflictException",
        "The operation cannot be performed at this time. An update is in progress for resource: connect-tdg-provider",
        409,
    )
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": ANY})

    # When polling is set up; then AddPermission is sent again (the stub expects both), not taken as done
    assert start(events, lambda_) == polling.Schedule(RULE_ARN, NAME)


def test_a_failed_setup_still_removes_its_rule_when_eventbridge_is_busy(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    # Given AddPermission refused, and RemoveTargets not applied at the first try
    events, lambda_, events_stub, lambda_stub = stubs
    rule_made(events_stub)
    refused(lambda_stub, "add_permission", "AccessDeniedException", "not allowed", 403)
    busy = {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "1", "ErrorCode": "ConcurrentModificationException"}]}
    events_stub.add_response("remove_targets", busy, {"Rule": NAME, "Ids": ["1"]})
    removal(events_stub, lambda_stub, permission_exists=False)

    # When polling is set up; then it fails, and the removal is retried through to DeleteRule
    with pytest.raises(polling.PollingError, match="AccessDeniedException"):
        start(events, lambda_)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            {"TargetId": "1", "ErrorCode": "ConcurrentModificationException", "ErrorMessage": "too many requests"},
            "PutTargets failed for target 1: ConcurrentModificationException too many requests",
        ),
        ({"TargetId": "1", "ErrorCode": "InternalException"}, "PutTargets failed for target 1: InternalException"),
    ],
)
def test_a_target_never_applied_fails_the_setup_with_the_entrys_code_and_message(
    stubs: tuple[Any, Any, Stubber, Stubber], entry: dict[str, str], says: str
) -> None:
    # Given PutTargets answers 200 without applying the target, every time
    events, lambda_, events_stub, lambda_stub = stubs
    rule_made(events_stub)
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    for _ in range(polling.ATTEMPTS):
        events_stub.add_response(
            "put_targets", {"FailedEntryCount": 1, "FailedEntries": [entry]}, {"Rule": NAME, "Targets": ANY}
        )
    removal(events_stub, lambda_stub)

    # When polling is set up
    with pytest.raises(polling.PollingError) as raised:
        start(events, lambda_)

    # Then the error (it goes into the Reason) says what EventBridge said about the entry, and nothing more
    assert str(raised.value).endswith(f": {says}")


def test_a_failed_count_without_its_entries_still_fails_the_setup_and_removes_the_schedule(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    # Given PutTargets reports a failed entry but does not list it
    events, lambda_, events_stub, lambda_stub = stubs
    rule_made(events_stub)
    lambda_stub.add_response("add_permission", {"Statement": "{}"}, None)
    for _ in range(polling.ATTEMPTS):
        events_stub.add_response("put_targets", {"FailedEntryCount": 1}, {"Rule": NAME, "Targets": ANY})
    removal(events_stub, lambda_stub)

    # When polling is set up; then the setup fails cleanly and nothing is left behind
    with pytest.raises(polling.PollingError, match="PutTargets failed"):
        start(events, lambda_)


def test_a_retarget_puts_the_newer_event_on_the_same_rule_for_the_function(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    # Given a schedule, and EventBridge that applies the new target at the second try
    events, _, events_stub, _ = stubs
    newer = {"RequestId": "r", "CrHelperData": {"State": {"Phase": "update", "Sent": "true"}}}
    target = {
        "Id": "1",
        "Arn": f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
        "Input": json.dumps(newer),
    }
    busy = {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "1", "ErrorCode": "ConcurrentModificationException"}]}
    events_stub.add_response("put_targets", busy, {"Rule": NAME, "Targets": [target]})
    events_stub.add_response("put_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Targets": [target]})

    # When the next polls are given a newer state; then the same target of the same rule carries it
    polling.retarget(
        events, polling.Schedule(RULE_ARN, NAME), function_name=FUNCTION, event=newer, sleep=lambda s: None
    )


def test_a_retarget_that_fails_raises_polling_error_naming_the_error(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    # Given PutTargets refused
    events, _, events_stub, _ = stubs
    refused(events_stub, "put_targets", "AccessDeniedException", "not allowed")

    # When the next polls are given a newer state
    with pytest.raises(polling.PollingError) as raised:
        polling.retarget(
            events, polling.Schedule(RULE_ARN, NAME), function_name=FUNCTION, event={}, sleep=lambda s: None
        )

    # Then the error (logged by the provider, which keeps polling from the older state) says what was refused
    assert str(raised.value) == (
        "AccessDeniedException: An error occurred (AccessDeniedException) when calling the PutTargets operation: "
        "not allowed"
    )


def test_parts_of_the_schedule_already_gone_are_not_reported(stubs: tuple[Any, Any, Stubber, Stubber]) -> None:
    # Given a schedule whose target, permission and rule are already gone (an earlier poll removed them)
    events, lambda_, events_stub, lambda_stub = stubs
    refused(events_stub, "remove_targets", "ResourceNotFoundException", "Rule does not exist", Rule=NAME, Ids=["1"])
    refused(lambda_stub, "remove_permission", "ResourceNotFoundException", "No policy found", 404)
    refused(events_stub, "delete_rule", "ResourceNotFoundException", "Rule does not exist", Name=NAME)

    # When it is removed; then nothing is reported as left behind
    assert (
        polling.stop(events, lambda_, polling.Schedule(RULE_ARN, NAME), function_name=FUNCTION, sleep=lambda s: None)
        == []
    )


def test_each_part_left_behind_is_reported_with_its_operation_and_the_error(
    stubs: tuple[Any, Any, Stubber, Stubber],
) -> None:
    # Given EventBridge keeps the target, Lambda refuses to remove the permission, and the rule cannot go
    events, lambda_, events_stub, lambda_stub = stubs
    partial = {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "1", "ErrorCode": "InternalException"}]}
    for _ in range(polling.ATTEMPTS):
        events_stub.add_response("remove_targets", partial, {"Rule": NAME, "Ids": ["1"]})
    refused(lambda_stub, "remove_permission", "AccessDeniedException", "not allowed", 403)
    refused(events_stub, "delete_rule", "ValidationException", "Rule can't be deleted since it has targets.")

    # When the schedule is removed
    problems = polling.stop(
        events, lambda_, polling.Schedule(RULE_ARN, NAME), function_name=FUNCTION, sleep=lambda s: None
    )

    # Then the operator reads which part is left and why (the provider logs this list)
    assert problems == [
        "RemoveTargets: _PartialFailure: RemoveTargets failed for target 1: InternalException",
        "RemovePermission: ClientError: An error occurred (AccessDeniedException) when calling the RemovePermission "
        "operation: not allowed",
        "DeleteRule: ClientError: An error occurred (ValidationException) when calling the DeleteRule operation: "
        "Rule can't be deleted since it has targets.",
    ]


def test_a_failed_setup_answers_polling_unavailable_and_says_what_to_check() -> None:
    # Given a setup that failed; when the provider makes it a failure
    error = polling.setup_failed("AccessDeniedException: not allowed", doing="Connect is still working on the group")

    # Then its metric code is PollingUnavailable, and its Reason says nothing is left and what to check
    assert error.code == "PollingUnavailable"
    assert error.reason == (
        "Connect is still working on the group, but scheduled polling could not be set up in EventBridge "
        "(AccessDeniedException: not allowed). Nothing of the schedule was left behind. Check the provider's "
        "events:PutRule/PutTargets and lambda:AddPermission permissions and EventBridge's quotas, then retry the "
        "stack operation."
    )


def test_a_part_whose_connection_keeps_failing_is_reported_not_raised(
    stubs: tuple[Any, Any, Stubber, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given EventBridge unreachable for DeleteRule at every try (a lost connection has no error code)
    events, lambda_, events_stub, lambda_stub = stubs
    events_stub.add_response("remove_targets", {"FailedEntryCount": 0}, {"Rule": NAME, "Ids": ["1"]})
    lambda_stub.add_response("remove_permission", {}, {"FunctionName": FUNCTION, "StatementId": NAME})
    lost = EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com/")

    def unreachable(**_: Any) -> Any:
        raise lost

    monkeypatch.setattr(events, "delete_rule", unreachable)

    # When the schedule is removed
    problems = polling.stop(
        events, lambda_, polling.Schedule(RULE_ARN, NAME), function_name=FUNCTION, sleep=lambda s: None
    )

    # Then the rule left behind is reported (the provider logs it), and the answer goes on
    assert problems == [f"DeleteRule: EndpointConnectionError: {lost}"]


@pytest.mark.parametrize(("logical_id", "length"), [("Tdg", 27), ("L" * 80, 64)])
def test_polling_rules_carry_the_prefix_iam_is_scoped_to(logical_id: str, length: int) -> None:
    name = polling.rule_name(logical_id)

    assert name.startswith("ConnectTdgPoll-") and len(name) == length
