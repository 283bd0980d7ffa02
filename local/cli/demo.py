"""`make demo`: the example consumer stacks' whole life, run locally against the emulator.

The real handler (src/handler/app.py) runs in execution environments that are kept warm between invocations, as
Lambda keeps them (a new one for each concurrent invocation, and after a timeout or a crash), talks to the Connect
emulator through boto3's standard AWS_ENDPOINT_URL, and answers the local HTTPS ResponseServer. Every
step says what CloudFormation should end in; the demo exits non-zero if anything deviates. `--verbose`
prints full ARNs, every attribute after every step and the full timeline (local/cli/report.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.cli.report import Report, Step, short

from local.cloudformation import ResponseServer, StackDriver, load_template
from local.emulator import Emulator
from local.runtime import LambdaFunction

ROOT = Path(__file__).resolve().parents[2]
EXPORT = "connect-tdg-provider-ServiceToken"
AGENT_REPLICA_LAG_S = 5.0  # a new user's replication, shortened from minutes
STATUS = [sys.executable, "-m", "operate", "status"]  # make status, with src/handler on PYTHONPATH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.cli.demo",
        description="The example stacks' whole life against the local Connect emulator (make demo): "
        "create, update, replacement, a rollback, failover and failback (sign-in moved with the traffic), an "
        "outage of one region, the status command (make status) before, during and after the outage, an automated "
        "failover on an alarm, a number's flow and cross-region routing, an agent made in the stack, the whole "
        "Global Resiliency setup (replica, numbers, agents), delete.",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="full ARNs, every !GetAtt value after every step, the full timeline"
    )
    report = Report(verbose=parser.parse_args(argv).verbose)
    with Emulator(creation_delay=1.0, deletion_delay=0.5, update_delay=0.5) as emulator, ResponseServer() as server:
        instance_arn = emulator.add_instance(home_region="us-east-1", replica_region="us-west-2")
        default_group = next(g["Arn"] for g in emulator.groups() if g["IsDefault"])
        function = LambdaFunction(
            code_dir=ROOT / "src" / "handler",
            timeout_s=900,
            ssl_cert_file=server.ca_pem_path,
            endpoint_url=emulator.endpoint_url,
            warm=True,
        )
        problems: list[str] = []
        problems += run_stack(report, "connect-tdg-example", _lifecycle_steps(instance_arn), server, function, emulator)
        problems += run_stack(
            report,
            "connect-failover",
            _failover_steps(instance_arn, default_group, emulator),
            server,
            function,
            emulator,
        )
        problems += run_outage(report, instance_arn, server, emulator)
        emulator.set_user_replica_lag(AGENT_REPLICA_LAG_S)
        problems += run_stack(
            report, "connect-agents", _agents_steps(emulator, instance_arn), server, function, emulator
        )
        emulator.set_user_replica_lag(0)
        problems += run_stack(
            report, "connect-number-flow", _number_flow_and_routing_steps(emulator), server, function, emulator
        )
        problems += run_stack(
            report,
            "connect-automated-failover",
            _automated_failover_steps(instance_arn, default_group, emulator),
            server,
            function,
            emulator,
        )
        problems += run_stack(
            report,
            "connect-global-resiliency",
            _global_resiliency_steps(emulator),
            server,
            # A short timeout, so that replication outlives the first invocation as it does on AWS.
            LambdaFunction(
                code_dir=ROOT / "src" / "handler",
                timeout_s=8,
                ssl_cert_file=server.ca_pem_path,
                endpoint_url=emulator.endpoint_url,
                warm=True,
            ),
            emulator,
        )
        problems += report.leftovers(emulator)
    return report.verdict(
        problems,
        failed="DEMO FAILED: {count} deviation(s)",
        ok="DEMO OK: every step ended as CloudFormation should, nothing was left behind.",
    )


def run_stack(
    report: Report,
    name: str,
    steps: Callable[[StackDriver], list[Step]],
    server: ResponseServer,
    function: LambdaFunction,
    emulator: Emulator,
) -> list[str]:
    driver = StackDriver(server, stack_name=name, rules_source=emulator, native_endpoint_url=emulator.endpoint_url)
    driver.register(function, export_name=EXPORT)
    problems: list[str] = []
    print(f"\n=== stack {name} ===")
    problems += report.run_steps(name, steps(driver), driver, emulator)
    problems += [f"{name}: protocol violation: {v}" for v in driver.violations]
    print(f"\n    timeline of {name}:")
    report.timeline(driver)
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
                "failover: all telephony, agents and sign-in to us-west-2",
                lambda: driver.update_stack(template, params("us-west-2")),
                "UPDATE_COMPLETE",
                all_of(telephony_in("us-west-2"), sign_in_only_in(emulator, default_group, "us-west-2")),
            ),
            Step(
                "failback to us-east-1",
                lambda: driver.update_stack(template, params("us-east-1")),
                "UPDATE_COMPLETE",
                all_of(telephony_in("us-east-1"), sign_in_only_in(emulator, default_group, "us-east-1")),
            ),
            Step("delete (the default group's traffic stays as it is)", driver.delete_stack, "DELETE_COMPLETE"),
        ]

    return steps


def all_of(*checks: Callable[[], list[str]]) -> Callable[[], list[str]]:
    return lambda: [problem for check in checks for problem in check()]


def sign_in_only_in(emulator: Emulator, default_group: str, region: str) -> Callable[[], list[str]]:
    """The default group lets agents sign in only where the traffic went: the admin guide
    (update-agents-across-regions) recommends SignInConfig false for the region a full shift moves away from."""

    def check() -> list[str]:
        sign_in = emulator.group(default_group)["Distribution"]["SignInConfig"]["Distributions"]
        enabled = sorted(d["Region"] for d in sign_in if d["Enabled"])
        return [] if enabled == [region] else [f"sign-in is enabled in {enabled}, expected only in {region}"]

    return check


def _agents_steps(emulator: Emulator, instance_arn: str) -> Callable[[StackDriver], list[Step]]:
    """examples/agents.yaml: a user made in the stack, associated with the stack's group once it has reached the
    replica (the user replica lag), beside the flows, queue and profiles a real template declares."""
    template = load_template(ROOT / "examples" / "agents.yaml")

    def associated() -> list[str]:
        groups = [g for g in emulator.groups() if g["Name"] == "support-tdg"]
        users = [r["Id"] for r in emulator.instance_resources() if r["Kind"] == "User"]
        return [] if groups and users and groups[0]["Users"] == users else [f"the agent is not associated: {groups}"]

    def steps(driver: StackDriver) -> list[Step]:
        return [
            Step(
                "create: the agent waits to reach the replica, then joins the group",
                lambda: driver.create_stack(template, {"ConnectInstanceArn": instance_arn}),
                "CREATE_COMPLETE",
                associated,
            ),
            Step("delete", driver.delete_stack, "DELETE_COMPLETE"),
        ]

    return steps


def _automated_failover_steps(
    instance_arn: str, default_group: str, emulator: Emulator
) -> Callable[[StackDriver], list[Step]]:
    """The failover function (failover_app.py, EnableAutomatedFailover) with examples/failover.yaml: us-east-1's
    Connect goes down, an alarm fires in us-west-2, its failover function moves calls, agents and sign-in there
    without a call to us-east-1; a tags-only stack update leaves them there; a stack update of the distribution
    fails back."""
    home, replica, alarm = "us-east-1", "us-west-2", "connect-partner-impaired-us-west-2"
    template = load_template(ROOT / "examples" / "failover.yaml")
    retagged = copy.deepcopy(template)
    retagged["Resources"]["FailoverTdg"]["Properties"]["Tags"] = [{"Key": "team", "Value": "voice"}]
    groups: list[str] = []
    marks: dict[str, int] = {}
    said: list[str] = []  # the failover function's log lines, one per group, printed under its step

    def params(active: str) -> dict[str, str]:
        return {"ConnectInstanceArn": instance_arn, "DefaultTdgArn": default_group, "ActiveRegion": active}

    def create(driver: StackDriver) -> None:
        stack = driver.create_stack(template, params(home))
        groups[:] = [stack.outputs.get("FailoverTdgArn", ""), default_group]

    def home_down() -> None:
        emulator.set_outage(home, "503")
        marks["outage"] = len(emulator.calls(service="connect"))

    def alarm_fires() -> None:
        function = LambdaFunction(
            code_dir=ROOT / "src" / "handler",
            handler="failover_app.handler",
            # The demo's earlier stacks moved the default group seconds ago: with the cooldown (10 minutes by
            # default), the alarm would rightly hold it back (docs/failover.md) and leave the operator to decide.
            env={
                "FAILOVER_GROUP_ARNS": ",".join(groups),
                "FAILOVER_ALARM_NAMES": alarm,
                "FAILOVER_COOLDOWN_MINUTES": "0",
            },
            timeout_s=300,
            function_name="connect-tdg-failover",
            region=replica,
            endpoint_url=emulator.endpoint_url,
        )
        event = emulator.set_alarm_state(replica, alarm, "ALARM", rule='ALARM("connect-probe-partner")')
        assert event is not None
        invocation = function.invoke(event)  # what the alarm rule of template.yaml delivers
        for line in invocation.logs.splitlines():
            record = json.loads(line) if line.startswith("{") else {}
            if record.get("message") == "Group failover":
                said.append(f"failover function: {short(record['Group'])} {record['Outcome']} into {record['Into']}")
        if invocation.failed:
            said.append(f"failover function FAILED: {invocation.error}")

    def everything_in(region: str) -> Callable[[], list[str]]:
        def check() -> list[str]:
            problems = []
            for arn in groups:
                distribution = emulator.group(arn)["Distribution"]
                for config in ("TelephonyConfig", "AgentConfig"):
                    shares = {d["Region"]: d["Percentage"] for d in distribution[config]["Distributions"]}
                    if shares.get(region) != 100:
                        problems.append(f"{short(arn)} {config} is {shares}, expected 100% in {region}")
            return problems

        return check

    def sign_in_only_in_replica() -> list[str]:
        sign_in = emulator.group(default_group)["Distribution"]["SignInConfig"]["Distributions"]
        enabled = {d["Region"]: d["Enabled"] for d in sign_in}
        return [] if enabled == {replica: True, home: False} else [f"sign-in is {enabled}, expected {replica} only"]

    def moved_by_the_function() -> list[str]:
        sent = [c for c in emulator.calls(service="connect")[marks["outage"] :] if c["region"] == home]
        problems = [f"{len(sent)} Connect call(s) went to {home}, which is down"] * bool(sent)
        for line in said:
            print(f"    {line}")
        problems += [line for line in said if "FAILED" in line]
        return problems + everything_in(replica)() + sign_in_only_in_replica()

    def left_in_replica() -> list[str]:
        moved = emulator.calls("UpdateTrafficDistribution")[marks["retag"] :]
        return [f"{len(moved)} UpdateTrafficDistribution call(s) moved traffic"] * bool(moved) + everything_in(
            replica
        )()

    def back_up_then_retag(driver: StackDriver) -> None:
        emulator.set_outage(home, None)
        marks["retag"] = len(emulator.calls("UpdateTrafficDistribution"))
        driver.update_stack(retagged, params(home))

    def steps(driver: StackDriver) -> list[Step]:
        return [
            Step(f"create: all calls and agents in {home}", lambda: create(driver), "CREATE_COMPLETE"),
            Step(f"1. OUTAGE: {home}'s Connect API answers 503", home_down, "CREATE_COMPLETE"),
            Step(
                f"2. the alarm {alarm} enters ALARM; 3. the failover function in {replica} moves calls, agents "
                "and sign-in there",
                alarm_fires,
                "CREATE_COMPLETE",
                moved_by_the_function,
            ),
            Step(
                f"4. {home} is back; a tags-only stack update leaves the calls in {replica}",
                lambda: back_up_then_retag(driver),
                "UPDATE_COMPLETE",
                left_in_replica,
            ),
            Step(
                f"5. fail back by stack update: first the stack records where the calls are (ActiveRegion={replica})",
                lambda: driver.update_stack(retagged, params(replica)),
                "UPDATE_COMPLETE",
                everything_in(replica),
            ),
            Step(
                f"   then the distribution moves back (ActiveRegion={home})",
                lambda: driver.update_stack(retagged, params(home)),
                "UPDATE_COMPLETE",
                everything_in(home),
            ),
            Step("delete (the default group's traffic stays as it is)", driver.delete_stack, "DELETE_COMPLETE"),
        ]

    return steps


def _global_resiliency_steps(emulator: Emulator) -> Callable[[StackDriver], list[Step]]:
    """examples/global-resiliency.yaml from a single instance: replica (through scheduled polling),
    default group, group, phone number and two agents; failover; then delete, leaving the instance."""
    template = load_template(ROOT / "examples" / "global-resiliency.yaml")
    source = emulator.add_instance(home_region="us-east-1", replica_region=None, alias="single")
    agents = [emulator.add_user(source), emulator.add_user(source)]
    flow = emulator.add_contact_flow(source)
    emulator.set_delays(replication=12.0)

    def params(active: str) -> dict[str, str]:
        return {
            "SourceInstanceArn": source,
            "ReplicaAlias": "single-west",
            "AgentUserIds": ",".join(agents),
            "ActiveRegion": active,
            "ContactFlowArn": flow,
        }

    def replicated() -> list[str]:
        replica = emulator.instance(source)["Replica"]
        status = replica["Status"] if replica else None
        return [] if status == "INSTANCE_REPLICATION_COMPLETE" else [f"replica is {status}"]

    def nothing_but_the_instance() -> list[str]:
        problems = [f"replica still there: {emulator.instance(source)['Replica']}"] * bool(
            emulator.instance(source)["Replica"]
        )
        problems += [f"production instance deleted: {i['Arn']}" for i in emulator.deleted_instances()]
        problems += [f"number left: {n['Number']}" for n in emulator.phone_numbers()]
        return problems

    def steps(driver: StackDriver) -> list[Step]:
        return [
            Step(
                "create: replica, groups, number, agents",
                lambda: driver.create_stack(template, params("Primary")),
                "CREATE_COMPLETE",
                replicated,
            ),
            Step(
                "failover to the replica region",
                lambda: driver.update_stack(template, params("Replica")),
                "UPDATE_COMPLETE",
            ),
            Step(
                "delete (the replica too; the instance stays)",
                driver.delete_stack,
                "DELETE_COMPLETE",
                nothing_but_the_instance,
            ),
        ]

    return steps


def show_status(
    report: Report,
    instance_arn: str,
    emulator: Emulator,
    *,
    region: str,
    expect: tuple[int, list[str]],
    then: Callable[[], list[str]] = list,
) -> Callable[[], list[str]]:
    """A check that runs ``then``, then the status command (make status) reading ``region`` first, prints what it
    shows, and says whether its exit status and finding codes are ``expect``."""

    def check() -> list[str]:
        problems = then()
        started = time.monotonic()
        # The emulator enforces no quota in the demo: 20 requests a second keeps the demo short.
        done = subprocess.run(
            [*STATUS, "--instance", instance_arn, "--region", region, "--format", "json", "--rate", "20"],
            env={
                **os.environ,
                "AWS_ENDPOINT_URL_CONNECT": emulator.endpoint_url,
                "PYTHONPATH": str(ROOT / "src" / "handler"),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if not done.stdout:
            return [*problems, f"status: exit {done.returncode}: {done.stderr.strip()}"]
        document = json.loads(done.stdout)
        report.line(f"make status REGION={region}: exit {done.returncode} in {time.monotonic() - started:.1f} s")
        report.line(", ".join(f"{r} {state}" for r, state in document["regions"].items()), indent=8)
        for group in document["groups"]:
            shares = ", ".join(
                f"{r} {group['telephony'][r]}/{group['agents'][r]} %" for r in document["regions"] if group["telephony"]
            )
            signed = (
                f"; sign-in in {', '.join(r for r, on in group['signIn'].items() if on)}" if group["signIn"] else ""
            )
            report.line(f"{group['name']}: calls/agents {shares}{signed}", indent=8)
        found = [f"{f['code']} ({f['severity']})" for f in document["findings"]]
        report.line(f"findings: {', '.join(found) or 'none'}", indent=8)
        codes = [f["code"] for f in document["findings"]]
        if (done.returncode, codes) != expect:
            problems.append(f"status: exit {done.returncode} with {codes}, expected exit {expect[0]} with {expect[1]}")
        return problems

    return check


def _number_flow_and_routing_steps(emulator: Emulator) -> Callable[[StackDriver], list[Step]]:
    """A number claimed to a group and the flow that answers it, set in place when it changes; the regions of an
    instance with global routing isolated, then routed again; delete, which removes the flow and the isolation."""
    instance = emulator.add_instance(home_region="us-east-1", replica_region="us-west-2", global_routing=True)
    greeting, after_hours = emulator.add_contact_flow(instance), emulator.add_contact_flow(instance)

    def token() -> dict[str, Any]:
        return {"Fn::ImportValue": EXPORT}

    def template(flow: str, isolated: bool) -> dict[str, Any]:
        return {
            "Resources": {
                "Tdg": {
                    "Type": "Custom::TrafficDistributionGroup",
                    "Properties": {"ServiceToken": token(), "Name": "numbers", "InstanceId": instance},
                },
                "PhoneNumber": {
                    "Type": "AWS::Connect::PhoneNumber",
                    "Properties": {"TargetArn": {"Ref": "Tdg"}, "CountryCode": "US", "Type": "DID"},
                },
                "NumberFlow": {
                    "Type": "Custom::PhoneNumberContactFlowAssociation",
                    "Properties": {
                        "ServiceToken": token(),
                        "PhoneNumberId": {"Ref": "PhoneNumber"},
                        "InstanceId": instance,
                        "ContactFlowId": flow,
                    },
                },
                "Routing": {
                    "Type": "Custom::CrossRegionRouting",
                    "Properties": {"ServiceToken": token(), "InstanceId": instance, "IsolatedAll": isolated},
                },
            }
        }

    def answered_by(flow: str, isolated: bool) -> Callable[[], list[str]]:
        def check() -> list[str]:
            numbers = [n for n in emulator.phone_numbers() if n["InstanceId"] == instance.rsplit("/", 1)[-1]]
            problems = [
                f"number {n['Number']} has flow {n['ContactFlowId']}"
                for n in numbers
                if n["ContactFlowId"] != flow.rsplit("/", 1)[-1]
            ]
            problems += [] if numbers else ["no number claimed"]
            if emulator.instance(instance)["IsolatedAll"] is not isolated:
                problems.append(f"IsolatedAll is {emulator.instance(instance)['IsolatedAll']}, expected {isolated}")
            return problems

        return check

    def nothing_isolated_no_number() -> list[str]:
        left = [n["Number"] for n in emulator.phone_numbers() if n["InstanceId"] == instance.rsplit("/", 1)[-1]]
        problems = [f"number left: {number}" for number in left]
        return problems + ["the regions are still isolated"] * emulator.instance(instance)["IsolatedAll"]

    def steps(driver: StackDriver) -> list[Step]:
        return [
            Step(
                "create: a number, its flow, and the regions isolated",
                lambda: driver.create_stack(template(greeting, True)),
                "CREATE_COMPLETE",
                answered_by(greeting, True),
            ),
            Step(
                "another flow (set in place, no disassociation)",
                lambda: driver.update_stack(template(after_hours, True)),
                "UPDATE_COMPLETE",
                answered_by(after_hours, True),
            ),
            Step(
                "route contacts across regions again",
                lambda: driver.update_stack(template(after_hours, False)),
                "UPDATE_COMPLETE",
                answered_by(after_hours, False),
            ),
            Step(
                "isolate again",
                lambda: driver.update_stack(template(after_hours, True)),
                "UPDATE_COMPLETE",
                answered_by(after_hours, True),
            ),
            Step(
                "delete (ends the isolation, removes the flow, releases the number)",
                driver.delete_stack,
                "DELETE_COMPLETE",
                nothing_isolated_no_number,
            ),
        ]

    return steps


def run_outage(report: Report, instance_arn: str, server: ResponseServer, emulator: Emulator) -> list[str]:
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
            warm=True,
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

    # The failover stack before this one left the default group's sign-in only where its traffic is, as the admin
    # guide recommends for a full shift (update-agents-across-regions): the status has no sign-in warning, and an
    # outage is an error.

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
            show_status(report, instance_arn, emulator, region=home, expect=(0, [])),
            driver=drivers[replica],
        ),
        Step(
            f"OUTAGE: {home}'s Connect API answers 503; fail over with the {replica} stack",
            outage_then_failover,
            "UPDATE_COMPLETE",
            show_status(
                report,
                instance_arn,
                emulator,
                region=replica,
                expect=(1, ["region-unreachable"]),
                then=no_call_to(home, everything_in(replica)),
            ),
            driver=drivers[replica],
        ),
        Step(
            f"{home} is back: fail back with the {home} stack",
            recovered_then_failback,
            "UPDATE_COMPLETE",
            show_status(report, instance_arn, emulator, region=home, expect=(0, []), then=everything_in(home)),
            driver=drivers[home],
        ),
        Step(f"delete the {replica} stack", drivers[replica].delete_stack, "DELETE_COMPLETE", driver=drivers[replica]),
        Step(f"delete the {home} stack", drivers[home].delete_stack, "DELETE_COMPLETE", driver=drivers[home]),
        Step("delete the group", group_stack.delete_stack, "DELETE_COMPLETE", driver=group_stack),
    ]
    print(f"\n=== stacks {name}-* (the outage runbook) ===")
    problems = report.run_steps(name, steps, group_stack, emulator)
    for driver in (group_stack, *drivers.values()):
        problems += [f"{driver.stack_name}: protocol violation: {v}" for v in driver.violations]
    return problems


if __name__ == "__main__":
    sys.exit(main())
