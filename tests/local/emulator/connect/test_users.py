"""The agents of traffic distribution groups (local/emulator/connect/users.py)."""

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
    SETTLE,
    ClientFactory,
    active_group,
    client_of,
    create,
    error_of,
    outcome,
)

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
