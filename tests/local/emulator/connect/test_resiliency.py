"""What Global Resiliency reports of an instance's resources (local/emulator/connect/resiliency.py):
ListReplicationFindings, with what a test injects."""

from __future__ import annotations

from typing import Any

import pytest

from local.emulator import Emulator
from tests.local.emulator.conftest import HOME, OTHER, REPLICA, ClientFactory, outcome, replica_arn_of

QUEUE_FINDING = {
    "Arn": "arn:aws:connect:us-west-2:123456789012:instance/x/queue/q1",
    "Id": "q1",
    "Region": REPLICA,
    "Name": "billing",
    "Message": "A queue named billing exists in us-west-2",
}


def test_an_instance_without_a_replica_is_refused(emu: Emulator, client: ClientFactory) -> None:
    alone = emu.add_instance(home_region=HOME, replica_region=None)

    assert outcome(lambda: client("connect").list_replication_findings(InstanceId=alone, ResourceType="QUEUE")) == (
        "InvalidRequestException",
        400,
    )


def test_the_instance_is_named_by_its_id_or_the_arn_of_the_region_called(
    emu: Emulator, client: ClientFactory, instance: str
) -> None:
    bare = instance.rsplit("/", 1)[1]
    replica = client("connect", REPLICA)

    for call in (
        lambda: client("connect").list_replication_findings(InstanceId=bare, ResourceType="QUEUE"),
        lambda: replica.list_replication_findings(InstanceId=bare, ResourceType="QUEUE"),
        lambda: replica.list_replication_findings(InstanceId=replica_arn_of(instance), ResourceType="QUEUE"),
    ):
        assert outcome(call)[0] == "ok"
    for call in (
        lambda: replica.list_replication_findings(InstanceId=instance, ResourceType="QUEUE"),
        lambda: client("connect", OTHER).list_replication_findings(InstanceId=instance, ResourceType="QUEUE"),
    ):
        assert outcome(call) == ("ResourceNotFoundException", 404)


def test_replication_findings_without_injection_report_replication_enabled_and_nothing_else(
    emu: Emulator, client: ClientFactory, instance: str
) -> None:
    answer = client("connect", REPLICA).list_replication_findings(
        InstanceId=replica_arn_of(instance), ResourceType="QUEUE"
    )

    assert answer["ReplicationFindingsList"] == []
    assert answer["ResourceReplicationStatuses"] == [
        {"Region": HOME, "Status": "ENABLED"},
        {"Region": REPLICA, "Status": "ENABLED"},
    ]
    assert answer["ApproximateDriftedResourceCounts"] == []
    assert "NextToken" not in answer


def test_injected_findings_come_in_pages_with_the_counts_and_statuses_on_every_page(
    emu: Emulator, client: ClientFactory, instance: str
) -> None:
    findings = [dict(QUEUE_FINDING, Id=f"q{n}", Name=f"queue-{n}") for n in range(3)]
    emu.set_replication_findings(
        instance, "QUEUE", findings, drifted={REPLICA: 7}, statuses={HOME: "ENABLED", REPLICA: "BLOCKED"}
    )
    connect = client("connect")

    first = connect.list_replication_findings(InstanceId=instance, ResourceType="QUEUE", MaxResults=2)
    second = connect.list_replication_findings(
        InstanceId=instance, ResourceType="QUEUE", MaxResults=2, NextToken=first["NextToken"]
    )

    assert [f["Name"] for f in first["ReplicationFindingsList"] + second["ReplicationFindingsList"]] == [
        "queue-0",
        "queue-1",
        "queue-2",
    ]
    assert first["ReplicationFindingsList"][0]["ResourceType"] == "QUEUE"
    assert "NextToken" not in second
    for page in (first, second):
        assert page["ResourceReplicationStatuses"] == [
            {"Region": HOME, "Status": "ENABLED"},
            {"Region": REPLICA, "Status": "BLOCKED"},
        ]
        ((region, count),) = [(c["Region"], c["Count"]) for c in page["ApproximateDriftedResourceCounts"]]
        assert (region, count) == (REPLICA, 7)
    other: Any = connect.list_replication_findings(InstanceId=instance, ResourceType="PROMPT")
    assert other["ReplicationFindingsList"] == []


def test_a_resource_type_the_api_reference_does_not_list_is_refused(
    emu: Emulator, client: ClientFactory, instance: str
) -> None:
    assert outcome(
        lambda: client("connect").list_replication_findings(InstanceId=instance, ResourceType="TRAFFIC_DISTRIBUTION")
    ) == ("InvalidRequestException", 400)
    with pytest.raises(ValueError, match="not a ResourceType"):
        emu.set_replication_findings(instance, "TRAFFIC_DISTRIBUTION", [])
    with pytest.raises(KeyError):
        emu.set_replication_findings("arn:aws:connect:us-east-1:123456789012:instance/unknown", "QUEUE", [])
