"""Traffic moved outside the stack (an automated failover at 3 a.m.) stays where it is through stack updates that do
not change the distribution; an update of the distribution moves it, and that is how a failback is done."""

from __future__ import annotations

from typing import Any

import boto3

from local.emulator import Emulator
from tests.e2e.conftest import (
    HOME,
    REPLICA,
    MakeDriver,
    assert_answered_once,
    default_group,
    group_and_default_template,
    split,
)

UPDATE = "UpdateTrafficDistribution"


def fail_over_outside_the_stack(emu: Emulator, arn: str) -> None:
    """What an automated failover does: UpdateTrafficDistribution in the surviving region, not through the stack."""
    connect = boto3.client(
        "connect",
        region_name=REPLICA,
        endpoint_url=emu.endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
    )
    connect.update_traffic_distribution(Id=arn, TelephonyConfig=split(0, 100), AgentConfig=split(0, 100))
    emu.wait_for_status(arn, "ACTIVE")


def telephony(emu: Emulator, arn: str) -> dict[str, Any]:
    distribution: dict[str, Any] = emu.group(arn)["Distribution"]["TelephonyConfig"]
    return distribution


def test_a_tags_only_update_after_a_failover_leaves_the_calls_in_the_surviving_region_and_a_failback_moves_them(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given a stack with all calls in the home region, which an automated failover then moved to the replica region
    default = default_group(emu)["Arn"]
    driver = make_driver()
    assert (
        driver.create_stack(group_and_default_template(instance, default, team="cc", home=100)).status
        == "CREATE_COMPLETE"
    )
    group = driver.requests[0].physical_id
    for arn in (group, default):
        fail_over_outside_the_stack(emu, arn)
    emu.reset_calls()

    # When the stack is updated with a change of a tag only
    stack = driver.update_stack(group_and_default_template(instance, default, team="contact-center", home=100))

    # Then the update succeeds, sends no distribution, and the calls stay in the surviving region
    assert stack.status == "UPDATE_COMPLETE"
    assert emu.calls(UPDATE) == []
    assert emu.group(group)["Tags"] == {"team": "contact-center"}
    for arn in (group, default):
        assert telephony(emu, arn) == split(0, 100)
    # (CloudFormation updates only the resource whose properties changed; its attributes show the live traffic)
    (update,) = [request for request in driver.requests if request.request_type == "Update"]
    assert (update.logical_id, update.data["TelephonyDistribution"]) == ("Tdg", f"{HOME}=0,{REPLICA}=100")

    # And when the template's distribution changes (the failback, reviewed as a stack update), it is applied
    emu.reset_calls()
    stack = driver.update_stack(group_and_default_template(instance, default, team="contact-center", home=90))

    assert stack.status == "UPDATE_COMPLETE"
    assert sorted(call["params"]["Id"] for call in emu.calls(UPDATE)) == sorted([group, default])
    for arn in (group, default):
        assert telephony(emu, arn) == split(90, 10)
    assert_answered_once(driver)
