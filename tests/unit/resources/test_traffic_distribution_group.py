"""The lifecycle of a group, with Connect played by Stubber (every request checked against the real model)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber

import connect
import resources
from errors import ProviderError
from request import Done, Pending, Progress, Request
from resources import traffic_distribution_group
from tests.unit.conftest import (
    FAILOVER,
    FAILOVER_REQUEST,
    GROUP_ARN,
    GROUP_ID,
    INSTANCE_ARN,
    NEW_GROUP_ARN,
    WEST,
    FakeClock,
    Regions,
    TwoRegions,
    config,
    describe,
    describe_missing,
    get_traffic,
    group_request,
    load_event,
    outage,
    traffic,
)
from waiting import Budget

CREATE_PARAMS = {
    "Name": "primary-tdg",
    "Description": "Calls between us-east-1 and us-west-2",
    "InstanceId": INSTANCE_ARN,
    "ClientToken": "1f0c9a5e-create-4d2b-9d1e-000000000001",
    "Tags": {"team": "contact-center"},
}
ATTRIBUTES = {
    "Id": GROUP_ARN.rsplit("/", 1)[1],
    "Arn": GROUP_ARN,
    "InstanceArn": INSTANCE_ARN,
    "Status": "ACTIVE",
    "IsDefault": "false",
    "TelephonyDistribution": "us-east-1=100,us-west-2=0",
    "AgentDistribution": "us-east-1=100,us-west-2=0",
}


def request(name: str, **overrides: Any) -> Request:
    return Request.from_event(load_event(name, **overrides), "us-east-1")


def created(stub: Stubber, arn: str = GROUP_ARN, **params: Any) -> None:
    stub.add_response(
        "create_traffic_distribution_group",
        {"Id": arn.rsplit("/", 1)[1], "Arn": arn},
        {key: value for key, value in {**CREATE_PARAMS, **params}.items() if value is not None},
    )


def with_props(name: str, **changes: Any) -> dict[str, Any]:
    props = dict(load_event(name)["ResourceProperties"])
    props.update(changes)
    return {key: value for key, value in props.items() if value is not None}


class TestCreate:
    def test_creates_with_request_id_as_token_and_answers_when_active(
        self, stub: Stubber, clients: Regions, budget: Budget, clock: FakeClock
    ) -> None:
        created(stub)
        describe(stub, "CREATION_IN_PROGRESS")
        describe(stub, "ACTIVE")
        get_traffic(stub)

        result = resources.handle(request("create"), clients, budget, Progress())

        assert result == Done(GROUP_ARN, ATTRIBUTES)
        assert clock.sleeps == [1.0]

    def test_repeated_delivery_sends_the_same_client_token(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # Connect answers a repeated ClientToken with the group it already made; the provider must reuse it.
        for _ in range(2):
            created(stub)
            describe(stub, "ACTIVE")
            get_traffic(stub)

        first = resources.handle(request("create"), clients, budget, Progress())
        second = resources.handle(request("create"), clients, budget, Progress())

        assert first == second == Done(GROUP_ARN, ATTRIBUTES)

    def test_calls_connect_in_the_region_of_the_instance_arn(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        arn = INSTANCE_ARN.replace("us-east-1", "eu-west-2")
        created(stub, InstanceId=arn)
        describe(stub, "ACTIVE")
        get_traffic(stub)

        resources.handle(
            request("create", ResourceProperties=with_props("create", InstanceId=arn)), clients, budget, Progress()
        )

        assert clients.asked[0] == "eu-west-2"

    def test_bare_instance_id_uses_the_function_region(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        bare = INSTANCE_ARN.rsplit("/", 1)[1]
        created(stub, InstanceId=bare, Tags=None, Description=None)
        describe(stub, "ACTIVE")
        get_traffic(stub)
        props = with_props("create", InstanceId=bare, Tags=None, Description=None)

        event = load_event("create", ResourceProperties=props)
        resources.handle(Request.from_event(event, "eu-central-1"), clients, budget, Progress())

        assert clients.asked[0] == "eu-central-1"  # Create; the group ARN names the region after that

    def test_creation_failed_answers_failed_with_the_group_arn(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        created(stub)
        describe(stub, "CREATION_FAILED")

        with pytest.raises(ProviderError) as failure:
            resources.handle(request("create"), clients, budget, Progress())

        assert failure.value.physical_resource_id == GROUP_ARN
        assert failure.value.reason.startswith("Connect could not create traffic distribution group 'primary-tdg'")
        assert failure.value.reason.endswith(
            "CREATION_FAILED. Check that the instance's replication is healthy (DescribeInstance in both regions), "
            "then retry the stack operation."
        )
        assert failure.value.code == "CreationFailed"

    def test_hands_over_to_polling_when_time_runs_out(self, stub: Stubber, clients: Regions, clock: FakeClock) -> None:
        budget = Budget(deadline=clock() + 3, clock=clock, sleep=clock.sleep)
        created(stub)
        for _ in range(3):
            describe(stub, "CREATION_IN_PROGRESS")

        result = resources.handle(request("create"), clients, budget, Progress())

        assert result == Pending({"Phase": "create", "GroupArn": GROUP_ARN})
        assert clock.now <= 1003

    def test_resume_answers_once_the_group_is_active(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub, "CREATION_IN_PROGRESS")
        describe(stub, "ACTIVE")
        get_traffic(stub)

        state = {"Phase": "create", "GroupArn": GROUP_ARN}
        assert resources.resume(request("create"), state, clients, budget, Progress()) == Done(GROUP_ARN, ATTRIBUTES)

    def test_polls_no_faster_than_once_a_second_and_backs_off(
        self, stub: Stubber, clients: Regions, budget: Budget, clock: FakeClock
    ) -> None:
        created(stub)
        for _ in range(6):
            describe(stub, "CREATION_IN_PROGRESS")
        describe(stub, "ACTIVE")
        get_traffic(stub)

        resources.handle(request("create"), clients, budget, Progress())

        assert min(clock.sleeps) >= 1.0
        assert clock.sleeps == sorted(clock.sleeps)
        assert max(clock.sleeps) <= 1.5

    @pytest.mark.parametrize(
        ("code", "status", "expected"),
        [
            ("ResourceConflictException", 409, "unique Name per instance"),
            ("ResourceNotFoundException", 404, "home region"),
            ("InvalidRequestException", 400, "not replicated yet"),
            ("ServiceQuotaExceededException", 402, "quota"),
            ("AccessDeniedException", 403, "ConnectInstanceArns"),
        ],
    )
    def test_connect_errors_name_the_cause_and_the_fix(
        self, stub: Stubber, clients: Regions, budget: Budget, code: str, status: int, expected: str
    ) -> None:
        stub.add_client_error("create_traffic_distribution_group", code, "Connect says no", status)

        with pytest.raises(ProviderError) as failure:
            resources.handle(request("create"), clients, budget, Progress())

        assert failure.value.reason.startswith(f"Connect CreateTrafficDistributionGroup failed with {code}")
        assert "Connect says no" in failure.value.reason
        assert expected in failure.value.reason
        assert failure.value.code == code

    def test_retries_throttling_and_not_ready(
        self, stub: Stubber, clients: Regions, budget: Budget, clock: FakeClock
    ) -> None:
        stub.add_client_error("create_traffic_distribution_group", "ThrottlingException", "Rate exceeded", 429)
        stub.add_client_error("create_traffic_distribution_group", "ResourceNotReadyException", "not yet", 409)
        stub.add_client_error("create_traffic_distribution_group", "InternalServiceException", "oops", 500)
        created(stub)
        stub.add_client_error("describe_traffic_distribution_group", "ThrottlingException", "Rate exceeded", 429)
        describe(stub, "ACTIVE")
        get_traffic(stub)

        assert resources.handle(request("create"), clients, budget, Progress()) == Done(GROUP_ARN, ATTRIBUTES)
        assert len(clock.sleeps) == 4

    def test_throttling_never_fails_and_hands_over_when_time_runs_out(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        # The account's quota is shared by every stack: a throttle means "later", never FAILED.
        budget = Budget(deadline=clock() + 20, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        for _ in range(5):
            stub.add_client_error("create_traffic_distribution_group", "ThrottlingException", "Rate exceeded", 429)

        result = resources.handle(request("create"), clients, budget, Progress())

        assert result == Pending({"Phase": "start"})
        assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]  # slower after each throttle
        assert budget.throttles == 5

    def test_a_start_over_creates_with_the_same_token(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        created(stub)
        describe(stub, "ACTIVE")
        get_traffic(stub)

        result = resources.resume(request("create"), {"Phase": "start"}, clients, budget, Progress())

        assert result == Done(GROUP_ARN, ATTRIBUTES)

    def test_unknown_resource_type_lists_the_valid_ones(self, clients: Regions, budget: Budget) -> None:
        with pytest.raises(ProviderError, match="Custom::TrafficDistributionGroup"):
            resources.handle(
                request("create", ResourceType="AWS::CloudFormation::CustomResource"), clients, budget, Progress()
            )


class TestUpdate:
    def test_unchanged_answers_same_id_with_full_attributes(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        get_traffic(stub)

        assert resources.handle(request("update"), clients, budget, Progress()) == Done(GROUP_ARN, ATTRIBUTES)

    def test_tag_change_is_done_in_place(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        new = with_props("update", Tags=[{"Key": "team", "Value": "voice"}, {"Key": "cost", "Value": "42"}])
        old = with_props("update", Tags=[{"Key": "team", "Value": "contact-center"}, {"Key": "gone", "Value": "x"}])
        describe(stub, tags={"team": "contact-center", "gone": "x", "owner": "someone-else"})
        stub.add_response("untag_resource", {}, {"resourceArn": GROUP_ARN, "tagKeys": ["gone"]})
        stub.add_response("tag_resource", {}, {"resourceArn": GROUP_ARN, "tags": {"team": "voice", "cost": "42"}})
        get_traffic(stub)

        result = resources.handle(
            request("update", ResourceProperties=new, OldResourceProperties=old), clients, budget, Progress()
        )

        assert result.physical_resource_id == GROUP_ARN

    def test_id_to_arn_of_the_same_instance_is_not_a_replacement(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        get_traffic(stub)
        new = with_props("update", InstanceId=INSTANCE_ARN.rsplit("/", 1)[1])

        assert resources.handle(
            request("update", ResourceProperties=new), clients, budget, Progress()
        ).physical_resource_id == (GROUP_ARN)

    @pytest.mark.parametrize(
        "other_instance",
        [INSTANCE_ARN.replace("11111111-", "99999999-"), "99999999-2222-3333-4444-555555555555"],
        ids=["arn", "bare-id"],
    )
    def test_moving_the_group_to_another_instance_replaces_it(
        self, stub: Stubber, clients: Regions, budget: Budget, other_instance: str
    ) -> None:
        # Connect cannot move a group: a new group is made in the other instance, under the same name.
        describe(stub)
        created(stub, NEW_GROUP_ARN, InstanceId=other_instance, ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub, "ACTIVE", arn=NEW_GROUP_ARN)
        get_traffic(stub, NEW_GROUP_ARN)

        new = with_props("update", InstanceId=other_instance)
        result = resources.handle(request("update", ResourceProperties=new), clients, budget, Progress())

        assert isinstance(result, Done)
        assert result.physical_resource_id == NEW_GROUP_ARN

    def test_rename_replaces_with_update_request_id_as_token(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        created(stub, NEW_GROUP_ARN, Name="secondary-tdg", ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub, "ACTIVE", arn=NEW_GROUP_ARN, name="secondary-tdg")
        get_traffic(stub, NEW_GROUP_ARN)

        new = with_props("update", Name="secondary-tdg")
        result = resources.handle(request("update", ResourceProperties=new), clients, budget, Progress())

        assert isinstance(result, Done)
        assert result.physical_resource_id == NEW_GROUP_ARN
        assert result.data["Arn"] == NEW_GROUP_ARN

    def test_rollback_to_the_current_group_does_not_replace(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # A failed rename rolls back: the old properties come back as ResourceProperties for the same group.
        describe(stub)
        get_traffic(stub)
        failed = with_props("update", Name="secondary-tdg")

        result = resources.handle(request("update", OldResourceProperties=failed), clients, budget, Progress())

        assert result == Done(GROUP_ARN, ATTRIBUTES)

    def test_description_change_with_same_name_explains_the_conflict(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        stub.add_client_error("create_traffic_distribution_group", "ResourceConflictException", "Name in use", 409)

        new = with_props("update", Description="New words")
        with pytest.raises(ProviderError) as failure:
            resources.handle(request("update", ResourceProperties=new), clients, budget, Progress())

        assert "still held by the group this update replaces" in failure.value.reason
        assert "because CloudFormation deletes the old group only after the new one exists" in failure.value.reason
        assert failure.value.reason.endswith(
            "Change Name in the same update as Description or InstanceId (for example add a suffix)."
        )
        assert failure.value.physical_resource_id is None
        assert failure.value.code == "ResourceConflictException"

    def test_rename_to_a_name_another_group_holds_says_so(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        stub.add_client_error("create_traffic_distribution_group", "ResourceConflictException", "Name in use", 409)

        with pytest.raises(ProviderError) as failure:
            resources.handle(
                request("update", ResourceProperties=with_props("update", Name="taken")), clients, budget, Progress()
            )

        assert "still held by the group this update replaces" not in failure.value.reason
        assert "unique Name per instance" in failure.value.reason

    def test_failed_replacement_deletes_the_new_group(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        created(stub, NEW_GROUP_ARN, Name="secondary-tdg", ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="secondary-tdg")
        describe(stub, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="secondary-tdg")
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": NEW_GROUP_ARN})
        describe(stub, "PENDING_DELETION", arn=NEW_GROUP_ARN, name="secondary-tdg")
        describe_missing(stub, NEW_GROUP_ARN)

        with pytest.raises(ProviderError) as failure:
            resources.handle(
                request("update", ResourceProperties=with_props("update", Name="secondary-tdg")),
                clients,
                budget,
                Progress(),
            )

        assert failure.value.physical_resource_id is None  # the stack keeps the old group's id
        assert failure.value.reason.endswith(
            f"The replacement group {NEW_GROUP_ARN} was deleted; the stack keeps the old group."
        )
        assert failure.value.code == "CreationFailed"

    def test_group_deleted_outside_cloudformation(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe_missing(stub)

        with pytest.raises(ProviderError, match="deleted outside CloudFormation") as failure:
            resources.handle(request("update"), clients, budget, Progress())

        assert failure.value.code == "GroupGone"

    def test_invalid_properties_fail_before_any_call(self, clients: Regions, budget: Budget) -> None:
        with pytest.raises(ProviderError, match="Descripton"):
            resources.handle(
                request("update", ResourceProperties=with_props("update", Descripton="x")), clients, budget, Progress()
            )


class TestDelete:
    def test_deletes_and_answers_when_gone(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
        describe(stub, "PENDING_DELETION")
        describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)

    @pytest.mark.parametrize("physical_id", ["consumer_Tdg_AB12CD34", "", "not-a-group"])
    def test_ids_that_are_not_groups_succeed_without_calls(
        self, clients: Regions, budget: Budget, physical_id: str
    ) -> None:
        result = resources.handle(request("delete", PhysicalResourceId=physical_id), clients, budget, Progress())

        assert result == Done(physical_id)
        assert clients.asked == []

    def test_invalid_properties_do_not_block_delete(self, clients: Regions, budget: Budget) -> None:
        event = {"PhysicalResourceId": "consumer_Tdg_AB12CD34", "ResourceProperties": {"Bogus": "1"}}

        assert resources.handle(request("delete", **event), clients, budget, Progress()) == Done(
            "consumer_Tdg_AB12CD34"
        )

    def test_group_already_gone_succeeds_once_connect_says_so_for_a_few_seconds(
        self, stub: Stubber, clients: Regions, budget: Budget, clock: FakeClock
    ) -> None:
        # A rollback's Delete can come while Connect does not show a group it just created: look again.
        for _ in range(5):
            describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)
        assert sum(clock.sleeps) >= traffic_distribution_group.NOT_FOUND_GRACE

    def test_a_group_not_visible_yet_is_deleted_when_it_shows_up(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe_missing(stub)
        describe(stub)
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
        describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)

    def test_a_delete_whose_answer_was_lost_is_not_sent_again_as_a_failure(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # The retry of a Delete that went through finds the group PENDING_DELETION: ResourceInUseException.
        describe(stub)
        stub.add_client_error("delete_traffic_distribution_group", "ResourceInUseException", "pending deletion", 409)
        describe(stub, "PENDING_DELETION")
        describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)

    def test_gone_between_describe_and_delete_succeeds(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        stub.add_client_error("delete_traffic_distribution_group", "ResourceNotFoundException", "gone", 404)
        describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)

    def test_in_use_says_what_holds_the_group(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        stub.add_client_error(
            "delete_traffic_distribution_group",
            "ResourceInUseException",
            "Phone number +15550100 is claimed to this traffic distribution group",
            409,
        )
        describe(stub)  # still ACTIVE: the refusal stands

        with pytest.raises(ProviderError) as failure:
            resources.handle(request("delete"), clients, budget, Progress())

        assert failure.value.reason.startswith("Traffic distribution group 'primary-tdg'")
        assert "+15550100" in failure.value.reason
        assert "Release the phone numbers" in failure.value.reason
        assert failure.value.physical_resource_id == GROUP_ARN
        assert failure.value.code == "ResourceInUseException"

    def test_default_group_cannot_be_deleted(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub, is_default=True)

        with pytest.raises(ProviderError, match="default traffic distribution group") as failure:
            resources.handle(request("delete"), clients, budget, Progress())

        assert failure.value.reason.endswith(
            "Connect made it with ReplicateInstance and it cannot be deleted through the API. "
            "Remove it from the stack with DeletionPolicy: Retain."
        )
        assert (failure.value.code, failure.value.physical_resource_id) == ("DefaultGroup", GROUP_ARN)

    def test_deletion_failed(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
        describe(stub, "DELETION_FAILED")

        with pytest.raises(ProviderError, match="DELETION_FAILED") as failure:
            resources.handle(request("delete"), clients, budget, Progress())

        assert failure.value.reason.endswith(
            "Check that no phone numbers or other resources still use it, then retry the stack operation."
        )
        assert (failure.value.code, failure.value.physical_resource_id) == ("DeletionFailed", GROUP_ARN)

    def test_waits_for_a_group_still_being_created_before_deleting(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub, "CREATION_IN_PROGRESS")
        describe(stub, "ACTIVE")
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
        describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)

    def test_hands_over_and_resumes_without_deleting_twice(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        short = Budget(deadline=clock() + 1.5, clock=clock, sleep=clock.sleep)
        describe(stub)
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": GROUP_ARN})
        describe(stub, "PENDING_DELETION")

        pending = resources.handle(request("delete"), clients, short, Progress())
        assert isinstance(pending, Pending)

        describe(stub, "PENDING_DELETION")
        describe_missing(stub)
        long = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep)
        assert resources.resume(request("delete"), pending.state, clients, long, Progress()) == Done(GROUP_ARN)


NINETY_TEN = {
    "Distributions": [{"Region": "us-east-1", "Percentage": "90"}, {"Region": "us-west-2", "Percentage": "10"}]
}
NINETY_TEN_REQUEST = {
    "Id": GROUP_ARN,
    "TelephonyConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": 90}, {"Region": "us-west-2", "Percentage": 10}]
    },
}
TRAFFIC_TYPE = "Custom::TrafficDistribution"


def traffic_request(name: str) -> Request:
    props = {"ServiceToken": "arn:x", "TrafficDistributionGroupId": GROUP_ARN, "TelephonyConfig": NINETY_TEN}
    return request(name, ResourceType=TRAFFIC_TYPE, ResourceProperties=props)


class TestHandOver:
    """What a Pending state carries is all the next poll knows: the phase, the group, and whether traffic moved."""

    def test_an_update_sent_before_the_time_ran_out_says_so_to_the_next_poll(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        describe(stub)
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, NINETY_TEN_REQUEST)
        short = Budget(deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)

        result = resources.handle(
            request("update", ResourceProperties=with_props("update", TelephonyConfig=NINETY_TEN)),
            clients,
            short,
            Progress(),
        )

        assert result == Pending({"Phase": "update", "GroupArn": GROUP_ARN, "Sent": "true"})

    def test_a_distribution_of_an_existing_group_hands_over_as_an_update(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        describe(stub)
        get_traffic(stub)
        stub.add_response("update_traffic_distribution", {}, NINETY_TEN_REQUEST)
        short = Budget(deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)

        result = resources.handle(traffic_request("create"), clients, short, Progress())

        assert result == Pending({"Phase": "update", "GroupArn": GROUP_ARN, "Sent": "true"})

    def test_a_poll_after_the_update_was_sent_waits_errors_out_and_never_answers_failed(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        # Traffic may have moved: a FAILED answer would make the rollback move the calls back.
        for _ in range(2):
            stub.add_client_error("describe_traffic_distribution_group", "AccessDeniedException", "no", 403)
        short = Budget(deadline=clock() + 2, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        state = {"Phase": "update", "GroupArn": GROUP_ARN, "Sent": "true"}

        result = resources.resume(traffic_request("update"), state, clients, short, Progress())

        assert isinstance(result, Done) and result.physical_resource_id == GROUP_ARN
        assert "Connect accepted the distribution but could not be read back" in result.note
        # What was sent stands for what Connect would have reported.
        assert result.data == {"Id": GROUP_ID, "Arn": GROUP_ARN, "TelephonyDistribution": "us-east-1=90,us-west-2=10"}

    def test_a_poll_after_the_update_was_sent_throttled_to_the_end_keeps_polling(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        # A throttle is the account's quota, not trouble with the group: poll again rather than answer unread.
        stub.add_client_error("describe_traffic_distribution_group", "ThrottlingException", "Rate exceeded", 429)
        short = Budget(deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)
        state = {"Phase": "update", "GroupArn": GROUP_ARN, "Sent": "true"}

        assert resources.resume(traffic_request("update"), state, clients, short, Progress()) == Pending(state)

    def test_a_delete_throttled_to_the_end_hands_over_before_asking(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        stub.add_client_error("describe_traffic_distribution_group", "ThrottlingException", "Rate exceeded", 429)
        short = Budget(deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)

        result = resources.handle(request("delete"), clients, short, Progress())

        assert result == Pending({"Phase": "delete", "GroupArn": GROUP_ARN, "Requested": "false"})

    @pytest.mark.parametrize(
        ("phase", "created", "replacing"),
        [("create", GROUP_ARN, False), ("replace", GROUP_ARN, True), ("update", None, False)],
    )
    def test_a_poll_tells_the_provider_what_this_request_made(
        self, stub: Stubber, clients: Regions, budget: Budget, phase: str, created: str | None, replacing: bool
    ) -> None:
        # So that the last-resort timer's answer names a new group, and warns of a replacement left behind.
        describe(stub)
        get_traffic(stub)
        progress = Progress()

        resources.resume(request("update"), {"Phase": phase, "GroupArn": GROUP_ARN}, clients, budget, progress)

        assert (progress.created, progress.replacing) == (created, replacing)

    def test_a_poll_of_a_create_waits_for_a_group_not_visible_yet_and_hands_over_the_same_state(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        describe_missing(stub)
        short = Budget(deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)
        state = {"Phase": "create", "GroupArn": GROUP_ARN}

        assert resources.resume(request("create"), state, clients, short, Progress()) == Pending(state)

    def test_a_start_over_from_a_poll_tells_the_provider_what_the_create_made(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        created(stub)
        describe(stub)
        get_traffic(stub)
        progress = Progress()

        resources.resume(request("create"), {"Phase": "start"}, clients, budget, progress)

        assert progress.created == GROUP_ARN


class TestUpdateEdges:
    def test_a_resource_whose_create_failed_gets_its_group_on_update(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # crhelper's invented id after a failed Create: there is no group to update, so one is made.
        created(stub, ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub)
        get_traffic(stub)
        progress = Progress()

        result = resources.handle(
            request("update", PhysicalResourceId="consumer_Tdg_AB12CD34"), clients, budget, progress
        )

        assert result == Done(GROUP_ARN, ATTRIBUTES)
        assert (progress.created, progress.replacing) == (GROUP_ARN, True)

    def test_tags_changed_outside_cloudformation_are_set_back_when_read_in_the_home_region(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub, tags={"team": "changed-by-hand", "owner": "someone-else"})
        stub.add_response("tag_resource", {}, {"resourceArn": GROUP_ARN, "tags": {"team": "contact-center"}})
        get_traffic(stub)

        assert resources.handle(request("update"), clients, budget, Progress()).physical_resource_id == GROUP_ARN

    def test_a_tag_the_template_did_not_change_is_set_back_too_when_read_in_the_home_region(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        # Read at home, the group's own tags are the truth: drift is set back even with no change in the template.
        # The distribution names both regions, so the other one is there to fall back on; home answers first.
        telephony = {
            "Distributions": [{"Region": "us-east-1", "Percentage": "100"}, {"Region": "us-west-2", "Percentage": "0"}]
        }
        props = with_props("update", TelephonyConfig=telephony)
        unchanged = request("update", ResourceProperties=props, OldResourceProperties=props)
        describe(stub, tags={"team": "changed-by-hand"})
        stub.add_response("tag_resource", {}, {"resourceArn": GROUP_ARN, "tags": {"team": "contact-center"}})
        get_traffic(stub)

        assert resources.handle(unchanged, clients, budget, Progress()).physical_resource_id == GROUP_ARN

    @pytest.mark.parametrize(
        ("seen", "removed"),
        [({}, True), ({"team": "contact-center"}, False), ({"team": "contact-center", "gone": "x"}, True)],
        ids=["no-tags-shown", "key-not-shown", "key-shown"],
    )
    def test_read_in_the_other_region_a_dropped_tag_is_removed_unless_the_group_shows_it_gone(
        self, stub: Stubber, clients: Regions, budget: Budget, seen: dict[str, str], removed: bool
    ) -> None:
        # Whether the other region's Describe shows tags is not documented: no tags shown proves nothing.
        failover = {
            "TelephonyConfig": {
                "Distributions": [
                    {"Region": "us-east-1", "Percentage": "0"},
                    {"Region": "us-west-2", "Percentage": "100"},
                ]
            }
        }
        new = with_props("update", Tags=[{"Key": "team", "Value": "contact-center"}], **failover)
        old = with_props("update", Tags=[{"Key": "team", "Value": "contact-center"}, {"Key": "gone", "Value": "x"}])
        describe(stub, tags=seen)
        if removed:
            stub.add_response("untag_resource", {}, {"resourceArn": GROUP_ARN, "tagKeys": ["gone"]})
        get_traffic(stub, telephony={"us-east-1": 0, "us-west-2": 100})

        result = resources.handle(
            request("update", ResourceProperties=new, OldResourceProperties=old), clients, budget, Progress()
        )

        assert result.physical_resource_id == GROUP_ARN
        assert clients.asked[0] == "us-west-2"  # read where the calls go

    @pytest.mark.parametrize("status", ["PENDING_DELETION", "DELETION_FAILED"])
    def test_a_group_being_deleted_outside_cloudformation_fails_the_update(
        self, stub: Stubber, clients: Regions, budget: Budget, status: str
    ) -> None:
        describe(stub, status)

        with pytest.raises(ProviderError) as failure:
            resources.handle(request("update"), clients, budget, Progress())

        assert failure.value.reason == (
            f"Traffic distribution group {GROUP_ARN} is being deleted ({status}) outside CloudFormation."
        )
        assert (failure.value.code, failure.value.physical_resource_id) == ("GroupGone", GROUP_ARN)

    def test_a_distribution_for_a_group_that_does_not_exist_says_to_check_the_arn(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe_missing(stub)

        with pytest.raises(ProviderError) as failure:
            resources.handle(traffic_request("create"), clients, budget, Progress())

        assert failure.value.reason == (
            f"Traffic distribution group {GROUP_ARN} does not exist (any more). If the stack created it, something "
            "outside CloudFormation deleted it; check the ARN and retry the stack operation."
        )
        assert failure.value.code == "GroupGone"

    def test_an_arn_from_connect_that_is_not_a_group_is_a_bug_not_a_template_error(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        created(stub, INSTANCE_ARN)

        with pytest.raises(ProviderError) as failure:
            resources.handle(request("create"), clients, budget, Progress())

        assert failure.value.reason == (
            f"Connect returned {INSTANCE_ARN!r}, which is not a traffic distribution group ARN."
        )
        assert failure.value.code == "Bug"


class TestReplacementCleanUp:
    def test_a_failed_replacement_whose_deletion_is_still_going_says_so(
        self, stub: Stubber, clients: Regions, clock: FakeClock
    ) -> None:
        budget = Budget(deadline=clock() + 2, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)
        describe(stub)
        created(stub, NEW_GROUP_ARN, Name="secondary-tdg", ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="secondary-tdg")
        describe(stub, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="secondary-tdg")
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": NEW_GROUP_ARN})
        describe(stub, "PENDING_DELETION", arn=NEW_GROUP_ARN, name="secondary-tdg")

        with pytest.raises(ProviderError) as failure:
            resources.handle(
                request("update", ResourceProperties=with_props("update", Name="secondary-tdg")),
                clients,
                budget,
                Progress(),
            )

        assert failure.value.reason.endswith(
            f"The replacement group {NEW_GROUP_ARN} was deleted (its deletion is still in progress); "
            "the stack keeps the old group."
        )

    def test_a_failed_replacement_that_cannot_be_deleted_says_to_delete_it_by_hand(
        self, stub: Stubber, clients: Regions, budget: Budget
    ) -> None:
        describe(stub)
        created(stub, NEW_GROUP_ARN, Name="secondary-tdg", ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="secondary-tdg")
        describe(stub, "CREATION_FAILED", arn=NEW_GROUP_ARN, name="secondary-tdg")
        stub.add_client_error("delete_traffic_distribution_group", "AccessDeniedException", "not allowed", 403)

        with pytest.raises(ProviderError) as failure:
            resources.handle(
                request("update", ResourceProperties=with_props("update", Name="secondary-tdg")),
                clients,
                budget,
                Progress(),
            )

        assert f"The replacement group {NEW_GROUP_ARN} could not be deleted either (" in failure.value.reason
        assert failure.value.reason.endswith("); delete it by hand.")
        assert failure.value.code == "CreationFailed"


@pytest.mark.parametrize(
    ("instance", "region"),
    [(INSTANCE_ARN.replace("us-east-1", "us-west-2"), "us-west-2"), (INSTANCE_ARN.rsplit("/", 1)[1], "us-east-1")],
    ids=["instance-arn", "bare-instance-id"],
)
def test_a_bare_group_id_is_deleted_in_the_region_of_its_instance(
    stub: Stubber, clients: Regions, clock: FakeClock, instance: str, region: str
) -> None:
    props = with_props("delete", InstanceId=instance)
    stub.add_client_error(
        "describe_traffic_distribution_group",
        "ThrottlingException",
        "Rate exceeded",
        429,
        expected_params={"TrafficDistributionGroupId": GROUP_ARN.rsplit("/", 1)[1]},
    )
    short = Budget(deadline=clock() + 0.5, clock=clock, sleep=clock.sleep)

    resources.handle(
        request("delete", PhysicalResourceId=GROUP_ARN.rsplit("/", 1)[1], ResourceProperties=props),
        clients,
        short,
        Progress(),
    )

    assert clients.asked == [region]


def throttle(stub: Stubber, operation: str) -> None:
    stub.add_client_error(operation, "ThrottlingException", "Rate exceeded", 429)


class TestEveryCallIsRetriedWithinTheBudget:
    """A throttle on any call means "later" (the account's quota is shared): it is retried, never a crash."""

    def test_the_create_of_a_replacement(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        throttle(stub, "create_traffic_distribution_group")
        created(stub, NEW_GROUP_ARN, Name="secondary-tdg", ClientToken="1f0c9a5e-update-4d2b-9d1e-000000000002")
        describe(stub, arn=NEW_GROUP_ARN, name="secondary-tdg")
        get_traffic(stub, NEW_GROUP_ARN)

        result = resources.handle(
            request("update", ResourceProperties=with_props("update", Name="secondary-tdg")),
            clients,
            budget,
            Progress(),
        )

        assert result.physical_resource_id == NEW_GROUP_ARN

    def test_the_delete_and_the_look_at_a_refused_delete(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        describe(stub)
        throttle(stub, "delete_traffic_distribution_group")
        stub.add_client_error("delete_traffic_distribution_group", "ResourceInUseException", "pending deletion", 409)
        throttle(stub, "describe_traffic_distribution_group")
        describe(stub, "PENDING_DELETION")
        describe_missing(stub)

        assert resources.handle(request("delete"), clients, budget, Progress()) == Done(GROUP_ARN)
        assert budget.throttles == 2

    def test_the_removal_of_a_tag(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        old = with_props("update", Tags=[{"Key": "team", "Value": "contact-center"}, {"Key": "gone", "Value": "x"}])
        describe(stub, tags={"team": "contact-center", "gone": "x"})
        throttle(stub, "untag_resource")
        stub.add_response("untag_resource", {}, {"resourceArn": GROUP_ARN, "tagKeys": ["gone"]})
        get_traffic(stub)

        assert resources.handle(
            request("update", OldResourceProperties=old), clients, budget, Progress()
        ).physical_resource_id

    def test_the_delete_of_an_abandoned_replacement(self, stub: Stubber, clients: Regions, budget: Budget) -> None:
        throttle(stub, "delete_traffic_distribution_group")
        stub.add_response("delete_traffic_distribution_group", {}, {"TrafficDistributionGroupId": NEW_GROUP_ARN})

        said = resources.abandon(request("update"), {"Phase": "replace", "GroupArn": NEW_GROUP_ARN}, clients, budget)

        assert said == f" The replacement group {NEW_GROUP_ARN} is being deleted; the stack keeps the old group."


def test_a_tag_removal_with_the_home_region_down_fails_before_moving_traffic(
    stub: Stubber, clients: Regions, budget: Budget
) -> None:
    old = with_props("update", Tags=[{"Key": "team", "Value": "contact-center"}, {"Key": "gone", "Value": "x"}])
    describe(stub, tags={"team": "contact-center", "gone": "x"})
    for _ in range(connect.READ_ATTEMPTS):
        stub.add_client_error("untag_resource", "ServiceUnavailableException", "Service Unavailable", 503)

    with pytest.raises(ProviderError) as failure:
        resources.handle(request("update", OldResourceProperties=old), clients, budget, Progress())

    assert failure.value.reason.endswith(
        "No traffic was moved. Split the change: deploy the distribution change alone now, and the tag change "
        "once the region is back."
    )
    assert failure.value.code == "ServiceUnavailableException"


def test_a_refused_delete_keeps_the_groups_id(stub: Stubber, clients: Regions, budget: Budget) -> None:
    describe(stub)
    stub.add_client_error("delete_traffic_distribution_group", "AccessDeniedException", "not allowed", 403)

    with pytest.raises(ProviderError) as failure:
        resources.handle(request("delete"), clients, budget, Progress())

    assert (failure.value.code, failure.value.physical_resource_id) == ("AccessDeniedException", GROUP_ARN)


def test_a_tie_is_sent_to_the_groups_home_region(stub: Stubber, clients: Regions, budget: Budget) -> None:
    west_group = GROUP_ARN.replace("us-east-1", "us-west-2")
    half = {"Distributions": [{"Region": "us-east-1", "Percentage": "50"}, {"Region": "us-west-2", "Percentage": "50"}]}
    props = {"TrafficDistributionGroupId": west_group, "TelephonyConfig": half}
    describe(stub, arn=west_group)
    stub.add_response("get_traffic_distribution", traffic(), {"Id": west_group})
    sent = {
        "Id": west_group,
        "TelephonyConfig": {"Distributions": [{"Region": r, "Percentage": 50} for r in ("us-east-1", "us-west-2")]},
    }
    stub.add_response("update_traffic_distribution", {}, sent)
    describe(stub, arn=west_group)
    stub.add_response("get_traffic_distribution", traffic({"us-east-1": 50, "us-west-2": 50}), {"Id": west_group})

    resources.handle(
        request("create", ResourceType=TRAFFIC_TYPE, ResourceProperties=props), clients, budget, Progress()
    )

    assert set(clients.asked) == {"us-west-2"}


def test_reads_try_the_region_that_takes_the_calls_three_times_then_the_other(
    regions: TwoRegions, budget: Budget
) -> None:
    east, west = regions.stubs["us-east-1"], regions.stubs["us-west-2"]
    outage(east, "describe_traffic_distribution_group", connect.READ_ATTEMPTS)
    describe(west)
    outage(east, "get_traffic_distribution", connect.READ_ATTEMPTS)
    get_traffic(west)  # 100 % in us-east-1 already: nothing to send
    east_only = {
        "Distributions": [{"Region": "us-east-1", "Percentage": "100"}, {"Region": "us-west-2", "Percentage": "0"}]
    }
    props = {"TrafficDistributionGroupId": GROUP_ARN, "TelephonyConfig": east_only}

    result = resources.handle(
        request("create", ResourceType=TRAFFIC_TYPE, ResourceProperties=props), regions, budget, Progress()
    )

    assert result.physical_resource_id == GROUP_ARN


def test_a_group_read_in_its_home_region_alone_gets_every_attempt(
    stub: Stubber, clients: Regions, budget: Budget
) -> None:
    # A group with no distribution in its properties is read only in its home region: no other region to turn to.
    outage(stub, "describe_traffic_distribution_group", connect.MAX_ATTEMPTS)

    with pytest.raises(ProviderError) as failure:
        resources.handle(request("update"), clients, budget, Progress())

    assert failure.value.code == "ServiceUnavailableException"
    assert clients.asked == ["us-east-1"]


def test_an_event_without_a_resource_type_is_refused_and_says_so(clients: Regions, budget: Budget) -> None:
    event = load_event("create")
    del event["ResourceType"]

    with pytest.raises(ProviderError) as failure:
        resources.handle(Request.from_event(event, "us-east-1"), clients, budget, Progress())

    assert failure.value.reason.startswith("This provider does not manage resource type '(none)'. Declare")


# --- Connect as it really behaves: eventual consistency, regions, outages, updates only while ACTIVE ---------------
# Each region has its own stubbed client, so a test states which region got every call; a region with no stubbed
# response left fails the test if anything is sent there.

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
