"""Custom::TrafficDistribution, and the convergence it shares with Custom::TrafficDistributionGroup: an update
moves traffic only when the template's distribution changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import pytest
from botocore.stub import Stubber

import resources
from errors import ProviderError
from request import Done, Progress, Request
from tests.unit.conftest import (
    FAILOVER,
    FAILOVER_REQUEST,
    GROUP_ARN,
    GROUP_ID,
    INSTANCE_ARN,
    NEW_GROUP_ARN,
    SIGN_IN_EAST_ONLY,
    WEST,
    Regions,
    config,
    describe,
    distribution_request,
    get_traffic,
    load_event,
)
from waiting import Budget


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
