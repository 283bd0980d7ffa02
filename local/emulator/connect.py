"""Amazon Connect instances, their replicas, traffic distribution groups (TDGs), the agents
associated with TDGs, and claimed phone numbers.

The rules below are those the Connect API documents or that its model implies; where AWS
leaves a choice open, the stricter reading is taken (a provider that passes here must not
be relying on leniency), and the choice is said where it is made.

Not thread-safe on its own: :class:`local.emulator.Emulator` holds one lock around every
call. Every method that reads a status takes ``now`` (wall-clock seconds) because status
is computed from timestamps: a group becomes ACTIVE when its time comes, whether or not
anybody asks.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.emulator.errors import ApiError

CREATION_IN_PROGRESS = "CREATION_IN_PROGRESS"
ACTIVE = "ACTIVE"
CREATION_FAILED = "CREATION_FAILED"
PENDING_DELETION = "PENDING_DELETION"
DELETION_FAILED = "DELETION_FAILED"
UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
#: Not a Connect status: the group is gone (Describe says ResourceNotFoundException).
DELETED = "DELETED"

#: States from which DeleteTrafficDistributionGroup is accepted.
_DELETABLE = frozenset({ACTIVE, CREATION_FAILED, DELETION_FAILED})
_MAX_TAGS = 50
_PAGE_SIZE = 10  # MaxResult10 in the model; also the most TrafficDistributionGroupUserSummaryList holds
_ID_RE = re.compile(r"[a-zA-Z0-9_-]+")
_UUID_RE = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
_MAX_ALIAS = 45

# InstanceReplicationStatus (DescribeInstance's ReplicationStatusSummaryList).
REPLICATION_NOT_STARTED = "RESOURCE_REPLICATION_NOT_STARTED"
REPLICATION_IN_PROGRESS = "INSTANCE_REPLICATION_IN_PROGRESS"
REPLICATION_COMPLETE = "INSTANCE_REPLICATION_COMPLETE"
REPLICATION_FAILED = "INSTANCE_REPLICATION_FAILED"
REPLICA_DELETING = "INSTANCE_REPLICA_DELETING"
REPLICA_DELETION_FAILED = "INSTANCE_REPLICATION_DELETION_FAILED"
_REPLICATING = frozenset({REPLICATION_NOT_STARTED, REPLICATION_IN_PROGRESS})

#: (source Region, replica Region) pairs ReplicateInstance accepts: the admin guide's
#: "Set up Amazon Connect Global Resiliency" lists us-east-1 <-> us-west-2, eu-central-1 <->
#: eu-west-2 and ap-northeast-1 -> ap-northeast-3 (one way).
REPLICATION_PAIRS = frozenset(
    {
        ("us-east-1", "us-west-2"),
        ("us-west-2", "us-east-1"),
        ("eu-central-1", "eu-west-2"),
        ("eu-west-2", "eu-central-1"),
        ("ap-northeast-1", "ap-northeast-3"),
    }
)

# Calling codes for PhoneNumberCountryCode in DescribePhoneNumber (longest prefix first).
_CALLING_CODES = (("+44", "GB"), ("+49", "DE"), ("+81", "JP"), ("+61", "AU"), ("+33", "FR"), ("+1", "US"))
_TOLL_FREE_RE = re.compile(r"\+18(00|33|44|55|66|77|88)\d*")


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


def _default_distribution(instance: Instance, *, is_default: bool) -> dict[str, Any]:
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


class ConnectBackend:
    """State and operations of the Connect API subset the provider uses."""

    OPERATIONS = frozenset(
        {
            "CreateTrafficDistributionGroup",
            "DescribeTrafficDistributionGroup",
            "DeleteTrafficDistributionGroup",
            "ListTrafficDistributionGroups",
            "UpdateTrafficDistribution",
            "GetTrafficDistribution",
            "TagResource",
            "UntagResource",
            "ReplicateInstance",
            "DescribeInstance",
            "DeleteInstance",
            "AssociateTrafficDistributionGroupUser",
            "DisassociateTrafficDistributionGroupUser",
            "ListTrafficDistributionGroupUsers",
            "ClaimPhoneNumber",
            "ReleasePhoneNumber",
            "DescribePhoneNumber",
        }
    )

    def __init__(
        self,
        account_id: str,
        *,
        delays: Delays,
        group_quota: int,
    ) -> None:
        self.account_id = account_id
        self.group_quota = group_quota
        # Seconds after a Create before calls see the group: (home Region, other Regions).
        self.visibility_lag = (0.0, 0.0)
        self.not_ready = 0  # how many more Creates answer ResourceNotReadyException
        self.delays = delays
        self.name_delays: dict[str, dict[str, float]] = {}
        self.instances: dict[str, Instance] = {}
        self.groups: dict[str, Group] = {}  # by id, gone ones included (for inspection)
        self._tokens: dict[tuple[str, str], str] = {}  # (instance id, ClientToken) -> group id
        # name (None: any name) -> how many more creations/deletions are to fail
        self._fail_creation: dict[str | None, int] = {}
        self._fail_deletion: dict[str | None, int] = {}
        # Reasons of the next replications / replica deletions that are to fail, first first.
        self.fail_replication_reasons: list[str] = []
        self.fail_replica_deletion_reasons: list[str] = []
        self.deleted_instances: list[dict[str, Any]] = []  # source instances DeleteInstance removed
        self.phone_numbers: dict[str, PhoneNumber] = {}  # by id, released ones included
        self._replica_tokens: dict[tuple[str, str], Replica] = {}  # (instance id, ClientToken)
        self._delete_tokens: set[tuple[str, str, str]] = set()  # (Region, instance id, ClientToken)
        self._number_tokens: dict[tuple[str, str], PhoneNumber] = {}  # (Region, ClientToken)
        self._handlers: dict[str, Callable[[dict[str, Any], str, float], dict[str, Any]]] = {
            "CreateTrafficDistributionGroup": self._create,
            "DescribeTrafficDistributionGroup": self._describe,
            "DeleteTrafficDistributionGroup": self._delete,
            "ListTrafficDistributionGroups": self._list,
            "UpdateTrafficDistribution": self._update_distribution,
            "GetTrafficDistribution": self._get_distribution,
            "TagResource": self._tag,
            "UntagResource": self._untag,
            "ReplicateInstance": self._replicate_instance,
            "DescribeInstance": self._describe_instance,
            "DeleteInstance": self._delete_instance,
            "AssociateTrafficDistributionGroupUser": self._associate_user,
            "DisassociateTrafficDistributionGroupUser": self._disassociate_user,
            "ListTrafficDistributionGroupUsers": self._list_users,
            "ClaimPhoneNumber": self._claim_number,
            "ReleasePhoneNumber": self._release_number,
            "DescribePhoneNumber": self._describe_number,
        }

    def handle(self, operation: str, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        return self._handlers[operation](params, region, now)

    # -- test-facing knobs -------------------------------------------------------------
    def add_instance(
        self,
        instance_id: str | None,
        *,
        home_region: str,
        replica_region: str | None,
        alias: str | None,
        now: float,
        default_group_id: str | None = None,
    ) -> Instance:
        instance_id = instance_id or str(uuid.uuid4())
        if not _ID_RE.fullmatch(instance_id):
            raise ValueError(f"instance id {instance_id!r} does not match {_ID_RE.pattern}")
        if instance_id in self.instances:
            raise ValueError(f"instance {instance_id} already exists")
        if replica_region == home_region:
            raise ValueError("replica_region must differ from home_region")
        if default_group_id in self.groups:
            raise ValueError(f"group {default_group_id} already exists")
        instance = Instance(
            id=instance_id,
            arn=f"arn:aws:connect:{home_region}:{self.account_id}:instance/{instance_id}",
            alias=alias or f"instance-{instance_id[:8]}",
            home_region=home_region,
            created_at=now,
        )
        self.instances[instance_id] = instance
        if replica_region:
            # Already replicated: the replica is complete and its default group usable at once.
            replica = Replica(
                region=replica_region,
                arn=instance.arn_in(replica_region),
                alias=self._replica_alias(instance, None),
                requested_at=now,
                timeline=[(now, REPLICATION_COMPLETE)],
            )
            instance.replicas.append(replica)
            replica.default_group = self._new_group(
                instance,
                name=f"{instance.alias}-default",
                now=now,
                timeline=[(now, ACTIVE)],
                is_default=True,
                group_id=default_group_id,
            )
        return instance

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

    def set_delays(self, values: dict[str, float], name: str | None) -> None:
        if name is None:
            for key, value in values.items():
                setattr(self.delays, key, value)
        else:
            self.name_delays.setdefault(name, {}).update(values)

    def fail_creation(self, name: str | None, count: int) -> None:
        self._fail_creation[name] = self._fail_creation.get(name, 0) + count

    def fail_deletion(self, name: str | None, count: int) -> None:
        self._fail_deletion[name] = self._fail_deletion.get(name, 0) + count

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
        }

    def instance_snapshot(self, instance: Instance, now: float) -> dict[str, Any]:
        def replica(r: Replica) -> dict[str, Any]:
            status = r.status(now)
            history = [(at, st) for at, st in r.timeline if at <= now]
            completed = r.reached(REPLICATION_COMPLETE, now)
            return {
                "Region": r.region,
                "Arn": r.arn,
                "Alias": r.alias,
                "Status": status,
                "Reason": r.reasons.get(status),
                "ClientToken": r.client_token,
                "RequestedAt": r.requested_at,
                "CompletedAt": completed,
                "FailedAt": r.reached(REPLICATION_FAILED, now),
                "DeletionRequestedAt": r.reached(REPLICA_DELETING, now),
                "DeletedAt": r.reached(DELETED, now),
                "DefaultGroupArn": r.default_group.arn if r.default_group else None,
                "History": [{"Status": st, "At": at} for at, st in history],
            }

        current = instance.replica(now)
        return {
            "Id": instance.id,
            "Arn": instance.arn,
            "Alias": instance.alias,
            "Region": instance.home_region,
            "CreatedAt": instance.created_at,
            "IdentityManagementType": instance.identity_management,
            "Replica": replica(current) if current else None,
            "Replicas": [replica(r) for r in instance.replicas if r.requested_at <= now],
            "Users": list(instance.users),
        }

    # -- inspection --------------------------------------------------------------------
    def snapshot(self, group: Group, now: float) -> dict[str, Any]:
        """Everything a test may want to know about ``group``, as plain data."""
        history = group.history(now)

        def reached(status: str, *, last: bool = True) -> float | None:
            times = [at for at, st in history if st == status]
            return (times[-1] if last else times[0]) if times else None

        updated = [
            at for (_, before), (at, st) in itertools.pairwise(history) if before == UPDATE_IN_PROGRESS and st == ACTIVE
        ]
        failed = [at for at, st in history if st in (CREATION_FAILED, DELETION_FAILED)]
        return {
            "Id": group.id,
            "Arn": group.arn,
            "Name": group.name,
            "Description": group.description,
            "InstanceArn": group.instance.arn,
            "InstanceId": group.instance.id,
            "Status": group.status(now),
            "Tags": dict(group.tags),
            "IsDefault": group.is_default,
            "Region": group.instance.home_region,
            "Distribution": copy.deepcopy(group.distribution),
            "LastFailoverTime": group.last_failover_at,
            "PhoneNumbers": dict(group.phone_numbers),
            "Users": list(group.users),
            "ClientToken": group.client_token,
            "CreatedAt": group.created_at,
            "ActiveAt": reached(ACTIVE, last=False),
            "UpdatedAt": updated[-1] if updated else None,
            "FailedAt": failed[-1] if failed else None,
            "DeletionRequestedAt": reached(PENDING_DELETION),
            "DeletedAt": reached(DELETED),
            "History": [{"Status": st, "At": at} for at, st in history],
        }

    def find(self, group_ref: str) -> Group:
        """A group by id or ARN, gone ones included; KeyError when unknown."""
        group = self.groups.get(group_ref.rsplit("/", 1)[-1])
        if group is None or (group_ref.startswith("arn:") and group.arn != group_ref):
            raise KeyError(group_ref)
        return group

    def _lookup(self, group_ref: str, now: float) -> Group:
        group = self.find(group_ref)
        if group.status(now) == DELETED:
            raise KeyError(f"{group_ref} is deleted")
        return group

    # -- helpers -------------------------------------------------------------------------
    def _delay(self, kind: str, name: str) -> float:
        override = self.name_delays.get(name, {}).get(kind)
        return override if override is not None else float(getattr(self.delays, kind))

    @staticmethod
    def _consume(counters: dict[str | None, int], name: str) -> bool:
        """Use up one failure meant for ``name``, else one meant for any name."""
        for key in (name, None):
            if counters.get(key, 0) > 0:
                counters[key] -= 1
                return True
        return False

    def _new_group(
        self,
        instance: Instance,
        *,
        name: str,
        now: float,
        timeline: list[tuple[float, str]],
        description: str | None = None,
        tags: dict[str, str] | None = None,
        token: str | None = None,
        is_default: bool = False,
        group_id: str | None = None,
    ) -> Group:
        group_id = group_id or str(uuid.uuid4())  # lower-case hex: the model's id pattern demands it
        group = Group(
            id=group_id,
            arn=f"arn:aws:connect:{instance.home_region}:{self.account_id}:traffic-distribution-group/{group_id}",
            name=name,
            description=description,
            instance=instance,
            tags=dict(tags or {}),
            is_default=is_default,
            client_token=token,
            created_at=now,
            timeline=timeline,
            distribution=_default_distribution(instance, is_default=is_default),
        )
        self.groups[group_id] = group
        return group

    def _live_groups(self, instance: Instance, now: float) -> list[Group]:
        return [g for g in self.groups.values() if g.instance is instance and g.status(now) != DELETED]

    def _find_instance(self, ref: str) -> Instance | None:
        if ref.startswith("arn:"):
            return next((i for i in self.instances.values() if i.arn == ref), None)
        return self.instances.get(ref)

    def _visible_instance(self, ref: str, region: str) -> Instance | None:
        """By ARN from any Region, by bare id from the home Region only (as for groups)."""
        instance = self._find_instance(ref)
        if instance is None or (not ref.startswith("arn:") and instance.home_region != region):
            return None
        return instance

    def _group(self, ref: str, region: str, now: float) -> Group:
        """Resolve a ``TrafficDistributionGroupIdOrArn`` the way Connect documents it: the ARN
        works from any Region, the bare id only in the Region where the group was created;
        a group still within its visibility lag is unknown."""
        group = self.groups.get(ref.rsplit("/", 1)[-1])
        if group is not None:
            visible = group.arn == ref if ref.startswith("arn:") else group.instance.home_region == region
            if not visible or not group.visible(region, now) or group.status(now) == DELETED:
                group = None
        if group is None:
            raise ApiError("ResourceNotFoundException", f"Traffic distribution group {ref} not found")
        return group

    def _home_group(self, params: dict[str, Any], region: str, now: float) -> Group:
        """The group of a call that "can be called only in the Region where the traffic distribution group is
        created" (API reference: Delete, Associate and Disassociate user); the error code is unverified."""
        group = self._group(params["TrafficDistributionGroupId"], region, now)
        if region != group.instance.home_region:
            raise ApiError(
                "InvalidRequestException",
                f"Traffic distribution group {group.arn} can be changed only in {group.instance.home_region}, "
                f"not in {region}",
            )
        return group

    def _group_for_tags(self, arn: str, region: str, now: float) -> Group:
        # TagResource & co. act on the resource in the Region called (the stricter reading:
        # the tagging API is regional and AWS documents no cross-Region access for it).
        group = self.groups.get(arn.rsplit("/", 1)[-1])
        if (
            group is None
            or group.arn != arn
            or group.instance.home_region != region
            or not group.visible(region, now)
            or group.status(now) == DELETED
        ):
            raise ApiError("ResourceNotFoundException", f"Resource {arn} not found")
        return group

    # -- operations ----------------------------------------------------------------------
    def _create(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        if self.not_ready > 0:
            self.not_ready -= 1
            raise ApiError("ResourceNotReadyException", "The resource is not ready.")
        ref = params["InstanceId"]
        instance = self._find_instance(ref)
        replica = instance.replica(now) if instance is not None else None
        if instance is not None and replica is not None and region == replica.region:
            # Admin guide ("Create traffic distribution groups"): called outside the Region where
            # ReplicateInstance was called, Create fails with InvalidRequestException.
            raise ApiError(
                "InvalidRequestException",
                f"Traffic distribution groups of instance {instance.id} must be created in {instance.home_region}",
            )
        if instance is None or instance.home_region != region:
            # Neither the instance's home nor its replica Region: the instance is unknown there.
            raise ApiError("ResourceNotFoundException", f"Instance {ref} not found in {region}")
        if replica is None:
            raise ApiError(
                "InvalidRequestException",
                f"Instance {instance.id} is not replicated: traffic distribution groups need a replica",
            )
        replication = replica.status(now)
        if replication in _REPLICATING:
            # The one transient error Create lists; that AWS sends it here is unverified.
            raise ApiError(
                "ResourceNotReadyException",
                f"Instance {instance.id} is still being replicated to {replica.region} ({replication})",
            )
        if replication != REPLICATION_COMPLETE:
            raise ApiError(
                "InvalidRequestException",
                f"The replica of instance {instance.id} in {replica.region} is {replication}: traffic "
                "distribution groups need a complete replica",
            )
        token = params.get("ClientToken") or None
        if token is not None:
            known = self.groups.get(self._tokens.get((instance.id, token), ""))
            if known is not None and known.status(now) != DELETED:
                # A repeated token answers with the group it created, even when the other
                # parameters changed: this operation lists no IdempotencyException (or any
                # other error for a token mismatch), so returning the original is the only
                # answer the model allows.
                return {"Id": known.id, "Arn": known.arn}
        name = params["Name"]
        live = self._live_groups(instance, now)
        if any(g.name == name for g in live):
            raise ApiError(
                "ResourceConflictException",
                f"A traffic distribution group named {name} already exists for instance {instance.id}",
            )
        if len(live) >= self.group_quota:
            raise ApiError(
                "ServiceQuotaExceededException",
                f"Instance {instance.id} already has {len(live)} traffic distribution groups "
                f"(quota {self.group_quota}, the default group included)",
            )
        outcome = CREATION_FAILED if self._consume(self._fail_creation, name) else ACTIVE
        timeline = [(now, CREATION_IN_PROGRESS), (now + self._delay("creation", name), outcome)]
        group = self._new_group(
            instance,
            name=name,
            now=now,
            timeline=timeline,
            description=params.get("Description"),
            tags=params.get("Tags"),
            token=token,
        )
        home_lag, elsewhere_lag = self.visibility_lag
        group.visible_at = (now + home_lag, now + elsewhere_lag)
        if token is not None:
            self._tokens[(instance.id, token)] = group.id
        return {"Id": group.id, "Arn": group.arn}

    def _describe(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group(params["TrafficDistributionGroupId"], region, now)
        body: dict[str, Any] = {
            "Id": group.id,
            "Arn": group.arn,
            "Name": group.name,
            "InstanceArn": group.instance.arn,
            "Status": group.status(now),
            "Tags": dict(group.tags),
            "IsDefault": group.is_default,
        }
        if group.description is not None:
            body["Description"] = group.description
        return {"TrafficDistributionGroup": body}

    def _delete(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        # The model lists no ResourceNotFoundException for this operation (unverified which code AWS sends).
        group = self._home_group(params, region, now)
        if group.is_default:
            raise ApiError(
                "InvalidRequestException",
                f"{group.arn} is the default traffic distribution group of instance {group.instance.id}; "
                "it cannot be deleted (it goes away with the instance's replica)",
            )
        status = group.status(now)
        if status not in _DELETABLE:
            # ResourceInUseException is the conflict-like error this operation lists (409).
            raise ApiError(
                "ResourceInUseException",
                f"Traffic distribution group {group.id} is {status} and cannot be deleted now",
            )
        if group.phone_numbers:
            number, number_arn = next(iter(group.phone_numbers.items()))
            raise ApiError(
                "ResourceInUseException",
                f"Traffic distribution group {group.id} cannot be deleted: phone number {number} "
                "is claimed to it; release it or move it to the instance first",
                fields={"ResourceType": "PHONE_NUMBER", "ResourceId": number_arn},
            )
        outcome = DELETION_FAILED if self._consume(self._fail_deletion, group.name) else DELETED
        group.timeline += [(now, PENDING_DELETION), (now + self._delay("deletion", group.name), outcome)]
        return {}

    def _list(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        ref = params.get("InstanceId")
        if ref is not None:
            instance = self._visible_instance(ref, region)
            if instance is None:
                # The operation lists no ResourceNotFoundException.
                raise ApiError("InvalidRequestException", f"Instance {ref} not found")
            groups = self._live_groups(instance, now)
        else:
            groups = [g for g in self.groups.values() if g.instance.home_region == region and g.status(now) != DELETED]
        offset = self._decode_token(params.get("NextToken"))
        size = params.get("MaxResults") or _PAGE_SIZE
        page = groups[offset : offset + size]
        result: dict[str, Any] = {
            "TrafficDistributionGroupSummaryList": [
                {
                    "Id": g.id,
                    "Arn": g.arn,
                    "Name": g.name,
                    "InstanceArn": g.instance.arn,
                    "Status": g.status(now),
                    "IsDefault": g.is_default,
                }
                for g in page
            ]
        }
        if offset + size < len(groups):
            result["NextToken"] = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode()
        return result

    @staticmethod
    def _decode_token(token: str | None) -> int:
        if token is None:
            return 0
        try:
            offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ApiError("InvalidRequestException", "The NextToken is not valid") from exc
        if not isinstance(offset, int) or offset < 0:
            raise ApiError("InvalidRequestException", "The NextToken is not valid")
        return offset

    def _check_distribution(self, key: str, config: dict[str, Any], group: Group) -> None:
        """The distribution rules of UpdateTrafficDistribution, InvalidRequestException if broken."""
        instance = group.instance
        if key == "SignInConfig" and not group.is_default:
            raise ApiError(
                "InvalidRequestException",
                "SignInConfig can only be set on the default traffic distribution group of an instance",
            )
        entries = config["Distributions"]
        regions = [entry["Region"] for entry in entries]
        if sorted(regions) != sorted(instance.regions):
            raise ApiError(
                "InvalidRequestException",
                f"{key} must list each Region of the instance exactly once ({', '.join(instance.regions)}); "
                f"got {regions}",
            )
        if key == "SignInConfig":
            if not any(entry["Enabled"] for entry in entries):
                raise ApiError("InvalidRequestException", "SignInConfig must enable at least one Region")
            return
        percentages = [entry["Percentage"] for entry in entries]
        if any(p % 10 for p in percentages):
            raise ApiError("InvalidRequestException", f"{key} percentages must be multiples of 10: {percentages}")
        if sum(percentages) != 100:
            raise ApiError("InvalidRequestException", f"{key} percentages must add up to 100: {percentages}")

    def _update_distribution(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group(params["Id"], region, now)
        configs: dict[str, Any] = {
            key: params[key] for key in ("TelephonyConfig", "SignInConfig", "AgentConfig") if key in params
        }
        if not configs:
            raise ApiError("InvalidRequestException", "Give at least one of TelephonyConfig, SignInConfig, AgentConfig")
        for key, config in configs.items():
            self._check_distribution(key, config, group)
        status = group.status(now)
        if status != ACTIVE:
            # The API reference: the group's status must be ACTIVE (InvalidRequestException).
            raise ApiError(
                "InvalidRequestException",
                f"Traffic distribution group {group.id} has status {status}; its status must be ACTIVE "
                "to update the traffic distribution",
            )
        group.distribution.update(copy.deepcopy(configs))
        group.last_failover_at = now
        group.timeline += [(now, UPDATE_IN_PROGRESS), (now + self._delay("update", group.name), ACTIVE)]
        return {}

    def _get_distribution(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group(params["Id"], region, now)
        result: dict[str, Any] = {"Id": group.id, "Arn": group.arn, **copy.deepcopy(group.distribution)}
        if group.last_failover_at is not None:
            result["LastFailoverTime"] = group.last_failover_at
        return result

    def _tag(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group_for_tags(params["resourceArn"], region, now)
        merged = {**group.tags, **params["tags"]}
        if len(merged) > _MAX_TAGS:
            raise ApiError(
                "InvalidParameterException",
                f"A resource can have at most {_MAX_TAGS} tags; this would make {len(merged)}",
            )
        group.tags = merged
        return {}

    def _untag(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group_for_tags(params["resourceArn"], region, now)
        for key in params["tagKeys"]:
            group.tags.pop(key, None)
        return {}

    # -- instances and replicas ----------------------------------------------------------
    def _replica_alias(self, instance: Instance, given: str | None) -> str:
        """ReplicaAlias, or (when omitted; what AWS names the replica then is unverified)
        ``<alias>-replica`` cut to the model's 45 characters."""
        return given or f"{instance.alias[: _MAX_ALIAS - len('-replica')]}-replica"

    def _instance_in(self, ref: str, region: str, now: float) -> tuple[Instance, Replica | None]:
        """The instance ``ref`` names as seen in ``region``: the source in its home Region, the
        replica in the replica's Region. A bare id means the instance of the Region called (the
        replica shares the source's id); an ARN must be the ARN of that Region's instance.
        ResourceNotFoundException otherwise."""
        instance_id = ref
        if ref.startswith("arn:"):
            parts = ref.split(":")
            if (
                len(parts) != 6
                or parts[2] != "connect"
                or parts[3] != region
                or parts[4] != self.account_id
                or not parts[5].startswith("instance/")
            ):
                instance_id = ""
            else:
                instance_id = parts[5].removeprefix("instance/")
        instance = self.instances.get(instance_id)
        if instance is not None:
            if region == instance.home_region:
                return instance, None
            replica = instance.replica(now)
            if replica is not None and replica.region == region:
                return instance, replica
        raise ApiError("ResourceNotFoundException", f"Instance {ref} not found in {region}")

    def _aliases_in_use(self, now: float) -> set[str]:
        aliases = {i.alias.lower() for i in self.instances.values()}
        for instance in self.instances.values():
            replica = instance.replica(now)
            if replica is not None:
                aliases.add(replica.alias.lower())
        return aliases

    def _replicate_instance(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        ref, target = params["InstanceId"], params["ReplicaRegion"]
        instance, replica = self._instance_in(ref, region, now)
        if replica is not None:
            raise ApiError(
                "InvalidRequestException",
                f"{replica.arn} is a replica; ReplicateInstance is called in the source Region "
                f"{instance.home_region} with the source instance",
            )
        token = params.get("ClientToken") or None
        if token is not None:
            known = self._replica_tokens.get((instance.id, token))
            if known is not None and known.status(now) != DELETED:
                # A repeated token answers with the replica it started (this operation lists no
                # error for a token reused with other parameters).
                return {"Id": instance.id, "Arn": known.arn}
        if target == region:
            raise ApiError(
                "InvalidRequestException",
                f"The replica Region must differ from the instance's Region {region}",
            )
        if (region, target) not in REPLICATION_PAIRS:
            partners = sorted(b for a, b in REPLICATION_PAIRS if a == region)
            raise ApiError(
                "InvalidRequestException",
                f"An instance in {region} cannot be replicated to {target}: Global Resiliency pairs only "
                "us-east-1 <-> us-west-2, eu-central-1 <-> eu-west-2 and ap-northeast-1 -> ap-northeast-3"
                + (f" (from {region}: {', '.join(partners)})" if partners else f" ({region} has no partner Region)"),
            )
        current = instance.replica(now)
        if current is not None:
            raise ApiError(
                "InvalidRequestException",
                f"Instance {instance.id} was already replicated to {current.region} "
                f"({current.status(now)}) by a different ReplicateInstance call",
            )
        alias = self._replica_alias(instance, params.get("ReplicaAlias"))
        if alias.lower() in self._aliases_in_use(now):
            raise ApiError("ResourceConflictException", f"The alias {alias} is already in use")
        delay = self.delays.replication
        done = now + delay
        replica = Replica(
            region=target,
            arn=instance.arn_in(target),
            alias=alias,
            requested_at=now,
            timeline=[(now, REPLICATION_NOT_STARTED), (now + delay / 2, REPLICATION_IN_PROGRESS)],
            client_token=token,
        )
        instance.replicas.append(replica)
        if self.fail_replication_reasons:
            replica.timeline.append((done, REPLICATION_FAILED))
            replica.reasons[REPLICATION_FAILED] = self.fail_replication_reasons.pop(0)
        else:
            replica.timeline.append((done, REPLICATION_COMPLETE))
            # The default group appears when the replication completes (before that, its
            # timeline has not started: every call and inspection treats it as nonexistent).
            replica.default_group = self._new_group(
                instance, name=f"{instance.alias}-default", now=done, timeline=[(done, ACTIVE)], is_default=True
            )
        if token is not None:
            self._replica_tokens[(instance.id, token)] = replica
        return {"Id": instance.id, "Arn": replica.arn}

    def _describe_instance(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        instance, seen = self._instance_in(params["InstanceId"], region, now)
        alias, created, status, reason = instance.alias, instance.created_at, ACTIVE, None
        if seen is not None:
            alias, created = seen.alias, seen.requested_at
            replication = seen.status(now)
            if replication in _REPLICATING:
                status = "CREATION_IN_PROGRESS"
            elif replication == REPLICATION_FAILED:
                status, reason = CREATION_FAILED, seen.reasons.get(REPLICATION_FAILED)
        body: dict[str, Any] = {
            "Id": instance.id,
            "Arn": instance.arn_in(region),
            "IdentityManagementType": instance.identity_management,
            "InstanceAlias": alias,
            "CreatedTime": created,
            "ServiceRole": f"arn:aws:iam::{self.account_id}:role/aws-service-role/connect.amazonaws.com/"
            f"AWSServiceRoleForAmazonConnect_{instance.id.replace('-', '')[:20]}",
            "InstanceStatus": status,
            "InboundCallsEnabled": True,
            "OutboundCallsEnabled": True,
            "InstanceAccessUrl": f"https://{alias}.my.connect.aws",
        }
        if reason is not None:
            body["StatusReason"] = {"Message": reason}
        result: dict[str, Any] = {"Instance": body}
        replica = instance.replica(now)
        if replica is not None:
            replication = replica.status(now)
            summary: dict[str, Any] = {"Region": replica.region, "ReplicationStatus": replication}
            if replication in replica.reasons:
                summary["ReplicationStatusReason"] = replica.reasons[replication]
            result["ReplicationConfiguration"] = {
                "ReplicationStatusSummaryList": [summary],
                "SourceRegion": instance.home_region,
                "GlobalSignInEndpoint": f"https://{instance.alias}.global.my.connect.aws",
            }
        return result

    def _delete_instance(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        ref = params["InstanceId"]
        token = params.get("ClientToken") or None
        key = (region, ref.rsplit("/", 1)[-1], token or "")
        if token is not None and key in self._delete_tokens:
            return {}  # the same request again: it was accepted the first time
        instance, replica = self._instance_in(ref, region, now)
        if replica is None:
            self._delete_source(instance, region, now)
        else:
            self._delete_replica(instance, replica, now)
        if token is not None:
            self._delete_tokens.add(key)
        return {}

    def _delete_replica(self, instance: Instance, replica: Replica, now: float) -> None:
        status = replica.status(now)
        if status in _REPLICATING or status == REPLICA_DELETING:
            raise ApiError(
                "InvalidRequestException",
                f"The replica {replica.arn} is {status} and cannot be deleted now",
            )
        blockers: list[str] = []
        others = [g for g in self._live_groups(instance, now) if not g.is_default]
        if others:
            names = ", ".join(f"{g.name} ({g.status(now)})" for g in others)
            blockers.append(f"traffic distribution groups other than the default one still exist: {names}")
        numbers = [
            pn.number
            for pn in self.phone_numbers.values()
            if pn.instance is instance
            and pn.released_at is None
            and (pn.group is not None or pn.region == replica.region)
        ]
        if numbers:
            blockers.append(
                "phone numbers are claimed to its traffic distribution groups or to the replica: " + ", ".join(numbers)
            )
        if blockers:
            raise ApiError(
                "InvalidRequestException",
                f"The replica {replica.arn} cannot be deleted: " + "; ".join(blockers),
            )
        end = now + self.delays.replica_deletion
        replica.timeline = [(at, st) for at, st in replica.timeline if at <= now] + [(now, REPLICA_DELETING)]
        group = replica.default_group
        if group is not None and group.status(now) == DELETED:
            group = None
        if self.fail_replica_deletion_reasons:
            replica.timeline.append((end, REPLICA_DELETION_FAILED))
            replica.reasons[REPLICA_DELETION_FAILED] = self.fail_replica_deletion_reasons.pop(0)
            if group is not None:
                group.timeline = [*group.history(now), (now, PENDING_DELETION), (end, ACTIVE)]
        else:
            replica.timeline.append((end, DELETED))
            if group is not None:
                # "The default traffic distribution group is deleted as part of the process for
                # deleting a replica" (model, IsDefault).
                group.timeline = [*group.history(now), (now, PENDING_DELETION), (end, DELETED)]

    def _delete_source(self, instance: Instance, region: str, now: float) -> None:
        """DeleteInstance on the production instance: it goes, with its replica, groups and numbers."""
        groups = [g for g in self.groups.values() if g.instance is instance and g.status(now) != DELETED]
        for group in groups:
            group.end(now)
        for unborn in [g for g in self.groups.values() if g.instance is instance and g.created_at > now]:
            del self.groups[unborn.id]  # the default group of a replication still running never comes
        replica = instance.replica(now)
        if replica is not None:
            replica.timeline = [(at, st) for at, st in replica.timeline if at <= now] + [(now, DELETED)]
        for pn in self.phone_numbers.values():
            if pn.instance is instance and pn.released_at is None:
                self._release(pn, now)
        del self.instances[instance.id]
        self.deleted_instances.append(
            {
                "Id": instance.id,
                "Arn": instance.arn,
                "Alias": instance.alias,
                "Region": region,
                "DeletedAt": now,
                "ReplicaRegion": replica.region if replica else None,
                "Groups": [g.arn for g in groups],
            }
        )

    # -- agents of traffic distribution groups ------------------------------------------
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
        size = min(params.get("MaxResults") or _PAGE_SIZE, _PAGE_SIZE)
        result: dict[str, Any] = {
            "TrafficDistributionGroupUserSummaryList": [{"UserId": u} for u in group.users[offset : offset + size]]
        }
        if offset + size < len(group.users):
            result["NextToken"] = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode()
        return result

    # -- phone numbers -------------------------------------------------------------------
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

    @staticmethod
    def _release(pn: PhoneNumber, now: float, token: str | None = None) -> None:
        pn.released_at, pn.release_token = now, token
        if pn.group is not None:
            pn.group.phone_numbers.pop(pn.number, None)

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
