"""Template side of the local CloudFormation: YAML with short-form tags, parameters, conditions, intrinsics.

Only what the examples and the tests need is supported, but what is supported follows CloudFormation:

* ``!Ref`` to a parameter, a pseudo parameter (``AWS::Region``, ``AWS::AccountId``, ``AWS::StackName``,
  ``AWS::StackId``, ``AWS::Partition``, ``AWS::URLSuffix``, ``AWS::NotificationARNs``, ``AWS::NoValue``)
  or a resource (its physical id).
* ``!GetAtt Res.Attr`` (a custom resource's answered ``Data``), ``!ImportValue``, ``!Sub`` (both forms,
  ``${Name}``, ``${Res.Attr}``, ``${!Literal}``), ``!If`` / ``Conditions`` (``!Equals``, ``!Not``, ``!And``,
  ``!Or``, ``!Condition``), ``!Select``, ``!Join``, ``!Split``, ``!FindInMap``, ``!Base64``, ``!GetAZs``.
* Resource dependencies from ``Ref`` / ``GetAtt`` / ``Sub`` references and ``DependsOn``.
* :func:`stringify`: CloudFormation hands a custom resource every scalar property as a string.
"""

from __future__ import annotations

import base64
import copy
import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

# PyYAML ships no type information (types-PyYAML is not a dev dependency): load it as an untyped module.
_yaml: Any = importlib.import_module("yaml")


class TemplateError(Exception):
    """The template or its parameters are invalid (CloudFormation would refuse the operation)."""


class ResolutionError(TemplateError):
    """An intrinsic function cannot be resolved (for example ``!GetAtt`` of an attribute not in Data)."""


class _NoValue:
    """``AWS::NoValue``: the property (or list element) is removed."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()

# --------------------------------------------------------------------------------------------------
# YAML


def _make_loader() -> Any:
    class CfnLoader(_yaml.SafeLoader):  # type: ignore[misc]
        """SafeLoader + CloudFormation short-form tags, without YAML timestamps (``2010-09-09`` stays a str)."""

    CfnLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_tag(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, _yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, _yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix in ("Ref", "Condition"):
            return {suffix: value}
        if suffix == "GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {f"Fn::{suffix}": value}

    CfnLoader.add_multi_constructor("!", construct_tag)
    return CfnLoader


_LOADER: Final = _make_loader()


def load_template(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A template as a plain dict, from a dict (deep-copied), a YAML/JSON file path or YAML/JSON text."""
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source))
    text: str
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        text = Path(source).read_text(encoding="utf-8")
    else:
        text = source
    loaded = _yaml.load(text, Loader=_LOADER)
    if not isinstance(loaded, dict):
        raise TemplateError("a template must be a mapping")
    if not isinstance(loaded.get("Resources"), dict) or not loaded["Resources"]:
        raise TemplateError("Template format error: at least one Resources member must be defined.")
    return loaded


# --------------------------------------------------------------------------------------------------
# AWS::LanguageExtensions: Fn::ForEach

LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
_FOR_EACH = "Fn::ForEach::"


def expand_language_extensions(template: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Expand ``Fn::ForEach::Name: [Identifier, Collection, {OutputKey: Value}]`` in Resources, as the
    ``AWS::LanguageExtensions`` transform does: the collection is a list or a ``Ref`` to a list
    parameter; ``${Identifier}`` in keys and ``Fn::Sub`` strings becomes the item, ``&{Identifier}``
    the item without its non-alphanumeric characters, and ``{Ref: Identifier}`` the item itself."""
    transforms = template.get("Transform") or []
    if LANGUAGE_EXTENSIONS not in (transforms if isinstance(transforms, list) else [transforms]):
        return dict(template)
    expanded = dict(template)
    resources: dict[str, Any] = {}
    for key, value in template["Resources"].items():
        if not key.startswith(_FOR_EACH):
            resources[key] = value
            continue
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[2], Mapping)):
            raise TemplateError(f"{key}: must be [Identifier, Collection, {{OutputKey: Value}}]")
        identifier, collection, outputs = value
        items = parameters.get(collection["Ref"]) if isinstance(collection, Mapping) else collection
        if not isinstance(items, list):
            raise TemplateError(f"{key}: the collection must be a list or a Ref to a list parameter")
        for item in items:
            for output_key, output in outputs.items():
                name = _for_each_text(output_key, str(identifier), str(item))
                if name in resources:
                    raise TemplateError(f"{key}: the logical id {name} is generated twice")
                resources[name] = _for_each_value(output, str(identifier), str(item))
    expanded["Resources"] = resources
    return expanded


def _for_each_text(text: str, identifier: str, item: str) -> str:
    return text.replace(f"${{{identifier}}}", item).replace(f"&{{{identifier}}}", re.sub(r"[^A-Za-z0-9]", "", item))


def _for_each_value(value: Any, identifier: str, item: str) -> Any:
    if isinstance(value, Mapping):
        if dict(value) == {"Ref": identifier}:
            return item
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return {"Fn::Sub": _for_each_text(value["Fn::Sub"], identifier, item)}
        return {k: _for_each_value(v, identifier, item) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_each_value(v, identifier, item) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# Stringification


def stringify(value: Any) -> Any:
    """Property values as a custom resource receives them: every scalar a string, recursively.

    ``True`` -> ``"true"``, ``10`` -> ``"10"``, ``1.5`` -> ``"1.5"``; strings, lists and maps keep their shape.
    ``None`` (a YAML ``null``) is kept as JSON ``null``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): stringify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stringify(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# Parameters and conditions


def resolve_parameters(template: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameter values: given or default, checked against AllowedValues; list types split on commas."""
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    given = dict(given or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"Parameters: {unknown} do not exist in the template")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in given:
            raw = given[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"Parameters: [{name}] must have values")
        ptype = str(spec.get("Type", "String"))
        is_list = ptype == "CommaDelimitedList" or ptype.startswith("List<")
        if is_list:
            items = raw if isinstance(raw, list) else [p.strip() for p in str(stringify(raw)).split(",")]
            value: Any = [str(stringify(i)) for i in items]
        else:
            value = str(stringify(raw))
        _check_constraints(name, spec, value if is_list else [value], ptype)
        allowed = spec.get("AllowedValues")
        if allowed is not None:
            allowed_s = [str(stringify(a)) for a in allowed]
            for item in value if is_list else [value]:
                if item not in allowed_s:
                    raise TemplateError(
                        f"Parameter '{name}' must be one of AllowedValues ({', '.join(allowed_s)}), got {item!r}"
                    )
        values[name] = value
    return values


def _check_constraints(name: str, spec: Mapping[str, Any], values: list[str], ptype: str) -> None:
    """AllowedPattern, MinLength/MaxLength, and for Number: a number within MinValue/MaxValue."""
    what = str(spec.get("ConstraintDescription") or "")
    for value in values:
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(str(pattern), value) is None:
            raise TemplateError(f"Parameter '{name}' must match pattern {pattern}" + (f" ({what})" if what else ""))
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            raise TemplateError(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            raise TemplateError(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
        if ptype in ("Number", "List<Number>"):
            try:
                number = float(value)
            except ValueError:
                raise TemplateError(f"Parameter '{name}' must be a number, got {value!r}") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise TemplateError(f"Parameter '{name}' must be a number not less than {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise TemplateError(f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}")


def _boolean(expr: Any, resolver: Resolver, named: Callable[[str], bool]) -> bool:
    """A condition function (Fn::Equals/Not/And/Or/Contains, ``Condition``) evaluated to a bool."""
    if isinstance(expr, Mapping) and len(expr) == 1:
        ((key, arg),) = expr.items()
        if key == "Condition":
            return named(str(arg))
        if key == "Fn::Equals":
            left, right = (resolver.resolve(a) for a in arg)
            return bool(stringify(left) == stringify(right))
        if key == "Fn::Not":
            return not _boolean(arg[0], resolver, named)
        if key == "Fn::And":
            return all(_boolean(a, resolver, named) for a in arg)
        if key == "Fn::Or":
            return any(_boolean(a, resolver, named) for a in arg)
        if key == "Fn::Contains":
            items, value = resolver.resolve(arg[0]), resolver.resolve(arg[1])
            return stringify(value) in stringify(items)
    if isinstance(expr, bool):
        return expr
    if isinstance(expr, str) and expr.lower() in ("true", "false"):
        return expr.lower() == "true"
    raise TemplateError(f"Template format error: unsupported condition {expr!r}")


def check_rules(template: Mapping[str, Any], resolver: Resolver) -> None:
    """The template's ``Rules``: every Assert of a rule whose RuleCondition holds must be true."""

    def no_named(name: str) -> bool:
        raise TemplateError(f"Template format error: Rules cannot use Condition {name}")

    for name, rule in (template.get("Rules") or {}).items():
        rule = rule or {}
        if "RuleCondition" in rule and not _boolean(rule["RuleCondition"], resolver, no_named):
            continue
        for assertion in rule.get("Assertions") or []:
            if not _boolean(assertion.get("Assert"), resolver, no_named):
                raise TemplateError(str(assertion.get("AssertDescription") or f"Template rule {name} failed"))


def evaluate_conditions(template: Mapping[str, Any], resolver: Resolver) -> dict[str, bool]:
    """Every entry of ``Conditions`` evaluated (``Condition`` references are followed; cycles are errors)."""
    definitions: Mapping[str, Any] = template.get("Conditions") or {}
    results: dict[str, bool] = {}
    visiting: set[str] = set()

    def named(name: str) -> bool:
        if name in results:
            return results[name]
        if name not in definitions:
            raise TemplateError(f"Template format error: Unresolved condition dependency {name}")
        if name in visiting:
            raise TemplateError(f"Template format error: circular condition {name}")
        visiting.add(name)
        results[name] = _boolean(definitions[name], resolver, named)
        visiting.discard(name)
        return results[name]

    resolver.conditions = results  # conditions may use !Ref; Fn::If later reads the same table
    for name in definitions:
        named(name)
    return results


# --------------------------------------------------------------------------------------------------
# Intrinsic functions

_SUB_VAR: Final = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Resolves intrinsic functions against parameters, pseudo parameters, exports and resources.

    ``ref_resource(logical_id)`` gives a resource's physical id, ``get_att(logical_id, attribute)`` an
    attribute; both raise :class:`ResolutionError` when the value does not exist (yet).
    """

    def __init__(
        self,
        *,
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, Any],
        resources: Iterable[str],
        ref_resource: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
        exports: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
        conditions: Mapping[str, bool] | None = None,
    ) -> None:
        self.parameters = dict(parameters)
        self.pseudo = dict(pseudo)
        self.resources = set(resources)
        self.ref_resource = ref_resource
        self.get_att = get_att
        self.exports = dict(exports or {})
        self.mappings = dict(mappings or {})
        self.conditions: Mapping[str, bool] = dict(conditions or {})

    # -- public -------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced; ``AWS::NoValue`` entries are removed."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                    return self._function(str(key), arg)
            out: dict[str, Any] = {}
            for k, v in value.items():
                resolved = self.resolve(v)
                if resolved is not NO_VALUE:
                    out[str(k)] = resolved
            return out
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise TemplateError(f"Template format error: Unresolved condition dependency {name}")
        return self.conditions[name]

    # -- functions ----------------------------------------------------------------------------------

    def _function(self, name: str, arg: Any) -> Any:
        handler = getattr(self, "_fn_" + name.removeprefix("Fn::"), None)
        if handler is None:
            raise TemplateError(f"Template format error: unsupported function {name}")
        return handler(arg)

    def _fn_Ref(self, arg: Any) -> Any:
        if not isinstance(arg, str):
            raise TemplateError(f"Template error: Ref must name a string, got {arg!r}")
        return self.ref(arg)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources:
            return self.ref_resource(name)
        raise TemplateError(f"Template format error: Unresolved resource dependencies [{name}] in the Resources block")

    def _fn_GetAtt(self, arg: Any) -> Any:
        if isinstance(arg, str):
            resource, _, attribute = arg.partition(".")
        else:
            resource, attribute = str(arg[0]), self.resolve(arg[1])
        if resource not in self.resources:
            raise TemplateError(f"Template error: instance of Fn::GetAtt references undefined resource {resource}")
        return self.get_att(resource, str(attribute))

    def _fn_ImportValue(self, arg: Any) -> Any:
        name = self.resolve(arg)
        if not isinstance(name, str) or name not in self.exports:
            raise ResolutionError(f"No export named {name} found.")
        return self.exports[name]

    def _fn_Sub(self, arg: Any) -> Any:
        if isinstance(arg, str):
            text, variables = arg, {}
        else:
            text, variables = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                value = variables[name]
            elif name in self.parameters or name in self.pseudo or name in self.resources:
                value = self.ref(name)
            elif "." in name and name.split(".", 1)[0] in self.resources:
                resource, attribute = name.split(".", 1)
                value = self.get_att(resource, attribute)
            else:
                raise TemplateError(f"Template error: variable names in Fn::Sub syntax must be defined: {name}")
            if isinstance(value, list | dict) or value is NO_VALUE:
                raise ResolutionError(f"Template error: Fn::Sub variable {name} must resolve to a string")
            return str(stringify(value))

        return _SUB_VAR.sub(replace, str(text))

    def _fn_Join(self, arg: Any) -> Any:
        delimiter, items = arg[0], self.resolve(arg[1])
        if not isinstance(items, list):
            raise ResolutionError(f"Template error: Fn::Join needs a list, got {items!r}")
        return str(delimiter).join(str(stringify(i)) for i in items)

    def _fn_Select(self, arg: Any) -> Any:
        index, items = int(str(self.resolve(arg[0]))), self.resolve(arg[1])
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise ResolutionError(f"Template error: Fn::Select index {index} out of range for {items!r}")
        return items[index]

    def _fn_Split(self, arg: Any) -> Any:
        return str(self.resolve(arg[1])).split(str(arg[0]))

    def _fn_If(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _fn_FindInMap(self, arg: Any) -> Any:
        name, top, second = (str(self.resolve(a)) for a in arg[:3])
        try:
            return self.mappings[name][top][second]
        except KeyError:
            raise ResolutionError(f"Template error: Unable to get mapping for {name}::{top}::{second}") from None

    def _fn_Base64(self, arg: Any) -> Any:
        return base64.b64encode(str(self.resolve(arg)).encode()).decode()

    def _fn_GetAZs(self, arg: Any) -> Any:
        region = str(self.resolve(arg)) or str(self.pseudo.get("AWS::Region", ""))
        return [f"{region}{suffix}" for suffix in "abc"]


# --------------------------------------------------------------------------------------------------
# Dependencies


def dependencies(definition: Mapping[str, Any], resources: Iterable[str]) -> set[str]:
    """Logical ids a resource definition depends on: ``DependsOn`` plus Ref/GetAtt/Sub references."""
    known = set(resources)
    found: set[str] = set()

    def walk(value: Any, sub_vars: frozenset[str] = frozenset()) -> None:
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" and isinstance(arg, str) and arg in known:
                    found.add(arg)
                    return
                if key == "Fn::GetAtt":
                    target = arg.split(".", 1)[0] if isinstance(arg, str) else str(arg[0])
                    if target in known:
                        found.add(target)
                    if not isinstance(arg, str):
                        walk(arg[1:])
                    return
                if key == "Fn::Sub":
                    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] or {})
                    for name in _SUB_VAR.findall(str(text)):
                        if name.startswith("!") or name in variables:
                            continue
                        target = name.strip().split(".", 1)[0]
                        if target in known:
                            found.add(target)
                    walk(list(variables.values()))
                    return
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(definition.get("Properties") or {})
    depends_on = definition.get("DependsOn") or []
    for name in [depends_on] if isinstance(depends_on, str) else depends_on:
        if name not in known:
            raise TemplateError(f"Template format error: Unresolved resource dependencies [{name}] in DependsOn")
        found.add(name)
    return found


def topological_order(graph: Mapping[str, set[str]]) -> list[str]:
    """Nodes ordered so that every node comes after its dependencies; ties keep the template order."""
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(graph)
    while remaining:
        node = next((n for n in remaining if graph[n] <= placed), None)
        if node is None:
            raise TemplateError(f"Template format error: Circular dependency between resources: {sorted(remaining)}")
        order.append(node)
        placed.add(node)
        remaining.remove(node)
    return order
