"""Claimed phone numbers (local/emulator/connect/phone_numbers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    ACCOUNT,
    HOME,
    REPLICA,
    SETTLE,
    ClientFactory,
    active_group,
    create,
    error_of,
    outcome,
    replica_arn_of,
)

# -- phone numbers --------------------------------------------------------------------------------


def test_claim_describe_release_a_number_of_a_group(
    emu: Emulator, client: ClientFactory, connect: Any, instance: str
) -> None:
    group = active_group(emu, connect, instance)
    claimed = connect.claim_phone_number(
        TargetArn=group["Arn"], PhoneNumber="+15550100001", PhoneNumberDescription="hotline", Tags={"team": "voice"}
    )
    number_id, number_arn = claimed["PhoneNumberId"], claimed["PhoneNumberArn"]
    assert number_arn == f"arn:aws:connect:{HOME}:{ACCOUNT}:phone-number/{number_id}"
    replica = client("connect", REPLICA)
    for call in (
        lambda: connect.describe_phone_number(PhoneNumberId=number_id),
        lambda: connect.describe_phone_number(PhoneNumberId=number_arn),
        lambda: replica.describe_phone_number(PhoneNumberId=number_arn),  # the other Region: ARN only
    ):
        assert call()["ClaimedPhoneNumberSummary"] == {
            "PhoneNumberId": number_id,
            "PhoneNumberArn": number_arn,
            "PhoneNumber": "+15550100001",
            "PhoneNumberCountryCode": "US",
            "PhoneNumberType": "DID",
            "PhoneNumberDescription": "hotline",
            "TargetArn": group["Arn"],
            "Tags": {"team": "voice"},
            "PhoneNumberStatus": {"Status": "CLAIMED"},
        }
    assert outcome(lambda: replica.describe_phone_number(PhoneNumberId=number_id)) == ("ResourceNotFoundException", 404)
    # the same data as emu.claim_phone_number: Delete of the group is refused
    assert emu.group(group["Arn"])["PhoneNumbers"] == {"+15550100001": number_arn}
    with pytest.raises(ClientError) as excinfo:
        connect.delete_traffic_distribution_group(TrafficDistributionGroupId=group["Arn"])
    assert error_of(excinfo)[:2] == ("ResourceInUseException", 409)
    (listed,) = emu.phone_numbers()
    assert (listed["Number"], listed["GroupArn"], listed["Region"], listed["ReleasedAt"]) == (
        "+15550100001",
        group["Arn"],
        HOME,
        None,
    )
    # "You can call this API only in the Region where the number was claimed."
    assert outcome(lambda: replica.release_phone_number(PhoneNumberId=number_arn)) == (
        "ResourceNotFoundException",
        404,
    )
    connect.release_phone_number(PhoneNumberId=number_arn)
    assert outcome(lambda: connect.describe_phone_number(PhoneNumberId=number_id)) == (
        "ResourceNotFoundException",
        404,
    )
    assert outcome(lambda: connect.release_phone_number(PhoneNumberId=number_id)) == (
        "ResourceNotFoundException",
        404,
    )
    assert emu.phone_numbers() == [] and emu.phone_numbers(include_released=True)[0]["ReleasedAt"] is not None
    connect.delete_traffic_distribution_group(TrafficDistributionGroupId=group["Arn"])
    # the released number is in its cooldown period
    other = active_group(emu, connect, instance, "other")
    with pytest.raises(ClientError) as excinfo:
        connect.claim_phone_number(TargetArn=other["Arn"], PhoneNumber="+15550100001")
    code, _, message = error_of(excinfo)
    assert code == "InvalidParameterException" and "cooldown" in message


def test_claim_phone_number_rules(emu: Emulator, client: ClientFactory, connect: Any, instance: str) -> None:
    emu.set_delays(creation=SETTLE, name="young")
    young = create(connect, instance, "young")
    replica = client("connect", REPLICA)
    with pytest.raises(ClientError) as excinfo:  # admin guide: a group that isn't ACTIVE
        connect.claim_phone_number(TargetArn=young["Arn"], PhoneNumber="+15550100002")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    group = active_group(emu, connect, instance)
    with pytest.raises(ClientError) as excinfo:  # admin guide: not in the group's Region
        replica.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100002")
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)
    for kwargs in ({}, {"TargetArn": group["Arn"], "InstanceId": instance}):
        with pytest.raises(ClientError) as excinfo:
            connect.claim_phone_number(PhoneNumber="+15550100002", **kwargs)
        assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:  # the model's pattern (as meant): E.164 with "+"
        connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="15550100002")
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)

    first = connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100002", ClientToken="tok")
    again = connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100002", ClientToken="tok")
    assert first["PhoneNumberId"] == again["PhoneNumberId"]
    with pytest.raises(ClientError) as excinfo:
        connect.claim_phone_number(TargetArn=group["Arn"], PhoneNumber="+15550100003", ClientToken="tok")
    assert error_of(excinfo)[:2] == ("IdempotencyException", 409)
    with pytest.raises(ClientError) as excinfo:  # claimed already
        connect.claim_phone_number(InstanceId=instance, PhoneNumber="+15550100002")
    assert error_of(excinfo)[:2] == ("InvalidParameterException", 400)

    # to the instance: by id or ARN in its Region; the replica's ARN in the replica's Region
    toll_free = connect.claim_phone_number(InstanceId=instance.rsplit("/", 1)[1], PhoneNumber="+18005550100")
    summary = connect.describe_phone_number(PhoneNumberId=toll_free["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert (summary["TargetArn"], summary["InstanceId"], summary["PhoneNumberType"]) == (
        instance,
        instance.rsplit("/", 1)[1],
        "TOLL_FREE",
    )
    on_replica = replica.claim_phone_number(TargetArn=replica_arn_of(instance), PhoneNumber="+15550100004")
    assert on_replica["PhoneNumberArn"].startswith(f"arn:aws:connect:{REPLICA}:")
    with pytest.raises(ClientError) as excinfo:
        connect.claim_phone_number(TargetArn=replica_arn_of(instance), PhoneNumber="+15550100005")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)

    # the knob and the API share their numbers
    knob_arn = emu.claim_phone_number(group["Arn"], "+15550100006")
    with pytest.raises(ClientError):
        connect.claim_phone_number(InstanceId=instance, PhoneNumber="+15550100006")
    connect.release_phone_number(PhoneNumberId=knob_arn)
    assert "+15550100006" not in emu.group(group["Arn"])["PhoneNumbers"]
    assert emu.release_phone_numbers(group["Arn"]) == ["+15550100002"]
    assert outcome(lambda: connect.describe_phone_number(PhoneNumberId=first["PhoneNumberArn"]))[0] == (
        "ResourceNotFoundException"
    )


# -- a number's flow --------------------------------------------------------------------------------


def test_a_numbers_flow_is_set_from_either_region_by_arn_and_replaced_in_place(
    emu: Emulator, client: ClientFactory, connect: Any, instance: str
) -> None:
    group = active_group(emu, connect, instance)
    number_arn = emu.claim_phone_number(group["Arn"], "+15550100002")
    number_id = number_arn.rsplit("/", 1)[-1]
    first, second = emu.add_contact_flow(instance), emu.add_contact_flow(instance)
    replica = client("connect", REPLICA)

    connect.associate_phone_number_contact_flow(PhoneNumberId=number_id, InstanceId=instance, ContactFlowId=first)
    assert emu.phone_numbers()[0]["ContactFlowId"] == first.rsplit("/", 1)[-1]
    # From the group's other Region: the ARN works, the bare id does not (API reference).
    west_flow = second.replace(f":{HOME}:", f":{REPLICA}:")
    replica_instance = replica_arn_of(instance)
    replica.associate_phone_number_contact_flow(
        PhoneNumberId=number_arn, InstanceId=replica_instance, ContactFlowId=west_flow
    )
    assert emu.phone_numbers()[0]["ContactFlowId"] == second.rsplit("/", 1)[-1]
    assert outcome(
        lambda: replica.associate_phone_number_contact_flow(
            PhoneNumberId=number_id, InstanceId=replica_instance, ContactFlowId=west_flow
        )
    ) == ("ResourceNotFoundException", 404)
    # A flow ARN of the other Region, and a flow the instance does not have, are not found.
    for flow in (west_flow, f"{instance}/contact-flow/not-a-flow"):
        assert outcome(
            lambda flow=flow: connect.associate_phone_number_contact_flow(
                PhoneNumberId=number_arn, InstanceId=instance, ContactFlowId=flow
            )
        ) == ("ResourceNotFoundException", 404)

    replica.disassociate_phone_number_contact_flow(PhoneNumberId=number_arn, InstanceId=replica_instance)
    assert emu.phone_numbers()[0]["ContactFlowId"] is None
    assert outcome(
        lambda: connect.disassociate_phone_number_contact_flow(PhoneNumberId=number_arn, InstanceId=instance)
    ) == ("ResourceNotFoundException", 404)


def test_a_released_number_or_another_instances_number_has_no_flow_to_set(
    emu: Emulator, connect: Any, instance: str
) -> None:
    group = active_group(emu, connect, instance)
    number_arn = emu.claim_phone_number(group["Arn"], "+15550100003")
    other = emu.add_instance(home_region=HOME, replica_region=REPLICA)
    flow = emu.add_contact_flow(other)

    assert outcome(
        lambda: connect.associate_phone_number_contact_flow(
            PhoneNumberId=number_arn, InstanceId=other, ContactFlowId=flow
        )
    ) == ("ResourceNotFoundException", 404)
    emu.release_phone_numbers(group["Arn"])
    for call in (
        lambda: connect.associate_phone_number_contact_flow(
            PhoneNumberId=number_arn, InstanceId=instance, ContactFlowId="any-flow"
        ),
        lambda: connect.disassociate_phone_number_contact_flow(PhoneNumberId=number_arn, InstanceId=instance),
    ):
        assert outcome(call) == ("ResourceNotFoundException", 404)
