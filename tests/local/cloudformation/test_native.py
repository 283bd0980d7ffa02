"""Native types the driver plays against the emulator (local/cloudformation/native.py): AWS::Connect::PhoneNumber,
DeletionPolicy and UpdateReplacePolicy."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.cloudformation import (
    StackDriver,
)
from tests.local.conftest import (
    calls,
    custom,
)

# ------------------------------------------------------------------------------------------------
# StackDriver: native AWS::Connect::PhoneNumber against the emulator, DeletionPolicy / UpdateReplacePolicy


@pytest.fixture
def connect_emulator() -> Iterator[tuple[Any, str]]:
    """A started emulator with a replicated instance and an ACTIVE traffic distribution group in it."""
    from local.emulator import Emulator

    with Emulator(creation_delay=0, deletion_delay=0, update_delay=0) as emu:
        instance = emu.add_instance(home_region="us-east-1", replica_region="us-west-2")
        import boto3

        connect = boto3.session.Session().client(
            "connect",
            region_name="us-east-1",
            endpoint_url=emu.endpoint_url,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="not-a-secret",
        )
        group = connect.create_traffic_distribution_group(Name="calls", InstanceId=instance)["Arn"]
        yield emu, group
        assert emu.internal_errors() == []


def phone_number(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::Connect::PhoneNumber", "Properties": {"CountryCode": "US", "Type": "DID", **props}}


def test_native_phone_number_is_claimed_updated_replaced_and_released(
    make_driver: Callable[..., StackDriver], connect_emulator: tuple[Any, str]
) -> None:
    emu, group = connect_emulator
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    tmpl: dict[str, Any] = {
        "Parameters": {"GroupArn": {"Type": "String"}},
        "Resources": {
            "Number": phone_number(
                TargetArn={"Ref": "GroupArn"}, Description="main line", Tags=[{"Key": "team", "Value": "voice"}]
            ),
            "Uses": custom(Arn={"Ref": "Number"}, Address={"Fn::GetAtt": ["Number", "Address"]}),
        },
        "Outputs": {"Address": {"Value": {"Fn::GetAtt": ["Number", "Address"]}}},
    }
    stack = driver.create_stack(tmpl, {"GroupArn": group})
    assert stack.status == "CREATE_COMPLETE", driver.format_timeline()
    (claimed,) = emu.phone_numbers()
    assert (claimed["TargetArn"], claimed["Description"], claimed["Tags"]) == (group, "main line", {"team": "voice"})
    assert re.fullmatch(r"\+1555\d{7}", claimed["Number"])
    number = stack.resources["Number"]
    assert (number.physical_id, number.data) == (
        claimed["Arn"],
        {"PhoneNumberArn": claimed["Arn"], "Address": claimed["Number"]},
    )
    assert driver.requests[0].event["ResourceProperties"]["Arn"] == claimed["Arn"]  # Ref = PhoneNumberArn
    assert driver.requests[0].event["ResourceProperties"]["Address"] == claimed["Number"]
    assert stack.outputs == {"Address": claimed["Number"]} and stack.ignored == []
    assert [c["operation"] for c in emu.calls()][-2:] == ["ClaimPhoneNumber", "DescribePhoneNumber"]
    assert emu.calls("ClaimPhoneNumber")[0]["region"] == "us-east-1"  # the Region of the TargetArn

    # Description changes in place: no call, same number
    before = len(emu.calls())
    tmpl["Resources"]["Number"]["Properties"]["Description"] = "new words"
    stack = driver.update_stack(tmpl, {"GroupArn": group})
    assert stack.status == "UPDATE_COMPLETE" and len(emu.calls()) == before
    assert stack.resources["Number"].physical_id == claimed["Arn"] and driver.requests[1:] == []

    # Type needs a replacement: a new number first, the old one released in the cleanup
    tmpl["Resources"]["Number"]["Properties"]["Type"] = "TOLL_FREE"
    stack = driver.update_stack(tmpl, {"GroupArn": group})
    assert stack.status == "UPDATE_COMPLETE", driver.format_timeline()
    (toll_free,) = emu.phone_numbers()
    assert re.fullmatch(r"\+1800555\d{4}", toll_free["Number"]) and toll_free["Arn"] != claimed["Arn"]
    assert [(r.request_type, r.status) for r in driver.native_requests] == [
        ("Create", "SUCCESS"),
        ("Create", "SUCCESS"),
        ("Delete", "SUCCESS"),
    ]
    assert driver.native_requests[2].phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert driver.requests[1].event["ResourceProperties"]["Address"] == toll_free["Number"]  # Uses followed

    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE" and emu.phone_numbers() == []
    assert [c["operation"] for c in emu.calls("ReleasePhoneNumber")] == ["ReleasePhoneNumber"] * 2
    assert driver.violations == []


def test_native_phone_number_failures(
    make_driver: Callable[..., StackDriver], connect_emulator: tuple[Any, str]
) -> None:
    emu, group = connect_emulator
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    missing = group.rsplit("/", 1)[0] + "/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12
    stack = driver.create_stack({"Resources": {"Number": phone_number(TargetArn=missing)}})
    assert stack.status == "ROLLBACK_COMPLETE"
    (rec,) = driver.native_requests  # nothing was claimed, so the rollback has nothing to delete
    assert rec.status == "FAILED" and rec.reason.startswith("ResourceNotFoundException: ")
    assert "Number: ResourceNotFoundException" in stack.status_reason

    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    stack = driver.create_stack({"Resources": {"Number": {"Type": "AWS::Connect::PhoneNumber", "Properties": {}}}})
    assert "required key(s) ['TargetArn', 'CountryCode', 'Type']" in stack.status_reason

    # a later failure rolls the claimed number back
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    tmpl = {
        "Resources": {
            "Number": phone_number(TargetArn=group),
            "Bad": custom(After={"Ref": "Number"}, FailOn="Create"),
        }
    }
    stack = driver.create_stack(tmpl)
    assert stack.status == "ROLLBACK_COMPLETE" and emu.phone_numbers() == []
    assert [(r.request_type, r.phase) for r in driver.native_requests] == [
        ("Create", "CREATE_IN_PROGRESS"),
        ("Delete", "ROLLBACK_IN_PROGRESS"),
    ]

    # TargetArn would need UpdatePhoneNumber, which is not played: the update fails and rolls back
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    driver.create_stack({"Resources": {"Number": phone_number(TargetArn=group)}})
    stack = driver.update_stack({"Resources": {"Number": phone_number(TargetArn=group.replace("calls", "x") + "1")}})
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE" and "UpdatePhoneNumber" in stack.status_reason
    (claimed,) = emu.phone_numbers()
    assert stack.resources["Number"].physical_id == claimed["Arn"]
    assert driver.delete_stack().status == "DELETE_COMPLETE" and emu.phone_numbers() == []


def test_native_types_are_ignored_without_an_endpoint(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    stack = driver.create_stack(
        {
            "Resources": {
                "Number": phone_number(TargetArn="arn:aws:connect:us-east-1:123456789012:instance/x"),
                "A": custom(Arn={"Ref": "Number"}),
            }
        }
    )
    assert stack.status == "CREATE_COMPLETE" and stack.ignored == ["Number"]
    assert driver.requests[0].event["ResourceProperties"]["Arn"] == "<not-emulated>:Number"
    assert driver.native_requests == []


def test_deletion_policy_and_update_replace_policy_retain(
    make_driver: Callable[..., StackDriver], connect_emulator: tuple[Any, str]
) -> None:
    emu, group = connect_emulator
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    kept = dict(custom(Generation=1), DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    tmpl: dict[str, Any] = {
        "Resources": {
            "Kept": kept,
            "Removed": dict(custom(), DeletionPolicy="Retain"),
            "Number": dict(phone_number(TargetArn=group), DeletionPolicy="Retain"),
            "Plain": custom(),
        }
    }
    assert driver.create_stack(tmpl).status == "CREATE_COMPLETE"
    # a replacement keeps the old physical resource (UpdateReplacePolicy), a removal keeps the removed one
    new = copy.deepcopy(tmpl)
    new["Resources"]["Kept"]["Properties"]["Generation"] = 2
    del new["Resources"]["Removed"]
    stack = driver.update_stack(new)
    assert stack.status == "UPDATE_COMPLETE"
    assert [r for r in calls(driver) if r[0] == "Delete"] == []
    assert stack.retained == [("Removed", "fake-Removed-0"), ("Kept", "fake-Kept-1")]
    notes = [(r.logical_id, r.status, r.reason) for r in driver.timeline if r.status == "RETAINED"]
    assert notes == [
        ("Removed", "RETAINED", "DeletionPolicy: Retain: not deleted"),
        ("Kept", "RETAINED", "UpdateReplacePolicy: Retain: not deleted"),
    ]
    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE" and stack.resources == {}
    assert [r[1] for r in calls(driver) if r[0] == "Delete"] == ["Plain"]
    assert ("Number", emu.phone_numbers()[0]["Arn"]) in stack.retained  # still claimed
    assert ("Kept", "fake-Kept-2") in stack.retained

    # rollback of a failed create: Retain keeps, RetainExceptOnCreate deletes
    driver = make_driver()
    stack = driver.create_stack(
        {
            "Resources": {
                "Keep": dict(custom(), DeletionPolicy="Retain"),
                "Drop": dict(custom(), DeletionPolicy="RetainExceptOnCreate"),
                "Bad": custom(After={"Fn::Join": [",", [{"Ref": "Keep"}, {"Ref": "Drop"}]]}, FailOn="Create"),
            }
        }
    )
    assert stack.status == "ROLLBACK_COMPLETE" and stack.resources == {}
    assert [r[1] for r in calls(driver) if r[0] == "Delete"] == ["Bad", "Drop"]
    assert stack.retained == [("Keep", "fake-Keep-0")]
