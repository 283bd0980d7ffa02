"""The polling schedule: what EventBridge and Lambda report is checked, and a failed setup leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
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
