"""Property validation: every rule fails before any API call, with a Reason that names the property."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

import resources
from errors import ProviderError
from properties import (
    parse_distribution_properties,
    parse_group_properties,
    parse_group_user_properties,
    parse_replica_properties,
    parse_tags,
)
from refs import InstanceRef
from request import Progress, Request
from tests.unit.conftest import GROUP_ARN, GROUP_ID, INSTANCE_ARN, INSTANCE_ID, load_event
from waiting import Budget

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
        ({"Name": "first line\nsecond line"}, "Property Name 'first line\\nsecond line' does not match Connect's"),
        ({"Description": "Calls\nbetween regions"}, "A YAML block scalar (| or >) adds line breaks"),
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


EVERY_TYPE: dict[str, tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]] = {
    "group": (lambda props: parse_group_properties(props, "us-east-1"), {"Name": "tdg", "InstanceId": INSTANCE_ARN}),
    "replica": (
        lambda props: parse_replica_properties(props, "us-east-1"),
        {"InstanceId": INSTANCE_ARN, "ReplicaRegion": "us-west-2", "ReplicaAlias": "contact-center-west"},
    ),
    "user": (
        lambda props: parse_group_user_properties(props, "us-east-1"),
        {"TrafficDistributionGroupId": GROUP_ARN, "InstanceId": INSTANCE_ARN, "UserId": "agent-1"},
    ),
    "distribution": (
        parse_distribution_properties,
        {
            "TrafficDistributionGroupId": GROUP_ARN,
            "TelephonyConfig": {
                "Distributions": [{"Region": "us-east-1", "Percentage": 100}, {"Region": "us-west-2", "Percentage": 0}]
            },
        },
    ),
}


def parse_as(kind: str, **changes: Any) -> Any:
    parser, valid = EVERY_TYPE[kind]
    props = {**valid, **changes}
    return parser({key: value for key, value in props.items() if value is not None})


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("group", "Name"),
        ("group", "InstanceId"),
        ("replica", "InstanceId"),
        ("replica", "ReplicaRegion"),
        ("replica", "ReplicaAlias"),
        ("user", "TrafficDistributionGroupId"),
        ("user", "InstanceId"),
        ("user", "UserId"),
        ("distribution", "TrafficDistributionGroupId"),
    ],
)
@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
def test_every_required_property_of_every_type_is_named_when_missing_or_empty(
    kind: str, key: str, value: str | None
) -> None:
    with pytest.raises(ProviderError) as failure:
        parse_as(kind, **{key: value})

    assert failure.value.reason == f"Property {key} is required."


@pytest.mark.parametrize(
    ("kind", "key", "limit"),
    [
        ("group", "Name", 128),
        ("group", "InstanceId", 250),
        ("group", "Description", 250),
        ("replica", "InstanceId", 250),
        ("replica", "ReplicaRegion", 31),
        ("replica", "ReplicaAlias", 45),
        ("user", "TrafficDistributionGroupId", 250),
        ("user", "InstanceId", 250),
        ("user", "UserId", 256),
        ("distribution", "TrafficDistributionGroupId", 250),
    ],
)
def test_every_length_limit_is_connects_and_named_one_character_over_it(kind: str, key: str, limit: int) -> None:
    with pytest.raises(ProviderError) as failure:
        parse_as(kind, **{key: "a" * (limit + 1)})

    assert failure.value.reason == f"Property {key} is {limit + 1} characters long; the limit is {limit}."


@pytest.mark.parametrize(
    ("kind", "key", "limit"),
    [("group", "Name", 128), ("group", "InstanceId", 250), ("replica", "ReplicaAlias", 45), ("user", "UserId", 256)],
)
def test_a_value_exactly_at_the_limit_is_accepted(kind: str, key: str, limit: int) -> None:
    assert parse_as(kind, **{key: "a" * limit})


@pytest.mark.parametrize(("value", "kind"), [({"a": "b"}, "a map"), (5, "int"), (True, "bool"), (["a"], "a list")])
def test_a_property_that_is_not_a_string_says_what_it_is(value: Any, kind: str) -> None:
    with pytest.raises(ProviderError) as failure:
        parse(Name=value)

    assert failure.value.reason == f"Property Name must be a string, not {kind}."


@pytest.mark.parametrize(
    ("kind", "advice"),
    [("user", "Give the ARN, for example !Ref Tdg."), ("distribution", "Give the ARN: it works from any region.")],
)
def test_a_bare_group_id_is_refused_with_the_form_of_the_arn(kind: str, advice: str) -> None:
    with pytest.raises(ProviderError) as failure:
        parse_as(kind, TrafficDistributionGroupId=GROUP_ID)

    assert failure.value.reason == (
        f"TrafficDistributionGroupId {GROUP_ID!r} is not a traffic distribution group ARN "
        f"(arn:aws:connect:REGION:ACCOUNT:traffic-distribution-group/ID). {advice}"
    )


def test_a_distribution_without_any_config_says_which_configs_there_are() -> None:
    with pytest.raises(ProviderError) as failure:
        parse_as("distribution", TelephonyConfig=None)

    assert failure.value.reason == (
        "Custom::TrafficDistribution needs at least one of TelephonyConfig, AgentConfig and SignInConfig."
    )


def test_a_distribution_must_list_the_region_of_the_group_in_its_arn() -> None:
    elsewhere = {
        "Distributions": [{"Region": "eu-central-1", "Percentage": 100}, {"Region": "eu-west-2", "Percentage": 0}]
    }

    with pytest.raises(ProviderError, match="TelephonyConfig does not list us-east-1, the instance's home region"):
        parse_as("distribution", TelephonyConfig=elsewhere)


def test_a_bare_instance_id_of_a_group_user_is_in_the_functions_region() -> None:
    user = parse_as("user", InstanceId=INSTANCE_ID)

    assert user.instance == InstanceRef(given=INSTANCE_ID, instance_id=INSTANCE_ID, region="us-east-1")
    assert user.physical_id == f"{GROUP_ARN}/user/agent-1"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"ReplicaRegion": "US-WEST-2"}, "ReplicaRegion 'US-WEST-2' is not an AWS region name such as us-west-2."),
        (
            {"ReplicaRegion": "eu-west-2"},
            "ReplicaRegion eu-west-2: an instance in us-east-1 can be replicated only to us-west-2, not eu-west-2",
        ),
        (
            {"ReplicaAlias": "-west"},
            "ReplicaAlias '-west' must be 1 to 45 letters, digits and hyphens, start and end with a letter or digit, "
            "and not start with 'd-' (Connect's pattern for instance aliases).",
        ),
    ],
)
def test_replica_rules_name_the_property_and_the_rule(changes: dict[str, str], reason: str) -> None:
    with pytest.raises(ProviderError, match=re.escape(reason)):
        parse_as("replica", **changes)


def test_sign_in_config_on_a_group_points_to_the_type_that_takes_it() -> None:
    with pytest.raises(ProviderError) as failure:
        parse(SignInConfig={"Distributions": []})

    assert failure.value.reason == (
        "SignInConfig cannot be set on Custom::TrafficDistributionGroup: Connect accepts it only on an instance's "
        "default group, and a group this provider creates is never the default. Declare a "
        "Custom::TrafficDistribution with TrafficDistributionGroupId set to the default group's ARN."
    )


def test_a_groups_distribution_must_list_the_home_region_of_its_instance() -> None:
    elsewhere = {
        "Distributions": [{"Region": "eu-central-1", "Percentage": 100}, {"Region": "eu-west-2", "Percentage": 0}]
    }

    with pytest.raises(ProviderError, match="TelephonyConfig does not list us-east-1, the instance's home region"):
        parse(TelephonyConfig=elsewhere)


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        (
            [{"Key": "team"}],
            "Tags[0] must be a map with exactly Key and Value, as in '- {Key: team, Value: contact-center}'.",
        ),
        ("team=voice", "Property Tags must be a list of {Key, Value} or a map of key to value."),
    ],
)
def test_tags_of_the_wrong_shape_show_the_right_one(tags: Any, reason: str) -> None:
    with pytest.raises(ProviderError) as failure:
        parse_tags(tags)

    assert failure.value.reason == reason


def test_tags_at_connects_limits_are_accepted() -> None:
    fifty = {f"k{i}": "v" for i in range(50)}

    assert parse_tags(fifty) == fifty
    assert parse_tags({"k": "v" * 256, "K" * 128: ""}) == {"k": "v" * 256, "K" * 128: ""}
    assert parse_tags("") == parse_tags(None) == {}  # an empty parameter, as CloudFormation sends it


def test_an_instance_id_that_is_neither_id_nor_arn_shows_the_form_of_the_arn() -> None:
    with pytest.raises(ProviderError) as failure:
        parse(InstanceId="arn:aws:connect:us-east-1:123:queue/1")

    assert failure.value.reason == (
        "InstanceId 'arn:aws:connect:us-east-1:123:queue/1' is neither a Connect instance id nor an instance ARN "
        "(arn:aws:connect:REGION:ACCOUNT:instance/ID). Use the ARN of the replicated instance."
    )


@pytest.mark.parametrize(
    ("partition", "home", "other"),
    [("aws-us-gov", "us-gov-west-1", "us-gov-east-1"), ("aws-cn", "cn-north-1", "cn-northwest-1")],
)
def test_a_group_arn_of_another_partition_is_read_and_its_region_judged_by_the_pairs(
    partition: str, home: str, other: str
) -> None:
    arn = GROUP_ARN.replace("arn:aws:", f"arn:{partition}:").replace("us-east-1", home)
    telephony = {"Distributions": [{"Region": home, "Percentage": 100}, {"Region": other, "Percentage": 0}]}

    with pytest.raises(ProviderError, match=f"Connect does not replicate instances from {home} to any region"):
        parse_as("distribution", TrafficDistributionGroupId=arn, TelephonyConfig=telephony)


@pytest.mark.parametrize("resource_type", sorted(resources.TYPES))
def test_the_schema_the_docs_show_is_the_one_the_parser_checks(resource_type: str) -> None:
    # Given a type's schema, as the reference page's table shows it
    schema = resources.TYPES[resource_type].SCHEMA
    event = load_event("create", ResourceType=resource_type)
    event["ResourceProperties"] = {"Typo": "x"}

    # When a property it does not list is given, then the parser names exactly the schema's properties as valid
    with pytest.raises(ProviderError) as failure:
        resources.handle(Request.from_event(event, "us-east-1"), lambda region: None, Budget(0.0), Progress())
    valid = ", ".join(sorted(prop.name for prop in schema.properties))
    assert failure.value.reason == f"Unknown property Typo. Valid properties are {valid}; check the spelling."
    # And every property is a row of the table, with whether it is required
    for prop in schema.properties:
        assert f"| `{prop.name}` | {'yes' if prop.required else 'no'} |" in schema.table()
