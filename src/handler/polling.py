"""The one place that talks to EventBridge and Lambda: the schedule that resumes an unfinished request.

When an invocation runs out of time while Connect is still working, the event is handed to a rule that
fires every minute and invokes this function again with the event as Input (what crhelper's polling does,
here with checks crhelper lacks):
- PutTargets and RemoveTargets can answer 200 with ``FailedEntryCount > 0``; a rule without its target
  never fires and the stack would hang until ServiceTimeout, so the count is checked and retried;
- ConcurrentModificationException (EventBridge) and "another operation is in progress"
  (ResourceConflictException, Lambda) pass, so they are retried;
- a setup that still fails removes what it made, and says EventBridge in its Reason;
- every rule is named ``ConnectTdgPoll-...``, so that IAM can scope the grants to these rules only.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from errors import ProviderError, error_code, http_status
from waiting import retry

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import TargetTypeDef
    from mypy_boto3_lambda import LambdaClient
else:
    EventBridgeClient = LambdaClient = Any
    TargetTypeDef = dict

T = TypeVar("T")

RULE_PREFIX = "ConnectTdgPoll-"
MAX_RULE_NAME = 64  # EventBridge's limit for a rule name
SUFFIX_LENGTH = 8
TARGET_ID = "1"
# EventBridge keeps a target's Input to 8192 characters; the event travels in it.
MAX_INPUT = 8192
ATTEMPTS = 5
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0  # never reached in ATTEMPTS tries: 0.5, 1, 2, 4
PASSING_CODES = frozenset(
    {
        "ConcurrentModificationException",
        "ResourceConflictException",
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalException",
        "ServiceException",
    }
)


# One attempt per call: _retry retries what passes (throttles, 5xx, lost connections), so the attempts do not
# multiply with botocore's; the handover keeps at most 30 s for all of it.
CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=10)


class ScheduleClients:
    """The EventBridge and Lambda clients that make and remove the polling schedule, built on first use: most
    invocations never poll, and building both at import would add about 35 ms to every cold start. For the
    invocation's main thread only (cached_property takes no lock; crhelper's timer thread never polls)."""

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self._factory = factory

    @classmethod
    def for_region(cls, region: str) -> ScheduleClients:
        return cls(lambda service: boto3.client(service, region_name=region, config=CLIENT_CONFIG))  # type: ignore[call-overload]

    @cached_property
    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self._factory("events")
        return client

    @cached_property
    def lambda_(self) -> LambdaClient:
        client: LambdaClient = self._factory("lambda")
        return client


class PollingError(Exception):
    """The schedule could not be set up; nothing of it was left behind."""


@dataclass(frozen=True)
class Schedule:
    """A polling rule and the permission that lets it invoke the function."""

    rule_arn: str
    statement_id: str

    @property
    def rule_name(self) -> str:
        return self.rule_arn.split("/", 1)[1]


def rule_name(logical_id: str, suffix: str | None = None) -> str:
    """``ConnectTdgPoll-<logical id, cut to fit>-<8 random characters>``, within EventBridge's 64."""
    suffix = suffix or "".join(random.choices(string.ascii_uppercase + string.digits, k=SUFFIX_LENGTH))
    room = MAX_RULE_NAME - len(RULE_PREFIX) - len(suffix) - 1
    return f"{RULE_PREFIX}{logical_id[:room]}-{suffix}"


def input_size(event: Mapping[str, Any]) -> int:
    return len(json.dumps(event))


def start(
    events: EventBridgeClient,
    lambda_: LambdaClient,
    *,
    name: str,
    function_name: str,
    event: dict[str, Any],
    interval_minutes: int,
    sleep: Callable[[float], None],
) -> Schedule:
    """Make the rule, allow it to invoke the function, and target it with ``event`` (which gains the
    ``CrHelperRule`` and ``CrHelperPermission`` keys that ``stop`` needs). Raises PollingError."""
    unit = "minute" if interval_minutes == 1 else "minutes"
    with _as_polling_error():
        response = _retry(
            lambda: events.put_rule(Name=name, ScheduleExpression=f"rate({interval_minutes} {unit})", State="ENABLED"),
            sleep,
        )
    rule_arn = response["RuleArn"]
    schedule = Schedule(rule_arn, statement_id=name)
    try:
        with _as_polling_error():
            _retry(lambda: _add_permission(lambda_, function_name, name, rule_arn), sleep)
        event["CrHelperRule"], event["CrHelperPermission"] = rule_arn, name
        retarget(events, schedule, event, function_name=function_name, sleep=sleep)
    except PollingError:
        stop(events, lambda_, schedule, function_name=function_name, sleep=sleep)  # nothing of it is left behind
        raise
    return schedule


def retarget(
    events: EventBridgeClient,
    schedule: Schedule,
    event: dict[str, Any],
    *,
    function_name: str,
    sleep: Callable[[float], None],
) -> None:
    """Target the rule with ``event``: when the schedule is made, and when the next polls should start from a
    newer state. Raises PollingError; the schedule then keeps the older state, from which a poll also carries on."""
    _, partition, _, region, account, _ = schedule.rule_arn.split(":", 5)
    target: TargetTypeDef = {
        "Id": TARGET_ID,
        "Arn": f"arn:{partition}:lambda:{region}:{account}:function:{function_name}",
        "Input": json.dumps(event),
    }
    with _as_polling_error():
        _retry(lambda: _entries_ok(events.put_targets(Rule=schedule.rule_name, Targets=[target]), "PutTargets"), sleep)


@contextmanager
def _as_polling_error() -> Iterator[None]:
    """What EventBridge or Lambda failed with, as the PollingError the provider turns into a Reason."""
    try:
        yield
    except _FAILURES as error:
        raise PollingError(f"{type(error).__name__}: {error}") from error


def stop(
    events: EventBridgeClient,
    lambda_: LambdaClient,
    schedule: Schedule,
    *,
    function_name: str,
    sleep: Callable[[float], None],
) -> list[str]:
    """Remove the target, the permission and the rule. Returns what could not be removed (for the logs):
    a rule left behind fires again, and its poll answers the same again, so this never fails the answer."""
    problems = []
    steps: list[tuple[str, Callable[[], object]]] = [
        (
            "RemoveTargets",
            lambda: _entries_ok(events.remove_targets(Rule=schedule.rule_name, Ids=[TARGET_ID]), "RemoveTargets"),
        ),
        (
            "RemovePermission",
            lambda: lambda_.remove_permission(FunctionName=function_name, StatementId=schedule.statement_id),
        ),
        ("DeleteRule", lambda: events.delete_rule(Name=schedule.rule_name)),
    ]
    for label, step in steps:
        try:
            _retry(step, sleep)
        except _FAILURES as error:
            if error_code(error) != "ResourceNotFoundException":
                problems.append(f"{label}: {type(error).__name__}: {error}")
    return problems


def _add_permission(lambda_: LambdaClient, function_name: str, statement_id: str, rule_arn: str) -> None:
    try:
        lambda_.add_permission(
            FunctionName=function_name,
            StatementId=statement_id,
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )
    except ClientError as error:
        # The statement id is random per request: if it exists, an earlier try made it and its answer was lost.
        if error_code(error) != "ResourceConflictException" or "already exists" not in str(error):
            raise


def setup_failed(reason: str, *, doing: str) -> ProviderError:
    return ProviderError(
        f"{doing}, but scheduled polling could not be set up in EventBridge ({reason}). Nothing of the "
        "schedule was left behind. Check the provider's events:PutRule/PutTargets and lambda:AddPermission "
        "permissions and EventBridge's quotas, then retry the stack operation.",
        code="PollingUnavailable",
    )


class _PartialFailure(Exception):
    """EventBridge answered 200 but did not apply an entry."""

    def __init__(self, operation: str, entries: list[Any]) -> None:
        first = entries[0] if entries else {}
        super().__init__(
            f"{operation} failed for target {first.get('TargetId')}: {first.get('ErrorCode')} "
            f"{first.get('ErrorMessage', '')}".strip()
        )
        self.code = str(first.get("ErrorCode", ""))


# What a call of this module can fail with: an API error, a lost connection, or an entry not applied.
_FAILURES = (ClientError, ConnectionError, HTTPClientError, _PartialFailure)


def _entries_ok(response: Mapping[str, Any], operation: str) -> None:
    if response.get("FailedEntryCount", 0):
        raise _PartialFailure(operation, list(response.get("FailedEntries", [])))


def _retry(call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    tries = 0

    def retryable(error: Exception) -> bool:
        nonlocal tries
        tries += 1
        return isinstance(error, _FAILURES) and tries < ATTEMPTS and _passing(error)

    def pause(seconds: float) -> bool:
        sleep(seconds)
        return True

    return retry(call, retryable=retryable, pause=pause, first=FIRST_BACKOFF, cap=MAX_BACKOFF, jitter=random.uniform)


def _passing(error: Exception) -> bool:
    if isinstance(error, ClientError):
        return error_code(error) in PASSING_CODES or http_status(error) >= 500
    return (
        True  # a lost connection, or an entry not applied: EventBridge documents no per-entry code a retry cannot fix
    )
