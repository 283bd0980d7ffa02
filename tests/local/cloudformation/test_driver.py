"""StackDriver (local/cloudformation/driver.py) with the fake provider: the lifecycle, polling, faults, duplicates,
timeouts, protocol checks, parallel resources and a template with every supported intrinsic."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from local.cloudformation import (
    RequestRecord,
    ResponseServer,
    StackDriver,
    StackOperationError,
    stringify,
)
from local.runtime import LambdaFunction
from tests.local.conftest import (
    EXPORT,
    calls,
    custom,
    statuses,
)

# ------------------------------------------------------------------------------------------------
# StackDriver: the lifecycle


def test_create_update_in_place_replacement_cleanup_delete(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    token = driver.exports[EXPORT]
    tmpl: dict[str, Any] = {
        "Resources": {
            "A": custom(Generation=1, Enabled=True, Count=10, Tags=[{"Key": "k", "Value": 3}], ServiceTimeout=60),
            "B": custom(Name={"Fn::GetAtt": ["A", "Arn"]}),
        },
        "Outputs": {"BName": {"Value": {"Fn::GetAtt": ["B", "Name"]}, "Export": {"Name": "b-name"}}},
    }
    stack = driver.create_stack(tmpl)
    assert stack.status == "CREATE_COMPLETE"
    create_a = driver.requests[0].event
    assert set(create_a) == {
        "RequestType", "ServiceToken", "ResponseURL", "StackId", "RequestId", "LogicalResourceId", "ResourceType",
        "ResourceProperties",
    }  # fmt: skip
    assert create_a["ServiceToken"] == token and create_a["ResourceType"] == "Custom::Fake"
    assert create_a["ResourceProperties"] == {
        "ServiceToken": token, "Generation": "1", "Enabled": "true", "Count": "10",
        "Tags": [{"Key": "k", "Value": "3"}], "ServiceTimeout": "60",
    }  # fmt: skip
    assert re.fullmatch(r"arn:aws:cloudformation:us-east-1:123456789012:stack/tdg-stack/[0-9a-f-]{36}", stack.stack_id)
    assert stack.outputs == {"BName": "arn:aws:fake:us-east-1:123456789012:thing/fake-A-1"}
    assert stack.exports == {"b-name": stack.outputs["BName"]}
    assert stack.resources["A"].physical_id == "fake-A-1" and stack.resources["A"].data["Generation"] == "1"

    # in place: only A's Count changes
    tmpl["Resources"]["A"]["Properties"]["Count"] = 11
    driver.update_stack(tmpl)
    update_a = driver.requests[2].event
    assert update_a["RequestType"] == "Update" and update_a["PhysicalResourceId"] == "fake-A-1"
    assert update_a["ResourceProperties"]["Count"] == "11" and update_a["OldResourceProperties"]["Count"] == "10"
    assert len(driver.requests) == 3  # B's properties did not change: no request

    # replacement: A answers a new physical id; B's Name follows; the old A is deleted in the cleanup phase
    tmpl["Resources"]["A"]["Properties"]["Generation"] = 2
    stack = driver.update_stack(tmpl)
    assert calls(driver)[3:] == [("Update", "A", "fake-A-1"), ("Update", "B", "fake-B-0"), ("Delete", "A", "fake-A-1")]
    cleanup = driver.requests[5]
    assert cleanup.phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert cleanup.event["ResourceProperties"]["Generation"] == "1"  # the old properties
    assert stack.resources["A"].physical_id == "fake-A-2"
    assert stack.outputs["BName"].endswith("fake-A-2")

    # a removed resource is deleted in the cleanup phase too
    del tmpl["Resources"]["B"], tmpl["Outputs"]
    stack = driver.update_stack(tmpl)
    assert calls(driver)[6:] == [("Delete", "B", "fake-B-0")]
    assert driver.requests[6].phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert list(stack.resources) == ["A"]

    with pytest.raises(StackOperationError, match="No updates are to be performed"):
        driver.update_stack(tmpl)

    stack = driver.delete_stack()
    assert calls(driver)[7:] == [("Delete", "A", "fake-A-2")]
    assert stack.status == "DELETE_COMPLETE" and stack.resources == {}
    assert statuses(driver) == [
        "CREATE_IN_PROGRESS", "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "DELETE_IN_PROGRESS", "DELETE_COMPLETE",
    ]  # fmt: skip
    assert driver.violations == [] and driver.warnings == []
    text = driver.format_timeline()
    assert "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in text and "fake-A-2" in text


def test_create_failure_rolls_back_including_the_failed_resource(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    tmpl = {"Resources": {"A": custom(), "B": custom(FailOn="Create", Generation=7), "C": custom()}}
    stack = driver.create_stack(tmpl)
    assert calls(driver) == [
        ("Create", "A", ""),
        ("Create", "B", ""),
        ("Delete", "B", "fake-B-7"),
        ("Delete", "A", "fake-A-0"),
    ]
    assert driver.requests[1].reason == "requested failure on Create"
    assert stack.status == "ROLLBACK_COMPLETE" and stack.resources == {}
    assert "B: requested failure on Create" in stack.status_reason
    assert driver.violations == []
    with pytest.raises(StackOperationError, match="ROLLBACK_COMPLETE"):
        driver.update_stack(tmpl)
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert len(driver.requests) == 4


def test_update_failure_rolls_back_updates_replacements_and_creations(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    old: dict[str, Any] = {"Resources": {"A": custom(Generation=1), "B": custom(Generation=1, Name="b1")}}
    driver.create_stack(old)
    new: dict[str, Any] = {
        "Resources": {
            "A": custom(Generation=2),  # replaced
            "N": custom(),  # created
            "B": custom(Generation=1, Name="b2", FailOn="Update"),  # fails
        }
    }
    stack = driver.update_stack(new)
    assert calls(driver)[2:] == [
        ("Update", "A", "fake-A-1"),
        ("Create", "N", ""),
        ("Update", "B", "fake-B-1"),  # FAILED
        ("Update", "B", "fake-B-1"),  # rollback: back to the old properties
        ("Delete", "N", "fake-N-0"),  # cleanup: what the failed update created
        ("Delete", "A", "fake-A-2"),  # cleanup: the replacement, not the original
    ]
    rollback = driver.requests[5].event
    assert rollback["ResourceProperties"] == stringify(
        {"ServiceToken": driver.exports[EXPORT], "Generation": 1, "Name": "b1"}
    )
    assert rollback["OldResourceProperties"]["Name"] == "b2"
    assert driver.requests[5].phase == "UPDATE_ROLLBACK_IN_PROGRESS"
    assert {r.phase for r in driver.requests[6:]} == {"UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"}
    assert driver.requests[7].event["ResourceProperties"]["Generation"] == "2"
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert {lid: r.physical_id for lid, r in stack.resources.items()} == {"A": "fake-A-1", "B": "fake-B-1"}
    assert stack.resources["A"].properties["Generation"] == "1"
    assert stack.resources["A"].data["Arn"].endswith("fake-A-1")
    assert driver.violations == []
    # the stack is usable again: the same update without the failure goes through
    del new["Resources"]["B"]["Properties"]["FailOn"]
    assert driver.update_stack(new).status == "UPDATE_COMPLETE"
    assert driver.violations == []


def test_failed_rollback_and_refused_service_token_change(
    make_driver: Callable[..., StackDriver], make_function: Callable[..., LambdaFunction]
) -> None:
    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom(FailOn="Update")}})
    stack = driver.update_stack({"Resources": {"A": custom(FailOn="Update", Name="x")}})
    assert [r.status for r in driver.requests[1:]] == ["FAILED", "FAILED"]
    assert stack.status == "UPDATE_ROLLBACK_FAILED"

    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom()}})
    other = make_function(function_name="other-provider")
    driver.register(other, export_name="other-token")
    tmpl = {"Resources": {"A": custom(ServiceToken={"Fn::ImportValue": "other-token"})}}
    stack = driver.update_stack(tmpl)
    assert len(driver.requests) == 1 and stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "Modifying service token is not allowed." in stack.status_reason


# ------------------------------------------------------------------------------------------------
# StackDriver: polling, faults, duplicates, timeouts, protocol checks


def test_polling_rule_is_fired_until_the_answer(make_driver: Callable[..., StackDriver], tmp_path: Path) -> None:
    driver = make_driver()
    stack = driver.create_stack({"Resources": {"A": custom(Polls=2)}})
    rec = driver.requests[0]
    assert stack.status == "CREATE_COMPLETE" and rec.polls == 2 and len(rec.invocations) == 3
    assert rec.invocations[1].event["CrHelperPoll"] is True
    assert rec.invocations[1].event["RequestId"] == rec.request_id
    assert list(tmp_path.glob("*.json")) == []  # the rule is gone
    assert driver.timeline[1].polls == 2 and driver.violations == []

    sleeps: list[float] = []
    driver = make_driver(poll_mode="realtime", sleep=sleeps.append)
    assert driver.create_stack({"Resources": {"A": custom(Polls=1)}}).status == "CREATE_COMPLETE"
    assert sleeps == [60]  # rate(1 minute): each poll waits for the schedule

    driver = make_driver(max_polls=2)
    stack = driver.create_stack({"Resources": {"A": custom(Polls=50)}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert any("no answer (still polling after 2 polls" in v for v in driver.violations)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_response_faults_are_retried_by_the_provider(
    make_driver: Callable[..., StackDriver], server: ResponseServer, kind: Any
) -> None:
    driver = make_driver()
    server.fail_next(2, kind)
    stack = driver.create_stack({"Resources": {"A": custom()}})
    rec = driver.requests[0]
    assert stack.status == "CREATE_COMPLETE" and driver.violations == []
    assert [a["outcome"] for a in server.attempts(rec.request_id)] == [f"fault:{kind}"] * 2 + ["delivered"]
    assert len(rec.answers) == 1


def test_refused_response_url_means_no_answer(make_driver: Callable[..., StackDriver], server: ResponseServer) -> None:
    driver = make_driver()
    server.fail_next(1, "403")  # a refused pre-signed URL is not retried: the answer never arrives
    stack = driver.create_stack({"Resources": {"A": custom()}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert calls(driver)[1][0] == "Delete" and calls(driver)[1][2].startswith("tdg-stack-A-")  # made-up id
    assert len(driver.violations) == 1 and "no answer" in driver.violations[0]


def test_duplicate_delivery(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver(deliver_twice=True)
    assert driver.create_stack({"Resources": {"A": custom()}}).status == "CREATE_COMPLETE"
    assert len(driver.requests[0].invocations) == 2 and len(driver.requests[0].answers) == 2
    assert driver.violations == []  # answering twice identically is fine

    driver = make_driver(deliver_twice=True)
    driver.create_stack({"Resources": {"A": custom(RandomPid=True)}})
    assert any("answers that differ" in v for v in driver.violations)


def test_errors_are_retried_only_when_asked_and_timeouts_fail(
    make_driver: Callable[..., StackDriver], make_function: Callable[..., LambdaFunction]
) -> None:
    driver = make_driver(retry_on_error=True)
    stack = driver.create_stack({"Resources": {"A": custom(RaiseOn="Create")}})
    rec = driver.requests[0]
    assert len(rec.invocations) == 3 and all(i.error for i in rec.invocations)
    assert stack.status == "ROLLBACK_COMPLETE" and calls(driver)[1][0] == "Delete"
    assert any("no answer" in v for v in driver.violations)
    assert any("raised RuntimeError" in w for w in driver.warnings)

    driver = make_driver(make_function(timeout_s=1))
    stack = driver.create_stack({"Resources": {"A": custom(SleepOn="Create", Sleep=5)}})
    rec = driver.requests[0]
    assert len(rec.invocations) == 1 and rec.invocations[0].timed_out
    assert rec.invocations[0].duration_s < 5  # cut short of its 5 s sleep
    assert stack.status == "ROLLBACK_COMPLETE" and rec.status == "FAILED"
    assert any("no answer" in v for v in driver.violations)


def test_crashed_invocation_is_redelivered_and_the_retry_answers(
    make_driver: Callable[..., StackDriver], make_function: Callable[..., LambdaFunction], server: ResponseServer
) -> None:
    # The first invocation is killed (out of memory) 1.5 s in: late enough that even a loaded machine has
    # started it and let it log, early enough to cut its 4 s sleep short.
    fn = make_function(crash_after_s=1.5)
    driver = make_driver(fn, retry_on_error=True)
    stack = driver.create_stack({"Resources": {"A": custom(SleepOn="Create", Sleep=4)}})
    rec = driver.requests[0]
    first, retry = rec.invocations
    assert first.crashed and first.failed and first.exit_code == -signal.SIGKILL
    assert first.error is not None and first.error["errorType"] == "Runtime.ExitError"
    assert first.error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert 1.5 <= first.duration_s < 4 and first.result is None  # killed before its 4 s sleep ended
    assert '"message": "event"' in first.logs and "Runtime.ExitError" in first.logs  # it ran, then was killed
    assert retry.event == first.event and not retry.crashed and retry.error is None
    assert retry.result == {"answered": "SUCCESS", "PhysicalResourceId": "fake-A-0"}
    # only the retry answered, after the crash
    assert [a["outcome"] for a in server.attempts(rec.request_id)] == ["delivered"]
    assert len(rec.answers) == 1 and rec.answers[0]["received_at"] > first.ended_at
    assert stack.status == "CREATE_COMPLETE" and rec.status == "SUCCESS" and driver.violations == []
    assert any("raised Runtime.ExitError" in w for w in driver.warnings)
    assert [i.crashed for i in fn.invocations] == [True, False]

    # more crashes than Lambda's two retries: no answer; later invocations (the rollback Delete) run normally
    fn = make_function(crash_after_s=0.5, crash_count=3)
    driver = make_driver(fn, retry_on_error=True)
    stack = driver.create_stack({"Resources": {"A": custom(SleepOn="Create", Sleep=2)}})
    assert [i.crashed for i in driver.requests[0].invocations] == [True, True, True]
    assert stack.status == "ROLLBACK_COMPLETE" and calls(driver)[1][0] == "Delete"
    assert driver.requests[1].status == "SUCCESS" and not driver.requests[1].invocations[0].failed
    assert any("no answer" in v for v in driver.violations)

    with pytest.raises(ValueError, match="crash_after_s"):
        make_function(crash_after_s=0)


# ------------------------------------------------------------------------------------------------
# StackDriver: parallel resources


def window(rec: RequestRecord) -> tuple[float, float]:
    """When the request's (single) invocation started and ended."""
    (inv,) = rec.invocations
    return inv.started_at, inv.ended_at


def test_parallel_resources_start_when_their_dependencies_are_done(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver(parallel=True)
    leaves = [f"R{i}" for i in range(8)]
    resources = {lid: custom(SleepOn="Create,Delete", Sleep=1) for lid in leaves}
    resources["All"] = custom(
        Names={"Fn::Join": [",", [{"Ref": lid} for lid in leaves[:4]]]},
        Arn={"Fn::GetAtt": ["R4", "Arn"]},
        Where={"Fn::Sub": "${R5}/${R6.Name}"},
    )
    resources["All"]["DependsOn"] = ["R7"]
    stack = driver.create_stack({"Resources": resources})
    assert stack.status == "CREATE_COMPLETE", driver.format_timeline()
    assert [r.logical_id for r in driver.requests][-1] == "All"
    creates = {r.logical_id: window(r) for r in driver.requests}
    # the 8 independent resources ran at the same time: each started before any of them ended
    assert max(creates[lid][0] for lid in leaves) < min(creates[lid][1] for lid in leaves)
    # the one depending on all of them started after the last one ended
    assert creates["All"][0] >= max(creates[lid][1] for lid in leaves)
    assert driver.requests[-1].event["ResourceProperties"]["Where"] == "fake-R5-0/"

    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE" and stack.resources == {}
    deletes = driver.requests[len(leaves) + 1 :]
    assert [r.request_type for r in deletes] == ["Delete"] * 9 and deletes[0].logical_id == "All"
    ends = {r.logical_id: window(r) for r in deletes}
    assert min(ends[lid][0] for lid in leaves) >= ends["All"][1]  # reverse dependency order
    assert max(ends[lid][0] for lid in leaves) < min(ends[lid][1] for lid in leaves)  # then all 8 at once
    assert [r.t for r in driver.timeline] == sorted(r.t for r in driver.timeline)
    assert driver.violations == [] and driver.warnings == []


def test_parallel_failure_starts_nothing_new_and_rolls_back_in_reverse_order(
    make_driver: Callable[..., StackDriver],
) -> None:
    driver = make_driver(parallel=True)
    tmpl = {
        "Resources": {
            "Base": custom(),
            "Slow": custom(After={"Ref": "Base"}, SleepOn="Create,Delete", Sleep=1),
            "Bad": custom(After={"Ref": "Base"}, FailOn="Create", Generation=7),
            "Later": custom(After={"Ref": "Slow"}),  # ready once Slow is done, but Bad has failed by then
        }
    }
    stack = driver.create_stack(tmpl)
    assert stack.status == "ROLLBACK_COMPLETE" and stack.resources == {}
    assert "Bad: requested failure on Create" in stack.status_reason
    by_call = {(r.request_type, r.logical_id): r for r in driver.requests}
    assert set(by_call) == {
        ("Create", "Base"), ("Create", "Slow"), ("Create", "Bad"),
        ("Delete", "Base"), ("Delete", "Slow"), ("Delete", "Bad"),
    }  # fmt: skip
    slow, bad = by_call["Create", "Slow"], by_call["Create", "Bad"]
    assert window(bad)[0] < window(slow)[1] and window(bad)[1] < window(slow)[1]  # Slow was in flight: it finished
    assert slow.status == "SUCCESS" and bad.status == "FAILED"
    assert by_call["Delete", "Bad"].event["PhysicalResourceId"] == "fake-Bad-7"
    assert by_call["Delete", "Base"].phase == "ROLLBACK_IN_PROGRESS"
    assert window(by_call["Delete", "Base"])[0] >= max(window(by_call["Delete", lid])[1] for lid in ("Slow", "Bad"))
    assert driver.violations == []


def test_parallel_update_rollback_and_cleanup(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver(parallel=True)
    driver.create_stack({"Resources": {"A": custom(Generation=1), "B": custom(Generation=1, Name="b1")}})
    new: dict[str, Any] = {
        "Resources": {
            "A": custom(Generation=2),  # replaced
            "N": custom(),  # created
            "B": custom(Generation=1, Name="b2", FailOn="Update"),  # fails
        }
    }

    def phases(since: int) -> dict[str, set[tuple[str, str, str]]]:
        out: dict[str, set[tuple[str, str, str]]] = {}
        for rec, call in zip(driver.requests[since:], calls(driver)[since:], strict=True):
            out.setdefault(rec.phase, set()).add(call)
        return out

    stack = driver.update_stack(new)
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE", driver.format_timeline()
    assert phases(2) == {
        "UPDATE_IN_PROGRESS": {("Update", "A", "fake-A-1"), ("Create", "N", ""), ("Update", "B", "fake-B-1")},
        "UPDATE_ROLLBACK_IN_PROGRESS": {("Update", "B", "fake-B-1")},
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": {("Delete", "N", "fake-N-0"), ("Delete", "A", "fake-A-2")},
    }
    assert {lid: r.physical_id for lid, r in stack.resources.items()} == {"A": "fake-A-1", "B": "fake-B-1"}

    del new["Resources"]["B"]["Properties"]["FailOn"]
    count = len(driver.requests)
    assert driver.update_stack(new).status == "UPDATE_COMPLETE"
    assert phases(count)["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"] == {("Delete", "A", "fake-A-1")}
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert driver.violations == []


def test_protocol_checks(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    stack = driver.create_stack({"Resources": {"A": custom(BigData=5000)}})
    rec = driver.requests[0]
    assert rec.answers[0]["raw_length"] > 4096
    assert rec.status == "FAILED" and rec.reason == "Response object is too long."
    assert calls(driver)[1] == ("Delete", "A", "fake-A-0")
    # the rollback Delete answers the same oversized Data: it fails too, and the resource stays behind
    assert stack.status == "ROLLBACK_FAILED" and stack.resources["A"].status == "DELETE_FAILED"
    assert sum("over the 4096-byte limit" in v for v in driver.violations) == 2

    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom(DeletePid="something-else")}})
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert any("Delete answered PhysicalResourceId 'something-else'" in v for v in driver.violations)

    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom(LeakUrl=True)}})
    assert any("signature appears in the function's logs" in v for v in driver.violations)

    driver = make_driver()
    stack = driver.create_stack({"Resources": {"A": custom(), "B": custom(X={"Fn::GetAtt": ["A", "Missing"]})}})
    assert stack.status == "ROLLBACK_COMPLETE" and calls(driver) == [("Create", "A", ""), ("Delete", "A", "fake-A-0")]
    assert any("!GetAtt A.Missing" in v for v in driver.violations)


# ------------------------------------------------------------------------------------------------
# StackDriver: a YAML template with parameters, conditions and every supported intrinsic

STACK_YAML = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ProviderStackName: {Type: String}
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Regions: {Type: CommaDelimitedList, Default: "us-east-1,us-west-2"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
Resources:
  Instance:
    Type: Custom::Fake
    Properties:
      ServiceToken: !ImportValue
        Fn::Sub: "${ProviderStackName}-ServiceToken"
      Name: !Sub "${AWS::StackName}-${Env}-instance"
      Replica: !Select [1, !Ref Regions]
  Group:
    Type: Custom::TrafficDistributionGroup
    DependsOn: Queue
    Properties:
      ServiceToken: !ImportValue
        Fn::Sub: "${ProviderStackName}-ServiceToken"
      InstanceId: !GetAtt Instance.Arn
      Name: !Join ["-", [!Ref "AWS::Region", !Ref Instance]]
      Description: !If [IsProd, "production", !Ref "AWS::NoValue"]
      Size: !If [IsDev, 2, 10]
      Where: !Sub "${AWS::AccountId}/${AWS::Partition}/${Queue}"
  ProdOnly:
    Type: Custom::Fake
    Condition: IsProd
    Properties:
      ServiceToken: !ImportValue provider-ServiceToken
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  GroupArn:
    Value: !GetAtt Group.Arn
  Env:
    Value: !Ref Env
    Condition: IsDev
"""


def test_yaml_template_intrinsics_end_to_end(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    stack = driver.create_stack(STACK_YAML, {"ProviderStackName": "provider"})
    assert stack.status == "CREATE_COMPLETE", driver.format_timeline()
    assert [r.logical_id for r in driver.requests] == ["Instance", "Group"]
    assert driver.requests[0].event["ResourceProperties"]["Name"] == "tdg-stack-dev-instance"
    assert driver.requests[0].event["ResourceProperties"]["Replica"] == "us-west-2"
    group = driver.requests[1].event
    assert group["ResourceType"] == "Custom::TrafficDistributionGroup"
    assert group["ResourceProperties"] == {
        "ServiceToken": driver.exports[EXPORT],
        "InstanceId": "arn:aws:fake:us-east-1:123456789012:thing/fake-Instance-0",
        "Name": "us-east-1-fake-Instance-0",
        "Size": "2",
        "Where": "123456789012/aws/<not-emulated>:Queue",
    }
    assert stack.outputs == {"GroupArn": "arn:aws:fake:us-east-1:123456789012:thing/fake-Group-0", "Env": "dev"}
    assert stack.ignored == ["Queue"]
    notes = {(r.logical_id, r.status) for r in driver.timeline}
    assert ("Queue", "IGNORED") in notes and ("ProdOnly", "SKIPPED") in notes

    # switching the condition: ProdOnly is created, Group is updated (Description appears, Size changes)
    stack = driver.update_stack(STACK_YAML, {"ProviderStackName": "provider", "Env": "prod"})
    assert stack.status == "UPDATE_COMPLETE", driver.format_timeline()
    assert [(r.request_type, r.logical_id) for r in driver.requests[2:]] == [
        ("Update", "Instance"), ("Create", "ProdOnly"), ("Update", "Group"),  # Group waits for Queue (DependsOn)
    ]  # fmt: skip
    group = driver.requests[4].event
    assert group["ResourceProperties"]["Description"] == "production" and group["ResourceProperties"]["Size"] == "10"
    assert "Description" not in group["OldResourceProperties"] and group["OldResourceProperties"]["Size"] == "2"
    assert stack.outputs == {"GroupArn": "arn:aws:fake:us-east-1:123456789012:thing/fake-Group-0"}
    assert driver.violations == []

    with pytest.raises(StackOperationError, match="AllowedValues"):
        driver.update_stack(STACK_YAML, {"ProviderStackName": "provider", "Env": "qa"})
    with pytest.raises(StackOperationError, match="must have values"):
        make_driver().create_stack(STACK_YAML)
    with pytest.raises(StackOperationError, match="already exists"):
        driver.create_stack(STACK_YAML, {"ProviderStackName": "provider"})


def test_function_protocol_accepts_test_doubles() -> None:
    """StackDriver needs only ``arn`` and ``invoke``: a double that never answers is reported, not hung on."""

    class Silent:
        arn = "arn:aws:lambda:us-east-1:123456789012:function:silent"

        def invoke(self, event: Mapping[str, Any]) -> Any:
            from local.runtime import Invocation

            return Invocation(request_id="r", event=dict(event))

    class Urls:
        def url_for(self, request_id: str, stack_id: str, logical_id: str) -> str:
            return f"https://localhost:1/{request_id}"

        def answers(self, request_id: str) -> list[dict[str, Any]]:
            return []

        def secrets(self) -> list[str]:
            return []

    driver = StackDriver(Urls(), [Silent()])
    stack = driver.create_stack(
        {
            "Resources": {
                "A": {"Type": "AWS::CloudFormation::CustomResource", "Properties": {"ServiceToken": Silent.arn}}
            }
        }
    )
    assert stack.status == "ROLLBACK_FAILED"  # the rollback Delete is not answered either
    assert [r.request_type for r in driver.requests] == ["Create", "Delete"]
    assert driver.requests[1].event["PhysicalResourceId"].startswith("tdg-stack-A-")
    assert len(driver.violations) == 2 and all("no answer" in v for v in driver.violations)
