"""``Custom::PhoneNumberContactFlowAssociation``: the flow that answers a claimed phone number.

CloudFormation has no property for it (AWS::Connect::PhoneNumber has no flow), and a number without a flow answers
nothing. What Connect documents, and what the code here relies on (docs/emulator-fidelity.md has the sources):
- AssociatePhoneNumberContactFlow replaces the number's flow, so a new ContactFlowId is set in place;
- a number of a traffic distribution group is found from the group's other region only by its ARN: a given ARN
  goes to Connect as it is, and a bare id that the other region knows gets a Reason that says to give the ARN;
- the association is mirrored to the instance's other region, so the physical id names the number and the
  instance by their ids, whichever region the call is made in;
- a number just claimed may not be visible yet, or not CLAIMED yet: that is waited for, across polls, until the
  resource's ServiceTimeout is nearly spent.
No API returns a number's flow, so the association is never read back.
"""

from __future__ import annotations

from collections.abc import Mapping

import connect
import regions
from connect import ConnectClients
from errors import ProviderError
from properties import NUMBER_FLOW_SCHEMA, NumberFlowProperties, parse_number_flow_properties
from request import Done, Progress, Request, Result, WaitingSince
from waiting import Budget, poll_until

TYPE = "Custom::PhoneNumberContactFlowAssociation"
SCHEMA = NUMBER_FLOW_SCHEMA
# The wait ends this long before CloudFormation stops waiting for the answer (ServiceTimeout): a poll fires every
# minute and runs at most 45 s, so the one that gives up still answers in time.
ANSWER_MARGIN = 120.0
# A number that Connect lists as CLAIMED while the association is still refused: the instance or the flow is not
# found. One just made shows within this; after it, the answer is FAILED.
CLAIMED_PATIENCE = 120.0
# A claim takes seconds to minutes: poll every 10 s at most, to leave the account's quota to others.
SETTLE_INTERVAL = 10.0
ASSOCIATING = "associate-flow"  # the phase of the wait, as the polling rule carries it
CLAIMED, IN_PROGRESS, FAILED = "CLAIMED", "IN_PROGRESS", "FAILED"


def create(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    return _associate(request, clients, budget, WaitingSince(ASSOCIATING, budget.wall()))


# A new ContactFlowId is set in place: AssociatePhoneNumberContactFlow replaces the flow, and the physical id stays.
# A new number or instance gives a new physical id: CloudFormation's Delete of the old one disassociates it.
update = create


def resume(
    request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
) -> Result:
    return _associate(request, clients, budget, WaitingSince.from_data(state))


def _associate(request: Request, clients: ConnectClients, budget: Budget, waiting: WaitingSince) -> Result:
    association = parse_number_flow_properties(request.properties, request.region)
    client = clients(association.instance.region)
    give_up_at = waiting.give_up_at(request)

    def step() -> Done | None:
        refused: ProviderError | None = None
        try:
            if connect.associate_number_flow(client, association, budget):
                return _done(association)
        except ProviderError as error:
            if error.code != "InvalidParameterException":
                raise
            refused = error
        status = connect.number_status(client, association.phone_number, budget)
        if refused is not None and status != IN_PROGRESS:
            raise refused  # not documented for a number not CLAIMED yet: only that is waited out
        waited = budget.wall() - waiting.since
        if status == FAILED:
            raise ProviderError(_claim_failed(association), code="ClaimFailed")
        if status == CLAIMED and waited >= CLAIMED_PATIENCE:
            raise ProviderError(_flow_or_instance_not_found(association), code="ResourceNotFoundException")
        if status is None and not association.phone_number.is_arn:
            _refuse_a_bare_id_known_elsewhere(clients, association, budget)
        if budget.wall() >= give_up_at:
            raise ProviderError(_not_found(association, status, waited), code="ResourceNotFoundException")
        return None

    return poll_until(step, budget, settle=SETTLE_INTERVAL) or waiting.pending()


def _refuse_a_bare_id_known_elsewhere(
    clients: ConnectClients, association: NumberFlowProperties, budget: Budget
) -> None:
    """A bare id that the instance's other region knows can never work from this one: say to give the ARN."""
    here = association.instance.region
    other = regions.counterpart(here)
    if other is None:
        return
    try:
        if connect.number_status(clients(other), association.phone_number, budget) is None:
            return
    except connect.Unavailable:
        return  # the other region cannot tell now: go on waiting
    raise ProviderError(
        f"Phone number {association.phone_number.given} was claimed in {other}, and Connect finds a number of a "
        f"traffic distribution group from the group's other region ({here}, the region of InstanceId) only by its "
        "ARN. Give PhoneNumberId as the number's ARN (!Ref of the AWS::Connect::PhoneNumber gives it), or give "
        f"InstanceId as the instance's ARN in {other}.",
        code="ResourceNotFoundException",
    )


def _claim_failed(association: NumberFlowProperties) -> str:
    return (
        f"Phone number {association.phone_number.given} is FAILED: Connect could not claim it, so no flow can answer "
        "it. Release it and claim another number, then retry the stack operation."
    )


def _flow_or_instance_not_found(association: NumberFlowProperties) -> str:
    return (
        f"Connect lists phone number {association.phone_number.given} as CLAIMED but answers "
        "AssociatePhoneNumberContactFlow with ResourceNotFoundException: it does not find the instance or the flow. "
        f"Check that ContactFlowId {association.flow.given} is a flow of instance {association.instance.given}, and "
        "that the number is claimed to that instance or to one of its traffic distribution groups."
    )


def _not_found(association: NumberFlowProperties, status: str | None, waited: float) -> str:
    number = association.phone_number.given
    seen = f"is still {status}" if status else f"is not found in {association.instance.region}"
    advice = (
        "If the number was claimed to a traffic distribution group in the group's other region, give "
        "PhoneNumberId as the number's ARN: Connect finds it from this region only by its ARN. "
        if not association.phone_number.is_arn
        else ""
    )
    return (
        f"Phone number {number} {seen} after {waited / 60:.0f} min, so its flow could not be set. {advice}Check "
        "PhoneNumberId, then retry the stack operation; to wait longer for a claim, raise the resource's "
        "ServiceTimeout (at most 3600)."
    )


def delete(request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result:
    physical_id = request.physical_resource_id or ""
    try:
        association = parse_number_flow_properties(request.properties, request.region)
    except ProviderError:
        return Done(physical_id)  # properties that never parsed made nothing
    if association.physical_id != physical_id:
        return Done(physical_id)  # crhelper's invented id after a Create that failed: nothing to undo
    # A number released already, or without a flow, is answered ResourceNotFoundException: nothing to undo.
    connect.disassociate_number_flow(clients(association.instance.region), association, budget)
    return Done(physical_id)


def abandon(state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
    """Nothing to undo: a request is handed over only while the association is refused."""
    return ""


def _done(association: NumberFlowProperties) -> Done:
    return Done(
        association.physical_id,
        {"PhoneNumberId": association.phone_number.phone_number_id, "ContactFlowId": association.flow.given},
    )
