"""Amazon Connect instances, their replicas and cross-region routing, traffic distribution groups (TDGs), the
agents associated with TDGs, and claimed phone numbers and their flows.

The rules are those the Connect API documents or that its model implies; where AWS
leaves a choice open, the stricter reading is taken (a provider that passes here must not
be relying on leniency), and the choice is said where it is made.

One module per sub-domain, composed by :class:`ConnectBackend`: ``groups`` (the groups, their
traffic distribution and tags), ``instances`` (instances, replicas and cross-region routing), ``users`` (the
agents of groups) and ``phone_numbers`` (and their flows). ``model`` holds the data and statuses; ``state`` the
state they share and the lookups more than one of them makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.emulator.connect.groups import GroupOperations
from local.emulator.connect.instances import InstanceOperations
from local.emulator.connect.model import DELETED, Delays
from local.emulator.connect.phone_numbers import PhoneNumberOperations
from local.emulator.connect.users import UserOperations

__all__ = ["DELETED", "ConnectBackend", "Delays"]


class ConnectBackend(GroupOperations, InstanceOperations, UserOperations, PhoneNumberOperations):
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
            "AssociatePhoneNumberContactFlow",
            "DisassociatePhoneNumberContactFlow",
            "UpdateCrossRegionRouting",
            "GetCrossRegionRouting",
        }
    )

    def __init__(self, account_id: str, *, delays: Delays, group_quota: int) -> None:
        super().__init__(account_id, delays=delays, group_quota=group_quota)
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
            "AssociatePhoneNumberContactFlow": self._associate_flow,
            "DisassociatePhoneNumberContactFlow": self._disassociate_flow,
            "UpdateCrossRegionRouting": self._update_cross_region_routing,
            "GetCrossRegionRouting": self._get_cross_region_routing,
        }

    def handle(self, operation: str, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        return self._handlers[operation](params, region, now)
