"""`make local`: run your own template's custom resources against the emulator: create, update, delete.

    python -m local.cli.run TEMPLATE [--params "Key=Value ..."] [--update-params "Key=Value ..."] [--region R]

The real handler answers the local HTTPS ResponseServer and calls the Connect emulator, as in `make demo`,
with the same timeline and checks. Connect instances named in the parameters exist in the emulator: an
instance ARN makes that instance (replicated, in the ARN's region), as does an id given in a parameter
whose name contains "Instance" (in the stack's region); a traffic distribution group ARN becomes the
default group of the instance in its region. It exits non-zero when an operation does not complete: a
refusal, a rollback, a failed delete, a protocol violation, or anything left behind.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.cli.demo import EXPORT
from local.cli.report import Report, Step
from local.cloudformation.template import Resolver, resolve_parameters

from local.cloudformation import (
    ResponseServer,
    StackDriver,
    TemplateError,
    is_custom_resource,
    load_template,
)
from local.emulator import Emulator
from local.runtime import LambdaFunction

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ACCOUNT = "123456789012"
_INSTANCE_ARN = re.compile(r"^arn:aws[a-z-]*:connect:([a-z0-9-]+):(\d{12}):instance/([a-zA-Z0-9_-]+)$")
_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:connect:([a-z0-9-]+):(\d{12}):traffic-distribution-group/([a-f0-9-]{36})$")
_ID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# Where an instance is replicated to when no other region is named: its Global Resiliency partner.
PARTNERS = {
    "us-east-1": "us-west-2",
    "us-west-2": "us-east-1",
    "eu-central-1": "eu-west-2",
    "eu-west-2": "eu-central-1",
}


@dataclass
class World:
    """The Connect instances (and their default groups) that the parameters name, by home region."""

    account: str = DEFAULT_ACCOUNT
    instances: dict[str, str] = field(default_factory=dict)  # region -> instance id ("" = a new one)
    default_groups: dict[str, str] = field(default_factory=dict)  # region -> group id
    regions: list[str] = field(default_factory=list)  # every region the parameters name
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str], stack_region: str) -> World:
        world = cls()
        accounts: list[str] = []
        for name, value in parameters.items():
            for item in (part.strip() for part in value.split(",")):
                if instance := _INSTANCE_ARN.match(item):
                    region, account, instance_id = instance.groups()
                    world._add(world.instances, region, instance_id, f"instance {item}")
                    accounts.append(account)
                elif group := _GROUP_ARN.match(item):
                    region, account, group_id = group.groups()
                    world._add(world.default_groups, region, group_id, f"group {item}")
                    accounts.append(account)
                elif "instance" in name.lower() and _ID.match(item):
                    world._add(world.instances, stack_region, item, f"instance {item}")
                elif _REGION.match(item) and item not in world.regions:
                    world.regions.append(item)
        for region in world.default_groups:
            world.instances.setdefault(region, "")
        if accounts:
            world.account = accounts[0]
        if len(set(accounts)) > 1:
            world.notes.append(f"the emulator has one account, {world.account}: ARNs of other accounts are not found")
        return world

    def _add(self, table: dict[str, str], region: str, value: str, what: str) -> None:
        if table.setdefault(region, value) != value:
            self.notes.append(f"one instance per region: {what} is not made in the emulator")

    def replica_of(self, region: str) -> str:
        named = [other for other in self.regions if other != region]
        return named[0] if named else PARTNERS.get(region, "us-east-1" if region != "us-east-1" else "us-west-2")

    def make(self, emulator: Emulator) -> list[str]:
        """Add the instances to the emulator; what was made, one line each."""
        made = []
        for region, instance_id in self.instances.items():
            replica = self.replica_of(region)
            try:
                arn = emulator.add_instance(
                    instance_id or None,
                    home_region=region,
                    replica_region=replica,
                    default_group_id=self.default_groups.get(region),
                )
            except ValueError as error:  # the same id twice, in two regions
                made.append(f"note: instance {instance_id} in {region} is not made: {error}")
                continue
            default = next(g for g in emulator.groups() if g["IsDefault"] and g["InstanceArn"] == arn)
            made.append(f"{arn} in {region}, replicated to {replica}; default group {default['Arn']}")
        return made


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        template = load_template(Path(args.template))
        params = _pairs(args.params)
        update_params = {**params, **_pairs(args.update_params)}
    except (OSError, TemplateError, ValueError) as error:
        print(f"make local: {error}")
        return 2
    report = Report(verbose=args.verbose)
    region = args.region or _first_region(params) or "us-east-1"
    declared = {**_defaults(template), **params, **update_params}
    world = World.from_parameters(declared, region)
    problems: list[str] = []
    emulator = Emulator(creation_delay=1.0, deletion_delay=0.5, update_delay=0.5, account_id=world.account)
    with emulator, ResponseServer(region=region) as server:
        report.line(f"=== {args.template} in {region} (account {world.account}), against the local emulator ===", 0)
        for line in world.make(emulator) + [f"note: {note}" for note in world.notes]:
            report.line(report.text(line), indent=2)
        driver = _driver(server, emulator, template, params, region, world.account)
        update = update_params if args.update_params else None
        problems += _operations(report, driver, emulator, template, params, update)
        problems += [f"protocol violation: {violation}" for violation in driver.violations]
        print("\n    timeline:")
        report.timeline(driver)
        problems += report.leftovers(emulator)
    return report.verdict(
        problems,
        failed="LOCAL RUN FAILED: {count} problem(s)",
        ok="LOCAL RUN OK: every operation completed, nothing was left behind.",
    )


def _operations(
    report: Report,
    driver: StackDriver,
    emulator: Emulator,
    template: Mapping[str, Any],
    params: Mapping[str, str],
    update_params: Mapping[str, str] | None,
) -> list[str]:
    """Create; update if asked and the create completed; then delete whatever exists. Each step as in the demo."""
    name = driver.stack_name
    create = Step("create", lambda: driver.create_stack(template, params), "CREATE_COMPLETE")
    problems = report.run_steps(name, [create], driver, emulator)
    _print_native(report, driver)
    stack = driver.stack
    if update_params is not None and stack is not None and stack.status == "CREATE_COMPLETE":
        update = Step("update", lambda: driver.update_stack(template, update_params), "UPDATE_COMPLETE")
        problems += report.run_steps(name, [update], driver, emulator)
    if driver.stack is not None and driver.stack.status != "DELETE_COMPLETE":
        problems += report.run_steps(name, [Step("delete", driver.delete_stack, "DELETE_COMPLETE")], driver, emulator)
    problems += [
        f"{rec.operation} {rec.request_type} {rec.logical_id} FAILED: {rec.reason}"
        for rec in driver.requests
        if rec.status == "FAILED"
    ]
    return problems


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make local",
        description="Run TEMPLATE's custom resources against the local Connect emulator: create, update, delete.",
    )
    parser.add_argument("template", help="the consumer stack's template (YAML or JSON)")
    parser.add_argument("--params", default="", help='parameters, "Key=Value Key2=Value2" (shell quoting works)')
    parser.add_argument("--update-params", default="", help="parameters to change in an update after the create")
    parser.add_argument("--region", default="", help="the stack's region (default: the first instance ARN's)")
    parser.add_argument(
        "--verbose", action="store_true", help="full ARNs, every !GetAtt after every step, full timeline"
    )
    return parser.parse_args(argv)


def _pairs(text: str) -> dict[str, str]:
    pairs = {}
    for token in shlex.split(text):
        key, equals, value = token.partition("=")
        if not equals or not key:
            raise ValueError(f"{token!r} is not Key=Value")
        pairs[key] = value
    return pairs


def _defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, Mapping) and "Default" in spec
    }


def _first_region(params: Mapping[str, str]) -> str | None:
    return next((found.group(1) for v in params.values() if (found := _INSTANCE_ARN.match(v))), None)


def _driver(
    server: ResponseServer,
    emulator: Emulator,
    template: Mapping[str, Any],
    params: Mapping[str, str],
    region: str,
    account: str,
) -> StackDriver:
    """A driver whose ServiceTokens, however the template gives them, reach the real handler."""
    function = LambdaFunction(
        code_dir=ROOT / "src" / "handler",
        timeout_s=900,
        region=region,
        account_id=account,
        ssl_cert_file=server.ca_pem_path,
        endpoint_url=emulator.endpoint_url,
        warm=True,
    )
    driver = StackDriver(server, stack_name="local-stack", region=region, account_id=account, rules_source=emulator)
    driver.register(function, export_name=EXPORT)
    for token in _service_tokens(template, params, region, account):
        if token.startswith("arn:"):
            driver.functions[token] = function
        else:
            driver.register(function, export_name=token)
    return driver


def _service_tokens(template: Mapping[str, Any], params: Mapping[str, str], region: str, account: str) -> set[str]:
    """The export names the custom resources import as ServiceToken, and the ARNs they give literally."""
    try:
        resolver = Resolver(
            parameters=resolve_parameters(template, params),
            pseudo={"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"},
            resources=[],
            ref_resource=lambda _: None,
            get_att=lambda *_: None,
        )
    except TemplateError:
        return set()  # the create step reports it as CloudFormation would
    tokens = set()
    for resource in _custom_resources(template):
        token = (resource.get("Properties") or {}).get("ServiceToken")
        try:
            if isinstance(token, Mapping) and "Fn::ImportValue" in token:
                tokens.add(str(resolver.resolve(token["Fn::ImportValue"])))
            elif isinstance(token, str) and token.startswith("arn:"):
                tokens.add(token)
        except TemplateError:
            continue
    return tokens


def _custom_resources(template: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for resource in (template.get("Resources") or {}).values():
        if isinstance(resource, Mapping) and is_custom_resource(str(resource.get("Type", ""))):
            yield resource


def _print_native(report: Report, driver: StackDriver) -> None:
    stack = driver.stack
    if stack is None or not stack.ignored:
        return
    print()
    for logical_id in stack.ignored:
        resource_type = stack.template.get("Resources", {}).get(logical_id, {}).get("Type", "?")
        report.line(f"{logical_id} ({resource_type}): not played locally; its !Ref and !GetAtt are placeholders.")


if __name__ == "__main__":
    sys.exit(main())
