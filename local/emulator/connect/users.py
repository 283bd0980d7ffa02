"""The agents of traffic distribution groups: Associate, Disassociate and List users."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from local.emulator.connect.model import ACTIVE, PAGE_SIZE, Group, Instance
from local.emulator.connect.state import ConnectState
from local.emulator.errors import ApiError

_UUID_RE = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")


class UserOperations(ConnectState):
    """The operations on the agents of groups, and the knob that registers an instance's agents."""

    def add_user(self, instance_ref: str, user_id: str | None) -> str:
        instance = self._find_instance(instance_ref)
        if instance is None:
            raise KeyError(instance_ref)
        user_id = user_id or str(uuid.uuid4())
        if not _UUID_RE.fullmatch(user_id):
            raise ValueError(f"user id {user_id!r} is not a lower-case UUID")
        if user_id not in instance.users:
            instance.users.append(user_id)
        return user_id

    def _user_group(self, params: dict[str, Any], region: str, now: float) -> tuple[Group, str]:
        """The group and the (bare) user id of Associate/DisassociateTrafficDistributionGroupUser."""
        group = self._home_group(params, region, now)
        ref = params["InstanceId"]
        instance = self._find_instance(ref)
        if instance is None:
            raise ApiError("ResourceNotFoundException", f"Instance {ref} not found")
        if instance is not group.instance:
            raise ApiError(
                "InvalidRequestException",
                f"Traffic distribution group {group.id} belongs to instance {group.instance.id}, not {instance.id}",
            )
        status = group.status(now)
        if status != ACTIVE:
            # Admin guide ("Associate agents across Regions"): "Assigning an agent to a traffic
            # distribution group without an ACTIVE status results in ResourceNotFoundException."
            # The emulator answers Disassociate the same way (unverified).
            raise ApiError(
                "ResourceNotFoundException",
                f"Traffic distribution group {group.id} is {status}; agents can be associated with it "
                "or disassociated from it only while it is ACTIVE",
            )
        return group, self._user_id(params["UserId"], group.instance)

    def _user_id(self, ref: str, instance: Instance) -> str:
        """A user id or user ARN (``…:instance/<instance id>/agent/<user id>``) -> the bare id."""
        user_id = ref
        prefix = "arn:aws:connect:"
        if ref.startswith(prefix):
            _, _, rest = ref.partition(prefix)
            parts = rest.split(":", 2)
            resource = parts[2] if len(parts) == 3 else ""
            in_regions = len(parts) == 3 and parts[0] in instance.regions and parts[1] == self.account_id
            head = f"instance/{instance.id}/agent/"
            user_id = resource.removeprefix(head) if in_regions and resource.startswith(head) else ""
        if not _UUID_RE.fullmatch(user_id) or (instance.users and user_id not in instance.users):
            raise ApiError("ResourceNotFoundException", f"User {ref} not found in instance {instance.id}")
        return user_id

    def _associate_user(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group, user_id = self._user_group(params, region, now)
        if user_id in group.users:
            raise ApiError(
                "ResourceConflictException",
                f"User {user_id} is already associated with traffic distribution group {group.id}",
            )
        group.users.append(user_id)
        return {}

    def _disassociate_user(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group, user_id = self._user_group(params, region, now)
        if user_id not in group.users:
            raise ApiError(
                "ResourceNotFoundException",
                f"User {user_id} is not associated with traffic distribution group {group.id}",
            )
        group.users.remove(user_id)
        return {}

    def _list_users(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group(params["TrafficDistributionGroupId"], region, now)
        offset = self._decode_token(params.get("NextToken"))
        # MaxResults may be up to 1000, but the model lets a page hold at most 10 summaries.
        size = min(params.get("MaxResults") or PAGE_SIZE, PAGE_SIZE)
        result: dict[str, Any] = {
            "TrafficDistributionGroupUserSummaryList": [{"UserId": u} for u in group.users[offset : offset + size]]
        }
        if offset + size < len(group.users):
            result["NextToken"] = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode()
        return result
