"""Traffic distribution groups (local/emulator/connect/groups.py): Create, lifecycle, traffic distribution, tags and
listing, through real boto3 clients."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    DELAY,
    HOME,
    OTHER,
    REPLICA,
    SETTLE,
    ClientFactory,
    FakeClock,
    active_group,
    client_of,
    create,
    error_of,
    outcome,
    split,
)

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
