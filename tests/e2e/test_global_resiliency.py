"""The whole of Global Resiliency in one stack (examples/global-resiliency.yaml): replica, default group,
group, phone number and agents, through the real handler, the emulator and the driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.emulator import Emulator
from tests.e2e.conftest import (
    HANDOVER_DELAY_S,
    HOME,
    REPLICA,
    SHORT_TIMEOUT_S,
    MakeDriver,
    assert_answered_once,
    assert_nothing_left,
    custom,
    owned_groups,
    split,
    traffic,
)

GLOBAL_YAML = Path(__file__).resolve().parents[2] / "examples" / "global-resiliency.yaml"
REPLICATION = "ReplicateInstance"


FLOW_ID = "f10f10f1-0000-4000-8000-000000000001"


def setup_params(source: str, agents: list[str], **extra: str) -> dict[str, str]:
    return {
        "SourceInstanceArn": source,
        "ReplicaRegion": REPLICA,
        "ReplicaAlias": "contact-center-west",
        "AgentUserIds": ",".join(agents),
        "ContactFlowArn": f"{source}/contact-flow/{FLOW_ID}",
        **extra,
    }


def replica_status(emu: Emulator, source: str) -> str | None:
    replica = emu.instance(source).get("Replica")
    return replica["Status"] if replica else None


@pytest.fixture
def single(emu: Emulator) -> str:
    """A single, unreplicated instance with SAML-like settings, as a user starts."""
    return emu.add_instance(home_region=HOME, replica_region=None, alias="contact-center")


def test_one_template_from_a_single_instance_to_failover_and_back_to_nothing(
    make_driver: MakeDriver, emu: Emulator, single: str
) -> None:
    # Given an instance, two agents, and replication that outlives the first invocation
    agents = [emu.add_user(single), emu.add_user(single)]
    emu.set_delays(replication=HANDOVER_DELAY_S)
    driver = make_driver(timeout_s=SHORT_TIMEOUT_S, native_endpoint_url=emu.endpoint_url, max_polls=40)

    # When the stack is created
    stack = driver.create_stack(GLOBAL_YAML, setup_params(single, agents))

    # Then the replica is complete, found through scheduled polling, with everything on top of it
    assert stack.status == "CREATE_COMPLETE", stack.status_reason
    replica = next(r for r in driver.requests if r.logical_id == "Replica")
    assert replica.polls >= 1 and replica.status == "SUCCESS"
    assert replica_status(emu, single) == "INSTANCE_REPLICATION_COMPLETE"
    replica_arn = stack.outputs["ReplicaArn"]
    assert replica_arn == single.replace(HOME, REPLICA)
    default = next(g for g in emu.groups() if g["IsDefault"])
    assert stack.outputs["DefaultTrafficDistributionGroupArn"] == default["Arn"]
    (group,) = owned_groups(emu)
    assert sorted(group["Users"]) == sorted(agents)
    (number,) = emu.phone_numbers()
    assert number["TargetArn"] == group["Arn"] and stack.outputs["PhoneNumberAddress"] == number["Number"]
    assert number["ContactFlowId"] == FLOW_ID  # the number answers: its flow is set
    assert default["Distribution"]["SignInConfig"]["Distributions"] == [
        {"Region": HOME, "Enabled": True},
        {"Region": REPLICA, "Enabled": True},
    ]

    # When the stack fails over
    replications = len(emu.calls(REPLICATION))
    failover = driver.update_stack(GLOBAL_YAML, setup_params(single, agents, ActiveRegion="Replica"))

    # Then the calls and agents of the group, and the default group's calls, are in the replica region
    assert failover.status == "UPDATE_COMPLETE", failover.status_reason
    assert traffic(emu.group(group["Arn"])) == (split(0, 100), split(0, 100))
    assert emu.group(default["Arn"])["Distribution"]["TelephonyConfig"] == split(0, 100)
    assert len(emu.calls(REPLICATION)) == replications  # the replica was left alone

    # When the stack is deleted
    assert driver.delete_stack().status == "DELETE_COMPLETE"

    # Then everything is gone, in the right order, and the production instance was never touched
    assert replica_status(emu, single) is None
    assert emu.deleted_instances() == []
    assert owned_groups(emu) == [] and emu.phone_numbers() == []
    deletes = emu.calls("DeleteInstance")
    assert [(c["region"], c["params"]["InstanceId"]) for c in deletes] == [(REPLICA, replica_arn)]
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_failed_replication_rolls_back_and_leaves_nothing(make_driver: MakeDriver, emu: Emulator, single: str) -> None:
    emu.fail_replication(reason="The instance's directory cannot be replicated")
    driver = make_driver(native_endpoint_url=emu.endpoint_url)

    stack = driver.create_stack(GLOBAL_YAML, setup_params(single, []))

    assert stack.status == "ROLLBACK_COMPLETE"
    failed = next(r for r in driver.requests if r.logical_id == "Replica" and r.request_type == "Create")
    assert "The instance's directory cannot be replicated" in failed.reason
    assert failed.physical_id == single.replace(HOME, REPLICA)  # so the rollback deleted it
    assert replica_status(emu, single) is None
    assert emu.deleted_instances() == []
    assert_nothing_left(emu)


def test_an_update_that_would_replace_the_replica_is_refused_before_any_call(
    make_driver: MakeDriver, emu: Emulator, single: str
) -> None:
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    assert driver.create_stack(GLOBAL_YAML, setup_params(single, [])).status == "CREATE_COMPLETE"
    emu.reset_calls()

    stack = driver.update_stack(GLOBAL_YAML, {**setup_params(single, []), "ReplicaAlias": "renamed-west"})

    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    refused = next(r for r in driver.requests if r.status == "FAILED")
    assert "30 days" in refused.reason
    assert emu.calls(REPLICATION) == [] and emu.calls("DeleteInstance") == []
    assert replica_status(emu, single) == "INSTANCE_REPLICATION_COMPLETE"
    assert driver.delete_stack().status == "DELETE_COMPLETE"


def test_fifty_agents_associated_at_once_under_the_quota(make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
    agents = [emu.add_user(instance) for _ in range(50)]
    group_driver = make_driver(stack_name="group")
    group_arn = group_driver.create_stack(
        {
            "Resources": {
                "Tdg": custom("Custom::TrafficDistributionGroup", Name="agents", InstanceId=instance),
            },
            "Outputs": {"Arn": {"Value": {"Ref": "Tdg"}}},
        }
    ).outputs["Arn"]
    emu.set_throttle(2.0, burst=5)
    driver = make_driver(stack_name="agents", parallel=True, timeout_s=120)
    resources: dict[str, Any] = {
        f"Agent{index}": custom(
            "Custom::TrafficDistributionGroupUser",
            TrafficDistributionGroupId=group_arn,
            InstanceId=instance,
            UserId=user,
        )
        for index, user in enumerate(agents)
    }

    stack = driver.create_stack({"Resources": resources})

    assert stack.status == "CREATE_COMPLETE", stack.status_reason
    assert sorted(emu.group(group_arn)["Users"]) == sorted(agents)
    assert emu.throttle_count() > 0  # the quota was really in the way, and no answer FAILED for it
    assert_answered_once(driver)
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert emu.group(group_arn)["Users"] == []


def test_cross_region_routing_of_an_instance_with_global_routing_is_isolated_then_restored(
    make_driver: MakeDriver, emu: Emulator
) -> None:
    # Given a single instance enabled for global routing, replicated by the stack
    source = emu.add_instance(home_region=HOME, replica_region=None, alias="global", global_routing=True)
    driver = make_driver(native_endpoint_url=emu.endpoint_url)

    # When the stack isolates the regions
    stack = driver.create_stack(GLOBAL_YAML, setup_params(source, [], CrossRegionRouting="Isolated"))

    # Then Connect routes no contact across them, until the stack says Routed, then Unmanaged
    assert stack.status == "CREATE_COMPLETE", stack.status_reason
    assert emu.instance(source)["IsolatedAll"] is True
    routed = driver.update_stack(GLOBAL_YAML, setup_params(source, [], CrossRegionRouting="Routed"))
    assert routed.status == "UPDATE_COMPLETE" and emu.instance(source)["IsolatedAll"] is False
    isolated = driver.update_stack(GLOBAL_YAML, setup_params(source, [], CrossRegionRouting="Isolated"))
    assert isolated.status == "UPDATE_COMPLETE" and emu.instance(source)["IsolatedAll"] is True
    # Removing the resource ends the isolation
    unmanaged = driver.update_stack(GLOBAL_YAML, setup_params(source, [], CrossRegionRouting="Unmanaged"))
    assert unmanaged.status == "UPDATE_COMPLETE" and emu.instance(source)["IsolatedAll"] is False
    assert ("Delete", "Routing", "SUCCESS") in [(r.request_type, r.logical_id, r.status) for r in driver.requests]
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert_answered_once(driver)
