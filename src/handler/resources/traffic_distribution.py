"""``Custom::TrafficDistribution``: a distribution applied to a group the stack does not own (often the default
group), and the convergence that ``Custom::TrafficDistributionGroup`` shares with it.

What Connect documents, and what the code here relies on (docs/emulator-fidelity.md has the sources):
- a group just created may be unknown to Describe, Get and Update for a while, longer in the replica
  region: for a group this request made, "not found" means "not visible yet";
- reads and UpdateTrafficDistribution take the ARN in either region, so a failover works from the
  surviving region without one call to the failed one;
- UpdateTrafficDistribution is accepted only while the group is ACTIVE;
- once traffic has moved, the answer is SUCCESS: a FAILED answer would make the rollback move the calls
  back into the region they were moved out of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import connect
from connect import ConnectClients, Group
from distribution import Distribution
from errors import ProviderError
from properties import DISTRIBUTION_SCHEMA, DistributionProperties, parse_distribution_properties
from refs import GroupRef
from request import Done, PollingState, Progress, Request, Result
from waiting import Budget, OutOfTime, poll_until

TYPE = "Custom::TrafficDistribution"
SCHEMA = DISTRIBUTION_SCHEMA


class Phase(StrEnum):
    """What an unfinished request of a group is doing, as it travels in the polling rule."""

    CREATING = "create"  # a new group: its failure leaves it for the rollback's Delete
    REPLACING = "replace"  # a replacement group: its failure deletes it
    UPDATING = "update"  # an existing group
    DELETING = "delete"


NEW_GROUP_PHASES = (Phase.CREATING, Phase.REPLACING)


@dataclass(frozen=True)
class GroupState(PollingState):
    """Where a request of a group stands. ``sent``: Connect accepted a distribution, so traffic may have moved.
    ``requested``: Connect accepted the deletion."""

    phase: Phase
    group_arn: str
    sent: bool = False
    requested: bool = False

    def to_data(self) -> dict[str, str]:
        data = {"Phase": self.phase.value, "GroupArn": self.group_arn}
        if self.sent:
            data["Sent"] = "true"
        if self.phase is Phase.DELETING:
            data["Requested"] = "true" if self.requested else "false"
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> GroupState:
        return cls(
            Phase(data["Phase"]),
            data["GroupArn"],
            sent=data.get("Sent") == "true",
            requested=data.get("Requested") == "true",
        )


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Apply the distribution to an existing group. The physical id is the group's ARN, so pointing the
    resource at another group is a replacement."""
    desired = parse_distribution_properties(request.properties)
    return converge(clients, desired.group, desired.distribution, budget, phase=Phase.UPDATING)


def update(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Apply the distribution only when the template changed it, or points at another group."""
    desired = parse_distribution_properties(request.properties)
    apply = _asks_to_move(request, desired)
    return converge(clients, desired.group, desired.distribution, budget, phase=Phase.UPDATING, apply=apply)


def delete(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Leave traffic as it is: a stack delete must never move live calls."""
    return Done(request.physical_resource_id or "")


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    at = GroupState.from_data(state)
    desired = parse_distribution_properties(request.properties)
    ref = group_ref(at.group_arn, request.region)
    apply = request.request_type == "Create" or _asks_to_move(request, desired)
    return converge(clients, ref, desired.distribution, budget, phase=at.phase, sent=at.sent, apply=apply)


def _asks_to_move(request: Request, desired: DistributionProperties) -> bool:
    """Whether this Update changes the distribution or the group (a rollback does too, back to the old ones)."""
    try:
        old = parse_distribution_properties(request.old_properties)
    except ProviderError:
        return True
    return old.group.value != desired.group.value or changed(old.distribution, desired.distribution)


def abandon(state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """Nothing to undo: the group is not the stack's."""
    return ""


def converge(
    clients: ConnectClients,
    ref: GroupRef,
    distribution: Distribution,
    budget: Budget,
    *,
    phase: Phase,
    known: Group | None = None,
    sent: bool = False,
    apply: bool = True,
) -> Result:
    """Wait until the group is ACTIVE, apply the distribution if it differs, then wait until Connect reports
    it applied. Safe to run again from the start: a later poll finds it applied and only reads.

    ``known`` is the group as the caller has just described it, so that it is not described twice. ``sent``
    says that an earlier invocation's update was accepted: traffic may have moved, so from then on errors
    are waited out, never answered FAILED. Without ``apply`` (the template's distribution did not change),
    the live distribution is only read: traffic moved outside the stack, by a failover, stays where it is.
    """
    convergence = _Convergence(clients, ref, distribution, budget, phase, known, sent, apply)
    return poll_until(convergence.step, budget) or convergence.out_of_time()


def changed(old: Distribution | None, new: Distribution) -> bool:
    """Whether an Update asks to move traffic: its distribution differs from the one the stack had, compared as
    parsed values. Old properties that no longer parse count as a change."""
    return old is None or old != new


def _left_as_it_is(group: Group, current: Distribution, template: Distribution) -> Done:
    """The answer of an update that did not change the distribution: what Connect has now. When that is not
    what the template says, something outside the stack moved the traffic (a failover): say so, and count it."""
    answer = Done(group.arn, {**group.attributes(), **current.attributes()})
    if template.satisfied_by(current):
        return answer
    when = f", last changed at {current.last_failover_time}" if current.last_failover_time else ""
    note = (
        f"Left the distribution of {group.arn} as it is ({_shown(current)}{when}): it differs from the "
        f"template's ({_shown(template)}), so it was moved outside this stack, for example by an automated "
        "failover. This update did not change the distribution, so it moves no traffic; change the template's "
        "distribution to move it."
    )
    return replace(answer, note=note, metric="DistributionMovedOutsideStack")


def _shown(distribution: Distribution) -> str:
    return "; ".join(f"{name} {value}" for name, value in distribution.attributes().items())


def group_ref(arn: str, region: str) -> GroupRef:
    """The group an ARN that Connect returned (or a state kept) names."""
    ref = GroupRef.parse(arn, region)
    if ref is None:
        raise ProviderError(f"Connect returned {arn!r}, which is not a traffic distribution group ARN.", code="Bug")
    return ref


def ready(group: Group | None, ref: GroupRef, phase: Phase) -> bool:
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


class _Convergence:
    """One convergence, run a step at a time by ``poll_until``: reads start in the region that will serve the
    calls, and the update goes there, so that a failover works while the other region is down."""

    def __init__(
        self,
        clients: ConnectClients,
        ref: GroupRef,
        desired: Distribution,
        budget: Budget,
        phase: Phase,
        known: Group | None,
        sent: bool,
        apply: bool,
    ) -> None:
        self.clients, self.ref, self.desired, self.budget, self.phase = clients, ref, desired, budget, phase
        self.known, self.sent, self.apply = known, sent, apply
        self.regions = desired.read_regions(ref.region)
        self.sent_now = False  # sent by this invocation: never twice in one
        self.trouble = ""  # why the last step could not read, once traffic may have moved

    def step(self) -> Done | None:
        self.trouble = ""
        try:
            group = self.known or connect.describe_group_in(self.clients, self.regions, self.ref, self.budget).value
            self.known = None
            if not ready(group, self.ref, self.phase):
                return None
            assert group is not None
            current = connect.distribution_in(self.clients, self.regions, self.ref, self.budget).value
            if current is not None and not self.apply:
                return _left_as_it_is(group, current, self.desired)
            if current is not None and self.desired.satisfied_by(current):
                return Done(self.ref.value, {**group.attributes(), **current.attributes()})
            if current is not None and not self.sent_now:
                serving = self.clients(self.desired.serving_region(self.ref.region))
                to_send = self.desired.with_telephony_of(current)
                self.sent_now = connect.update_distribution(serving, self.ref, to_send, self.budget)
                self.sent = self.sent or self.sent_now
        except OutOfTime as error:
            if not self.sent or error.throttled:
                raise
            self.trouble = str(error)
        except ProviderError as error:
            if not self.sent:
                raise
            self.trouble = error.reason  # traffic has moved: wait the error out, never answer FAILED
        return None

    def out_of_time(self) -> Result:
        if self.sent and self.trouble:
            return Done(
                self.ref.value,
                {"Id": self.ref.group_id, "Arn": self.ref.value, **self.desired.attributes()},
                note=f"Connect accepted the distribution but could not be read back: {self.trouble}",
            )
        return GroupState(self.phase, self.ref.value, sent=self.sent).pending()
