"""Custom::PhoneNumberContactFlowAssociation: a number's flow, set in the region of InstanceId, with the number as the
template gave it; waits for a number just claimed, and a delete after the number is gone is success."""

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
TYPE = "Custom::PhoneNumberContactFlowAssociation"
NUMBER_ID = "7c1e3a52-0000-4b3e-9c6e-000000000001"
NUMBER_ARN = f"arn:aws:connect:{EAST}:{ACCOUNT}:phone-number/{NUMBER_ID}"
FLOW_ID = "f10f10f1-0000-4000-8000-000000000001"
FLOW_ARN = f"{INSTANCE_ARN}/contact-flow/{FLOW_ID}"
OTHER_FLOW_ARN = f"{INSTANCE_ARN}/contact-flow/f10f10f1-0000-4000-8000-000000000002"
WEST_INSTANCE_ARN = f"arn:aws:connect:{WEST}:{ACCOUNT}:instance/{INSTANCE_ID}"
PHYSICAL_ID = f"phone-number/{NUMBER_ID}/instance/{INSTANCE_ID}"
PROPS = {"PhoneNumberId": NUMBER_ARN, "InstanceId": INSTANCE_ARN, "ContactFlowId": FLOW_ARN}
ASSOCIATE, DISASSOCIATE, DESCRIBE = (
    "associate_phone_number_contact_flow",
    "disassociate_phone_number_contact_flow",
    "describe_phone_number",
)


def flow_request(request_type: str, physical_id: str | None = None, **props: Any) -> Request:
    event = load_event(request_type.lower(), ResourceType=TYPE)
    event["ResourceProperties"] = {"ServiceToken": "arn:x", **PROPS, **props}
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id or PHYSICAL_ID
    return Request.from_event(event, EAST)


def sent(**props: Any) -> dict[str, str]:
    wanted = {**PROPS, **props}
    return {key: wanted[key] for key in ("PhoneNumberId", "InstanceId", "ContactFlowId")}


def refused(stub: Stubber, code: str = "ResourceNotFoundException", **props: Any) -> None:
    status = {"ResourceNotFoundException": 404, "InvalidParameterException": 400}[code]
    stub.add_client_error(ASSOCIATE, code, "no", status, expected_params=sent(**props))


def described(stub: Stubber, status: str | None, number: str = NUMBER_ARN) -> None:
    if status is None:
        stub.add_client_error(DESCRIBE, "ResourceNotFoundException", "not found", 404, {"PhoneNumberId": number})
        return
    summary = {"PhoneNumberId": NUMBER_ID, "PhoneNumberArn": NUMBER_ARN, "PhoneNumberStatus": {"Status": status}}
    stub.add_response(DESCRIBE, {"ClaimedPhoneNumberSummary": summary}, {"PhoneNumberId": number})


def timed(clock: FakeClock, seconds: float = 600) -> Budget:
    """A budget whose wall clock is the fake clock too, so that a wait across polls can be told."""
    return Budget(clock() + seconds, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high, wall=clock)


DONE = Done(PHYSICAL_ID, {"PhoneNumberId": NUMBER_ID, "ContactFlowId": FLOW_ARN})


class TestCreate:
    def test_associates_in_the_region_of_the_instance_with_the_number_as_given(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        regions.stubs[EAST].add_response(ASSOCIATE, {}, sent())

        assert resources.handle(flow_request("Create"), regions, budget, Progress()) == DONE
        assert regions.asked == [EAST]

    def test_from_the_groups_other_region_the_numbers_arn_stays_an_arn(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        west_flow = f"{WEST_INSTANCE_ARN}/contact-flow/{FLOW_ID}"
        regions.stubs[WEST].add_response(ASSOCIATE, {}, sent(InstanceId=WEST_INSTANCE_ARN, ContactFlowId=west_flow))
        request = flow_request("Create", InstanceId=WEST_INSTANCE_ARN, ContactFlowId=west_flow)

        assert resources.handle(request, regions, budget, Progress()) == Done(
            PHYSICAL_ID, {"PhoneNumberId": NUMBER_ID, "ContactFlowId": west_flow}
        )
        assert regions.asked == [WEST]

    def test_a_bare_instance_id_calls_in_the_stacks_region(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_response(ASSOCIATE, {}, sent(InstanceId=INSTANCE_ID, ContactFlowId=FLOW_ID))

        request = flow_request("Create", InstanceId=INSTANCE_ID, ContactFlowId=FLOW_ID)
        result = resources.handle(request, regions, budget, Progress())

        assert result == Done(PHYSICAL_ID, {"PhoneNumberId": NUMBER_ID, "ContactFlowId": FLOW_ID})

    def test_a_number_not_visible_yet_is_waited_for(self, regions: TwoRegions, clock: FakeClock) -> None:
        east = regions.stubs[EAST]
        refused(east)
        described(east, None)
        east.add_response(ASSOCIATE, {}, sent())

        assert resources.handle(flow_request("Create"), regions, timed(clock), Progress()) == DONE

    def test_a_number_not_claimed_yet_is_waited_for_whichever_error_connect_gives(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        east = regions.stubs[EAST]
        refused(east, "InvalidParameterException")
        described(east, "IN_PROGRESS")
        refused(east)
        described(east, "IN_PROGRESS")
        east.add_response(ASSOCIATE, {}, sent())

        assert resources.handle(flow_request("Create"), regions, timed(clock), Progress()) == DONE

    def test_the_wait_goes_on_across_polls_from_when_it_began(self, regions: TwoRegions, clock: FakeClock) -> None:
        east = regions.stubs[EAST]
        refused(east)
        described(east, "IN_PROGRESS")
        began = clock()

        result = resources.handle(flow_request("Create"), regions, timed(clock, seconds=0.5), Progress())

        assert result == Pending({"Phase": "associate-flow", "Since": f"{began:.3f}"})
        east.add_response(ASSOCIATE, {}, sent())
        request = flow_request("Create")
        assert resources.resume(request, result.state, regions, timed(clock), Progress()) == DONE

    def test_a_number_still_not_found_when_the_time_is_spent_fails_saying_what_to_check(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        east = regions.stubs[EAST]
        refused(east, PhoneNumberId=NUMBER_ID)
        described(east, None, number=NUMBER_ID)
        described(regions.stubs[WEST], None, number=NUMBER_ID)  # nor in the instance's other region
        state = {"Phase": "associate-flow", "Since": f"{clock() - 3600:.3f}"}
        request = flow_request("Create", PhoneNumberId=NUMBER_ID)

        with pytest.raises(ProviderError) as raised:
            resources.resume(request, state, regions, timed(clock), Progress())

        assert "is not found in us-east-1 after 60 min" in raised.value.reason
        assert "give PhoneNumberId as the number's ARN" in raised.value.reason

    def test_a_bare_id_that_the_other_region_knows_fails_at_once_saying_to_give_the_arn(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        west_flow = f"{WEST_INSTANCE_ARN}/contact-flow/{FLOW_ID}"
        west = regions.stubs[WEST]
        refused(west, PhoneNumberId=NUMBER_ID, InstanceId=WEST_INSTANCE_ARN, ContactFlowId=west_flow)
        described(west, None, number=NUMBER_ID)
        described(regions.stubs[EAST], "CLAIMED", number=NUMBER_ID)
        request = flow_request("Create", PhoneNumberId=NUMBER_ID, InstanceId=WEST_INSTANCE_ARN, ContactFlowId=west_flow)

        with pytest.raises(ProviderError) as raised:
            resources.handle(request, regions, budget, Progress())

        assert "Give PhoneNumberId as the number's ARN" in raised.value.reason
        assert raised.value.code == "ResourceNotFoundException"

    def test_the_other_region_down_only_means_waiting_on(self, regions: TwoRegions, clock: FakeClock) -> None:
        east = regions.stubs[EAST]
        refused(east, PhoneNumberId=NUMBER_ID)
        described(east, None, number=NUMBER_ID)
        for _ in range(8):
            regions.stubs[WEST].add_client_error(DESCRIBE, "InternalServiceException", "down", 500)
        east.add_response(ASSOCIATE, {}, sent(PhoneNumberId=NUMBER_ID))

        result = resources.handle(flow_request("Create", PhoneNumberId=NUMBER_ID), regions, timed(clock), Progress())

        assert result == DONE

    def test_a_claimed_number_whose_flow_connect_does_not_find_fails_naming_the_flow(
        self, regions: TwoRegions, clock: FakeClock
    ) -> None:
        east = regions.stubs[EAST]
        refused(east)
        described(east, "CLAIMED")
        state = {"Phase": "associate-flow", "Since": f"{clock() - 300:.3f}"}

        with pytest.raises(ProviderError) as raised:
            resources.resume(flow_request("Create"), state, regions, timed(clock), Progress())

        assert f"Check that ContactFlowId {FLOW_ARN} is a flow of instance {INSTANCE_ARN}" in raised.value.reason

    def test_a_claim_that_failed_fails(self, regions: TwoRegions, budget: Budget) -> None:
        east = regions.stubs[EAST]
        refused(east)
        described(east, "FAILED")

        with pytest.raises(ProviderError) as raised:
            resources.handle(flow_request("Create"), regions, budget, Progress())

        assert raised.value.code == "ClaimFailed"

    def test_an_invalid_parameter_of_a_claimed_number_fails_with_connects_words(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        east = regions.stubs[EAST]
        refused(east, "InvalidParameterException")
        described(east, "CLAIMED")

        with pytest.raises(ProviderError) as raised:
            resources.handle(flow_request("Create"), regions, budget, Progress())

        assert raised.value.reason.startswith("Connect AssociatePhoneNumberContactFlow failed with InvalidParameter")
        assert "ContactFlowId is a flow of that instance" in raised.value.reason

    @pytest.mark.parametrize(
        ("props", "words"),
        [
            ({"PhoneNumberId": ""}, "Property PhoneNumberId is required."),
            ({"ContactFlowId": None}, "Property ContactFlowId is required."),
            ({"PhoneNumberId": INSTANCE_ARN}, "is neither a phone number id nor a phone number ARN"),
            ({"ContactFlowId": NUMBER_ARN}, "is neither a flow id nor a flow ARN"),
            ({"InstanceId": "arn:aws:connect:us-east-1:1:x"}, "is neither a Connect instance id nor an instance ARN"),
            (
                {"ContactFlowId": f"arn:aws:connect:{EAST}:{ACCOUNT}:instance/other/contact-flow/{FLOW_ID}"},
                "is a flow of instance other, but InstanceId names instance",
            ),
            ({"ContactFlowId": f"{WEST_INSTANCE_ARN}/contact-flow/{FLOW_ID}"}, "is a flow in us-west-2, but the call"),
            (
                {"PhoneNumberId": f"arn:aws:connect:eu-west-2:{ACCOUNT}:phone-number/{NUMBER_ID}"},
                "was claimed in eu-west-2, but InstanceId names an instance in us-east-1",
            ),
            ({"Flow": FLOW_ID}, "Unknown property Flow."),
        ],
    )
    def test_bad_input_fails_before_any_call(
        self, regions: TwoRegions, budget: Budget, props: dict[str, Any], words: str
    ) -> None:
        with pytest.raises(ProviderError) as raised:
            resources.handle(flow_request("Create", **props), regions, budget, Progress())

        assert words in raised.value.reason
        assert regions.asked == []


class TestUpdate:
    def test_a_new_flow_is_set_in_place_without_a_disassociation(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_response(ASSOCIATE, {}, sent(ContactFlowId=OTHER_FLOW_ARN))

        result = resources.handle(flow_request("Update", ContactFlowId=OTHER_FLOW_ARN), regions, budget, Progress())

        assert result == Done(PHYSICAL_ID, {"PhoneNumberId": NUMBER_ID, "ContactFlowId": OTHER_FLOW_ARN})

    def test_the_number_by_id_instead_of_by_arn_is_the_same_association(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        regions.stubs[EAST].add_response(ASSOCIATE, {}, sent(PhoneNumberId=NUMBER_ID))

        result = resources.handle(flow_request("Update", PhoneNumberId=NUMBER_ID), regions, budget, Progress())

        assert isinstance(result, Done) and result.physical_resource_id == PHYSICAL_ID

    def test_another_number_is_a_replacement(self, regions: TwoRegions, budget: Budget) -> None:
        other = f"arn:aws:connect:{EAST}:{ACCOUNT}:phone-number/7c1e3a52-0000-4b3e-9c6e-000000000002"
        regions.stubs[EAST].add_response(ASSOCIATE, {}, sent(PhoneNumberId=other))

        result = resources.handle(flow_request("Update", PhoneNumberId=other), regions, budget, Progress())

        assert isinstance(result, Done)
        assert (
            result.physical_resource_id == f"phone-number/7c1e3a52-0000-4b3e-9c6e-000000000002/instance/{INSTANCE_ID}"
        )


class TestDelete:
    def test_disassociates_in_the_region_of_the_instance(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_response(DISASSOCIATE, {}, {"PhoneNumberId": NUMBER_ARN, "InstanceId": INSTANCE_ARN})

        assert resources.handle(flow_request("Delete"), regions, budget, Progress()) == Done(PHYSICAL_ID)

    def test_a_number_or_association_already_gone_is_success(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_client_error(DISASSOCIATE, "ResourceNotFoundException", "gone", 404)

        assert resources.handle(flow_request("Delete"), regions, budget, Progress()) == Done(PHYSICAL_ID)

    def test_crhelpers_id_after_a_failed_create_calls_nothing(self, regions: TwoRegions, budget: Budget) -> None:
        invented = "stack_Flow_ABCDEFGH"

        assert resources.handle(flow_request("Delete", invented), regions, budget, Progress()) == Done(invented)
        assert regions.asked == []

    def test_properties_that_never_parsed_call_nothing(self, regions: TwoRegions, budget: Budget) -> None:
        result = resources.handle(flow_request("Delete", ContactFlowId="not a flow"), regions, budget, Progress())

        assert result == Done(PHYSICAL_ID)
        assert regions.asked == []

    def test_another_error_fails(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_client_error(DISASSOCIATE, "AccessDeniedException", "denied", 403)

        with pytest.raises(ProviderError) as raised:
            resources.handle(flow_request("Delete"), regions, budget, Progress())

        assert raised.value.code == "AccessDeniedException"
