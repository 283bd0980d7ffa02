"""Instances and their replicas: ReplicateInstance, DescribeInstance, DeleteInstance; and the cross-region routing of
instances enabled for global routing: UpdateCrossRegionRouting, GetCrossRegionRouting."""

from __future__ import annotations

import re
import uuid
from typing import Any

from local.emulator.connect.model import (
    ACTIVE,
    CREATION_FAILED,
    DELETED,
    PENDING_DELETION,
    REPLICA_DELETING,
    REPLICA_DELETION_FAILED,
    REPLICATING,
    REPLICATION_COMPLETE,
    REPLICATION_FAILED,
    REPLICATION_IN_PROGRESS,
    REPLICATION_NOT_STARTED,
    Instance,
    Replica,
)
from local.emulator.connect.state import ConnectState
from local.emulator.errors import ApiError

_ID_RE = re.compile(r"[a-zA-Z0-9_-]+")
_MAX_ALIAS = 45

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


class InstanceOperations(ConnectState):
    """The operations on instances and replicas, and their knobs and inspection."""

    def add_instance(
        self,
        instance_id: str | None,
        *,
        home_region: str,
        replica_region: str | None,
        alias: str | None,
        now: float,
        default_group_id: str | None = None,
        global_routing: bool = False,
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
            global_routing=global_routing,
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
            "Flows": list(instance.flows),
            "GlobalRouting": instance.global_routing,
            "IsolatedAll": instance.isolated,
        }

    def _replica_alias(self, instance: Instance, given: str | None) -> str:
        """ReplicaAlias, or (when omitted; what AWS names the replica then is unverified)
        ``<alias>-replica`` cut to the model's 45 characters."""
        return given or f"{instance.alias[: _MAX_ALIAS - len('-replica')]}-replica"

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
            if replication in REPLICATING:
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
        if status in REPLICATING or status == REPLICA_DELETING:
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

    def _routing_instance(self, params: dict[str, Any], region: str, now: float) -> Instance:
        """The instance of Update/GetCrossRegionRouting, from either of its Regions. The API reference: "available
        only for Amazon Connect Global Resiliency instances enabled for global routing"; the error for others is
        InvalidRequestException here (the model lists it; which code Connect gives is unverified)."""
        instance, _ = self._instance_in(params["InstanceId"], region, now)
        replica = instance.replica(now)
        if not instance.global_routing or replica is None or replica.status(now) != REPLICATION_COMPLETE:
            raise ApiError("InvalidRequestException", f"Instance {instance.id} is not enabled for global routing")
        return instance

    def _update_cross_region_routing(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        self._routing_instance(params, region, now).isolated = bool(params["IsolatedAll"])
        return {}

    def _get_cross_region_routing(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        instance = self._routing_instance(params, region, now)
        # IsolatedAll isolates "all Regions associated with this instance": both are listed.
        return {"IsolatedRegions": list(instance.regions) if instance.isolated else []}
