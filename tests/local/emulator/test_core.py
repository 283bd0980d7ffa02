"""The emulator itself (local/emulator/core.py): its server, SigV4 and routing by credential scope, fault injection,
outages, the request-rate quota and concurrent callers."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    HOME,
    NO_RETRY,
    OTHER,
    REPLICA,
    ClientFactory,
    FakeClock,
    client_of,
    create,
    error_of,
    outcome,
)

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
