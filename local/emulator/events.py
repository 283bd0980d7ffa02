"""Amazon EventBridge rules and targets: the calls crhelper makes to schedule its polling.

crhelper (``_setup_polling`` / ``_remove_polling``) calls PutRule with
``Name=LogicalResourceId + 8 random chars`` and ``ScheduleExpression='rate(N minutes)'``,
PutTargets with the whole CloudFormation event as ``Input``, and later RemoveTargets and
DeleteRule with the name cut from the rule ARN. The limits those calls can hit on AWS are
enforced: the name's length and pattern (model), the Input's 8192 characters (model), the
schedule expression's syntax, and DeleteRule refusing a rule that still has targets.
PutTargets and RemoveTargets can be made to fail one entry (``target_failures``), which
AWS reports in a 200 response's ``FailedEntries`` rather than as an error.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.emulator.errors import ApiError

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\(([^()]+)\)")
_MAX_TARGETS_PER_RULE = 5
_MAX_RULES_PER_BUS = 300


def _check_schedule(expression: str) -> None:
    """``rate(1 minute)``/``rate(5 minutes)`` (unit singular exactly when the value is 1) or a
    six-field ``cron(...)``, else the ValidationException AWS gives."""
    invalid = ApiError("ValidationException", "Parameter ScheduleExpression is not valid.")
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) == unit.endswith("s"):
            raise invalid
        return
    cron = _CRON.fullmatch(expression)
    if cron is None or len(cron.group(1).split()) != 6:
        raise invalid


def _bus_name(value: str | None) -> str:
    if not value:
        return "default"
    return value.split(":event-bus/", 1)[1] if value.startswith("arn:") and ":event-bus/" in value else value


@dataclass
class Rule:
    name: str
    arn: str
    region: str
    bus: str
    schedule: str | None
    pattern: str | None
    state: str
    description: str | None
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # by target Id, insertion-ordered


class EventsBackend:
    """Rules per (Region, event bus, name). Not thread-safe on its own (see Emulator)."""

    OPERATIONS = frozenset({"PutRule", "PutTargets", "RemoveTargets", "DeleteRule"})

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.rules: dict[tuple[str, str, str], Rule] = {}
        # operation -> ErrorCode of the next calls' failed entry, one per call
        self.target_failures: dict[str, list[str]] = {}
        self._handlers: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "PutRule": self._put_rule,
            "PutTargets": self._put_targets,
            "RemoveTargets": self._remove_targets,
            "DeleteRule": self._delete_rule,
        }

    def handle(self, operation: str, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        return self._handlers[operation](params, region)

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {
                "Name": rule.name,
                "Arn": rule.arn,
                "ScheduleExpression": rule.schedule,
                "EventPattern": rule.pattern,
                "State": rule.state,
                "Region": rule.region,
                "EventBusName": rule.bus,
                "Targets": [copy.deepcopy(t) for t in rule.targets.values()],
            }
            for rule in self.rules.values()
        ]

    def _rule(self, params: dict[str, Any], key: str, region: str) -> Rule:
        bus = _bus_name(params.get("EventBusName"))
        rule = self.rules.get((region, bus, params[key]))
        if rule is None:
            raise ApiError("ResourceNotFoundException", f"Rule {params[key]} does not exist on EventBus {bus}.")
        return rule

    def _failed_entries(self, operation: str, target_id: str) -> list[dict[str, str]]:
        """The FailedEntries of this call: ``target_id`` when a failure is queued, else none."""
        queue = self.target_failures.get(operation)
        if not queue:
            return []
        code = queue.pop(0)
        return [
            {"TargetId": target_id, "ErrorCode": code, "ErrorMessage": f"{operation} failed for {target_id}: {code}"}
        ]

    def _put_rule(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        name = params["Name"]
        bus = _bus_name(params.get("EventBusName"))
        schedule = params.get("ScheduleExpression")
        pattern = params.get("EventPattern")
        if not schedule and not pattern:
            raise ApiError("ValidationException", "Parameter(s) ScheduleExpression or EventPattern must be specified.")
        if schedule:
            if bus != "default":
                raise ApiError("ValidationException", "ScheduleExpression is supported only on the default event bus.")
            _check_schedule(schedule)
        if pattern:
            try:
                valid = isinstance(json.loads(pattern), dict)
            except json.JSONDecodeError:
                valid = False
            if not valid:
                raise ApiError("InvalidEventPatternException", "Event pattern is not valid. Reason: not a JSON object")
        key = (region, bus, name)
        rule = self.rules.get(key)
        if rule is None:
            if sum(1 for r, b, _ in self.rules if (r, b) == (region, bus)) >= _MAX_RULES_PER_BUS:
                raise ApiError("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
            path = name if bus == "default" else f"{bus}/{name}"
            rule = Rule(
                name=name,
                arn=f"arn:aws:events:{region}:{self.account_id}:rule/{path}",
                region=region,
                bus=bus,
                schedule=None,
                pattern=None,
                state="ENABLED",
                description=None,
            )
            self.rules[key] = rule
        # PutRule on an existing rule updates it in place (same ARN, targets kept).
        rule.schedule = schedule
        rule.pattern = pattern
        rule.state = params.get("State") or "ENABLED"
        rule.description = params.get("Description")
        return {"RuleArn": rule.arn}

    def _put_targets(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        rule = self._rule(params, "Rule", region)
        for target in params["Targets"]:
            given = [k for k in ("Input", "InputPath", "InputTransformer") if k in target]
            if len(given) > 1:
                raise ApiError(
                    "ValidationException", f"Target {target['Id']}: only one of {', '.join(given)} may be given."
                )
            if "Input" in target:
                try:
                    json.loads(target["Input"])
                except json.JSONDecodeError as exc:
                    raise ApiError(
                        "ValidationException", f"Target {target['Id']}: Input is not valid JSON text."
                    ) from exc
        failed = self._failed_entries("PutTargets", params["Targets"][0]["Id"])
        targets = [t for t in params["Targets"] if t["Id"] not in {f["TargetId"] for f in failed}]
        new_ids = {t["Id"] for t in targets} - set(rule.targets)
        if len(rule.targets) + len(new_ids) > _MAX_TARGETS_PER_RULE:
            raise ApiError("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
        for target in targets:
            rule.targets[target["Id"]] = copy.deepcopy(target)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def _remove_targets(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        rule = self._rule(params, "Rule", region)
        failed = self._failed_entries("RemoveTargets", params["Ids"][0])
        for target_id in params["Ids"]:
            if target_id not in {f["TargetId"] for f in failed}:
                rule.targets.pop(target_id, None)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def _delete_rule(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        bus = _bus_name(params.get("EventBusName"))
        rule = self.rules.get((region, bus, params["Name"]))
        if rule is None:
            return {}  # AWS: deleting a rule that does not exist succeeds
        # Force only concerns managed rules; targets must go first either way.
        if rule.targets:
            raise ApiError("ValidationException", "Rule can't be deleted since it has targets.")
        del self.rules[(region, bus, params["Name"])]
        return {}
