"""Lambda entry point: wires crhelper and Powertools to the resource types."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

import connect
import polling
import resources
import response
from provider import Provider


def build_provider(
    *,
    region: str,
    connect_clients: connect.ConnectClients,
    schedule_clients: polling.ScheduleClients,
    allowed_response_hosts: str | None,
    logger: Logger,
    metrics: Metrics,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Provider:
    """The provider this module runs, from its parts: tests build it here with stubbed clients and a fake clock."""
    return Provider(
        region=region,
        response_hosts=response.ResponseHosts.from_setting(allowed_response_hosts, region),
        handle=lambda request, budget, progress: resources.handle(request, connect_clients, budget, progress),
        resume=lambda request, state, budget, progress: resources.resume(
            request, state, connect_clients, budget, progress
        ),
        abandon=lambda request, state, budget: resources.abandon(request, state, connect_clients, budget),
        schedule_clients=schedule_clients,
        logger=logger,
        metrics=metrics,
        clock=clock,
        sleep=sleep,
    )


REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "connect-tdg-provider"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ConnectTdgProvider"))
connect_clients = connect.clients_by_region()
connect_clients(REGION)  # built during init, reused by every invocation of this container
helper = build_provider(
    region=REGION,
    connect_clients=connect_clients,
    schedule_clients=polling.ScheduleClients.for_region(REGION),
    allowed_response_hosts=os.environ.get("ALLOWED_RESPONSE_HOSTS"),
    logger=logger,
    metrics=metrics,
)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True, log_event=False)  # the event holds the pre-signed ResponseURL
def handler(event: dict[str, Any], context: Any) -> None:
    logger.append_keys(
        StackId=event.get("StackId"),
        RequestId=event.get("RequestId"),
        LogicalResourceId=event.get("LogicalResourceId"),
        RequestType=event.get("RequestType"),
        ResourceType=event.get("ResourceType"),
        Poll="CrHelperPoll" in event,
    )
    helper(event, context)
