"""Lambda entry point of the failover function: Powertools wiring around ``failover``, and nothing else.

EventBridge invokes it for the named alarms' state changes and for the operator's manual trigger. It is a
separate function from the custom resource provider (app.py), with its own role, and shares connect.py.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

import connect
from errors import ProviderError
from failover import Config, ConfigurationError, Ignored, Outcome, Summary, fail_over, trigger_of
from waiting import Budget, LambdaContext

# SNS caps a Subject at 100 characters.
MAX_SUBJECT = 100


class Notifier(Protocol):
    def publish(self, *, TopicArn: str, Subject: str, Message: str) -> Any: ...


class FailoverIncomplete(ProviderError):
    """Some groups could not be moved: the invocation fails, so that Lambda retries it (moved groups are no-ops)."""


def handle(
    event: Mapping[str, Any],
    context: LambdaContext,
    *,
    config: Callable[[], Config],
    clients: connect.ConnectClients,
    notifier: Callable[[], Notifier],
    logger: Logger,
    metrics: Metrics,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Run one event: log one line per group, count each group's outcome, notify, and fail if a group failed."""
    try:
        settings = config()
        trigger = trigger_of(event, settings)
    except ConfigurationError as error:
        logger.error("Failover refused", extra={"Reason": error.reason, "ErrorCode": error.code})
        raise
    if isinstance(trigger, Ignored):
        logger.info("Event ignored", extra={"Reason": trigger.reason, "AlarmName": trigger.alarm})
        return {"Ignored": trigger.reason}
    budget = Budget.from_context(context, clock=clock, sleep=sleep)
    summary = Summary(trigger, fail_over(settings, trigger, clients, budget, now))
    for result in summary.results:
        log = logger.error if result.outcome is Outcome.FAILED else logger.info
        log("Group failover", extra=result.log_fields(trigger))
        with single_metric(name="GroupFailover", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as one:
            one.add_dimension(name="GroupId", value=result.group.group_id)
            one.add_dimension(name="Outcome", value=result.outcome.value)
    if budget.throttles:
        metrics.add_metric(name="ConnectThrottles", unit=MetricUnit.Count, value=budget.throttles)
    if settings.topic_arn and summary.worth_telling():
        _notify(notifier, settings, summary, logger)
    failed = summary.failed()
    if failed:
        raise FailoverIncomplete(
            f"{len(failed)} of {len(summary.results)} groups were not moved into {settings.region}: "
            + "; ".join(f"{r.group.value}: {r.reason}" for r in failed),
            code="FailoverIncomplete",
        )
    return summary.counts()


def _notify(notifier: Callable[[], Notifier], settings: Config, summary: Summary, logger: Logger) -> None:
    """Tell the topic; a notification that fails is logged, never a reason to fail the failover."""
    subject = (
        f"Connect failover into {settings.region}: {', '.join(f'{k} {v}' for k, v in summary.counts().items() if v)}"
    )
    try:
        notifier().publish(
            TopicArn=settings.topic_arn, Subject=subject[:MAX_SUBJECT], Message=summary.message(settings.region)
        )
    except Exception as error:  # noqa: BLE001 - SNS is best effort; the logs and metrics hold the outcome
        logger.error("Notification not sent", extra={"TopicArn": settings.topic_arn, "Error": str(error)})


REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "connect-tdg-failover"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ConnectTdgProvider"))
connect_clients = connect.clients_by_region()
connect_clients(REGION)  # built during init: the only region this function calls
# Parsed once per container; a bad configuration is not cached, so every event fails with its Reason.
load_config = functools.cache(lambda: Config.from_environment(os.environ, REGION))
sns = functools.cache(lambda: boto3.client("sns", region_name=REGION))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True, log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(EventId=event.get("id"), Source=event.get("source"), Region=REGION)
    return handle(
        event, context, config=load_config, clients=connect_clients, notifier=sns, logger=logger, metrics=metrics
    )
