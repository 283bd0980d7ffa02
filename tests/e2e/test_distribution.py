"""Traffic distribution (examples/failover.yaml), SignInConfig rules, and the region Connect is called in."""

from __future__ import annotations

from typing import Any

from local.cloudformation import Stack
from local.emulator import Emulator
from tests.e2e.conftest import (
    FAILOVER_YAML,
    HOME,
    REPLICA,
    STACK_YAML,
    MakeDriver,
    assert_answered_once,
    assert_nothing_left,
    custom,
    default_group,
    owned_groups,
    params,
    split,
    summary,
    traffic,
)

UPDATE = "UpdateTrafficDistribution"


SIGN_IN_BOTH = {"Distributions": [{"Region": HOME, "Enabled": True}, {"Region": REPLICA, "Enabled": True}]}


class FailoverStack:
    """examples/failover.yaml over the instance's default group and a group of its own, step by step."""

    def __init__(self, make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
        self.emu = emu
        self.default = default_group(emu)
        self.driver = make_driver()
        self.parameters = params(instance, DefaultTdgArn=self.default["Arn"])
        self.owned: dict[str, Any] = {}

    def create(self) -> Stack:
        stack = self.driver.create_stack(FAILOVER_YAML, self.parameters)
        (self.owned,) = owned_groups(self.emu)
        return stack

    def move_to(self, region: str) -> Stack:
        self.emu.reset_calls()
        return self.driver.update_stack(FAILOVER_YAML, {**self.parameters, "ActiveRegion": region})

    def created(self) -> FailoverStack:
        assert self.create().status == "CREATE_COMPLETE"
        return self

    def failed_over(self) -> FailoverStack:
        assert self.created().move_to(REPLICA).status == "UPDATE_COMPLETE"
        return self

    def failed_back(self) -> FailoverStack:
        assert self.failed_over().move_to(HOME).status == "UPDATE_COMPLETE"
        return self


def test_given_the_failover_stack_when_it_is_created_then_all_traffic_stays_in_the_primary_region(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given the failover stack over the default group and a group of its own
    failover = FailoverStack(make_driver, emu, instance)
    default, driver = failover.default, failover.driver

    # When it is created
    stack = failover.create()

    # Then everything is in the primary region, as the groups already are, and nothing was changed
    assert stack.status == "CREATE_COMPLETE"
    assert summary(driver) == [
        ("Create", "FailoverTdg", "SUCCESS"),
        ("Create", "DefaultTdgDistribution", "SUCCESS"),
    ]
    owned = failover.owned
    assert owned["Name"] == "failover-tdg" and owned["Tags"] == {"team": "contact-center"}
    assert traffic(owned) == (split(100, 0), split(100, 0))
    assert stack.outputs == {
        "FailoverTdgArn": owned["Arn"],
        "ActiveRegion": HOME,
        "TelephonyDistribution": f"{HOME}=100,{REPLICA}=0",
        "DefaultTdgDistribution": default["Arn"],
    }
    assert driver.requests[1].physical_id == default["Arn"]
    assert driver.requests[1].data["SignInDistribution"] == f"{HOME}=true,{REPLICA}=true"
    assert emu.calls(UPDATE) == []  # already as desired: nothing to change


def test_given_a_created_failover_stack_when_it_fails_over_then_both_groups_move_to_the_replica_in_place(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given the failover stack, created
    failover = FailoverStack(make_driver, emu, instance).created()
    default, owned, driver = failover.default, failover.owned, failover.driver

    # When it fails over to the replica region
    stack = failover.move_to(REPLICA)

    # Then both groups are updated in place, in the replica region, with the whole desired distribution
    assert stack.status == "UPDATE_COMPLETE"
    assert summary(driver)[2:] == [
        ("Update", "FailoverTdg", "SUCCESS"),
        ("Update", "DefaultTdgDistribution", "SUCCESS"),
    ]
    assert stack.resources["FailoverTdg"].physical_id == owned["Arn"]
    assert stack.resources["DefaultTdgDistribution"].physical_id == default["Arn"]
    for arn in (owned["Arn"], default["Arn"]):
        group = emu.group(arn)
        assert traffic(group) == (split(0, 100), split(0, 100))
        assert group["Status"] == "ACTIVE"
        assert "UPDATE_IN_PROGRESS" in [h["Status"] for h in group["History"]]
    assert emu.group(default["Arn"])["Distribution"]["SignInConfig"] == SIGN_IN_BOTH
    updates = emu.calls(UPDATE)
    assert [(c["params"]["Id"], c["region"]) for c in updates] == [(owned["Arn"], REPLICA), (default["Arn"], REPLICA)]
    assert updates[0]["params"]["TelephonyConfig"] == split(0, 100)
    assert updates[0]["params"]["AgentConfig"] == split(0, 100)
    assert updates[1]["params"]["SignInConfig"] == SIGN_IN_BOTH  # the whole desired distribution is sent
    assert stack.outputs["TelephonyDistribution"] == f"{HOME}=0,{REPLICA}=100"
    assert stack.outputs["ActiveRegion"] == REPLICA
    assert driver.requests[2].data["AgentDistribution"] == f"{HOME}=0,{REPLICA}=100"
    assert emu.calls("CreateTrafficDistributionGroup") == [] and emu.calls("DeleteTrafficDistributionGroup") == []
    assert [g["Arn"] for g in owned_groups(emu)] == [owned["Arn"]]


def test_given_a_failed_over_stack_when_it_fails_back_then_both_groups_return_to_the_primary_region(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given the failover stack, created and failed over
    failover = FailoverStack(make_driver, emu, instance).failed_over()
    default, owned = failover.default, failover.owned

    # When it fails back
    stack = failover.move_to(HOME)

    # Then all traffic of both groups is in the primary region again, updated there
    assert stack.status == "UPDATE_COMPLETE"
    for arn in (owned["Arn"], default["Arn"]):
        assert traffic(emu.group(arn)) == (split(100, 0), split(100, 0))
    assert [(c["params"]["Id"], c["region"]) for c in emu.calls(UPDATE)] == [
        (owned["Arn"], HOME),
        (default["Arn"], HOME),
    ]
    assert stack.outputs["TelephonyDistribution"] == f"{HOME}=100,{REPLICA}=0"


def test_given_a_failed_back_stack_when_it_is_deleted_then_its_group_goes_and_the_default_group_is_left_as_it_is(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given the failover stack, created, failed over and failed back
    failover = FailoverStack(make_driver, emu, instance).failed_back()
    default, owned, driver = failover.default, failover.owned, failover.driver
    before = emu.group(default["Arn"])
    emu.reset_calls()

    # When the stack is deleted
    stack = driver.delete_stack()

    # Then the owned group goes, and the default group's traffic stays as it is
    assert stack.status == "DELETE_COMPLETE"
    assert summary(driver)[-2:] == [
        ("Delete", "DefaultTdgDistribution", "SUCCESS"),
        ("Delete", "FailoverTdg", "SUCCESS"),
    ]
    after = emu.group(default["Arn"])
    assert after["Status"] == "ACTIVE"
    assert after["Distribution"] == before["Distribution"] and after["History"] == before["History"]
    assert emu.calls(UPDATE) == []
    assert [c["params"]["TrafficDistributionGroupId"] for c in emu.calls("DeleteTrafficDistributionGroup")] == [
        owned["Arn"]
    ]
    assert [g["Arn"] for g in emu.groups()] == [default["Arn"]]
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_delete_while_failed_over_leaves_the_default_group_failed_over(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    """A stack delete must never move live calls: not even back to the primary region."""
    default = default_group(emu)
    template = {
        "Resources": {
            "Dist": custom(
                "Custom::TrafficDistribution",
                TrafficDistributionGroupId=default["Arn"],
                TelephonyConfig=split(0, 100),
                AgentConfig=split(0, 100),
            )
        },
        "Outputs": {"Telephony": {"Value": {"Fn::GetAtt": ["Dist", "TelephonyDistribution"]}}},
    }
    driver = make_driver()
    stack = driver.create_stack(template)
    assert stack.status == "CREATE_COMPLETE"
    assert stack.outputs == {"Telephony": f"{HOME}=0,{REPLICA}=100"}
    (update,) = emu.calls(UPDATE)
    assert update["region"] == REPLICA
    emu.reset_calls()
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert emu.calls(service="connect") == []
    group = emu.group(default["Arn"])
    assert group["Status"] == "ACTIVE" and traffic(group) == (split(0, 100), split(0, 100))
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_sign_in_config_on_a_group_resource_fails_before_any_connect_call(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    template = {
        "Resources": {
            "Tdg": custom(
                "Custom::TrafficDistributionGroup", Name="signin-tdg", InstanceId=instance, SignInConfig=SIGN_IN_BOTH
            )
        }
    }
    driver = make_driver()
    assert driver.create_stack(template).status == "ROLLBACK_COMPLETE"
    assert summary(driver) == [("Create", "Tdg", "FAILED"), ("Delete", "Tdg", "SUCCESS")]
    assert driver.requests[0].reason.startswith("SignInConfig cannot be set on Custom::TrafficDistributionGroup")
    assert "Custom::TrafficDistribution" in driver.requests[0].reason
    assert emu.calls(service="connect") == []
    assert owned_groups(emu, include_deleted=True) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_sign_in_config_on_a_non_default_group_is_refused_by_connect(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    template = {
        "Resources": {
            "Tdg": custom("Custom::TrafficDistributionGroup", Name="plain-tdg", InstanceId=instance),
            "Dist": custom(
                "Custom::TrafficDistribution",
                TrafficDistributionGroupId={"Ref": "Tdg"},
                TelephonyConfig=split(100, 0),
                SignInConfig=SIGN_IN_BOTH,
            ),
        }
    }
    driver = make_driver()
    assert driver.create_stack(template).status == "ROLLBACK_COMPLETE"
    assert summary(driver) == [
        ("Create", "Tdg", "SUCCESS"),
        ("Create", "Dist", "FAILED"),
        ("Delete", "Dist", "SUCCESS"),
        ("Delete", "Tdg", "SUCCESS"),
    ]
    (group,) = owned_groups(emu, include_deleted=True)
    reason = driver.requests[1].reason
    assert reason.startswith("Connect UpdateTrafficDistribution failed with InvalidRequestException")
    assert "SignInConfig can only be set on the default traffic distribution group" in reason
    assert "SignInConfig is set only on the instance's default group" in reason  # the provider's advice
    (update,) = emu.calls(UPDATE)
    assert update["error"] == "InvalidRequestException" and update["params"]["Id"] == group["Arn"]
    assert group["Status"] == "DELETED"
    assert owned_groups(emu) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_instance_arn_in_another_region_is_called_in_its_home_region(make_driver: MakeDriver, emu: Emulator) -> None:
    instance = emu.add_instance(home_region="eu-west-2", replica_region="eu-central-1")
    driver = make_driver()  # the function runs in us-east-1
    stack = driver.create_stack(STACK_YAML, params(instance))
    assert stack.status == "CREATE_COMPLETE"
    (create_call,) = emu.calls("CreateTrafficDistributionGroup")
    assert create_call["region"] == "eu-west-2"
    assert create_call["params"]["ClientToken"] == driver.requests[0].request_id
    (group,) = owned_groups(emu)
    assert group["Arn"].startswith("arn:aws:connect:eu-west-2:") and group["Region"] == "eu-west-2"
    assert stack.outputs["TdgArn"] == group["Arn"]
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert {c["region"] for c in emu.calls(service="connect")} == {"eu-west-2"}
    assert owned_groups(emu) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)
