"""Each finding of the status command, from a snapshot built by hand: given this state, then these findings."""

from __future__ import annotations

from dataclasses import replace

from operate.findings import ERROR, WARNING, Finding, findings, has_errors
from operate.snapshot import (
    REACHABLE,
    UNREACHABLE,
    GroupStatus,
    InstanceStatus,
    Replicated,
    ReplicationFinding,
    Snapshot,
)

INSTANCE = "arn:aws:connect:us-east-1:111122223333:instance/11111111-2222-3333-4444-555555555555"
DEFAULT = "arn:aws:connect:us-east-1:111122223333:traffic-distribution-group/dddddddd-0000-0000-0000-000000000000"
SALES = "arn:aws:connect:us-east-1:111122223333:traffic-distribution-group/aaaaaaaa-0000-0000-0000-000000000000"


def default_group(**changes: object) -> GroupStatus:
    group = GroupStatus(
        arn=DEFAULT,
        name="acme-default",
        is_default=True,
        status="ACTIVE",
        home_region="us-east-1",
        telephony={"us-east-1": 100, "us-west-2": 0},
        agents={"us-east-1": 100, "us-west-2": 0},
        sign_in={"us-east-1": True, "us-west-2": False},
        last_failover_time=None,
        users=0,
        numbers=0,
    )
    return replace(group, **changes)


def sales_group(**changes: object) -> GroupStatus:
    group = GroupStatus(
        arn=SALES,
        name="sales",
        is_default=False,
        status="ACTIVE",
        home_region="us-east-1",
        telephony={"us-east-1": 90, "us-west-2": 10},
        agents={"us-east-1": 90, "us-west-2": 10},
        sign_in=None,
        last_failover_time="2026-12-06T20:00:00+00:00",
        users=3,
        numbers=1,
    )
    return replace(group, **changes)


def healthy(**changes: object) -> Snapshot:
    snapshot = Snapshot(
        instance=InstanceStatus(
            arn=INSTANCE,
            source_region="us-east-1",
            replica_region="us-west-2",
            replication={"us-west-2": "INSTANCE_REPLICATION_COMPLETE"},
            reasons={},
            global_sign_in_endpoint="https://acme.global.my.connect.aws",
        ),
        regions={"us-east-1": REACHABLE, "us-west-2": REACHABLE},
        groups=[default_group(), sales_group()],
        replication=[Replicated("QUEUE", drifted={"us-west-2": 0}, statuses={"us-west-2": "ENABLED"})],
        isolated_regions=None,
    )
    return replace(snapshot, **changes)


def codes(snapshot: Snapshot) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.resource) for f in findings(snapshot)]


def test_a_healthy_instance_has_no_finding() -> None:
    assert findings(healthy()) == []
    assert not has_errors([])


def test_a_replica_still_replicating_is_not_ready() -> None:
    instance = replace(
        healthy().instance,
        replication={"us-west-2": "INSTANCE_REPLICATION_FAILED"},
        reasons={"us-west-2": "Alias taken"},
    )
    (finding,) = findings(healthy(instance=instance))
    assert (finding.code, finding.severity, finding.resource) == ("replica-not-ready", ERROR, INSTANCE)
    assert (
        "us-west-2 is INSTANCE_REPLICATION_FAILED, not INSTANCE_REPLICATION_COMPLETE (Alias taken)" in finding.message
    )
    assert "replicate the instance again" in finding.message
    assert has_errors([finding])


def test_an_instance_without_a_replica_is_not_ready() -> None:
    instance = replace(healthy().instance, replication={}, replica_region="")
    (finding,) = findings(healthy(instance=instance))
    assert (finding.code, finding.severity) == ("replica-not-ready", ERROR)
    assert "not replicated" in finding.message


def test_a_region_that_does_not_answer_is_an_error_on_the_instance() -> None:
    snapshot = healthy(regions={"us-east-1": UNREACHABLE, "us-west-2": REACHABLE})
    (finding,) = findings(snapshot)
    assert (finding.code, finding.severity, finding.resource) == ("region-unreachable", ERROR, INSTANCE)
    assert finding.message.startswith("Connect in us-east-1 did not answer")


def test_calls_sent_to_a_region_without_agents_are_an_error_on_the_group() -> None:
    sales = sales_group(telephony={"us-east-1": 70, "us-west-2": 30}, agents={"us-east-1": 100, "us-west-2": 0})
    (finding,) = findings(healthy(groups=[default_group(), sales]))
    assert (finding.code, finding.severity, finding.resource) == ("calls-without-agents", ERROR, SALES)
    assert "sends 30 % of its calls to us-west-2, which has 0 % of its agents" in finding.message
    assert "Move agents to us-west-2 (AgentConfig)" in finding.message


def test_a_region_with_no_calls_and_no_agents_is_no_finding() -> None:
    sales = sales_group(telephony={"us-east-1": 100, "us-west-2": 0}, agents={"us-east-1": 100, "us-west-2": 0})
    assert findings(healthy(groups=[default_group(), sales])) == []


def test_a_group_whose_agent_distribution_connect_did_not_return_is_not_judged_on_it() -> None:
    assert findings(healthy(groups=[default_group(), sales_group(agents=None)])) == []


def test_resources_that_did_not_replicate_are_an_error_naming_the_first_few() -> None:
    failed = [ReplicationFinding(f"arn:q{n}", f"queue-{n}", "us-west-2", "Name conflict") for n in range(5)]
    kind = Replicated("QUEUE", drifted={"us-west-2": 5}, statuses={"us-west-2": "ENABLED"}, findings=failed, more=True)
    (finding,) = findings(healthy(replication=[kind]))
    assert (finding.code, finding.severity, finding.resource) == ("resources-not-replicated", ERROR, INSTANCE)
    assert finding.message.startswith(
        "QUEUE resources did not replicate (queue-0 in us-west-2: Name conflict, queue-1 in us-west-2: Name conflict, "
        "queue-2 in us-west-2: Name conflict and 2+ more)."
    )
    assert "--resource-type QUEUE" in finding.message


def test_a_finding_without_a_name_is_named_by_its_arn() -> None:
    kind = Replicated("PROMPT", {}, {}, findings=[ReplicationFinding("arn:p", "", "us-west-2", "Too large")])
    (finding,) = findings(healthy(replication=[kind]))
    assert "(arn:p in us-west-2: Too large)" in finding.message


def test_drift_without_findings_is_a_warning_that_replication_catches_up() -> None:
    kind = Replicated("QUEUE", drifted={"us-west-2": 7, "us-east-1": 0}, statuses={"us-west-2": "ENABLED"})
    (finding,) = findings(healthy(replication=[kind]))
    assert (finding.code, finding.severity, finding.resource) == ("resources-drifting", WARNING, INSTANCE)
    assert finding.message.startswith("QUEUE resources are not in sync yet (about 7 in us-west-2)")


def test_drift_with_findings_is_the_error_alone() -> None:
    failed = [ReplicationFinding("arn:q", "billing", "us-west-2", "Name conflict")]
    kind = Replicated("QUEUE", drifted={"us-west-2": 7}, statuses={"us-west-2": "ENABLED"}, findings=failed)
    assert [f.code for f in findings(healthy(replication=[kind]))] == ["resources-not-replicated"]


def test_a_resource_type_whose_replication_is_not_enabled_is_a_warning() -> None:
    kind = Replicated("VIEW", drifted={}, statuses={"us-west-2": "BLOCKED", "us-east-1": "ENABLED"})
    (finding,) = findings(healthy(replication=[kind]))
    assert (finding.code, finding.severity, finding.resource) == ("replication-not-enabled", WARNING, INSTANCE)
    assert "VIEW resources is BLOCKED in us-west-2" in finding.message


def test_a_group_that_is_not_active_is_a_warning() -> None:
    (finding,) = findings(healthy(groups=[default_group(), sales_group(status="UPDATE_IN_PROGRESS")]))
    assert (finding.code, finding.severity, finding.resource) == ("group-not-active", WARNING, SALES)
    assert "sales is UPDATE_IN_PROGRESS, not ACTIVE" in finding.message


def test_sign_in_left_on_in_a_drained_region_is_a_warning_on_the_default_group() -> None:
    default = default_group(sign_in={"us-east-1": True, "us-west-2": True})
    (finding,) = findings(healthy(groups=[default, sales_group()]))
    assert (finding.code, finding.severity, finding.resource) == ("sign-in-in-drained-region", WARNING, DEFAULT)
    assert "keeps sign-in on in us-west-2, which takes 0 % of its calls and agents" in finding.message


def test_sign_in_on_where_agents_still_work_is_no_finding() -> None:
    default = default_group(
        sign_in={"us-east-1": True, "us-west-2": True},
        telephony={"us-east-1": 100, "us-west-2": 0},
        agents={"us-east-1": 90, "us-west-2": 10},
    )
    assert findings(healthy(groups=[default, sales_group()])) == []


def test_a_group_with_numbers_but_no_agents_is_a_warning() -> None:
    (finding,) = findings(healthy(groups=[default_group(), sales_group(users=0, numbers=2)]))
    assert (finding.code, finding.severity, finding.resource) == ("no-agents-in-group", WARNING, SALES)
    assert "2 phone number(s) claimed to it but no agents associated" in finding.message


def test_a_group_without_numbers_takes_no_calls_so_needs_no_agents() -> None:
    assert findings(healthy(groups=[default_group(), sales_group(users=0, numbers=0)])) == []


def test_the_default_group_is_not_judged_on_its_associated_agents() -> None:
    assert findings(healthy(groups=[default_group(users=0, numbers=4), sales_group()])) == []


def test_errors_come_before_warnings() -> None:
    sales = sales_group(status="UPDATE_IN_PROGRESS", agents={"us-east-1": 100, "us-west-2": 0})
    snapshot = healthy(groups=[default_group(), sales], regions={"us-east-1": REACHABLE, "us-west-2": UNREACHABLE})
    assert codes(snapshot) == [
        ("region-unreachable", ERROR, INSTANCE),
        ("calls-without-agents", ERROR, SALES),
        ("group-not-active", WARNING, SALES),
    ]


def test_a_finding_in_json_has_code_severity_message_and_resource() -> None:
    finding = Finding("group-not-active", WARNING, "Wait.", SALES)
    assert finding.as_json() == {
        "code": "group-not-active",
        "severity": "warning",
        "message": "Wait.",
        "resource": SALES,
    }
