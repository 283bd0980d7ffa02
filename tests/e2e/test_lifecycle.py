"""A consumer stack's life with examples/stack.yaml, and the ways its operations fail and roll back."""

from __future__ import annotations

import copy
from typing import Any

from local.cloudformation import ResponseServer, Stack, load_template
from local.emulator import Emulator
from tests.e2e.conftest import (
    STACK_YAML,
    MakeDriver,
    assert_answered_once,
    assert_no_secret_in_logs,
    assert_nothing_left,
    default_group,
    owned_groups,
    params,
    summary,
)


def stack_template(**props: Any) -> dict[str, Any]:
    """examples/stack.yaml with the Tdg's properties changed (a value of None removes the property)."""
    template = copy.deepcopy(load_template(STACK_YAML))
    properties = template["Resources"]["Tdg"]["Properties"]
    for key, value in props.items():
        if value is None:
            properties.pop(key, None)
        else:
            properties[key] = value
    return template


TAGGED = [{"Key": "env", "Value": "prod"}]


class GroupStack:
    """examples/stack.yaml's life, step by step: created, its tags changed in place, renamed (replaced)."""

    def __init__(self, make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
        self.emu, self.instance = emu, instance
        self.driver = make_driver()
        self.group: dict[str, Any] = {}

    def create(self) -> Stack:
        stack = self.driver.create_stack(STACK_YAML, params(self.instance))
        (self.group,) = owned_groups(self.emu)
        return stack

    def retag(self) -> Stack:
        self.emu.reset_calls()
        return self.driver.update_stack(stack_template(Tags=TAGGED), params(self.instance))

    def rename(self) -> Stack:
        self.emu.reset_calls()
        return self.driver.update_stack(stack_template(Name="primary-tdg-2", Tags=TAGGED), params(self.instance))

    def created(self) -> GroupStack:
        assert self.create().status == "CREATE_COMPLETE"
        return self

    def retagged(self) -> GroupStack:
        assert self.created().retag().status == "UPDATE_COMPLETE"
        return self

    def renamed(self) -> GroupStack:
        assert self.retagged().rename().status == "UPDATE_COMPLETE"
        return self


def test_given_the_example_stack_when_it_is_created_then_connect_has_the_group_it_describes(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given examples/stack.yaml for an instance
    life = GroupStack(make_driver, emu, instance)

    # When the stack is created
    stack = life.create()

    # Then the group is made once, with the request's ClientToken, as the template says
    assert stack.status == "CREATE_COMPLETE"
    (create,) = life.driver.requests
    group = life.group
    assert create.status == "SUCCESS" and create.physical_id == group["Arn"]
    assert (group["Name"], group["Description"], group["Status"], group["Tags"]) == (
        "primary-tdg",
        "Primary traffic distribution group of the contact center",
        "ACTIVE",
        {"team": "contact-center"},
    )
    assert group["InstanceArn"] == instance and group["ClientToken"] == create.request_id
    (create_call,) = emu.calls("CreateTrafficDistributionGroup")
    assert create_call["params"]["ClientToken"] == create.request_id
    assert create_call["params"]["InstanceId"] == instance and create_call["region"] == "us-east-1"
    assert stack.outputs == {"TdgArn": group["Arn"], "TdgId": group["Id"], "TdgRef": group["Arn"], "Status": "ACTIVE"}
    assert create.data["IsDefault"] == "false" and create.data["InstanceArn"] == instance


def test_given_a_created_group_when_its_tags_change_then_they_change_in_place(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given the example stack, created
    life = GroupStack(make_driver, emu, instance).created()
    driver, group = life.driver, life.group

    # When one tag key is removed and another added
    stack = life.retag()

    # Then the same group is untagged and tagged, and nothing is replaced
    assert stack.status == "UPDATE_COMPLETE"
    update = driver.requests[1]
    assert update.request_type == "Update" and update.status == "SUCCESS"
    assert update.physical_id == group["Arn"] and stack.resources["Tdg"].physical_id == group["Arn"]
    assert emu.group(group["Arn"])["Tags"] == {"env": "prod"}
    (untag,) = emu.calls("UntagResource", service="connect")
    (tag,) = emu.calls("TagResource", service="connect")
    assert untag["params"] == {"resourceArn": group["Arn"], "tagKeys": ["team"]}
    assert tag["params"] == {"resourceArn": group["Arn"], "tags": {"env": "prod"}}
    assert emu.calls("CreateTrafficDistributionGroup") == [] and emu.calls("DeleteTrafficDistributionGroup") == []
    assert len(driver.requests) == 2  # no cleanup Delete: nothing was replaced


def test_given_a_tagged_group_when_it_is_renamed_then_a_new_group_replaces_it_and_the_cleanup_deletes_the_old(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    # Given the example stack, created and retagged
    life = GroupStack(make_driver, emu, instance).retagged()
    driver, group = life.driver, life.group

    # When the group is renamed
    stack = life.rename()

    # Then a new group replaces it, and the cleanup phase deletes the old one
    assert stack.status == "UPDATE_COMPLETE"
    replace, cleanup = driver.requests[2:]
    (new,) = [g for g in owned_groups(emu) if g["Name"] == "primary-tdg-2"]
    assert replace.request_type == "Update" and replace.status == "SUCCESS" and replace.physical_id == new["Arn"]
    assert new["Arn"] != group["Arn"]
    (create_call,) = emu.calls("CreateTrafficDistributionGroup")
    assert create_call["params"]["ClientToken"] == replace.request_id
    assert (new["Status"], new["Tags"]) == ("ACTIVE", {"env": "prod"})
    assert cleanup.request_type == "Delete" and cleanup.phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert cleanup.event["PhysicalResourceId"] == group["Arn"] and cleanup.status == "SUCCESS"
    (delete_call,) = emu.calls("DeleteTrafficDistributionGroup")
    assert delete_call["params"]["TrafficDistributionGroupId"] == group["Arn"]
    assert emu.group(group["Arn"])["Status"] == "DELETED"
    assert owned_groups(emu) == [emu.group(new["Arn"])]
    assert stack.outputs["TdgArn"] == new["Arn"] and stack.outputs["TdgId"] == new["Id"]
    # and all of it ran in one execution environment, kept warm between the requests, as Lambda does
    assert len({inv.log_stream for rec in driver.requests for inv in rec.invocations}) == 1


def test_given_a_renamed_group_when_the_stack_is_deleted_then_only_the_default_group_is_left(
    make_driver: MakeDriver, emu: Emulator, server: ResponseServer, instance: str
) -> None:
    # Given the example stack, created, retagged and renamed
    life = GroupStack(make_driver, emu, instance).renamed()
    driver = life.driver
    default_arn = default_group(emu)["Arn"]

    # When the stack is deleted
    stack = driver.delete_stack()

    # Then only the default group is left, every request was answered once, and no log holds a secret
    assert stack.status == "DELETE_COMPLETE"
    assert summary(driver)[-1] == ("Delete", "Tdg", "SUCCESS")
    assert [g["Arn"] for g in emu.groups()] == [default_arn]
    assert_answered_once(driver)
    assert_nothing_left(emu)
    assert_no_secret_in_logs(driver, server)


def test_description_only_change_fails_and_rolls_back(make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
    driver = make_driver()
    assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
    (before,) = owned_groups(emu)

    stack = driver.update_stack(stack_template(Description="Another description"), params(instance))
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert summary(driver) == [
        ("Create", "Tdg", "SUCCESS"),
        ("Update", "Tdg", "FAILED"),
        ("Update", "Tdg", "SUCCESS"),  # the rollback, with the old properties
    ]
    failed, rollback = driver.requests[1:]
    assert failed.reason.startswith("Cannot replace the group: the name 'primary-tdg' is still held")
    assert "Change Name" in failed.reason
    assert failed.physical_id == before["Arn"]
    assert rollback.phase == "UPDATE_ROLLBACK_IN_PROGRESS" and rollback.physical_id == before["Arn"]
    assert (
        rollback.event["ResourceProperties"]["Description"]
        == "Primary traffic distribution group of the contact center"
    )
    creates = emu.calls("CreateTrafficDistributionGroup")
    assert [c["error"] for c in creates] == [None, "ResourceConflictException"]
    assert emu.calls("DeleteTrafficDistributionGroup") == []
    assert emu.calls("TagResource", service="connect") == emu.calls("UntagResource", service="connect") == []
    after = emu.group(before["Arn"])
    assert owned_groups(emu) == [after]
    assert {k: after[k] for k in ("Name", "Description", "Status", "Tags", "History")} == {
        k: before[k] for k in ("Name", "Description", "Status", "Tags", "History")
    }
    assert stack.resources["Tdg"].physical_id == before["Arn"] and stack.outputs["TdgArn"] == before["Arn"]
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_unknown_property_fails_before_any_connect_call(make_driver: MakeDriver, emu: Emulator, instance: str) -> None:
    driver = make_driver()
    stack = driver.create_stack(stack_template(Descripton="typo"), params(instance))
    assert stack.status == "ROLLBACK_COMPLETE"
    assert summary(driver) == [("Create", "Tdg", "FAILED"), ("Delete", "Tdg", "SUCCESS")]
    create, delete = driver.requests
    assert create.reason.startswith("Unknown property Descripton")
    assert "Description" in create.reason  # the valid ones are listed
    assert not create.physical_id.startswith("arn:")
    assert delete.event["PhysicalResourceId"] == create.physical_id
    assert emu.calls(service="connect") == []
    assert owned_groups(emu, include_deleted=True) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_creation_failed_group_is_the_physical_id_and_the_rollback_deletes_it(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    emu.fail_creation("primary-tdg")
    driver = make_driver()
    stack = driver.create_stack(STACK_YAML, params(instance))
    assert stack.status == "ROLLBACK_COMPLETE"
    assert summary(driver) == [("Create", "Tdg", "FAILED"), ("Delete", "Tdg", "SUCCESS")]
    create, delete = driver.requests
    (group,) = owned_groups(emu, include_deleted=True)
    assert create.physical_id == group["Arn"]
    assert create.answers[0]["body"]["PhysicalResourceId"] == group["Arn"]
    assert create.reason.startswith("Connect could not create traffic distribution group 'primary-tdg'")
    assert "CREATION_FAILED" in create.reason
    assert delete.event["PhysicalResourceId"] == group["Arn"]
    (delete_call,) = emu.calls("DeleteTrafficDistributionGroup")
    assert delete_call["params"]["TrafficDistributionGroupId"] == group["Arn"]
    assert [h["Status"] for h in group["History"]] == [
        "CREATION_IN_PROGRESS",
        "CREATION_FAILED",
        "PENDING_DELETION",
        "DELETED",
    ]
    assert owned_groups(emu) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_failed_replacement_deletes_the_new_group_and_keeps_the_old(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    driver = make_driver()
    assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
    (old,) = owned_groups(emu)
    emu.reset_calls()
    emu.fail_creation("primary-tdg-2")

    stack = driver.update_stack(stack_template(Name="primary-tdg-2"), params(instance))
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert summary(driver) == [
        ("Create", "Tdg", "SUCCESS"),
        ("Update", "Tdg", "FAILED"),
        ("Update", "Tdg", "SUCCESS"),  # rollback to the old properties, same physical id
    ]
    failed, rollback = driver.requests[1:]
    (new,) = [g for g in owned_groups(emu, include_deleted=True) if g["Name"] == "primary-tdg-2"]
    assert new["Status"] == "DELETED"
    assert "CREATION_FAILED" in failed.reason
    assert f"The replacement group {new['Arn']} was deleted; the stack keeps the old group." in failed.reason
    (delete_call,) = emu.calls("DeleteTrafficDistributionGroup")
    assert delete_call["params"]["TrafficDistributionGroupId"] == new["Arn"]
    assert delete_call["time"] < failed.answers[0]["received_at"]  # deleted before the answer
    assert new["DeletedAt"] is not None and new["DeletedAt"] <= failed.answers[0]["received_at"]
    assert failed.physical_id == rollback.physical_id == old["Arn"]
    assert len(emu.calls("CreateTrafficDistributionGroup")) == 1  # the rollback does not replace
    assert owned_groups(emu) == [emu.group(old["Arn"])]
    assert emu.group(old["Arn"])["History"] == old["History"] and emu.group(old["Arn"])["Name"] == "primary-tdg"
    assert stack.outputs["TdgArn"] == old["Arn"]
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_group_in_use_fails_the_delete_until_the_number_is_released(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    driver = make_driver()
    assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
    (group,) = owned_groups(emu)
    emu.claim_phone_number(group["Arn"], "+15550100")

    stack = driver.delete_stack()
    assert stack.status == "DELETE_FAILED"
    failed = driver.requests[-1]
    assert failed.request_type == "Delete" and failed.status == "FAILED"
    assert failed.reason.startswith(f"Traffic distribution group 'primary-tdg' ({group['Arn']}) is still in use")
    assert "+15550100" in failed.reason
    assert "Release the phone numbers claimed to the group" in failed.reason
    assert emu.group(group["Arn"])["Status"] == "ACTIVE"
    assert list(stack.resources) == ["Tdg"]

    assert emu.release_phone_numbers(group["Arn"]) == ["+15550100"]
    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE"
    assert summary(driver)[-2:] == [("Delete", "Tdg", "FAILED"), ("Delete", "Tdg", "SUCCESS")]
    assert emu.group(group["Arn"])["Status"] == "DELETED"
    assert owned_groups(emu) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_logs_never_hold_the_response_url_signature(
    make_driver: MakeDriver, emu: Emulator, server: ResponseServer, instance: str
) -> None:
    """Success and failure paths both log; none of them may leak the pre-signed URL's signature."""
    failing = make_driver()
    assert failing.create_stack(stack_template(Descripton="typo"), params(instance)).status == "ROLLBACK_COMPLETE"
    driver = make_driver()
    assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    invocations = [inv for d in (failing, driver) for rec in d.requests for inv in rec.invocations]
    assert len(invocations) == 4
    secrets = server.secrets()
    assert len(secrets) >= 4
    for inv in invocations:
        assert f"START RequestId: {inv.request_id}" in inv.logs
        assert inv.event["ResponseURL"].split("X-Amz-Signature=")[1] in secrets
        for secret in secrets:
            assert secret not in inv.logs
        assert "X-Amz-Signature" not in inv.logs and "ResponseURL" not in inv.logs
    assert "Unknown property Descripton" in failing.requests[0].invocations[0].logs  # failures are logged
    assert_no_secret_in_logs(failing, server)
    assert_no_secret_in_logs(driver, server)
