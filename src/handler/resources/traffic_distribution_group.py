"""``Custom::TrafficDistributionGroup``: a traffic distribution group, and its distribution.

Create makes the group in the instance's home region (the stack's RequestId as ClientToken, so a retry
never makes a second group), then converges its distribution as ``Custom::TrafficDistribution`` does.
Update reconciles against the group as Connect describes it, not against OldResourceProperties, so that
a rollback to the old properties never replaces by mistake. Create and Delete work only in the home region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import connect
from connect import ConnectClients, Group
from distribution import Distribution, parse_distribution
from errors import ProviderError
from properties import GROUP_SCHEMA, GroupProperties, parse_group_properties, parse_tags
from refs import GroupRef, InstanceRef
from request import Done, Progress, Request, Result
from waiting import Budget, OutOfTime, poll_until

from .traffic_distribution import NEW_GROUP_PHASES, GroupState, Phase, changed, converge, group_ref

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

TYPE = "Custom::TrafficDistributionGroup"
SCHEMA = GROUP_SCHEMA
DELETABLE = ("ACTIVE", "CREATION_FAILED", "DELETION_FAILED")
# How long a Delete keeps looking for a group Connect says it does not know, before believing it.
NOT_FOUND_GRACE = 5.0


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    desired = parse_group_properties(request.properties, request.region)
    arn = connect.create_group(clients(desired.instance.region), desired, request.request_id, budget)
    progress.created = arn
    ref = group_ref(arn, request.region)
    return _converge_or_fail_cleanly(clients, ref, desired.distribution, budget, phase=Phase.CREATING)


def update(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Update in place when Connect can, else replace. Reads start in the region that will serve the
    calls, so that a failover works while the home region is down."""
    desired = parse_group_properties(request.properties, request.region)
    physical_id = request.physical_resource_id or ""
    ref = GroupRef.parse(physical_id, desired.instance.region)
    if ref is None:
        # The resource never became a group (its Create failed), so make one now.
        return _replace(request, desired, clients, budget, progress, current_name=None)
    regions = desired.distribution.read_regions(ref.region)
    current, read_in = connect.describe_group_in(clients, regions, ref, budget)
    if current is None:
        raise ProviderError(
            f"Traffic distribution group {physical_id} no longer exists: it was deleted outside "
            "CloudFormation. Remove the resource from the template and deploy, then add it back to recreate it.",
            code="GroupGone",
        )
    if replacement_needed(current, desired):
        return _replace(request, desired, clients, budget, progress, current_name=current.name)
    # Tags before traffic: if the home region cannot take them, the update fails before any call moves.
    _apply_tags(clients, ref, current, read_in, desired.tags, _lenient_tags(request.old_properties), budget)
    apply = _asks_to_move(request, desired)
    return converge(clients, ref, desired.distribution, budget, phase=Phase.UPDATING, known=current, apply=apply)


def delete(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    physical_id = request.physical_resource_id or ""
    ref = GroupRef.parse(physical_id, _lenient_region(request))
    if ref is None:
        # Not a group: crhelper's invented id after a Create that failed before a group existed.
        return Done(physical_id)
    # Connect deletes a group only in its home region: the ARN's.
    return _delete_and_wait(clients(ref.region), ref, budget, requested=False)


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    at = GroupState.from_data(state)
    ref = group_ref(at.group_arn, request.region)
    if at.phase in NEW_GROUP_PHASES:
        progress.created, progress.replacing = ref.value, at.phase is Phase.REPLACING
    if at.phase is Phase.DELETING:
        return _delete_and_wait(clients(ref.region), ref, budget, requested=at.requested)
    desired = parse_group_properties(request.properties, request.region)
    apply = at.phase is not Phase.UPDATING or _asks_to_move(request, desired)
    return _converge_or_fail_cleanly(
        clients, ref, desired.distribution, budget, phase=at.phase, sent=at.sent, apply=apply
    )


def abandon(state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """A replacement group is deleted, as a failed replacement always is; a new group stays for the
    rollback's Delete."""
    if state.get("Phase") != Phase.REPLACING or not state.get("GroupArn"):
        return ""
    ref = group_ref(state["GroupArn"], "")
    try:
        connect.delete_group(clients(ref.region), ref, budget)
    except (ProviderError, OutOfTime) as error:
        return f" The replacement group {ref.value} could not be deleted ({error}); delete it by hand."
    return f" The replacement group {ref.value} is being deleted; the stack keeps the old group."


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
    request: Request,
    desired: GroupProperties,
    clients: ConnectClients,
    budget: Budget,
    progress: Progress,
    *,
    current_name: str | None,
) -> Result:
    try:
        arn = connect.create_group(clients(desired.instance.region), desired, request.request_id, budget)
    except ProviderError as error:
        if error.code == "ResourceConflictException" and desired.name == current_name:
            raise ProviderError(
                f"Cannot replace the group: the name {desired.name!r} is still held by the group this update "
                "replaces, because CloudFormation deletes the old group only after the new one exists. "
                "Change Name in the same update as Description or InstanceId (for example add a suffix).",
                code=error.code,
            ) from error
        raise
    progress.created, progress.replacing = arn, True
    ref = group_ref(arn, request.region)
    return _converge_or_fail_cleanly(clients, ref, desired.distribution, budget, phase=Phase.REPLACING)


def _converge_or_fail_cleanly(
    clients: ConnectClients,
    ref: GroupRef,
    distribution: Distribution,
    budget: Budget,
    *,
    phase: Phase,
    sent: bool = False,
    apply: bool = True,
) -> Result:
    """Converge, and when that fails do what the phase needs: a FAILED answer for a new group carries its
    ARN, so that the rollback's Delete removes it; a failed replacement deletes the group it made."""
    try:
        return converge(clients, ref, distribution, budget, phase=phase, sent=sent, apply=apply)
    except ProviderError as error:
        if phase is Phase.CREATING:
            raise error.about(ref.value) from error
        if phase is Phase.REPLACING:
            _replacement_failed(clients(ref.region), ref, budget, error)
        raise


def _replacement_failed(client: ConnectClient, ref: GroupRef, budget: Budget, error: ProviderError) -> NoReturn:
    """A failed replacement: delete the new group (in its home region), so nothing is orphaned, and say so."""
    try:
        result = _delete_and_wait(client, ref, budget, requested=False)
    except (ProviderError, OutOfTime) as cleanup_error:
        raise ProviderError(
            f"{error.reason} The replacement group {ref.value} could not be deleted either "
            f"({cleanup_error}); delete it by hand.",
            code=error.code,
        ) from error
    left = " (its deletion is still in progress)" if not isinstance(result, Done) else ""
    raise ProviderError(
        f"{error.reason} The replacement group {ref.value} was deleted{left}; the stack keeps the old group.",
        code=error.code,
    ) from error


def _delete_and_wait(client: ConnectClient, ref: GroupRef, budget: Budget, *, requested: bool) -> Result:
    """Delete the group, once, and wait until Connect no longer knows it.

    Before deletion is requested, "not found" is believed only after NOT_FOUND_GRACE seconds of it: the
    rollback of a Create can arrive while Connect does not show the new group yet, and must not leave it.
    """
    deletion = _Deletion(client, ref, budget, requested)
    return (
        poll_until(deletion.step, budget)
        or GroupState(Phase.DELETING, ref.value, requested=deletion.requested).pending()
    )


class _Deletion:
    """One deletion, run a step at a time by ``poll_until``."""

    def __init__(self, client: ConnectClient, ref: GroupRef, budget: Budget, requested: bool) -> None:
        self.client, self.ref, self.budget, self.requested = client, ref, budget, requested
        self.unseen_since: float | None = None

    def step(self) -> Done | None:
        group = connect.describe_group(self.client, self.ref, self.budget)
        if group is None:
            self.unseen_since = self.budget.clock() if self.unseen_since is None else self.unseen_since
            if self.requested or self.budget.clock() - self.unseen_since >= NOT_FOUND_GRACE:
                return Done(self.ref.value)
        elif group.is_default:
            raise ProviderError(
                f"{group.arn} is the default traffic distribution group of its instance. Connect made it "
                "with ReplicateInstance and it cannot be deleted through the API. Remove it from the stack "
                "with DeletionPolicy: Retain.",
                physical_resource_id=self.ref.value,
                code="DefaultGroup",
            )
        elif group.status == "DELETION_FAILED" and self.requested:
            raise ProviderError(
                f"Connect could not delete traffic distribution group {group.arn} (status DELETION_FAILED). "
                "Check that no phone numbers or other resources still use it, then retry the stack operation.",
                physical_resource_id=self.ref.value,
                code="DeletionFailed",
            )
        elif group.status in DELETABLE and not self.requested:
            _request_deletion(self.client, self.ref, group, self.budget)
            self.requested = True
        return None


def _request_deletion(client: ConnectClient, ref: GroupRef, group: Group, budget: Budget) -> None:
    try:
        connect.delete_group(client, ref, budget)
    except ProviderError as error:
        if error.code == "ResourceInUseException" and _deletion_under_way(client, ref, budget):
            return  # a retry after a lost answer: the first request went through
        if error.code == "ResourceInUseException":
            raise ProviderError(
                f"Traffic distribution group {group.name!r} ({group.arn}) is still in use and cannot be deleted. "
                f"{error.reason}",
                physical_resource_id=ref.value,
                code=error.code,
            ) from error
        raise error.about(ref.value) from error


def _deletion_under_way(client: ConnectClient, ref: GroupRef, budget: Budget) -> bool:
    group = connect.describe_group(client, ref, budget)
    return group is None or group.status == "PENDING_DELETION"


def _apply_tags(
    clients: ConnectClients,
    ref: GroupRef,
    current: Group,
    read_in: str,
    desired: Mapping[str, str],
    previous: Mapping[str, str],
    budget: Budget,
) -> None:
    """Tags live in the home region. Read there, they are reconciled with the group's. Read in the other
    region (the home region is down), only what the template changed and the group does not show yet is
    applied, which needs home: whether the other region's Describe shows the tags is not documented, so
    neither a failover nor the rollback of a failed tag change may depend on it."""
    home = ref.region
    if read_in == home:
        to_set, to_remove = tag_changes(current.tags, desired, previous)
    else:
        changed, dropped = tag_changes(previous, desired, previous)
        to_set = {key: value for key, value in changed.items() if current.tags.get(key) != value}
        to_remove = [key for key in dropped if not current.tags or key in current.tags]
    if not (to_set or to_remove):
        return
    client = clients(home)
    try:
        if to_remove:
            connect.untag_group(client, current.arn, to_remove, budget, attempts=connect.READ_ATTEMPTS)
        if to_set:
            connect.tag_group(client, current.arn, to_set, budget, attempts=connect.READ_ATTEMPTS)
    except connect.Unavailable as error:
        raise ProviderError(
            f"Tags changed in this update, and Connect changes tags only in the group's home region {home}, "
            f"which is unavailable ({error.reason}). No traffic was moved. Split the change: deploy the "
            "distribution change alone now, and the tag change once the region is back.",
            code=error.code,
        ) from error


def _asks_to_move(request: Request, desired: GroupProperties) -> bool:
    """Whether this Update changes the template's distribution (a rollback does too, back to the old one)."""
    try:
        old = parse_distribution(request.old_properties, home_region=desired.instance.region)
    except ProviderError:
        old = None
    return changed(old, desired.distribution)


def _same_instance(instance_arn: str, desired: InstanceRef) -> bool:
    if desired.given.startswith("arn:"):
        return instance_arn == desired.given
    # A bare id means the function's region; compare the parts an ARN and an id share.
    return instance_arn.endswith(f"instance/{desired.instance_id}") and f":{desired.region}:" in instance_arn


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
