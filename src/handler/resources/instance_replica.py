"""``Custom::InstanceReplica``: a replica of a Connect instance in its partner region (ReplicateInstance).

Replication takes far longer than one invocation, so handing over to scheduled polling is the normal
path here: every step can run again from its state. Three rules matter most:
- a replica is never replaced implicitly. Connect limits how many instances an account may create or
  delete in 30 days, so a change of InstanceId, ReplicaRegion or ReplicaAlias fails before any call;
- the replica has the same instance id as its source, so DeleteInstance goes only to the replica's own
  region with its ARN (``connect.delete_replica`` refuses anything else);
- from the moment ReplicateInstance returns, every answer carries the replica's ARN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import connect
from connect import ConnectClients, Instance
from errors import ProviderError
from properties import REPLICA_SCHEMA, ReplicaProperties, parse_replica_properties
from refs import InstanceRef
from request import Done, PollingState, Progress, Request, Result
from waiting import Budget, poll_until

TYPE = "Custom::InstanceReplica"
SCHEMA = REPLICA_SCHEMA
COMPLETE, FAILED = "INSTANCE_REPLICATION_COMPLETE", "INSTANCE_REPLICATION_FAILED"
DELETING, DELETION_FAILED = "INSTANCE_REPLICA_DELETING", "INSTANCE_REPLICATION_DELETION_FAILED"
# Replication takes many minutes: poll every 10 s at most, to leave the account's quota to others.
SETTLE_INTERVAL = 10.0


class Phase(StrEnum):
    REPLICATING = "replicate"
    REMOVING = "remove-replica"


@dataclass(frozen=True)
class ReplicaState(PollingState):
    """Where a request of a replica stands: replicating or removing the replica of this ARN."""

    phase: Phase
    replica_arn: str

    def to_data(self) -> dict[str, str]:
        return {"Phase": self.phase.value, "ReplicaArn": self.replica_arn}

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> ReplicaState:
        return cls(Phase(data["Phase"]), data["ReplicaArn"])


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    desired = parse_replica_properties(request.properties, request.region)
    replica_arn = connect.replicate_instance(clients(desired.instance.region), desired, request.request_id, budget)
    progress.created = replica_arn
    try:
        return _await_replication(clients, desired, replica_arn, budget)
    except ProviderError as error:
        raise error.about(replica_arn) from error


def update(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Nothing of a replica can change in place, and a replacement is never made implicitly.

    The replica is compared with what it is, not with OldResourceProperties: on the rollback of a refused
    change, those are the refused properties, and the rollback must succeed.
    """
    desired = parse_replica_properties(request.properties, request.region)
    replica_arn = request.physical_resource_id or ""
    replica = _instance_arn(replica_arn)
    moved = replica is None or (replica.instance_id, replica.region) != (
        desired.instance.instance_id,
        desired.replica_region,
    )
    # The replica's ARN holds the instance id and the replica region; only the alias needs a look.
    previous = _lenient(request.old_properties, request.region)
    renamed = previous is not None and previous.alias != desired.alias
    if renamed and not moved:
        current = connect.describe_instance(clients(desired.replica_region), replica_arn, budget)
        renamed = current is None or current.alias != desired.alias
    if moved or renamed:
        raise ProviderError(
            "A replica cannot be moved or renamed, and this provider never replaces one implicitly: Connect "
            "limits how many instances an account may create and delete in 30 days, and a new replica takes "
            "long to build. Keep InstanceId, ReplicaRegion and ReplicaAlias as they were. To replace the "
            "replica on purpose, remove the resource in one deployment (which deletes the replica) and add it "
            "back in the next.",
            code="ReplacementRefused",
        )
    return _await_replication(clients, desired, replica_arn, budget)


def delete(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    replica_arn = request.physical_resource_id or ""
    replica = _instance_arn(replica_arn)
    if replica is None:
        # Not a replica: crhelper's invented id after a Create that failed before ReplicateInstance answered.
        return Done(replica_arn)
    source = _lenient(request.properties, request.region)
    if source is None or replica.region == source.instance.region or replica.region != source.replica_region:
        raise ProviderError(
            f"Refused to delete {replica_arn}: it is not the replica in ReplicaRegion of the instance in the "
            "resource's properties, and a replica shares its id with the production instance. Nothing was "
            "deleted. If the replica must go, delete it in the Connect console, then retry the stack operation.",
            physical_resource_id=replica_arn,
            code="DeleteRefused",
        )
    try:
        # The RequestId as ClientToken: a retried invocation's DeleteInstance is the same request.
        connect.delete_replica(
            clients(replica.region),
            replica_arn,
            source_region=source.instance.region,
            client_token=request.request_id,
            budget=budget,
        )
    except ProviderError as error:  # OutOfTime passes on: resources.handle makes it a restart by polling
        if _replication(clients, source, replica_arn, budget, deleting=True)[1] == DELETING:
            return _delete_and_wait(clients, source, replica_arn, budget)  # an earlier try's request went through
        raise ProviderError(
            f"{error.reason} Connect deletes a replica only after what depends on it is gone: delete the "
            "instance's traffic distribution groups other than the default one, release the phone numbers "
            "claimed to them, then retry the stack operation.",
            physical_resource_id=replica_arn,
            code=error.code,
        ) from error
    return _delete_and_wait(clients, source, replica_arn, budget)


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    at = ReplicaState.from_data(state)
    desired = parse_replica_properties(request.properties, request.region)
    if at.phase is Phase.REMOVING:
        return _delete_and_wait(clients, desired, at.replica_arn, budget)
    if request.request_type == "Create":
        progress.created = at.replica_arn
    return _await_replication(clients, desired, at.replica_arn, budget)


def abandon(state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """A replica is never deleted implicitly (Connect limits instance deletions): the rollback's Delete does it."""
    return ""


def _await_replication(clients: ConnectClients, desired: ReplicaProperties, replica_arn: str, budget: Budget) -> Result:
    """Wait until Connect reports the replica complete and lists the default group it made."""
    region = desired.replica_region

    def step() -> Done | None:
        replica, status, reason = _replication(clients, desired, replica_arn, budget)
        if status == FAILED:
            raise ProviderError(
                f"Connect could not replicate the instance to {region}: {reason or 'no reason given'}. "
                "The rollback deletes the failed replica; fix the cause, then deploy again.",
                physical_resource_id=replica_arn,
                code="ReplicationFailed",
            )
        if status in (DELETING, DELETION_FAILED):
            raise ProviderError(
                f"The replica {replica_arn} is being deleted ({status}) outside CloudFormation.",
                physical_resource_id=replica_arn,
                code="ReplicaGone",
            )
        if replica is None or status != COMPLETE:
            return None
        default_group = connect.default_group_arn(
            clients(desired.instance.region), _source_arn(replica, desired), budget
        )
        return Done(replica_arn, _attributes(replica, desired, default_group)) if default_group else None

    done = poll_until(step, budget, settle=SETTLE_INTERVAL)
    return done or ReplicaState(Phase.REPLICATING, replica_arn).pending()


def _replication(
    clients: ConnectClients, desired: ReplicaProperties, replica_arn: str, budget: Budget, *, deleting: bool = False
) -> tuple[Instance | None, str, str]:
    """The replica as its region describes it (None: not visible yet, or gone when ``deleting``), and the
    replication status. Whether the replica region reports the status is not documented; when it does
    not, the source region does."""
    region = desired.replica_region
    replica = connect.describe_instance(clients(region), replica_arn, budget)
    if replica is not None and region in replica.replication:
        return replica, *replica.replication[region]
    if replica is None and deleting:
        return None, "", ""
    source = connect.describe_instance(clients(desired.instance.region), desired.instance.given, budget)
    status, reason = (source.replication.get(region) if source else None) or ("", "")
    return replica, status, reason


def _delete_and_wait(clients: ConnectClients, source: ReplicaProperties, replica_arn: str, budget: Budget) -> Result:
    """Wait through INSTANCE_REPLICA_DELETING until Connect no longer knows the replica."""

    def step() -> Done | None:
        replica, status, reason = _replication(clients, source, replica_arn, budget, deleting=True)
        if status == DELETION_FAILED:
            raise ProviderError(
                f"Connect could not delete the replica {replica_arn} ({status}: {reason or 'no reason given'}). "
                "Check the instance in the Connect console, then retry the stack operation.",
                physical_resource_id=replica_arn,
                code="DeletionFailed",
            )
        return Done(replica_arn) if replica is None or not status else None

    done = poll_until(step, budget, settle=SETTLE_INTERVAL)
    return done or ReplicaState(Phase.REMOVING, replica_arn).pending()


def _attributes(replica: Instance, desired: ReplicaProperties, default_group: str) -> dict[str, str]:
    return {
        "Id": replica.id,
        "Arn": replica.arn,
        "SourceInstanceArn": _source_arn(replica, desired),
        "ReplicaRegion": desired.replica_region,
        "GlobalSignInEndpoint": replica.global_sign_in_endpoint,
        "DefaultTrafficDistributionGroupArn": default_group,
    }


def _source_arn(replica: Instance, desired: ReplicaProperties) -> str:
    """The source instance's ARN: the replica's, in the source region (a replica keeps the source's id)."""
    parts = replica.arn.split(":")
    parts[3] = desired.instance.region
    return ":".join(parts)


def _instance_arn(value: str) -> InstanceRef | None:
    if not value.startswith("arn:"):
        return None
    try:
        return InstanceRef.parse(value, "")
    except ProviderError:
        return None


def _lenient(properties: Mapping[str, Any], region: str) -> ReplicaProperties | None:
    try:
        return parse_replica_properties(properties, region)
    except ProviderError:
        return None
