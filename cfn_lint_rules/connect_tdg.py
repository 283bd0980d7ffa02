"""cfn-lint rules for the provider's resource types: ``cfn-lint --append-rules cfn_lint_rules TEMPLATE``.

cfn-lint checks native types against their schemas but cannot see into ``Custom::`` properties. These
rules run the provider's own validation (the ``parse_*_properties`` functions of
src/handler/properties.py) on every resource of its types, so a template passes the linter exactly
when the provider would accept its properties:

- E9101  the provider would reject the properties (the message is the provider's own Reason);
- E9102  ServiceToken is missing or empty;
- W9101  no ServiceTimeout: CloudFormation then waits an hour for an answer that may never come;
- W9102  a group's Description names a region: Connect cannot change it in place, so fixing it later
         replaces the group.

A value that is an intrinsic function (``!Ref``, ``!Sub``, ``!GetAtt``, ``!ImportValue``...) cannot be
known before deployment. ``!If`` is played out for every combination of Conditions; any other function
is replaced by a stand-in that the provider accepts and that keeps every known value's checks as they
are (``knowable``), so an error is reported only when it does not depend on what cannot be known.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

# cfn-lint loads this file by its path: make the handler's modules importable, from this clone.
_HANDLER = str(Path(__file__).resolve().parents[1] / "src" / "handler")
if _HANDLER not in sys.path:
    sys.path.insert(0, _HANDLER)

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # noqa: E402
from cfnlint.template import Template  # noqa: E402

import regions  # noqa: E402
from errors import ProviderError  # noqa: E402
from properties import (  # noqa: E402
    parse_distribution_properties,
    parse_group_properties,
    parse_group_user_properties,
    parse_number_flow_properties,
    parse_replica_properties,
    parse_routing_properties,
)
from refs import FlowRef, GroupRef, InstanceRef, PhoneNumberRef  # noqa: E402

# The provider's types (resources.TYPES; the tests check they agree).
GROUP_TYPE, DISTRIBUTION_TYPE = "Custom::TrafficDistributionGroup", "Custom::TrafficDistribution"
REPLICA_TYPE, USER_TYPE = "Custom::InstanceReplica", "Custom::TrafficDistributionGroupUser"
NUMBER_FLOW_TYPE, ROUTING_TYPE = "Custom::PhoneNumberContactFlowAssociation", "Custom::CrossRegionRouting"
PROVIDER_TYPES = [GROUP_TYPE, DISTRIBUTION_TYPE, REPLICA_TYPE, USER_TYPE, NUMBER_FLOW_TYPE, ROUTING_TYPE]
CONFIGS = {"TelephonyConfig": "Percentage", "AgentConfig": "Percentage", "SignInConfig": "Enabled"}
# The stand-in for an unknown region that need not be the home region; it matches the provider's region rule.
UNKNOWN_REGION = "zz-unknown-{}"
_REGION_IN_TEXT = re.compile(r"\b[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central)+-\d\b")
Props = dict[str, Any]
Matches = list[RuleMatch]


class _ProviderResources(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no type information
    """What the rules share: the resources of the provider's types."""

    tags: ClassVar[list[str]] = ["resources", "custom", "connect"]
    source_url = "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/custom_rules.md"

    def resources(self, cfn: Template) -> Iterator[tuple[str, Props, Props]]:
        """(logical id, resource, properties) of every resource of the provider's types, but those whose
        Properties as a whole are an intrinsic function: nothing can be known about them."""
        for logical_id, resource in cfn.get_resources(PROVIDER_TYPES).items():
            properties = resource.get("Properties")
            if not _is_function(properties):
                yield logical_id, resource, properties if isinstance(properties, dict) else {}


class ProviderWouldReject(_ProviderResources):
    id = "E9101"
    shortdesc = "Properties that connect-tdg-provider rejects"
    description = (
        "Runs the provider's own validation on its types: unknown properties, invalid values, region pairs, "
        "the shape and sums of distributions, SignInConfig on a group"
    )

    def match(self, cfn: Template) -> Matches:
        matches: Matches = []
        for logical_id, resource, properties in self.resources(cfn):
            failures: dict[str, list[Mapping[str, bool]]] = {}
            for scenario, props in scenarios(cfn, resource, properties):
                reason = rejection(str(resource["Type"]), props)
                if reason:
                    failures.setdefault(reason, []).append(scenario)
            for reason, when in failures.items():
                path = ["Resources", logical_id, "Properties", *_named_property(reason, properties)]
                matches.append(RuleMatch(path, f"{logical_id}: {reason}{_conditions(when)}"))
        return matches


class ServiceTokenRequired(_ProviderResources):
    id = "E9102"
    shortdesc = "ServiceToken of a connect-tdg-provider resource"
    description = "The provider's resources need its function's ARN as ServiceToken"

    def match(self, cfn: Template) -> Matches:
        return [
            RuleMatch(
                ["Resources", logical_id, "Properties"],
                f"{logical_id}: ServiceToken is missing or empty. Give the provider's function ARN, for example "
                "!ImportValue connect-tdg-provider-ServiceToken.",
            )
            for logical_id, _, properties in self.resources(cfn)
            if properties.get("ServiceToken") in (None, "")
        ]


class ServiceTimeoutAdvised(_ProviderResources):
    id = "W9101"
    shortdesc = "ServiceTimeout of a connect-tdg-provider resource"
    description = "Without ServiceTimeout, CloudFormation waits an hour for an answer that may never come"

    def match(self, cfn: Template) -> Matches:
        return [
            RuleMatch(
                ["Resources", logical_id, "Properties"],
                f"{logical_id}: no ServiceTimeout, so CloudFormation waits its default hour if an answer is lost. "
                "Set ServiceTimeout: 1800.",
            )
            for logical_id, _, properties in self.resources(cfn)
            if "ServiceTimeout" not in properties
        ]


class DescriptionWithoutRegions(_ProviderResources):
    id = "W9102"
    shortdesc = "Region names in a traffic distribution group's Description"
    description = "Connect cannot change a Description in place: when the regions change, the group is replaced"

    def match(self, cfn: Template) -> Matches:
        matches: Matches = []
        for logical_id, resource, properties in self.resources(cfn):
            description = properties.get("Description")
            text = description.get("Fn::Sub") if isinstance(description, dict) else description
            text = text[0] if isinstance(text, list) and text else text
            found = _REGION_IN_TEXT.search(text) if resource["Type"] == GROUP_TYPE and isinstance(text, str) else None
            if found:
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id, "Properties", "Description"],
                        f"{logical_id}: Description names the region {found.group()}. Connect cannot change a "
                        "Description in place, so correcting it later replaces the group (and needs a new Name). "
                        "Describe the group's purpose instead.",
                    )
                )
        return matches


# --- the provider's verdict -----------------------------------------------------------------------


def rejection(resource_type: str, props: Props) -> str | None:
    """The provider's Reason for rejecting ``props`` (as CloudFormation sends them), or None."""
    known, default_region, shown = knowable(props)
    parsers: dict[str, Callable[[], object]] = {
        GROUP_TYPE: lambda: parse_group_properties(known, default_region),
        DISTRIBUTION_TYPE: lambda: parse_distribution_properties(known),
        REPLICA_TYPE: lambda: parse_replica_properties(known, default_region),
        USER_TYPE: lambda: parse_group_user_properties(known, default_region),
        NUMBER_FLOW_TYPE: lambda: parse_number_flow_properties(known, default_region),
        ROUTING_TYPE: lambda: parse_routing_properties(known, default_region),
    }
    try:
        parsers[resource_type]()
    except ProviderError as error:
        if not shown:
            return error.reason
        stand_ins = "|".join(re.escape(stand_in) for stand_in in sorted(shown, key=len, reverse=True))
        return re.sub(rf"\b({stand_ins})\b", lambda found: shown[found.group()], error.reason)
    return None


def scenarios(cfn: Template, resource: Props, properties: Props) -> Iterator[tuple[Mapping[str, bool], Props]]:
    """The properties under each combination of the Conditions their ``!If``s use (and the resource's own)."""
    names: dict[str, set[bool] | None] = dict.fromkeys(_if_conditions(properties))
    if not names:
        yield {}, _played_out(properties, {})
        return
    if isinstance(resource.get("Condition"), str):
        names[resource["Condition"]] = {True}
    for scenario in cfn.conditions.build_scenarios(names):
        yield scenario, _played_out(properties, scenario)


def knowable(props: Props) -> tuple[Props, str, dict[str, str]]:
    """``props`` as CloudFormation would send them (every scalar a string), with each intrinsic function
    replaced by a stand-in the provider accepts, chosen so that the checks of known values stay as they
    are; the region to assume for a bare instance id (the function's region, which lint cannot know); and
    for each stand-in region, the function it stands for, to show in a Reason.

    - Name, Description, InstanceId: a valid stand-in. TrafficDistributionGroupId: a group ARN.
    - Tags: an unknown list is left out; an unknown key or value gets a unique valid stand-in.
    - A config or entry that is unknown as a whole becomes one whose Region and value are unknown. An
      unknown Region is the home region when the config does not name it yet, else a region no other
      entry names; an unknown Percentage takes what the known ones leave of 100; an unknown Enabled is true.
    - An unknown home region is assumed to be one that every config names or can name; when nothing
      names a region, the first source region of Connect's pairs. An unknown region that is not the
      home region is its partner (regions.py), so that the pair check judges only known regions.
    - ReplicaRegion, ReplicaAlias, UserId, PhoneNumberId, ContactFlowId, IsolatedAll: a valid stand-in (the
      partner of the home region for the first). An unknown InstanceId beside a known flow ARN is the flow's instance.
    """
    known: Props = {key: _stringify(value) for key, value in props.items()}
    configs = {name: entries for name in CONFIGS if (entries := _entries(known.get(name), CONFIGS[name])) is not None}
    known_home = _known_home(known)
    home = known_home or _assumed_home(list(configs.values()))
    counter = iter(range(1, 1_000_000))
    shown: dict[str, str] = {}
    for name, entries in configs.items():
        named = {_region(entry) for entry in entries} - {None}
        for entry in entries:
            if isinstance(entry, dict) and _is_function(entry.get("Region")):
                partner = regions.partner(home)
                if home not in named:
                    stand_in = home
                elif partner and partner not in named:
                    stand_in = partner
                else:
                    stand_in = UNKNOWN_REGION.format(next(counter))
                if stand_in != known_home:  # a Reason about the known home region names it
                    shown[stand_in] = _show(entry["Region"])
                entry["Region"] = stand_in
                named.add(stand_in)
        _fill_values(entries, CONFIGS[name])
        known[name] = {"Distributions": entries}
    stand_ins = {
        "Name": "unknown-name",
        "Description": "unknown-description",
        "InstanceId": "unknown",
        "ReplicaRegion": regions.partner(home) or UNKNOWN_REGION.format(next(counter)),
        "ReplicaAlias": "unknown-alias",
        "UserId": "00000000-0000-0000-0000-000000000000",
        "PhoneNumberId": "00000000-0000-0000-0000-000000000000",
        "ContactFlowId": "00000000-0000-0000-0000-000000000000",
        "IsolatedAll": "true",
    }
    flow = FlowRef.parse(known["ContactFlowId"]) if isinstance(known.get("ContactFlowId"), str) else None
    if flow is not None and flow.instance_id is not None:
        stand_ins["InstanceId"] = flow.instance_id  # the flow's instance: in the flow's region (_known_home)
    for key, stand_in in stand_ins.items():
        if _is_function(known.get(key)):
            if key == "ReplicaRegion":
                shown[stand_in] = _show(known[key])
            known[key] = stand_in
    if _is_function(known.get("TrafficDistributionGroupId")):
        known["TrafficDistributionGroupId"] = (
            f"arn:aws:connect:{home}:111122223333:traffic-distribution-group/00000000-0000-0000-0000-000000000000"
        )
    if "Tags" in known:
        tags = _known_tags(known["Tags"], counter)
        if tags is None:
            del known["Tags"]
        else:
            known["Tags"] = tags
    return known, home, shown


def _known_home(props: Props) -> str:
    """The home region a literal InstanceId ARN or TrafficDistributionGroupId ARN names, else the region of a known
    flow or number (for a bare or unknown InstanceId), else ""."""
    instance, group = props.get("InstanceId"), props.get("TrafficDistributionGroupId")
    if isinstance(instance, str):
        try:
            return InstanceRef.parse(instance, "").region or _region_of_flow_or_number(props)
        except ProviderError:
            return ""  # the provider says why, in rejection()
    ref = GroupRef.parse(group, "") if isinstance(group, str) else None
    return ref.region if ref else _region_of_flow_or_number(props)


def _region_of_flow_or_number(props: Props) -> str:
    """The region a literal ContactFlowId ARN, else PhoneNumberId ARN, names: where a bare InstanceId may be."""
    flow, number = props.get("ContactFlowId"), props.get("PhoneNumberId")
    found = FlowRef.parse(flow) if isinstance(flow, str) else None
    if found is not None and found.region:
        return found.region
    claimed = PhoneNumberRef.parse(number) if isinstance(number, str) else None
    return claimed.region if claimed is not None and claimed.region else ""


def _assumed_home(configs: list[list[Any]]) -> str:
    """An unknown home region: one that every config names, or can name through an unknown Region."""
    named = [[r for r in map(_region, entries) if r] for entries in configs]
    open_ = [any(isinstance(e, dict) and _is_function(e.get("Region")) for e in entries) for entries in configs]
    candidates = [region for regions in named for region in regions]
    for region in candidates:
        if all(region in regions or free for regions, free in zip(named, open_, strict=True)):
            return region
    return candidates[0] if candidates else next(iter(regions.REPLICA_REGION_OF))


def _entries(config: Any, key: str) -> list[Any] | None:
    """A config's entries, copied; an unknown config or entry has an unknown Region and value. None when the
    config is absent or of a shape the provider rejects anyway."""
    unknown = {"Region": {"Fn::Unknown": "a region"}, key: {"Fn::Unknown": key}}
    if _is_function(config) or (isinstance(config, dict) and _is_function(config.get("Distributions"))):
        return [dict(unknown), dict(unknown)]
    if not isinstance(config, dict) or not isinstance(config.get("Distributions"), list):
        return None
    return [
        dict(unknown) if _is_function(e) else dict(e) if isinstance(e, dict) else e for e in config["Distributions"]
    ]


def _region(entry: Any) -> str | None:
    region = entry.get("Region") if isinstance(entry, dict) else None
    return region if isinstance(region, str) else None


def _fill_values(entries: list[Any], key: str) -> None:
    unknown = [entry for entry in entries if isinstance(entry, dict) and _is_function(entry.get(key))]
    if key == "Enabled":
        for entry in unknown:
            entry[key] = "true"
        return
    known = [entry.get(key) for entry in entries if isinstance(entry, dict) and entry not in unknown]
    rest = 100 - sum(int(value) for value in known if isinstance(value, str) and value.isdigit())
    for index, entry in enumerate(unknown):
        entry[key] = str(rest) if index == 0 and 0 <= rest <= 100 and rest % 10 == 0 else "0"


def _known_tags(tags: Any, counter: Iterator[int]) -> Any:
    if _is_function(tags):
        return None
    if isinstance(tags, dict):
        return {key: "unknown" if _is_function(value) else value for key, value in tags.items()}
    if not isinstance(tags, list):
        return tags
    known = []
    for tag in tags:
        if _is_function(tag):
            continue
        if isinstance(tag, dict):
            tag = dict(tag)
            if _is_function(tag.get("Key")):
                tag["Key"] = f"unknown-key-{next(counter)}"
            if _is_function(tag.get("Value")):
                tag["Value"] = "unknown"
        known.append(tag)
    return known


# --- templates ------------------------------------------------------------------------------------


def _is_function(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key == "Ref" or key.startswith("Fn::")


def _show(function: Props) -> str:
    """An intrinsic function as a template would write it, shortly: !Ref PrimaryRegion."""
    ((name, argument),) = function.items()
    if name == "Fn::Unknown":
        return str(argument)
    if name == "Fn::GetAtt" and isinstance(argument, list):
        argument = ".".join(map(str, argument))
    return f"!{name.removeprefix('Fn::')} {argument if isinstance(argument, str) else '...'}"


def _stringify(value: Any) -> Any:
    """Every scalar a string, as CloudFormation sends custom resource properties; functions stay as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return str(value)  # cfn-lint's string nodes as plain strings
    if isinstance(value, dict):
        return {str(k): v if _is_function(value) else _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(item) for item in value]
    return value


def _if_conditions(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set().union(*(_if_conditions(v) for v in value.values())) if value else set()
        branch = value.get("Fn::If")
        if len(value) == 1 and isinstance(branch, list) and len(branch) == 3 and isinstance(branch[0], str):
            found.add(branch[0])
        return found
    if isinstance(value, list):
        return set().union(*(_if_conditions(v) for v in value)) if value else set()
    return set()


_REMOVED = object()


def _played_out(value: Any, scenario: Mapping[str, bool]) -> Any:
    """``value`` with every ``!If`` decided by ``scenario`` and ``AWS::NoValue`` removed."""
    if isinstance(value, dict):
        branch = value.get("Fn::If")
        if len(value) == 1 and isinstance(branch, list) and len(branch) == 3 and branch[0] in scenario:
            return _played_out(branch[1] if scenario[branch[0]] else branch[2], scenario)
        if value == {"Ref": "AWS::NoValue"}:
            return _REMOVED
        played = {k: _played_out(v, scenario) for k, v in value.items()}
        return {k: v for k, v in played.items() if v is not _REMOVED}
    if isinstance(value, list):
        return [v for v in (_played_out(item, scenario) for item in value) if v is not _REMOVED]
    return value


def _named_property(reason: str, properties: Props) -> list[str]:
    """The property a Reason is about (the first one it names), for the line number."""
    positions = {key: re.search(rf"\b{re.escape(key)}\b", reason) for key in properties}
    named = sorted((match.start(), key) for key, match in positions.items() if match)
    return [named[0][1]] if named else []


def _conditions(when: list[Mapping[str, bool]]) -> str:
    if not when or when == [{}]:
        return ""
    shown = (", ".join(f"{name} is {str(value).lower()}" for name, value in scenario.items()) for scenario in when)
    return " (when " + " or when ".join(shown) + ")"
