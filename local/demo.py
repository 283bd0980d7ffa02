"""`make demo`: the example consumer stacks' whole life, run locally against the emulator.

The real handler (src/handler/app.py) runs in a fresh process per invocation, talks to the Connect
emulator through boto3's standard AWS_ENDPOINT_URL, and answers the local HTTPS ResponseServer. Every
step says what CloudFormation should end in; the demo exits non-zero if anything deviates.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.cloudformation import LambdaFunction, ResponseServer, StackDriver, load_template
from local.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXPORT = "connect-tdg-provider-ServiceToken"


@dataclass
class Step:
    title: str
    run: Callable[[], Any]
    expected_status: str
    check: Callable[[], list[str]] | None = None


def main() -> int:
    with Emulator(creation_delay=1.0, deletion_delay=0.5, update_delay=0.5) as emulator, ResponseServer() as server:
        instance_arn = emulator.add_instance(home_region="us-east-1", replica_region="us-west-2")
        default_group = next(g["Arn"] for g in emulator.groups() if g["IsDefault"])
        function = LambdaFunction(
            code_dir=ROOT / "src" / "handler",
            timeout_s=900,
            ssl_cert_file=server.ca_pem_path,
            endpoint_url=emulator.endpoint_url,
        )
        problems: list[str] = []
        problems += run_stack(
            "connect-tdg-example",
            _lifecycle_steps(instance_arn),
            server,
            function,
            emulator,
        )
        problems += run_stack(
            "connect-failover",
            _failover_steps(instance_arn, default_group, emulator),
            server,
            function,
            emulator,
        )
        problems += report_leftovers(emulator, default_group)
    print()
    if problems:
        print(f"DEMO FAILED: {len(problems)} deviation(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("DEMO OK: every step ended as CloudFormation should, nothing was left behind.")
    return 0


def run_stack(
    name: str,
    steps: Callable[[StackDriver], list[Step]],
    server: ResponseServer,
    function: LambdaFunction,
    emulator: Emulator,
) -> list[str]:
    driver = StackDriver(server, stack_name=name, rules_source=emulator)
    driver.register(function, export_name=EXPORT)
    problems: list[str] = []
    print(f"\n=== stack {name} ===")
    for step in steps(driver):
        seen = len(driver.timeline)
        started = time.monotonic()
        step.run()
        elapsed = time.monotonic() - started
        stack = driver.stack
        status = stack.status if stack else "(none)"
        verdict = "ok" if status == step.expected_status else f"EXPECTED {step.expected_status}"
        print(f"\n--- {step.title}: {status} in {elapsed:.1f} s [{verdict}]")
        for record in driver.timeline[seen:]:
            if record.request_type:
                detail = record.reason or ""
                print(
                    f"    {record.request_type:<6} {record.logical_id:<24} -> {record.status:<7} "
                    f"{record.duration_s:5.2f} s  {record.physical_id}  {detail}".rstrip()
                )
        if stack and stack.resources:
            for logical_id, resource in stack.resources.items():
                print(f"    !Ref {logical_id} = {resource.physical_id}")
                for key, value in sorted(resource.data.items()):
                    print(f"      !GetAtt {logical_id}.{key} = {value}")
        if status != step.expected_status:
            problems.append(f"{name}: {step.title}: ended {status}, expected {step.expected_status}")
        if step.check:
            problems += [f"{name}: {step.title}: {p}" for p in step.check()]
    problems += [f"{name}: protocol violation: {v}" for v in driver.violations]
    print(f"\n    timeline of {name}:")
    print("    " + driver.format_timeline().replace("\n", "\n    "))
    return problems


def _lifecycle_steps(instance_arn: str) -> Callable[[StackDriver], list[Step]]:
    base = load_template(ROOT / "examples" / "stack.yaml")
    params = {"ConnectInstanceArn": instance_arn}

    def variant(**props: Any) -> dict[str, Any]:
        template = copy.deepcopy(base)
        template["Resources"]["Tdg"]["Properties"].update(props)
        return template

    retagged = variant(Tags=[{"Key": "team", "Value": "voice"}, {"Key": "cost-center", "Value": "cc-42"}])
    renamed = variant(
        Name="primary-tdg-v2",
        Description="Calls between us-east-1 and us-west-2 (v2)",
        Tags=[{"Key": "team", "Value": "voice"}],
    )
    # Connect cannot change a description in place, and the replacement would need the name the
    # current group still holds: CloudFormation must roll this back and keep the current group.
    conflicting = variant(Name="primary-tdg-v2", Description="New words", Tags=[{"Key": "team", "Value": "voice"}])

    def steps(driver: StackDriver) -> list[Step]:
        return [
            Step("create", lambda: driver.create_stack(base, params), "CREATE_COMPLETE"),
            Step("tag change (in place)", lambda: driver.update_stack(retagged, params), "UPDATE_COMPLETE"),
            Step(
                "rename (replacement, then clean-up)", lambda: driver.update_stack(renamed, params), "UPDATE_COMPLETE"
            ),
            Step(
                "description change that fails and rolls back",
                lambda: driver.update_stack(conflicting, params),
                "UPDATE_ROLLBACK_COMPLETE",
            ),
            Step("delete", driver.delete_stack, "DELETE_COMPLETE"),
        ]

    return steps


def _failover_steps(instance_arn: str, default_group: str, emulator: Emulator) -> Callable[[StackDriver], list[Step]]:
    template = load_template(ROOT / "examples" / "failover.yaml")

    def params(active: str) -> dict[str, str]:
        return {"ConnectInstanceArn": instance_arn, "DefaultTdgArn": default_group, "ActiveRegion": active}

    def telephony_in(region: str) -> Callable[[], list[str]]:
        def check() -> list[str]:
            problems = []
            for group in emulator.groups():
                shares = {
                    d["Region"]: d["Percentage"]
                    for d in group["Distribution"].get("TelephonyConfig", {}).get("Distributions", [])
                }
                if shares.get(region) != 100:
                    problems.append(f"group {group['Name']} has telephony {shares}, expected 100% in {region}")
            return problems

        return check

    def steps(driver: StackDriver) -> list[Step]:
        return [
            Step("create", lambda: driver.create_stack(template, params("us-east-1")), "CREATE_COMPLETE"),
            Step(
                "failover: all telephony and agents to us-west-2",
                lambda: driver.update_stack(template, params("us-west-2")),
                "UPDATE_COMPLETE",
                telephony_in("us-west-2"),
            ),
            Step(
                "failback to us-east-1",
                lambda: driver.update_stack(template, params("us-east-1")),
                "UPDATE_COMPLETE",
                telephony_in("us-east-1"),
            ),
            Step("delete (the default group's traffic stays as it is)", driver.delete_stack, "DELETE_COMPLETE"),
        ]

    return steps


def report_leftovers(emulator: Emulator, default_group: str) -> list[str]:
    groups = emulator.groups()
    rules, permissions = emulator.rules(), emulator.permissions()
    print("\n=== emulator state at the end ===")
    for group in groups:
        print(f"  group {group['Name']} {group['Status']} default={group['IsDefault']} {group['Arn']}")
    print(f"  polling rules left: {len(rules)}; Lambda permissions left: {len(permissions)}")
    print(f"  Connect calls: {len(emulator.calls(service='connect'))}")
    problems = [f"group left behind: {g['Arn']}" for g in groups if g["Arn"] != default_group]
    problems += [f"polling rule left behind: {r['Name']}" for r in rules]
    problems += [f"Lambda permission left behind: {p['StatementId']}" for p in permissions]
    problems += [f"emulator internal error: {e}" for e in emulator.internal_errors()]
    return problems


if __name__ == "__main__":
    sys.exit(main())
