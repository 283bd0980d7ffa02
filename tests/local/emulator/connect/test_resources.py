"""The instance's own resources (local/emulator/connect/resources.py): Create and Delete of users, flows, queues,
routing profiles, hours of operation and security profiles, and a user's replica lag."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    ACCOUNT,
    HOME,
    REPLICA,
    ClientFactory,
    FakeClock,
    active_group,
    client_of,
    create,
    error_of,
    outcome,
)

HOURS_CONFIG = [{"Day": "MONDAY", "StartTime": {"Hours": 9, "Minutes": 0}, "EndTime": {"Hours": 17, "Minutes": 0}}]


def make_all(connect: Any, instance_id: str) -> dict[str, str]:
    """One of each kind; their ARNs by kind."""
    hours = connect.create_hours_of_operation(InstanceId=instance_id, Name="h", TimeZone="UTC", Config=HOURS_CONFIG)
    queue = connect.create_queue(InstanceId=instance_id, Name="q", HoursOfOperationId=hours["HoursOfOperationId"])
    profile = connect.create_routing_profile(
        InstanceId=instance_id,
        Name="rp",
        Description="d",
        DefaultOutboundQueueId=queue["QueueId"],
        MediaConcurrencies=[{"Channel": "VOICE", "Concurrency": 1}],
    )
    security = connect.create_security_profile(InstanceId=instance_id, SecurityProfileName="sp")
    flow = connect.create_contact_flow(InstanceId=instance_id, Name="f", Type="CONTACT_FLOW", Content="{}")
    user = connect.create_user(
        InstanceId=instance_id,
        Username="agent",
        Password="Passw0rd-ok",
        PhoneConfig={"PhoneType": "SOFT_PHONE"},
        SecurityProfileIds=[security["SecurityProfileId"]],
        RoutingProfileId=profile["RoutingProfileId"],
    )
    return {
        "HoursOfOperation": hours["HoursOfOperationArn"],
        "Queue": queue["QueueArn"],
        "RoutingProfile": profile["RoutingProfileArn"],
        "SecurityProfile": security["SecurityProfileArn"],
        "ContactFlow": flow["ContactFlowArn"],
        "User": user["UserArn"],
    }


def test_each_kind_is_created_with_its_arn_and_deleted(emu: Emulator, connect: Any, instance: str) -> None:
    instance_id = instance.rsplit("/", 1)[1]
    arns = make_all(connect, instance_id)

    segments = {
        "HoursOfOperation": "operating-hours",
        "Queue": "queue",
        "RoutingProfile": "routing-profile",
        "SecurityProfile": "security-profile",
        "ContactFlow": "contact-flow",
        "User": "agent",
    }
    for kind, arn in arns.items():
        prefix = f"arn:aws:connect:{HOME}:{ACCOUNT}:instance/{instance_id}/{segments[kind]}/"
        assert arn.startswith(prefix) and uuid.UUID(arn.removeprefix(prefix)), arn
    assert sorted(r["Kind"] for r in emu.instance_resources()) == sorted(arns)
    user_id = arns["User"].rsplit("/", 1)[1]
    assert emu.instance(instance)["Users"] == [user_id]
    assert emu.instance(instance)["Flows"] == [arns["ContactFlow"].rsplit("/", 1)[1]]  # a number may take it

    with pytest.raises(ClientError) as excinfo:  # names are unique per instance and kind
        connect.create_queue(InstanceId=instance_id, Name="q", HoursOfOperationId=arns["HoursOfOperation"][-36:])
    assert error_of(excinfo)[0] == "DuplicateResourceException"

    connect.delete_user(InstanceId=instance_id, UserId=user_id)
    connect.delete_contact_flow(InstanceId=instance_id, ContactFlowId=arns["ContactFlow"][-36:])
    connect.delete_security_profile(InstanceId=instance_id, SecurityProfileId=arns["SecurityProfile"][-36:])
    connect.delete_routing_profile(InstanceId=instance_id, RoutingProfileId=arns["RoutingProfile"][-36:])
    connect.delete_queue(InstanceId=instance_id, QueueId=arns["Queue"][-36:])
    connect.delete_hours_of_operation(InstanceId=instance_id, HoursOfOperationId=arns["HoursOfOperation"][-36:])
    assert emu.instance_resources() == [] and emu.instance(instance)["Users"] == []
    assert emu.instance(instance)["Flows"] == []
    assert outcome(lambda: connect.delete_user(InstanceId=instance_id, UserId=user_id)) == (
        "ResourceNotFoundException",
        404,
    )


def test_unknown_instance_and_a_kind_mismatch_are_not_found(emu: Emulator, connect: Any, instance: str) -> None:
    instance_id = instance.rsplit("/", 1)[1]
    assert outcome(lambda: connect.create_security_profile(InstanceId="nope", SecurityProfileName="sp")) == (
        "ResourceNotFoundException",
        404,
    )
    security = connect.create_security_profile(InstanceId=instance_id, SecurityProfileName="sp")
    assert outcome(  # a security profile's id is not a queue's
        lambda: connect.delete_queue(InstanceId=instance_id, QueueId=security["SecurityProfileId"])
    ) == ("ResourceNotFoundException", 404)


def test_a_new_user_is_associable_only_once_it_has_replicated(frozen: tuple[Emulator, FakeClock]) -> None:
    emu, clock = frozen
    emu.set_user_replica_lag(20)
    home = client_of(emu)
    instance = emu.add_instance()
    instance_id = instance.rsplit("/", 1)[1]
    group = create(home, instance)
    clock.advance(1)
    arns = make_all(home, instance_id)
    pair = {"TrafficDistributionGroupId": group["Arn"], "UserId": arns["User"], "InstanceId": instance}

    clock.advance(19)
    with pytest.raises(ClientError) as excinfo:
        home.associate_traffic_distribution_group_user(**pair)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ResourceNotFoundException", 404) and "has not replicated yet" in message
    clock.advance(1)
    home.associate_traffic_distribution_group_user(**pair)
    assert emu.group(group["Arn"])["Users"] == [arns["User"].rsplit("/", 1)[1]]

    added = emu.add_user(instance)  # the knob's agents replicate with the same lag
    with pytest.raises(ClientError):
        home.associate_traffic_distribution_group_user(**{**pair, "UserId": added})
    clock.advance(20)
    home.associate_traffic_distribution_group_user(**{**pair, "UserId": added})
    with pytest.raises(ValueError):
        emu.set_user_replica_lag(-1)


def test_associate_is_refused_while_the_group_is_not_active(
    emu: Emulator, client: ClientFactory, connect: Any, instance: str
) -> None:
    group = active_group(emu, connect, instance)
    emu.set_delays(update=2.0)
    split = {"Distributions": [{"Region": HOME, "Percentage": 50}, {"Region": REPLICA, "Percentage": 50}]}
    client("connect", REPLICA).update_traffic_distribution(Id=group["Arn"], TelephonyConfig=split)
    user = str(uuid.uuid4())
    pair = {"TrafficDistributionGroupId": group["Arn"], "UserId": user, "InstanceId": instance}
    with pytest.raises(ClientError) as excinfo:  # another stack's update holds it in UPDATE_IN_PROGRESS
        connect.associate_traffic_distribution_group_user(**pair)
    code, _, message = error_of(excinfo)
    assert code == "ResourceNotFoundException" and "UPDATE_IN_PROGRESS" in message
    emu.wait_for_status(group["Arn"], "ACTIVE", timeout=10)
    connect.associate_traffic_distribution_group_user(**pair)
