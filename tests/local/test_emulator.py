"""The AWS emulator, driven the way the provider drives AWS: through real boto3 clients.

A few tests at the top drive the model-driven plumbing in-process; the others go through the
emulator's HTTP server. One server serves the module; each test
starts from a clean state (``Emulator.reset``) and tiny lifecycle delays keep it fast.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from botocore.model import ServiceModel
from local.emulator import ApiError, Emulator
from local.emulator.protocol import HttpRequest, ServiceSpec

HOME, REPLICA, OTHER = "us-east-1", "us-west-2", "eu-west-1"
DELAY = 0.05  # lifecycle delay used throughout; waits below are a few multiples of it
# Per-name delay for a state a test asserts right after the call that started it: long enough
# that a loaded machine (make test runs 8 workers on 2 cores) cannot see the transition happen first;
# 0.4 s was missed once there.
SETTLE = 2.0
NO_RETRY = Config(retries={"total_max_attempts": 1})

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(
        creation_delay=DELAY,
        deletion_delay=DELAY,
        update_delay=DELAY,
        replication_delay=DELAY,
        replica_deletion_delay=DELAY,
    ) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Iterator[Emulator]:
    server.reset()
    yield server
    assert server.internal_errors() == []


@pytest.fixture(scope="module")
def client(server: Emulator) -> ClientFactory:
    """``client(service, region=HOME, validate=True, retries=1)``, cached per module."""
    cache: dict[tuple[str, str, bool, int], Any] = {}

    def make(service: str, region: str = HOME, *, validate: bool = True, retries: int = 1) -> Any:
        key = (service, region, validate, retries)
        if key not in cache:
            cache[key] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=server.endpoint_url,
                aws_access_key_id="AKIDEXAMPLE",
                aws_secret_access_key="not-a-secret",
                config=Config(retries={"total_max_attempts": retries}, parameter_validation=validate),
            )
        return cache[key]

    return make


@pytest.fixture
def connect(client: ClientFactory) -> Any:
    return client("connect")


@pytest.fixture
def instance(emu: Emulator) -> str:
    return emu.add_instance(home_region=HOME, replica_region=REPLICA)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def create(connect: Any, instance: str, name: str = "tdg", **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = connect.create_traffic_distribution_group(Name=name, InstanceId=instance, **kwargs)
    return response


def active_group(emu: Emulator, connect: Any, instance: str, name: str = "tdg", **kwargs: Any) -> dict[str, Any]:
    created = create(connect, instance, name, **kwargs)
    emu.wait_for_status(created["Arn"], "ACTIVE")
    return created


def split(home: int, replica: int) -> dict[str, Any]:
    return {"Distributions": [{"Region": HOME, "Percentage": home}, {"Region": REPLICA, "Percentage": replica}]}


def outcome(call: Callable[[], Any]) -> tuple[str, int]:
    """``("ok", status)`` or the error code and HTTP status boto3 saw."""
    try:
        response = call()
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    return "ok", response["ResponseMetadata"]["HTTPStatusCode"]


class FakeClock:
    """Wall-clock seconds that move only when a test moves them."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def frozen() -> Iterator[tuple[Emulator, FakeClock]]:
    """An emulator of its own on a :class:`FakeClock`; lifecycle delays of 1 s."""
    clock = FakeClock()
    with Emulator(clock=clock, creation_delay=1.0, deletion_delay=1.0, update_delay=1.0) as emu:
        yield emu, clock
        assert emu.internal_errors() == []


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()  # one, so that service models load once (main thread only)


def client_of(emu: Emulator, service: str = "connect", region: str = HOME) -> Any:
    """A boto3 client of an emulator other than the module's, without retries."""
    return _session().client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=emu.endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
        config=NO_RETRY,
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


# -- transport, auth, routing ---------------------------------------------------------------


def test_lifecycle_of_the_server_itself() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.endpoint_url
    assert emu.start() is emu
    url = emu.endpoint_url
    assert url.startswith("http://127.0.0.1:")
    emu.stop()
    emu.stop()  # twice is fine
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/traffic-distribution-groups", timeout=2)  # noqa: S310 - local http


def test_request_without_sigv4_is_rejected_with_403(emu: Emulator, client: ClientFactory) -> None:
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(emu.endpoint_url + "/traffic-distribution-groups", timeout=5)  # noqa: S310
    assert raw.value.code == 403
    unsigned = boto3.session.Session().client(
        "connect",
        region_name=HOME,
        endpoint_url=emu.endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as excinfo:
        unsigned.list_traffic_distribution_groups()
    assert error_of(excinfo)[:2] == ("MissingAuthenticationTokenException", 403)
    assert [c["status"] for c in emu.calls()] == [403, 403]


def test_service_and_region_come_from_the_credential_scope(emu: Emulator, client: ClientFactory, instance: str) -> None:
    client("connect", REPLICA).list_traffic_distribution_groups()
    client("events", OTHER).put_rule(Name="r", ScheduleExpression="rate(5 minutes)")
    client("lambda", HOME).add_permission(
        FunctionName="fn", StatementId="s", Action="lambda:InvokeFunction", Principal="events.amazonaws.com"
    )
    seen = [(c["service"], c["operation"], c["region"], c["status"]) for c in emu.calls()]
    assert seen == [
        ("connect", "ListTrafficDistributionGroups", REPLICA, 200),
        ("events", "PutRule", OTHER, 200),
        ("lambda", "AddPermission", HOME, 201),
    ]
    assert emu.calls(service="events")[0]["params"] == {"Name": "r", "ScheduleExpression": "rate(5 minutes)"}
    assert emu.calls(operation="AddPermission")[0]["time"] <= time.time()
    emu.reset_calls()
    assert emu.calls() == []


def test_boto3_finds_the_emulator_through_aws_endpoint_url(
    emu: Emulator, instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    plain = boto3.session.Session().client("connect", region_name=HOME, config=NO_RETRY)
    groups = plain.list_traffic_distribution_groups(InstanceId=instance)["TrafficDistributionGroupSummaryList"]
    assert [g["IsDefault"] for g in groups] == [True]


def test_operation_not_emulated_is_an_unknown_operation(emu: Emulator, connect: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        connect.list_instances()
    assert error_of(excinfo)[:2] == ("UnknownOperationException", 404)


# -- model validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"Name": "x" * 129}, "length less than or equal to 128"),
        ({"Name": " leading-space"}, "regular expression pattern"),
        ({"Description": "d" * 251}, "length less than or equal to 250"),
        ({"Tags": {"aws:owner": "me"}}, "regular expression pattern"),
        ({"Tags": {"k": "v" * 257}}, "length less than or equal to 256"),
        ({"ClientToken": "t" * 501}, "length less than or equal to 500"),
    ],
)
def test_create_rejects_model_violations_with_invalid_request(
    emu: Emulator, connect: Any, instance: str, kwargs: dict[str, Any], fragment: str
) -> None:
    params = {"Name": "ok", "InstanceId": instance, **kwargs}
    with pytest.raises(ClientError) as excinfo:
        connect.create_traffic_distribution_group(**params)
    code, status, message = error_of(excinfo)
    # CreateTrafficDistributionGroup lists InvalidRequestException, not InvalidParameterException.
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message
    assert emu.groups() == [g for g in emu.groups() if g["IsDefault"]]


def test_missing_required_member_is_rejected(emu: Emulator, client: ClientFactory, instance: str) -> None:
    unchecked = client("connect", validate=False)
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_traffic_distribution_group(InstanceId=instance)
    code, _, message = error_of(excinfo)
    assert code == "InvalidRequestException"
    assert "Value null at 'name'" in message


def test_path_and_query_members_are_validated_too(emu: Emulator, connect: Any, client: ClientFactory) -> None:
    with pytest.raises(ClientError) as excinfo:
        connect.describe_traffic_distribution_group(TrafficDistributionGroupId="not-a-uuid")
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        connect.list_traffic_distribution_groups(MaxResults=11)
    assert "less than or equal to 10" in error_of(excinfo)[2]
    with pytest.raises(ClientError) as excinfo:
        client("connect", validate=False).list_traffic_distribution_groups(MaxResults="many")
    assert "must be of type integer" in error_of(excinfo)[2]


def test_tag_operations_reject_with_invalid_parameter(emu: Emulator, connect: Any, instance: str) -> None:
    arn = create(connect, instance)["Arn"]
    for tags in ({"aws:team": "x"}, {"k" * 129: "x"}, {"k": "v" * 257}):
        with pytest.raises(ClientError) as excinfo:
            connect.tag_resource(resourceArn=arn, tags=tags)
        assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        connect.untag_resource(resourceArn=arn, tagKeys=[f"k{i}" for i in range(51)])
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)


def test_distribution_members_are_range_and_pattern_checked(
    emu: Emulator, connect: Any, client: ClientFactory, instance: str
) -> None:
    arn = active_group(emu, connect, instance)["Arn"]
    with pytest.raises(ClientError) as excinfo:  # botocore itself would refuse -10
        client("connect", validate=False).update_traffic_distribution(Id=arn, TelephonyConfig=split(110, -10))
    code, _, message = error_of(excinfo)
    assert code == "InvalidRequestException"
    assert message.startswith("2 validation errors detected")
    with pytest.raises(ClientError) as excinfo:
        connect.update_traffic_distribution(
            Id=arn, TelephonyConfig={"Distributions": [{"Region": "US_EAST_1", "Percentage": 100}]}
        )
    assert "regular expression pattern" in error_of(excinfo)[2]


# -- create: idempotency, conflicts, quota, Regions -------------------------------------------


def test_create_returns_id_and_arn_and_describe_parses(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE, name="calls")
    created = create(connect, instance, "calls", Description="for calls", Tags={"team": "voice"})
    instance_id = instance.rsplit("/", 1)[1]
    assert created["Arn"] == f"arn:aws:connect:{HOME}:123456789012:traffic-distribution-group/{created['Id']}"
    group = connect.describe_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])[
        "TrafficDistributionGroup"
    ]
    assert group == {
        "Id": created["Id"],
        "Arn": created["Arn"],
        "Name": "calls",
        "Description": "for calls",
        "InstanceArn": instance,
        "Status": "CREATION_IN_PROGRESS",
        "Tags": {"team": "voice"},
        "IsDefault": False,
    }
    by_bare_instance_id = create(connect, instance_id, "by-id")
    assert emu.group(by_bare_instance_id["Id"])["InstanceArn"] == instance


def test_client_token_makes_create_idempotent(emu: Emulator, connect: Any, instance: str) -> None:
    first = create(connect, instance, "same", ClientToken="token-1")
    again = create(connect, instance, "same", ClientToken="token-1")
    # Same token, other parameters: still the first group (the model has no error for it).
    changed = create(connect, instance, "other-name", ClientToken="token-1", Description="changed")
    assert first["Id"] == again["Id"] == changed["Id"]
    assert [g["Name"] for g in emu.groups() if not g["IsDefault"]] == ["same"]
    assert emu.group(first["Id"])["ClientToken"] == "token-1"


def test_retry_after_lost_response_reuses_the_token(emu: Emulator, client: ClientFactory, instance: str) -> None:
    emu.inject_fault("CreateTrafficDistributionGroup", "drop_after")
    created = client("connect", retries=3).create_traffic_distribution_group(Name="retried", InstanceId=instance)
    calls = emu.calls("CreateTrafficDistributionGroup")
    assert [c["fault"] for c in calls] == ["drop_after", None]
    assert calls[0]["params"]["ClientToken"] == calls[1]["params"]["ClientToken"]
    assert [g["Id"] for g in emu.groups() if not g["IsDefault"]] == [created["Id"]]


def test_create_can_answer_resource_not_ready(emu: Emulator, connect: Any, instance: str) -> None:
    emu.fail_create_not_ready(count=2)
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            create(connect, instance, ClientToken="same")
        assert error_of(excinfo)[:2] == ("ResourceNotReadyException", 409)
    assert [g for g in emu.groups() if not g["IsDefault"]] == []
    created = create(connect, instance, ClientToken="same")
    assert [g["Id"] for g in emu.groups() if not g["IsDefault"]] == [created["Id"]]
    errors = [c["error"] for c in emu.calls("CreateTrafficDistributionGroup")]
    assert errors == ["ResourceNotReadyException", "ResourceNotReadyException", None]
    with pytest.raises(ValueError):
        emu.fail_create_not_ready(0)


def test_visibility_lag_hides_a_new_group_from_api_calls(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    instance = emu.add_instance()
    home, replica = client_of(emu), client_of(emu, region=REPLICA)
    emu.set_visibility_lag(2.0, replica_extra=1.0)
    created = create(home, instance, "lagging", ClientToken="t-1")
    arn = created["Arn"]
    naming: list[Callable[[Any, str], Any]] = [
        lambda c, ref: c.describe_traffic_distribution_group(TrafficDistributionGroupId=ref),
        lambda c, ref: c.get_traffic_distribution(Id=ref),
        lambda c, ref: c.update_traffic_distribution(Id=ref, TelephonyConfig=split(100, 0)),
        lambda c, ref: c.delete_traffic_distribution_group(TrafficDistributionGroupId=ref),
        lambda c, ref: c.tag_resource(resourceArn=ref, tags={"a": "b"}),
        lambda c, ref: c.untag_resource(resourceArn=ref, tagKeys=["a"]),
    ]
    assert [outcome(functools.partial(call, home, arn)) for call in naming] == [("ResourceNotFoundException", 404)] * 6
    assert outcome(lambda: naming[0](home, created["Id"]))[0] == "ResourceNotFoundException"
    assert create(home, instance, "lagging", ClientToken="t-1")["Id"] == created["Id"]  # idempotency unaffected
    assert emu.group(arn)["Status"] == "CREATION_IN_PROGRESS"  # inspection unaffected
    clock.advance(1.0)
    assert emu.group(arn)["Status"] == "ACTIVE"  # the lifecycle runs on its own
    assert outcome(lambda: naming[0](home, arn))[0] == "ResourceNotFoundException"
    clock.advance(1.0)
    described = home.describe_traffic_distribution_group(TrafficDistributionGroupId=arn)
    assert described["TrafficDistributionGroup"]["Status"] == "ACTIVE"
    assert outcome(lambda: naming[0](replica, arn))[0] == "ResourceNotFoundException"  # seconds + replica_extra
    clock.advance(1.0)
    assert outcome(lambda: naming[0](replica, arn)) == ("ok", 200)
    assert emu.group(arn)["Tags"] == {}  # the hidden TagResource did nothing
    emu.set_visibility_lag(0)
    assert outcome(lambda: naming[0](home, create(home, instance, "at-once")["Arn"])) == ("ok", 200)
    with pytest.raises(ValueError):
        emu.set_visibility_lag(-1)


def test_live_groups_cannot_share_a_name(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(deletion=SETTLE, name="dup")
    first = active_group(emu, connect, instance, "dup")
    with pytest.raises(ClientError) as excinfo:
        create(connect, instance, "dup")
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=first["Id"])
    with pytest.raises(ClientError):  # PENDING_DELETION still holds the name
        create(connect, instance, "dup")
    emu.wait_for_status(first["Id"], "DELETED")
    assert create(connect, instance, "dup")["Id"] != first["Id"]
    other = emu.add_instance()
    assert create(connect, other, "dup")  # names are per instance


def test_group_quota_counts_the_default_group(emu: Emulator, connect: Any, instance: str) -> None:
    for index in range(9):
        create(connect, instance, f"g{index}")
    with pytest.raises(ClientError) as excinfo:
        create(connect, instance, "one-too-many")
    assert error_of(excinfo)[:2] == ("ServiceQuotaExceededException", 402)


def test_create_needs_a_known_replicated_instance_in_its_home_region(
    emu: Emulator, client: ClientFactory, connect: Any, instance: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        client("connect", REPLICA).create_traffic_distribution_group(Name="x", InstanceId=instance)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)  # the admin guide's answer
    with pytest.raises(ClientError) as excinfo:
        client("connect", "eu-west-2").create_traffic_distribution_group(Name="x", InstanceId=instance)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        create(connect, str(uuid.uuid4()))
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    single = emu.add_instance(replica_region=None)
    with pytest.raises(ClientError) as excinfo:
        create(connect, single)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert [g for g in emu.groups() if g["InstanceArn"] == single] == []


def test_bare_id_works_in_the_home_region_only_arn_everywhere(
    emu: Emulator, client: ClientFactory, connect: Any, instance: str
) -> None:
    created = active_group(emu, connect, instance)
    replica = client("connect", REPLICA)
    with pytest.raises(ClientError) as excinfo:
        replica.describe_traffic_distribution_group(TrafficDistributionGroupId=created["Id"])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    described = replica.describe_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])
    assert described["TrafficDistributionGroup"]["Id"] == created["Id"]
    replica.update_traffic_distribution(Id=created["Arn"], TelephonyConfig=split(0, 100))
    assert replica.get_traffic_distribution(Id=created["Arn"])["TelephonyConfig"] == split(0, 100)
    wrong_region_arn = created["Arn"].replace(HOME, OTHER)
    with pytest.raises(ClientError):
        connect.describe_traffic_distribution_group(TrafficDistributionGroupId=wrong_region_arn)


# -- lifecycle --------------------------------------------------------------------------------


def test_creation_and_deletion_follow_the_clock(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE, deletion=SETTLE, name="timed")
    created = create(connect, instance, "timed")
    assert emu.group(created["Id"])["Status"] == "CREATION_IN_PROGRESS"
    time.sleep(SETTLE + DELAY)  # no calls meanwhile: the transition happens anyway
    group = emu.group(created["Arn"])
    assert group["Status"] == "ACTIVE"
    assert group["ActiveAt"] - group["CreatedAt"] == pytest.approx(SETTLE)
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])
    described = connect.describe_traffic_distribution_group(TrafficDistributionGroupId=created["Id"])
    assert described["TrafficDistributionGroup"]["Status"] == "PENDING_DELETION"
    gone = emu.wait_for_status(created["Id"], "DELETED")
    assert gone["DeletedAt"] - gone["DeletionRequestedAt"] == pytest.approx(SETTLE)
    assert [h["Status"] for h in gone["History"]] == ["CREATION_IN_PROGRESS", "ACTIVE", "PENDING_DELETION", "DELETED"]
    with pytest.raises(ClientError) as excinfo:
        connect.describe_traffic_distribution_group(TrafficDistributionGroupId=created["Id"])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert created["Id"] not in [g["Id"] for g in emu.groups()]
    assert created["Id"] in [g["Id"] for g in emu.groups(include_deleted=True)]


def test_delays_per_group_name(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(creation=5.0, name="slow")
    emu.set_delays(creation=0.0)
    slow, fast = create(connect, instance, "slow"), create(connect, instance, "fast")
    assert emu.group(fast["Id"])["Status"] == "ACTIVE"
    assert emu.group(slow["Id"])["Status"] == "CREATION_IN_PROGRESS"
    with pytest.raises(ValueError):
        emu.set_delays(update=-1)


def test_failed_creation_and_failed_deletion(emu: Emulator, connect: Any, instance: str) -> None:
    emu.fail_creation("broken")
    broken = create(connect, instance, "broken")
    assert emu.wait_for_status(broken["Id"], "CREATION_FAILED")["FailedAt"] is not None
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=broken["Id"])  # allowed
    emu.wait_for_status(broken["Id"], "DELETED")

    emu.fail_creation(None, count=2)  # any name
    ids = [create(connect, instance, f"any-{i}")["Id"] for i in range(3)]
    for group_id, status in zip(ids, ["CREATION_FAILED", "CREATION_FAILED", "ACTIVE"], strict=True):
        emu.wait_for_status(group_id, status)

    emu.fail_deletion("sticky")
    sticky = active_group(emu, connect, instance, "sticky")
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=sticky["Id"])
    emu.wait_for_status(sticky["Id"], "DELETION_FAILED")
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=sticky["Id"])  # retry works
    emu.wait_for_status(sticky["Id"], "DELETED")


def test_group_must_be_settled_to_delete(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE)
    created = create(connect, instance)
    with pytest.raises(ClientError) as excinfo:
        connect.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Id"])
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ResourceInUseException", 409)
    assert "CREATION_IN_PROGRESS" in message


def test_delete_of_unknown_group(client: ClientFactory) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as excinfo:
        client("connect").delete_traffic_distribution_group(TrafficDistributionGroupId=missing)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_delete_only_in_the_home_region(emu: Emulator, client: ClientFactory, connect: Any, instance: str) -> None:
    created = active_group(emu, connect, instance)
    replica = client("connect", REPLICA)
    with pytest.raises(ClientError) as excinfo:
        replica.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert HOME in message
    with pytest.raises(ClientError) as excinfo:  # a bare id is unknown outside the home Region
        replica.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Id"])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert emu.group(created["Id"])["Status"] == "ACTIVE"
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])
    emu.wait_for_status(created["Id"], "DELETED")


def test_claimed_phone_number_blocks_deletion(emu: Emulator, connect: Any, instance: str) -> None:
    created = active_group(emu, connect, instance)
    number_arn = emu.claim_phone_number(created["Arn"], "+15550199")
    with pytest.raises(ClientError) as excinfo:
        connect.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ResourceInUseException", 409)
    assert "+15550199" in message
    extra: dict[str, Any] = dict(excinfo.value.response)  # members of the error shape, parsed by botocore
    assert (extra["ResourceType"], extra["ResourceId"]) == ("PHONE_NUMBER", number_arn)
    assert emu.release_phone_numbers(created["Arn"]) == ["+15550199"]
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=created["Arn"])


def test_default_group_exists_and_cannot_be_deleted(emu: Emulator, connect: Any) -> None:
    instance = emu.add_instance(alias="shop")
    (default,) = emu.groups()
    assert (default["Name"], default["Status"], default["IsDefault"]) == ("shop-default", "ACTIVE", True)
    with pytest.raises(ClientError) as excinfo:
        connect.delete_traffic_distribution_group(TrafficDistributionGroupId=default["Arn"])
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "default" in message
    assert emu.group(default["Id"])["InstanceArn"] == instance


def test_a_default_group_can_have_a_given_id(emu: Emulator, connect: Any) -> None:
    group_id = "0123abcd-0000-4000-8000-00000000beef"
    instance = emu.add_instance(home_region="eu-central-1", replica_region="eu-west-2", default_group_id=group_id)
    default = emu.group(group_id)
    assert (default["IsDefault"], default["InstanceArn"]) == (True, instance)
    assert default["Arn"] == f"arn:aws:connect:eu-central-1:{emu.account_id}:traffic-distribution-group/{group_id}"
    with pytest.raises(ValueError, match="already exists"):
        emu.add_instance(default_group_id=group_id)


# -- traffic distribution ------------------------------------------------------------------------


def test_initial_distribution_and_update_lifecycle(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(update=SETTLE)
    created = active_group(emu, connect, instance)
    initial = connect.get_traffic_distribution(Id=created["Id"])
    assert initial["TelephonyConfig"] == initial["AgentConfig"] == split(100, 0)
    assert "SignInConfig" not in initial and "LastFailoverTime" not in initial
    connect.update_traffic_distribution(Id=created["Id"], TelephonyConfig=split(30, 70), AgentConfig=split(0, 100))
    assert emu.group(created["Id"])["Status"] == "UPDATE_IN_PROGRESS"
    with pytest.raises(ClientError) as excinfo:
        connect.update_traffic_distribution(Id=created["Id"], TelephonyConfig=split(100, 0))
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "status" in message and "UPDATE_IN_PROGRESS" in message and "must be ACTIVE" in message
    current = connect.get_traffic_distribution(Id=created["Id"])
    assert (current["TelephonyConfig"], current["AgentConfig"]) == (split(30, 70), split(0, 100))
    assert current["LastFailoverTime"].timestamp() == pytest.approx(time.time(), abs=5)
    settled = emu.wait_for_status(created["Id"], "ACTIVE")
    assert settled["UpdatedAt"] is not None and settled["Distribution"]["TelephonyConfig"] == split(30, 70)


def test_update_is_refused_while_creating(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE)
    created = create(connect, instance)
    with pytest.raises(ClientError) as excinfo:
        connect.update_traffic_distribution(Id=created["Id"], TelephonyConfig=split(50, 50))
    code, status, message = error_of(excinfo)
    # The API reference: the group's status must be ACTIVE; InvalidRequestException otherwise.
    assert (code, status) == ("InvalidRequestException", 400)
    assert "status" in message and "CREATION_IN_PROGRESS" in message and "must be ACTIVE" in message
    assert connect.get_traffic_distribution(Id=created["Id"])["TelephonyConfig"] == split(100, 0)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"Distributions": [{"Region": HOME, "Percentage": 100}]}, "each Region"),
        (
            {
                "Distributions": [
                    {"Region": HOME, "Percentage": 50},
                    {"Region": REPLICA, "Percentage": 50},
                    {"Region": OTHER, "Percentage": 0},
                ]
            },
            "each Region",
        ),
        ({"Distributions": [{"Region": HOME, "Percentage": 50}, {"Region": HOME, "Percentage": 50}]}, "each Region"),
        (split(55, 45), "multiples of 10"),
        (split(60, 30), "add up to 100"),
    ],
)
def test_distribution_rules(emu: Emulator, connect: Any, instance: str, config: dict[str, Any], fragment: str) -> None:
    created = active_group(emu, connect, instance)
    for key in ("TelephonyConfig", "AgentConfig"):
        with pytest.raises(ClientError) as excinfo:
            connect.update_traffic_distribution(Id=created["Id"], **{key: config})
        code, status, message = error_of(excinfo)
        assert (code, status) == ("InvalidRequestException", 400)
        assert fragment in message
    assert emu.group(created["Id"])["Status"] == "ACTIVE"
    with pytest.raises(ClientError):
        connect.update_traffic_distribution(Id=created["Id"])  # nothing to update


def test_sign_in_config_only_on_the_default_group(emu: Emulator, connect: Any, instance: str) -> None:
    sign_in = {"Distributions": [{"Region": HOME, "Enabled": True}, {"Region": REPLICA, "Enabled": False}]}
    created = active_group(emu, connect, instance)
    with pytest.raises(ClientError) as excinfo:
        connect.update_traffic_distribution(Id=created["Id"], SignInConfig=sign_in)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    (default,) = [g for g in emu.groups() if g["IsDefault"]]
    assert connect.get_traffic_distribution(Id=default["Id"])["SignInConfig"] == {
        "Distributions": [{"Region": HOME, "Enabled": True}, {"Region": REPLICA, "Enabled": True}]
    }
    connect.update_traffic_distribution(Id=default["Arn"], SignInConfig=sign_in)
    assert connect.get_traffic_distribution(Id=default["Id"])["SignInConfig"] == sign_in
    emu.wait_for_status(default["Id"], "ACTIVE")
    nobody = {"Distributions": [{"Region": HOME, "Enabled": False}, {"Region": REPLICA, "Enabled": False}]}
    with pytest.raises(ClientError):
        connect.update_traffic_distribution(Id=default["Arn"], SignInConfig=nobody)


# -- tags and listing --------------------------------------------------------------------------


def test_tagging(emu: Emulator, connect: Any, client: ClientFactory, instance: str) -> None:
    arn = create(connect, instance, Tags={"a": "1"})["Arn"]
    connect.tag_resource(resourceArn=arn, tags={"b": "2", "a": "one"})
    connect.untag_resource(resourceArn=arn, tagKeys=["b", "never-there"])
    assert emu.group(arn)["Tags"] == {"a": "one"}
    assert emu.calls("UntagResource")[0]["params"] == {"resourceArn": arn, "tagKeys": ["b", "never-there"]}
    with pytest.raises(ClientError) as excinfo:
        connect.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        client("connect", REPLICA).tag_resource(resourceArn=arn, tags={"c": "3"})
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        connect.untag_resource(resourceArn=arn.replace(arn.rsplit("/", 1)[1], str(uuid.uuid4())), tagKeys=["a"])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_list_paginates_and_filters(emu: Emulator, connect: Any, instance: str) -> None:
    other = emu.add_instance()
    ids = [create(connect, instance, f"g{i}")["Id"] for i in range(3)]
    first = connect.list_traffic_distribution_groups(InstanceId=instance, MaxResults=2)
    second = connect.list_traffic_distribution_groups(InstanceId=instance, MaxResults=2, NextToken=first["NextToken"])
    assert "NextToken" not in second
    listed = first["TrafficDistributionGroupSummaryList"] + second["TrafficDistributionGroupSummaryList"]
    assert [g["Id"] for g in listed if not g["IsDefault"]] == ids
    assert {g["InstanceArn"] for g in listed} == {instance}
    everything = connect.list_traffic_distribution_groups()["TrafficDistributionGroupSummaryList"]
    assert {g["InstanceArn"] for g in everything} == {instance, other}
    paginated = connect.get_paginator("list_traffic_distribution_groups").paginate(InstanceId=instance)
    assert sum(len(p["TrafficDistributionGroupSummaryList"]) for p in paginated) == 4
    with pytest.raises(ClientError) as excinfo:
        connect.list_traffic_distribution_groups(NextToken="garbage")
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)


# -- fault injection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "kind", "code", "status"),
    [
        ("connect", "ListTrafficDistributionGroups", "throttle", "ThrottlingException", 429),
        ("connect", "ListTrafficDistributionGroups", "5xx", "InternalServiceException", 500),
        ("events", "RemoveTargets", "throttle", "ThrottlingException", 400),
        ("events", "RemoveTargets", "5xx", "InternalException", 500),
        ("lambda", "RemovePermission", "throttle", "TooManyRequestsException", 429),
        ("lambda", "RemovePermission", "5xx", "ServiceException", 500),
    ],
)
def test_injected_errors(
    emu: Emulator, client: ClientFactory, service: str, operation: str, kind: str, code: str, status: int
) -> None:
    calls: dict[str, Callable[[], Any]] = {
        "connect": lambda: client("connect").list_traffic_distribution_groups(),
        "events": lambda: client("events").remove_targets(Rule="nope", Ids=["1"]),
        "lambda": lambda: client("lambda").remove_permission(FunctionName="fn", StatementId="nope"),
    }
    real_answer = {"connect": "ok", "events": "ResourceNotFoundException", "lambda": "ResourceNotFoundException"}
    emu.inject_fault(operation, kind, count=2)
    assert [outcome(calls[service]), outcome(calls[service])] == [(code, status)] * 2
    assert outcome(calls[service])[0] == real_answer[service]  # faults used up
    assert [c["fault"] for c in emu.calls(operation)] == [kind, kind, None]


def test_regional_outage_answers_503(emu: Emulator, client: ClientFactory, instance: str) -> None:
    emu.set_outage(REPLICA, "503")
    replica = client("connect", REPLICA, retries=2)
    with pytest.raises(ClientError) as excinfo:
        replica.list_traffic_distribution_groups()
    assert error_of(excinfo)[:2] == ("ServiceUnavailable", 503)
    assert outcome(lambda: client("connect").list_traffic_distribution_groups()) == ("ok", 200)  # home Region up
    events_up = outcome(lambda: client("events", REPLICA).remove_targets(Rule="r", Ids=["1"]))
    assert events_up[0] == "ResourceNotFoundException"  # only Connect is out
    seen = [(c["region"], c["status"], c["error"], c["fault"]) for c in emu.calls(service="connect")]
    # botocore retried the 503 as a transient 5xx.
    assert seen == [(REPLICA, 503, "ServiceUnavailable", "outage")] * 2 + [(HOME, 200, None, None)]
    emu.set_outage(REPLICA, None)
    assert outcome(replica.list_traffic_distribution_groups) == ("ok", 200)
    with pytest.raises(ValueError):
        emu.set_outage(HOME, "500")
    with pytest.raises(ValueError):
        emu.set_outage(HOME, "503", service="s3")


def test_regional_outage_can_drop_connections(emu: Emulator, client: ClientFactory, instance: str) -> None:
    emu.set_outage(HOME, "drop")
    emu.set_outage(HOME, "drop", service="lambda")
    emu.inject_fault("CreateTrafficDistributionGroup", "5xx")  # an outage uses no injected fault
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        create(client("connect"), instance)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client("lambda").remove_permission(FunctionName="fn", StatementId="s")
    assert [g for g in emu.groups() if not g["IsDefault"]] == []
    assert [(c["status"], c["fault"]) for c in emu.calls()] == [(None, "outage")] * 2
    emu.set_outage(HOME, None)
    assert outcome(lambda: create(client("connect"), instance)) == ("InternalServiceException", 500)
    assert create(client("connect"), instance)["Id"]


def test_token_bucket_throttle_per_service_and_region(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.add_instance()
    home, replica, events = client_of(emu), client_of(emu, region=REPLICA), client_of(emu, "events")
    emu.set_throttle(2.0, burst=5)  # Connect's quota: 2 per second, burst 5
    ok, throttled = ("ok", 200), ("ThrottlingException", 429)
    assert [outcome(home.list_traffic_distribution_groups) for _ in range(7)] == [ok] * 5 + [throttled] * 2
    assert outcome(replica.list_traffic_distribution_groups) == ok  # a bucket per Region
    assert outcome(lambda: events.remove_targets(Rule="r", Ids=["1"]))[0] == "ResourceNotFoundException"  # per service
    clock.advance(0.5)  # one token back; the throttled calls used none
    assert [outcome(home.list_traffic_distribution_groups) for _ in range(2)] == [ok, throttled]
    clock.advance(60)  # refills up to the burst only
    assert [outcome(home.list_traffic_distribution_groups) for _ in range(6)] == [ok] * 5 + [throttled]
    refused = [c for c in emu.calls() if c["fault"] == "throttle"]
    assert {(c["operation"], c["region"], c["status"], c["error"]) for c in refused} == {
        ("ListTrafficDistributionGroups", HOME, 429, "ThrottlingException")
    }
    assert (emu.throttle_count(), emu.throttle_count(HOME), emu.throttle_count(REPLICA)) == (4, 4, 0)
    emu.set_throttle(1.0, burst=1, service="events")
    assert [outcome(lambda: events.put_rule(Name="r", ScheduleExpression="rate(1 minute)")) for _ in range(2)] == [
        ok,
        ("ThrottlingException", 400),
    ]
    emu.set_throttle(None)
    assert [outcome(home.list_traffic_distribution_groups) for _ in range(10)] == [ok] * 10
    with pytest.raises(ValueError):
        emu.set_throttle(0)


def test_throttle_bucket_is_shared_by_concurrent_callers(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, _ = frozen  # the clock stands still: no refill
    emu.set_throttle(2.0, burst=5)
    shared = client_of(emu)  # boto3 clients are thread-safe
    results: list[tuple[str, int]] = []

    def worker() -> None:
        results.append(outcome(shared.list_traffic_distribution_groups))

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [("ThrottlingException", 429)] * 7 + [("ok", 200)] * 5
    assert emu.throttle_count() == 7


def test_concurrent_modification_faults(emu: Emulator, client: ClientFactory) -> None:
    events, lam = client("events"), client("lambda")
    grant = {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}
    emu.inject_fault("PutRule", "concurrent", service="events")
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="r", ScheduleExpression="rate(1 minute)")
    assert error_of(excinfo)[:2] == ("ConcurrentModificationException", 400)
    assert emu.rules() == []
    emu.inject_fault("AddPermission", "concurrent", service="lambda")
    with pytest.raises(ClientError) as excinfo:
        lam.add_permission(FunctionName="fn", StatementId="s", **grant)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ResourceConflictException", 409)
    assert message.endswith(f"An update is in progress for resource: arn:aws:lambda:{HOME}:123456789012:function:fn")
    assert emu.permissions() == []
    lam.add_permission(FunctionName="fn", StatementId="s", **grant)
    emu.inject_fault("RemovePermission", "concurrent")  # the service is the one that has the error
    assert outcome(lambda: lam.remove_permission(FunctionName="fn", StatementId="s")) == (
        "ResourceConflictException",
        409,
    )
    assert len(emu.permissions()) == 1
    assert [c["fault"] for c in emu.calls()] == ["concurrent", "concurrent", None, "concurrent"]
    for operation in ("ListTrafficDistributionGroups", "TagResource"):
        with pytest.raises(ValueError):
            emu.inject_fault(operation, "concurrent")


def test_drop_closes_the_connection_without_executing(
    emu: Emulator, connect: Any, client: ClientFactory, instance: str
) -> None:
    emu.inject_fault("CreateTrafficDistributionGroup", "drop")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        create(connect, instance)
    assert [g for g in emu.groups() if not g["IsDefault"]] == []
    assert emu.calls("CreateTrafficDistributionGroup")[0]["status"] is None
    emu.inject_fault("PutRule", "drop")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client("events").put_rule(Name="r", ScheduleExpression="rate(1 minute)")
    assert create(connect, instance)["Id"]  # the next call is served normally


def test_inject_fault_rejects_typos(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.inject_fault("CreateTrafficDistributionGroup", "explode")
    with pytest.raises(ValueError):
        emu.inject_fault("CreateTDG", "throttle")
    with pytest.raises(ValueError):
        emu.inject_fault("PutRule", "throttle", service="connect")


def test_fault_can_target_one_service(emu: Emulator, client: ClientFactory, connect: Any, instance: str) -> None:
    arn = create(connect, instance)["Arn"]
    emu.inject_fault("TagResource", "throttle", service="events")
    connect.tag_resource(resourceArn=arn, tags={"a": "b"})  # connect's TagResource unaffected
    assert emu.calls("TagResource")[0]["fault"] is None


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


def test_lambda_permissions(emu: Emulator, client: ClientFactory) -> None:
    lam = client("lambda")
    grant = {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}
    function_arn = f"arn:aws:lambda:{HOME}:123456789012:function:fn"
    statement = json.loads(lam.add_permission(FunctionName="fn", StatementId="sid-1", **grant)["Statement"])
    assert statement["Resource"] == function_arn and statement["Sid"] == "sid-1"
    with pytest.raises(ClientError) as excinfo:  # same function named by ARN: same policy
        lam.add_permission(FunctionName=function_arn, StatementId="sid-1", **grant)
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    for sid in ("s" * 101, "not ok!"):
        with pytest.raises(ClientError) as excinfo:
            lam.add_permission(FunctionName="fn", StatementId=sid, **grant)
        assert error_of(excinfo)[:2] == ("ValidationException", 400)
    lam.remove_permission(FunctionName="fn", StatementId="sid-1")
    with pytest.raises(ClientError) as excinfo:
        lam.remove_permission(FunctionName="fn", StatementId="sid-1")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert emu.permissions() == []


# -- concurrency ---------------------------------------------------------------------------------


def test_concurrent_creates_are_consistent(emu: Emulator, client: ClientFactory, instance: str) -> None:
    results: list[str] = []
    errors: list[str] = []

    def worker(index: int) -> None:
        own = client("connect", retries=1)
        try:
            own.create_traffic_distribution_group(Name=f"n{index % 4}", InstanceId=instance, ClientToken=f"t{index}")
            results.append(f"n{index % 4}")
        except ClientError as error:
            errors.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["n0", "n1", "n2", "n3"]
    assert errors == ["ResourceConflictException"] * 4
    assert len(emu.groups()) == 5


# -- instances and replicas ---------------------------------------------------------------------

ACCOUNT = "123456789012"


def replica_arn_of(instance_arn: str, region: str = REPLICA) -> str:
    return instance_arn.replace(f":{HOME}:", f":{region}:", 1)


def replication_of(described: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    config = described.get("ReplicationConfiguration")
    if config is None:
        return []
    return [
        (s["Region"], s["ReplicationStatus"], s.get("ReplicationStatusReason"))
        for s in config["ReplicationStatusSummaryList"]
    ]


def default_groups(connect: Any, instance: str) -> list[dict[str, Any]]:
    listed = connect.list_traffic_distribution_groups(InstanceId=instance)["TrafficDistributionGroupSummaryList"]
    return [g for g in listed if g["IsDefault"]]


def test_replicate_instance_is_asynchronous_and_makes_the_default_group(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.set_delays(replication=2.0)
    source = emu.add_instance(replica_region=None, alias="shop")
    instance_id = source.rsplit("/", 1)[1]
    home, replica = client_of(emu), client_of(emu, region=REPLICA)
    assert "ReplicationConfiguration" not in home.describe_instance(InstanceId=source)
    assert default_groups(home, source) == []

    started = clock.now
    answer = home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA, ReplicaAlias="shop-west")
    assert (answer["Id"], answer["Arn"]) == (instance_id, f"arn:aws:connect:{REPLICA}:{ACCOUNT}:instance/{instance_id}")
    described = home.describe_instance(InstanceId=instance_id)
    assert replication_of(described) == [(REPLICA, "RESOURCE_REPLICATION_NOT_STARTED", None)]
    config = described["ReplicationConfiguration"]
    assert config["SourceRegion"] == HOME and config["GlobalSignInEndpoint"].startswith("https://")
    in_replica = replica.describe_instance(InstanceId=answer["Arn"])
    assert (in_replica["Instance"]["InstanceStatus"], in_replica["Instance"]["Arn"]) == (
        "CREATION_IN_PROGRESS",
        answer["Arn"],
    )
    with pytest.raises(ClientError) as excinfo:  # no traffic distribution group before the replica is complete
        create(home, source)
    assert error_of(excinfo)[:2] == ("ResourceNotReadyException", 409)

    clock.advance(1.0)
    assert replication_of(home.describe_instance(InstanceId=source))[0][1] == "INSTANCE_REPLICATION_IN_PROGRESS"
    assert default_groups(home, source) == [] and emu.groups() == []

    clock.advance(1.0)
    assert replication_of(home.describe_instance(InstanceId=source)) == [
        (REPLICA, "INSTANCE_REPLICATION_COMPLETE", None)
    ]
    (default,) = default_groups(home, source)
    assert (default["Name"], default["Status"]) == ("shop-default", "ACTIVE")
    assert emu.group(default["Arn"])["CreatedAt"] == started + 2.0
    instance = replica.describe_instance(InstanceId=answer["Arn"])["Instance"]
    assert instance == {
        "Id": instance_id,
        "Arn": answer["Arn"],
        "IdentityManagementType": "CONNECT_MANAGED",
        "InstanceAlias": "shop-west",
        "CreatedTime": instance["CreatedTime"],
        "ServiceRole": instance["ServiceRole"],
        "InstanceStatus": "ACTIVE",
        "InboundCallsEnabled": True,
        "OutboundCallsEnabled": True,
        "InstanceAccessUrl": "https://shop-west.my.connect.aws",
    }
    assert instance["CreatedTime"].timestamp() == pytest.approx(started)
    assert instance["ServiceRole"].startswith(f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/connect.amazonaws.com/")
    assert create(home, source)["Id"]  # now groups can be made
    snapshot = emu.instance(source)
    assert snapshot["Replica"]["Status"] == "INSTANCE_REPLICATION_COMPLETE"
    assert snapshot["Replica"]["CompletedAt"] == started + 2.0
    assert [h["Status"] for h in snapshot["Replica"]["History"]] == [
        "RESOURCE_REPLICATION_NOT_STARTED",
        "INSTANCE_REPLICATION_IN_PROGRESS",
        "INSTANCE_REPLICATION_COMPLETE",
    ]
    assert snapshot["Replica"]["DefaultGroupArn"] == default["Arn"]


def test_replicate_instance_client_token_and_already_replicated(emu: Emulator, client: ClientFactory) -> None:
    source = emu.add_instance(replica_region=None)
    home = client("connect")
    first = home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA, ClientToken="t-1")
    again = home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA, ClientToken="t-1")
    assert first["Arn"] == again["Arn"] == replica_arn_of(source)
    assert len(emu.instance(source)["Replicas"]) == 1
    with pytest.raises(ClientError) as excinfo:  # a new token: a different ReplicateInstance call
        home.replicate_instance(InstanceId=source.rsplit("/", 1)[1], ReplicaRegion=REPLICA)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "already replicated" in message
    # a lost answer: botocore sends the request again with the token it generated
    other = emu.add_instance(replica_region=None)
    emu.inject_fault("ReplicateInstance", "drop_after")
    retried = client("connect", retries=3).replicate_instance(InstanceId=other, ReplicaRegion=REPLICA)
    calls = emu.calls("ReplicateInstance")[-2:]
    assert [c["fault"] for c in calls] == ["drop_after", None]
    assert calls[0]["params"]["ClientToken"] == calls[1]["params"]["ClientToken"]
    assert retried["Arn"] == replica_arn_of(other) and len(emu.instance(other)["Replicas"]) == 1
    # the default replica alias, when none is given
    assert emu.instance(other)["Replica"]["Alias"] == f"{emu.instance(other)['Alias']}-replica"


@pytest.mark.parametrize(
    ("source_region", "replica_region", "allowed"),
    [
        ("us-east-1", "us-west-2", True),
        ("us-west-2", "us-east-1", True),
        ("eu-central-1", "eu-west-2", True),
        ("eu-west-2", "eu-central-1", True),
        ("ap-northeast-1", "ap-northeast-3", True),
        ("ap-northeast-3", "ap-northeast-1", False),
        ("us-east-1", "eu-west-2", False),
        ("us-east-1", "us-east-1", False),
        ("eu-west-1", "eu-west-2", False),
    ],
)
def test_replicate_instance_only_to_the_partner_region(
    emu: Emulator, client: ClientFactory, source_region: str, replica_region: str, allowed: bool
) -> None:
    source = emu.add_instance(home_region=source_region, replica_region=None)
    call = client("connect", source_region).replicate_instance
    if allowed:
        assert call(InstanceId=source, ReplicaRegion=replica_region)["Arn"] == source.replace(
            f":{source_region}:", f":{replica_region}:"
        )
        return
    with pytest.raises(ClientError) as excinfo:
        call(InstanceId=source, ReplicaRegion=replica_region)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "us-east-1 <-> us-west-2" in message or "must differ" in message
    assert emu.instance(source)["Replicas"] == []


def test_replicate_instance_refusals(emu: Emulator, client: ClientFactory) -> None:
    source = emu.add_instance(replica_region=None, alias="taken")
    home, replica = client("connect"), client("connect", REPLICA)
    with pytest.raises(ClientError) as excinfo:  # the source is unknown in the replica Region
        replica.replicate_instance(InstanceId=source, ReplicaRegion=HOME)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        home.replicate_instance(InstanceId=str(uuid.uuid4()), ReplicaRegion=REPLICA)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:  # "The ReplicaAlias must be unique."
        home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA, ReplicaAlias="taken")
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as excinfo:  # the model's DirectoryAlias pattern
        home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA, ReplicaAlias="d-no")
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    replicated = emu.add_instance()
    with pytest.raises(ClientError) as excinfo:  # the replica is not something to replicate
        replica.replicate_instance(InstanceId=replica_arn_of(replicated), ReplicaRegion=HOME)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert emu.instance(source)["Replicas"] == []


def test_failed_replication(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.set_delays(replication=1.0, replica_deletion=1.0)
    source = emu.add_instance(replica_region=None)
    home, replica = client_of(emu), client_of(emu, region=REPLICA)
    emu.fail_replication(reason="KMS key not found in us-west-2")
    arn = home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)["Arn"]
    clock.advance(1.0)
    failed = (REPLICA, "INSTANCE_REPLICATION_FAILED", "KMS key not found in us-west-2")
    assert replication_of(home.describe_instance(InstanceId=source)) == [failed]
    in_replica = replica.describe_instance(InstanceId=arn)
    assert replication_of(in_replica) == [failed]
    assert in_replica["Instance"]["InstanceStatus"] == "CREATION_FAILED"
    assert in_replica["Instance"]["StatusReason"] == {"Message": "KMS key not found in us-west-2"}
    assert default_groups(home, source) == [] and emu.groups(include_deleted=True) == []
    with pytest.raises(ClientError) as excinfo:
        create(home, source)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:  # the failed replica is still the instance's replica
        home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    replica.delete_instance(InstanceId=arn)  # a failed replica can be deleted
    clock.advance(1.0)
    assert "ReplicationConfiguration" not in home.describe_instance(InstanceId=source)
    home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)  # and the instance replicated again
    clock.advance(1.0)
    assert replication_of(home.describe_instance(InstanceId=source))[0][1] == "INSTANCE_REPLICATION_COMPLETE"
    assert [r["Status"] for r in emu.instance(source)["Replicas"]] == ["DELETED", "INSTANCE_REPLICATION_COMPLETE"]
    with pytest.raises(ValueError):
        emu.fail_replication(count=0)


def test_describe_instance_names_the_instance_of_the_region_called(emu: Emulator, client: ClientFactory) -> None:
    source = emu.add_instance(alias="both")  # already replicated, as before
    instance_id, replica_arn = source.rsplit("/", 1)[1], replica_arn_of(source)
    home, replica, other = client("connect"), client("connect", REPLICA), client("connect", OTHER)
    complete = [(REPLICA, "INSTANCE_REPLICATION_COMPLETE", None)]
    for call, arn, alias in (
        (lambda: home.describe_instance(InstanceId=instance_id), source, "both"),
        (lambda: home.describe_instance(InstanceId=source), source, "both"),
        (lambda: replica.describe_instance(InstanceId=replica_arn), replica_arn, "both-replica"),
        (lambda: replica.describe_instance(InstanceId=instance_id), replica_arn, "both-replica"),
    ):
        described = call()
        assert (described["Instance"]["Arn"], described["Instance"]["InstanceAlias"]) == (arn, alias)
        assert replication_of(described) == complete
    for call in (
        lambda: replica.describe_instance(InstanceId=source),  # the source's ARN in the replica Region
        lambda: home.describe_instance(InstanceId=replica_arn),  # the replica's ARN in the home Region
        lambda: other.describe_instance(InstanceId=instance_id),
        lambda: home.describe_instance(InstanceId=str(uuid.uuid4())),
    ):
        assert outcome(call) == ("ResourceNotFoundException", 404)
    assert emu.instance(source)["Replica"]["Region"] == REPLICA
    with pytest.raises(KeyError):
        emu.instance(str(uuid.uuid4()))


def test_delete_replica_waits_for_groups_and_numbers_then_removes_it(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.set_delays(replica_deletion=2.0)
    source = emu.add_instance(alias="gr")
    replica_arn = replica_arn_of(source)
    home, replica = client_of(emu), client_of(emu, region=REPLICA)
    group = create(home, source, "extra")
    clock.advance(1.0)
    with pytest.raises(ClientError) as excinfo:
        replica.delete_instance(InstanceId=replica_arn)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "extra" in message and "other than the default" in message
    home.delete_traffic_distribution_group(TrafficDistributionGroupId=group["Arn"])
    with pytest.raises(ClientError) as excinfo:  # PENDING_DELETION: the group still exists
        replica.delete_instance(InstanceId=replica_arn)
    assert "extra (PENDING_DELETION)" in error_of(excinfo)[2]
    clock.advance(1.0)
    (default,) = default_groups(home, source)
    number = home.claim_phone_number(TargetArn=default["Arn"], PhoneNumber="+15550102030")
    with pytest.raises(ClientError) as excinfo:
        replica.delete_instance(InstanceId=replica_arn)
    assert "+15550102030" in error_of(excinfo)[2]
    home.release_phone_number(PhoneNumberId=number["PhoneNumberId"])

    requested = clock.now
    replica.delete_instance(InstanceId=replica_arn)
    deleting = [(REPLICA, "INSTANCE_REPLICA_DELETING", None)]
    assert replication_of(home.describe_instance(InstanceId=source)) == deleting
    assert replication_of(replica.describe_instance(InstanceId=replica_arn)) == deleting
    assert emu.group(default["Arn"])["Status"] == "PENDING_DELETION"
    with pytest.raises(ClientError) as excinfo:  # a second DeleteInstance while it is being deleted
        replica.delete_instance(InstanceId=replica_arn)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    clock.advance(2.0)
    assert outcome(lambda: replica.describe_instance(InstanceId=replica_arn)) == ("ResourceNotFoundException", 404)
    assert "ReplicationConfiguration" not in home.describe_instance(InstanceId=source)
    assert default_groups(home, source) == []
    gone = emu.group(default["Arn"])
    assert (gone["Status"], gone["DeletedAt"]) == ("DELETED", requested + 2.0)
    snapshot = emu.instance(source)
    assert snapshot["Replica"] is None
    assert (snapshot["Replicas"][0]["DeletionRequestedAt"], snapshot["Replicas"][0]["DeletedAt"]) == (
        requested,
        requested + 2.0,
    )
    assert outcome(lambda: replica.delete_instance(InstanceId=replica_arn)) == ("ResourceNotFoundException", 404)
    assert emu.deleted_instances() == []  # only the replica went
    # a deleted replica can be made again
    assert home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA, ReplicaAlias="gr-again")["Arn"] == (
        replica_arn
    )


def test_replica_deletion_can_fail(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.set_delays(replica_deletion=1.0)
    source = emu.add_instance()
    replica_arn = replica_arn_of(source)
    replica = client_of(emu, region=REPLICA)
    (default,) = emu.groups()
    emu.fail_replica_deletion(reason="directory still linked")
    replica.delete_instance(InstanceId=replica_arn)
    clock.advance(1.0)
    assert replication_of(replica.describe_instance(InstanceId=replica_arn)) == [
        (REPLICA, "INSTANCE_REPLICATION_DELETION_FAILED", "directory still linked")
    ]
    assert emu.group(default["Arn"])["Status"] == "ACTIVE"  # it stays with the replica
    replica.delete_instance(InstanceId=replica_arn)  # deleting again is allowed
    clock.advance(1.0)
    assert emu.instance(source)["Replica"] is None and emu.groups() == []


def test_delete_instance_in_the_source_region_deletes_the_production_instance(
    emu: Emulator, client: ClientFactory, connect: Any
) -> None:
    source = emu.add_instance(alias="prod")
    instance_id = source.rsplit("/", 1)[1]
    group = create(connect, source, "calls")
    emu.wait_for_status(group["Arn"], "ACTIVE")
    number = connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550109999")
    emu.inject_fault("DeleteInstance", "drop_after")  # the retry (same ClientToken) is answered too
    client("connect", retries=3).delete_instance(InstanceId=instance_id)
    assert [c["status"] for c in emu.calls("DeleteInstance")] == [None, 200]
    (deleted,) = emu.deleted_instances()
    assert deleted["Id"] == instance_id and deleted["Arn"] == source
    assert (deleted["Region"], deleted["ReplicaRegion"], len(deleted["Groups"])) == (HOME, REPLICA, 2)
    for call in (
        lambda: connect.describe_instance(InstanceId=source),
        lambda: client("connect", REPLICA).describe_instance(InstanceId=replica_arn_of(source)),
        lambda: connect.describe_traffic_distribution_group(TrafficDistributionGroupId=group["Arn"]),
        lambda: connect.describe_phone_number(PhoneNumberId=number["PhoneNumberId"]),
    ):
        assert outcome(call) == ("ResourceNotFoundException", 404)
    assert emu.groups() == [] and emu.phone_numbers() == []
    with pytest.raises(KeyError):
        emu.instance(source)


def test_delete_instance_refused_while_replicating(emu: Emulator, client: ClientFactory) -> None:
    emu.set_delays(replication=SETTLE)
    source = emu.add_instance(replica_region=None)
    arn = client("connect").replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)["Arn"]
    with pytest.raises(ClientError) as excinfo:
        client("connect", REPLICA).delete_instance(InstanceId=arn)
    code, _, message = error_of(excinfo)
    assert code == "InvalidRequestException" and "REPLICATION" in message


# -- agents of traffic distribution groups --------------------------------------------------------


def user_ids(connect: Any, group: str, **kwargs: Any) -> list[str]:
    pages = connect.get_paginator("list_traffic_distribution_group_users").paginate(
        TrafficDistributionGroupId=group, **kwargs
    )
    return [u["UserId"] for page in pages for u in page["TrafficDistributionGroupUserSummaryList"]]


def test_traffic_distribution_group_users(emu: Emulator, client: ClientFactory, connect: Any, instance: str) -> None:
    group = active_group(emu, connect, instance)
    instance_id = instance.rsplit("/", 1)[1]
    users = [str(uuid.uuid4()) for _ in range(12)]
    for index, user in enumerate(users):
        ref = f"arn:aws:connect:{HOME}:{ACCOUNT}:instance/{instance_id}/agent/{user}" if index % 2 else user
        connect.associate_traffic_distribution_group_user(
            TrafficDistributionGroupId=group["Arn"] if index % 3 else group["Id"],
            UserId=ref,
            InstanceId=instance if index % 2 else instance_id,
        )
    replica = client("connect", REPLICA)
    first = replica.list_traffic_distribution_group_users(TrafficDistributionGroupId=group["Arn"], MaxResults=1000)
    assert len(first["TrafficDistributionGroupUserSummaryList"]) == 10 and "NextToken" in first  # a page holds 10
    assert user_ids(replica, group["Arn"]) == users == emu.group(group["Arn"])["Users"]
    assert user_ids(connect, group["Id"], PaginationConfig={"PageSize": 5}) == users
    assert outcome(lambda: replica.list_traffic_distribution_group_users(TrafficDistributionGroupId=group["Id"])) == (
        "ResourceNotFoundException",
        404,
    )
    pair = {"TrafficDistributionGroupId": group["Arn"], "UserId": users[0], "InstanceId": instance}
    with pytest.raises(ClientError) as excinfo:
        connect.associate_traffic_distribution_group_user(**pair)
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as excinfo:  # "can be called only in the Region where the group is created"
        replica.disassociate_traffic_distribution_group_user(**pair)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    connect.disassociate_traffic_distribution_group_user(**pair)
    with pytest.raises(ClientError) as excinfo:
        connect.disassociate_traffic_distribution_group_user(**pair)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert user_ids(connect, group["Arn"]) == users[1:]
    assert emu.calls("DisassociateTrafficDistributionGroupUser")[0]["params"] == pair

    other = emu.add_instance()
    for bad, code in (
        ({"InstanceId": other}, "InvalidRequestException"),  # not the group's instance
        ({"InstanceId": str(uuid.uuid4())}, "ResourceNotFoundException"),
        ({"UserId": "not-a-user"}, "ResourceNotFoundException"),
        ({"UserId": f"arn:aws:connect:{HOME}:{ACCOUNT}:instance/{other.rsplit('/', 1)[1]}/agent/{users[0]}"}, None),
    ):
        with pytest.raises(ClientError) as excinfo:
            connect.associate_traffic_distribution_group_user(**{**pair, **bad})
        assert error_of(excinfo)[0] == (code or "ResourceNotFoundException"), bad
    (default,) = [g for g in emu.groups() if g["IsDefault"] and g["InstanceArn"] == instance]
    connect.associate_traffic_distribution_group_user(**{**pair, "TrafficDistributionGroupId": default["Arn"]})
    assert emu.group(default["Arn"])["Users"] == [users[0]]  # the default group takes agents too


def test_traffic_distribution_group_users_need_an_active_group(emu: Emulator, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE)
    group = create(connect, instance)
    with pytest.raises(ClientError) as excinfo:  # admin guide: not ACTIVE -> ResourceNotFoundException
        connect.associate_traffic_distribution_group_user(
            TrafficDistributionGroupId=group["Arn"], UserId=str(uuid.uuid4()), InstanceId=instance
        )
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "CREATION_IN_PROGRESS" in message


def test_registered_agents() -> None:
    with Emulator(creation_delay=0) as other:
        home = client_of(other)
        instance = other.add_instance()
        group = create(home, instance)
        agent = other.add_user(instance)
        assert other.instance(instance)["Users"] == [agent]
        pair = {"TrafficDistributionGroupId": group["Arn"], "UserId": agent, "InstanceId": instance}
        with pytest.raises(ClientError) as excinfo:  # once agents are registered, only they are agents
            home.associate_traffic_distribution_group_user(**{**pair, "UserId": str(uuid.uuid4())})
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
        home.associate_traffic_distribution_group_user(**pair)
        home.disassociate_traffic_distribution_group_user(**pair)
        with pytest.raises(ValueError):
            other.add_user(instance, "NOT-A-UUID")
        with pytest.raises(KeyError):
            other.add_user(str(uuid.uuid4()))


# -- phone numbers --------------------------------------------------------------------------------


def test_claim_describe_release_a_number_of_a_group(
    emu: Emulator, client: ClientFactory, connect: Any, instance: str
) -> None:
    group = active_group(emu, connect, instance)
    claimed = connect.claim_phone_number(
        TargetArn=group["Arn"], PhoneNumber="+15550100001", PhoneNumberDescription="hotline", Tags={"team": "voice"}
    )
    number_id, number_arn = claimed["PhoneNumberId"], claimed["PhoneNumberArn"]
    assert number_arn == f"arn:aws:connect:{HOME}:{ACCOUNT}:phone-number/{number_id}"
    replica = client("connect", REPLICA)
    for call in (
        lambda: connect.describe_phone_number(PhoneNumberId=number_id),
        lambda: connect.describe_phone_number(PhoneNumberId=number_arn),
        lambda: replica.describe_phone_number(PhoneNumberId=number_arn),  # the other Region: ARN only
    ):
        assert call()["ClaimedPhoneNumberSummary"] == {
            "PhoneNumberId": number_id,
            "PhoneNumberArn": number_arn,
            "PhoneNumber": "+15550100001",
            "PhoneNumberCountryCode": "US",
            "PhoneNumberType": "DID",
            "PhoneNumberDescription": "hotline",
            "TargetArn": group["Arn"],
            "Tags": {"team": "voice"},
            "PhoneNumberStatus": {"Status": "CLAIMED"},
        }
    assert outcome(lambda: replica.describe_phone_number(PhoneNumberId=number_id)) == ("ResourceNotFoundException", 404)
    # the same data as emu.claim_phone_number: Delete of the group is refused
    assert emu.group(group["Arn"])["PhoneNumbers"] == {"+15550100001": number_arn}
    with pytest.raises(ClientError) as excinfo:
        connect.delete_traffic_distribution_group(TrafficDistributionGroupId=group["Arn"])
    assert error_of(excinfo)[:2] == ("ResourceInUseException", 409)
    (listed,) = emu.phone_numbers()
    assert (listed["Number"], listed["GroupArn"], listed["Region"], listed["ReleasedAt"]) == (
        "+15550100001",
        group["Arn"],
        HOME,
        None,
    )
    # "You can call this API only in the Region where the number was claimed."
    assert outcome(lambda: replica.release_phone_number(PhoneNumberId=number_arn)) == (
        "ResourceNotFoundException",
        404,
    )
    connect.release_phone_number(PhoneNumberId=number_arn)
    assert outcome(lambda: connect.describe_phone_number(PhoneNumberId=number_id)) == (
        "ResourceNotFoundException",
        404,
    )
    assert outcome(lambda: connect.release_phone_number(PhoneNumberId=number_id)) == (
        "ResourceNotFoundException",
        404,
    )
    assert emu.phone_numbers() == [] and emu.phone_numbers(include_released=True)[0]["ReleasedAt"] is not None
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=group["Arn"])
    # the released number is in its cooldown period
    other = active_group(emu, connect, instance, "other")
    with pytest.raises(ClientError) as excinfo:
        connect.claim_phone_number(TargetArn=other["Arn"], PhoneNumber="+15550100001")
    code, _, message = error_of(excinfo)
    assert code == "InvalidParameterException" and "cooldown" in message


def test_claim_phone_number_rules(emu: Emulator, client: ClientFactory, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE, name="young")
    young = create(connect, instance, "young")
    replica = client("connect", REPLICA)
    with pytest.raises(ClientError) as excinfo:  # admin guide: a group that isn't ACTIVE
        connect.claim_phone_number(TargetArn=young["Arn"], PhoneNumber="+15550100002")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    group = active_group(emu, connect, instance)
    with pytest.raises(ClientError) as excinfo:  # admin guide: not in the group's Region
        replica.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100002")
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)
    for kwargs in ({}, {"TargetArn": group["Arn"], "InstanceId": instance}):
        with pytest.raises(ClientError) as excinfo:
            connect.claim_phone_number(PhoneNumber="+15550100002", **kwargs)
        assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:  # the model's pattern (as meant): E.164 with "+"
        connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="15550100002")
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)

    first = connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100002", ClientToken="tok")
    again = connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100002", ClientToken="tok")
    assert first["PhoneNumberId"] == again["PhoneNumberId"]
    with pytest.raises(ClientError) as excinfo:
        connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100003", ClientToken="tok")
    assert error_of(excinfo)[:2] == ("IdempotencyException", 409)
    with pytest.raises(ClientError) as excinfo:  # claimed already
        connect.claim_phone_number(InstanceId=instance, PhoneNumber="+15550100002")
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)

    # to the instance: by id or ARN in its Region; the replica's ARN in the replica's Region
    toll_free = connect.claim_phone_number(InstanceId=instance.rsplit("/", 1)[1], PhoneNumber="+18005550100")
    summary = connect.describe_phone_number(PhoneNumberId=toll_free["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert (summary["TargetArn"], summary["InstanceId"], summary["PhoneNumberType"]) == (
        instance,
        instance.rsplit("/", 1)[1],
        "TOLL_FREE",
    )
    on_replica = replica.claim_phone_number(TargetArn=replica_arn_of(instance), PhoneNumber="+15550100004")
    assert on_replica["PhoneNumberArn"].startswith(f"arn:aws:connect:{REPLICA}:")
    with pytest.raises(ClientError) as excinfo:
        connect.claim_phone_number(TargetArn=replica_arn_of(instance), PhoneNumber="+15550100005")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)

    # the knob and the API share their numbers
    knob_arn = emu.claim_phone_number(group["Arn"], "+15550100006")
    with pytest.raises(ClientError):
        connect.claim_phone_number(InstanceId=instance, PhoneNumber="+15550100006")
    connect.release_phone_number(PhoneNumberId=knob_arn)
    assert "+15550100006" not in emu.group(group["Arn"])["PhoneNumbers"]
    assert emu.release_phone_numbers(group["Arn"]) == ["+15550100002"]
    assert outcome(lambda: connect.describe_phone_number(PhoneNumberId=first["PhoneNumberArn"]))[0] == (
        "ResourceNotFoundException"
    )


# -- the new operations and the existing knobs ------------------------------------------------------


def test_new_operations_use_throttle_outage_and_faults(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, _ = frozen
    source = emu.add_instance(replica_region=None)
    home, replica = client_of(emu), client_of(emu, region=REPLICA)
    emu.set_throttle(2.0, burst=2)
    assert [outcome(lambda: home.describe_instance(InstanceId=source)) for _ in range(3)] == [
        ("ok", 200),
        ("ok", 200),
        ("ThrottlingException", 429),
    ]
    emu.set_throttle(None)
    emu.inject_fault("ReplicateInstance", "5xx")
    assert outcome(lambda: home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)) == (
        "InternalServiceException",
        500,
    )
    assert emu.instance(source)["Replicas"] == []  # nothing happened
    arn = home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)["Arn"]
    emu.set_outage(REPLICA, "503")
    assert outcome(lambda: replica.describe_instance(InstanceId=arn)) == ("ServiceUnavailable", 503)
    assert outcome(lambda: home.describe_instance(InstanceId=source)) == ("ok", 200)
    emu.set_outage(REPLICA, None)
    emu.inject_fault("ListTrafficDistributionGroupUsers", "throttle")
    group = str(uuid.uuid4())
    assert outcome(lambda: home.list_traffic_distribution_group_users(TrafficDistributionGroupId=group)) == (
        "ThrottlingException",
        429,
    )
    emu.inject_fault("ClaimPhoneNumber", "drop")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        home.claim_phone_number(InstanceId=source, PhoneNumber="+15550100007")
    assert emu.phone_numbers() == []
    assert [c["fault"] for c in emu.calls() if c["fault"]] == ["throttle", "5xx", "outage", "throttle", "drop"]


def test_deleting_the_source_during_replication_leaves_nothing_behind(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.set_delays(replication=1.0)
    source = emu.add_instance(replica_region=None)
    home = client_of(emu)
    home.replicate_instance(InstanceId=source, ReplicaRegion=REPLICA)
    home.delete_instance(InstanceId=source)
    clock.advance(5.0)
    assert emu.groups(include_deleted=True) == []
    (deleted,) = emu.deleted_instances()
    assert (deleted["ReplicaRegion"], deleted["Groups"]) == (REPLICA, [])
    assert outcome(lambda: client_of(emu, region=REPLICA).describe_instance(InstanceId=replica_arn_of(source))) == (
        "ResourceNotFoundException",
        404,
    )
