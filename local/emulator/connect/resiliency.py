"""What Global Resiliency reports of a replicated instance's resources: ListReplicationFindings.

"Available only for instances that are set up for Global Resiliency" (its API reference): an instance that is not
replicated answers InvalidRequestException. The instance is named as for DescribeInstance and GetCrossRegionRouting
(``_instance_in``): its bare id, or the ARN of the Region called.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from local.emulator.connect.model import Instance
from local.emulator.connect.state import ConnectState
from local.emulator.errors import ApiError

#: ListReplicationFindings' ResourceType: the values its API reference lists as supported; "Specifying a value
#: that is not currently supported returns an InvalidRequestException."
RESOURCE_TYPES = frozenset(
    {
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
    }
)
_PAGE = 100  # ListReplicationFindings' MaxResults: 1 to 100


class ResiliencyOperations(ConnectState):
    """ListReplicationFindings, and the knob that sets what it reports."""

    def set_replication_findings(
        self,
        instance_ref: str,
        resource_type: str,
        findings: list[dict[str, Any]],
        drifted: dict[str, int],
        statuses: dict[str, str] | None,
    ) -> None:
        if resource_type not in RESOURCE_TYPES:
            raise ValueError(f"{resource_type} is not a ResourceType ListReplicationFindings supports")
        self._known_instance(instance_ref).replication_findings[resource_type] = {
            "Findings": [dict(finding, ResourceType=resource_type) for finding in findings],
            "Drifted": dict(drifted),
            "Statuses": None if statuses is None else dict(statuses),
        }

    def _known_instance(self, ref: str) -> Instance:
        instance = self._find_instance(ref)
        if instance is None:
            raise KeyError(ref)
        return instance

    def _list_replication_findings(self, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        instance, _ = self._instance_in(params["InstanceId"], region, now)
        if instance.replica(now) is None:
            raise ApiError(
                "InvalidRequestException",
                f"Instance {instance.id} is not set up for Global Resiliency: ListReplicationFindings is for "
                "replicated instances only",
            )
        kind = params["ResourceType"]
        if kind not in RESOURCE_TYPES:
            raise ApiError("InvalidRequestException", f"ResourceType {kind} is not currently supported")
        injected = instance.replication_findings.get(kind, {})
        findings: list[dict[str, Any]] = injected.get("Findings", [])
        offset = self._decode_token(params.get("NextToken"))
        size = min(params.get("MaxResults") or _PAGE, _PAGE)
        statuses = injected.get("Statuses")
        if statuses is None:
            statuses = dict.fromkeys(instance.regions, "ENABLED")
        result: dict[str, Any] = {
            "ReplicationFindingsList": [dict(finding) for finding in findings[offset : offset + size]],
            # "returned in full on every page of results" (the API reference)
            "ResourceReplicationStatuses": [{"Region": r, "Status": s} for r, s in sorted(statuses.items())],
            # "a Region appears only when its count has been computed": only where a test set one
            "ApproximateDriftedResourceCounts": [
                {"Region": r, "Count": count, "Timestamp": now}
                for r, count in sorted(injected.get("Drifted", {}).items())
            ],
        }
        if offset + size < len(findings):
            result["NextToken"] = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode()
        return result
