"""What Create, Update and Delete of a traffic distribution group do, and how an unfinished one resumes.

Each entry point returns ``Done`` (answer SUCCESS with this id and these attributes) or ``Pending``
(the invocation ran out of time; carry on with scheduled polling from this state), or raises
ProviderError (answer FAILED). Update reconciles against the group as Connect describes it, not
against OldResourceProperties, so that a rollback to the old properties never replaces by mistake.

What Connect documents, and what the code here relies on (docs/emulator-fidelity.md has the sources):
- a group just created may be unknown to Describe, Get and Update for a while, longer in the replica
  region: for a group this request made, "not found" means "not visible yet";
- Create and Delete work only in the home region; reads and UpdateTrafficDistribution take the ARN in
  either region, so a failover works from the surviving region without one call to the failed one;
- UpdateTrafficDistribution is accepted only while the group is ACTIVE;
- once traffic has moved, the answer is SUCCESS: a FAILED answer would make the rollback move the calls
  back into the region they were moved out of.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, NoReturn, TypeVar

import connect
import group_users
import replicas
from connect import Group
from distribution import Distribution
from errors import ProviderError
from properties import GroupProperties, parse_distribution_properties, parse_group_properties, parse_tags
from refs import GroupRef, InstanceRef
from request import Clients, Done, Pending, Progress, Request, Result
from waiting import Budget, OutOfTime

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

GROUP_TYPE = "Custom::TrafficDistributionGroup"
DISTRIBUTION_TYPE = "Custom::TrafficDistribution"
RESOURCE_TYPES = (GROUP_TYPE, DISTRIBUTION_TYPE, replicas.RESOURCE_TYPE, group_users.RESOURCE_TYPE)

T = TypeVar("T")
# Reads try the serving region this many times before they turn to the other region; tags, which only
# the home region takes, fail this soon when it is down, so that the Reason comes before traffic moves.
READ_ATTEMPTS = 3


# The phases an unfinished request can be in, as kept in Pending.state["Phase"]: not started (run the
# request again; every step is idempotent), a new group (its failure leaves it for the rollback's
# Delete), a replacement (its failure deletes it), an existing group, a delete.
STARTING, CREATING, REPLACING, UPDATING, DELETING = "start", "create", "replace", "update", "delete"
NEW_GROUP_PHASES = (CREATING, REPLACING)
DELETABLE = ("ACTIVE", "CREATION_FAILED", "DELETION_FAILED")
# How long a Delete keeps looking for a group Connect says it does not know, before believing it.
NOT_FOUND_GRACE = 5.0


def handle(request: Request, clients: Clients, budget: Budget, progress: Progress | None = None) -> Result:
    """Run one Create, Update or Delete event."""
    progress = progress or Progress()
    try:
        if request.resource_type == replicas.RESOURCE_TYPE:
            return replicas.handle(request, clients, budget, progress)
        if request.resource_type == group_users.RESOURCE_TYPE:
            return group_users.handle(request, clients, budget)
        if request.request_type == "Delete":
            return delete(request, clients, budget)
        check_resource_type(request)
        if request.resource_type == DISTRIBUTION_TYPE:
            return distribute(request, clients, budget)
        if request.request_type == "Create":
            return create(request, clients, budget, progress)
        return update(request, clients, budget, progress)
    except OutOfTime:
        # Throttled or answered 5xx until the time ran out, before any state worth keeping: start again.
        return Pending({"Phase": STARTING})


def resume(
    request: Request, state: Mapping[str, str], clients: Clients, budget: Budget, progress: Progress | None = None
) -> Result:
    """Carry on with a request that an earlier invocation handed over to scheduled polling."""
    phase = state["Phase"]
    if phase == STARTING:
        return handle(request, clients, budget, progress)
    if request.resource_type == replicas.RESOURCE_TYPE:
        return replicas.resume(request, state, clients, budget, progress or Progress())
    ref = _group_ref(state["GroupArn"], request.region)
    if progress is not None and phase in NEW_GROUP_PHASES:
        progress.created, progress.replacing = ref.value, phase == REPLACING
    if phase == DELETING:
        return _delete_and_wait(clients(ref.region), ref, budget, requested=state.get("Requested") == "true")
    sent = state.get("Sent") == "true"
    return _converge_or_fail_cleanly(clients, ref, _desired_distribution(request), budget, phase=phase, sent=sent)


def abandon(state: Mapping[str, str], clients: Clients, budget: Budget) -> str:
    """The request cannot go on (scheduled polling could not be set up): undo what only it made.

    A replacement group is deleted, as a failed replacement always is; a new group stays for the
    rollback's Delete. Returns what happened, for the Reason.
    """
    if state.get("Phase") != REPLACING or not state.get("GroupArn"):
        return ""
    ref = _group_ref(state["GroupArn"], "")
    try:
        connect.delete_group(clients(ref.region), ref, budget)
    except (ProviderError, OutOfTime) as error:
        return f" The replacement group {ref.value} could not be deleted ({error}); delete it by hand."
    return f" The replacement group {ref.value} is being deleted; the stack keeps the old group."


def check_resource_type(request: Request) -> None:
    if request.resource_type not in RESOURCE_TYPES:
        raise ProviderError(
            f"This provider does not manage resource type {request.resource_type or '(none)'!r}. "
            f"Declare the resource as one of: {', '.join(RESOURCE_TYPES)}."
        )


def create(request: Request, clients: Clients, budget: Budget, progress: Progress) -> Result:
    desired = parse_group_properties(request.properties, request.region)
    arn = connect.create_group(clients(desired.instance.region), desired, request.request_id, budget)
    progress.created = arn
    ref = _group_ref(arn, request.region)
    return _converge_or_fail_cleanly(clients, ref, desired.distribution, budget, phase=CREATING)


def update(request: Request, clients: Clients, budget: Budget, progress: Progress) -> Result:
    """Update in place when Connect can, else replace. Reads start in the region that will serve the
    calls, so that a failover works while the home region is down."""
    desired = parse_group_properties(request.properties, request.region)
    physical_id = request.physical_resource_id or ""
    ref = GroupRef.parse(physical_id, desired.instance.region)
    if ref is None:
        # The resource never became a group (its Create failed), so make one now.
        return _replace(request, desired, clients, budget, progress, current_name=None)
    regions = desired.distribution.read_regions(ref.region)
    current, read_in = _describe(clients, regions, ref, budget)
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
    return _converge_or_fail_cleanly(clients, ref, desired.distribution, budget, phase=UPDATING, known=current)


def distribute(request: Request, clients: Clients, budget: Budget) -> Result:
    """Create or Update of a Custom::TrafficDistribution: apply the distribution to an existing group.

    Its physical id is the group's ARN, so pointing it at another group is a replacement.
    """
    desired = parse_distribution_properties(request.properties)
    return _converge_or_fail_cleanly(clients, desired.group, desired.distribution, budget, phase=UPDATING)


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
    # Connect deletes a group only in its home region: the ARN's.
    return _delete_and_wait(clients(ref.region), ref, budget, requested=False)


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
    clients: Clients,
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
    ref = _group_ref(arn, request.region)
    return _converge_or_fail_cleanly(clients, ref, desired.distribution, budget, phase=REPLACING)


def _converge_or_fail_cleanly(
    clients: Clients,
    ref: GroupRef,
    distribution: Distribution,
    budget: Budget,
    *,
    phase: str,
    known: Group | None = None,
    sent: bool = False,
) -> Result:
    """Converge, and when that fails do what the phase needs: a FAILED answer for a new group carries its
    ARN, so that the rollback's Delete removes it; a failed replacement deletes the group it made."""
    try:
        return _converge(clients, ref, distribution, budget, phase=phase, known=known, sent=sent)
    except ProviderError as error:
        if phase == CREATING:
            raise error.about(ref.value) from error
        if phase == REPLACING:
            _replacement_failed(clients(ref.region), ref, budget, error)
        raise


def _converge(
    clients: Clients,
    ref: GroupRef,
    desired: Distribution,
    budget: Budget,
    *,
    phase: str,
    known: Group | None,
    sent: bool,
) -> Result:
    """Wait until the group is ACTIVE, apply the distribution if it differs, then wait until Connect
    reports it applied. Safe to run again from the start: a later poll finds it applied and only reads.

    ``known`` is the group as the caller has just described it, so that it is not described twice.
    ``sent`` says that an earlier invocation's update was accepted: traffic may have moved, so from then
    on errors are waited out, never answered FAILED.
    """
    regions = desired.read_regions(ref.region)
    update_in = desired.serving_region(ref.region)
    sent_now = False
    trouble = ""
    pauses = budget.pauses()
    while True:
        try:
            group = known or _describe(clients, regions, ref, budget).value
            known = None
            if _ready(group, ref, phase):
                assert group is not None
                current = _distribution_of(clients, regions, ref, budget).value
                if current is not None and desired.satisfied_by(current):
                    return Done(ref.value, {**group.attributes(), **current.attributes()})
                if current is not None and not sent_now:
                    to_send = desired.with_telephony_of(current)
                    sent_now = connect.update_distribution(clients(update_in), ref, to_send, budget)
                    sent = sent or sent_now
            trouble = ""
        except OutOfTime as error:
            if not sent or error.throttled:
                return _pending(phase, ref, sent)
            trouble = str(error)
        except ProviderError as error:
            if not sent:
                raise
            trouble = error.reason  # traffic has moved: wait the error out, never answer FAILED
        if not budget.nap(next(pauses)):
            if sent and trouble:
                return Done(
                    ref.value,
                    {"Id": ref.group_id, "Arn": ref.value, **desired.attributes()},
                    note=f"Connect accepted the distribution but could not be read back: {trouble}",
                )
            return _pending(phase, ref, sent)


def _pending(phase: str, ref: GroupRef, sent: bool) -> Pending:
    state = {"Phase": phase, "GroupArn": ref.value}
    if sent:
        state["Sent"] = "true"
    return Pending(state)


def _ready(group: Group | None, ref: GroupRef, phase: str) -> bool:
    """Whether the group is ACTIVE; False while Connect is still working on it; FAILED otherwise."""
    if group is None and phase in NEW_GROUP_PHASES:
        return False  # made by this request, and not visible yet: Connect is eventually consistent
    if group is None:
        raise ProviderError(
            f"Traffic distribution group {ref.value} does not exist (any more). If the stack created it, "
            "something outside CloudFormation deleted it; check the ARN and retry the stack operation.",
            code="GroupGone",
        )
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
    return group.status == "ACTIVE"


class Read(NamedTuple, Generic[T]):
    """What a read returned, and the region that answered."""

    value: T
    region: str


def _read(clients: Clients, regions: list[str], read: Callable[[ConnectClient, int], T]) -> Read[T]:
    """Read in the first region; turn to the next only when Connect there is unavailable (5xx or no
    connection), never on an answer."""
    for region in regions[:-1]:
        try:
            return Read(read(clients(region), READ_ATTEMPTS), region)
        except connect.Unavailable:
            continue
    return Read(read(clients(regions[-1]), connect.MAX_ATTEMPTS), regions[-1])


def _describe(clients: Clients, regions: list[str], ref: GroupRef, budget: Budget) -> Read[Group | None]:
    return _read(clients, regions, lambda client, tries: connect.describe_group(client, ref, budget, attempts=tries))


def _distribution_of(clients: Clients, regions: list[str], ref: GroupRef, budget: Budget) -> Read[Distribution | None]:
    return _read(clients, regions, lambda client, tries: connect.get_distribution(client, ref, budget, attempts=tries))


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
    left = " (its deletion is still in progress)" if isinstance(result, Pending) else ""
    raise ProviderError(
        f"{error.reason} The replacement group {ref.value} was deleted{left}; the stack keeps the old group.",
        code=error.code,
    ) from error


def _delete_and_wait(client: ConnectClient, ref: GroupRef, budget: Budget, *, requested: bool) -> Result:
    """Delete the group, once, and wait until Connect no longer knows it.

    Before deletion is requested, "not found" is believed only after NOT_FOUND_GRACE seconds of it: the
    rollback of a Create can arrive while Connect does not show the new group yet, and must not leave it.
    """
    pauses = budget.pauses()
    unseen_since: float | None = None
    while True:
        try:
            group = connect.describe_group(client, ref, budget)
            if group is None:
                unseen_since = budget.clock() if unseen_since is None else unseen_since
                if requested or budget.clock() - unseen_since >= NOT_FOUND_GRACE:
                    return Done(ref.value)
            elif group.is_default:
                raise ProviderError(
                    f"{group.arn} is the default traffic distribution group of its instance. Connect made it "
                    "with ReplicateInstance and it cannot be deleted through the API. Remove it from the stack "
                    "with DeletionPolicy: Retain.",
                    physical_resource_id=ref.value,
                    code="DefaultGroup",
                )
            elif group.status == "DELETION_FAILED" and requested:
                raise ProviderError(
                    f"Connect could not delete traffic distribution group {group.arn} (status DELETION_FAILED). "
                    "Check that no phone numbers or other resources still use it, then retry the stack operation.",
                    physical_resource_id=ref.value,
                    code="DeletionFailed",
                )
            elif group.status in DELETABLE and not requested:
                _request_deletion(client, ref, group, budget)
                requested = True
        except OutOfTime:
            return _pending_delete(ref, requested)
        if not budget.nap(next(pauses)):
            return _pending_delete(ref, requested)


def _pending_delete(ref: GroupRef, requested: bool) -> Pending:
    state = {"Phase": DELETING, "GroupArn": ref.value, "Requested": "true" if requested else "false"}
    return Pending(state)


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
    clients: Clients,
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
            connect.untag_group(client, current.arn, to_remove, budget, attempts=READ_ATTEMPTS)
        if to_set:
            connect.tag_group(client, current.arn, to_set, budget, attempts=READ_ATTEMPTS)
    except connect.Unavailable as error:
        raise ProviderError(
            f"Tags changed in this update, and Connect changes tags only in the group's home region {home}, "
            f"which is unavailable ({error.reason}). No traffic was moved. Split the change: deploy the "
            "distribution change alone now, and the tag change once the region is back.",
            code=error.code,
        ) from error


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
