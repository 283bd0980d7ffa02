"""Property validation: every rule fails before any API call, with a Reason that names the property."""

from __future__ import annotations

from typing import Any

import pytest

from errors import ProviderError
from properties import GroupRef, InstanceRef, parse_group_properties, parse_tags
from tests.unit.conftest import GROUP_ARN, GROUP_ID, INSTANCE_ARN, INSTANCE_ID

VALID = {"Name": "primary-tdg", "InstanceId": INSTANCE_ARN, "ServiceToken": "arn:...", "ServiceTimeout": "1800"}


def parse(**changes: Any) -> Any:
    props = {**VALID, **changes}
    return parse_group_properties({k: v for k, v in props.items() if v is not None}, "us-east-1")


def test_minimal_properties() -> None:
    props = parse()

    assert props.name == "primary-tdg"
    assert props.instance == InstanceRef(given=INSTANCE_ARN, instance_id=INSTANCE_ID, region="us-east-1")
    assert props.description is None
    assert props.tags == {}


def test_instance_arn_region_wins_over_function_region() -> None:
    arn = INSTANCE_ARN.replace("us-east-1", "ap-southeast-2")

    assert parse(InstanceId=arn).instance.region == "ap-southeast-2"
    assert parse(InstanceId=INSTANCE_ID).instance.region == "us-east-1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"Name": None}, "Property Name is required."),
        ({"InstanceId": None}, "Property InstanceId is required."),
        ({"Name": "x" * 129}, "Property Name is 129 characters long; the limit is 128."),
        ({"Name": " padded"}, "Property Name ' padded' starts or ends with whitespace"),
        ({"Description": ""}, "Property Description is empty"),
        ({"Description": "d" * 251}, "the limit is 250"),
        ({"Description": "trailing "}, "starts or ends with whitespace"),
        ({"Name": ["a"]}, "Property Name must be a string, not a list."),
        (
            {"InstanceId": "arn:aws:connect:us-east-1:123:queue/1"},
            "neither a Connect instance id nor",
        ),
        ({"Descripton": "typo"}, "Unknown property Descripton."),
        ({"Foo": "1", "Bar": "2"}, "Unknown properties Bar, Foo."),
    ],
)
def test_bad_properties_name_the_rule(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderError) as failure:
        parse(**changes)

    assert message in failure.value.reason


def test_unknown_property_lists_the_valid_ones() -> None:
    valid = "Valid properties are AgentConfig, Description, InstanceId, Name, Tags, TelephonyConfig"
    with pytest.raises(ProviderError, match=valid):
        parse(Descripton="typo")


def test_tags_as_cloudformation_list_or_plain_map() -> None:
    as_list = parse_tags([{"Key": "team", "Value": "voice"}, {"Key": "cost", "Value": ""}])
    as_map = parse_tags({"team": "voice", "cost": ""})

    assert as_list == as_map == {"team": "voice", "cost": ""}


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([{"Key": "aws:owner", "Value": "x"}], "starts with 'aws:'"),
        ([{"Key": "", "Value": "x"}], "1 to 128 characters"),
        ([{"Key": "k" * 129, "Value": "x"}], "1 to 128 characters"),
        ([{"Key": "a#b", "Value": "x"}], "contains '#'"),
        ([{"Key": "team", "Value": "v" * 257}], "at most 256 characters"),
        ([{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}], "appears twice"),
        ([{"Key": "team"}], "Tags[0] must be a map with exactly Key and Value"),
        ("team=voice", "must be a list of {Key, Value} or a map"),
        ({f"k{i}": "v" for i in range(51)}, "Connect allows at most 50"),
    ],
)
def test_tag_rules(tags: Any, message: str) -> None:
    with pytest.raises(ProviderError, match=message.replace("[", r"\[").replace("{", r"\{").replace("(", r"\(")):
        parse_tags(tags)


def test_the_reserved_aws_prefix_is_refused_in_any_case_before_any_call() -> None:
    # AWS reserves the aws: prefix whatever its case.
    for key in ("aws:owner", "AWS:owner", "Aws:owner", "aWs:owner"):
        with pytest.raises(ProviderError, match="AWS reserves"):
            parse(Tags=[{"Key": key, "Value": "x"}])
    assert parse(Tags=[{"Key": "awsome:owner", "Value": "x"}]).tags == {"awsome:owner": "x"}


def test_unicode_letters_are_valid_in_tag_keys() -> None:
    assert parse_tags({"équipe café": "x", "チーム": "y"}) == {"équipe café": "x", "チーム": "y"}


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
