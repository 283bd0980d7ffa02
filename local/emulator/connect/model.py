"""What the Connect backend holds: instances, their replicas, traffic distribution groups (TDGs) and claimed
phone numbers, and the statuses they go through.

Every method that reads a status takes ``now`` (wall-clock seconds) because status is computed from timestamps: a
group becomes ACTIVE when its time comes, whether or not anybody asks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

CREATION_IN_PROGRESS = "CREATION_IN_PROGRESS"
ACTIVE = "ACTIVE"
CREATION_FAILED = "CREATION_FAILED"
PENDING_DELETION = "PENDING_DELETION"
DELETION_FAILED = "DELETION_FAILED"
UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
#: Not a Connect status: the group is gone (Describe says ResourceNotFoundException).
DELETED = "DELETED"

PAGE_SIZE = 10  # MaxResult10 in the model; also the most TrafficDistributionGroupUserSummaryList holds

# InstanceReplicationStatus (DescribeInstance's ReplicationStatusSummaryList).
REPLICATION_NOT_STARTED = "RESOURCE_REPLICATION_NOT_STARTED"
REPLICATION_IN_PROGRESS = "INSTANCE_REPLICATION_IN_PROGRESS"
REPLICATION_COMPLETE = "INSTANCE_REPLICATION_COMPLETE"
REPLICATION_FAILED = "INSTANCE_REPLICATION_FAILED"
REPLICA_DELETING = "INSTANCE_REPLICA_DELETING"
REPLICA_DELETION_FAILED = "INSTANCE_REPLICATION_DELETION_FAILED"
REPLICATING = frozenset({REPLICATION_NOT_STARTED, REPLICATION_IN_PROGRESS})


def _timeline_status(timeline: list[tuple[float, str]], now: float) -> str:
    """The status of a ``(wall time, status)`` timeline at ``now``; DELETED before it starts."""
    if now < timeline[0][0]:
        return DELETED
    current = timeline[0][1]
    for at, status in timeline:
        if at > now:
            break
        current = status
    return current


@dataclass
class Replica:
    """The replica of an instance in another Region (made by ReplicateInstance or ``add_instance``).

    ``timeline`` holds ``(wall time, InstanceReplicationStatus)`` steps, some maybe future, ending in
    ``DELETED`` once the replica is gone. ``reasons`` maps a failed status to its ReplicationStatusReason.
    """

    region: str
    arn: str
    alias: str
    requested_at: float
    timeline: list[tuple[float, str]]
    client_token: str | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    default_group: Group | None = None

    def status(self, now: float) -> str:
        return _timeline_status(self.timeline, now)

    def reached(self, status: str, now: float) -> float | None:
        """When the replica last reached ``status`` (None if it has not, by ``now``)."""
        times = [at for at, st in self.timeline if st == status and at <= now]
        return times[-1] if times else None


@dataclass
class Instance:
    """A Connect instance in its home (source) Region, with its replicas, newest last."""

    id: str
    arn: str
    alias: str
    home_region: str
    created_at: float = 0.0
    identity_management: str = "CONNECT_MANAGED"
    replicas: list[Replica] = field(default_factory=list)
    users: list[str] = field(default_factory=list)  # registered agents; empty: any UUID is an agent
    flows: list[str] = field(default_factory=list)  # registered flow ids; empty: any id is a flow
    global_routing: bool = False  # enabled for global routing: UpdateCrossRegionRouting applies
    isolated: bool = False  # IsolatedAll of the last UpdateCrossRegionRouting

    @property
    def replica_region(self) -> str | None:
        """The Region of the newest replica, whatever its status (None: never replicated)."""
        return self.replicas[-1].region if self.replicas else None

    @property
    def regions(self) -> list[str]:
        return [self.home_region] + ([self.replica_region] if self.replica_region else [])

    def replica(self, now: float) -> Replica | None:
        """The replica that exists at ``now`` (in any status but gone)."""
        if self.replicas and self.replicas[-1].status(now) != DELETED:
            return self.replicas[-1]
        return None

    def arn_in(self, region: str) -> str:
        return self.arn.replace(f":{self.home_region}:", f":{region}:", 1)


@dataclass
class PhoneNumber:
    """A number claimed to an instance (source or replica) or to a TDG."""

    id: str
    arn: str
    number: str
    region: str  # where it was claimed
    target_arn: str
    instance: Instance
    group: Group | None
    description: str | None
    tags: dict[str, str]
    client_token: str | None
    claimed_at: float
    released_at: float | None = None
    release_token: str | None = None
    flow_id: str | None = None  # the flow AssociatePhoneNumberContactFlow set (mirrored to both Regions)


@dataclass
class Group:
    """A TDG. ``timeline`` holds ``(wall time, status)`` steps, sorted, some maybe future."""

    id: str
    arn: str
    name: str
    description: str | None
    instance: Instance
    tags: dict[str, str]
    is_default: bool
    client_token: str | None
    created_at: float
    timeline: list[tuple[float, str]]
    distribution: dict[str, Any]
    last_failover_at: float | None = None
    phone_numbers: dict[str, str] = field(default_factory=dict)  # number -> phone number ARN
    users: list[str] = field(default_factory=list)  # associated agents (user ids), oldest first
    # When API calls start to see the group: in its home Region, in any other Region.
    visible_at: tuple[float, float] = (float("-inf"), float("-inf"))

    def visible(self, region: str, now: float) -> bool:
        home, elsewhere = self.visible_at
        return now >= (home if region == self.instance.home_region else elsewhere)

    def status(self, now: float) -> str:
        """The status at ``now``; DELETED before the group exists (a default group is created when
        its instance's replication completes, which may still be ahead)."""
        return _timeline_status(self.timeline, now)

    def history(self, now: float) -> list[tuple[float, str]]:
        return [(at, status) for at, status in self.timeline if at <= now]

    def end(self, at: float) -> None:
        """The group is gone at ``at`` (its instance or replica went): later steps are dropped."""
        self.timeline = [(t, st) for t, st in self.timeline if t <= at] + [(at, DELETED)]


@dataclass
class Delays:
    """Seconds each transition takes: a group's CREATION_IN_PROGRESS, PENDING_DELETION and
    UPDATE_IN_PROGRESS; a replica's replication and INSTANCE_REPLICA_DELETING."""

    creation: float
    deletion: float
    update: float
    replication: float = 0.3
    replica_deletion: float = 0.3


def default_distribution(instance: Instance, *, is_default: bool) -> dict[str, Any]:
    """Where a new group starts: all telephony and agents in the home Region.

    Only the default group carries a SignInConfig (both Regions enabled): Connect accepts
    SignInConfig on the default group only, so the emulator does not invent one elsewhere.
    """
    assert instance.replica_region is not None
    percentages = [
        {"Region": instance.home_region, "Percentage": 100},
        {"Region": instance.replica_region, "Percentage": 0},
    ]
    distribution: dict[str, Any] = {
        "TelephonyConfig": {"Distributions": copy.deepcopy(percentages)},
        "AgentConfig": {"Distributions": copy.deepcopy(percentages)},
    }
    if is_default:
        distribution["SignInConfig"] = {
            "Distributions": [{"Region": region, "Enabled": True} for region in instance.regions]
        }
    return distribution
