"""Custom::PhoneNumberContactFlowAssociation and Custom::CrossRegionRouting through the real handler, the emulator and
the driver: a number's flow from either region, a flow changed in place, a delete after the number is gone,
isolation and its removal, and bad input."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from local.emulator import Emulator
from tests.e2e.conftest import HOME, REPLICA, MakeDriver, assert_answered_once, custom

NUMBER_FLOW, ROUTING = "Custom::PhoneNumberContactFlowAssociation", "Custom::CrossRegionRouting"


def claimed_number(emu: Emulator, instance: str, number: str = "+15550100042") -> str:
    """A number claimed to an ACTIVE group of the instance; its ARN."""
    connect = boto3.client(
        "connect",
        region_name=HOME,
        endpoint_url=emu.endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
    )
    group = connect.create_traffic_distribution_group(Name="numbers", InstanceId=instance)["Arn"]
    emu.wait_for_status(group, "ACTIVE")
    return emu.claim_phone_number(group, number)


def in_region(arn: str, region: str) -> str:
    return arn.replace(f":{HOME}:", f":{region}:", 1)


def flow_stack(number: str, instance: str, flow: str) -> dict[str, Any]:
    return {
        "Resources": {
            "NumberFlow": custom(
                NUMBER_FLOW, ServiceTimeout="300", PhoneNumberId=number, InstanceId=instance, ContactFlowId=flow
            )
        },
        "Outputs": {"Id": {"Value": {"Ref": "NumberFlow"}}},
    }


def flow_of(emu: Emulator, number_arn: str) -> str | None:
    (number,) = [n for n in emu.phone_numbers() if n["Arn"] == number_arn]
    flow: str | None = number["ContactFlowId"]
    return flow


@pytest.mark.parametrize("region", [HOME, REPLICA])
def test_a_numbers_flow_is_set_from_either_region_and_changed_in_place(
    make_driver: MakeDriver, emu: Emulator, instance: str, region: str
) -> None:
    # Given a number claimed to a group, and two flows of the instance
    number = claimed_number(emu, instance)
    first, second = emu.add_contact_flow(instance), emu.add_contact_flow(instance)
    driver = make_driver()

    # When a stack associates the first flow, calling in ``region`` with the number's ARN
    stack = driver.create_stack(flow_stack(number, in_region(instance, region), in_region(first, region)))

    # Then the number answers with it, and every call went to that region
    assert stack.status == "CREATE_COMPLETE", stack.status_reason
    assert flow_of(emu, number) == first.rsplit("/", 1)[-1]
    assert {call["region"] for call in emu.calls("AssociatePhoneNumberContactFlow")} == {region}

    # When the flow changes
    update = driver.update_stack(flow_stack(number, in_region(instance, region), in_region(second, region)))

    # Then it is set in place: same physical id, no disassociation
    assert update.status == "UPDATE_COMPLETE", update.status_reason
    assert flow_of(emu, number) == second.rsplit("/", 1)[-1]
    assert update.outputs["Id"] == stack.outputs["Id"]
    assert emu.calls("DisassociatePhoneNumberContactFlow") == []

    # When the stack is deleted, the number has no flow any more
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert flow_of(emu, number) is None
    assert_answered_once(driver)


def test_a_delete_after_the_number_is_gone_is_success(make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
    number = claimed_number(emu, instance)
    driver = make_driver()
    assert driver.create_stack(flow_stack(number, instance, emu.add_contact_flow(instance))).status == "CREATE_COMPLETE"

    emu.release_phone_numbers(next(n["GroupArn"] for n in emu.phone_numbers()))

    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert_answered_once(driver)


def test_a_bare_number_id_from_the_groups_other_region_fails_saying_to_give_the_arn(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    number = claimed_number(emu, instance)
    flow = in_region(emu.add_contact_flow(instance), REPLICA)
    driver = make_driver()

    stack = driver.create_stack(flow_stack(number.rsplit("/", 1)[-1], in_region(instance, REPLICA), flow))

    assert stack.status == "ROLLBACK_COMPLETE"
    (failed,) = [r for r in driver.requests if r.status == "FAILED"]
    assert "Give PhoneNumberId as the number's ARN" in failed.reason
    assert flow_of(emu, number) is None


def test_isolation_and_its_removal(make_driver: MakeDriver, emu: Emulator) -> None:
    # Given an instance enabled for global routing
    instance = emu.add_instance(home_region=HOME, replica_region=REPLICA, global_routing=True)
    driver = make_driver()

    def routing(isolated: str, name: str = instance) -> dict[str, Any]:
        return {"Resources": {"Routing": custom(ROUTING, ServiceTimeout="300", InstanceId=name, IsolatedAll=isolated)}}

    # When a stack isolates its regions, then names the instance in its other region, then ends it
    created = driver.create_stack(routing("true"))
    assert created.status == "CREATE_COMPLETE", created.status_reason
    assert emu.instance(instance)["IsolatedAll"] is True
    moved = driver.update_stack(routing("true", in_region(instance, REPLICA)))
    assert moved.status == "UPDATE_COMPLETE" and emu.instance(instance)["IsolatedAll"] is True
    assert [r.request_type for r in driver.requests] == ["Create", "Update"]  # the same resource: no replacement
    ended = driver.update_stack(routing("false"))
    assert ended.status == "UPDATE_COMPLETE" and emu.instance(instance)["IsolatedAll"] is False

    # Then deleting the resource restores cross-region routing
    assert driver.update_stack(routing("true")).status == "UPDATE_COMPLETE"
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert emu.instance(instance)["IsolatedAll"] is False
    assert_answered_once(driver)


@pytest.mark.parametrize(
    ("global_routing", "isolated", "words"),
    [
        (True, "maybe", "Property IsolatedAll must be true or false, not 'maybe'."),
        (False, "true", "only on an instance enabled for global routing"),
    ],
)
def test_bad_input_fails_with_a_reason_that_names_it(
    make_driver: MakeDriver, emu: Emulator, global_routing: bool, isolated: str, words: str
) -> None:
    instance = emu.add_instance(home_region=HOME, replica_region=REPLICA, global_routing=global_routing)
    driver = make_driver()

    stack = driver.create_stack(
        {"Resources": {"Routing": custom(ROUTING, ServiceTimeout="300", InstanceId=instance, IsolatedAll=isolated)}}
    )

    assert stack.status == "ROLLBACK_COMPLETE"
    (failed,) = [r for r in driver.requests if r.status == "FAILED"]
    assert words in failed.reason
    assert emu.instance(instance)["IsolatedAll"] is False
    if isolated == "maybe":
        assert emu.calls("UpdateCrossRegionRouting") == []
