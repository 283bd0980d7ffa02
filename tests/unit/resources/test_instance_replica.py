"""Custom::InstanceReplica with Connect played by Stubber, one client per region."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

import connect
import resources
from errors import ProviderError
from request import Done, Pending, Progress, Request
from tests.unit.conftest import INSTANCE_ARN, INSTANCE_ID, FakeClock, TwoRegions, load_event, throttled
from waiting import Budget

EAST, WEST = "us-east-1", "us-west-2"
REPLICA_ARN = INSTANCE_ARN.replace(EAST, WEST)
DEFAULT_GROUP = "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/dddddddd-bbbb-cccc-dddd-eeeeeeeeeeee"
PROPS = {"InstanceId": INSTANCE_ARN, "ReplicaRegion": WEST, "ReplicaAlias": "contact-center-west"}
ENDPOINT = "https://contact-center.my.connect.aws"
DELETE_TOKEN = load_event("delete")["RequestId"]


def replica_request(request_type: str, old: dict[str, Any] | None = None, **props: Any) -> Request:
    event = load_event(request_type.lower(), ResourceType="Custom::InstanceReplica")
    event["ResourceProperties"] = {"ServiceToken": "arn:x", **PROPS, **props}
    event["OldResourceProperties"] = {"ServiceToken": "arn:x", **PROPS, **(old or {})}
    if request_type != "Create":
        event["PhysicalResourceId"] = REPLICA_ARN
    return Request.from_event(event, EAST)


def replicated(stub: Stubber) -> None:
    stub.add_response(
        "replicate_instance",
        {"Id": INSTANCE_ID, "Arn": REPLICA_ARN},
        {**PROPS, "ClientToken": "1f0c9a5e-create-4d2b-9d1e-000000000001"},
    )


def replica(stub: Stubber, status: str, reason: str = "", alias: str = "contact-center-west") -> None:
    summary = {"Region": WEST, "ReplicationStatus": status}
    if reason:
        summary["ReplicationStatusReason"] = reason
    stub.add_response(
        "describe_instance",
        {
            "Instance": {"Id": INSTANCE_ID, "Arn": REPLICA_ARN, "InstanceStatus": "ACTIVE", "InstanceAlias": alias},
            "ReplicationConfiguration": {
                "ReplicationStatusSummaryList": [summary],
                "SourceRegion": EAST,
                "GlobalSignInEndpoint": ENDPOINT,
            },
        },
        {"InstanceId": REPLICA_ARN},
    )


def replica_gone(stub: Stubber) -> None:
    stub.add_client_error("describe_instance", "ResourceNotFoundException", "not found", 404)


def source(stub: Stubber, *statuses: str) -> None:
    """DescribeInstance of the source, in its region: its replication list has these statuses."""
    summaries = [{"Region": WEST, "ReplicationStatus": status} for status in statuses]
    stub.add_response(
        "describe_instance",
        {
            "Instance": {"Id": INSTANCE_ID, "Arn": INSTANCE_ARN, "InstanceStatus": "ACTIVE"},
            "ReplicationConfiguration": {"ReplicationStatusSummaryList": summaries, "SourceRegion": EAST},
        },
        {"InstanceId": INSTANCE_ARN},
    )


def groups_listed(stub: Stubber, *, with_default: bool = True) -> None:
    summaries = [{"Id": DEFAULT_GROUP[-36:], "Arn": DEFAULT_GROUP, "Name": "default", "IsDefault": True}]
    stub.add_response(
        "list_traffic_distribution_groups",
        {"TrafficDistributionGroupSummaryList": summaries if with_default else []},
        {"InstanceId": INSTANCE_ARN, "MaxResults": 10},
    )


ATTRIBUTES = {
    "Id": INSTANCE_ID,
    "Arn": REPLICA_ARN,
    "SourceInstanceArn": INSTANCE_ARN,
    "ReplicaRegion": WEST,
    "GlobalSignInEndpoint": ENDPOINT,
    "DefaultTrafficDistributionGroupArn": DEFAULT_GROUP,
}


class TestCreate:
    def test_replicates_and_answers_once_complete_with_the_default_group(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        replicated(east)
        replica_gone(west)  # not visible in us-west-2 yet: the source region tells the status
        source(east, "RESOURCE_REPLICATION_NOT_STARTED")
        replica(west, "INSTANCE_REPLICATION_IN_PROGRESS")
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east, with_default=False)  # ReplicateInstance's group not listed yet
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east)

        result = resources.handle(replica_request("Create"), regions, budget, Progress())

        assert result == Done(REPLICA_ARN, ATTRIBUTES)

    def test_hands_over_to_polling_which_finishes_it(self, regions: TwoRegions, clock: FakeClock) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        short = Budget(deadline=clock() + 2, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        replicated(east)
        replica(west, "INSTANCE_REPLICATION_IN_PROGRESS")
        replica(west, "INSTANCE_REPLICATION_IN_PROGRESS")
        progress = Progress()

        pending = resources.handle(replica_request("Create"), regions, short, progress)

        assert pending == Pending({"Phase": "replicate", "ReplicaArn": REPLICA_ARN})
        assert progress.created == REPLICA_ARN  # even a timer's answer carries it
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east)
        later = Budget(deadline=clock() + 45, clock=clock, sleep=clock.sleep)
        assert isinstance(pending, Pending)

        assert resources.resume(replica_request("Create"), pending.state, regions, later, Progress()) == Done(
            REPLICA_ARN, ATTRIBUTES
        )

    def test_polls_replication_gently(self, regions: TwoRegions, budget: Budget, clock: FakeClock) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        replicated(east)
        for _ in range(14):
            replica(west, "INSTANCE_REPLICATION_IN_PROGRESS")
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east)

        resources.handle(replica_request("Create"), regions, budget, Progress())

        assert max(clock.sleeps) == 10.0  # replication takes minutes: no need to spend the shared quota

    def test_failed_replication_quotes_connect_and_keeps_the_arn_for_the_rollback(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        replicated(regions.stubs[EAST])
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_FAILED", "Directory not supported")

        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Create"), regions, budget, Progress())

        assert "Directory not supported" in failure.value.reason
        assert failure.value.physical_resource_id == REPLICA_ARN

    def test_an_instance_not_ready_to_be_replicated_is_asked_again(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        east.add_client_error("replicate_instance", "ResourceNotReadyException", "not ready", 409)
        replicated(east)
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east)

        assert resources.handle(replica_request("Create"), regions, budget, Progress()) == Done(REPLICA_ARN, ATTRIBUTES)

    def test_a_replica_described_without_a_global_sign_in_endpoint_answers_an_empty_one(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        replicated(regions.stubs[EAST])
        summary = {"Region": WEST, "ReplicationStatus": "INSTANCE_REPLICATION_COMPLETE"}
        regions.stubs[WEST].add_response(
            "describe_instance",
            {
                "Instance": {"Id": INSTANCE_ID, "Arn": REPLICA_ARN, "InstanceAlias": "contact-center-west"},
                "ReplicationConfiguration": {"ReplicationStatusSummaryList": [summary], "SourceRegion": EAST},
            },
            {"InstanceId": REPLICA_ARN},
        )
        groups_listed(regions.stubs[EAST])

        result = resources.handle(replica_request("Create"), regions, budget, Progress())

        assert result == Done(REPLICA_ARN, {**ATTRIBUTES, "GlobalSignInEndpoint": ""})

    def test_the_default_group_is_looked_for_on_every_page_of_the_list(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east = regions.stubs[EAST]
        other = {"Id": "e" * 36, "Arn": DEFAULT_GROUP.replace(DEFAULT_GROUP[-36:], "e" * 36), "IsDefault": False}
        asked = {"InstanceId": INSTANCE_ARN, "MaxResults": 10}
        east.add_response("list_traffic_distribution_groups", {"NextToken": "page-2"}, asked)
        east.add_response(
            "list_traffic_distribution_groups",
            {"TrafficDistributionGroupSummaryList": [other], "NextToken": "page-3"},
            {**asked, "NextToken": "page-2"},
        )
        default = {"Id": DEFAULT_GROUP[-36:], "Arn": DEFAULT_GROUP, "IsDefault": True}
        east.add_response(
            "list_traffic_distribution_groups",
            {"TrafficDistributionGroupSummaryList": [default]},
            {**asked, "NextToken": "page-3"},
        )
        east.add_response("list_traffic_distribution_groups", {"NextToken": "page-2"}, asked)
        east.add_response("list_traffic_distribution_groups", {}, {**asked, "NextToken": "page-2"})

        assert connect.default_group_arn(regions(EAST), INSTANCE_ARN, budget) == DEFAULT_GROUP
        assert connect.default_group_arn(regions(EAST), INSTANCE_ARN, budget) is None

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({"ReplicaRegion": "eu-west-2"}, "can be replicated only to us-west-2, not eu-west-2"),
            ({"InstanceId": INSTANCE_ARN.replace(EAST, "ap-northeast-3")}, "does not replicate instances from"),
            ({"ReplicaAlias": "d-contact"}, "not start with 'd-'"),
            ({"ReplicaAlias": "x" * 46}, "the limit is 45"),
            ({"Region": WEST}, "Unknown property Region"),
        ],
    )
    def test_bad_properties_fail_before_any_call(
        self, regions: TwoRegions, budget: Budget, props: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ProviderError, match=message):
            resources.handle(replica_request("Create", **props), regions, budget, Progress())
        assert regions.asked == []


class TestUpdate:
    @pytest.mark.parametrize(
        "change",
        [
            {"InstanceId": INSTANCE_ARN.replace(INSTANCE_ID, "other-instance")},
            {"ReplicaRegion": "eu-west-2", "InstanceId": INSTANCE_ARN.replace(EAST, "eu-central-1")},
        ],
    )
    def test_a_move_is_refused_before_any_call(
        self, regions: TwoRegions, budget: Budget, change: dict[str, str]
    ) -> None:
        with pytest.raises(ProviderError, match="30 days") as failure:
            resources.handle(replica_request("Update", **change), regions, budget, Progress())

        assert "remove the resource in one deployment" in failure.value.reason
        assert regions.asked == []

    def test_a_new_alias_is_refused_before_any_change(self, regions: TwoRegions, budget: Budget) -> None:
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE", alias="contact-center-west")

        with pytest.raises(ProviderError, match="30 days"):
            resources.handle(replica_request("Update", ReplicaAlias="renamed"), regions, budget, Progress())

    def test_the_rollback_of_a_refused_alias_succeeds(self, regions: TwoRegions, budget: Budget) -> None:
        # CloudFormation sends the refused properties as the old ones: the replica itself decides.
        west = regions.stubs[WEST]
        replica(west, "INSTANCE_REPLICATION_COMPLETE", alias="contact-center-west")
        replica(west, "INSTANCE_REPLICATION_COMPLETE", alias="contact-center-west")
        groups_listed(regions.stubs[EAST])

        result = resources.handle(
            replica_request("Update", old={"ReplicaAlias": "renamed"}), regions, budget, Progress()
        )

        assert result == Done(REPLICA_ARN, ATTRIBUTES)

    def test_the_rollback_of_a_refused_move_succeeds(self, regions: TwoRegions, budget: Budget) -> None:
        moved = {"InstanceId": INSTANCE_ARN.replace(INSTANCE_ID, "other-instance")}
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(regions.stubs[EAST])

        assert resources.handle(replica_request("Update", old=moved), regions, budget, Progress()) == Done(
            REPLICA_ARN, ATTRIBUTES
        )

    def test_the_same_instance_by_id_is_no_change(self, regions: TwoRegions, budget: Budget) -> None:
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(regions.stubs[EAST])

        result = resources.handle(replica_request("Update", InstanceId=INSTANCE_ID), regions, budget, Progress())

        assert result == Done(REPLICA_ARN, ATTRIBUTES)


class TestDelete:
    def test_deletes_only_in_the_replica_region_and_waits_until_gone(self, regions: TwoRegions, budget: Budget) -> None:
        west = regions.stubs[WEST]
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        replica(west, "INSTANCE_REPLICA_DELETING")
        replica_gone(west)

        assert resources.handle(replica_request("Delete"), regions, budget, Progress()) == Done(REPLICA_ARN)
        assert set(regions.asked) == {WEST}  # the source region, where the same id is production, got nothing

    def test_a_replica_region_that_reports_no_status_is_read_from_the_source(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        bare = {"Instance": {"Id": INSTANCE_ID, "Arn": REPLICA_ARN, "InstanceStatus": "ACTIVE"}}
        west.add_response("describe_instance", bare, {"InstanceId": REPLICA_ARN})
        source(east, "INSTANCE_REPLICA_DELETING")
        west.add_response("describe_instance", bare, {"InstanceId": REPLICA_ARN})
        source(east)  # the source no longer lists the replica

        assert resources.handle(replica_request("Delete"), regions, budget, Progress()) == Done(REPLICA_ARN)

    @pytest.mark.parametrize(
        ("physical_id", "props"),
        [
            (INSTANCE_ARN, {}),  # the source instance's own ARN
            (INSTANCE_ARN.replace(EAST, "eu-west-2"), {}),  # not the replica in ReplicaRegion
            (REPLICA_ARN, {"ReplicaRegion": "nowhere"}),  # properties that do not say which is the source
        ],
    )
    def test_never_sends_delete_instance_for_anything_but_the_replica(
        self, regions: TwoRegions, budget: Budget, physical_id: str, props: dict[str, str]
    ) -> None:
        event = replica_request("Delete", **props)
        request = Request(**{**event.__dict__, "physical_resource_id": physical_id})

        with pytest.raises(ProviderError, match="Nothing was deleted"):
            resources.handle(request, regions, budget, Progress())
        assert regions.asked == []

    def test_the_guard_holds_in_the_one_function_that_sends_delete_instance(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        for client, arn in [(regions(EAST), REPLICA_ARN), (regions(EAST), INSTANCE_ARN), (regions(WEST), INSTANCE_ID)]:
            with pytest.raises(ProviderError, match="Refused to send DeleteInstance"):
                connect.delete_replica(client, arn, source_region=EAST, client_token="t", budget=budget)

    def test_the_guard_reports_a_bug_and_says_that_nothing_was_deleted(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        with pytest.raises(ProviderError) as failure:
            connect.delete_replica(regions(EAST), REPLICA_ARN, source_region=EAST, client_token="t", budget=budget)

        assert failure.value.reason == (
            f"Refused to send DeleteInstance for {REPLICA_ARN!r} to {EAST}: a replica is deleted only with its ARN, "
            f"in its own region, never in the source region {EAST}. Nothing was deleted. Report this with the "
            "function's logs."
        )
        assert failure.value.code == "Bug"

    def test_a_replica_already_gone_when_delete_instance_is_sent_is_deleted(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        west = regions.stubs[WEST]
        west.add_client_error(
            "delete_instance",
            "ResourceNotFoundException",
            "not found",
            404,
            expected_params={"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN},
        )
        replica_gone(west)

        assert resources.handle(replica_request("Delete"), regions, budget, Progress()) == Done(REPLICA_ARN)

    def test_an_id_that_is_not_a_replica_succeeds_without_calls(self, regions: TwoRegions, budget: Budget) -> None:
        event = replica_request("Delete")
        request = Request(**{**event.__dict__, "physical_resource_id": "consumer_Replica_ABCDEFGH"})

        assert resources.handle(request, regions, budget, Progress()) == Done("consumer_Replica_ABCDEFGH")
        assert regions.asked == []

    def test_a_retried_delete_finds_the_first_one_under_way(self, regions: TwoRegions, budget: Budget) -> None:
        west = regions.stubs[WEST]
        west.add_client_error("delete_instance", "InvalidRequestException", "The replica is being deleted", 400)
        replica(west, "INSTANCE_REPLICA_DELETING")
        replica(west, "INSTANCE_REPLICA_DELETING")
        replica_gone(west)

        assert resources.handle(replica_request("Delete"), regions, budget, Progress()) == Done(REPLICA_ARN)


class TestReplicationOutcomes:
    def test_a_replication_that_fails_without_a_reason_says_so_and_is_counted_as_failed(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given a replication that Connect ends FAILED without a ReplicationStatusReason
        replicated(regions.stubs[EAST])
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_FAILED")

        # When the Create waits for it
        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Create"), regions, budget, Progress())

        # Then the Reason names the region and what the rollback does, and the metric says ReplicationFailed
        assert failure.value.reason == (
            "Connect could not replicate the instance to us-west-2: no reason given. "
            "The rollback deletes the failed replica; fix the cause, then deploy again."
        )
        assert failure.value.code == "ReplicationFailed"

    @pytest.mark.parametrize("status", ["INSTANCE_REPLICA_DELETING", "INSTANCE_REPLICATION_DELETION_FAILED"])
    def test_a_replica_deleted_outside_cloudformation_fails_the_wait_with_its_arn(
        self, regions: TwoRegions, budget: Budget, status: str
    ) -> None:
        # Given a replica that someone deletes in the console while the stack waits for it
        replica(regions.stubs[WEST], status)

        # When an Update waits for the replication
        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Update"), regions, budget, Progress())

        # Then it fails at once, naming the replica and its status, instead of waiting for ever
        assert failure.value.reason == f"The replica {REPLICA_ARN} is being deleted ({status}) outside CloudFormation."
        assert failure.value.physical_resource_id == REPLICA_ARN
        assert failure.value.code == "ReplicaGone"

    def test_a_replication_that_fails_while_an_update_waits_answers_with_the_replicas_arn(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given a replica whose replication Connect reports failed when an Update looks at it
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_FAILED", "Directory not supported")

        # When the Update waits for the replication
        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Update"), regions, budget, Progress())

        # Then the failure names the replica itself, as every answer after ReplicateInstance does
        assert failure.value.physical_resource_id == REPLICA_ARN
        assert failure.value.code == "ReplicationFailed"

    def test_a_complete_replica_waits_for_its_default_group_in_the_source_region(
        self, regions: TwoRegions, budget: Budget, clock: FakeClock
    ) -> None:
        # Given a replica complete in us-west-2 whose default group the source region does not list yet
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east, with_default=False)
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east)

        # When an Update waits for the replication
        result = resources.handle(replica_request("Update"), regions, budget, Progress())

        # Then it answers only once the group is listed, with the group as an attribute, after one pause
        assert result == Done(REPLICA_ARN, ATTRIBUTES)
        assert len(clock.sleeps) == 1

    def test_an_error_after_replicate_instance_answers_with_the_replica_arn(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given a replica region that refuses DescribeInstance right after ReplicateInstance answered
        replicated(regions.stubs[EAST])
        regions.stubs[WEST].add_client_error("describe_instance", "AccessDeniedException", "denied", 403)

        # When the Create waits for the replication
        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Create"), regions, budget, Progress())

        # Then the failure carries the replica's ARN, so that the rollback deletes the replica it made
        assert failure.value.physical_resource_id == REPLICA_ARN
        assert failure.value.code == "AccessDeniedException"

    def test_a_resumed_update_does_not_claim_to_have_created_the_replica(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given an Update handed over to polling while the replication still runs
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(regions.stubs[EAST])
        progress = Progress()

        # When polling resumes it
        state = {"Phase": "replicate", "ReplicaArn": REPLICA_ARN}
        result = resources.resume(replica_request("Update"), state, regions, budget, progress)

        # Then it answers as the Create would, but does not mark the replica as made by this request
        assert result == Done(REPLICA_ARN, ATTRIBUTES)
        assert progress.created is None


class TestDeleteOutcomes:
    def test_a_deletion_connect_fails_is_reported_with_its_status_and_reason(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        # Given a DeleteInstance that Connect accepts, then ends INSTANCE_REPLICATION_DELETION_FAILED
        west = regions.stubs[WEST]
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        replica(west, "INSTANCE_REPLICATION_DELETION_FAILED", "Numbers still claimed")

        # When the Delete waits for it
        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Delete"), regions, budget, Progress())

        # Then it fails with Connect's status and reason, says what to do, and keeps the replica's id
        assert failure.value.reason == (
            f"Connect could not delete the replica {REPLICA_ARN} "
            "(INSTANCE_REPLICATION_DELETION_FAILED: Numbers still claimed). "
            "Check the instance in the Connect console, then retry the stack operation."
        )
        assert failure.value.physical_resource_id == REPLICA_ARN
        assert failure.value.code == "DeletionFailed"

    def test_a_deletion_failed_without_a_reason_says_so(self, regions: TwoRegions, budget: Budget) -> None:
        west = regions.stubs[WEST]
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        replica(west, "INSTANCE_REPLICATION_DELETION_FAILED")

        with pytest.raises(ProviderError, match=r"\(INSTANCE_REPLICATION_DELETION_FAILED: no reason given\)"):
            resources.handle(replica_request("Delete"), regions, budget, Progress())

    def test_a_long_deletion_hands_over_to_polling_which_waits_until_the_replica_is_gone(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        # Given a replica that stays INSTANCE_REPLICA_DELETING longer than the invocation
        west = regions.stubs[WEST]
        short = Budget(deadline=clock() + 2, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        replica(west, "INSTANCE_REPLICA_DELETING")
        replica(west, "INSTANCE_REPLICA_DELETING")

        # When the Delete runs out of time
        pending = resources.handle(replica_request("Delete"), regions, short, Progress())

        # Then it hands over in the removal phase, and polling waits without sending DeleteInstance again
        assert pending == Pending({"Phase": "remove-replica", "ReplicaArn": REPLICA_ARN})
        assert isinstance(pending, Pending)
        replica(west, "INSTANCE_REPLICA_DELETING")
        replica_gone(west)
        later = Budget(deadline=clock() + 45, clock=clock, sleep=clock.sleep)
        assert resources.resume(replica_request("Delete"), pending.state, regions, later, Progress()) == Done(
            REPLICA_ARN
        )
        assert set(regions.asked) == {WEST}


class TestThrottlingAndTime:
    def test_every_call_of_a_create_waits_out_throttling(self, regions: TwoRegions, budget: Budget) -> None:
        # Given Connect throttles each call of the Create once, in both regions
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        throttled(east, "replicate_instance")
        replicated(east)
        throttled(west, "describe_instance")
        replica_gone(west)
        throttled(east, "describe_instance")
        source(east, "INSTANCE_REPLICATION_IN_PROGRESS")
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        throttled(east, "list_traffic_distribution_groups")
        groups_listed(east)

        # When the replica is made, then throttling only slows it down
        assert resources.handle(replica_request("Create"), regions, budget, Progress()) == Done(REPLICA_ARN, ATTRIBUTES)

    def test_every_call_of_a_delete_waits_out_throttling(self, regions: TwoRegions, budget: Budget) -> None:
        # Given a DeleteInstance retried after its first request went through, with every call throttled once
        west = regions.stubs[WEST]
        throttled(west, "delete_instance")
        west.add_client_error("delete_instance", "InvalidRequestException", "The replica is being deleted", 400)
        throttled(west, "describe_instance")
        replica(west, "INSTANCE_REPLICA_DELETING")
        throttled(west, "describe_instance")
        replica_gone(west)

        assert resources.handle(replica_request("Delete"), regions, budget, Progress()) == Done(REPLICA_ARN)

    def test_the_alias_check_of_an_update_waits_out_throttling(self, regions: TwoRegions, budget: Budget) -> None:
        # Given an Update whose old properties name another alias (the rollback of a refused rename)
        west = regions.stubs[WEST]
        throttled(west, "describe_instance")
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(regions.stubs[EAST])

        result = resources.handle(
            replica_request("Update", old={"ReplicaAlias": "renamed"}), regions, budget, Progress()
        )

        assert result == Done(REPLICA_ARN, ATTRIBUTES)

    def test_a_replication_throttled_until_the_time_runs_out_is_handed_over_with_the_replica(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        short = Budget(deadline=clock() + 2, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        replicated(regions.stubs[EAST])
        throttled(regions.stubs[WEST], "describe_instance")
        throttled(regions.stubs[WEST], "describe_instance")
        progress = Progress()

        result = resources.handle(replica_request("Create"), regions, short, progress)

        assert result == Pending({"Phase": "replicate", "ReplicaArn": REPLICA_ARN})
        assert progress.created == REPLICA_ARN

    def test_a_deletion_throttled_until_the_time_runs_out_is_handed_over_in_the_removal_phase(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        short = Budget(deadline=clock() + 2, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        west = regions.stubs[WEST]
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        throttled(west, "describe_instance")
        throttled(west, "describe_instance")

        result = resources.handle(replica_request("Delete"), regions, short, Progress())

        assert result == Pending({"Phase": "remove-replica", "ReplicaArn": REPLICA_ARN})

    def test_a_source_its_region_does_not_show_either_is_waited_for(self, regions: TwoRegions, budget: Budget) -> None:
        # Given a replica not visible yet, and a source region that does not show the instance for a moment
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        replica_gone(west)
        east.add_client_error("describe_instance", "ResourceNotFoundException", "not found", 404)
        replica(west, "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(east)

        # When an Update waits for the replication, then it waits instead of failing
        assert resources.handle(replica_request("Update"), regions, budget, Progress()) == Done(REPLICA_ARN, ATTRIBUTES)


class TestBareInstanceId:
    """InstanceId may be the bare id: the region of the request's stack is then the source's region."""

    def test_a_rename_is_refused_when_the_instance_is_named_by_its_id(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE", alias="contact-center-west")
        request = replica_request(
            "Update", old={"InstanceId": INSTANCE_ID}, InstanceId=INSTANCE_ID, ReplicaAlias="renamed"
        )

        with pytest.raises(ProviderError) as failure:
            resources.handle(request, regions, budget, Progress())

        assert failure.value.code == "ReplacementRefused"

    def test_the_replica_of_an_instance_named_by_its_id_is_deleted(self, regions: TwoRegions, budget: Budget) -> None:
        west = regions.stubs[WEST]
        west.add_response("delete_instance", {}, {"InstanceId": REPLICA_ARN, "ClientToken": DELETE_TOKEN})
        replica_gone(west)

        assert resources.handle(replica_request("Delete", InstanceId=INSTANCE_ID), regions, budget, Progress()) == Done(
            REPLICA_ARN
        )

    def test_polling_resumes_a_create_of_an_instance_named_by_its_id(self, regions: TwoRegions, budget: Budget) -> None:
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE")
        groups_listed(regions.stubs[EAST])
        progress = Progress()
        state = {"Phase": "replicate", "ReplicaArn": REPLICA_ARN}

        result = resources.resume(replica_request("Create", InstanceId=INSTANCE_ID), state, regions, budget, progress)

        assert result == Done(REPLICA_ARN, ATTRIBUTES)
        assert progress.created == REPLICA_ARN  # a resumed Create still carries the replica it made


class TestReasons:
    def test_a_refused_move_says_why_and_how_to_replace_the_replica_on_purpose(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        request = replica_request("Update", InstanceId=INSTANCE_ARN.replace(INSTANCE_ID, "other-instance"))

        with pytest.raises(ProviderError) as failure:
            resources.handle(request, regions, budget, Progress())

        assert failure.value.reason == (
            "A replica cannot be moved or renamed, and this provider never replaces one implicitly: Connect "
            "limits how many instances an account may create and delete in 30 days, and a new replica takes "
            "long to build. Keep InstanceId, ReplicaRegion and ReplicaAlias as they were. To replace the "
            "replica on purpose, remove the resource in one deployment (which deletes the replica) and add it "
            "back in the next."
        )
        assert failure.value.code == "ReplacementRefused"
        assert failure.value.physical_resource_id is None  # the replica stays what it was

    def test_a_refused_delete_says_nothing_was_deleted_and_keeps_the_physical_id(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        event = replica_request("Delete")
        request = Request(**{**event.__dict__, "physical_resource_id": INSTANCE_ARN})

        with pytest.raises(ProviderError) as failure:
            resources.handle(request, regions, budget, Progress())

        assert failure.value.reason == (
            f"Refused to delete {INSTANCE_ARN}: it is not the replica in ReplicaRegion of the instance in the "
            "resource's properties, and a replica shares its id with the production instance. Nothing was "
            "deleted. If the replica must go, delete it in the Connect console, then retry the stack operation."
        )
        assert failure.value.physical_resource_id == INSTANCE_ARN
        assert failure.value.code == "DeleteRefused"

    def test_a_delete_connect_refuses_quotes_connect_names_what_depends_on_the_replica_and_keeps_its_code(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        regions.stubs[WEST].add_client_error(
            "delete_instance", "InvalidRequestException", "The instance has traffic distribution groups", 400
        )
        replica(regions.stubs[WEST], "INSTANCE_REPLICATION_COMPLETE")

        with pytest.raises(ProviderError) as failure:
            resources.handle(replica_request("Delete"), regions, budget, Progress())

        assert failure.value.reason.endswith(
            " Connect deletes a replica only after what depends on it is gone: delete the instance's traffic "
            "distribution groups other than the default one, release the phone numbers claimed to them, then "
            "retry the stack operation."
        )
        assert failure.value.reason.startswith("Connect ")  # Connect's own words come first
        assert "The instance has traffic distribution groups" in failure.value.reason
        assert failure.value.code == "InvalidRequestException"  # the metric's code is Connect's
        assert failure.value.physical_resource_id == REPLICA_ARN  # the replica stays in the stack
