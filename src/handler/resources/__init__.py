"""Every resource type the provider serves: one table from ResourceType to the module that runs it.

Each module has the same entry points (``request.Resource``): create, update, delete, resume and abandon,
with the same arguments. Adding a type means adding its module and a row here.
"""

from __future__ import annotations

from collections.abc import Mapping

from connect import ConnectClients
from errors import ProviderError
from request import RESTART, RESTARTING, Done, Pending, Progress, Request, Resource, Result
from waiting import Budget, OutOfTime

from . import (
    cross_region_routing,
    instance_replica,
    phone_number_contact_flow_association,
    traffic_distribution,
    traffic_distribution_group,
    traffic_distribution_group_user,
)

TYPES: Mapping[str, Resource] = {
    traffic_distribution_group.TYPE: traffic_distribution_group,
    traffic_distribution.TYPE: traffic_distribution,
    instance_replica.TYPE: instance_replica,
    traffic_distribution_group_user.TYPE: traffic_distribution_group_user,
    phone_number_contact_flow_association.TYPE: phone_number_contact_flow_association,
    cross_region_routing.TYPE: cross_region_routing,
}


def handle(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    """Run one Create, Update or Delete event."""
    resource = TYPES.get(request.resource_type)
    if resource is None and request.request_type == "Delete":
        return Done(request.physical_resource_id or "")  # nothing is ever made under an unknown type
    if resource is None:
        raise ProviderError(
            f"This provider does not manage resource type {request.resource_type or '(none)'!r}. "
            f"Declare the resource as one of: {', '.join(TYPES)}."
        )
    run = {"Create": resource.create, "Update": resource.update, "Delete": resource.delete}[request.request_type]
    try:
        return run(request, clients, budget, progress)
    except OutOfTime:
        # Throttled or answered 5xx until the time ran out, before any state worth keeping: start again.
        return RESTARTING


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    """Carry on with a request that an earlier invocation handed over to scheduled polling."""
    if state.get("Phase") == RESTART:
        return handle(request, clients, budget, progress)
    try:
        return TYPES[request.resource_type].resume(request, state, clients, budget, progress)
    except OutOfTime:
        return Pending(state)  # still retrying when this poll's time ran out: the next poll goes on from here


def abandon(request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """The request cannot go on (scheduled polling could not be set up): undo what only it made, and say what."""
    resource = TYPES.get(request.resource_type)
    if resource is None or state.get("Phase") == RESTART:
        return ""
    return resource.abandon(state, clients, budget)
