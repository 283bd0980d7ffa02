"""Identities: every ARN and id form, one region pattern, every partition, and Connect's model as the source of
lengths and patterns."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.loaders import JSONFileLoader, create_loader

import connect
import refs
from errors import ProviderError
from refs import ConnectArn, FlowRef, GroupRef, InstanceRef, PhoneNumberRef, UserRef
from tests.unit.conftest import ACCOUNT, GROUP_ARN, GROUP_ID, INSTANCE_ARN, INSTANCE_ID

USER_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
USER_ARN = f"{INSTANCE_ARN}/agent/{USER_ID}"
PHONE_NUMBER_ID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
PHONE_NUMBER_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:phone-number/{PHONE_NUMBER_ID}"
FLOW_ID = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
FLOW_ARN = f"{INSTANCE_ARN}/contact-flow/{FLOW_ID}"


def botocore_partitions() -> list[dict[str, Any]]:
    """botocore's partitions.json, read here on its own, apart from how refs reads it."""
    partitions: list[dict[str, Any]] = create_loader().load_data("partitions")["partitions"]
    return partitions


def every_region() -> list[str]:
    # The "-global" entries name a partition's global endpoint, not a region.
    return sorted(r for p in botocore_partitions() for r in p["regions"] if not r.endswith("-global"))


def connect_regions() -> list[tuple[str, str]]:
    session = boto3.Session()
    return [
        (partition, region)
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("connect", partition)
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (GROUP_ARN, GroupRef(GROUP_ARN, GROUP_ID, "us-east-1")),
        (GROUP_ID, GroupRef(GROUP_ID, GROUP_ID, "eu-west-2")),
        ("consumer_Tdg_AB12CD34", None),
        ("", None),
        (INSTANCE_ARN, None),
    ],
)
def test_group_refs(value: str, expected: GroupRef | None) -> None:
    assert GroupRef.parse(value, "eu-west-2") == expected


def test_the_region_pattern_takes_every_region_botocore_knows() -> None:
    regions = every_region()

    assert {"us-east-1", "ap-northeast-3", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1"} <= set(regions)
    assert [region for region in regions if not refs.is_region(region)] == []


def test_the_region_pattern_takes_every_region_connect_has() -> None:
    assert ("aws-us-gov", "us-gov-west-1") in connect_regions()
    assert [region for _, region in connect_regions() if not refs.is_region(region)] == []


@pytest.mark.parametrize(
    "value", ["US-WEST-2", "us-east", "useast1", "us-east-1 ", "us_east_1", "aws-global", "us-east-\u0661"]
)
def test_what_is_not_a_region_name(value: str) -> None:
    assert not refs.is_region(value)


def test_the_partitions_are_botocores() -> None:
    assert refs.partitions() == {partition["id"] for partition in botocore_partitions()}
    assert {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"} <= refs.partitions()


@pytest.mark.parametrize(
    ("partition", "region"),
    [(p["id"], region) for p in botocore_partitions() for region in p["regions"] if not region.endswith("-global")],
)
def test_an_arn_of_any_partition_and_region_names_its_region(partition: str, region: str) -> None:
    group = f"arn:{partition}:connect:{region}:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}"
    instance = f"arn:{partition}:connect:{region}:{ACCOUNT}:instance/{INSTANCE_ID}"

    assert GroupRef.parse(group, "us-east-1") == GroupRef(group, GROUP_ID, region)
    assert InstanceRef.parse(instance, "us-east-1") == InstanceRef(instance, INSTANCE_ID, region)


@pytest.mark.parametrize(
    "value",
    [
        f"arn:awsx:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}",  # no such partition
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}",  # another service
        f"arn:aws:connect:US-EAST-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}",
        f"arn:aws:connect:us-east-1:1234:traffic-distribution-group/{GROUP_ID}",  # an account has 12 digits
        f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}/x",
        f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID.upper()}",
        f"urn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}",
        "arn:aws:connect:us-east-1",
    ],
)
def test_what_is_not_a_group(value: str) -> None:
    assert GroupRef.parse(value, "us-east-1") is None
    assert GroupRef.parse_arn(value) is None


def test_only_the_arn_of_a_group_says_where_it_lives() -> None:
    assert GroupRef.parse_arn(GROUP_ARN) == GroupRef(GROUP_ARN, GROUP_ID, "us-east-1")
    assert GroupRef.parse_arn(GROUP_ID) is None
    assert GroupRef.parse(GROUP_ARN, "")
    assert GroupRef.parse(GROUP_ARN, "").is_arn
    assert not GroupRef.parse(GROUP_ID, "us-east-1").is_arn


def test_connect_arn_parts() -> None:
    assert ConnectArn.parse(USER_ARN) == ConnectArn(
        "aws", "us-east-1", ACCOUNT, f"instance/{INSTANCE_ID}/agent/{USER_ID}"
    )
    assert ConnectArn.parse(USER_ID) is None


def test_a_user_is_the_same_user_by_id_or_by_arn() -> None:
    by_arn, by_id = UserRef.parse(USER_ARN), UserRef.parse(USER_ID)

    assert by_arn == UserRef(USER_ARN, USER_ID, INSTANCE_ID, "us-east-1")
    assert by_id == UserRef(USER_ID, USER_ID)
    assert by_arn.is_arn and not by_id.is_arn


def test_a_phone_number_by_id_or_by_arn() -> None:
    assert PhoneNumberRef.parse(PHONE_NUMBER_ARN) == PhoneNumberRef(
        PHONE_NUMBER_ARN, PHONE_NUMBER_ID, region="us-east-1"
    )
    assert PhoneNumberRef.parse(PHONE_NUMBER_ID) == PhoneNumberRef(PHONE_NUMBER_ID, PHONE_NUMBER_ID)
    assert PhoneNumberRef.parse(PHONE_NUMBER_ARN).is_arn


def test_a_contact_flow_by_id_or_by_arn() -> None:
    assert FlowRef.parse(FLOW_ARN) == FlowRef(FLOW_ARN, FLOW_ID, INSTANCE_ID, "us-east-1")
    assert FlowRef.parse(FLOW_ID) == FlowRef(FLOW_ID, FLOW_ID)
    assert not FlowRef.parse(FLOW_ID).is_arn


@pytest.mark.parametrize(
    ("parse", "other"),
    [
        (UserRef.parse, [GROUP_ARN, INSTANCE_ARN, FLOW_ARN, PHONE_NUMBER_ARN]),
        (PhoneNumberRef.parse, [GROUP_ARN, INSTANCE_ARN, FLOW_ARN, USER_ARN]),
        (FlowRef.parse, [GROUP_ARN, INSTANCE_ARN, USER_ARN, PHONE_NUMBER_ARN]),
    ],
)
def test_an_arn_of_another_resource_is_not_taken_for_an_id(parse: Any, other: list[str]) -> None:
    assert [parse(value) for value in [*other, "", "a b", f"{USER_ARN}/x"]] == [None] * (len(other) + 3)


def test_an_instance_that_is_neither_id_nor_arn_is_refused_with_the_form_of_the_arn() -> None:
    with pytest.raises(ProviderError, match=re.escape("(arn:aws:connect:REGION:ACCOUNT:instance/ID)")):
        InstanceRef.parse(GROUP_ARN, "us-east-1")


@pytest.mark.parametrize(("partition", "region"), connect_regions())
def test_connects_model_accepts_every_arn_refs_reads_where_connect_runs(partition: str, region: str) -> None:
    group = f"arn:{partition}:connect:{region}:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}"
    instance = f"arn:{partition}:connect:{region}:{ACCOUNT}:instance/{INSTANCE_ID}"

    assert GroupRef.parse_arn(group)
    assert refs.constraint("DescribeTrafficDistributionGroup", "TrafficDistributionGroupId").allows(group)
    assert refs.constraint("CreateTrafficDistributionGroup", "InstanceId").allows(instance)


def test_name_and_description_follow_connects_pattern() -> None:
    for parameter in ("Name", "Description"):
        rule = refs.constraint("CreateTrafficDistributionGroup", parameter)
        assert [rule.allows(v) for v in ("a", "a b", "tdg-1", " a", "a ", "", "a\nb")] == [True] * 3 + [False] * 4


def test_the_lengths_properties_enforce_are_connects() -> None:
    create, replicate = "CreateTrafficDistributionGroup", "ReplicateInstance"
    limits = [refs.max_length(create, p) for p in ("Name", "Description", "InstanceId")]
    limits += [refs.max_length(replicate, p) for p in ("InstanceId", "ReplicaRegion", "ReplicaAlias")]

    assert limits == [128, 250, 250, 250, 31, 45]


def test_a_parameter_without_a_maximum_length_says_so() -> None:
    with pytest.raises(KeyError, match="no maximum length for AssociateTrafficDistributionGroupUser UserId"):
        refs.max_length("AssociateTrafficDistributionGroupUser", "UserId")


def test_the_model_is_read_once() -> None:
    assert refs.connect_model() is refs.connect_model()
    assert refs.connect_model().service_name == "connect"


def test_the_model_comes_from_the_session_that_made_connects_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # app.py builds a Connect client at init: reading the model for the first parse must then cost no file read.
    connect.clients_by_region()("us-east-1")
    refs._session.cache_clear()
    refs.connect_model.cache_clear()
    reads: list[str] = []
    read = JSONFileLoader.load_file
    monkeypatch.setattr(JSONFileLoader, "load_file", lambda self, path: reads.append(path) or read(self, path))

    assert refs.constraint.__wrapped__("CreateTrafficDistributionGroup", "Name").max_length == 128
    assert reads == []
