"""Traffic distribution as code: validation before any call, in-place updates, and Custom::TrafficDistribution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import pytest
from botocore.stub import Stubber

import resources
from distribution import Distribution, parse_distribution
from errors import ProviderError
from request import Done, Progress, Request
from tests.unit.conftest import (
    GROUP_ARN,
    GROUP_ID,
    INSTANCE_ARN,
    NEW_GROUP_ARN,
    Regions,
    describe,
    get_traffic,
    load_event,
)
from waiting import Budget

FAILOVER = {
    "TelephonyConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": "0"}, {"Region": "us-west-2", "Percentage": "100"}]
    },
    "AgentConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": "0"}, {"Region": "us-west-2", "Percentage": "100"}]
    },
}
FAILOVER_REQUEST = {
    "Id": GROUP_ARN,
    "TelephonyConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": 0}, {"Region": "us-west-2", "Percentage": 100}]
    },
    "AgentConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": 0}, {"Region": "us-west-2", "Percentage": 100}]
    },
}
WEST = {"us-east-1": 0, "us-west-2": 100}
SIGN_IN_EAST_ONLY = {
    "Distributions": [{"Region": "us-east-1", "Enabled": True}, {"Region": "us-west-2", "Enabled": False}]
}


def config(*pairs: tuple[Any, Any], key: str = "Percentage") -> dict[str, Any]:
    return {"Distributions": [{"Region": region, key: value} for region, value in pairs]}


class TestValidation:
    def test_strings_are_parsed_as_whole_numbers(self) -> None:
        parsed = parse_distribution(
            {"TelephonyConfig": config(("us-east-1", "90"), ("us-west-2", "10"))}, home_region="us-east-1"
        )

        assert parsed == Distribution(telephony={"us-east-1": 90, "us-west-2": 10})
        assert parsed.attributes() == {"TelephonyDistribution": "us-east-1=90,us-west-2=10"}

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({"TelephonyConfig": config(("us-east-1", "95"), ("us-west-2", "5"))}, "TelephonyConfig: the percentage"),
            ({"AgentConfig": config(("us-east-1", "90.0"), ("us-west-2", "10"))}, "steps of 10"),
            ({"AgentConfig": config(("us-east-1", "-10"), ("us-west-2", "110"))}, "from 0 to 100"),
            ({"TelephonyConfig": config(("us-east-1", "60"), ("us-west-2", "60"))}, "add up to 120"),
            ({"TelephonyConfig": config(("us-east-1", "100"))}, "lists 1 region(s); list both regions"),
            ({"TelephonyConfig": config(("us-east-1", "50"), ("us-east-1", "50"))}, "us-east-1 appears twice"),
            ({"TelephonyConfig": config(("US-EAST-1", "50"), ("us-west-2", "50"))}, "is not an AWS region name"),
            ({"TelephonyConfig": config(("eu-west-1", "50"), ("us-west-2", "50"))}, "does not list us-east-1"),
            ({"TelephonyConfig": {"Distribution": []}}, "exactly one key, Distributions"),
            ({"TelephonyConfig": {"Distributions": [{"Region": "us-east-1"}]}}, "exactly Region and Percentage"),
            ({"TelephonyConfig": config(("us-east-1", True), ("us-west-2", "0"))}, "whole number"),
        ],
    )
    def test_rules_name_the_config(self, props: dict[str, Any], message: str) -> None:
        with pytest.raises(ProviderError) as failure:
            parse_distribution(props, home_region="us-east-1")

        assert message in failure.value.reason

    @pytest.mark.parametrize(
        ("pair", "home"),
        [(("ap-northeast-1", "ap-northeast-3"), "ap-northeast-1"), (("us-gov-west-1", "eusc-de-east-1"), None)],
    )
    def test_region_names_are_read_alike_in_every_partition(self, pair: tuple[str, str], home: str | None) -> None:
        parsed = parse_distribution({"TelephonyConfig": config((pair[0], "100"), (pair[1], "0"))}, home_region=home)

        assert parsed.telephony == {pair[0]: 100, pair[1]: 0}

    def test_a_wrong_percentage_is_named_with_its_region(self) -> None:
        with pytest.raises(ProviderError) as failure:
            parse_distribution(
                {"AgentConfig": config(("us-east-1", "95"), ("us-west-2", "5"))}, home_region="us-east-1"
            )

        assert failure.value.reason == (
            "AgentConfig: the percentage for us-east-1 is '95'; use a whole number from 0 to 100 in steps of 10."
        )

    def test_sign_in_booleans_arrive_as_strings(self) -> None:
        parsed = parse_distribution(
            {"SignInConfig": config(("us-east-1", "true"), ("us-west-2", "false"), key="Enabled")}, home_region=None
        )

        assert parsed.sign_in == {"us-east-1": True, "us-west-2": False}
        assert parsed.attributes() == {"SignInDistribution": "us-east-1=true,us-west-2=false"}

    def test_numbers_are_accepted_as_well_as_strings(self) -> None:
        # CloudFormation sends strings; an event written by hand (a direct invocation) may hold JSON numbers.
        parsed = parse_distribution({"AgentConfig": config(("us-east-1", 90), ("us-west-2", "10"))}, home_region=None)

        assert parsed.agent == {"us-east-1": 90, "us-west-2": 10}

    @pytest.mark.parametrize(("low", "high"), [("40", "40"), ("0", "0"), ("100", "100")])
    def test_percentages_must_add_up_to_exactly_100(self, low: str, high: str) -> None:
        total = int(low) + int(high)
        with pytest.raises(ProviderError, match=f"add up to {total}; they must add up to 100"):
            parse_distribution(
                {"AgentConfig": config(("us-east-1", low), ("us-west-2", high))}, home_region="us-east-1"
            )

    @pytest.mark.parametrize(
        ("east", "west", "expected"),
        [
            ("True", "FALSE", {"us-east-1": True, "us-west-2": False}),
            ("TRUE", "False", {"us-east-1": True, "us-west-2": False}),
            ("false", "tRuE", {"us-east-1": False, "us-west-2": True}),
            (True, False, {"us-east-1": True, "us-west-2": False}),
        ],
    )
    def test_sign_in_enabled_is_read_in_any_case(self, east: Any, west: Any, expected: dict[str, bool]) -> None:
        parsed = parse_distribution(
            {"SignInConfig": config(("us-east-1", east), ("us-west-2", west), key="Enabled")}, home_region=None
        )

        assert parsed.sign_in == expected

    def test_sign_in_rejects_other_words(self) -> None:
        with pytest.raises(ProviderError, match="use true or false"):
            parse_distribution(
                {"SignInConfig": config(("us-east-1", "yes"), ("us-west-2", "no"), key="Enabled")}, home_region=None
            )

    @pytest.mark.parametrize(
        ("props", "reason"),
        [
            (
                {"TelephonyConfig": config(("us-east-1", "100"))},
                "TelephonyConfig lists 1 region(s); list both regions of the replicated instance, as Connect "
                "requires, even one that gets 0.",
            ),
            (
                {"SignInConfig": config(("us-east-1", "yes"), ("us-west-2", "no"), key="Enabled")},
                "SignInConfig: Enabled for us-east-1 is 'yes'; use true or false.",
            ),
            (
                {"AgentConfig": config(("us-east-1", "100"), ("eu-west-2", "0"))},
                "AgentConfig lists us-east-1 and eu-west-2: an instance in us-east-1 can be replicated only to "
                "us-west-2, not eu-west-2",
            ),
        ],
    )
    def test_reasons_name_the_config_the_region_and_what_connect_requires(
        self, props: dict[str, Any], reason: str
    ) -> None:
        with pytest.raises(ProviderError) as failure:
            parse_distribution(props, home_region="us-east-1")

        assert failure.value.reason.startswith(reason)

    def test_sign_in_must_list_the_home_region(self) -> None:
        elsewhere = config(("eu-central-1", "true"), ("eu-west-2", "false"), key="Enabled")

        with pytest.raises(ProviderError, match="SignInConfig does not list us-east-1"):
            parse_distribution({"SignInConfig": elsewhere}, home_region="us-east-1")

    @pytest.mark.parametrize(
        ("telephony", "home", "expected"),
        [
            ({"us-east-1": 100, "us-west-2": 0}, "us-east-1", ["us-east-1", "us-west-2"]),
            (WEST, "us-east-1", ["us-west-2", "us-east-1"]),
            (None, "us-east-1", ["us-east-1"]),
        ],
    )
    def test_reads_start_where_the_calls_go_then_turn_to_every_other_region(
        self, telephony: dict[str, int] | None, home: str, expected: list[str]
    ) -> None:
        assert Distribution(telephony=telephony).read_regions(home) == expected

    @pytest.mark.parametrize(
        ("telephony", "expected"),
        [(None, "us-east-1"), ({"us-east-1": 50, "us-west-2": 50}, "us-east-1"), (WEST, "us-west-2")],
    )
    def test_update_is_called_in_the_region_that_takes_the_calls(
        self, telephony: dict[str, int] | None, expected: str
    ) -> None:
        assert Distribution(telephony=telephony).serving_region("us-east-1") == expected


def group_request(request_type: str, **changes: Any) -> Request:
    event = load_event(request_type.lower())
    event["ResourceProperties"] = {**event["ResourceProperties"], **changes}
    return Request.from_event(event, "us-east-1")


def distribution_request(request_type: str, old: dict[str, Any] | None = None, **props: Any) -> Request:
    event = load_event(request_type.lower(), ResourceType="Custom::TrafficDistribution")
    event["ResourceProperties"] = {"ServiceToken": "arn:x", "TrafficDistributionGroupId": GROUP_ARN, **props}
    if old is not None:
        event["OldResourceProperties"] = old
    return Request.from_event(event, "us-east-1")


class TestGroupWithDistribution:
    def test_create_applies_the_configs_once_active_and_waits_for_active_again(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        stub.add_response("create_traffic_distribution_group", {"Id": GROUP_ID, "Arn": GROUP_ARN}, None)
        describe(stub, "CREATION_IN_PROGRESS")
        describe(stub, "ACTIVE")
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, FAILOVER_REQUEST)
        describe(stub, "UPDATE_IN_PROGRESS")
        describe(stub, "ACTIVE")
        get_traffic(stub, telephony=WEST)

        result = resources.handle(group_request("Create", **FAILOVER), clients, budget, Progress())

        assert isinstance(result, Done)
        assert result.data["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"
        assert result.data["AgentDistribution"] == "us-east-1=0,us-west-2=100"
        assert set(clients.asked) == {"us-east-1", "us-west-2"}

    def test_update_of_distribution_only_is_in_place(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, FAILOVER_REQUEST)
        describe(stub, "UPDATE_IN_PROGRESS")
        describe(stub, "ACTIVE")
        get_traffic(stub, telephony=WEST)

        result = resources.handle(group_request("Update", **FAILOVER), clients, budget, Progress())

        assert result.physical_resource_id == GROUP_ARN

    def test_an_already_applied_distribution_is_not_sent_again(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        get_traffic(stub, telephony=WEST)  # read once: to compare, and for the attributes

        assert (
            resources.handle(group_request("Update", **FAILOVER), clients, budget, Progress()).physical_resource_id
            == GROUP_ARN
        )

    def test_replacement_applies_the_configs_to_the_new_group(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        stub.add_response("create_traffic_distribution_group", {"Id": NEW_GROUP_ARN[-36:], "Arn": NEW_GROUP_ARN}, None)
        describe(stub, "ACTIVE", arn=NEW_GROUP_ARN, name="renamed")
        get_traffic(stub, NEW_GROUP_ARN)
        stub.add_response("update_traffic_distribution", {}, {**FAILOVER_REQUEST, "Id": NEW_GROUP_ARN})
        describe(stub, "ACTIVE", arn=NEW_GROUP_ARN, name="renamed")
        get_traffic(stub, NEW_GROUP_ARN, telephony=WEST)

        result = resources.handle(group_request("Update", Name="renamed", **FAILOVER), clients, budget, Progress())

        assert result.physical_resource_id == NEW_GROUP_ARN

    def test_sign_in_config_fails_before_any_call_and_points_to_the_other_type(
        self, clients: Regions, budget: Budget
    ) -> None:
        sign_in = config(("us-east-1", "true"), ("us-west-2", "true"), key="Enabled")

        with pytest.raises(ProviderError) as failure:
            resources.handle(group_request("Create", SignInConfig=sign_in), clients, budget, Progress())

        assert "Custom::TrafficDistribution" in failure.value.reason
        assert clients.asked == []

    def test_connect_rejection_explains_the_rules(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        get_traffic(stub)
        stub.add_client_error("update_traffic_distribution", "InvalidRequestException", "Region not linked", 400)

        with pytest.raises(ProviderError) as failure:
            resources.handle(group_request("Update", **FAILOVER), clients, budget, Progress())

        assert failure.value.reason.startswith("Connect UpdateTrafficDistribution failed with InvalidRequestException")
        assert "exactly the two regions" in failure.value.reason


class TestTrafficDistribution:
    def test_create_on_the_default_group_with_sign_in(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        sign_in = config(("us-east-1", "true"), ("us-west-2", "false"), key="Enabled")
        describe(stub, is_default=True)
        get_traffic(stub)
        stub.add_response(
            "update_traffic_distribution",
            {},
            {
                "Id": GROUP_ARN,
                # Connect's admin guide: a telephony distribution must be provided, so the current one goes along.
                "TelephonyConfig": {
                    "Distributions": [
                        {"Region": "us-east-1", "Percentage": 100},
                        {"Region": "us-west-2", "Percentage": 0},
                    ]
                },
                "SignInConfig": {
                    "Distributions": [
                        {"Region": "us-east-1", "Enabled": True},
                        {"Region": "us-west-2", "Enabled": False},
                    ]
                },
            },
        )
        describe(stub, is_default=True)
        get_traffic(
            stub,
            SignInConfig=SIGN_IN_EAST_ONLY,
        )

        result = resources.handle(distribution_request("Create", SignInConfig=sign_in), clients, budget, Progress())

        assert isinstance(result, Done)
        assert result.physical_resource_id == GROUP_ARN
        assert result.data["SignInDistribution"] == "us-east-1=true,us-west-2=false"

    def test_delete_leaves_traffic_alone(self, clients: Regions, budget: Budget) -> None:
        event = load_event("delete", ResourceType="Custom::TrafficDistribution")

        assert resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress()) == Done(GROUP_ARN)
        assert clients.asked == []

    def test_failover_is_an_update(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, FAILOVER_REQUEST)
        describe(stub)
        get_traffic(stub, telephony=WEST)

        result = resources.handle(distribution_request("Update", **FAILOVER), clients, budget, Progress())

        assert result.physical_resource_id == GROUP_ARN
        assert set(clients.asked) == {"us-west-2"}  # called where the calls will go, which works if us-east-1 is down

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({}, "needs at least one of TelephonyConfig"),
            ({"TrafficDistributionGroupId": GROUP_ID, **FAILOVER}, "is not a traffic distribution group ARN"),
            ({"TrafficDistributionGroupId": INSTANCE_ARN, **FAILOVER}, "is not a traffic distribution group ARN"),
            ({"Name": "x", **FAILOVER}, "Unknown property Name"),
        ],
    )
    def test_bad_properties(self, clients: Regions, budget: Budget, props: dict[str, Any], message: str) -> None:
        with pytest.raises(ProviderError, match=message):
            resources.handle(distribution_request("Create", **props), clients, budget, Progress())
        assert clients.asked == []

    def test_unknown_type_fails_and_lists_the_valid_ones(self, clients: Regions, budget: Budget) -> None:
        event = load_event("create", ResourceType="Custom::TrafficDistributionGroups")

        with pytest.raises(ProviderError) as failure:
            resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress())

        assert "Custom::TrafficDistributionGroup, Custom::TrafficDistribution" in failure.value.reason


class TestAnUpdateMovesOnlyWhatItChanges:
    """A stack update moves traffic only when the template's distribution changed (issue: automated failover that
    no stack update silently undoes). Traffic moved outside the stack stays where it is, and is reported."""

    def test_a_tags_only_update_after_a_failover_leaves_the_calls_where_they_are_and_says_so(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # Given a group the template keeps 100 % in us-east-1 (old as strings, new as numbers: the same values),
        # which an automated failover moved to us-west-2 at 03:12
        east = {"TelephonyConfig": config(("us-east-1", "100"), ("us-west-2", "0"))}
        event = load_event("update")
        event["OldResourceProperties"] = {**event["OldResourceProperties"], **east}
        east_as_numbers = {"TelephonyConfig": config(("us-east-1", 100), ("us-west-2", 0))}
        event["ResourceProperties"] = {**event["ResourceProperties"], **east_as_numbers, "Tags": {"team": "cc"}}
        describe(stub)
        stub.add_response("tag_resource", {}, {"resourceArn": GROUP_ARN, "tags": {"team": "cc"}})
        moved_at = datetime(2026, 12, 6, 3, 12, tzinfo=UTC)
        get_traffic(stub, telephony=WEST, LastFailoverTime=moved_at)

        # When the stack update that changes only a tag runs
        result = resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress())

        # Then no UpdateTrafficDistribution was sent (the Stubber has none), and the answer shows the live traffic
        assert isinstance(result, Done)
        assert result.data["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"
        assert result.metric == "DistributionMovedOutsideStack"
        assert "2026-12-06T03:12:00+00:00" in result.note
        assert "TelephonyDistribution us-east-1=100,us-west-2=0" in result.note

    def test_an_unchanged_distribution_that_connect_still_has_is_answered_without_a_note(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        event = load_event("update")
        for key in ("OldResourceProperties", "ResourceProperties"):
            event[key] = {**event[key], **FAILOVER}
        describe(stub)
        get_traffic(stub, telephony=WEST)

        result = resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress())

        assert isinstance(result, Done) and (result.note, result.metric) == ("", "")

    def test_the_rollback_of_a_failover_moves_the_calls_back(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # The rollback of an update sends the old properties back, with the failed ones as OldResourceProperties
        event = load_event("update")
        event["OldResourceProperties"] = {**event["OldResourceProperties"], **FAILOVER}
        back = {"TelephonyConfig": config(("us-east-1", "100"), ("us-west-2", "0"))}
        event["ResourceProperties"] = {**event["ResourceProperties"], **back}
        describe(stub)
        get_traffic(stub, telephony=WEST)
        back_request = {
            "Id": GROUP_ARN,
            "TelephonyConfig": {
                "Distributions": [{"Region": "us-east-1", "Percentage": 100}, {"Region": "us-west-2", "Percentage": 0}]
            },
        }
        stub.add_response("update_traffic_distribution", {}, back_request)
        describe(stub)
        get_traffic(stub)

        result = resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress())

        assert result == Done(GROUP_ARN, ANY) and result.data["TelephonyDistribution"] == "us-east-1=100,us-west-2=0"

    def test_a_poll_of_an_update_that_changed_no_distribution_sends_none_either(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        event = load_event("update")
        for key in ("OldResourceProperties", "ResourceProperties"):
            event[key] = {**event[key], **FAILOVER}
        describe(stub, "UPDATE_IN_PROGRESS")  # another stack's update holds the group
        describe(stub)
        get_traffic(stub)

        state = {"Phase": "update", "GroupArn": GROUP_ARN}
        result = resources.resume(Request.from_event(event, "us-east-1"), state, clients, budget, Progress())

        assert isinstance(result, Done) and result.metric == "DistributionMovedOutsideStack"

    def test_old_properties_that_no_longer_parse_count_as_a_change(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        event = load_event("update")
        event["OldResourceProperties"] = {**event["OldResourceProperties"], "TelephonyConfig": "100 east"}
        event["ResourceProperties"] = {**event["ResourceProperties"], **FAILOVER}
        describe(stub)
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, FAILOVER_REQUEST)
        describe(stub)
        get_traffic(stub, telephony=WEST)

        assert (
            resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress()).data[
                "TelephonyDistribution"
            ]
            == "us-east-1=0,us-west-2=100"
        )

    def test_a_traffic_distribution_update_with_the_same_configs_sends_nothing(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        request = distribution_request("Update", old={"TrafficDistributionGroupId": GROUP_ARN, **FAILOVER}, **FAILOVER)
        describe(stub)
        get_traffic(stub)  # moved back to us-east-1 by someone else

        result = resources.handle(request, clients, budget, Progress())

        assert isinstance(result, Done) and result.metric == "DistributionMovedOutsideStack"
        assert result.data["TelephonyDistribution"] == "us-east-1=100,us-west-2=0"

    def test_a_traffic_distribution_pointed_at_another_group_applies_its_configs_there(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        old = {"TrafficDistributionGroupId": NEW_GROUP_ARN, **FAILOVER}
        describe(stub)
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, FAILOVER_REQUEST)
        describe(stub)
        get_traffic(stub, telephony=WEST)

        result = resources.handle(distribution_request("Update", old=old, **FAILOVER), clients, budget, Progress())

        assert isinstance(result, Done) and result.metric == ""
