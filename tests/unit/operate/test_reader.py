"""operate.reader: what the status command reads and where, with Connect in each region played by Stubber."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from operate.reader import FIRST_FINDINGS, RESOURCE_TYPES, BadInput, NothingRead, instance_region, read_status
from operate.snapshot import REACHABLE, UNREACHABLE
from tests.unit.conftest import FakeClock, TwoRegions, outage, throttled
from tests.unit.test_template import STATUS_RESOURCES
from waiting import Budget

EAST, WEST = "us-east-1", "us-west-2"
ACCOUNT = "111122223333"
INSTANCE = f"arn:aws:connect:{EAST}:{ACCOUNT}:instance/11111111-2222-3333-4444-555555555555"
DEFAULT = f"arn:aws:connect:{EAST}:{ACCOUNT}:traffic-distribution-group/dddddddd-0000-0000-0000-000000000000"
SALES = f"arn:aws:connect:{EAST}:{ACCOUNT}:traffic-distribution-group/aaaaaaaa-0000-0000-0000-000000000000"


def instance_answer(status: str = "INSTANCE_REPLICATION_COMPLETE") -> dict[str, Any]:
    return {
        "Instance": {"Id": INSTANCE.rsplit("/", 1)[1], "Arn": INSTANCE},
        "ReplicationConfiguration": {
            "ReplicationStatusSummaryList": [{"Region": WEST, "ReplicationStatus": status}],
            "SourceRegion": EAST,
            "GlobalSignInEndpoint": "https://acme.global.my.connect.aws",
        },
    }


def shares(values: dict[str, int]) -> dict[str, Any]:
    return {"Distributions": [{"Region": r, "Percentage": p} for r, p in values.items()]}


def describe_instance(stub: Stubber) -> None:
    """DescribeInstance, answered in the stub's region, where the instance is named by that region's ARN."""
    region_arn = INSTANCE.replace(EAST, stub.client.meta.region_name)
    stub.add_response("describe_instance", instance_answer(), {"InstanceId": region_arn})


def groups(stub: Stubber) -> None:
    summaries = [
        {"Id": "a", "Arn": SALES, "Name": "sales", "Status": "ACTIVE", "IsDefault": False},
        {"Id": "d", "Arn": DEFAULT, "Name": "acme-default", "Status": "ACTIVE", "IsDefault": True},
    ]
    stub.add_response(
        "list_traffic_distribution_groups",
        {"TrafficDistributionGroupSummaryList": summaries},
        {"InstanceId": INSTANCE, "MaxResults": 10},
    )


def group_reads(stub: Stubber, arn: str, telephony: dict[str, int], *, users: int, numbers: int, **extra: Any) -> None:
    stub.add_response(
        "get_traffic_distribution",
        {"Arn": arn, "TelephonyConfig": shares(telephony), "AgentConfig": shares(telephony), **extra},
        {"Id": arn},
    )
    stub.add_response(
        "list_traffic_distribution_group_users",
        {"TrafficDistributionGroupUserSummaryList": [{"UserId": f"u{n}"} for n in range(users)]},
        {"TrafficDistributionGroupId": arn, "MaxResults": 100},
    )
    stub.add_response(
        "list_phone_numbers_v2",
        {"ListPhoneNumbersSummaryList": [{"PhoneNumberId": f"n{n}"} for n in range(numbers)]},
        {"TargetArn": arn, "MaxResults": 1000},
    )


def default_reads(stub: Stubber, telephony: dict[str, int] | None = None) -> None:
    sign_in = {"Distributions": [{"Region": EAST, "Enabled": True}, {"Region": WEST, "Enabled": False}]}
    group_reads(stub, DEFAULT, telephony or {EAST: 100, WEST: 0}, users=0, numbers=0, SignInConfig=sign_in)


def sales_reads(stub: Stubber) -> None:
    group_reads(stub, SALES, {EAST: 90, WEST: 10}, users=3, numbers=1)


def in_region(stub: Stubber) -> str:
    """The instance's ARN in the stub's region, as the instance reads name it there."""
    return INSTANCE.replace(EAST, stub.client.meta.region_name)


def the_rest(stub: Stubber, findings: dict[str, dict[str, Any]] | None = None) -> None:
    stub.add_client_error(
        "get_cross_region_routing",
        "InvalidRequestException",
        "not global routing",
        400,
        expected_params={"InstanceId": in_region(stub)},
    )
    for kind in RESOURCE_TYPES:
        page = (findings or {}).get(kind) or {
            "ReplicationFindingsList": [],
            "ResourceReplicationStatuses": [{"Region": WEST, "Status": "ENABLED"}],
        }
        stub.add_response(
            "list_replication_findings",
            page,
            {"InstanceId": in_region(stub), "ResourceType": kind, "MaxResults": FIRST_FINDINGS},
        )


def everything(stub: Stubber, **kwargs: Any) -> None:
    """Every read after the instance, in order, in one region."""
    groups(stub)
    default_reads(stub)
    sales_reads(stub)
    the_rest(stub, **kwargs)


class TestAHealthyInstance:
    def test_is_read_in_its_region_with_one_call_to_the_other_to_know_it_answers(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        describe_instance(regions.stubs[EAST])
        describe_instance(regions.stubs[WEST])
        everything(regions.stubs[EAST])
        told: list[str] = []

        snapshot = read_status(regions, INSTANCE, budget, progress=told.append)

        assert regions.asked.count(WEST) == 1
        assert snapshot.regions == {EAST: REACHABLE, WEST: REACHABLE}
        assert snapshot.instance.source_region == EAST and snapshot.instance.replica_region == WEST
        assert snapshot.instance.replication == {WEST: "INSTANCE_REPLICATION_COMPLETE"}
        assert snapshot.instance.global_sign_in_endpoint == "https://acme.global.my.connect.aws"
        default, sales = snapshot.groups
        assert (default.arn, default.is_default, default.sign_in) == (DEFAULT, True, {EAST: True, WEST: False})
        assert (sales.name, sales.telephony, sales.agents, sales.sign_in) == (
            "sales",
            {EAST: 90, WEST: 10},
            {EAST: 90, WEST: 10},
            None,
        )
        assert (sales.users, sales.numbers, sales.home_region, sales.status) == (3, 1, EAST, "ACTIVE")
        assert snapshot.isolated_regions is None
        assert [kind.resource_type for kind in snapshot.replication] == list(RESOURCE_TYPES)
        assert told[:3] == [
            "instance, in us-east-1",
            "whether Connect answers in us-west-2",
            "traffic distribution groups",
        ]
        assert "group 2 of 2: sales" in told and told[-1] == "replication findings 27 of 27: WORKSPACE"

    def test_replication_findings_and_isolated_regions_are_kept(self, regions: TwoRegions, budget: Budget) -> None:
        describe_instance(regions.stubs[EAST])
        describe_instance(regions.stubs[WEST])
        groups(regions.stubs[EAST])
        default_reads(regions.stubs[EAST])
        sales_reads(regions.stubs[EAST])
        regions.stubs[EAST].add_response(
            "get_cross_region_routing", {"IsolatedRegions": [WEST]}, {"InstanceId": INSTANCE}
        )
        queue = {
            "ReplicationFindingsList": [
                {"Arn": "arn:q", "Id": "q", "ResourceType": "QUEUE", "Region": WEST, "Name": "billing", "Message": "m"}
            ],
            "ApproximateDriftedResourceCounts": [{"Region": WEST, "Count": 4, "Timestamp": 1_700_000_000}],
            "ResourceReplicationStatuses": [{"Region": WEST, "Status": "ENABLED"}],
            "NextToken": "more",
        }
        for kind in RESOURCE_TYPES:
            page = queue if kind == "QUEUE" else {"ReplicationFindingsList": []}
            regions.stubs[EAST].add_response(
                "list_replication_findings",
                page,
                {"InstanceId": INSTANCE, "ResourceType": kind, "MaxResults": FIRST_FINDINGS},
            )

        snapshot = read_status(regions, INSTANCE, budget)

        assert snapshot.isolated_regions == [WEST]
        (queues,) = [kind for kind in snapshot.replication if kind.resource_type == "QUEUE"]
        assert (queues.drifted, queues.statuses, queues.more) == ({WEST: 4}, {WEST: "ENABLED"}, True)
        assert [(f.arn, f.name, f.region, f.message) for f in queues.findings] == [("arn:q", "billing", WEST, "m")]

    def test_last_failover_time_is_kept_as_iso_8601(self, regions: TwoRegions, budget: Budget) -> None:
        describe_instance(regions.stubs[EAST])
        describe_instance(regions.stubs[WEST])
        groups(regions.stubs[EAST])
        default_reads(regions.stubs[EAST])
        group_reads(
            regions.stubs[EAST],
            SALES,
            {EAST: 100, WEST: 0},
            users=1,
            numbers=0,
            LastFailoverTime=datetime(2025, 12, 6, 20, tzinfo=UTC),
        )
        the_rest(regions.stubs[EAST])

        _, sales = read_status(regions, INSTANCE, budget).groups

        assert sales.last_failover_time == "2025-12-06T20:00:00+00:00"


class TestDuringAnOutage:
    def test_a_home_region_that_does_not_answer_is_unreachable_and_the_rest_is_read_in_the_other(
        self, regions: TwoRegions, budget: Budget, clock: FakeClock
    ) -> None:
        outage(regions.stubs[EAST], "describe_instance", 3)
        describe_instance(regions.stubs[WEST])
        everything(regions.stubs[WEST])

        snapshot = read_status(regions, INSTANCE, budget)

        assert snapshot.regions == {EAST: UNREACHABLE, WEST: REACHABLE}
        assert regions.asked.count(EAST) == 1  # the first call gave up after 3 tries; none after it
        assert clock.sleeps == [1.0, 2.0]  # the backoff between the 3 tries
        assert [group.arn for group in snapshot.groups] == [DEFAULT, SALES]

    def test_region_given_first_is_read_first(self, regions: TwoRegions, budget: Budget) -> None:
        describe_instance(regions.stubs[WEST])
        describe_instance(regions.stubs[EAST])
        everything(regions.stubs[WEST])

        snapshot = read_status(regions, INSTANCE, budget, first_region=WEST)

        assert regions.asked.count(EAST) == 1
        assert snapshot.regions == {WEST: REACHABLE, EAST: REACHABLE}

    def test_an_other_region_that_does_not_answer_is_unreachable_and_not_asked_again(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        describe_instance(regions.stubs[EAST])
        outage(regions.stubs[WEST], "describe_instance", 3)
        everything(regions.stubs[EAST])

        snapshot = read_status(regions, INSTANCE, budget)

        assert snapshot.regions == {EAST: REACHABLE, WEST: UNREACHABLE}
        assert regions.asked.count(WEST) == 1

    def test_a_region_that_stops_answering_midway_is_left_for_the_other(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        describe_instance(regions.stubs[EAST])
        describe_instance(regions.stubs[WEST])
        groups(regions.stubs[EAST])
        outage(regions.stubs[EAST], "get_traffic_distribution", 3)
        default_reads(regions.stubs[WEST])
        sales_reads(regions.stubs[WEST])
        the_rest(regions.stubs[WEST])

        snapshot = read_status(regions, INSTANCE, budget)

        assert snapshot.regions == {EAST: UNREACHABLE, WEST: REACHABLE}
        assert len(snapshot.groups) == 2

    def test_no_region_answering_is_nothing_read(self, regions: TwoRegions, budget: Budget) -> None:
        outage(regions.stubs[EAST], "describe_instance", 3)
        outage(regions.stubs[WEST], "describe_instance", 8)

        with pytest.raises(NothingRead) as failure:
            read_status(regions, INSTANCE, budget)

        assert str(failure.value).startswith("Connect did not answer in us-east-1, us-west-2.")


class TestServingRegion:
    def test_after_the_default_group_the_region_that_takes_its_calls_is_read_first(
        self, regions: TwoRegions, budget: Budget
    ) -> None:
        describe_instance(regions.stubs[EAST])
        describe_instance(regions.stubs[WEST])
        groups(regions.stubs[EAST])
        default_reads(regions.stubs[EAST], {EAST: 0, WEST: 100})
        sales_reads(regions.stubs[WEST])
        the_rest(regions.stubs[WEST])

        snapshot = read_status(regions, INSTANCE, budget)

        assert snapshot.regions == {WEST: REACHABLE, EAST: REACHABLE}


class TestThrottling:
    def test_throttling_waits_and_never_fails_the_read(self, regions: TwoRegions, budget: Budget) -> None:
        throttled(regions.stubs[EAST], "describe_instance")
        throttled(regions.stubs[EAST], "describe_instance")
        describe_instance(regions.stubs[EAST])
        describe_instance(regions.stubs[WEST])
        groups(regions.stubs[EAST])
        throttled(regions.stubs[EAST], "get_traffic_distribution")
        everything_after_groups = regions.stubs[EAST]
        default_reads(everything_after_groups)
        sales_reads(everything_after_groups)
        the_rest(everything_after_groups)

        snapshot = read_status(regions, INSTANCE, budget)

        assert budget.throttles == 3
        assert snapshot.regions == {EAST: REACHABLE, WEST: REACHABLE}


class TestInput:
    @pytest.mark.parametrize(
        "arn",
        [
            "11111111-2222-3333-4444-555555555555",
            "arn:aws:connect:us-east-1:111122223333:traffic-distribution-group/x",
            "arn:aws:s3:::bucket",
            "arn:aws:connect:us-east-1:111122223333:instance/x/agent/y",
            "arn:aws:connect::111122223333:instance/x",
        ],
    )
    def test_anything_but_an_instance_arn_is_bad_input(self, arn: str) -> None:
        with pytest.raises(BadInput, match="is not an instance ARN"):
            instance_region(arn)

    def test_an_instance_connect_does_not_know_is_bad_input(self, regions: TwoRegions, budget: Budget) -> None:
        regions.stubs[EAST].add_client_error("describe_instance", "ResourceNotFoundException", "not found", 404)

        with pytest.raises(BadInput, match="Connect does not know the instance"):
            read_status(regions, INSTANCE, budget)


def test_every_call_of_a_run_is_one_the_status_policy_grants(regions: TwoRegions, budget: Budget) -> None:
    made: set[str] = set()
    for client in regions.clients.values():
        client.meta.events.register(
            "before-parameter-build.connect", lambda model, **_: made.add(f"connect:{model.name}")
        )
    describe_instance(regions.stubs[EAST])
    describe_instance(regions.stubs[WEST])
    everything(regions.stubs[EAST])

    read_status(regions, INSTANCE, budget)

    assert made == set(STATUS_RESOURCES)


class TestTheReplicasArn:
    def test_names_the_same_instance_whose_source_it_reads(self, regions: TwoRegions, budget: Budget) -> None:
        describe_instance(regions.stubs[WEST])
        describe_instance(regions.stubs[EAST])
        groups(regions.stubs[WEST])
        default_reads(regions.stubs[WEST])  # which serves from us-east-1: the rest is read there
        sales_reads(regions.stubs[EAST])
        the_rest(regions.stubs[EAST])

        snapshot = read_status(regions, INSTANCE.replace(EAST, WEST), budget)

        assert snapshot.instance.arn == INSTANCE  # the source's ARN, which every other read was given
        assert snapshot.regions == {EAST: REACHABLE, WEST: REACHABLE}


def test_a_region_outside_the_instances_pair_is_bad_input(regions: TwoRegions, budget: Budget) -> None:
    with pytest.raises(BadInput, match="REGION eu-west-2 is not a region of the instance: give us-east-1 or us-west-2"):
        read_status(regions, INSTANCE, budget, first_region="eu-west-2")
    assert regions.asked == []


def test_an_instance_not_replicated_is_read_without_the_global_resiliency_reads(
    regions: TwoRegions, budget: Budget
) -> None:
    alone = {"Instance": {"Id": INSTANCE.rsplit("/", 1)[1], "Arn": INSTANCE}}
    regions.stubs[EAST].add_response("describe_instance", alone, {"InstanceId": INSTANCE})  # east: the given ARN
    regions.stubs[EAST].add_response(
        "list_traffic_distribution_groups",
        {"TrafficDistributionGroupSummaryList": []},
        {"InstanceId": INSTANCE, "MaxResults": 10},
    )

    snapshot = read_status(regions, INSTANCE, budget)

    assert (snapshot.regions, snapshot.instance.replica_region, snapshot.instance.replication) == (
        {EAST: REACHABLE},
        "",
        {},
    )
    assert (snapshot.groups, snapshot.replication, snapshot.isolated_regions) == ([], [], None)
    assert WEST not in regions.asked
