"""What the status command read of a replicated instance, typed, before anything is judged or shown."""

from __future__ import annotations

from dataclasses import dataclass, field

REACHABLE = "reachable"
UNREACHABLE = "unreachable"
REPLICATION_COMPLETE = "INSTANCE_REPLICATION_COMPLETE"


@dataclass(frozen=True)
class InstanceStatus:
    """DescribeInstance's ReplicationConfiguration, as the region that answered saw it."""

    arn: str
    source_region: str
    replica_region: str
    replication: dict[str, str]  # region -> ReplicationStatus, as ReplicationStatusSummaryList gives it
    reasons: dict[str, str]  # region -> ReplicationStatusReason, where Connect gives one
    global_sign_in_endpoint: str


@dataclass(frozen=True)
class GroupStatus:
    """One traffic distribution group: its summary, its distribution, and how many agents and numbers it has.

    A config Connect did not return is None; ``sign_in`` is None on every group but the default.
    """

    arn: str
    name: str
    is_default: bool
    status: str
    home_region: str
    telephony: dict[str, int] | None
    agents: dict[str, int] | None
    sign_in: dict[str, bool] | None
    last_failover_time: str | None
    users: int
    numbers: int


@dataclass(frozen=True)
class Replicated:
    """ListReplicationFindings for one resource type: drift counts, statuses, and the first findings."""

    resource_type: str
    drifted: dict[str, int]  # region -> ApproximateDriftedResourceCounts' Count
    statuses: dict[str, str]  # region -> ResourceReplicationStatuses' Status
    findings: list[ReplicationFinding] = field(default_factory=list)
    more: bool = False  # Connect has more findings than the first page read


@dataclass(frozen=True)
class ReplicationFinding:
    """One entry of ReplicationFindingsList: a resource that needs action before it replicates."""

    arn: str
    name: str
    region: str
    message: str


@dataclass(frozen=True)
class Snapshot:
    """Everything one run read. ``isolated_regions`` is None when the instance has no global routing."""

    instance: InstanceStatus
    regions: dict[str, str]  # region -> REACHABLE | UNREACHABLE
    groups: list[GroupStatus]
    replication: list[Replicated]
    isolated_regions: list[str] | None
