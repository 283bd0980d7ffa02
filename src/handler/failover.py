"""Automated failover: move every configured group's calls and agents into this function's region.

The failover function runs in both regions of a Global Resiliency pair (template.yaml, EnableAutomatedFailover).
What it does, and the rules that keep two of them from fighting (docs/failover.md explains them):

- It only ever moves traffic INTO its own region, and calls Connect only there, with each group's ARN: it works
  while the other region's Connect API is down, and never sends one call to it.
- A group already 100 % here (telephony, agents and, on the default group, sign-in) gets no update: a repeated
  event, or one that arrives after another already moved the traffic, sends nothing.
- An alarm does not overrule a recent decision: when a group's distribution was changed less than the cooldown
  ago and its traffic is in the other region (moved there by the other region's function, a stack update or an
  operator), the alarm moves nothing and says so. The manual trigger is that decision, so it always moves.
- Each group is moved by one UpdateTrafficDistribution with all its configs, so no group is ever at 0 % in both
  regions, whichever of two concurrent updates lands last.
- An alarm that returns to OK does nothing: failback is a stack update, or a manual trigger into the other region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import connect
import regions
from connect import ConnectClients
from distribution import Distribution
from errors import ProviderError
from refs import GroupRef
from waiting import Budget, OutOfTime, Pacer

ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
# The operator's trigger (`make failover`, or any PutEvents with this source and detail type). EventBridge refuses
# custom events whose source starts with "aws.", so this one cannot be mistaken for an alarm.
MANUAL_SOURCE = "connect-tdg-provider.failover"
MANUAL_DETAIL_TYPE = "Connect Failover Requested"
DEFAULT_COOLDOWN_MINUTES = 10


class ConfigurationError(ProviderError):
    """The function's configuration (its environment, set by template.yaml's parameters) cannot work."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="InvalidConfiguration")


@dataclass(frozen=True)
class Config:
    """What the failover function may do, from its environment, parsed once per container.

    ``region`` is the function's own region: the only one it moves traffic into. ``groups`` are given as ARNs,
    because from the partner region Connect knows a group only by its ARN.
    """

    region: str
    groups: tuple[GroupRef, ...]
    alarm_names: frozenset[str]
    topic_arn: str = ""
    cooldown: timedelta = timedelta(minutes=DEFAULT_COOLDOWN_MINUTES)

    @classmethod
    def from_environment(cls, env: Mapping[str, str], region: str) -> Config:
        """Read FAILOVER_GROUP_ARNS, FAILOVER_ALARM_NAMES, FAILOVER_TOPIC_ARN and FAILOVER_COOLDOWN_MINUTES."""
        groups = tuple(_group(value, region) for value in _items(env.get("FAILOVER_GROUP_ARNS", "")))
        if not groups:
            raise ConfigurationError(
                "FAILOVER_GROUP_ARNS is empty: set the provider's FailoverGroupArns parameter to the ARNs of the "
                "traffic distribution groups to fail over (the instance's default group included)."
            )
        seen: set[str] = set()
        for ref in groups:
            if ref.value in seen:
                raise ConfigurationError(f"FAILOVER_GROUP_ARNS lists {ref.value} twice; list each group once.")
            seen.add(ref.value)
        minutes = env.get("FAILOVER_COOLDOWN_MINUTES", str(DEFAULT_COOLDOWN_MINUTES)).strip()
        if not minutes.isdigit():
            raise ConfigurationError(
                f"FAILOVER_COOLDOWN_MINUTES is {minutes!r}; use a whole number of minutes (0 turns the cooldown off)."
            )
        return cls(
            region=region,
            groups=groups,
            alarm_names=frozenset(_items(env.get("FAILOVER_ALARM_NAMES", ""))),
            topic_arn=env.get("FAILOVER_TOPIC_ARN", "").strip(),
            cooldown=timedelta(minutes=int(minutes)),
        )

    def other_region(self, ref: GroupRef) -> str:
        """The region of the group's pair that is not this function's: the one traffic moves out of."""
        partner = regions.partner(ref.region) or ""
        return partner if self.region == ref.region else ref.region


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _group(value: str, region: str) -> GroupRef:
    ref = GroupRef.parse(value, region)
    if ref is None or not ref.is_arn:
        what = "a bare group id" if ref is not None else "not a traffic distribution group ARN"
        raise ConfigurationError(
            f"FAILOVER_GROUP_ARNS: {value!r} is {what}. Give each group's ARN "
            "(arn:aws:connect:HOME_REGION:ACCOUNT:traffic-distribution-group/ID, from ListTrafficDistributionGroups): "
            "Connect knows a group by its bare id only in its home region, and a failover calls the other one."
        )
    partner = regions.partner(ref.region)
    if partner is None:
        raise ConfigurationError(
            f"FAILOVER_GROUP_ARNS: {value} is in {ref.region}, where Connect does not replicate instances from "
            f"(see {regions.SOURCE}). The pairs are: {regions.pairs()}."
        )
    if region not in (ref.region, partner):
        raise ConfigurationError(
            f"FAILOVER_GROUP_ARNS: {value} belongs to the pair {ref.region} and {partner}, but this function runs "
            f"in {region}, which is neither: deploy the failover function in {ref.region} and {partner} only."
        )
    return ref


# --- what triggered the function --------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """Why the function moves traffic: an alarm that entered ALARM, or an operator's request.

    ``groups`` is the subset an operator named; empty means every configured group.
    """

    name: str
    manual: bool
    groups: tuple[GroupRef, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Ignored:
    """An event that moves nothing, and why (an alarm back to OK, an alarm the function was not told of)."""

    reason: str
    alarm: str = ""


def trigger_of(event: Mapping[str, Any], config: Config) -> Trigger | Ignored:
    """What ``event`` asks of the function. Raises ConfigurationError for an event it must not act on."""
    source, detail_type = event.get("source"), event.get("detail-type")
    detail = event.get("detail") or {}
    if source == ALARM_SOURCE and detail_type == ALARM_DETAIL_TYPE:
        return _alarm(detail, config)
    if source == MANUAL_SOURCE and detail_type == MANUAL_DETAIL_TYPE:
        return _manual(detail, config)
    raise ConfigurationError(
        f"Event of source {source!r} and detail-type {detail_type!r} is neither a CloudWatch alarm state change nor "
        f"a manual failover ({MANUAL_SOURCE}, {MANUAL_DETAIL_TYPE!r}): check the rules that target this function."
    )


def _alarm(detail: Mapping[str, Any], config: Config) -> Trigger | Ignored:
    name = str(detail.get("alarmName", ""))
    state = str((detail.get("state") or {}).get("value", ""))
    if name not in config.alarm_names:
        return Ignored(f"alarm {name!r} is not one of FAILOVER_ALARM_NAMES {sorted(config.alarm_names)}", name)
    if state != "ALARM":
        return Ignored(
            f"alarm {name!r} is {state or 'in no state'}: the function never fails back by itself; "
            "fail back with a stack update or a manual trigger",
            name,
        )
    return Trigger(name=name, manual=False, note=str((detail.get("state") or {}).get("reason", "")))


def _manual(detail: Mapping[str, Any], config: Config) -> Trigger:
    to = str(detail.get("to", ""))
    if to != config.region:
        raise ConfigurationError(
            f"The manual failover asks to move traffic to {to or '(no region)'}, but this function runs in "
            f"{config.region} and moves traffic only into its own region: send the event to {to or 'that region'}'s "
            "default event bus (make failover TO=REGION does)."
        )
    configured = {ref.value: ref for ref in config.groups}
    named = detail.get("groups") or []
    if not isinstance(named, list) or not all(isinstance(value, str) for value in named):
        raise ConfigurationError("The manual failover's groups must be a list of group ARNs.")
    unknown = [value for value in named if value not in configured]
    if unknown:
        raise ConfigurationError(
            f"The manual failover names {', '.join(unknown)}, which FAILOVER_GROUP_ARNS does not list; the function "
            "may only move the groups it was deployed for (its role is scoped to them)."
        )
    return Trigger(
        name="manual",
        manual=True,
        groups=tuple(configured[value] for value in named),
        note=str(detail.get("reason", "")),
    )


# --- the plan for one group -------------------------------------------------------------------------------


def target(current: Distribution, into: str, other: str) -> Distribution:
    """All calls and agents into ``into``; sign-in there and not in ``other``, on a group that has sign-in (only
    the default group carries a SignInConfig)."""
    return Distribution(
        telephony={into: 100, other: 0},
        agent={into: 100, other: 0},
        sign_in=None if current.sign_in is None else {into: True, other: False},
    )


def recently_changed(current: Distribution, now: datetime, cooldown: timedelta) -> bool:
    """Whether Connect says the distribution changed less than ``cooldown`` before ``now``."""
    if not current.last_failover_time or not cooldown:
        return False
    changed = datetime.fromisoformat(current.last_failover_time)
    return now - changed < cooldown


class Outcome(StrEnum):
    MOVED = "Moved"
    ALREADY_SHIFTED = "AlreadyShifted"
    HELD = "HeldByCooldown"  # an alarm, within the cooldown of a move to the other region: nothing sent
    FAILED = "Failed"


@dataclass(frozen=True)
class GroupResult:
    """What happened to one group; ``log_fields`` is its one log line."""

    group: GroupRef
    outcome: Outcome
    into: str
    out_of: str
    before: Distribution | None = None
    after: Distribution | None = None
    reason: str = ""
    code: str = ""
    moved_at: str = ""

    def log_fields(self, trigger: Trigger) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Trigger": "manual" if trigger.manual else "alarm",
            "AlarmName": "" if trigger.manual else trigger.name,
            "Group": self.group.value,
            "Outcome": self.outcome.value,
            "Into": self.into,
            "OutOf": self.out_of,
            "Before": self.before.attributes() if self.before else None,
            "After": self.after.attributes() if self.after else None,
            "LastFailoverTime": self.before.last_failover_time if self.before else "",
        }
        if self.moved_at:
            fields["MovedAt"] = self.moved_at
        if self.reason:
            fields["Reason"] = self.reason
        if self.code:
            fields["ErrorCode"] = self.code
        return fields


def fail_over(
    config: Config,
    trigger: Trigger,
    clients: ConnectClients,
    budget: Budget,
    now: Callable[[], datetime],
) -> list[GroupResult]:
    """Move each group of ``trigger`` (every configured group when it names none) into ``config.region``.

    One group's failure does not stop the others; its result says why. Every call goes to ``config.region``, paced
    at the account's quota.
    """
    client = clients(config.region)
    pace = Pacer(budget)
    groups = trigger.groups or config.groups
    return [_fail_over_group(config, trigger, ref, client, budget, pace, now) for ref in groups]


def _fail_over_group(
    config: Config,
    trigger: Trigger,
    ref: GroupRef,
    client: Any,
    budget: Budget,
    pace: Callable[[], None],
    now: Callable[[], datetime],
) -> GroupResult:
    into, out_of = config.region, config.other_region(ref)
    result = GroupResult(ref, Outcome.FAILED, into, out_of)
    try:
        pace()
        current = connect.get_distribution(client, ref, budget)
        if current is None:
            return _failed(
                result, f"Connect in {into} does not know {ref.value}: check FailoverGroupArns.", "GroupGone"
            )
        wanted = target(current, into, out_of)
        result = GroupResult(ref, Outcome.FAILED, into, out_of, before=current)
        if wanted.satisfied_by(current):
            return GroupResult(ref, Outcome.ALREADY_SHIFTED, into, out_of, before=current, after=current)
        if not trigger.manual and recently_changed(current, now(), config.cooldown):
            return GroupResult(
                ref,
                Outcome.HELD,
                into,
                out_of,
                before=current,
                after=current,
                reason=(
                    f"The distribution was changed at {current.last_failover_time}, less than "
                    f"{int(config.cooldown.total_seconds() // 60)} minutes ago, and its traffic is not in {into}: "
                    "an alarm does not overrule a recent move (the other region's failover, a stack update or an "
                    f"operator). To move it anyway: make failover TO={into}."
                ),
            )
        pace()
        if not connect.update_distribution(client, ref, wanted, budget):
            return _failed(
                result,
                f"Connect in {into} did not take the update of {ref.value}: the group is not ACTIVE. "
                "The next event (or Lambda's retry) tries again.",
                "NotActive",
            )
        return GroupResult(ref, Outcome.MOVED, into, out_of, before=current, after=wanted, moved_at=now().isoformat())
    except OutOfTime as error:
        return _failed(result, str(error), "Throttling" if error.throttled else "Timeout")
    except ProviderError as error:
        return _failed(result, _for_failover(error, config), error.code)


def _failed(result: GroupResult, reason: str, code: str) -> GroupResult:
    return GroupResult(
        result.group, Outcome.FAILED, result.into, result.out_of, before=result.before, reason=reason, code=code
    )


def _for_failover(error: ProviderError, config: Config) -> str:
    """The Reason of a Connect error, with what to do about the failover function's own role."""
    if error.code == "AccessDeniedException":
        return (
            f"{error.reason.split('. ')[0]}. The failover function's role may call Connect only on the groups of "
            f"the provider's FailoverGroupArns parameter, in {config.region} and its partner: add the group's ARN "
            "there and redeploy the provider in both regions."
        )
    return error.reason


@dataclass
class Summary:
    """The results of one event, for the notification and the function's answer."""

    trigger: Trigger
    results: Sequence[GroupResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {outcome.value: sum(r.outcome is outcome for r in self.results) for outcome in Outcome}

    def failed(self) -> list[GroupResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]

    def worth_telling(self) -> bool:
        """Whether anyone needs to hear of it: something moved, was held, or failed (a repeat moves nothing)."""
        return any(r.outcome is not Outcome.ALREADY_SHIFTED for r in self.results)

    def message(self, region: str) -> str:
        by = "a manual trigger" if self.trigger.manual else f"alarm {self.trigger.name}"
        lines = [f"Connect failover into {region}, by {by}: {self.counts()}."]
        lines += [
            f"- {r.group.value}: {r.outcome.value}" + (f" ({r.reason})" if r.reason else "") for r in self.results
        ]
        return "\n".join(lines)
