"""Amazon Connect instances and traffic distribution groups (TDGs).

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
_PAGE_SIZE = 10  # MaxResult10 in the model
_ID_RE = re.compile(r"[a-zA-Z0-9_-]+")


@dataclass
class Instance:
    """A Connect instance; replicated when ``replica_region`` is set."""

    id: str
    arn: str
    alias: str
    home_region: str
    replica_region: str | None

    @property
    def regions(self) -> list[str]:
        return [self.home_region] + ([self.replica_region] if self.replica_region else [])


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
    # When API calls start to see the group: in its home Region, in any other Region.
    visible_at: tuple[float, float] = (float("-inf"), float("-inf"))

    def visible(self, region: str, now: float) -> bool:
        home, elsewhere = self.visible_at
        return now >= (home if region == self.instance.home_region else elsewhere)

    def status(self, now: float) -> str:
        current = self.timeline[0][1]
        for at, status in self.timeline:
            if at > now:
                break
            current = status
        return current

    def history(self, now: float) -> list[tuple[float, str]]:
        return [(at, status) for at, status in self.timeline if at <= now]


@dataclass
class Delays:
    """Seconds each transition takes (CREATION_IN_PROGRESS, PENDING_DELETION, UPDATE_IN_PROGRESS)."""

    creation: float
    deletion: float
    update: float


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
            "ListTagsForResource",
        }
    )

    def __init__(
        self,
        account_id: str,
        *,
        delays: Delays,
        group_quota: int,
        delete_not_found_code: str,
        delete_wrong_region_code: str,
    ) -> None:
        self.account_id = account_id
        self.group_quota = group_quota
        self.delete_not_found_code = delete_not_found_code
        self.delete_wrong_region_code = delete_wrong_region_code
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
        self._handlers: dict[str, Callable[[dict[str, Any], str, float], dict[str, Any]]] = {
            "CreateTrafficDistributionGroup": self._create,
            "DescribeTrafficDistributionGroup": self._describe,
            "DeleteTrafficDistributionGroup": self._delete,
            "ListTrafficDistributionGroups": self._list,
            "UpdateTrafficDistribution": self._update_distribution,
            "GetTrafficDistribution": self._get_distribution,
            "TagResource": self._tag,
            "UntagResource": self._untag,
            "ListTagsForResource": self._list_tags,
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
            replica_region=replica_region,
        )
        self.instances[instance_id] = instance
        if replica_region:
            # ReplicateInstance creates the default group, usable at once.
            self._new_group(
                instance,
                name=f"{instance.alias}-default",
                now=now,
                timeline=[(now, ACTIVE)],
                is_default=True,
                group_id=default_group_id,
            )
        return instance

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
        for other in self.groups.values():
            if number in other.phone_numbers and other.status(now) != DELETED:
                raise ValueError(f"{number} is already claimed to {other.arn}")
        arn = f"arn:aws:connect:{group.instance.home_region}:{self.account_id}:phone-number/{uuid.uuid4()}"
        group.phone_numbers[number] = arn
        return arn

    def release_phone_numbers(self, group_ref: str, now: float) -> list[str]:
        group = self._lookup(group_ref, now)
        released = list(group.phone_numbers)
        group.phone_numbers.clear()
        return released

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

    def _group(self, ref: str, region: str, now: float, *, not_found: str = "ResourceNotFoundException") -> Group:
        """Resolve a ``TrafficDistributionGroupIdOrArn`` the way Connect documents it: the ARN
        works from any Region, the bare id only in the Region where the group was created;
        a group still within its visibility lag is unknown."""
        group = self.groups.get(ref.rsplit("/", 1)[-1])
        if group is not None:
            visible = group.arn == ref if ref.startswith("arn:") else group.instance.home_region == region
            if not visible or not group.visible(region, now) or group.status(now) == DELETED:
                group = None
        if group is None:
            raise ApiError(not_found, f"Traffic distribution group {ref} not found")
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
        if instance is not None and region == instance.replica_region:
            # Admin guide ("Create traffic distribution groups"): called outside the Region where
            # ReplicateInstance was called, Create fails with InvalidRequestException.
            raise ApiError(
                "InvalidRequestException",
                f"Traffic distribution groups of instance {instance.id} must be created in {instance.home_region}",
            )
        if instance is None or instance.home_region != region:
            # Neither the instance's home nor its replica Region: the instance is unknown there.
            raise ApiError("ResourceNotFoundException", f"Instance {ref} not found in {region}")
        if instance.replica_region is None:
            raise ApiError(
                "InvalidRequestException",
                f"Instance {instance.id} is not replicated: traffic distribution groups need a replica",
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
        # The model lists no ResourceNotFoundException for this operation; which code AWS
        # sends for an unknown group is a knob (``delete_not_found_code``).
        group = self._group(params["TrafficDistributionGroupId"], region, now, not_found=self.delete_not_found_code)
        if region != group.instance.home_region:
            # "This API can be called only in the Region where the traffic distribution group
            # is created" (API reference); the error code is a knob, AWS does not document it.
            raise ApiError(
                self.delete_wrong_region_code,
                f"Traffic distribution group {group.arn} can be deleted only in {group.instance.home_region}, "
                f"not in {region}",
            )
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

    def _list_tags(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        group = self._group_for_tags(params["resourceArn"], region, now)
        return {"tags": dict(group.tags)}
