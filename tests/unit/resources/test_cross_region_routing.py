"""Custom::CrossRegionRouting: the isolation is sent, then read back until Connect reports it; Delete restores
cross-region routing; the other region takes the calls when the instance's region is down."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

import resources
from errors import ProviderError
from request import Done, Pending, Progress, Request
from tests.unit.conftest import ACCOUNT, INSTANCE_ARN, INSTANCE_ID, FakeClock, TwoRegions, load_event
from waiting import Budget

EAST, WEST = "us-east-1", "us-west-2"
TYPE = "Custom::CrossRegionRouting"
PHYSICAL_ID = f"cross-region-routing/instance/{INSTANCE_ID}"
UPDATE, GET = "update_cross_region_routing", "get_cross_region_routing"
ISOLATED = Done(PHYSICAL_ID, {"IsolatedRegions": f"{EAST},{WEST}"})
ROUTED = Done(PHYSICAL_ID, {"IsolatedRegions": ""})


def routing_request(request_type: str, physical_id: str | None = None, **props: Any) -> Request:
    event = load_event(request_type.lower(), ResourceType=TYPE)
    event["ResourceProperties"] = {"ServiceToken": "arn:x", "InstanceId": INSTANCE_ARN, "IsolatedAll": "true", **props}
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id or PHYSICAL_ID
    return Request.from_event(event, EAST)


def updated(stub: Stubber, isolated: bool, instance: str = INSTANCE_ARN, error: str | None = None) -> None:
    params = {"InstanceId": instance, "IsolatedAll": isolated}
    if error is None:
        stub.add_response(UPDATE, {}, params)
    else:
        status = {"ResourceConflictException": 409, "InvalidRequestException": 400, "ResourceNotFoundException": 404}
        stub.add_client_error(UPDATE, error, "no", status.get(error, 500), expected_params=params)


def reported(stub: Stubber, *regions: str, instance: str = INSTANCE_ARN) -> None:
    stub.add_response(GET, {"IsolatedRegions": list(regions)}, {"InstanceId": instance})


def timed(clock: FakeClock, seconds: float = 600) -> Budget:
    return Budget(clock() + seconds, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high, wall=clock)


class TestCreate:
    def test_isolates_then_reads_back_until_connect_reports_it(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        updated(east, True)
        reported(east)  # not applied yet
        reported(east, WEST, EAST)

        assert resources.handle(routing_request("Create"), regions, budget, Progress()) == ISOLATED
        assert set(regions.asked) == {EAST}

    @pytest.mark.parametrize(("given", "isolated"), [("false", False), ("FALSE", False), (True, True)])
    def test_isolated_all_as_cloudformation_sends_it(
        self, regions: TwoRegions, budget: Budget, given: Any, isolated: bool
    ) -> None:
        east = regions.stubs[EAST]
        updated(east, isolated)
        reported(east, *([EAST, WEST] if isolated else []))

        result = resources.handle(routing_request("Create", IsolatedAll=given), regions, budget, Progress())

        assert result == (ISOLATED if isolated else ROUTED)

    def test_a_bare_instance_id_calls_in_the_stacks_region(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        updated(east, True, instance=INSTANCE_ID)
        reported(east, EAST, WEST, instance=INSTANCE_ID)

        result = resources.handle(routing_request("Create", InstanceId=INSTANCE_ID), regions, budget, Progress())

        assert result == ISOLATED

    def test_when_the_instances_region_is_down_the_other_region_takes_the_calls_by_the_instances_id(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east, west = regions.stubs[EAST], regions.stubs[WEST]
        for _ in range(3):
            east.add_client_error(UPDATE, "InternalServiceException", "down", 500)
        updated(west, True, instance=INSTANCE_ID)
        for _ in range(3):
            east.add_client_error(GET, "InternalServiceException", "down", 500)
        reported(west, EAST, WEST, instance=INSTANCE_ID)

        assert resources.handle(routing_request("Create"), regions, budget, Progress()) == ISOLATED

    def test_a_conflict_is_waited_out_and_the_isolation_sent_again(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        updated(east, True, error="ResourceConflictException")
        reported(east)
        updated(east, True)
        reported(east, EAST, WEST)

        assert resources.handle(routing_request("Create"), regions, budget, Progress()) == ISOLATED

    def test_an_instance_not_enabled_for_global_routing_fails_saying_so(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        updated(regions.stubs[EAST], True, error="InvalidRequestException")

        with pytest.raises(ProviderError) as raised:
            resources.handle(routing_request("Create"), regions, budget, Progress())

        assert "only on an instance enabled for global routing" in raised.value.reason
        assert raised.value.code == "InvalidRequestException"

    def test_a_read_back_that_never_agrees_hands_over_then_fails_when_the_time_is_spent(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        east = regions.stubs[EAST]
        updated(east, True)
        reported(east)
        began = clock()

        result = resources.handle(routing_request("Create"), regions, timed(clock, seconds=0.5), Progress())

        assert result == Pending({"Phase": "isolate", "Since": f"{began:.3f}"})
        clock.now += 3600
        updated(east, True)
        reported(east)
        with pytest.raises(ProviderError) as raised:
            resources.resume(routing_request("Create"), result.state, regions, timed(clock), Progress())
        assert "GetCrossRegionRouting reports isolated regions: none" in raised.value.reason
        assert raised.value.physical_resource_id == PHYSICAL_ID  # the rollback's Delete restores the routing

    def test_a_failure_after_connect_took_the_change_names_the_resource_so_the_rollback_restores_routing(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east = regions.stubs[EAST]
        updated(east, True)
        east.add_client_error(GET, "AccessDeniedException", "denied", 403)

        with pytest.raises(ProviderError) as raised:
            resources.handle(routing_request("Create"), regions, budget, Progress())

        assert raised.value.physical_resource_id == PHYSICAL_ID

    def test_a_failure_before_connect_took_anything_leaves_the_id_to_crhelper(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        updated(regions.stubs[EAST], True, error="InvalidRequestException")

        with pytest.raises(ProviderError) as raised:
            resources.handle(routing_request("Create"), regions, budget, Progress())

        assert raised.value.physical_resource_id is None

    @pytest.mark.parametrize(
        ("props", "words"),
        [
            ({"IsolatedAll": "yes"}, "Property IsolatedAll must be true or false, not 'yes'."),
            ({"IsolatedAll": ""}, "Property IsolatedAll is required"),
            ({"IsolatedAll": 1}, "Property IsolatedAll must be true or false, not 1."),
            ({"InstanceId": ""}, "Property InstanceId is required."),
            ({"InstanceId": "arn:aws:connect:us-east-1:1:queue/x"}, "does not match Connect's pattern"),
            ({"Isolated": "true"}, "Unknown property Isolated."),
        ],
    )
    def test_bad_input_fails_before_any_call(
        self, regions: TwoRegions, budget: Budget, props: dict[str, Any], words: str
    ) -> None:
        with pytest.raises(ProviderError) as raised:
            resources.handle(routing_request("Create", **props), regions, budget, Progress())

        assert words in raised.value.reason
        assert regions.asked == []


class TestUpdate:
    def test_ending_the_isolation_in_place(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        updated(east, False)
        reported(east)

        assert resources.handle(routing_request("Update", IsolatedAll="false"), regions, budget, Progress()) == ROUTED

    def test_the_instance_named_in_its_other_region_is_the_same_resource(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        west_arn = f"arn:aws:connect:{WEST}:{ACCOUNT}:instance/{INSTANCE_ID}"
        west = regions.stubs[WEST]
        updated(west, True, instance=west_arn)
        reported(west, EAST, WEST, instance=west_arn)

        assert resources.handle(routing_request("Update", InstanceId=west_arn), regions, budget, Progress()) == ISOLATED


class TestDelete:
    def test_restores_cross_region_routing(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        updated(east, False)
        reported(east)

        assert resources.handle(routing_request("Delete"), regions, budget, Progress()) == ROUTED

    @pytest.mark.parametrize("error", ["ResourceNotFoundException", "InvalidRequestException"])
    def test_an_instance_gone_or_no_longer_enabled_isolates_nothing(
        self, regions: TwoRegions, budget: Budget, error: str
    ) -> None:
        updated(regions.stubs[EAST], False, error=error)

        result = resources.handle(routing_request("Delete"), regions, budget, Progress())

        assert isinstance(result, Done) and result.physical_resource_id == PHYSICAL_ID
        assert result.note.startswith(f"Left cross-region routing of instance {INSTANCE_ARN} as it is")

    def test_crhelpers_id_after_a_failed_create_calls_nothing(self, regions: TwoRegions, budget: Budget) -> None:
        invented = "stack_Routing_ABCDEFGH"

        assert resources.handle(routing_request("Delete", invented), regions, budget, Progress()) == Done(invented)
        assert regions.asked == []

    def test_properties_that_never_parsed_call_nothing(self, regions: TwoRegions, budget: Budget) -> None:
        result = resources.handle(routing_request("Delete", IsolatedAll="maybe"), regions, budget, Progress())

        assert result == Done(PHYSICAL_ID)
        assert regions.asked == []

    def test_a_restore_handed_over_carries_on_as_a_restore(self, regions: TwoRegions, clock: FakeClock) -> None:
        east = regions.stubs[EAST]
        updated(east, False)
        reported(east)
        state = {"Phase": "restore", "Since": f"{clock():.3f}"}

        assert resources.resume(routing_request("Delete"), state, regions, timed(clock), Progress()) == ROUTED
