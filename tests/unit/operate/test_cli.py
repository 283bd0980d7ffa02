"""operate.cli: the status command's output and exit status, with Connect played by Stubber in each region."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber

from operate import cli
from operate.reader import FIRST_FINDINGS, RESOURCE_TYPES
from tests.unit.conftest import FakeClock, TwoRegions, outage
from tests.unit.operate.test_reader import (
    DEFAULT,
    EAST,
    INSTANCE,
    SALES,
    WEST,
    default_reads,
    describe_instance,
    everything,
    groups,
    instance_answer,
    sales_reads,
    the_rest,
)
from waiting import Budget, Pacer


@pytest.fixture
def run(regions: TwoRegions, budget: Budget) -> Callable[..., tuple[int, str, str]]:
    """The command, with the budget's fake clock: it waits without sleeping."""

    def command(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(["status", "--instance", INSTANCE, *args], clients=regions, budget=budget, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    return command


def healthy(regions: TwoRegions) -> None:
    describe_instance(regions.stubs[EAST])
    describe_instance(regions.stubs[WEST])
    everything(regions.stubs[EAST])


def test_json_of_a_healthy_instance_and_exit_0(regions: TwoRegions, run: Callable[..., tuple[int, str, str]]) -> None:
    healthy(regions)

    code, out, err = run("--format", "json")

    document = json.loads(out)
    assert (code, err) == (0, "")
    assert document["instance"] == {
        "arn": INSTANCE,
        "sourceRegion": EAST,
        "replicaRegion": WEST,
        "replication": {WEST: "INSTANCE_REPLICATION_COMPLETE"},
        "globalSignInEndpoint": "https://acme.global.my.connect.aws",
    }
    assert document["regions"] == {EAST: "reachable", WEST: "reachable"}
    default, sales = document["groups"]
    assert default == {
        "arn": DEFAULT,
        "name": "acme-default",
        "isDefault": True,
        "status": "ACTIVE",
        "homeRegion": EAST,
        "telephony": {EAST: 100, WEST: 0},
        "agents": {EAST: 100, WEST: 0},
        "signIn": {EAST: True, WEST: False},
        "lastFailoverTime": None,
        "users": 0,
        "numbers": 0,
    }
    assert (sales["arn"], sales["signIn"], sales["users"], sales["numbers"]) == (SALES, None, 3, 1)
    assert document["findings"] == []
    assert document["crossRegionRouting"] is None
    assert len(document["replicationFindings"]) == 27


def test_a_finding_of_severity_error_exits_1(regions: TwoRegions, run: Callable[..., tuple[int, str, str]]) -> None:
    regions.stubs[EAST].add_response(
        "describe_instance", instance_answer("INSTANCE_REPLICATION_IN_PROGRESS"), {"InstanceId": INSTANCE}
    )
    describe_instance(regions.stubs[WEST])
    everything(regions.stubs[EAST])

    code, out, _ = run("--format", "json")

    assert code == 1
    assert [(f["code"], f["severity"], f["resource"]) for f in json.loads(out)["findings"]] == [
        ("replica-not-ready", "error", INSTANCE)
    ]


def test_a_warning_alone_exits_0(regions: TwoRegions, run: Callable[..., tuple[int, str, str]]) -> None:
    describe_instance(regions.stubs[EAST])
    describe_instance(regions.stubs[WEST])
    summaries = [{"Id": "a", "Arn": SALES, "Name": "sales", "Status": "UPDATE_IN_PROGRESS", "IsDefault": False}]
    regions.stubs[EAST].add_response(
        "list_traffic_distribution_groups",
        {"TrafficDistributionGroupSummaryList": summaries},
        {"InstanceId": INSTANCE, "MaxResults": 10},
    )
    sales_reads(regions.stubs[EAST])
    the_rest(regions.stubs[EAST])

    code, out, _ = run("--format", "json")

    assert code == 0
    assert [f["code"] for f in json.loads(out)["findings"]] == ["group-not-active"]


def test_a_region_down_is_reported_from_the_other_and_exits_1(
    regions: TwoRegions, run: Callable[..., tuple[int, str, str]]
) -> None:
    outage(regions.stubs[EAST], "describe_instance", 3)
    describe_instance(regions.stubs[WEST])
    everything(regions.stubs[WEST])

    code, out, _ = run("--format", "json", "--timeout", "60")

    document = json.loads(out)
    assert code == 1
    assert document["regions"] == {EAST: "unreachable", WEST: "reachable"}
    assert [f["code"] for f in document["findings"]] == ["region-unreachable"]
    assert len(document["groups"]) == 2


def test_nothing_read_exits_2_with_a_message_on_stderr(
    regions: TwoRegions, run: Callable[..., tuple[int, str, str]]
) -> None:
    outage(regions.stubs[EAST], "describe_instance", 3)
    outage(regions.stubs[WEST], "describe_instance", 8)

    code, out, err = run("--timeout", "120")

    assert (code, out) == (2, "")
    assert err.startswith("status: Connect did not answer in us-east-1, us-west-2.")


def test_a_bad_arn_exits_2_without_a_call(regions: TwoRegions) -> None:
    out, err = io.StringIO(), io.StringIO()

    code = cli.main(["status", "--instance", "not-an-arn"], clients=regions, out=out, err=err)

    assert (code, out.getvalue(), regions.asked) == (2, "", [])
    assert "is not an instance ARN" in err.getvalue()


def test_a_refused_call_exits_2_with_connects_reason(
    regions: TwoRegions, run: Callable[..., tuple[int, str, str]]
) -> None:
    regions.stubs[EAST].add_client_error("describe_instance", "AccessDeniedException", "not authorized", 403)

    code, _, err = run()

    assert code == 2
    assert err.startswith("status: Connect DescribeInstance failed with AccessDeniedException: not authorized.")


def test_a_missing_instance_argument_exits_2() -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["status"], out=io.StringIO(), err=io.StringIO())
    assert stopped.value.code == 2


def test_the_terminal_view_fits_100_columns_with_the_findings_last(
    regions: TwoRegions, run: Callable[..., tuple[int, str, str]]
) -> None:
    describe_instance(regions.stubs[EAST])
    describe_instance(regions.stubs[WEST])
    groups(regions.stubs[EAST])
    default_reads(regions.stubs[EAST])
    sales_reads(regions.stubs[EAST])
    regions.stubs[EAST].add_response("get_cross_region_routing", {"IsolatedRegions": [WEST]}, {"InstanceId": INSTANCE})
    queue: dict[str, Any] = {
        "ReplicationFindingsList": [
            {"Arn": "arn:q", "Id": "q", "ResourceType": "QUEUE", "Region": WEST, "Name": "billing", "Message": "Taken"}
        ],
        "ApproximateDriftedResourceCounts": [{"Region": WEST, "Count": 4, "Timestamp": 1_700_000_000}],
    }
    for kind in RESOURCE_TYPES:
        regions.stubs[EAST].add_response(
            "list_replication_findings",
            queue if kind == "QUEUE" else {"ReplicationFindingsList": []},
            {"InstanceId": INSTANCE, "ResourceType": kind, "MaxResults": FIRST_FINDINGS},
        )

    code, out, _ = run()

    lines = out.splitlines()
    assert code == 1
    assert max(len(line) for line in lines) <= 100
    assert "us-east-1 (source)" in out and "us-west-2 (replica)" in out
    assert "INSTANCE_REPLICATION_COMPLETE" in out and "isolated" in out
    assert "acme-default" in out and "(default)" in out and "agents 90 %" in out and "sign-in on" in out
    assert "billing (us-west-2): Taken" in out
    assert out.index("Findings") > out.index("Traffic distribution groups")
    assert "resources-not-replicated" in out.split("Findings")[-1]


def test_a_healthy_view_says_there_is_no_finding(regions: TwoRegions, run: Callable[..., tuple[int, str, str]]) -> None:
    healthy(regions)

    code, out, _ = run()

    assert code == 0
    assert "Findings: none." in out
    assert "no drift and no findings in the 27 resource types read" in out


class TestProgress:
    def test_is_silent_for_the_first_three_seconds_then_tells_every_five(self, clock: FakeClock) -> None:
        err = io.StringIO()
        progress = cli.Progress(err, clock)
        progress("instance")
        progress.request()
        clock.now += 3
        progress("groups")
        clock.now += 1
        progress("group 1 of 2")
        progress.request()
        clock.now += 4
        progress.request()

        assert err.getvalue().splitlines() == [
            "status: reading groups (1 requests, 3 s)",
            "status: reading group 1 of 2 (3 requests, 8 s)",
        ]


def test_the_commands_clients_pace_and_count_every_request(clock: FakeClock) -> None:
    budget = Budget(deadline=clock() + 60, clock=clock, sleep=clock.sleep, jitter=lambda low, high: 0.0)
    pace = Pacer(budget, rate=1.0, burst=1, jitter=cli.JITTER)
    progress = cli.Progress(io.StringIO(), clock)
    client = cli.new_clients(pace, progress)(WEST)
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_response("get_cross_region_routing", {}, {"InstanceId": INSTANCE})
            client.get_cross_region_routing(InstanceId=INSTANCE)

    assert (client.meta.region_name, progress.requests, clock.sleeps) == (WEST, 2, [1.0])
    assert client.meta.config.retries["total_max_attempts"] == 1  # connect._call retries, not botocore


@pytest.mark.parametrize("given", ["0", "-1", "51", "fast"])
def test_a_rate_outside_0_to_50_requests_a_second_exits_2(given: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["status", "--instance", INSTANCE, "--rate", given], out=io.StringIO(), err=io.StringIO())
    assert stopped.value.code == 2


def test_the_rate_defaults_to_the_pace_under_the_quota() -> None:
    assert cli.parse(["status", "--instance", INSTANCE]).rate == 1.9
    assert cli.parse(["status", "--instance", INSTANCE, "--rate", "10"]).rate == 10.0
