"""``Custom::CrossRegionRouting``: whether Connect routes contacts between the two regions of an instance enabled for
global routing (UpdateCrossRegionRouting, IsolatedAll).

The resource stands for the isolation: Create and Update send IsolatedAll, then read GetCrossRegionRouting back
until it agrees; Delete restores cross-region routing (IsolatedAll false), so removing the resource ends the
isolation. The physical id names the instance by its id, so the template may name it in either of its regions.
Calls go to the region of InstanceId first and to the instance's other region when that one is down, as the
other reads and updates do: isolating the regions is what an outage may call for.
"""

from __future__ import annotations

from collections.abc import Mapping

import connect
from connect import ConnectClients
from errors import ProviderError
from properties import ROUTING_SCHEMA, RoutingProperties, parse_routing_properties
from request import Done, Progress, Request, Result, WaitingSince
from waiting import Budget, poll_until

TYPE = "Custom::CrossRegionRouting"
SCHEMA = ROUTING_SCHEMA
# The phase of a change Connect has not reported yet, as the polling rule carries it with when the wait began.
ISOLATING, RESTORING = "isolate", "restore"


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    routing = parse_routing_properties(request.properties, request.region)
    return _converge(request, clients, routing, routing.isolated_all, budget, since=budget.wall())


update = create


def delete(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    return _restore(request, clients, budget, since=budget.wall())


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    since = WaitingSince.from_data(state).since
    if request.request_type == "Delete":
        return _restore(request, clients, budget, since=since)
    routing = parse_routing_properties(request.properties, request.region)
    return _converge(request, clients, routing, routing.isolated_all, budget, since=since, resumed=True)


def abandon(state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """Nothing to undo: an isolation sent is the template's, and the rollback's Update or Delete sets it back."""
    return ""


def _restore(request: Request, clients: ConnectClients, budget: Budget, *, since: float) -> Result:
    """End the isolation. An instance gone, or no longer enabled for global routing, isolates nothing."""
    physical_id = request.physical_resource_id or ""
    try:
        routing = parse_routing_properties(request.properties, request.region)
    except ProviderError:
        return Done(physical_id)  # properties that never parsed changed nothing
    if routing.physical_id != physical_id:
        return Done(physical_id)  # crhelper's invented id after a Create that failed: nothing to undo
    try:
        return _converge(request, clients, routing, False, budget, since=since)
    except ProviderError as error:
        if error.code not in ("ResourceNotFoundException", "InvalidRequestException"):
            raise
        note = f"Left cross-region routing of instance {routing.instance.given} as it is: {error.reason}"
        return Done(physical_id, note=note)


def _converge(
    request: Request,
    clients: ConnectClients,
    routing: RoutingProperties,
    isolated: bool,
    budget: Budget,
    *,
    since: float,
    resumed: bool = False,
) -> Result:
    """Send IsolatedAll once per invocation, then read back until Connect reports it, across polls, until the
    resource's ServiceTimeout is nearly spent. Safe to run again from the start: the update is idempotent."""
    waiting = WaitingSince(ISOLATING if isolated else RESTORING, since)
    give_up_at = waiting.give_up_at(request)
    sent = False
    # Once Connect may have taken the change, a failure carries the resource's own physical id, so that the
    # rollback's Delete restores the routing; before, crhelper's invented id tells Delete there is nothing to undo.
    maybe_changed = resumed

    def step() -> Done | None:
        nonlocal sent, maybe_changed
        if not sent:
            sent = connect.update_cross_region_routing(clients, routing.instance, isolated, budget).value
            maybe_changed = maybe_changed or sent
        reported = connect.isolated_regions(clients, routing.instance, budget).value
        if sent and bool(reported) == isolated:
            return Done(routing.physical_id, {"IsolatedRegions": ",".join(sorted(reported))})
        if budget.wall() >= give_up_at:
            waited = budget.wall() - since
            raise ProviderError(_not_reported(routing, isolated, reported, sent, waited), code="NotApplied")
        return None

    try:
        return poll_until(step, budget) or waiting.pending()
    except ProviderError as error:
        if not maybe_changed:
            raise
        raise error.about(routing.physical_id) from error


def _not_reported(routing: RoutingProperties, isolated: bool, reported: list[str], sent: bool, waited: float) -> str:
    wanted = "true" if isolated else "false"
    now = ", ".join(sorted(reported)) or "none"
    what = (
        "Connect accepted UpdateCrossRegionRouting"
        if sent
        else "Connect kept refusing UpdateCrossRegionRouting (ResourceConflictException)"
    )
    return (
        f"{what} with IsolatedAll {wanted} for instance {routing.instance.given}, but after {waited / 60:.0f} min "
        f"GetCrossRegionRouting reports isolated regions: {now}. Another change of the instance's routing may be "
        "under way; retry the stack operation, and raise the resource's ServiceTimeout (at most 3600) to wait longer."
    )
