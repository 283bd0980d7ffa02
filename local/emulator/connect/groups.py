"""Traffic distribution groups: Create, Describe, Delete, List, their traffic distribution and tags."""

from __future__ import annotations

import base64
import copy
import itertools
import json
from typing import Any

from local.emulator.connect.model import (
    ACTIVE,
    CREATION_FAILED,
    CREATION_IN_PROGRESS,
    DELETED,
    DELETION_FAILED,
    PAGE_SIZE,
    PENDING_DELETION,
    REPLICATING,
    REPLICATION_COMPLETE,
    UPDATE_IN_PROGRESS,
    Group,
)
from local.emulator.connect.state import ConnectState
from local.emulator.errors import ApiError

#: States from which DeleteTrafficDistributionGroup is accepted.
_DELETABLE = frozenset({ACTIVE, CREATION_FAILED, DELETION_FAILED})
_MAX_TAGS = 50


class GroupOperations(ConnectState):
    """The operations on traffic distribution groups, and their knobs and inspection."""

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
        if replication in REPLICATING:
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
        size = params.get("MaxResults") or PAGE_SIZE
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
