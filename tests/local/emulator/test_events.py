"""EventBridge rules and targets (local/emulator/events.py), and crhelper's polling set-up against them."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    HOME,
    ClientFactory,
    error_of,
)

# -- EventBridge and Lambda, as crhelper uses them -------------------------------------------------


@pytest.fixture
def crhelper_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    monkeypatch.setenv("AWS_REGION", HOME)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    return emu


def crhelper_resource(logical_id: str, **event: Any) -> Any:
    from crhelper import CfnResource

    helper: Any = CfnResource(polling_interval=2, log_level="ERROR")
    helper._event = {"LogicalResourceId": logical_id, "RequestType": "Create", **event}
    helper._context = SimpleNamespace(function_name="tdg-provider")
    return helper


def test_crhelper_polling_setup_and_removal(crhelper_env: Emulator) -> None:
    emu = crhelper_env
    helper = crhelper_resource("TrafficGroup", ResourceProperties={"Name": "x"})
    helper._setup_polling()
    (rule,) = emu.rules()
    assert rule["Name"].startswith("TrafficGroup") and len(rule["Name"]) == len("TrafficGroup") + 8
    assert rule["Arn"] == f"arn:aws:events:{HOME}:123456789012:rule/{rule['Name']}"
    assert (rule["ScheduleExpression"], rule["State"], rule["Region"]) == ("rate(2 minutes)", "ENABLED", HOME)
    (target,) = rule["Targets"]
    assert target["Arn"] == f"arn:aws:lambda:{HOME}:123456789012:function:tdg-provider"
    assert json.loads(target["Input"])["CrHelperPoll"] is True
    (permission,) = emu.permissions()
    assert permission == {
        "FunctionName": "tdg-provider",
        "Qualifier": None,
        "Region": HOME,
        "StatementId": helper._event["CrHelperPermission"],
        "SourceArn": rule["Arn"],
        "Principal": "events.amazonaws.com",
        "Action": "lambda:InvokeFunction",
        "Statement": permission["Statement"],
    }
    helper._remove_polling()
    assert emu.rules() == [] and emu.permissions() == []
    assert [c["operation"] for c in emu.calls()] == [
        "PutRule",
        "AddPermission",
        "PutTargets",
        "RemoveTargets",
        "RemovePermission",
        "DeleteRule",
    ]
    assert all(c["status"] in (200, 201, 204) for c in emu.calls())


def test_crhelper_limits_that_bite_on_aws(crhelper_env: Emulator) -> None:
    emu = crhelper_env
    too_long = crhelper_resource("L" * 57)  # + 8 random characters > 64
    with pytest.raises(ClientError) as excinfo:
        too_long._setup_polling()
    assert error_of(excinfo)[:2] == ("ValidationException", 400)
    big = crhelper_resource("Big", ResourceProperties={"Blob": "x" * 9000})
    with pytest.raises(ClientError) as excinfo:
        big._setup_polling()  # PutRule and AddPermission succeed, PutTargets fails
    code, _, message = error_of(excinfo)
    assert code == "ValidationException" and "8192" in message
    assert [c["status"] for c in emu.calls()][-3:] == [200, 201, 400]


def test_eventbridge_rules(emu: Emulator, client: ClientFactory) -> None:
    events = client("events")
    for bad in ("rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "every 5 minutes", "cron(0 12 * * ?)"):
        with pytest.raises(ClientError) as excinfo:
            events.put_rule(Name="r", ScheduleExpression=bad)
        assert error_of(excinfo)[:2] == ("ValidationException", 400), bad
    for bad_name in ("has space", "x" * 65):
        with pytest.raises(ClientError) as excinfo:
            events.put_rule(Name=bad_name, ScheduleExpression="rate(1 minute)")
        assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="r", ScheduleExpression="rate(1 hour)", State="SOMETIMES")
    assert "enum value set" in error_of(excinfo)[2]
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="r")
    assert error_of(excinfo)[0] == "ValidationException"

    arn = events.put_rule(Name="r", ScheduleExpression="cron(0 12 * * ? *)")["RuleArn"]
    assert events.put_rule(Name="r", ScheduleExpression="rate(1 day)", State="DISABLED")["RuleArn"] == arn
    (described,) = emu.rules()
    assert (described["Arn"], described["ScheduleExpression"], described["State"]) == (arn, "rate(1 day)", "DISABLED")
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="missing", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:1:q"}])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:1:q", "Input": "{not json"}])
    assert error_of(excinfo)[0] == "ValidationException"
    events.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:1:q", "Input": "{}"}])
    assert [t["Id"] for t in emu.rules()[0]["Targets"]] == ["1"]
    with pytest.raises(ClientError) as excinfo:
        events.delete_rule(Name="r")
    code, _, message = error_of(excinfo)
    assert code == "ValidationException" and "targets" in message
    assert events.remove_targets(Rule="r", Ids=["1"])["FailedEntryCount"] == 0
    events.delete_rule(Name="r")
    events.delete_rule(Name="r")  # deleting what is gone succeeds, as on AWS
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:1:q"}])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    assert emu.rules() == []


def test_eventbridge_partial_failures(emu: Emulator, client: ClientFactory) -> None:
    events = client("events")
    events.put_rule(Name="r", ScheduleExpression="rate(1 minute)")
    target = {"Id": "1", "Arn": f"arn:aws:lambda:{HOME}:123456789012:function:fn", "Input": "{}"}
    emu.fail_targets("PutTargets", code="ConcurrentModificationException")
    response = events.put_targets(Rule="r", Targets=[target])
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["FailedEntryCount"]) == (200, 1)
    (failed,) = response["FailedEntries"]
    assert (failed["TargetId"], failed["ErrorCode"]) == ("1", "ConcurrentModificationException")
    assert failed["ErrorMessage"]
    assert emu.rules()[0]["Targets"] == []  # the failed entry was not applied
    assert events.put_targets(Rule="r", Targets=[target])["FailedEntryCount"] == 0
    emu.fail_targets("RemoveTargets", count=2)
    for _ in range(2):
        response = events.remove_targets(Rule="r", Ids=["1"])
        assert response["FailedEntryCount"] == 1
        assert response["FailedEntries"][0]["ErrorCode"] == "InternalException"
    assert [t["Id"] for t in emu.rules()[0]["Targets"]] == ["1"]
    assert events.remove_targets(Rule="r", Ids=["1"])["FailedEntryCount"] == 0
    assert emu.rules()[0]["Targets"] == []
    with pytest.raises(ValueError):
        emu.fail_targets("PutRule")
