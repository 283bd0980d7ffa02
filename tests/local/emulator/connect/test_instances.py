"""Instances and replicas (local/emulator/connect/instances.py): ReplicateInstance, DescribeInstance, DeleteInstance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    ACCOUNT,
    HOME,
    OTHER,
    REPLICA,
    SETTLE,
    ClientFactory,
    FakeClock,
    client_of,
    create,
    error_of,
    outcome,
    replica_arn_of,
)

# -- instances and replicas ---------------------------------------------------------------------


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


# -- cross-region routing ---------------------------------------------------------------------------


def test_cross_region_routing_is_isolated_and_restored_from_either_region(emu: Emulator, client: ClientFactory) -> None:
    instance = emu.add_instance(home_region=HOME, replica_region=REPLICA, global_routing=True)
    instance_id = instance.rsplit("/", 1)[-1]
    east, west = client("connect", HOME), client("connect", REPLICA)

    assert east.get_cross_region_routing(InstanceId=instance)["IsolatedRegions"] == []
    east.update_cross_region_routing(InstanceId=instance, IsolatedAll=True)
    assert west.get_cross_region_routing(InstanceId=instance_id)["IsolatedRegions"] == [HOME, REPLICA]
    assert emu.instance(instance)["IsolatedAll"] is True
    west.update_cross_region_routing(InstanceId=replica_arn_of(instance), IsolatedAll=False)
    assert east.get_cross_region_routing(InstanceId=instance_id)["IsolatedRegions"] == []


def test_an_instance_not_enabled_for_global_routing_is_an_invalid_request(emu: Emulator, client: ClientFactory) -> None:
    east = client("connect", HOME)
    plain = emu.add_instance(home_region=HOME, replica_region=REPLICA)
    unreplicated = emu.add_instance(home_region=HOME, replica_region=None, global_routing=True)

    for instance in (plain, unreplicated):
        assert outcome(lambda i=instance: east.update_cross_region_routing(InstanceId=i, IsolatedAll=True)) == (
            "InvalidRequestException",
            400,
        )
        assert outcome(lambda i=instance: east.get_cross_region_routing(InstanceId=i)) == (
            "InvalidRequestException",
            400,
        )
    assert outcome(lambda: east.get_cross_region_routing(InstanceId="not-an-instance")) == (
        "ResourceNotFoundException",
        404,
    )
