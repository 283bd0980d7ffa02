"""How the status is shown: one JSON document, or a terminal view of at most 100 columns (rich)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from operate.findings import ERROR, Finding
from operate.snapshot import REPLICATION_COMPLETE, UNREACHABLE, GroupStatus, Snapshot

WIDTH = 100


def as_json(snapshot: Snapshot, found: list[Finding]) -> dict[str, Any]:
    """The document of FORMAT=json (README, "Status of an instance")."""
    instance = snapshot.instance
    return {
        "instance": {
            "arn": instance.arn,
            "sourceRegion": instance.source_region,
            "replicaRegion": instance.replica_region,
            "replication": instance.replication,
            "globalSignInEndpoint": instance.global_sign_in_endpoint,
        },
        "regions": snapshot.regions,
        "groups": [
            {
                "arn": group.arn,
                "name": group.name,
                "isDefault": group.is_default,
                "status": group.status,
                "homeRegion": group.home_region,
                "telephony": group.telephony,
                "agents": group.agents,
                "signIn": group.sign_in if group.is_default else None,
                "lastFailoverTime": group.last_failover_time,
                "users": group.users,
                "numbers": group.numbers,
            }
            for group in snapshot.groups
        ],
        "crossRegionRouting": (
            None if snapshot.isolated_regions is None else {"isolatedRegions": snapshot.isolated_regions}
        ),
        "replicationFindings": [
            {
                "resourceType": kind.resource_type,
                "drifted": kind.drifted,
                "statuses": kind.statuses,
                "findings": [
                    {"arn": f.arn, "name": f.name, "region": f.region, "message": f.message} for f in kind.findings
                ],
                "more": kind.more,
            }
            for kind in snapshot.replication
        ],
        "findings": [finding.as_json() for finding in found],
    }


def show(console: Console, snapshot: Snapshot, found: list[Finding]) -> None:
    """The terminal view: the two regions side by side, each group's shares, replication, then the findings."""
    console.print(Group(_regions(snapshot), _groups(snapshot), _replication(snapshot), _findings(found)))


def _regions(snapshot: Snapshot) -> Panel:
    instance = snapshot.instance
    table = Table(box=None, expand=False, pad_edge=False)
    table.add_column("")
    for region in snapshot.regions:
        role = "source" if region == instance.source_region else "replica"
        table.add_column(f"{region} ({role})")
    table.add_row("Connect", *(_reachability(state) for state in snapshot.regions.values()))
    table.add_row(
        "Replication",
        *(
            _replication_state(instance.replication.get(region, "")) if region != instance.source_region else "-"
            for region in snapshot.regions
        ),
    )
    if snapshot.isolated_regions is not None:
        table.add_row(
            "Cross-region routing",
            *("isolated" if region in snapshot.isolated_regions else "on" for region in snapshot.regions),
        )
    title = f"Instance {instance.arn}"
    footer = f"Global sign-in: {instance.global_sign_in_endpoint or '-'}"
    return Panel(Group(table, Text(footer)), title=title, title_align="left", width=WIDTH)


def _reachability(state: str) -> Text:
    return Text(state, style="bold red" if state == UNREACHABLE else "green")


def _replication_state(status: str) -> Text:
    return Text(status or "not replicated", style="green" if status == REPLICATION_COMPLETE else "bold red")


def _groups(snapshot: Snapshot) -> Table:
    regions = list(snapshot.regions)
    table = Table(
        title="Traffic distribution groups", title_justify="left", width=WIDTH, box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("Group", overflow="fold", ratio=3, min_width=16)
    table.add_column("Status", overflow="fold", ratio=2, min_width=8)
    for region in regions:
        table.add_column(region, no_wrap=True)
    table.add_column("Agents", justify="right", no_wrap=True)
    table.add_column("Numbers", justify="right", no_wrap=True)
    table.add_column("Last failover", no_wrap=True)
    for group in snapshot.groups:
        table.add_row(
            group.name + ("\n(default)" if group.is_default else ""),
            Text(group.status, style="green" if group.status == "ACTIVE" else "yellow"),
            *(_shares(group, region) for region in regions),
            str(group.users),
            str(group.numbers),
            (group.last_failover_time or "-")[:16].replace("T", " "),
        )
    return table


def _shares(group: GroupStatus, region: str) -> str:
    calls = (group.telephony or {}).get(region)
    agents = (group.agents or {}).get(region)
    text = f"calls  {'-' if calls is None else f'{calls} %'}\nagents {'-' if agents is None else f'{agents} %'}"
    if group.sign_in is not None:
        text += "\nsign-in " + ("on" if group.sign_in.get(region) else "off")
    return text


def _replication(snapshot: Snapshot) -> Table | Text:
    notable = [kind for kind in snapshot.replication if kind.findings or any(kind.drifted.values())]
    if not notable:
        return Text(f"Replication: no drift and no findings in the {len(snapshot.replication)} resource types read.")
    table = Table(title="Replication findings", title_justify="left", width=WIDTH, box=box.SIMPLE_HEAD)
    table.add_column("Resource type", no_wrap=True)
    table.add_column("Drifted (approx.)", no_wrap=True)
    table.add_column("First findings", overflow="fold", ratio=1)
    for kind in notable:
        drifted = ", ".join(f"{region} {count}" for region, count in sorted(kind.drifted.items())) or "-"
        named = "\n".join(f"{f.name or f.arn} ({f.region}): {f.message}" for f in kind.findings[:3])
        table.add_row(kind.resource_type, drifted, named + ("\n..." if len(kind.findings) > 3 or kind.more else ""))
    return table


def _findings(found: list[Finding]) -> Table | Text:
    if not found:
        return Text("Findings: none.", style="green")
    table = Table(title="Findings", title_justify="left", width=WIDTH, box=box.SIMPLE_HEAD, show_lines=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Code", no_wrap=True)
    table.add_column("What to do", overflow="fold", ratio=1)
    for finding in found:
        style = "bold red" if finding.severity == ERROR else "yellow"
        table.add_row(
            Text(finding.severity, style=style),
            finding.code,
            Text(finding.message) + Text(f"\n{finding.resource}", style="dim"),
        )
    return table
