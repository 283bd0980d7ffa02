"""`make demo`: the example consumer stacks' whole life, run locally against the emulator.

The real handler (src/handler/app.py) runs in a fresh process per invocation, talks to the Connect
emulator through boto3's standard AWS_ENDPOINT_URL, and answers the local HTTPS ResponseServer. Every
step says what CloudFormation should end in; the demo exits non-zero if anything deviates.
"""

from __future__ import annotations

import copy
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.cloudformation import LambdaFunction, ResponseServer, StackDriver, StackOperationError, load_template
from local.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXPORT = "connect-tdg-provider-ServiceToken"


@dataclass
class Step:
    title: str
    run: Callable[[], Any]
    expected_status: str
    check: Callable[[], list[str]] | None = None
    driver: StackDriver | None = None  # the stack the step acts on, when a scenario has several


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
        problems += run_outage(instance_arn, server, emulator)
        problems += report_leftovers(emulator)
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
    problems += run_steps(name, steps(driver), driver, emulator)
    problems += [f"{name}: protocol violation: {v}" for v in driver.violations]
    print(f"\n    timeline of {name}:")
    print("    " + driver.format_timeline().replace("\n", "\n    "))
    return problems


def run_steps(name: str, steps: list[Step], default: StackDriver, emulator: Emulator) -> list[str]:
    """Run each step, print what CloudFormation and Connect saw, and list what deviated."""
    problems: list[str] = []
    for step in steps:
        driver = step.driver or default
        seen, calls_before = len(driver.timeline), len(emulator.calls(service="connect"))
        started = time.monotonic()
        try:
            step.run()
        except StackOperationError as refused:  # as CloudFormation refuses an operation before it starts
            print(f"\n--- {step.title}: refused [EXPECTED {step.expected_status}]")
            print(f"    ValidationError: {refused}")
            problems.append(f"{name}: {step.title}: refused: {refused}")
            break
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
        regions = Counter(c["region"] for c in emulator.calls(service="connect")[calls_before:])
        print("    Connect calls by region: " + (", ".join(f"{r} {n}" for r, n in sorted(regions.items())) or "none"))
        if status != step.expected_status:
            problems.append(f"{name}: {step.title}: ended {status}, expected {step.expected_status}")
        if step.check:
            problems += [f"{name}: {step.title}: {p}" for p in step.check()]
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
        Description="Primary traffic distribution group of the contact center (v2)",
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


def run_outage(instance_arn: str, server: ResponseServer, emulator: Emulator) -> list[str]:
    """The outage runbook: a group at home in us-east-1, and examples/regional-failover.yaml deployed in
    both regions with each region's provider. us-east-1's Connect API goes down; the us-west-2 copy moves
    every call and agent to us-west-2 without one call to us-east-1. Then fail back once it is up."""
    name = "connect-outage"
    home, replica = "us-east-1", "us-west-2"
    functions = {
        region: LambdaFunction(
            code_dir=ROOT / "src" / "handler",
            timeout_s=900,
            region=region,
            ssl_cert_file=server.ca_pem_path,
            endpoint_url=emulator.endpoint_url,
        )
        for region in (home, replica)
    }
    drivers = {
        region: StackDriver(server, stack_name=f"{name}-{region}", region=region, rules_source=emulator)
        for region in (home, replica)
    }
    for region, driver in drivers.items():
        driver.register(functions[region], export_name=EXPORT)
    group_stack = StackDriver(server, stack_name=f"{name}-group", rules_source=emulator)
    group_stack.register(functions[home], export_name=EXPORT)
    regional = load_template(ROOT / "examples" / "regional-failover.yaml")
    group: dict[str, str] = {}

    def create_group() -> None:
        stack = group_stack.create_stack(ROOT / "examples" / "stack.yaml", {"ConnectInstanceArn": instance_arn})
        group["Arn"] = stack.outputs.get("TdgArn", "")

    def params(active: str) -> dict[str, str]:
        return {"TdgArn": group["Arn"], "ActiveRegion": active}

    def everything_in(region: str) -> Callable[[], list[str]]:
        def check() -> list[str]:
            distribution = emulator.group(group["Arn"])["Distribution"]
            problems = []
            for config in ("TelephonyConfig", "AgentConfig"):
                shares = {d["Region"]: d["Percentage"] for d in distribution[config]["Distributions"]}
                if shares.get(region) != 100:
                    problems.append(f"{config} is {shares}, expected 100% in {region}")
            return problems

        return check

    outage_began: list[int] = []

    def no_call_to(region: str, then: Callable[[], list[str]]) -> Callable[[], list[str]]:
        def check() -> list[str]:
            calls = emulator.calls(service="connect")[outage_began[-1] :]
            sent = [c for c in calls if c["region"] == region]
            return [f"{len(sent)} Connect call(s) went to {region}, which is down"] * bool(sent) + then()

        return check

    def outage_then_failover() -> None:
        emulator.set_outage(home, "503")
        outage_began.append(len(emulator.calls(service="connect")))
        drivers[replica].update_stack(regional, params(replica))

    def recovered_then_failback() -> None:
        emulator.set_outage(home, None)
        drivers[home].update_stack(regional, params(replica))  # record where traffic is: moves nothing
        drivers[home].update_stack(regional, params(home))

    steps = [
        Step(f"create the group ({home})", create_group, "CREATE_COMPLETE", driver=group_stack),
        Step(
            f"deploy the distribution stack in {home}",
            lambda: drivers[home].create_stack(regional, params(home)),
            "CREATE_COMPLETE",
            driver=drivers[home],
        ),
        Step(
            f"deploy the distribution stack in {replica}",
            lambda: drivers[replica].create_stack(regional, params(home)),
            "CREATE_COMPLETE",
            driver=drivers[replica],
        ),
        Step(
            f"OUTAGE: {home}'s Connect API answers 503; fail over with the {replica} stack",
            outage_then_failover,
            "UPDATE_COMPLETE",
            no_call_to(home, everything_in(replica)),
            driver=drivers[replica],
        ),
        Step(
            f"{home} is back: fail back with the {home} stack",
            recovered_then_failback,
            "UPDATE_COMPLETE",
            everything_in(home),
            driver=drivers[home],
        ),
        Step(f"delete the {replica} stack", drivers[replica].delete_stack, "DELETE_COMPLETE", driver=drivers[replica]),
        Step(f"delete the {home} stack", drivers[home].delete_stack, "DELETE_COMPLETE", driver=drivers[home]),
        Step("delete the group", group_stack.delete_stack, "DELETE_COMPLETE", driver=group_stack),
    ]
    print(f"\n=== stacks {name}-* (the outage runbook) ===")
    problems = run_steps(name, steps, group_stack, emulator)
    for driver in (group_stack, *drivers.values()):
        problems += [f"{driver.stack_name}: protocol violation: {v}" for v in driver.violations]
    return problems


def report_leftovers(emulator: Emulator) -> list[str]:
    """What a stack left behind in Connect, EventBridge and Lambda (default groups belong to their instance)."""
    groups = emulator.groups()
    rules, permissions = emulator.rules(), emulator.permissions()
    print("\n=== emulator state at the end ===")
    for group in groups:
        print(f"  group {group['Name']} {group['Status']} default={group['IsDefault']} {group['Arn']}")
    print(f"  polling rules left: {len(rules)}; Lambda permissions left: {len(permissions)}")
    print(f"  Connect calls: {len(emulator.calls(service='connect'))}")
    problems = [f"group left behind: {g['Arn']}" for g in groups if not g["IsDefault"]]
    problems += [f"polling rule left behind: {r['Name']}" for r in rules]
    problems += [f"Lambda permission left behind: {p['StatementId']}" for p in permissions]
    problems += [f"emulator internal error: {e}" for e in emulator.internal_errors()]
    return problems


if __name__ == "__main__":
    sys.exit(main())
