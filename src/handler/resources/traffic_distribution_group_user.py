"""``Custom::TrafficDistributionGroupUser``: an agent associated with a traffic distribution group.

Both directions are idempotent: an association that already exists is success, and so is one that is
already gone. Where Connect's errors do not tell which (ResourceConflictException, ResourceNotFound
right after the group was made), the group's list of users decides. Calls go to the group's home
region, with its ARN. Every change is a replacement: the physical id is the group's ARN and the user.
An association still refused (the user has not replicated yet, or the group is busy) is waited for, across
polls, until the resource's ServiceTimeout is nearly spent.
"""

from __future__ import annotations

from collections.abc import Mapping

import connect
from connect import ConnectClients
from errors import ProviderError
from properties import GROUP_USER_SCHEMA, GroupUserProperties, parse_group_user_properties
from refs import GroupRef, InstanceRef, UserRef
from request import Done, Progress, Request, Result, WaitingSince
from waiting import Budget, poll_until

TYPE = "Custom::TrafficDistributionGroupUser"
SCHEMA = GROUP_USER_SCHEMA
# Waiting for replication takes minutes: poll every 10 s at most, to leave the account's quota to others.
SETTLE_INTERVAL = 10.0
ASSOCIATING = "associate"  # the phase of the wait, as the polling rule carries it


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    return _associate(request, clients, budget, WaitingSince(ASSOCIATING, budget.wall()))


update = create


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    return _associate(request, clients, budget, WaitingSince.from_data(state))


def _associate(request: Request, clients: ConnectClients, budget: Budget, waiting: WaitingSince) -> Result:
    """Associate, or find the association made already. Connect refuses (ResourceNotFoundException or
    ResourceConflictException) while the user has not replicated to the group's other region, and while the
    group is not ACTIVE: wait through both, across polls, until the resource's ServiceTimeout is nearly spent."""
    user = parse_group_user_properties(request.properties, request.region)
    client = clients(user.group.region)
    give_up_at = waiting.give_up_at(request)

    def step() -> Done | None:
        if connect.associate_user(client, user, budget):
            return _done(user)
        users = connect.group_users(client, user.group, budget)
        if users is not None and user.user_id in users:
            return _done(user)
        if budget.wall() >= give_up_at:
            raise ProviderError(_refused(user, budget.wall() - waiting.since), code="AssociationRefused")
        return None

    return poll_until(step, budget, settle=SETTLE_INTERVAL) or waiting.pending()


def _refused(user: GroupUserProperties, waited: float) -> str:
    return (
        f"Connect refused to associate user {user.user_id} with {user.group.value} for {waited / 60:.0f} min "
        "(ResourceNotFoundException or ResourceConflictException), and the group does not list the user. Connect "
        "gives these for two causes. 1. The user is not in the replica yet: a user must exist in both regions of "
        "the instance, a new one replicates within minutes, and a failed sync is retried within 30 minutes; check "
        f"that the user exists in instance {user.instance.given} in both regions (the Connect console of each, "
        "or DescribeUser), and recreate or fix one that did not replicate. 2. The group is not ACTIVE: another "
        "update (for example another stack's UpdateTrafficDistribution) holds it in UPDATE_IN_PROGRESS; check its "
        "status with DescribeTrafficDistributionGroup. Then retry the stack operation; to wait longer, raise the "
        "resource's ServiceTimeout (at most 3600)."
    )


def delete(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    physical_id = request.physical_resource_id or ""
    user = _from_physical_id(physical_id, request)
    if user is None:
        return Done(physical_id)  # crhelper's invented id after a Create that failed early: nothing to undo
    client = clients(user.group.region)
    if connect.disassociate_user(client, user, budget):
        return Done(physical_id)
    users = connect.group_users(client, user.group, budget)
    if users is not None and user.user_id in users:
        raise ProviderError(
            f"Connect refused to remove user {user.user_id} from {user.group.value} (ResourceConflictException). "
            "Retry the stack operation; if it persists, remove the user from the group in the Connect console.",
            physical_resource_id=physical_id,
            code="ResourceConflictException",
        )
    return Done(physical_id)  # not associated, or the group is gone: nothing to undo


def abandon(state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """Nothing to undo: a request is handed over only while the user is not associated yet."""
    return ""


def _from_physical_id(physical_id: str, request: Request) -> GroupUserProperties | None:
    """The association a physical id names; the instance comes from the properties Delete was sent with."""
    group_arn, marker, user_id = physical_id.rpartition("/user/")
    group = GroupRef.parse(group_arn, "") if marker else None
    instance = request.properties.get("InstanceId")
    if group is None or not isinstance(instance, str):
        return None
    try:
        user = UserRef.parse(user_id)
        if user is None:
            return None
        return GroupUserProperties(group=group, instance=InstanceRef.parse(instance, request.region), user=user)
    except ProviderError:
        return None


def _done(user: GroupUserProperties) -> Done:
    return Done(user.physical_id, {"TrafficDistributionGroupArn": user.group.value, "UserId": user.user_id})
