"""Custom::TrafficDistributionGroupUser: idempotent both ways, in the group's home region."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

import resources
from errors import ProviderError
from request import Done, Pending, Progress, Request
from tests.unit.conftest import GROUP_ARN, GROUP_ID, INSTANCE_ARN, FakeClock, TwoRegions, load_event, throttled
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


def timed(clock: FakeClock, seconds: float = 600) -> Budget:
    """A budget of ``seconds`` whose wall clock is the fake clock too, so a wait across polls can be told."""
    return Budget(clock() + seconds, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high, wall=clock)


ASSOCIATE, DISASSOCIATE = "associate_traffic_distribution_group_user", "disassociate_traffic_distribution_group_user"


class TestCreate:
    def test_associates_in_the_groups_home_region(self, regions: TwoRegions, budget: Budget) -> None:
        answer(regions.stubs[EAST], ASSOCIATE)

        assert resources.handle(user_request("Create"), regions, budget, Progress()) == Done(PHYSICAL_ID, ATTRIBUTES)
        assert regions.asked == [EAST]

    def test_an_association_that_exists_already_is_success(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceConflictException")
        listed(east, "someone-else", USER)

        assert resources.handle(user_request("Create"), regions, budget, Progress()) == Done(PHYSICAL_ID, ATTRIBUTES)

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

        assert resources.handle(user_request("Create"), regions, budget, Progress()) == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_group_connect_does_not_show_yet_is_waited_for(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceNotFoundException")
        group_unknown(east)
        answer(east, ASSOCIATE)

        assert resources.handle(user_request("Create"), regions, budget, Progress()) == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_refusal_that_lasts_until_the_service_timeout_is_nearly_spent_says_what_to_check(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        # Given a ServiceTimeout that leaves 1 s of waiting (120 s are kept to answer), and Connect refusing
        east = regions.stubs[EAST]
        for _ in range(2):
            answer(east, ASSOCIATE, "ResourceConflictException")
            listed(east)

        with pytest.raises(ProviderError, match="exists in instance"):
            resources.handle(user_request("Create", ServiceTimeout="121"), regions, timed(clock), Progress())
        assert clock.sleeps == [1.0]

    def test_throttled_to_the_end_hands_over_with_when_it_started(self, regions: TwoRegions, clock: FakeClock) -> None:
        short = timed(clock, 2.5)
        for _ in range(2):
            regions.stubs[EAST].add_client_error(ASSOCIATE, "ThrottlingException", "Rate exceeded", 429)

        assert resources.handle(user_request("Create"), regions, short, Progress()) == Pending(
            {"Phase": "associate", "Since": "1000.000"}
        )

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({"TrafficDistributionGroupId": GROUP_ID}, "is not a traffic distribution group ARN"),
            ({"UserId": "not a user"}, "is neither a Connect user id nor a user ARN"),
            ({"UserId": ""}, "Property UserId is required"),
            ({"Agent": USER}, "Unknown property Agent"),
        ],
    )
    def test_bad_properties_fail_before_any_call(
        self, regions: TwoRegions, budget: Budget, props: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ProviderError, match=message):
            resources.handle(user_request("Create", **props), regions, budget, Progress())
        assert regions.asked == []


class TestDelete:
    def test_disassociates(self, regions: TwoRegions, budget: Budget) -> None:
        answer(regions.stubs[EAST], DISASSOCIATE)

        assert resources.handle(user_request("Delete"), regions, budget, Progress()) == Done(PHYSICAL_ID)

    @pytest.mark.parametrize("error", ["ResourceNotFoundException", "ResourceConflictException"])
    def test_an_association_already_gone_is_success(self, regions: TwoRegions, budget: Budget, error: str) -> None:
        east = regions.stubs[EAST]
        answer(east, DISASSOCIATE, error)
        listed(east, "someone-else")

        assert resources.handle(user_request("Delete"), regions, budget, Progress()) == Done(PHYSICAL_ID)

    def test_a_refusal_while_still_associated_fails(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, DISASSOCIATE, "ResourceConflictException")
        listed(east, USER)

        with pytest.raises(ProviderError, match="remove the user from the group"):
            resources.handle(user_request("Delete"), regions, budget, Progress())

    def test_an_invented_id_needs_no_call(self, regions: TwoRegions, budget: Budget) -> None:
        request = user_request("Delete", physical_id="consumer_Agent_ABCDEFGH")

        assert resources.handle(request, regions, budget, Progress()) == Done("consumer_Agent_ABCDEFGH")
        assert regions.asked == []


def test_a_change_of_user_is_a_new_physical_id(regions: TwoRegions, budget: Budget) -> None:
    other = "0f3c9a5e-aaaa-4d2b-9d1e-000000000043"
    regions.stubs[EAST].add_response(ASSOCIATE, {}, {**PARAMS, "UserId": other})

    result = resources.handle(user_request("Update", UserId=other), regions, budget, Progress())

    assert isinstance(result, Done) and result.physical_resource_id == f"{GROUP_ARN}/user/{other}"


class TestAssociationRules:
    def test_a_group_connect_does_not_know_yet_is_no_refusal_however_long_it_takes(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given a new group that Connect does not show for more rounds than the refusals waited out
        east = regions.stubs[EAST]
        for _ in range(4):
            answer(east, ASSOCIATE, "ResourceNotFoundException")
            group_unknown(east)
        answer(east, ASSOCIATE)

        # When the association is made
        result = resources.handle(user_request("Create"), regions, budget, Progress())

        # Then it keeps waiting (only a group that lists its users can refuse) and succeeds
        assert result == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_lasting_refusal_names_both_causes_and_what_to_check_for_each(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        # Given a poll a minute after the first attempt, with the ServiceTimeout's waiting spent
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceNotFoundException")
        listed(east)
        request = user_request("Create", ServiceTimeout="121")

        with pytest.raises(ProviderError) as failure:
            resources.resume(request, {"Phase": "associate", "Since": "940"}, regions, timed(clock), Progress())

        assert failure.value.reason == (
            f"Connect refused to associate user {USER} with {GROUP_ARN} for 1 min "
            "(ResourceNotFoundException or ResourceConflictException), and the group does not list the user. Connect "
            "gives these for two causes. 1. The user is not in the replica yet: a user must exist in both regions of "
            "the instance, a new one replicates within minutes, and a failed sync is retried within 30 minutes; check "
            f"that the user exists in instance {INSTANCE_ARN} in both regions (the Connect console of each, "
            "or DescribeUser), and recreate or fix one that did not replicate. 2. The group is not ACTIVE: another "
            "update (for example another stack's UpdateTrafficDistribution) holds it in UPDATE_IN_PROGRESS; check its "
            "status with DescribeTrafficDistributionGroup. Then retry the stack operation; to wait longer, raise the "
            "resource's ServiceTimeout (at most 3600)."
        )
        assert failure.value.code == "AssociationRefused"
        assert failure.value.physical_resource_id is None  # nothing was made: the rollback has nothing to undo

    def test_a_group_still_unseen_when_the_time_runs_out_is_handed_over_with_when_the_wait_began(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        # Given a group Connect does not show yet, and less time left than the next pause
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceNotFoundException")
        group_unknown(east)

        # When the association is tried, then polling carries on, counting from the first attempt
        result = resources.handle(user_request("Create"), regions, timed(clock, 0.5), Progress())

        assert result == Pending({"Phase": "associate", "Since": "1000.000"})

    def test_a_user_who_replicates_after_20_s_is_associated_by_a_later_poll(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        # Given an agent created with the stack, not in the replica yet: Connect refuses until it has replicated
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceNotFoundException")
        listed(east)
        first = resources.handle(user_request("Create"), regions, timed(clock, 0.5), Progress())
        assert isinstance(first, Pending)

        # When a poll comes 20 s later and the user has replicated, then it is associated
        clock.now += 20
        answer(east, ASSOCIATE)
        assert resources.resume(user_request("Create"), first.state, regions, timed(clock), Progress()) == Done(
            PHYSICAL_ID, ATTRIBUTES
        )

    def test_the_wait_paces_itself_to_one_round_in_10_s_at_most(self, regions: TwoRegions, clock: FakeClock) -> None:
        east = regions.stubs[EAST]
        for _ in range(14):
            answer(east, ASSOCIATE, "ResourceNotFoundException")
            listed(east)
        answer(east, ASSOCIATE)

        assert resources.handle(user_request("Create"), regions, timed(clock), Progress()) == Done(
            PHYSICAL_ID, ATTRIBUTES
        )
        assert max(clock.sleeps) == 10.0


class TestDeleteRules:
    def test_a_refusal_while_still_associated_names_the_user_and_keeps_the_physical_id(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east = regions.stubs[EAST]
        answer(east, DISASSOCIATE, "ResourceConflictException")
        listed(east, USER)

        with pytest.raises(ProviderError) as failure:
            resources.handle(user_request("Delete"), regions, budget, Progress())

        assert failure.value.reason == (
            f"Connect refused to remove user {USER} from {GROUP_ARN} (ResourceConflictException). "
            "Retry the stack operation; if it persists, remove the user from the group in the Connect console."
        )
        assert failure.value.physical_resource_id == PHYSICAL_ID
        assert failure.value.code == "ResourceConflictException"

    def test_a_group_that_is_gone_takes_its_users_with_it(self, regions: TwoRegions, budget: Budget) -> None:
        # Given a group deleted before its user resource (the list of its users is unknown too)
        east = regions.stubs[EAST]
        answer(east, DISASSOCIATE, "ResourceNotFoundException")
        group_unknown(east)

        # When the user's Delete arrives, then it succeeds: there is nothing left to undo
        assert resources.handle(user_request("Delete"), regions, budget, Progress()) == Done(PHYSICAL_ID)
        assert regions.asked == [EAST]

    @pytest.mark.parametrize("instance", [None, 42, "not an instance"])
    def test_a_delete_whose_properties_name_no_instance_needs_no_call(
        self, regions: TwoRegions, budget: Budget, instance: Any
    ) -> None:
        event = load_event("delete", ResourceType="Custom::TrafficDistributionGroupUser")
        event["ResourceProperties"] = {"ServiceToken": "arn:x", "TrafficDistributionGroupId": GROUP_ARN, "UserId": USER}
        if instance is not None:
            event["ResourceProperties"]["InstanceId"] = instance
        event["PhysicalResourceId"] = PHYSICAL_ID

        assert resources.handle(Request.from_event(event, EAST), regions, budget, Progress()) == Done(PHYSICAL_ID)
        assert regions.asked == []

    def test_delete_goes_to_the_groups_home_region_with_the_physical_ids_user(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given an association with a group homed in us-west-2, and properties that name another user
        west_group = GROUP_ARN.replace(EAST, WEST)
        other = "0f3c9a5e-aaaa-4d2b-9d1e-000000000043"
        regions.stubs[WEST].add_response(
            DISASSOCIATE, {}, {"TrafficDistributionGroupId": west_group, "UserId": USER, "InstanceId": INSTANCE_ARN}
        )
        request = user_request("Delete", physical_id=f"{west_group}/user/{USER}", UserId=other)

        # When it is deleted, then the physical id decides: the group's region, that user
        assert resources.handle(request, regions, budget, Progress()) == Done(f"{west_group}/user/{USER}")
        assert regions.asked == [WEST]


def test_every_call_of_an_association_waits_out_throttling(regions: TwoRegions, budget: Budget) -> None:
    # Given Connect throttles each call once: the association, then the list of the group's users
    east = regions.stubs[EAST]
    throttled(east, ASSOCIATE)
    answer(east, ASSOCIATE, "ResourceConflictException")
    throttled(east, "list_traffic_distribution_group_users")
    listed(east, USER)

    # When the user is associated, then throttling only slows it down
    assert resources.handle(user_request("Create"), regions, budget, Progress()) == Done(PHYSICAL_ID, ATTRIBUTES)


def test_every_call_of_a_removal_waits_out_throttling(regions: TwoRegions, budget: Budget) -> None:
    east = regions.stubs[EAST]
    throttled(east, DISASSOCIATE)
    answer(east, DISASSOCIATE, "ResourceNotFoundException")
    throttled(east, "list_traffic_distribution_group_users")
    listed(east, "someone-else")

    assert resources.handle(user_request("Delete"), regions, budget, Progress()) == Done(PHYSICAL_ID)


class TestUserIdAsArn:
    """``UserId: !Ref Agent``: the native AWS::Connect::User gives its ARN, and the API takes the id or the ARN."""

    USER_ARN = f"{INSTANCE_ARN}/agent/{USER}"

    def test_a_user_given_by_arn_is_associated_under_the_same_physical_id_as_by_id(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        regions.stubs[EAST].add_response(ASSOCIATE, {}, PARAMS)  # the call names the user by id

        result = resources.handle(user_request("Create", UserId=self.USER_ARN), regions, budget, Progress())

        assert result == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_user_the_group_lists_by_arn_is_already_associated(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        answer(east, ASSOCIATE, "ResourceConflictException")
        listed(east, f"{INSTANCE_ARN}/agent/someone-else", self.USER_ARN)

        assert resources.handle(user_request("Create"), regions, budget, Progress()) == Done(PHYSICAL_ID, ATTRIBUTES)

    def test_a_change_from_the_id_to_the_arn_of_the_same_user_keeps_the_physical_id(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        answer(regions.stubs[EAST], ASSOCIATE)

        result = resources.handle(user_request("Update", UserId=self.USER_ARN), regions, budget, Progress())

        assert isinstance(result, Done) and result.physical_resource_id == PHYSICAL_ID

    def test_a_user_of_another_instance_fails_before_any_call(self, regions: TwoRegions, budget: Budget) -> None:
        other = INSTANCE_ARN.replace("11111111", "99999999")

        with pytest.raises(ProviderError, match="is a user of instance 99999999-2222-3333-4444-555555555555"):
            resources.handle(user_request("Create", UserId=f"{other}/agent/{USER}"), regions, budget, Progress())
        assert regions.asked == []
