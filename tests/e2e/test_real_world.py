"""The provider against Connect as it really behaves (docs/emulator-fidelity.md): eventual consistency,
calls only where Connect takes them, an outage of the home region, the account's shared quota,
EventBridge partial failures and an invocation that dies mid-wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.emulator import Emulator
from local.runtime import LambdaFunction
from tests.e2e.conftest import (
    HANDOVER_DELAY_S,
    HOME,
    REPLICA,
    SHORT_TIMEOUT_S,
    STACK_YAML,
    MakeDriver,
    assert_answered_once,
    assert_nothing_left,
    custom,
    owned_groups,
    params,
    split,
    summary,
    traffic,
)

MakeFunction = Callable[..., LambdaFunction]
REGIONAL_YAML = Path(__file__).resolve().parents[2] / "examples" / "regional-failover.yaml"
GROUP = "Custom::TrafficDistributionGroup"


def group_template(
    telephony: dict[str, Any], *, name: str = "outage-tdg", count: int = 1, instances: int = 1
) -> dict[str, Any]:
    """``count`` groups, spread over ``instances`` instances (Connect allows 10 groups per instance)."""
    resources = {
        f"Tdg{index}" if count > 1 else "Tdg": custom(
            GROUP,
            Name=f"{name}-{index}" if count > 1 else name,
            InstanceId={
                "Ref": "ConnectInstanceArn" if index % instances == 0 else f"ConnectInstanceArn{index % instances}"
            },
            TelephonyConfig=telephony,
            AgentConfig=telephony,
            Tags=[{"Key": "team", "Value": "voice"}],
        )
        for index in range(count)
    }
    parameters = {"ConnectInstanceArn": {"Type": "String"}, "ProviderStackName": {"Type": "String"}}
    parameters |= {f"ConnectInstanceArn{index}": {"Type": "String"} for index in range(1, instances)}
    return {"Parameters": parameters, "Resources": resources}


def calls_to(emu: Emulator, region: str) -> list[str]:
    return [c["operation"] for c in emu.calls(service="connect") if c["region"] == region]


class TestFailoverWhileTheHomeRegionIsDown:
    def test_a_group_stack_in_the_surviving_region_moves_everything_without_calling_home(
        self, make_driver: MakeDriver, make_function: MakeFunction, emu: Emulator, instance: str
    ) -> None:
        # Given a group stack deployed in us-west-2 (provider there too) for an instance at home in us-east-1
        driver = make_driver(make_function(region=REPLICA), region=REPLICA)
        assert driver.create_stack(group_template(split(100, 0)), params(instance)).status == "CREATE_COMPLETE"
        # When us-east-1's Connect API is down and the stack moves all calls and agents to us-west-2
        emu.set_outage(HOME, "503")
        emu.reset_calls()
        stack = driver.update_stack(group_template(split(0, 100)), params(instance))
        # Then the update succeeds without one call to us-east-1, and Connect reports the new split
        assert stack.status == "UPDATE_COMPLETE", stack.status_reason
        assert calls_to(emu, HOME) == []
        assert "UpdateTrafficDistribution" in calls_to(emu, REPLICA)
        (group,) = owned_groups(emu)
        assert traffic(group) == (split(0, 100), split(0, 100))
        assert stack.resources["Tdg"].data["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"
        assert_answered_once(driver)

    def test_the_regional_distribution_stack_of_the_runbook(
        self, make_driver: MakeDriver, make_function: MakeFunction, emu: Emulator, instance: str
    ) -> None:
        # Given the group (home stack) and a copy of regional-failover.yaml in each region
        home = make_driver(stack_name="group")
        group_arn = home.create_stack(STACK_YAML, params(instance)).outputs["TdgArn"]
        copies = {
            region: make_driver(make_function(region=region), region=region, stack_name=f"failover-{region}")
            for region in (HOME, REPLICA)
        }
        regional = {"TdgArn": group_arn, "ProviderStackName": "connect-tdg-provider"}
        for driver in copies.values():
            assert driver.create_stack(REGIONAL_YAML, regional).status == "CREATE_COMPLETE"
        # When us-east-1 is down, the us-west-2 copy fails over
        emu.set_outage(HOME, "drop")
        emu.reset_calls()
        stack = copies[REPLICA].update_stack(REGIONAL_YAML, {**regional, "ActiveRegion": REPLICA})
        # Then everything moved, and nothing was sent to us-east-1
        assert stack.status == "UPDATE_COMPLETE", stack.status_reason
        assert calls_to(emu, HOME) == []
        assert traffic(emu.group(group_arn)) == (split(0, 100), split(0, 100))
        assert stack.outputs["AgentDistribution"] == "us-east-1=0,us-west-2=100"
        # And once us-east-1 is back, the home copy fails back
        emu.set_outage(HOME, None)
        back = copies[HOME].update_stack(REGIONAL_YAML, {**regional, "ActiveRegion": REPLICA})
        assert back.status == "UPDATE_COMPLETE"
        back = copies[HOME].update_stack(REGIONAL_YAML, {**regional, "ActiveRegion": HOME})
        assert back.status == "UPDATE_COMPLETE"
        assert traffic(emu.group(group_arn)) == (split(100, 0), split(100, 0))
        for driver in (*copies.values(), home):
            assert driver.delete_stack().status == "DELETE_COMPLETE"
        assert owned_groups(emu) == []
        assert_nothing_left(emu)

    def test_a_tag_change_during_the_outage_fails_before_any_traffic_moves(
        self, make_driver: MakeDriver, make_function: MakeFunction, emu: Emulator, instance: str
    ) -> None:
        driver = make_driver(make_function(region=REPLICA), region=REPLICA)
        driver.create_stack(group_template(split(100, 0)), params(instance))
        emu.set_outage(HOME, "503")
        changed = group_template(split(0, 100))
        changed["Resources"]["Tdg"]["Properties"]["Tags"] = [{"Key": "team", "Value": "telephony"}]

        stack = driver.update_stack(changed, params(instance))

        assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
        (failed, *_) = [r for r in driver.requests if r.status == "FAILED"]
        assert "No traffic was moved. Split the change" in failed.reason
        assert emu.calls("UpdateTrafficDistribution") == []
        (group,) = owned_groups(emu)
        assert traffic(group) == (split(100, 0), split(100, 0))


class TestEventualConsistency:
    def test_a_group_invisible_for_two_seconds_after_create(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        emu.set_visibility_lag(2.0)
        driver = make_driver()

        stack = driver.create_stack(STACK_YAML, params(instance))

        assert stack.status == "CREATE_COMPLETE", stack.status_reason
        (group,) = owned_groups(emu)
        assert stack.outputs["TdgArn"] == group["Arn"]
        assert any(c["error"] == "ResourceNotFoundException" for c in emu.calls("DescribeTrafficDistributionGroup"))
        assert_answered_once(driver)

    def test_a_replica_region_that_learns_the_group_four_seconds_late(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        # Traffic favours us-west-2, so the provider reads and updates the new group there.
        emu.set_visibility_lag(0.5, replica_extra=4.0)
        driver = make_driver()

        stack = driver.create_stack(group_template(split(0, 100)), params(instance))

        assert stack.status == "CREATE_COMPLETE", stack.status_reason
        (group,) = owned_groups(emu)
        assert traffic(group) == (split(0, 100), split(0, 100))
        west = [c for c in emu.calls(service="connect") if c["region"] == REPLICA]
        assert any(c["error"] == "ResourceNotFoundException" for c in west)

    def test_not_ready_on_create_is_waited_out(self, make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
        emu.fail_create_not_ready(2)
        driver = make_driver()

        assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
        assert len(owned_groups(emu)) == 1


class TestRegionsOfCreateAndDelete:
    def test_a_failed_replacement_whose_traffic_favoured_the_replica_is_deleted_at_home(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        driver = make_driver()
        assert driver.create_stack(group_template(split(0, 100)), params(instance)).status == "CREATE_COMPLETE"
        emu.fail_creation("renamed-tdg")

        stack = driver.update_stack(group_template(split(0, 100), name="renamed-tdg"), params(instance))

        assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
        (kept,) = owned_groups(emu)
        assert kept["Name"] == "outage-tdg"
        deletes = emu.calls("DeleteTrafficDistributionGroup")
        assert [c["region"] for c in deletes] == [HOME] and deletes[0]["error"] is None
        assert "was deleted; the stack keeps the old group" in next(r.reason for r in driver.requests if r.reason)

    def test_a_delete_whose_answer_was_lost_still_completes(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        driver = make_driver()
        driver.create_stack(STACK_YAML, params(instance))
        emu.set_delays(deletion=2.0)
        emu.inject_fault("DeleteTrafficDistributionGroup", "drop_after")

        assert driver.delete_stack().status == "DELETE_COMPLETE"
        assert owned_groups(emu) == []


class TestTheSharedQuota:
    def test_sixteen_groups_created_at_once_under_two_requests_a_second(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        second = emu.add_instance(home_region=HOME, replica_region=REPLICA)
        emu.set_throttle(2.0, burst=5)
        driver = make_driver(parallel=True, timeout_s=120)

        stack = driver.create_stack(
            group_template(split(100, 0), count=16, instances=2), params(instance, ConnectInstanceArn1=second)
        )

        assert stack.status == "CREATE_COMPLETE", stack.status_reason
        assert [status for _, _, status in summary(driver)] == ["SUCCESS"] * 16
        assert len(owned_groups(emu)) == 16
        assert emu.throttle_count() > 0  # the quota was really in the way
        assert_answered_once(driver)


class TestPollingSetup:
    def test_a_target_eventbridge_did_not_apply_is_put_again(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        emu.set_delays(creation=HANDOVER_DELAY_S)
        emu.fail_targets("PutTargets", 1)
        driver = make_driver(timeout_s=SHORT_TIMEOUT_S)

        stack = driver.create_stack(STACK_YAML, params(instance))

        assert stack.status == "CREATE_COMPLETE", stack.status_reason
        (create,) = driver.requests
        assert create.polls >= 1
        assert [c["fault"] for c in emu.calls("PutTargets")][:1] == ["partial"] or len(emu.calls("PutTargets")) == 2
        assert all(rule["Name"].startswith("ConnectTdgPoll-") for rule in emu.rules())
        assert_answered_once(driver)
        assert_nothing_left(emu)

    def test_concurrent_modification_while_setting_up_polling_is_retried(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        emu.set_delays(creation=HANDOVER_DELAY_S)
        emu.inject_fault("PutRule", "concurrent", 1, service="events")
        emu.inject_fault("AddPermission", "concurrent", 1, service="lambda")
        driver = make_driver(timeout_s=SHORT_TIMEOUT_S)

        assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
        assert_nothing_left(emu)

    def test_a_permission_whose_answer_was_lost_is_kept(
        self, make_driver: MakeDriver, emu: Emulator, instance: str
    ) -> None:
        emu.set_delays(creation=HANDOVER_DELAY_S)
        emu.inject_fault("AddPermission", "drop_after", service="lambda")
        driver = make_driver(timeout_s=SHORT_TIMEOUT_S)

        assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
        assert_nothing_left(emu)


class TestLambdaRetryAfterACrash:
    def test_a_killed_invocation_is_retried_and_makes_one_group_and_one_answer(
        self, make_driver: MakeDriver, make_function: MakeFunction, emu: Emulator, instance: str
    ) -> None:
        emu.set_delays(creation=4.0)
        function = make_function(crash_after_s=2.5)
        driver = make_driver(function, retry_on_error=True)

        stack = driver.create_stack(STACK_YAML, params(instance))

        assert stack.status == "CREATE_COMPLETE", stack.status_reason
        (create,) = driver.requests
        assert [inv.crashed for inv in create.invocations] == [True, False]
        (group,) = owned_groups(emu, include_deleted=True)
        assert create.physical_id == group["Arn"]
        assert {c["params"]["ClientToken"] for c in emu.calls("CreateTrafficDistributionGroup")} == {create.request_id}
        assert_answered_once(driver)
