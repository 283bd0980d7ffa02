"""Claimed phone numbers and their flows: ClaimPhoneNumber, ReleasePhoneNumber, DescribePhoneNumber,
AssociatePhoneNumberContactFlow, DisassociatePhoneNumberContactFlow."""

from __future__ import annotations

import re
import uuid
from typing import Any

from local.emulator.connect.model import ACTIVE, DELETED, REPLICATION_COMPLETE, Group, Instance, PhoneNumber
from local.emulator.connect.state import ConnectState
from local.emulator.errors import ApiError

# Calling codes for PhoneNumberCountryCode in DescribePhoneNumber (longest prefix first).
_CALLING_CODES = (("+44", "GB"), ("+49", "DE"), ("+81", "JP"), ("+61", "AU"), ("+33", "FR"), ("+1", "US"))
_TOLL_FREE_RE = re.compile(r"\+18(00|33|44|55|66|77|88)\d*")


class PhoneNumberOperations(ConnectState):
    """The operations on phone numbers, and their knobs and inspection."""

    def add_contact_flow(self, instance_ref: str, flow_id: str | None) -> str:
        """Register a flow (id made up when None) with the instance; returns its ARN in the home Region. Once an
        instance has registered flows, AssociatePhoneNumberContactFlow accepts only those; until then any id is a
        flow. KeyError for an unknown instance."""
        instance = self._find_instance(instance_ref)
        if instance is None:
            raise KeyError(instance_ref)
        flow_id = flow_id or str(uuid.uuid4())
        if flow_id not in instance.flows:
            instance.flows.append(flow_id)
        return f"{instance.arn}/contact-flow/{flow_id}"

    def claim_phone_number(self, group_ref: str, number: str, now: float) -> str:
        group = self._lookup(group_ref, now)
        claimed = self._claimed(number)
        if claimed is not None:
            raise ValueError(f"{number} is already claimed to {claimed.target_arn}")
        return self._new_number(number, group.instance.home_region, group.arn, group.instance, group, now).arn

    def release_phone_numbers(self, group_ref: str, now: float) -> list[str]:
        group = self._lookup(group_ref, now)
        released = list(group.phone_numbers)
        for pn in self.phone_numbers.values():
            if pn.group is group and pn.released_at is None:
                self._release(pn, now)
        return released

    def number_snapshot(self, pn: PhoneNumber) -> dict[str, Any]:
        return {
            "Id": pn.id,
            "Arn": pn.arn,
            "Number": pn.number,
            "Region": pn.region,
            "TargetArn": pn.target_arn,
            "InstanceId": pn.instance.id,
            "GroupArn": pn.group.arn if pn.group else None,
            "Description": pn.description,
            "Tags": dict(pn.tags),
            "ClientToken": pn.client_token,
            "ClaimedAt": pn.claimed_at,
            "ReleasedAt": pn.released_at,
            "ContactFlowId": pn.flow_id,
        }

    def _claimed(self, number: str) -> PhoneNumber | None:
        return next((p for p in self.phone_numbers.values() if p.number == number and p.released_at is None), None)

    def _new_number(
        self,
        number: str,
        region: str,
        target_arn: str,
        instance: Instance,
        group: Group | None,
        now: float,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        token: str | None = None,
    ) -> PhoneNumber:
        number_id = str(uuid.uuid4())
        pn = PhoneNumber(
            id=number_id,
            arn=f"arn:aws:connect:{region}:{self.account_id}:phone-number/{number_id}",
            number=number,
            region=region,
            target_arn=target_arn,
            instance=instance,
            group=group,
            description=description,
            tags=dict(tags or {}),
            client_token=token,
            claimed_at=now,
        )
        self.phone_numbers[number_id] = pn
        if group is not None:
            group.phone_numbers[number] = pn.arn
        return pn

    def _claim_target(self, params: dict[str, Any], region: str, now: float) -> tuple[str, Instance, Group | None]:
        target, instance_ref = params.get("TargetArn"), params.get("InstanceId")
        if bool(target) == bool(instance_ref):
            raise ApiError("InvalidParameterException", "Give exactly one of TargetArn and InstanceId")
        if target and ":traffic-distribution-group/" in target:
            group = self.groups.get(target.rsplit("/", 1)[-1])
            if group is None or group.arn != target or group.status(now) == DELETED or not group.visible(region, now):
                raise ApiError("ResourceNotFoundException", f"Traffic distribution group {target} not found")
            if region != group.instance.home_region:
                # Admin guide ("Claim phone numbers to traffic distribution groups").
                raise ApiError(
                    "InvalidParameterException",
                    f"Numbers are claimed to traffic distribution group {group.arn} only in "
                    f"{group.instance.home_region}, not in {region}",
                )
            if group.status(now) != ACTIVE:
                # Same page: "Assigning a phone number to a traffic distribution group that isn't
                # ACTIVE results in ResourceNotFoundException."
                raise ApiError(
                    "ResourceNotFoundException",
                    f"Traffic distribution group {group.id} is {group.status(now)}, not ACTIVE",
                )
            return group.arn, group.instance, group
        ref = str(target or instance_ref)
        if target and ":instance/" not in target:
            raise ApiError(
                "InvalidParameterException",
                f"TargetArn {target} is neither an instance nor a traffic distribution group ARN",
            )
        instance, replica = self._instance_in(ref, region, now)
        if replica is not None and replica.status(now) != REPLICATION_COMPLETE:
            raise ApiError("ResourceNotFoundException", f"The replica {replica.arn} is {replica.status(now)}")
        return instance.arn_in(region), instance, None

    def _claim_number(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        number = params["PhoneNumber"]
        token = params.get("ClientToken") or None
        target_arn, instance, group = self._claim_target(params, region, now)
        if token is not None:
            known = self._number_tokens.get((region, token))
            if known is not None:
                if (known.number, known.target_arn) != (number, target_arn):
                    raise ApiError(
                        "IdempotencyException",
                        f"ClientToken {token} was used for another claim ({known.number} to {known.target_arn})",
                    )
                return {"PhoneNumberId": known.id, "PhoneNumberArn": known.arn}
        claimed = self._claimed(number)
        if claimed is not None:
            raise ApiError("InvalidParameterException", f"Phone number {number} is not available: it is claimed")
        if any(p.number == number for p in self.phone_numbers.values()):
            # "After releasing a phone number, the phone number enters into a cooldown period for
            # up to 180 days. It cannot be searched for or claimed again until the period has ended."
            raise ApiError(
                "InvalidParameterException",
                f"Phone number {number} is not available: it was released and is in its cooldown period",
            )
        pn = self._new_number(
            number,
            region,
            target_arn,
            instance,
            group,
            now,
            description=params.get("PhoneNumberDescription"),
            tags=params.get("Tags"),
            token=token,
        )
        if token is not None:
            self._number_tokens[(region, token)] = pn
        return {"PhoneNumberId": pn.id, "PhoneNumberArn": pn.arn}

    def _number(self, ref: str, region: str, *, claim_region_only: bool) -> PhoneNumber | None:
        """A number by id (in the Region it was claimed in) or ARN (there, or, for a number of a
        group, also in the group's other Region unless ``claim_region_only``), released ones included."""
        pn = self.phone_numbers.get(ref.rsplit("/", 1)[-1])
        if pn is None or (ref.startswith("arn:") and pn.arn != ref):
            return None
        if region == pn.region:
            return pn
        if ref.startswith("arn:") and not claim_region_only and pn.group is not None:
            return pn if region in pn.group.instance.regions else None
        return None

    def _release_number(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        ref = params["PhoneNumberId"]
        token = params.get("ClientToken") or None
        pn = self._number(ref, region, claim_region_only=True)
        if pn is not None and pn.released_at is not None and token is not None and pn.release_token == token:
            return {}  # the same release again
        if pn is None or pn.released_at is not None:
            raise ApiError("ResourceNotFoundException", f"Phone number {ref} not found in {region}")
        self._release(pn, now, token)
        return {}

    def _describe_number(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        ref = params["PhoneNumberId"]
        pn = self._number(ref, region, claim_region_only=False)
        if pn is None or pn.released_at is not None:
            raise ApiError("ResourceNotFoundException", f"Phone number {ref} not found in {region}")
        summary: dict[str, Any] = {
            "PhoneNumberId": pn.id,
            "PhoneNumberArn": pn.arn,
            "PhoneNumber": pn.number,
            "PhoneNumberType": "TOLL_FREE" if _TOLL_FREE_RE.fullmatch(pn.number) else "DID",
            "TargetArn": pn.target_arn,
            "PhoneNumberStatus": {"Status": "CLAIMED"},
            "Tags": dict(pn.tags),
        }
        country = next((code for prefix, code in _CALLING_CODES if pn.number.startswith(prefix)), None)
        if country is not None:
            summary["PhoneNumberCountryCode"] = country
        if pn.description is not None:
            summary["PhoneNumberDescription"] = pn.description
        if pn.group is None:
            summary["InstanceId"] = pn.instance.id
        return {"ClaimedPhoneNumberSummary": summary}

    def _number_of_instance(self, params: dict[str, Any], region: str, now: float) -> tuple[PhoneNumber, Instance]:
        """The number and instance of Associate/DisassociatePhoneNumberContactFlow. The number is found as the API
        reference says: by id or ARN in the Region it was claimed in, and for a number of a group by its ARN only
        in the group's other Region ("If a UUID is provided in this scenario, you will receive a
        ResourceNotFoundException"). A number of another instance is not found either (the code is unverified)."""
        ref = params["PhoneNumberId"]
        instance, _ = self._instance_in(params["InstanceId"], region, now)
        pn = self._number(ref, region, claim_region_only=False)
        if pn is None or pn.released_at is not None:
            raise ApiError("ResourceNotFoundException", f"Phone number {ref} not found in {region}")
        if pn.instance is not instance:
            raise ApiError("ResourceNotFoundException", f"Phone number {ref} is not claimed to instance {instance.id}")
        return pn, instance

    def _associate_flow(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        pn, instance = self._number_of_instance(params, region, now)
        ref = params["ContactFlowId"]
        flow_id = ref
        if ref.startswith("arn:"):
            # The admin guide has flow ARNs passed; one of the instance in another Region is refused here (the
            # stricter reading: whether Connect takes it is unverified).
            prefix = f"{instance.arn_in(region)}/contact-flow/"
            flow_id = ref.removeprefix(prefix) if ref.startswith(prefix) else ""
        if not flow_id or (instance.flows and flow_id not in instance.flows):
            raise ApiError("ResourceNotFoundException", f"Flow {ref} not found in instance {instance.arn_in(region)}")
        pn.flow_id = flow_id  # replaces the flow the number had; mirrored to the other Region (admin guide)
        return {}

    def _disassociate_flow(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        pn, _ = self._number_of_instance(params, region, now)
        if pn.flow_id is None:
            # What Connect answers for a number without a flow is unverified: the stricter reading, an error.
            raise ApiError("ResourceNotFoundException", f"Phone number {params['PhoneNumberId']} has no flow")
        pn.flow_id = None
        return {}
