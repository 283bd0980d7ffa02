"""Custom::TrafficDistributionGroupUser: idempotent both ways, in the group's home region."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

import lifecycle
from errors import ProviderError
from request import Done, Pending, Request
from tests.unit.conftest import GROUP_ARN, GROUP_ID, INSTANCE_ARN, FakeClock, TwoRegions, load_event
from waiting import Budget

EAST, WEST = "us-east-1", "us-west-2"
USER = "0f3c9a5e-aaaa-4d2b-9d1e-000000000042"
PHYSICAL_ID = f"{GROUP_ARN}/user/{USER}"
PARAMS = {"TrafficDistributionGroupId": GROUP_ARN, "UserId": USER, "InstanceId": INSTANCE_ARN}
ATTRIBUTES = {"TrafficDistributionGroupArn": GROUP_ARN, "UserId": USER}


def user_request(request_type: str, physical_id: str | None = None, **props: Any) -> Request:
    event = load_event(request_type.lower(), ResourceType="Custom::TrafficDistributionGroupUser")
    event["ResourceProperties"] = {"ServiceToken": "arn:x", **PARAMS, **props}
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id or PHYSICAL_ID
    return Request.from_event(event, EAST)


def answer(stub: Stubber, operation: str, error: str | None = None) -> None:
    if error is None:
        stub.add_response(operation, {}, PARAMS)
    else:
        status = {"ResourceConflictException": 409, "ResourceNotFoundException": 404}[error]
        stub.add_client_error(operation, error, "no", status, expected_params=PARAMS)


def listed(stub: Stubber, *users: str) -> None:
    stub.add_response(
        "list_traffic_distribution_group_users",
        {"TrafficDistributionGroupUserSummaryList": [{"UserId": user} for user in users]},
        {"TrafficDistributionGroupId": GROUP_ARN, "MaxResults": 100},
    )


def group_unknown(stub: Stubber) -> None:
    stub.add_client_error("list_traffic_distribution_group_users", "ResourceNotFoundException", "not found", 404)


ASSOCIATE, DISASSOCIATE = "associate_traffic_distribution_group_user", "disassociate_traffic_distribution_group_user"


class TestCreate:
    def test_associates_in_the_groups_home_region(self, regions: TwoRegions, budget: Budget) -> None:
        answer(regions.stubs[EAST], ASSOCIATE)

        assert lifecycle.handle(user_request("Create"), regions, budget) == Done(PHYSICAL_ID, ATTRIBUTES)
        assert regions.asked == [EAST]

    def test_an_association_that_exists_already_is_success(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceConflictException")
        listed(east, "someone-else", USER)

        assert lifecycle.handle(user_request("Create"), regions, budget) == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_an_association_listed_on_any_page_of_the_groups_users_is_success(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceConflictException")
        asked = {"TrafficDistributionGroupId": GROUP_ARN, "MaxResults": 100}
        pages = [
            ({"TrafficDistributionGroupUserSummaryList": [{"UserId": USER}], "NextToken": "page-2"}, asked),
            (
                {"TrafficDistributionGroupUserSummaryList": [{"UserId": "someone-else"}], "NextToken": "page-3"},
                {**asked, "NextToken": "page-2"},
            ),
            ({}, {**asked, "NextToken": "page-3"}),  # a last page may list nobody
        ]
        for page, params in pages:
            east.add_response("list_traffic_distribution_group_users", page, params)

        assert lifecycle.handle(user_request("Create"), regions, budget) == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_group_connect_does_not_show_yet_is_waited_for(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceNotFoundException")
        group_unknown(east)
        answer(east, ASSOCIATE)

        assert lifecycle.handle(user_request("Create"), regions, budget) == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_refusal_that_lasts_says_what_to_check(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        for _ in range(3):
            answer(east, ASSOCIATE, "ResourceConflictException")
            listed(east)

        with pytest.raises(ProviderError, match="exists in instance"):
            lifecycle.handle(user_request("Create"), regions, budget)

    def test_throttled_to_the_end_hands_over(self, regions: TwoRegions, clock: FakeClock) -> None:
        short = Budget(deadline=clock() + 2.5, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        for _ in range(2):
            regions.stubs[EAST].add_client_error(ASSOCIATE, "ThrottlingException", "Rate exceeded", 429)

        assert lifecycle.handle(user_request("Create"), regions, short) == Pending({"Phase": "start"})

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({"TrafficDistributionGroupId": GROUP_ID}, "is not a traffic distribution group ARN"),
            ({"UserId": "not a user"}, "is not a Connect user id"),
            ({"UserId": ""}, "Property UserId is required"),
            ({"Agent": USER}, "Unknown property Agent"),
        ],
    )
    def test_bad_properties_fail_before_any_call(
        self, regions: TwoRegions, budget: Budget, props: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ProviderError, match=message):
            lifecycle.handle(user_request("Create", **props), regions, budget)
        assert regions.asked == []


class TestDelete:
    def test_disassociates(self, regions: TwoRegions, budget: Budget) -> None:
        answer(regions.stubs[EAST], DISASSOCIATE)

        assert lifecycle.handle(user_request("Delete"), regions, budget) == Done(PHYSICAL_ID)

    @pytest.mark.parametrize("error", ["ResourceNotFoundException", "ResourceConflictException"])
    def test_an_association_already_gone_is_success(self, regions: TwoRegions, budget: Budget, error: str) -> None:
        east = regions.stubs[EAST]
        answer(east, DISASSOCIATE, error)
        listed(east, "someone-else")

        assert lifecycle.handle(user_request("Delete"), regions, budget) == Done(PHYSICAL_ID)

    def test_a_refusal_while_still_associated_fails(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, DISASSOCIATE, "ResourceConflictException")
        listed(east, USER)

        with pytest.raises(ProviderError, match="remove the user from the group"):
            lifecycle.handle(user_request("Delete"), regions, budget)

    def test_an_invented_id_needs_no_call(self, regions: TwoRegions, budget: Budget) -> None:
        request = user_request("Delete", physical_id="consumer_Agent_ABCDEFGH")

        assert lifecycle.handle(request, regions, budget) == Done("consumer_Agent_ABCDEFGH")
        assert regions.asked == []


def test_a_change_of_user_is_a_new_physical_id(regions: TwoRegions, budget: Budget) -> None:
    other = "0f3c9a5e-aaaa-4d2b-9d1e-000000000043"
    regions.stubs[EAST].add_response(ASSOCIATE, {}, {**PARAMS, "UserId": other})

    result = lifecycle.handle(user_request("Update", UserId=other), regions, budget)

    assert isinstance(result, Done) and result.physical_resource_id == f"{GROUP_ARN}/user/{other}"
