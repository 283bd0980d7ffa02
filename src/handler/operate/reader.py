"""What the status command reads from Connect, and where: the serving region first, the other only when needed.

Every call goes through connect.py (its retries within a Budget: throttling waits, 5xx and lost connections
give up after a few tries). A region that gives up is marked unreachable and is not asked again in the run;
the reads go on in the other region, as the provider's reads do (``connect.read_first_answering``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import connect
import regions as region_pairs
from distribution import Distribution
from errors import ProviderError
from operate.snapshot import (
    REACHABLE,
    UNREACHABLE,
    GroupStatus,
    InstanceStatus,
    Replicated,
    ReplicationFinding,
    Snapshot,
)
from refs import GroupRef, InstanceRef
from waiting import Budget

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient
else:
    ConnectClient = Any

T = TypeVar("T")
Progress = Callable[[str], None]

# ListReplicationFindings takes one ResourceType per call; these are the values its API reference lists as
# supported (botocore's model documents the same list; it has no enum for them).
RESOURCE_TYPES = (
    "AGENT",
    "AGENT_GROUP",
    "AGENT_GROUP_LEVEL",
    "AGENT_STATE",
    "ATTRIBUTE",
    "CONTACT_FLOW",
    "DATA_TABLE",
    "DATA_TABLE_ATTRIBUTE",
    "DATA_TABLE_RECORD",
    "DATA_TABLE_VALUE",
    "FLOW_MODULE",
    "FLOW_MODULE_ALIAS",
    "FLOW_MODULE_VERSION",
    "METRIC",
    "NOTIFICATION",
    "OPERATING_HOURS",
    "PHONE_NUMBER",
    "PROMPT",
    "QUEUE",
    "REPORT",
    "ROUTING_PROFILE",
    "SECURITY_PROFILE",
    "TASK_TEMPLATE",
    "TEST_CASE",
    "TRANSFER_DESTINATION",
    "VIEW",
    "WORKSPACE",
)
FIRST_FINDINGS = 10  # findings read per resource type: the first few are named, the counts come whole


class BadInput(Exception):
    """The command was given something that is not an instance it can read."""


class NothingRead(Exception):
    """No region answered: there is nothing to show."""


def instance_region(arn: str) -> str:
    """The region of an instance ARN (arn:aws:connect:REGION:ACCOUNT:instance/ID); BadInput for anything else."""
    try:
        ref: InstanceRef | None = InstanceRef.parse(arn, default_region="")
    except ProviderError:
        ref = None
    if ref is None or not ref.region:  # a bare id has no region to start from
        raise BadInput(f"{arn!r} is not an instance ARN such as arn:aws:connect:us-east-1:111122223333:instance/ID.")
    return ref.region


def arn_in(arn: str, region: str) -> str:
    """The same instance's ARN in ``region``: a replica has its source's id, in its own region."""
    parts = arn.split(":")
    return ":".join([*parts[:3], region, *parts[4:]])


class Regions:
    """The regions to read in, in order, and those that did not answer: they are not asked again."""

    def __init__(self, clients: connect.ConnectClients, order: list[str]) -> None:
        self.clients = clients
        self.order = order
        self.state: dict[str, str] = {}

    def read(self, call: Callable[[ConnectClient, int], T]) -> T:
        """``call`` in the first region that answers; NothingRead when none does."""
        live = [region for region in self.order if self.state.get(region) != UNREACHABLE]
        if not live:
            raise NothingRead(self.why())
        try:
            answer = connect.read_first_answering(self.clients, live, call)
        except connect.Unavailable as error:
            self.state |= dict.fromkeys(live, UNREACHABLE)
            raise NothingRead(self.why(error.reason)) from error
        self.state |= dict.fromkeys(live[: live.index(answer.region)], UNREACHABLE)
        self.state[answer.region] = REACHABLE
        return answer.value

    def probe(self, region: str, call: Callable[[ConnectClient, int], object]) -> None:
        """Ask ``region`` once (a few tries), only to tell whether it answers."""
        try:
            call(self.clients(region), connect.READ_ATTEMPTS)
        except connect.Unavailable:
            self.state[region] = UNREACHABLE
        else:
            self.state[region] = REACHABLE

    def serve_first(self, region: str) -> None:
        self.order = [region, *(r for r in self.order if r != region)]

    def why(self, last: str = "") -> str:
        down = ", ".join(region for region in self.order if self.state.get(region) == UNREACHABLE)
        return f"Connect did not answer in {down or 'any region'}. {last}".strip()


def read_status(
    clients: connect.ConnectClients,
    instance_arn: str,
    budget: Budget,
    *,
    first_region: str | None = None,
    progress: Progress = lambda text: None,
) -> Snapshot:
    """Read the instance, each of its groups, its replication findings and its cross-region routing.

    ``first_region`` (default: the ARN's region) is read first until the default group's distribution says which
    region serves its calls; then that one is, unless ``first_region`` was given.
    """
    given = instance_region(instance_arn)
    partner = region_pairs.counterpart(given)
    first = first_region or given
    pair = [region for region in (given, partner) if region]
    if first not in pair:
        raise BadInput(f"REGION {first} is not a region of the instance: give {' or '.join(pair)}.")
    where = Regions(clients, [first, *(region for region in pair if region != first)])

    def describe(client: ConnectClient, tries: int) -> connect.Instance | None:
        # Instance reads name it by the ARN of the region called (the replica's in the replica region), as the
        # provider names a replica; ListTrafficDistributionGroups by the source's ARN, as the groups' reads do.
        region_arn = arn_in(instance_arn, client.meta.region_name)
        return connect.describe_instance(client, region_arn, budget, attempts=tries)

    progress(f"instance, in {first}")
    described = where.read(describe)
    if described is None:
        raise BadInput(f"Connect does not know the instance {instance_arn}. Check the ARN, the account and REGION.")
    replica_region = next(iter(described.replication), "")
    home = described.source_region or given
    source_arn = arn_in(instance_arn, home)  # what every other read and every finding names the instance by
    where.order = [first, *sorted({home, replica_region} - {first, ""})]
    for region in where.order:
        if region not in where.state:
            # Whether the other region answers is what an operator in an outage needs first: one call tells it.
            progress(f"whether Connect answers in {region}")
            where.probe(region, describe)
    instance = InstanceStatus(
        arn=source_arn,
        source_region=home,
        replica_region=replica_region,
        replication={region: status for region, (status, _) in described.replication.items()},
        reasons={region: reason for region, (_, reason) in described.replication.items() if reason},
        global_sign_in_endpoint=described.global_sign_in_endpoint,
    )

    progress("traffic distribution groups")
    summaries = where.read(lambda client, tries: connect.list_groups(client, source_arn, budget, attempts=tries))
    summaries.sort(key=lambda summary: (not summary.get("IsDefault"), summary.get("Name", "")))
    groups: list[GroupStatus] = []
    for index, summary in enumerate(summaries, 1):
        progress(f"group {index} of {len(summaries)}: {summary.get('Name', '')}")
        group = _read_group(where, summary, budget)
        if group is None:
            continue
        groups.append(group)
        if group.is_default and first_region is None:
            serving = Distribution(telephony=group.telephony, agent=group.agents).serving_region(home)
            where.serve_first(serving)

    if not replica_region:
        # Both reads are "available only" for Global Resiliency instances (their API reference): nothing to read.
        return _snapshot(instance, where, groups, [], None)
    progress("cross-region routing")
    isolated = where.read(
        lambda client, tries: connect.routing_isolation(
            client, arn_in(source_arn, client.meta.region_name), budget, attempts=tries
        )
    )
    replication: list[Replicated] = []
    for index, resource_type in enumerate(RESOURCE_TYPES, 1):
        progress(f"replication findings {index} of {len(RESOURCE_TYPES)}: {resource_type}")
        page = where.read(
            partial(_replication_findings, instance=source_arn, resource_type=resource_type, budget=budget)
        )
        replication.append(
            Replicated(
                resource_type=resource_type,
                drifted={item["Region"]: item["Count"] for item in page.get("ApproximateDriftedResourceCounts", [])},
                statuses={item["Region"]: item["Status"] for item in page.get("ResourceReplicationStatuses", [])},
                findings=[
                    ReplicationFinding(
                        arn=item["Arn"],
                        name=item.get("Name", ""),
                        region=item.get("Region", ""),
                        message=item.get("Message", ""),
                    )
                    for item in page.get("ReplicationFindingsList", [])
                ],
                more=bool(page.get("NextToken")),
            )
        )
    return _snapshot(instance, where, groups, replication, isolated)


def _snapshot(
    instance: InstanceStatus,
    where: Regions,
    groups: list[GroupStatus],
    replication: list[Replicated],
    isolated: list[str] | None,
) -> Snapshot:
    """The regions source first, then the replica, each as it answered in this run."""
    regions = [region for region in (instance.source_region, instance.replica_region) if region]
    return Snapshot(
        instance=instance,
        regions={region: where.state.get(region, UNREACHABLE) for region in regions},
        groups=groups,
        replication=replication,
        isolated_regions=isolated,
    )


def _replication_findings(
    client: ConnectClient, tries: int, *, instance: str, resource_type: str, budget: Budget
) -> Any:
    region_arn = arn_in(instance, client.meta.region_name)
    return connect.replication_findings(client, region_arn, resource_type, budget, first=FIRST_FINDINGS, attempts=tries)


def _read_group(where: Regions, summary: Any, budget: Budget) -> GroupStatus | None:
    """One group's distribution, agents and numbers; None when Connect no longer knows it (deleted meanwhile)."""
    arn: str = summary["Arn"]
    ref = GroupRef.parse_arn(arn)
    if ref is None:
        raise ProviderError(f"Connect listed a group whose ARN is not one: {arn!r}.", code="Bug")
    distribution = where.read(lambda client, tries: connect.get_distribution(client, ref, budget, attempts=tries))
    users = where.read(lambda client, tries: connect.group_users(client, ref, budget, attempts=tries))
    if distribution is None or users is None:
        return None
    numbers = where.read(lambda client, tries: connect.count_phone_numbers(client, arn, budget, attempts=tries))
    is_default = bool(summary.get("IsDefault"))
    return GroupStatus(
        arn=arn,
        name=summary.get("Name", ""),
        is_default=is_default,
        status=summary.get("Status", ""),
        home_region=ref.region,
        telephony=distribution.telephony,
        agents=distribution.agent,
        sign_in=distribution.sign_in if is_default else None,
        last_failover_time=distribution.last_failover_time or None,
        users=len(users),
        numbers=numbers,
    )
