"""What is wrong with a replicated instance, judged from a Snapshot alone: pure, so every rule is unit-tested."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from operate.snapshot import REPLICATION_COMPLETE, UNREACHABLE, GroupStatus, Snapshot

ERROR = "error"
WARNING = "warning"
# ResourceReplicationStatuses' value for a resource type that replicates (the API reference names ENABLED,
# BLOCKED and DISABLED as examples).
REPLICATION_ENABLED = "ENABLED"
NAMED_FINDINGS = 3  # resources named in the message of resources-not-replicated, per resource type


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    resource: str  # the ARN of the instance or group the finding is about

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "resource": self.resource}


def findings(snapshot: Snapshot) -> list[Finding]:
    """Every finding, errors first, in the order of the snapshot within each severity."""
    found = [
        *_instance(snapshot),
        *_replication(snapshot),
        *(finding for group in snapshot.groups for finding in _group(group)),
    ]
    return sorted(found, key=lambda finding: finding.severity != ERROR)


def has_errors(found: list[Finding]) -> bool:
    return any(finding.severity == ERROR for finding in found)


def _instance(snapshot: Snapshot) -> Iterator[Finding]:
    instance = snapshot.instance
    for region, state in sorted(snapshot.regions.items()):
        if state == UNREACHABLE:
            yield Finding(
                "region-unreachable",
                ERROR,
                f"Connect in {region} did not answer (5xx or no connection): it may be having an outage. What is "
                f"shown was read from the other region. If {region} takes calls or agents, move them to the other "
                "region (see the outage runbook in the README).",
                instance.arn,
            )
    if not instance.replication:
        yield Finding(
            "replica-not-ready",
            ERROR,
            "The instance is not replicated: it has no replica to fail over to. Replicate it "
            "(Custom::InstanceReplica, or ReplicateInstance) to its partner region.",
            instance.arn,
        )
    for region, status in sorted(instance.replication.items()):
        if status != REPLICATION_COMPLETE:
            reason = instance.reasons.get(region)
            yield Finding(
                "replica-not-ready",
                ERROR,
                f"The replica in {region} is {status}, not {REPLICATION_COMPLETE}"
                + (f" ({reason})" if reason else "")
                + ": traffic cannot fail over to it yet. Wait for replication to complete; if it failed, delete the "
                "replica and replicate the instance again.",
                instance.arn,
            )


def _replication(snapshot: Snapshot) -> Iterator[Finding]:
    arn = snapshot.instance.arn
    for kind in snapshot.replication:
        if kind.findings:
            named = ", ".join(
                f"{finding.name or finding.arn} in {finding.region}: {finding.message}"
                for finding in kind.findings[:NAMED_FINDINGS]
            )
            more = len(kind.findings) - NAMED_FINDINGS
            rest = f" and {more}{'+' if kind.more else ''} more" if more > 0 or kind.more else ""
            yield Finding(
                "resources-not-replicated",
                ERROR,
                f"{kind.resource_type} resources did not replicate ({named}{rest}). Fix each as its message says; "
                "they are missing in the other region until then (aws connect list-replication-findings "
                f"--resource-type {kind.resource_type}).",
                arn,
            )
        drifted = {region: count for region, count in kind.drifted.items() if count > 0}
        if drifted and not kind.findings:
            counts = ", ".join(f"about {count} in {region}" for region, count in sorted(drifted.items()))
            yield Finding(
                "resources-drifting",
                WARNING,
                f"{kind.resource_type} resources are not in sync yet ({counts}) although none needs action: "
                "replication catches up by itself. Before a failover, run the status again; if the count does not "
                "fall, look at the replication of that type in the Connect console.",
                arn,
            )
        blocked = {region: status for region, status in kind.statuses.items() if status != REPLICATION_ENABLED}
        if blocked:
            states = ", ".join(f"{status} in {region}" for region, status in sorted(blocked.items()))
            yield Finding(
                "replication-not-enabled",
                WARNING,
                f"Replication of {kind.resource_type} resources is {states}: changes to them do not reach the other "
                "region. Look at the replication findings of that type in the Connect console.",
                arn,
            )


def _group(group: GroupStatus) -> Iterator[Finding]:
    if group.status != "ACTIVE":
        yield Finding(
            "group-not-active",
            WARNING,
            f"Group {group.name} is {group.status}, not ACTIVE: Connect does not change its distribution until it "
            "is. Wait, or look at the stack that manages it.",
            group.arn,
        )
    telephony, agents = group.telephony or {}, group.agents
    if agents is not None:
        for region, share in sorted(telephony.items()):
            if share > 0 and agents.get(region, 0) == 0:
                yield Finding(
                    "calls-without-agents",
                    ERROR,
                    f"Group {group.name} sends {share} % of its calls to {region}, which has 0 % of its agents: "
                    f"those calls wait with no one to answer. Move agents to {region} (AgentConfig) or the calls away "
                    "from it (TelephonyConfig).",
                    group.arn,
                )
    if group.is_default and group.sign_in:
        for region, enabled in sorted(group.sign_in.items()):
            if enabled and telephony.get(region, 0) == 0 and (agents or {}).get(region, 0) == 0:
                yield Finding(
                    "sign-in-in-drained-region",
                    WARNING,
                    f"The default group {group.name} keeps sign-in on in {region}, which takes 0 % of its calls and "
                    f"agents: agents who sign in there get no work. Turn sign-in off in {region} (SignInConfig).",
                    group.arn,
                )
    if not group.is_default and group.numbers > 0 and group.users == 0:
        yield Finding(
            "no-agents-in-group",
            WARNING,
            f"Group {group.name} has {group.numbers} phone number(s) claimed to it but no agents associated: its "
            "calls follow its distribution to agents it does not have. Associate agents "
            "(Custom::TrafficDistributionGroupUser) or move the numbers.",
            group.arn,
        )
