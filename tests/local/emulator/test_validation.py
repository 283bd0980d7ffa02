"""Model validation of the emulated APIs (local/emulator/validation.py), through real boto3 clients."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    ClientFactory,
    active_group,
    create,
    error_of,
    split,
)

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
