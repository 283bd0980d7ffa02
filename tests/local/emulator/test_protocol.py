"""The emulator's model-driven plumbing (local/emulator/protocol.py), in process: routes and rendering from botocore's
models, and handling without a server."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import botocore.session
import pytest
from botocore.model import ServiceModel
from local.emulator.protocol import HttpRequest, ServiceSpec

from local.emulator import ApiError, Emulator
from tests.local.emulator.conftest import (
    HOME,
    create,
)

# -- in-process: routing, rendering, handling without a server -------------------------------


def signed(service: str, region: str = HOME) -> dict[str, str]:
    scope = f"AKIDEXAMPLE/20250101/{region}/{service}/aws4_request"
    return {"authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00"}


def test_routes_come_from_the_botocore_model() -> None:
    connect = ServiceSpec("connect", validation_code=lambda op: "InvalidRequestException")
    arn = "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/0e0e0e0e-0000-4000-8000-000000000000"
    encoded = arn.replace(":", "%3A").replace("/", "%2F")
    request = HttpRequest("GET", f"/traffic-distribution-group/{encoded}", "", {}, b"")
    op, labels = connect.operation_for(request)
    assert op.name == "DescribeTrafficDistributionGroup"
    assert connect.parse(op, request, labels) == {"TrafficDistributionGroupId": arn}
    untag = HttpRequest("DELETE", f"/tags/{encoded}", "tagKeys=a&tagKeys=b", {}, b"")
    op, labels = connect.operation_for(untag)
    assert (op.name, connect.parse(op, untag, labels)) == ("UntagResource", {"resourceArn": arn, "tagKeys": ["a", "b"]})
    lam = ServiceSpec("lambda", validation_code=lambda op: "ValidationException")
    op, labels = lam.operation_for(HttpRequest("DELETE", "/2015-03-31/functions/fn/policy/sid", "", {}, b""))
    assert (op.name, labels) == ("RemovePermission", {"FunctionName": "fn", "StatementId": "sid"})
    with pytest.raises(ApiError) as excinfo:
        connect.operation_for(HttpRequest("GET", "/no/such/path", "", {}, b""))
    assert (excinfo.value.code, excinfo.value.status) == ("UnknownOperationException", 404)


def test_rendering_refuses_output_the_model_forbids() -> None:
    connect = ServiceSpec("connect", validation_code=lambda op: "InvalidRequestException")
    op = connect.model.operation_model("CreateTrafficDistributionGroup")
    assert connect.render(op, {"Id": "abc", "Arn": None}).status == 200
    with pytest.raises(RuntimeError, match="invalid CreateTrafficDistributionGroup response"):
        connect.render(op, {"Id": "not an id!"})
    with pytest.raises(RuntimeError):
        connect.render(op, {"Id": 42})


def test_rendering_tolerates_another_botocore_model() -> None:
    """Members the installed model does not know are dropped; members another botocore
    version marks required may be missing. Neither is an emulator bug."""
    connect = ServiceSpec("connect", validation_code=lambda op: "InvalidRequestException")
    describe = connect.model.operation_model("DescribeTrafficDistributionGroup")
    group_id = str(uuid.uuid4())
    response = connect.render(
        describe, {"TrafficDistributionGroup": {"Id": group_id, "FutureMember": 1}, "NextYearsField": "x"}
    )
    assert (response.status, json.loads(response.body)) == (200, {"TrafficDistributionGroup": {"Id": group_id}})
    # A model in which more members are required (here: a copy of the installed one).
    raw = copy.deepcopy(
        botocore.session.get_session().get_component("data_loader").load_service_model("connect", "service-2")
    )
    raw["shapes"]["DescribeTrafficDistributionGroupResponse"]["required"] = ["TrafficDistributionGroup"]
    raw["shapes"]["TrafficDistributionGroup"]["required"] = ["Id", "Arn", "Name", "Status"]
    strict = ServiceModel(raw, service_name="connect").operation_model("DescribeTrafficDistributionGroup")
    assert json.loads(connect.render(strict, {"TrafficDistributionGroup": {"Id": group_id}}).body) == {
        "TrafficDistributionGroup": {"Id": group_id}
    }
    assert json.loads(connect.render(strict, {}).body) == {}
    events = ServiceSpec("events", validation_code=lambda op: "ValidationException")
    put_targets = events.model.operation_model("PutTargets")
    rendered = events.render(put_targets, {"FailedEntryCount": 0, "FailedEntries": [], "Unknown": True})
    assert json.loads(rendered.body) == {"FailedEntryCount": 0, "FailedEntries": []}


def test_handle_works_in_process() -> None:
    emu = Emulator(creation_delay=0)  # never started: no socket involved
    instance = emu.add_instance()
    body = json.dumps({"Name": "direct", "InstanceId": instance}).encode()
    response = emu.handle(HttpRequest("PUT", "/traffic-distribution-group", "", signed("connect"), body))
    assert response.status == 200
    assert emu.group(json.loads(response.body)["Id"])["Status"] == "ACTIVE"
    unsigned = emu.handle(HttpRequest("GET", "/traffic-distribution-groups", "", {}, b""))
    assert (unsigned.status, unsigned.headers["x-amzn-ErrorType"]) == (403, "MissingAuthenticationTokenException")
    wrong = emu.handle(HttpRequest("POST", "/", "", {**signed("events"), "x-amz-target": "AWSEvents.Nope"}, b"{}"))
    assert (wrong.status, json.loads(wrong.body)["__type"]) == (400, "UnknownOperationException")
    assert [c["status"] for c in emu.calls()] == [200, 403, 400]


def test_emulator_bugs_become_500_and_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    emu = Emulator()

    def broken(*args: Any) -> dict[str, Any]:
        raise KeyError("oops")

    monkeypatch.setitem(emu._connect._handlers, "ListTrafficDistributionGroups", broken)
    response = emu.handle(HttpRequest("GET", "/traffic-distribution-groups", "", signed("connect"), b""))
    assert (response.status, response.headers["x-amzn-ErrorType"]) == (500, "InternalFailure")
    (trace,) = emu.internal_errors()
    assert "KeyError: 'oops'" in trace


def test_result_members_unknown_to_the_model_never_reach_boto3(
    emu: Emulator, connect: Any, instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = emu._connect._handlers["DescribeTrafficDistributionGroup"]

    def newer(params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        result = original(params, region, now)
        result["TrafficDistributionGroup"].pop("Arn")
        result["TrafficDistributionGroup"]["AgentStatus"] = "from a newer model"
        return {**result, "Unknown": 1}

    monkeypatch.setitem(emu._connect._handlers, "DescribeTrafficDistributionGroup", newer)
    created = create(connect, instance)
    described = connect.describe_traffic_distribution_group(TrafficDistributionGroupId=created["Id"])
    assert "Unknown" not in described
    assert set(described["TrafficDistributionGroup"]) == {"Id", "Name", "InstanceArn", "Status", "Tags", "IsDefault"}
    assert emu.internal_errors() == []
