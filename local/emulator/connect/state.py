"""The state the Connect backend's sub-domains share, and the lookups more than one of them makes."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from local.emulator.connect.model import DELETED, Delays, Group, Instance, PhoneNumber, Replica, default_distribution
from local.emulator.errors import ApiError


class ConnectState:
    """Instances, groups, phone numbers and the knobs that shape them.

    Not thread-safe on its own: :class:`local.emulator.Emulator` holds one lock around every call.
    """

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
            distribution=default_distribution(instance, is_default=is_default),
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

    @staticmethod
    def _release(pn: PhoneNumber, now: float, token: str | None = None) -> None:
        pn.released_at, pn.release_token = now, token
        if pn.group is not None:
            pn.group.phone_numbers.pop(pn.number, None)
