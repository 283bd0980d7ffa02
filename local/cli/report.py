"""What `make demo` and `make local` print: each stack operation as a step, a timeline, and what was left.

By default every line fits 100 columns: Connect ARNs and ids are shortened to their kind and the last
8 characters of the id (``tdg/…27b4a886``), which keeps an old and a new group apart; ``!GetAtt`` values
are printed when they change; long Reasons are wrapped, never cut. ``verbose`` prints everything in full.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.cloudformation import StackDriver, StackOperationError
from local.emulator import Emulator

WIDTH = 100
_CONNECT_ARN = re.compile(r"arn:aws[a-z-]*:connect:[a-z0-9-]+:\d{12}:(instance|traffic-distribution-group)/([\w-]+)")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


@dataclass
class Step:
    title: str
    run: Callable[[], Any]
    expected_status: str
    check: Callable[[], list[str]] | None = None
    driver: StackDriver | None = None  # the stack the step acts on, when a scenario has several


def short(text: str) -> str:
    """Connect ARNs as ``tdg/…<last 8 of the id>`` or ``instance/…<last 8>``, other ids as ``…<last 8>``."""
    text = _CONNECT_ARN.sub(lambda m: f"{'instance' if m[1] == 'instance' else 'tdg'}/…{m[2][-8:]}", text)
    return _UUID.sub(lambda m: "…" + m[0][-8:], text)


@dataclass
class Report:
    """Prints steps and timelines; remembers the ``!Ref``/``!GetAtt`` values it printed, to print changes only."""

    verbose: bool = False
    width: int = WIDTH
    _shown: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def text(self, value: str) -> str:
        return value if self.verbose else short(value)

    def line(self, text: str, indent: int = 4, hang: int = 4) -> None:
        """Print ``text`` at ``indent``, wrapped (continuations ``hang`` further in) unless verbose."""
        first = " " * indent
        if self.verbose:
            print(first + text)
            return
        print(textwrap.fill(text, self.width, initial_indent=first, subsequent_indent=first + " " * hang))

    def run_steps(self, name: str, steps: list[Step], default: StackDriver, emulator: Emulator) -> list[str]:
        """Run each step, print what CloudFormation and Connect saw, and list what deviated."""
        problems: list[str] = []
        for step in steps:
            driver = step.driver or default
            seen, calls_before = len(driver.timeline), len(emulator.calls(service="connect"))
            started = time.monotonic()
            try:
                step.run()
            except StackOperationError as refused:  # as CloudFormation refuses an operation before it starts
                print()
                self.line(f"--- {step.title}: refused [EXPECTED {step.expected_status}]", indent=0)
                self.line(f"ValidationError: {refused}")
                problems.append(f"{name}: {step.title}: refused: {refused}")
                break
            elapsed = time.monotonic() - started
            stack = driver.stack
            status = stack.status if stack else "(none)"
            verdict = "ok" if status == step.expected_status else f"EXPECTED {step.expected_status}"
            print()
            self.line(f"--- {step.title}: {status} in {elapsed:.1f} s [{verdict}]", indent=0)
            for record in driver.timeline[seen:]:
                if record.request_type:
                    self.line(
                        f"{record.request_type:<6} {record.logical_id:<24} -> {record.status:<7} "
                        f"{record.duration_s:5.2f} s  {self.text(record.physical_id)}"
                    )
                    if record.reason:
                        self.line(self.text(record.reason), indent=8, hang=0)
            if stack:
                self._attributes(driver)
            regions = Counter(c["region"] for c in emulator.calls(service="connect")[calls_before:])
            calls = ", ".join(f"{r} {n}" for r, n in sorted(regions.items())) or "none"
            self.line(f"Connect calls by region: {calls}")
            if status != step.expected_status:
                problems.append(f"{name}: {step.title}: ended {status}, expected {step.expected_status}")
            if step.check:
                problems += [f"{name}: {step.title}: {p}" for p in step.check()]
        return problems

    def _attributes(self, driver: StackDriver) -> None:
        """``!Ref`` and the ``!GetAtt`` values of each resource; when not verbose, only those that changed."""
        assert driver.stack is not None
        for logical_id, resource in driver.stack.resources.items():
            values = {"!Ref": resource.physical_id}
            values.update({f"!GetAtt .{key}": str(value) for key, value in sorted(resource.data.items())})
            before = self._shown.get((driver.stack_name, logical_id), {})
            self._shown[(driver.stack_name, logical_id)] = values
            changed = {key: value for key, value in values.items() if self.verbose or before.get(key) != value}
            if not changed:
                self.line(f"!Ref {logical_id} = {self.text(resource.physical_id)} (attributes unchanged)")
                continue
            self.line(f"!Ref {logical_id} = {self.text(resource.physical_id)}")
            for key, value in changed.items():
                if key != "!Ref":
                    self.line(f"!GetAtt {logical_id}{key.removeprefix('!GetAtt ')} = {self.text(value)}", indent=6)

    def timeline(self, driver: StackDriver) -> None:
        """The stack's timeline: in full when verbose, else one short row per event."""
        if self.verbose:
            print("    " + driver.format_timeline().replace("\n", "\n    "))
            return
        print(f"    {'t(s)':>6}  {'operation':<11}  {'event':<6}  {'logical id':<20}  {'status':<7}  dur(s)  inv/polls")
        for r in driver.timeline:
            if not r.request_type:  # a stack status, or a note about a resource (IGNORED, SKIPPED, RESTORED...)
                event, detail = (
                    ("stack", "") if r.physical_id.startswith("arn:aws:cloudformation:") else ("note", r.reason)
                )
                row = f"    {r.t:6.2f}  {r.operation:<11}  {event:<6}  {r.logical_id[:20]:<20}  {r.status}  {detail}"
                print(short(row).rstrip()[: self.width])
                continue
            print(
                f"    {r.t:6.2f}  {r.operation:<11}  {r.request_type:<6}  {r.logical_id[:20]:<20}  {r.status:<7}  "
                f"{r.duration_s:6.2f}  {r.invocations}/{r.polls}  {short(r.physical_id)}"[: self.width]
            )
        if driver.violations:
            print(f"    protocol violations ({len(driver.violations)}):")
            for violation in driver.violations:
                self.line(f"- {self.text(violation)}", indent=6, hang=2)

    def leftovers(self, emulator: Emulator) -> list[str]:
        """What was left behind in Connect, EventBridge and Lambda (default groups belong to their instance)."""
        groups = emulator.groups()
        rules, permissions = emulator.rules(), emulator.permissions()
        print("\n=== emulator state at the end ===")
        for group in groups:
            self.line(
                f"group {group['Name']} {group['Status']} default={group['IsDefault']} {self.text(group['Arn'])}",
                indent=2,
            )
        print(f"  polling rules left: {len(rules)}; Lambda permissions left: {len(permissions)}")
        print(f"  Connect calls: {len(emulator.calls(service='connect'))}")
        problems = [f"group left behind: {g['Arn']}" for g in groups if not g["IsDefault"]]
        problems += [f"polling rule left behind: {r['Name']}" for r in rules]
        problems += [f"Lambda permission left behind: {p['StatementId']}" for p in permissions]
        problems += [f"emulator internal error: {e}" for e in emulator.internal_errors()]
        return problems

    def verdict(self, problems: list[str], *, failed: str, ok: str) -> int:
        """Print the outcome; the exit code."""
        print()
        if not problems:
            print(ok)
            return 0
        print(failed.format(count=len(problems)))
        for problem in problems:
            self.line(f"- {self.text(problem)}", indent=2, hang=2)
        return 1
