"""The instance's own resources a consumer template declares beside ours: users, flows, queues, routing profiles,
hours of operation and security profiles. Create and Delete only, as far as ``make local`` plays them.

A user created in one Region of a replicated instance reaches the other Region after ``user_replica_lag`` seconds;
until then it cannot be associated with a traffic distribution group (admin guide, "Associate agents across
Regions": the agent must exist in both the source and the replica instance; "Create a replica of your existing
Amazon Connect instance": resources replicate in near real time, and a failed sync is retried within 30 minutes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from local.emulator.connect.model import Instance, InstanceResource
from local.emulator.connect.state import ConnectState
from local.emulator.errors import ApiError


@dataclass(frozen=True)
class Kind:
    """One resource type of an instance: its ARN segment, its id and ARN in Create's answer, the id parameter of
    Delete, and the parameter that names it (unique per instance)."""

    segment: str
    id_key: str
    arn_key: str
    name_key: str


KINDS: Final = {
    "User": Kind("agent", "UserId", "UserArn", "Username"),
    "ContactFlow": Kind("contact-flow", "ContactFlowId", "ContactFlowArn", "Name"),
    "Queue": Kind("queue", "QueueId", "QueueArn", "Name"),
    "RoutingProfile": Kind("routing-profile", "RoutingProfileId", "RoutingProfileArn", "Name"),
    "HoursOfOperation": Kind("operating-hours", "HoursOfOperationId", "HoursOfOperationArn", "Name"),
    "SecurityProfile": Kind("security-profile", "SecurityProfileId", "SecurityProfileArn", "SecurityProfileName"),
}
OPERATIONS: Final = frozenset(f"{verb}{name}" for name in KINDS for verb in ("Create", "Delete"))


class InstanceResourceOperations(ConnectState):
    """Create and Delete of :data:`KINDS`, and the users' replica lag."""

    def resource_of(self, operation: str) -> tuple[str, str] | None:
        """``("Create" | "Delete", kind)`` for an operation of :data:`OPERATIONS`, else None."""
        for verb in ("Create", "Delete"):
            kind = operation.removeprefix(verb)
            if operation.startswith(verb) and kind in KINDS:
                return verb, kind
        return None

    def handle_resource(self, operation: str, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        found = self.resource_of(operation)
        assert found is not None, operation
        verb, kind = found
        instance, _ = self._instance_in(params["InstanceId"], region, now)
        if verb == "Create":
            return self._create_resource(kind, instance, params, region, now)
        return self._delete_resource(kind, instance, params[KINDS[kind].id_key])

    def _create_resource(
        self, kind: str, instance: Instance, params: dict[str, Any], region: str, now: float
    ) -> dict[str, Any]:
        spec = KINDS[kind]
        name = str(params[spec.name_key])
        if any(r.kind == kind and r.instance is instance and r.name == name for r in self.resources.values()):
            # Every Create of these lists DuplicateResourceException.
            raise ApiError("DuplicateResourceException", f"A {kind} named {name} already exists in {instance.id}")
        resource_id = str(uuid.uuid4())
        arn = f"{instance.arn_in(region)}/{spec.segment}/{resource_id}"
        self.resources[resource_id] = InstanceResource(kind, resource_id, arn, name, instance, now)
        if kind == "User":
            instance.users.append(resource_id)
            instance.user_replicated_at[resource_id] = now + self.user_replica_lag
        if kind == "ContactFlow":
            instance.flows.append(resource_id)  # a flow AssociatePhoneNumberContactFlow accepts
        return {spec.id_key: resource_id, spec.arn_key: arn}

    def _delete_resource(self, kind: str, instance: Instance, resource_id: str) -> dict[str, Any]:
        resource = self.resources.get(resource_id)
        if resource is None or resource.kind != kind or resource.instance is not instance:
            raise ApiError("ResourceNotFoundException", f"{kind} {resource_id} not found in {instance.id}")
        del self.resources[resource_id]
        if kind == "User":
            instance.users.remove(resource_id)
            instance.user_replicated_at.pop(resource_id, None)
        if kind == "ContactFlow":
            instance.flows.remove(resource_id)
        return {}

    def resource_snapshots(self) -> list[dict[str, Any]]:
        return [
            {"Kind": r.kind, "Id": r.id, "Arn": r.arn, "Name": r.name, "InstanceId": r.instance.id}
            for r in self.resources.values()
        ]
