"""``Custom::TrafficDistributionGroupUser``: an agent associated with a traffic distribution group.

Both directions are idempotent: an association that already exists is success, and so is one that is
already gone. Where Connect's errors do not tell which (ResourceConflictException, ResourceNotFound
right after the group was made), the group's list of users decides. Calls go to the group's home
region, with its ARN. Every change is a replacement: the physical id is the group's ARN and the user.
Nothing is kept between polls: a poll runs the request again.
"""

from __future__ import annotations

from collections.abc import Mapping

import connect
from connect import ConnectClients
from errors import ProviderError
from properties import GroupUserProperties, parse_group_user_properties
from refs import GroupRef, InstanceRef
from request import RESTARTING, Done, Progress, Request, Result
from waiting import Budget, poll_until

TYPE = "Custom::TrafficDistributionGroupUser"
# Refusals (ResourceConflictException with the user not listed) waited out before the request fails.
REFUSALS = 3


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Associate, or find the association made already. Wait while Connect does not show a new group yet,
    or refuses for a few rounds (the group may be busy); then say what is wrong."""
    user = parse_group_user_properties(request.properties, request.region)
    client = clients(user.group.region)
    refusals = 0

    def step() -> Done | None:
        nonlocal refusals
        if connect.associate_user(client, user, budget):
            return _done(user)
        users = connect.group_users(client, user.group, budget)
        if users is not None and user.user_id in users:
            return _done(user)
        refusals += users is not None
        if refusals >= REFUSALS:
            raise ProviderError(
                f"Connect refused to associate user {user.user_id} with {user.group.value} {refusals} times "
                "(ResourceConflictException or ResourceNotFoundException), and the group does not list the user. "
                f"Check that the user exists in instance {user.instance.given} and that the group is ACTIVE, "
                "then retry.",
                code="AssociationRefused",
            )
        return None

    return poll_until(step, budget) or RESTARTING


update = create


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


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    """An association keeps no state between polls: whatever a poll carries, it runs the request again."""
    run = delete if request.request_type == "Delete" else create
    return run(request, clients, budget, progress)


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
        return GroupUserProperties(group=group, instance=InstanceRef.parse(instance, request.region), user_id=user_id)
    except ProviderError:
        return None


def _done(user: GroupUserProperties) -> Done:
    return Done(user.physical_id, {"TrafficDistributionGroupArn": user.group.value, "UserId": user.user_id})
