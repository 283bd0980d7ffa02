"""The one place that talks to Amazon Connect.

Every call goes through ``_call``, which retries transient errors with backoff inside the invocation's
budget and turns every other error into a ProviderError whose reason says what to do. botocore's own
retries are off, so that one policy, aware of the deadline, decides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

import regions
from distribution import Distribution
from errors import ProviderError, error_code, http_status
from properties import GroupProperties, GroupUserProperties, NumberFlowProperties, ReplicaProperties
from refs import GroupRef, InstanceRef, PhoneNumberRef, UserRef
from waiting import Budget, NoTimeToRetry, OutOfTime, retry

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient
    from mypy_boto3_connect.type_defs import (
        ListReplicationFindingsResponseTypeDef,
        TrafficDistributionGroupSummaryTypeDef,
        TrafficDistributionGroupTypeDef,
    )
else:
    ConnectClient = Any
    TrafficDistributionGroupTypeDef = TrafficDistributionGroupSummaryTypeDef = dict
    ListReplicationFindingsResponseTypeDef = dict

T = TypeVar("T")

THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})
SERVER_CODES = frozenset({"InternalServiceException", "ServiceUnavailableException", "ServiceUnavailable"})
# Server errors and lost connections: this many tries, then the region counts as unavailable.
MAX_ATTEMPTS = 8
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 8.0

CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1},  # _call retries, within the invocation's deadline
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="connect-tdg-provider",
)


# Gives the Connect client for a region; each resource type says which region gets which call.
ConnectClients = Callable[[str], ConnectClient]


def clients_by_region(factory: ConnectClients | None = None) -> ConnectClients:
    """Connect clients by region, each made once per Lambda container and reused across invocations."""
    return functools.cache(factory or _new_client)


def _new_client(region: str) -> ConnectClient:
    return boto3.client("connect", region_name=region, config=CLIENT_CONFIG)


@dataclass(frozen=True)
class Group:
    """What DescribeTrafficDistributionGroup says of a group."""

    id: str
    arn: str
    name: str
    description: str | None
    instance_arn: str
    status: str
    is_default: bool
    tags: dict[str, str]

    @classmethod
    def from_api(cls, raw: TrafficDistributionGroupTypeDef) -> Group:
        return cls(
            id=raw["Id"],
            arn=raw["Arn"],
            name=raw["Name"],
            description=raw.get("Description"),
            instance_arn=raw["InstanceArn"],
            status=raw["Status"],
            is_default=bool(raw.get("IsDefault", False)),
            tags=dict(raw.get("Tags", {})),
        )

    def attributes(self) -> dict[str, str]:
        """The values of ``!GetAtt``; CloudFormation wants strings."""
        return {
            "Id": self.id,
            "Arn": self.arn,
            "InstanceArn": self.instance_arn,
            "Status": self.status,
            "IsDefault": "true" if self.is_default else "false",
        }


# Reads try the serving region this many times before they turn to the other region; tags, which only
# the home region takes, fail this soon when it is down, so that the Reason comes before traffic moves.
READ_ATTEMPTS = 3


class Read(NamedTuple, Generic[T]):
    """What a read returned, and the region that answered."""

    value: T
    region: str


def read_first_answering(
    clients: ConnectClients, regions: list[str], read: Callable[[ConnectClient, int], T]
) -> Read[T]:
    """Read in the first region; turn to the next only when Connect there is unavailable (5xx or no
    connection), never on an answer. ``read`` gets the client and how many attempts it may make."""
    for region in regions[:-1]:
        try:
            return Read(read(clients(region), READ_ATTEMPTS), region)
        except Unavailable:
            continue
    return Read(read(clients(regions[-1]), MAX_ATTEMPTS), regions[-1])


def describe_group_in(
    clients: ConnectClients, regions: list[str], group: GroupRef, budget: Budget
) -> Read[Group | None]:
    """``describe_group`` in the first of ``regions`` that answers."""
    return read_first_answering(
        clients, regions, lambda client, tries: describe_group(client, group, budget, attempts=tries)
    )


def distribution_in(
    clients: ConnectClients, regions: list[str], group: GroupRef, budget: Budget
) -> Read[Distribution | None]:
    """``get_distribution`` in the first of ``regions`` that answers."""
    return read_first_answering(
        clients, regions, lambda client, tries: get_distribution(client, group, budget, attempts=tries)
    )


def create_group(client: ConnectClient, props: GroupProperties, client_token: str, budget: Budget) -> str:
    """Create the group and return its ARN. A repeated ``client_token`` gives back the same group.

    Connect creates groups only in the instance's home region: ``client`` must be that region's.
    """
    request: dict[str, Any] = {
        "Name": props.name,
        "InstanceId": props.instance.given,
        "ClientToken": client_token,
    }
    if props.description is not None:
        request["Description"] = props.description
    if props.tags:
        request["Tags"] = props.tags
    response = _call(
        lambda: client.create_traffic_distribution_group(**request),
        budget,
        extra_transient={"ResourceNotReadyException"},
        region=client.meta.region_name,
    )
    return response["Arn"]


def describe_group(client: ConnectClient, group: GroupRef, budget: Budget, *, attempts: int = 0) -> Group | None:
    """The group as Connect sees it now, or None when Connect does not know it (yet, or any more)."""
    response = _lookup(
        client,
        lambda: client.describe_traffic_distribution_group(TrafficDistributionGroupId=group.value),
        budget,
        attempts,
    )
    return None if response is None else Group.from_api(response["TrafficDistributionGroup"])


def delete_group(client: ConnectClient, group: GroupRef, budget: Budget) -> bool:
    """Ask Connect to delete the group; False when it was already gone. Only the home region deletes."""
    response = _call_unless(
        lambda: client.delete_traffic_distribution_group(TrafficDistributionGroupId=group.value),
        budget,
        missing_ok=True,
        region=client.meta.region_name,
    )
    return response is not None


def tag_group(client: ConnectClient, arn: str, tags: Mapping[str, str], budget: Budget, *, attempts: int = 0) -> None:
    _call(
        lambda: client.tag_resource(resourceArn=arn, tags=dict(tags)),
        budget,
        attempts=attempts,
        region=client.meta.region_name,
    )


def untag_group(client: ConnectClient, arn: str, keys: list[str], budget: Budget, *, attempts: int = 0) -> None:
    _call(
        lambda: client.untag_resource(resourceArn=arn, tagKeys=keys),
        budget,
        attempts=attempts,
        region=client.meta.region_name,
    )


def get_distribution(
    client: ConnectClient, group: GroupRef, budget: Budget, *, attempts: int = 0
) -> Distribution | None:
    """The distribution Connect reports now, or None when Connect does not know the group (yet) or will not
    answer because the group is not ACTIVE. The admin guide allows Get only while the group is ACTIVE and names
    no error for it: ResourceNotFoundException and InvalidRequestException ("... ACTIVE") both mean "look again"."""
    response = _call_unless(
        lambda: client.get_traffic_distribution(Id=group.value),
        budget,
        missing_ok=True,
        not_active_ok=True,
        attempts=attempts,
        region=client.meta.region_name,
    )
    return None if response is None else Distribution.from_api(response)


def update_distribution(client: ConnectClient, group: GroupRef, distribution: Distribution, budget: Budget) -> bool:
    """Send the distribution; False when Connect cannot take it yet, so the caller waits and tries again.

    Connect accepts an update only while the group is ACTIVE and answers InvalidRequestException ("status
    ... must be ACTIVE") otherwise; right after Create it may not know the group yet. No source says
    that ResourceConflictException is passing, so it fails like any other rejection.
    """
    response = _call_unless(
        lambda: client.update_traffic_distribution(Id=group.value, **distribution.request()),
        budget,
        missing_ok=True,
        not_active_ok=True,
        region=client.meta.region_name,
    )
    return response is not None


@dataclass(frozen=True)
class Instance:
    """What DescribeInstance says of an instance, as seen in the region it was called in."""

    id: str
    arn: str
    alias: str
    replication: dict[str, tuple[str, str]]  # replica region -> (ReplicationStatus, ReplicationStatusReason)
    global_sign_in_endpoint: str
    source_region: str = ""  # ReplicationConfiguration's SourceRegion; empty when the instance is not replicated

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> Instance:
        config = response.get("ReplicationConfiguration") or {}
        return cls(
            id=response["Instance"]["Id"],
            arn=response["Instance"]["Arn"],
            alias=response["Instance"].get("InstanceAlias", ""),
            replication={
                item["Region"]: (item.get("ReplicationStatus", ""), item.get("ReplicationStatusReason", ""))
                for item in config.get("ReplicationStatusSummaryList", [])
            },
            global_sign_in_endpoint=config.get("GlobalSignInEndpoint", ""),
            source_region=config.get("SourceRegion", ""),
        )


def replicate_instance(client: ConnectClient, props: ReplicaProperties, client_token: str, budget: Budget) -> str:
    """Ask Connect to replicate the instance (``client`` in its home region); returns the replica's ARN."""
    response = _call(
        lambda: client.replicate_instance(
            InstanceId=props.instance.given,
            ReplicaRegion=props.replica_region,
            ReplicaAlias=props.alias,
            ClientToken=client_token,
        ),
        budget,
        extra_transient={"ResourceNotReadyException"},
        region=client.meta.region_name,
    )
    return response["Arn"]


def describe_instance(client: ConnectClient, instance: str, budget: Budget, *, attempts: int = 0) -> Instance | None:
    """The instance as Connect sees it in ``client``'s region, or None when it does not know it there."""
    response = _lookup(client, lambda: client.describe_instance(InstanceId=instance), budget, attempts)
    return None if response is None else Instance.from_api(response)


def delete_replica(
    client: ConnectClient, replica_arn: str, *, source_region: str, client_token: str, budget: Budget
) -> bool:
    """Delete a replica; False when it was already gone.

    A replica has the same instance id as its source, so DeleteInstance sent to the source region would
    delete the production instance. It goes only to the region in the replica's ARN, with the ARN, and
    never to ``source_region``: this function is the only place that sends DeleteInstance.
    """
    region = replica_arn.split(":")[3] if replica_arn.startswith("arn:") else ""
    if not region or region != client.meta.region_name or region == source_region:
        raise ProviderError(
            f"Refused to send DeleteInstance for {replica_arn!r} to {client.meta.region_name}: a replica is "
            f"deleted only with its ARN, in its own region, never in the source region {source_region}. "
            "Nothing was deleted. Report this with the function's logs.",
            code="Bug",
        )
    response = _call_unless(
        lambda: client.delete_instance(InstanceId=replica_arn, ClientToken=client_token),
        budget,
        missing_ok=True,
        region=client.meta.region_name,
    )
    return response is not None


def default_group_arn(client: ConnectClient, instance: str, budget: Budget) -> str | None:
    """The ARN of the group ReplicateInstance made for the instance, once Connect lists it."""
    token: str | None = None
    while True:
        page = _call(
            partial(client.list_traffic_distribution_groups, InstanceId=instance, MaxResults=10, **_next(token)),
            budget,
            region=client.meta.region_name,
        )
        for summary in page.get("TrafficDistributionGroupSummaryList", []):
            if summary.get("IsDefault"):
                return summary["Arn"]
        token = page.get("NextToken")
        if not token:
            return None


def associate_user(client: ConnectClient, user: GroupUserProperties, budget: Budget) -> bool:
    """Associate the agent with the group; False when Connect says it cannot (already associated, or the
    group not visible yet): the caller looks at the group's users to tell which."""
    return _change_user(client.associate_traffic_distribution_group_user, client, user, budget)


def disassociate_user(client: ConnectClient, user: GroupUserProperties, budget: Budget) -> bool:
    """Remove the agent from the group; False when Connect says it is not there (or the group is gone)."""
    return _change_user(client.disassociate_traffic_distribution_group_user, client, user, budget)


def _change_user(
    operation: Callable[..., Any], client: ConnectClient, user: GroupUserProperties, budget: Budget
) -> bool:
    response = _call_unless(
        partial(
            operation,
            TrafficDistributionGroupId=user.group.value,
            UserId=user.user_id,
            InstanceId=user.instance.given,
        ),
        budget,
        missing_ok=True,
        conflict_ok=True,
        region=client.meta.region_name,
    )
    return response is not None


def group_users(client: ConnectClient, group: GroupRef, budget: Budget, *, attempts: int = 0) -> set[str] | None:
    """The ids of the users associated with the group (listed by id or by ARN), or None when Connect does not
    know the group."""
    users: set[str] = set()
    token: str | None = None
    while True:
        page = _call_unless(
            partial(
                client.list_traffic_distribution_group_users,
                TrafficDistributionGroupId=group.value,
                MaxResults=100,
                **_next(token),
            ),
            budget,
            missing_ok=True,
            attempts=attempts,
            region=client.meta.region_name,
        )
        if page is None:
            return None
        users |= {_user_id(item["UserId"]) for item in page.get("TrafficDistributionGroupUserSummaryList", [])}
        token = page.get("NextToken")
        if not token:
            return users


def _user_id(listed: str) -> str:
    """A listed user's id: the model documents the summary's UserId as "ID or ARN"."""
    user = UserRef.parse(listed)
    return user.user_id if user else listed


def associate_number_flow(client: ConnectClient, association: NumberFlowProperties, budget: Budget) -> bool:
    """Set the number's inbound flow, replacing any flow it had; False when Connect does not find the number (not
    visible yet, or named by its bare id from its group's other region), the instance or the flow."""
    response = _call_unless(
        lambda: client.associate_phone_number_contact_flow(
            PhoneNumberId=association.phone_number.given,
            InstanceId=association.instance.given,
            ContactFlowId=association.flow.given,
        ),
        budget,
        missing_ok=True,
        region=client.meta.region_name,
    )
    return response is not None


def disassociate_number_flow(client: ConnectClient, association: NumberFlowProperties, budget: Budget) -> bool:
    """Remove the number's inbound flow; False when Connect does not find the number or its flow (gone already)."""
    response = _call_unless(
        lambda: client.disassociate_phone_number_contact_flow(
            PhoneNumberId=association.phone_number.given, InstanceId=association.instance.given
        ),
        budget,
        missing_ok=True,
        region=client.meta.region_name,
    )
    return response is not None


def number_status(client: ConnectClient, number: PhoneNumberRef, budget: Budget) -> str | None:
    """The number's status (CLAIMED, IN_PROGRESS or FAILED) as ``client``'s region sees it; None when it does not
    find the number there."""
    response = _call_unless(
        lambda: client.describe_phone_number(PhoneNumberId=number.given),
        budget,
        missing_ok=True,
        region=client.meta.region_name,
    )
    if response is None:
        return None
    return str(response["ClaimedPhoneNumberSummary"].get("PhoneNumberStatus", {}).get("Status", ""))


def routing_regions(instance: InstanceRef) -> list[str]:
    """Where to call for an instance's cross-region routing: the region the template names first, then the other
    region of the instance, for when the first is down."""
    other = regions.counterpart(instance.region)
    return [instance.region] if other is None else [instance.region, other]


def _instance_in(instance: InstanceRef, region: str) -> str:
    """The instance as ``region`` knows it: as the template gave it there, by its id (which the replica shares)
    elsewhere, since an ARN names one region."""
    return instance.given if region == instance.region else instance.instance_id


def update_cross_region_routing(
    clients: ConnectClients, instance: InstanceRef, isolated: bool, budget: Budget
) -> Read[bool]:
    """Send IsolatedAll in the first of the instance's regions that answers; the value is False when Connect
    cannot take it now (ResourceConflictException), so the caller waits and sends it again."""

    def send(client: ConnectClient, tries: int) -> bool:
        region = client.meta.region_name
        response = _call_unless(
            lambda: client.update_cross_region_routing(InstanceId=_instance_in(instance, region), IsolatedAll=isolated),
            budget,
            conflict_ok=True,
            attempts=tries,
            region=region,
        )
        return response is not None

    return read_first_answering(clients, routing_regions(instance), send)


def isolated_regions(clients: ConnectClients, instance: InstanceRef, budget: Budget) -> Read[list[str]]:
    """The regions GetCrossRegionRouting reports isolated, read in the first of the instance's regions that answers."""
    return read_first_answering(
        clients,
        routing_regions(instance),
        lambda client, tries: _isolated_in(
            client, _instance_in(instance, client.meta.region_name), budget, attempts=tries
        ),
    )


def _isolated_in(client: ConnectClient, instance: str, budget: Budget, *, attempts: int = 0) -> list[str]:
    """GetCrossRegionRouting in ``client``'s region: the regions whose cross-region routing is off."""
    response = _call(
        lambda: client.get_cross_region_routing(InstanceId=instance),
        budget,
        attempts=attempts,
        region=client.meta.region_name,
    )
    return list(response.get("IsolatedRegions", []))


def list_groups(
    client: ConnectClient, instance: str, budget: Budget, *, attempts: int = 0
) -> list[TrafficDistributionGroupSummaryTypeDef]:
    """The summaries of every group of the instance (the default group too), all pages."""
    groups: list[TrafficDistributionGroupSummaryTypeDef] = []
    token: str | None = None
    while True:
        page = _call(
            partial(client.list_traffic_distribution_groups, InstanceId=instance, MaxResults=10, **_next(token)),
            budget,
            attempts=attempts,
            region=client.meta.region_name,
        )
        groups += page.get("TrafficDistributionGroupSummaryList", [])
        token = page.get("NextToken")
        if not token:
            return groups


def count_phone_numbers(client: ConnectClient, target_arn: str, budget: Budget, *, attempts: int = 0) -> int:
    """How many phone numbers are claimed to ``target_arn`` (a group's ARN works in both of its regions)."""
    count = 0
    token: str | None = None
    while True:
        page = _call(
            partial(client.list_phone_numbers_v2, TargetArn=target_arn, MaxResults=1000, NextToken=token)
            if token
            else partial(client.list_phone_numbers_v2, TargetArn=target_arn, MaxResults=1000),
            budget,
            attempts=attempts,
            region=client.meta.region_name,
        )
        count += len(page.get("ListPhoneNumbersSummaryList", []))
        token = page.get("NextToken")
        if not token:
            return count


def replication_findings(
    client: ConnectClient, instance: str, resource_type: str, budget: Budget, *, first: int, attempts: int = 0
) -> ListReplicationFindingsResponseTypeDef:
    """The first page (``first`` findings at most) of ListReplicationFindings for one resource type: the drift
    counts and statuses come whole on every page, so one page tells them."""
    return _call(
        lambda: client.list_replication_findings(InstanceId=instance, ResourceType=resource_type, MaxResults=first),
        budget,
        attempts=attempts,
        region=client.meta.region_name,
    )


def routing_isolation(client: ConnectClient, instance: str, budget: Budget, *, attempts: int = 0) -> list[str] | None:
    """The regions whose cross-region routing is off (GetCrossRegionRouting), or None when the instance has no
    global routing: the API reference says the call is only for instances enabled for it, and Connect's answer
    otherwise is taken to be InvalidRequestException or ResourceNotFoundException (not verified in an account)."""
    try:
        return _isolated_in(client, instance, budget, attempts=attempts)
    except ProviderError as error:
        if error.code in ("InvalidRequestException", "ResourceNotFoundException"):
            return None
        raise


def _next(token: str | None) -> dict[str, str]:
    return {"NextToken": token} if token else {}


class _NotDone(Exception):
    """An answer the caller asked to take as "not done (yet)": not found, not ACTIVE, or a conflict."""


def _lookup(client: ConnectClient, request: Callable[[], T], budget: Budget, attempts: int = 0) -> T | None:
    """A read in ``client``'s region: None when Connect does not know the resource (yet, or any more)."""
    return _call_unless(request, budget, missing_ok=True, attempts=attempts, region=client.meta.region_name)


def _call_unless(request: Callable[[], T], budget: Budget, **options: Any) -> T | None:
    """``_call``, with None for the answers ``options`` name (missing_ok, not_active_ok, conflict_ok):
    the resource is not there (yet), or Connect cannot take the request now; the caller looks again."""
    try:
        return _call(request, budget, **options)
    except _NotDone:
        return None


class Unavailable(ProviderError):
    """Connect in one region kept answering 5xx or could not be reached: that region may be down."""

    def __init__(self, reason: str, *, region: str, code: str) -> None:
        super().__init__(reason, code=code)
        self.region = region


def _call(
    request: Callable[[], T],
    budget: Budget,
    *,
    extra_transient: set[str] | frozenset[str] = frozenset(),
    missing_ok: bool = False,
    not_active_ok: bool = False,
    conflict_ok: bool = False,
    attempts: int = 0,
    region: str = "",
) -> T:
    """Make one Connect call, retrying what passes.

    Throttling is retried for as long as the budget lasts, more slowly each time, and never fails the
    request: when the budget ends, OutOfTime hands the work over to scheduled polling. Server errors and
    lost connections are retried ``attempts`` times (MAX_ATTEMPTS when 0), then raise Unavailable, so a
    caller can turn to the other region. Every other error raises ProviderError with a reason.
    """
    attempts = attempts or MAX_ATTEMPTS
    failures = 0

    def not_done(error: Exception) -> bool:
        code = error_code(error)
        return (
            (missing_ok and code == "ResourceNotFoundException")
            or (not_active_ok and code == "InvalidRequestException" and _says_not_active(error))
            or (conflict_ok and code == "ResourceConflictException")
        )

    def server_side(error: Exception) -> bool:
        if isinstance(error, ConnectionError | HTTPClientError):
            return True
        code = error_code(error)
        return code in SERVER_CODES or code in extra_transient or http_status(error) >= 500

    def retryable(error: Exception) -> bool:
        nonlocal failures
        if not isinstance(error, ClientError | ConnectionError | HTTPClientError) or not_done(error):
            return False
        if error_code(error) in THROTTLING_CODES:
            budget.throttles += 1
            return True
        failures += server_side(error)
        return server_side(error) and failures < attempts

    try:
        return retry(
            request, retryable=retryable, pause=budget.nap, first=FIRST_BACKOFF, cap=MAX_BACKOFF, jitter=budget.jitter
        )
    except NoTimeToRetry as stopped:
        throttled = error_code(stopped.error) in THROTTLING_CODES
        reason = explain(stopped.error, attempts=failures or 1, region=region)
        raise OutOfTime(reason, throttled=throttled) from stopped.error
    except (ClientError, ConnectionError, HTTPClientError) as error:
        if not_done(error):
            raise _NotDone() from error
        code = error_code(error) or ("Unknown" if isinstance(error, ClientError) else "ConnectionError")
        if server_side(error):
            raise Unavailable(explain(error, attempts=failures, region=region), region=region, code=code) from error
        raise ProviderError(explain(error), code=code) from error


def _says_not_active(error: Exception) -> bool:
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", ""))
    return "ACTIVE" in message.upper()


# What to do about an error, by operation and code: the same code means different things for different calls (a
# ResourceConflictException of ReplicateInstance is not a group's name). Sources: the API reference of each
# operation and the admin guide's "Why a ReplicateInstance call fails" (create-replica-connect-instance).
_ADVICE: dict[tuple[str, str], str] = {
    ("CreateTrafficDistributionGroup", "ResourceNotFoundException"): (
        "Check InstanceId. A traffic distribution group must be created in the instance's home region: "
        "give the instance ARN, so that the provider calls Connect in the ARN's region."
    ),
    ("CreateTrafficDistributionGroup", "InvalidRequestException"): (
        "Connect gives this error for two causes it does not tell apart. Either the instance is not replicated "
        "yet (run ReplicateInstance, Connect Global Resiliency, and wait until the replica is ACTIVE), or the "
        "call reached the replica region: groups can only be created in the instance's home region, so give "
        "InstanceId as the ARN of the instance in its home region."
    ),
    ("CreateTrafficDistributionGroup", "ServiceQuotaExceededException"): (
        "The instance has reached its quota of traffic distribution groups. Delete unused groups or request "
        "an increase in Service Quotas."
    ),
    ("CreateTrafficDistributionGroup", "ResourceConflictException"): (
        "Connect requires a unique Name per instance. Choose another Name, or delete the group that holds it."
    ),
    ("CreateTrafficDistributionGroup", "ResourceNotReadyException"): (
        "The instance is not ready yet (its replication may still be running); retry later."
    ),
    ("DeleteTrafficDistributionGroup", "ResourceInUseException"): (
        "Release the phone numbers claimed to the group, or move them to another group, then retry."
    ),
    ("UpdateTrafficDistribution", "InvalidRequestException"): (
        "Check that each config lists exactly the two regions the instance is replicated to, in steps of 10 "
        "that add up to 100, and that SignInConfig is set only on the instance's default group."
    ),
    ("UpdateTrafficDistribution", "ResourceNotFoundException"): (
        "The group no longer exists; it may have been deleted outside CloudFormation. From the region that is not "
        "the group's home, give the group's ARN, not its id."
    ),
    ("ReplicateInstance", "InvalidRequestException"): (
        "Connect refuses to replicate an instance that is already replicated, has no alias, is not ACTIVE, or "
        "does not use SAML, and a replica in the instance's own region. Check the instance in the Connect "
        "console, and that ReplicaRegion is its partner region."
    ),
    ("ReplicateInstance", "ResourceConflictException"): (
        "A resource of the instance has a name that conflicts with one in the replica region. Rename it, then "
        "deploy again."
    ),
    ("ReplicateInstance", "ServiceQuotaExceededException"): (
        "The account has reached its quota of Connect instances in the replica region (replicas count). Delete "
        "an unused instance there or request an increase in Service Quotas."
    ),
    ("ReplicateInstance", "ResourceNotReadyException"): (
        "The instance is not ready to be replicated yet; retry later."
    ),
    ("ReplicateInstance", "ResourceNotFoundException"): (
        "Check InstanceId: give the ARN of the instance in its home region."
    ),
    ("TagResource", "ResourceNotFoundException"): (
        "The group no longer exists; it may have been deleted outside CloudFormation."
    ),
    ("UntagResource", "ResourceNotFoundException"): (
        "The group no longer exists; it may have been deleted outside CloudFormation."
    ),
    ("AssociateTrafficDistributionGroupUser", "InvalidRequestException"): (
        "Check that UserId is a user of the instance in InstanceId, and that the group belongs to that instance."
    ),
    ("AssociatePhoneNumberContactFlow", "InvalidParameterException"): (
        "Check that PhoneNumberId is a number claimed to the instance in InstanceId or to one of its traffic "
        "distribution groups, and that ContactFlowId is a flow of that instance."
    ),
    ("UpdateCrossRegionRouting", "InvalidRequestException"): (
        "Cross-region routing can be changed only on an instance enabled for global routing (Connect Global "
        "Resiliency, a replicated instance). Check the instance, or leave Custom::CrossRegionRouting out for it."
    ),
    ("GetCrossRegionRouting", "InvalidRequestException"): (
        "Cross-region routing exists only on an instance enabled for global routing (Connect Global Resiliency, a "
        "replicated instance). Check the instance, or leave Custom::CrossRegionRouting out for it."
    ),
    ("UpdateCrossRegionRouting", "ResourceNotFoundException"): (
        "Check InstanceId: give the instance's ARN, or its id in the stack's region."
    ),
}
# Codes that mean the same, whatever the operation.
_ANY_OPERATION = "*"
_ADVICE |= {
    (_ANY_OPERATION, "AccessDeniedException"): (
        "The provider's role may not make this call. If the provider stack's ConnectInstanceArns parameter "
        "names instances, add this instance to it, then redeploy the provider."
    ),
    (_ANY_OPERATION, "ThrottlingException"): (
        "Other automation may be using the account's Connect API quota (about 2 requests/s). Retry later."
    ),
    (_ANY_OPERATION, "InternalServiceException"): "Connect had an internal error; retry the stack operation later.",
}
_UNAVAILABLE = (
    "Connect in {region} may be having an outage. If {region} is down and this update moves traffic away "
    "from it, update the stack from a provider in the other region (see the outage runbook, docs/runbook.md)."
)


def explain(error: Exception, attempts: int = 1, region: str = "") -> str:
    """A reason that starts with the failed call and Connect's words, and ends with what to do."""
    where = f" in {region}" if region else ""
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(error, ClientError):
        code = error_code(error) or "Unknown"
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        operation = error.operation_name
        server_side = code in SERVER_CODES or http_status(error) >= 500
        advice = _UNAVAILABLE.format(region=region) if server_side and region else ""
        advice = advice or _ADVICE.get((operation, code)) or _ADVICE.get((_ANY_OPERATION, code), "")
        return f"Connect {operation}{where} failed with {code}{tried}: {message}. {advice}".strip()
    advice = _UNAVAILABLE.format(region=region) if region else "Check the function's network access to Connect."
    return f"Could not reach Connect{where}{tried} ({type(error).__name__}: {error}). {advice}"
