"""What Create, Update and Delete of a traffic distribution group do, and how an unfinished one resumes.

Each entry point returns ``Done`` (answer SUCCESS with this id and these attributes) or ``Pending``
(the invocation ran out of time; carry on with scheduled polling from this state), or raises
ProviderError (answer FAILED). Update reconciles against the group as Connect describes it, not
against OldResourceProperties, so that a rollback to the old properties never replaces by mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import connect
from connect import Group
from distribution import Distribution
from errors import ProviderError
from properties import (
    GroupProperties,
    GroupRef,
    InstanceRef,
    parse_distribution_properties,
    parse_group_properties,
    parse_tags,
)
from waiting import Budget, wait_for

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

GROUP_TYPE = "Custom::TrafficDistributionGroup"
DISTRIBUTION_TYPE = "Custom::TrafficDistribution"
RESOURCE_TYPES = (GROUP_TYPE, DISTRIBUTION_TYPE)

# Gives the Connect client for a region: Connect must be called in the instance's home region.
Clients = Callable[[str], "ConnectClient"]


@dataclass(frozen=True)
class Request:
    """The parts of a CloudFormation custom-resource event that the lifecycle uses."""

    request_type: str
    request_id: str
    resource_type: str
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any]
    physical_resource_id: str | None
    region: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any], region: str) -> Request:
        return cls(
            request_type=event["RequestType"],
            request_id=event["RequestId"],
            resource_type=event.get("ResourceType", ""),
            properties=event.get("ResourceProperties") or {},
            old_properties=event.get("OldResourceProperties") or {},
            physical_resource_id=event.get("PhysicalResourceId"),
            region=region,
        )


@dataclass(frozen=True)
class Done:
    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    """Connect is still working. ``state`` is all a later poll needs; it travels in the polling rule."""

    state: dict[str, str]
    group_arn: str | None = None


Result = Done | Pending

# The phases an unfinished request can be in, as kept in Pending.state["Phase"]: a new group (its failure
# leaves it for the rollback's Delete), a replacement (its failure deletes it), an existing group, a delete.
CREATING, REPLACING, UPDATING, DELETING = "create", "replace", "update", "delete"


def handle(request: Request, clients: Clients, budget: Budget) -> Result:
    """Run one Create, Update or Delete event."""
    if request.request_type == "Delete":
        return delete(request, clients, budget)
    check_resource_type(request)
    if request.resource_type == DISTRIBUTION_TYPE:
        return distribute(request, clients, budget)
    if request.request_type == "Create":
        return create(request, clients, budget)
    return update(request, clients, budget)


def resume(request: Request, state: Mapping[str, str], clients: Clients, budget: Budget) -> Result:
    """Carry on with a request that an earlier invocation handed over to scheduled polling."""
    ref = _group_ref(state["GroupArn"], request.region)
    phase = state["Phase"]
    if phase == DELETING:
        return _settle_deleted(clients(ref.region), ref, budget, already_requested=True)
    return _converge(clients, ref, _desired_distribution(request), budget, phase=phase)


def check_resource_type(request: Request) -> None:
    if request.resource_type not in RESOURCE_TYPES:
        raise ProviderError(
            f"This provider does not manage resource type {request.resource_type or '(none)'!r}. "
            f"Declare the resource as one of: {', '.join(RESOURCE_TYPES)}."
        )


def create(request: Request, clients: Clients, budget: Budget) -> Result:
    desired = parse_group_properties(request.properties, request.region)
    arn = connect.create_group(clients(desired.instance.region), desired, request.request_id, budget)
    return _converge(clients, _group_ref(arn, request.region), desired.distribution, budget, phase=CREATING)


def update(request: Request, clients: Clients, budget: Budget) -> Result:
    desired = parse_group_properties(request.properties, request.region)
    physical_id = request.physical_resource_id or ""
    ref = GroupRef.parse(physical_id, desired.instance.region)
    if ref is None:
        # The resource never became a group (its Create failed), so make one now.
        return _replace(request, desired, clients, budget, current_name=None)
    client = clients(ref.region)
    current = connect.describe_group(client, ref, budget)
    if current is None:
        raise ProviderError(
            f"Traffic distribution group {physical_id} no longer exists: it was deleted outside "
            "CloudFormation. Remove the resource from the template and deploy, then add it back to recreate it.",
            code="GroupGone",
        )
    if replacement_needed(current, desired):
        return _replace(request, desired, clients, budget, current_name=current.name)
    old_tags = _lenient_tags(request.old_properties)
    _apply_tags(client, current, desired.tags, old_tags, budget)
    return _converge(clients, ref, desired.distribution, budget, phase=UPDATING, known=current)


def distribute(request: Request, clients: Clients, budget: Budget) -> Result:
    """Create or Update of a Custom::TrafficDistribution: apply the distribution to an existing group.

    Its physical id is the group's ARN, so pointing it at another group is a replacement.
    """
    desired = parse_distribution_properties(request.properties)
    return _converge(clients, desired.group, desired.distribution, budget, phase=UPDATING)


def delete(request: Request, clients: Clients, budget: Budget) -> Result:
    physical_id = request.physical_resource_id or ""
    if request.resource_type != GROUP_TYPE:
        # Custom::TrafficDistribution leaves traffic as it is: a stack delete must never move live calls.
        # Nothing is ever made under an unknown type, so there is nothing to delete either.
        return Done(physical_id)
    ref = GroupRef.parse(physical_id, _lenient_region(request))
    if ref is None:
        # Not a group: crhelper's invented id after a Create that failed before a group existed.
        return Done(physical_id)
    return _settle_deleted(clients(ref.region), ref, budget, already_requested=False)


def replacement_needed(current: Group, desired: GroupProperties) -> bool:
    """Connect cannot rename a group, change its description or move it: those need a new group."""
    return (
        current.name != desired.name
        or (current.description or None) != desired.description
        or not _same_instance(current.instance_arn, desired.instance)
    )


def tag_changes(
    current: Mapping[str, str], desired: Mapping[str, str], previous: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Tags to set and keys to remove. Only keys the stack set before are removed; others' tags stay."""
    to_set = {key: value for key, value in desired.items() if current.get(key) != value}
    to_remove = sorted(key for key in previous if key not in desired and key in current)
    return to_set, to_remove


def _replace(
    request: Request, desired: GroupProperties, clients: Clients, budget: Budget, *, current_name: str | None
) -> Result:
    client = clients(desired.instance.region)
    try:
        arn = connect.create_group(client, desired, request.request_id, budget)
    except ProviderError as error:
        if error.code == "ResourceConflictException" and desired.name == current_name:
            raise ProviderError(
                f"Cannot replace the group: the name {desired.name!r} is still held by the group this update "
                "replaces, because CloudFormation deletes the old group only after the new one exists. "
                "Change Name in the same update as Description or InstanceId (for example add a suffix).",
                code=error.code,
            ) from error
        raise
    return _converge(clients, _group_ref(arn, request.region), desired.distribution, budget, phase=REPLACING)


def _converge(
    clients: Clients,
    ref: GroupRef,
    distribution: Distribution,
    budget: Budget,
    *,
    phase: str,
    known: Group | None = None,
) -> Result:
    """Wait until the group is ACTIVE, apply the distribution if it differs, and wait until ACTIVE again.

    ``known`` is the group as the caller has just described it, so that it is not described twice.
    Safe to run again from the start: a later poll finds the distribution applied and only waits.
    """
    client = clients(distribution.serving_region(ref.region))
    applied = distribution.is_empty()
    unchanged: Distribution | None = None  # the distribution as read, when no update followed

    def ready() -> Group | None:
        nonlocal applied, known, unchanged
        group = _settled(known or connect.describe_group(client, ref, budget), ref)
        known = None
        if group is None:
            return None
        if not applied:
            applied = True
            current = connect.get_distribution(client, ref, budget)
            if not distribution.satisfied_by(current):
                connect.update_distribution(client, ref, distribution, budget)
                return None  # the group passes through UPDATE_IN_PROGRESS
            unchanged = current
        return group

    try:
        group = wait_for(ready, budget)
        if group is None:
            return Pending({"Phase": phase, "GroupArn": ref.value}, group_arn=ref.value)
        applied_now = unchanged or connect.get_distribution(client, ref, budget)
    except ProviderError as error:
        if phase == REPLACING:
            raise _after_cleanup(client, ref, budget, error) from error
        raise
    return Done(ref.value, {**group.attributes(), **applied_now.attributes()})


def _settled(group: Group | None, ref: GroupRef) -> Group | None:
    """The group once it is ACTIVE; None while Connect is still creating it; FAILED otherwise."""
    if group is None:
        raise ProviderError(
            f"Traffic distribution group {ref.value} does not exist (any more). If the stack created it, "
            "something outside CloudFormation deleted it; check the ARN and retry the stack operation.",
            code="GroupGone",
        )
    if group.status == "ACTIVE":
        return group
    if group.status == "CREATION_FAILED":
        raise ProviderError(
            f"Connect could not create traffic distribution group {group.name!r} ({group.arn}): its status is "
            "CREATION_FAILED. Check that the instance's replication is healthy (DescribeInstance in both "
            "regions), then retry the stack operation.",
            physical_resource_id=ref.value,
            code="CreationFailed",
        )
    if group.status in ("PENDING_DELETION", "DELETION_FAILED"):
        raise ProviderError(
            f"Traffic distribution group {group.arn} is being deleted ({group.status}) outside CloudFormation.",
            physical_resource_id=ref.value,
            code="GroupGone",
        )
    return None


def _after_cleanup(client: ConnectClient, ref: GroupRef, budget: Budget, error: ProviderError) -> ProviderError:
    """A failed replacement: delete the new group, so nothing is orphaned, and say what happened."""
    try:
        result = _settle_deleted(client, ref, budget, already_requested=False)
    except ProviderError as cleanup_error:
        return ProviderError(
            f"{error.reason} The replacement group {ref.value} could not be deleted either "
            f"({cleanup_error.reason}); delete it by hand.",
            code=error.code,
        )
    left = " (its deletion is still in progress)" if isinstance(result, Pending) else ""
    return ProviderError(
        f"{error.reason} The replacement group {ref.value} was deleted{left}; the stack keeps the old group.",
        code=error.code,
    )


def _settle_deleted(client: ConnectClient, ref: GroupRef, budget: Budget, *, already_requested: bool) -> Result:
    """Delete the group, once, and wait until Connect no longer knows it."""
    requested = already_requested

    def gone() -> bool | None:
        nonlocal requested
        group = connect.describe_group(client, ref, budget)
        if group is None:
            return True
        if group.is_default:
            raise ProviderError(
                f"{group.arn} is the default traffic distribution group of its instance. Connect made it with "
                "ReplicateInstance and it cannot be deleted through the API. Remove it from the stack with "
                "DeletionPolicy: Retain.",
                physical_resource_id=ref.value,
                code="DefaultGroup",
            )
        if group.status == "DELETION_FAILED" and requested:
            raise ProviderError(
                f"Connect could not delete traffic distribution group {group.arn} (status DELETION_FAILED). "
                "Check that no phone numbers or other resources still use it, then retry the stack operation.",
                physical_resource_id=ref.value,
                code="DeletionFailed",
            )
        if group.status in ("ACTIVE", "CREATION_FAILED", "DELETION_FAILED") and not requested:
            _request_deletion(client, ref, group, budget)
            requested = True
        return None

    if wait_for(gone, budget) is None:
        return Pending({"Phase": DELETING, "GroupArn": ref.value}, group_arn=ref.value)
    return Done(ref.value)


def _request_deletion(client: ConnectClient, ref: GroupRef, group: Group, budget: Budget) -> None:
    try:
        connect.delete_group(client, ref, budget)
    except ProviderError as error:
        if error.code == "ResourceInUseException":
            raise ProviderError(
                f"Traffic distribution group {group.name!r} ({group.arn}) is still in use and cannot be deleted. "
                f"{error.reason}",
                physical_resource_id=ref.value,
                code=error.code,
            ) from error
        raise ProviderError(error.reason, physical_resource_id=ref.value, code=error.code) from error


def _apply_tags(
    client: ConnectClient, current: Group, desired: Mapping[str, str], previous: Mapping[str, str], budget: Budget
) -> None:
    to_set, to_remove = tag_changes(current.tags, desired, previous)
    if to_remove:
        connect.untag_group(client, current.arn, to_remove, budget)
    if to_set:
        connect.tag_group(client, current.arn, to_set, budget)


def _same_instance(instance_arn: str, desired: InstanceRef) -> bool:
    if desired.given.startswith("arn:"):
        return instance_arn == desired.given
    # A bare id means the function's region; compare the parts an ARN and an id share.
    return instance_arn.endswith(f"instance/{desired.instance_id}") and f":{desired.region}:" in instance_arn


def _desired_distribution(request: Request) -> Distribution:
    if request.resource_type == DISTRIBUTION_TYPE:
        return parse_distribution_properties(request.properties).distribution
    return parse_group_properties(request.properties, request.region).distribution


def _group_ref(arn: str, region: str) -> GroupRef:
    ref = GroupRef.parse(arn, region)
    if ref is None:
        raise ProviderError(f"Connect returned {arn!r}, which is not a traffic distribution group ARN.", code="Bug")
    return ref


def _lenient_tags(properties: Mapping[str, Any]) -> dict[str, str]:
    try:
        return parse_tags(properties.get("Tags"))
    except ProviderError:
        return {}


def _lenient_region(request: Request) -> str:
    """The region for a bare group id on Delete: properties that failed validation must not block it."""
    instance_id = request.properties.get("InstanceId")
    if isinstance(instance_id, str):
        try:
            return InstanceRef.parse(instance_id, request.region).region
        except ProviderError:
            pass
    return request.region
