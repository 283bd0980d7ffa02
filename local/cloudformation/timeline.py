"""The driver's timeline: one record for each stack status, request and note, and the table ``make demo`` prints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .answers import RequestRecord


@dataclass(frozen=True)
class TimelineRecord:
    t: float  # seconds since the driver was created
    operation: str  # CreateStack | UpdateStack | DeleteStack
    phase: str  # the stack status while this happened
    request_type: str  # Create | Update | Delete, "" for stack status changes and notes
    logical_id: str
    physical_id: str
    status: str  # SUCCESS | FAILED | a stack status | IGNORED | SKIPPED
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    invocations: int = 0
    polls: int = 0
    request_id: str = ""

    @classmethod
    def of_request(cls, rec: RequestRecord, t: float, duration_s: float) -> TimelineRecord:
        """The record of a request, its NoEcho Data masked."""
        return cls(
            t=t,
            operation=rec.operation,
            phase=rec.phase,
            request_type=rec.request_type,
            logical_id=rec.logical_id,
            physical_id=rec.physical_id,
            status=rec.status,
            reason=rec.reason,
            data={k: "*****" for k in rec.data} if rec.no_echo else dict(rec.data),
            duration_s=duration_s,
            invocations=len(rec.invocations),
            polls=rec.polls,
            request_id=rec.request_id,
        )


def format_timeline(records: Sequence[TimelineRecord], violations: Sequence[str], *, width: int = 40) -> str:
    """The timeline as a text table, the protocol violations below it."""
    header = (
        "t(s)",
        "operation",
        "phase",
        "request",
        "logical id",
        "physical id",
        "status",
        "inv",
        "polls",
        "dur(s)",
        "reason / data",
    )
    rows: list[tuple[str, ...]] = [header]
    for r in records:
        is_stack = r.request_type == "" and r.physical_id.startswith("arn:aws:cloudformation:")
        extra = r.reason or (json.dumps(r.data, sort_keys=True) if r.data else "")
        rows.append(
            (
                f"{r.t:.2f}",
                r.operation,
                "" if is_stack else r.phase,
                r.request_type or ("STACK" if is_stack else "-"),
                r.logical_id,
                "" if is_stack else _clip(r.physical_id, width),
                r.status,
                str(r.invocations) if r.request_type else "",
                str(r.polls) if r.request_type else "",
                f"{r.duration_s:.2f}" if r.request_type else "",
                _clip(extra, 2 * width),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if violations:
        lines.append("")
        lines.append(f"protocol violations ({len(violations)}):")
        lines.extend(f"  - {v}" for v in violations)
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
