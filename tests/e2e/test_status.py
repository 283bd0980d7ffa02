"""The status command (`python -m operate status`, `make status`) as an operator runs it: its own process, real
botocore, the Connect emulator, the account's 2 requests/s quota. Given this state of Connect, then this JSON and
this exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.emulator import Emulator
from tests.e2e.conftest import HOME, REPLICA, ROOT, default_group, split

AGENTS, NUMBERS = 45, 25  # more agents than four pages of ListTrafficDistributionGroupUsers (10 a page)
Run = Callable[..., tuple[int, dict[str, Any], str]]


@pytest.fixture
def connect(emu: Emulator) -> Callable[[str], Any]:
    def client(region: str = HOME) -> Any:
        return boto3.client(
            "connect",
            region_name=region,
            endpoint_url=emu.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


def environment(emu: Emulator) -> dict[str, str]:
    """What an operator's shell has: credentials, and here the emulator as Connect's endpoint."""
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_CONNECT": emu.endpoint_url,
        "PYTHONPATH": str(ROOT / "src" / "handler"),
    }


@pytest.fixture
def status(emu: Emulator) -> Run:
    """``python -m operate status --instance ARN --format json --rate 20 ...``: exit status, the document, stderr.
    20 requests a second, as for an account whose quota was raised, except where a test gives its own rate: the
    emulator has no quota unless a test sets one, and the pace at 1.9/s is the throttling test's and the bench's."""

    def run(instance: str, *args: str) -> tuple[int, dict[str, Any], str]:
        rate = [] if "--rate" in args else ["--rate", "20"]
        done = subprocess.run(
            [sys.executable, "-m", "operate", "status", "--instance", instance, "--format", "json", *rate, *args],
            env=environment(emu),
            capture_output=True,
            text=True,
            timeout=110,
            check=False,
        )
        return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr

    return run


def active_group(emu: Emulator, connect: Callable[[str], Any], instance: str, name: str) -> str:
    arn: str = connect(HOME).create_traffic_distribution_group(Name=name, InstanceId=instance)["Arn"]
    emu.wait_for_status(arn, "ACTIVE")
    return arn


def codes(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(finding["code"], finding["severity"]) for finding in document["findings"]]


def test_a_group_sending_calls_where_it_has_no_agents_and_unreplicated_queues_exit_1(
    emu: Emulator, connect: Callable[[str], Any], status: Run
) -> None:
    instance = emu.add_instance(home_region=HOME, replica_region=REPLICA, global_routing=True)
    sales = active_group(emu, connect, instance, "sales")
    connect(HOME).update_traffic_distribution(
        Id=sales, TelephonyConfig=split(70, 30), AgentConfig={"Distributions": split(100, 0)["Distributions"]}
    )
    emu.wait_for_status(sales, "ACTIVE")
    queue = {"Arn": f"{instance}/queue/q1", "Id": "q1", "Region": REPLICA, "Name": "billing", "Message": "Rename it"}
    emu.set_replication_findings(instance, "QUEUE", [queue], drifted={REPLICA: 2})
    connect(HOME).update_cross_region_routing(InstanceId=instance, IsolatedAll=True)

    code, document, _ = status(instance)

    assert code == 1
    default = default_group(emu)
    assert document["instance"] == {
        "arn": instance,
        "sourceRegion": HOME,
        "replicaRegion": REPLICA,
        "replication": {REPLICA: "INSTANCE_REPLICATION_COMPLETE"},
        "globalSignInEndpoint": document["instance"]["globalSignInEndpoint"],
    }
    assert document["instance"]["globalSignInEndpoint"].startswith("https://")
    assert document["regions"] == {HOME: "reachable", REPLICA: "reachable"}
    first, second = document["groups"]
    assert (first["arn"], first["isDefault"], first["signIn"]) == (default["Arn"], True, {HOME: True, REPLICA: True})
    assert (second["arn"], second["name"], second["isDefault"], second["status"], second["signIn"]) == (
        sales,
        "sales",
        False,
        "ACTIVE",
        None,
    )
    assert (second["telephony"], second["agents"]) == ({HOME: 70, REPLICA: 30}, {HOME: 100, REPLICA: 0})
    assert second["lastFailoverTime"] is not None and first["lastFailoverTime"] is None
    assert document["crossRegionRouting"] == {"isolatedRegions": [HOME, REPLICA]}
    (queues,) = [kind for kind in document["replicationFindings"] if kind["resourceType"] == "QUEUE"]
    assert (queues["drifted"], queues["findings"][0]["name"]) == ({REPLICA: 2}, "billing")
    assert codes(document) == [
        ("resources-not-replicated", "error"),
        ("calls-without-agents", "error"),
        ("sign-in-in-drained-region", "warning"),
    ]
    assert {f["resource"] for f in document["findings"]} == {instance, sales, default["Arn"]}
    assert {call["operation"] for call in emu.calls()} >= {"ListReplicationFindings", "GetCrossRegionRouting"}


def test_make_status_exits_0_without_errors_and_2_when_the_command_fails(emu: Emulator, instance: str) -> None:
    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", "status", *args],
            cwd=ROOT,
            env=environment(emu),
            capture_output=True,
            text=True,
            timeout=110,
            check=False,
        )

    healthy = make(f"INSTANCE={instance}", "FORMAT=json", f"REGION={REPLICA}", "RATE=20")
    bad = make("INSTANCE=not-an-arn")

    assert healthy.returncode == 0, healthy.stderr
    assert [f["code"] for f in json.loads(healthy.stdout)["findings"]] == ["sign-in-in-drained-region"]
    assert bad.returncode == 2
    assert "'not-an-arn' is not an instance ARN" in bad.stderr


def test_with_the_home_region_down_it_reads_the_replica_region_and_exits_1(
    emu: Emulator, instance: str, status: Run
) -> None:
    emu.set_outage(HOME, "503")

    code, document, _ = status(instance)

    assert code == 1
    assert document["regions"] == {HOME: "unreachable", REPLICA: "reachable"}
    assert codes(document)[0] == ("region-unreachable", "error")
    assert document["findings"][0]["resource"] == instance
    assert [group["isDefault"] for group in document["groups"]] == [True]
    home_calls = [call for call in emu.calls() if call["region"] == HOME]
    assert len(home_calls) == 3  # one read, tried 3 times; nothing more was sent to the region that is down
    assert {call["operation"] for call in home_calls} == {"DescribeInstance"}


def test_nothing_answering_exits_2_with_a_message(emu: Emulator, instance: str, status: Run) -> None:
    emu.set_outage(HOME, "503")
    emu.set_outage(REPLICA, "503")

    code, document, err = status(instance, "--timeout", "60")

    assert (code, document) == (2, {})
    assert "Connect did not answer in us-east-1, us-west-2" in err


def test_throttling_under_the_quota_never_fails_the_read(emu: Emulator, instance: str, status: Run) -> None:
    emu.set_throttle(2.0, burst=5)
    emu.inject_fault("GetTrafficDistribution", "throttle", count=2)  # someone else took the quota
    emu.inject_fault("ListReplicationFindings", "throttle", count=2)

    code, document, _ = status(instance, "--rate", "1.9")  # the default pace, under the emulated 2/s quota

    assert code == 0
    assert len(document["groups"]) == 1 and len(document["replicationFindings"]) == 27
    assert emu.throttle_count() >= 4


def test_a_group_with_many_agents_and_numbers_is_counted_across_pages(
    emu: Emulator, connect: Callable[[str], Any], instance: str, status: Run
) -> None:
    support = active_group(emu, connect, instance, "support")
    for _ in range(AGENTS):
        user = emu.add_user(instance)
        connect(HOME).associate_traffic_distribution_group_user(
            TrafficDistributionGroupId=support, UserId=user, InstanceId=instance
        )
    for n in range(NUMBERS):
        emu.claim_phone_number(support, f"+1555020{n:04d}")

    code, document, _ = status(instance)

    (group,) = [group for group in document["groups"] if group["arn"] == support]
    assert (group["users"], group["numbers"]) == (AGENTS, NUMBERS)
    assert code == 0
    assert ("no-agents-in-group", "warning") not in codes(document)
