"""Connect as it really behaves: eventual consistency, regions, outages, updates only while ACTIVE.

Each region has its own stubbed client, so a test states which region got every call; a region with no
stubbed response left fails the test if anything is sent there.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from botocore.stub import Stubber

import connect
import resources
from errors import ProviderError
from request import Done, Pending, Progress
from tests.unit.conftest import (
    GROUP_ARN,
    NEW_GROUP_ARN,
    FakeClock,
    TwoRegions,
    describe,
    describe_missing,
    get_traffic,
    outage,
)
from tests.unit.test_distribution import FAILOVER, FAILOVER_REQUEST, WEST, group_request
from tests.unit.test_lifecycle import ATTRIBUTES, created, request
from waiting import Budget

EAST, WEST_REGION = "us-east-1", "us-west-2"
DESCRIBE = "describe_traffic_distribution_group"
UPDATE = "update_traffic_distribution"


def updated(stub: Stubber, arn: str = GROUP_ARN) -> None:
    stub.add_response(UPDATE, {}, {**FAILOVER_REQUEST, "Id": arn})


def not_active(stub: Stubber) -> None:
    # The admin guide: the status of the group must be ACTIVE, or the call fails with InvalidRequestException.
    stub.add_client_error(UPDATE, "InvalidRequestException", "The status of the group must be ACTIVE", 400)


class TestEventualConsistency:
    def test_a_group_just_created_and_not_visible_yet_is_waited_for(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        created(east)
        describe_missing(east)
        describe_missing(east)
        describe(east, "ACTIVE")
        get_traffic(east)

        assert resources.handle(request("create"), regions, budget, Progress()) == Done(GROUP_ARN, ATTRIBUTES)

    def test_the_replica_region_learning_the_group_late_is_waited_for(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Traffic favours us-west-2, so the group is read there, where it shows up later than at home.
        created(regions.stubs[EAST])
        west = regions.stubs[WEST_REGION]
        describe(west, "ACTIVE")
        west.add_client_error("get_traffic_distribution", "ResourceNotFoundException", "not found", 404)
        describe(west, "ACTIVE")
        get_traffic(west)
        west.add_client_error(UPDATE, "ResourceNotFoundException", "not found", 404)
        describe(west, "ACTIVE")
        get_traffic(west)
        updated(west)
        describe(west, "ACTIVE")
        get_traffic(west, telephony=WEST)

        result = resources.handle(group_request("Create", **FAILOVER), regions, budget, Progress())

        assert isinstance(result, Done) and result.data["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"

    def test_every_failure_after_create_carries_the_group_arn(self, regions: TwoRegions, budget: Budget) -> None:
        created(regions.stubs[EAST])
        west = regions.stubs[WEST_REGION]
        describe(west, "ACTIVE")
        get_traffic(west)
        west.add_client_error(UPDATE, "AccessDeniedException", "not allowed", 403)
        progress = Progress()

        with pytest.raises(ProviderError) as failure:
            resources.handle(group_request("Create", **FAILOVER), regions, budget, progress)

        assert failure.value.physical_resource_id == GROUP_ARN  # so the rollback's Delete removes it
        assert progress.created == GROUP_ARN  # and so does an answer sent before handle returns

    def test_an_existing_group_that_is_not_found_is_gone(self, regions: TwoRegions, budget: Budget) -> None:
        describe_missing(regions.stubs[EAST])

        with pytest.raises(ProviderError, match="no longer exists"):
            resources.handle(group_request("Update"), regions, budget, Progress())


class TestFailoverDuringAnOutage:
    def test_moves_traffic_without_one_call_to_the_failed_home_region(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        west = regions.stubs[WEST_REGION]
        describe(west)
        get_traffic(west)
        updated(west)
        describe(west, "UPDATE_IN_PROGRESS")
        describe(west, "ACTIVE")
        get_traffic(west, telephony=WEST)

        result = resources.handle(group_request("Update", **FAILOVER), regions, budget, Progress())

        assert isinstance(result, Done) and result.physical_resource_id == GROUP_ARN
        assert result.data["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"
        assert set(regions.asked) == {WEST_REGION}

    def test_reads_turn_to_the_other_region_only_when_the_first_is_unavailable(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST_REGION]
        outage(west, DESCRIBE, connect.READ_ATTEMPTS)
        describe(east)  # the fallback, once
        get_traffic(west)  # us-west-2 answers again: reads go back to it
        updated(west)
        describe(west)
        get_traffic(west, telephony=WEST)

        result = resources.handle(group_request("Update", **FAILOVER), regions, budget, Progress())

        assert isinstance(result, Done)
        assert regions.asked.count(EAST) == 1

    def test_a_tag_change_with_the_home_region_down_fails_before_moving_traffic(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        west, east = regions.stubs[WEST_REGION], regions.stubs[EAST]
        describe(west)
        outage(east, "tag_resource", connect.READ_ATTEMPTS)

        with pytest.raises(ProviderError) as failure:
            resources.handle(
                group_request("Update", Tags=[{"Key": "team", "Value": "voice"}], **FAILOVER),
                regions,
                budget,
                Progress(),
            )

        assert "No traffic was moved. Split the change" in failure.value.reason
        assert "us-east-1" in failure.value.reason
        # No UpdateTrafficDistribution is stubbed: had one been sent, the stub would have failed the test.

    def test_the_rollback_of_that_tag_change_succeeds_without_the_home_region(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Rolling back to the old tags: us-west-2 shows the group still has them, so nothing goes home.
        west = regions.stubs[WEST_REGION]
        describe(west, tags={"team": "contact-center"})
        get_traffic(west, telephony=WEST)
        rollback = group_request("Update", **FAILOVER)
        rollback = replace(rollback, old_properties={**rollback.old_properties, "Tags": {"team": "voice"}})

        assert isinstance(resources.handle(rollback, regions, budget, Progress()), Done)
        assert set(regions.asked) == {WEST_REGION}

    def test_errors_after_the_update_was_accepted_never_fail_the_request(self, clock: FakeClock) -> None:
        both = TwoRegions(EAST, WEST_REGION)
        west = both.stubs[WEST_REGION]
        budget = Budget(deadline=clock() + 30, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        describe(west)
        get_traffic(west)
        updated(west)
        for _ in range(40):
            west.add_client_error(DESCRIBE, "InternalServiceException", "oops", 500)
            both.stubs[EAST].add_client_error(DESCRIBE, "InternalServiceException", "oops", 500)
        for stubber in both.stubs.values():
            stubber.activate()

        result = resources.handle(group_request("Update", **FAILOVER), both, budget, Progress())

        assert isinstance(result, Done)  # a FAILED answer would make the rollback move calls back
        assert result.data["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"
        assert "could not be read back" in result.note


class TestUpdateOnlyWhileActive:
    def test_waits_while_another_change_is_in_progress(
        self, regions: TwoRegions, budget: Budget, clock: FakeClock
    ) -> None:
        west = regions.stubs[WEST_REGION]
        describe(west, "UPDATE_IN_PROGRESS")  # another stack's change
        describe(west)
        get_traffic(west)
        not_active(west)  # it started again between our Describe and our update
        describe(west)
        get_traffic(west)
        updated(west)
        describe(west)
        get_traffic(west, telephony=WEST)

        result = resources.handle(group_request("Update", **FAILOVER), regions, budget, Progress())

        assert isinstance(result, Done)

    def test_resource_conflict_is_not_retried(self, regions: TwoRegions, budget: Budget) -> None:
        # No source says ResourceConflictException on UpdateTrafficDistribution passes: it fails.
        west = regions.stubs[WEST_REGION]
        describe(west)
        get_traffic(west)
        west.add_client_error(UPDATE, "ResourceConflictException", "conflict", 409)

        with pytest.raises(ProviderError, match="ResourceConflictException"):
            resources.handle(group_request("Update", **FAILOVER), regions, budget, Progress())

    def test_reads_back_until_connect_reports_what_was_sent(self, regions: TwoRegions, budget: Budget) -> None:
        west = regions.stubs[WEST_REGION]
        describe(west)
        get_traffic(west)
        updated(west)
        describe(west)
        get_traffic(west)  # ACTIVE, but not showing the new split yet
        describe(west)
        get_traffic(west, telephony=WEST)

        result = resources.handle(group_request("Update", **FAILOVER), regions, budget, Progress())

        assert isinstance(result, Done) and result.data["AgentDistribution"] == "us-east-1=0,us-west-2=100"

    def test_agent_only_update_sends_the_current_telephony_too(self, regions: TwoRegions, budget: Budget) -> None:
        agents_west = {"AgentConfig": FAILOVER["AgentConfig"]}
        west = regions.stubs[WEST_REGION]
        describe(west)
        get_traffic(west)
        west.add_response(
            UPDATE,
            {},
            {
                "Id": GROUP_ARN,
                "TelephonyConfig": {
                    "Distributions": [
                        {"Region": "us-east-1", "Percentage": 100},
                        {"Region": "us-west-2", "Percentage": 0},
                    ]
                },
                "AgentConfig": FAILOVER_REQUEST["AgentConfig"],
            },
        )
        describe(west)
        get_traffic(west, telephony={"us-east-1": 100, "us-west-2": 0}, agent=WEST)

        result = resources.handle(group_request("Update", **agents_west), regions, budget, Progress())

        assert isinstance(result, Done) and result.data["AgentDistribution"] == "us-east-1=0,us-west-2=100"


class TestRegionsOfCreateAndDelete:
    def test_a_failed_replacement_is_deleted_in_its_home_region(self, regions: TwoRegions, budget: Budget) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST_REGION]
        describe(west)
        east.add_response("create_traffic_distribution_group", {"Id": NEW_GROUP_ARN[-36:], "Arn": NEW_GROUP_ARN}, None)
        describe(west, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="renamed")
        describe(east, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="renamed")
        east.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": NEW_GROUP_ARN})
        describe_missing(east, NEW_GROUP_ARN)

        with pytest.raises(ProviderError) as failure:
            resources.handle(group_request("Update", Name="renamed", **FAILOVER), regions, budget, Progress())

        assert "was deleted; the stack keeps the old group" in failure.value.reason
        assert failure.value.physical_resource_id is None  # the answer keeps the old group's id

    def test_abandoning_a_replacement_deletes_it_in_its_home_region(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_response(
            "delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": NEW_GROUP_ARN}
        )

        note = resources.abandon(
            group_request("Update"), {"Phase": "replace", "GroupArn": NEW_GROUP_ARN}, regions, budget
        )

        assert "is being deleted" in note

    def test_abandoning_a_create_leaves_the_group_for_the_rollback(self, regions: TwoRegions, budget: Budget) -> None:
        assert (
            resources.abandon(group_request("Update"), {"Phase": "create", "GroupArn": GROUP_ARN}, regions, budget)
            == ""
        )
        assert regions.asked == []

    def test_a_delete_that_never_got_to_ask_asks_when_it_resumes(self, regions: TwoRegions, clock: FakeClock) -> None:
        east = regions.stubs[EAST]
        short = Budget(deadline=clock() + 1, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        describe(east, "CREATION_IN_PROGRESS")
        describe(east, "CREATION_IN_PROGRESS")

        pending = resources.handle(request("delete"), regions, short, Progress())

        assert pending == Pending({"Phase": "delete", "GroupArn": GROUP_ARN, "Requested": "false"})
        assert isinstance(pending, Pending)
        describe(east, "ACTIVE")
        east.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
        describe_missing(east)
        later = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)

        assert resources.resume(request("delete"), pending.state, regions, later, Progress()) == Done(GROUP_ARN)
