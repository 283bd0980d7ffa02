"""Lambda entry point: wires crhelper and Powertools to the traffic distribution group lifecycle."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics

import lifecycle
import response
from connect import ConnectClients
from provider import Provider

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "connect-tdg-provider"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ConnectTdgProvider"))
clients = ConnectClients()
clients(REGION)  # built during init, reused by every invocation of this container
helper = Provider(
    region=REGION,
    response_hosts=response.ResponseHosts.from_setting(os.environ.get("ALLOWED_RESPONSE_HOSTS"), REGION),
    handle=lambda request, budget, progress: lifecycle.handle(request, clients, budget, progress),
    resume=lambda request, state, budget, progress: lifecycle.resume(request, state, clients, budget, progress),
    abandon=lambda state, budget: lifecycle.abandon(state, clients, budget),
    logger=logger,
    metrics=metrics,
)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)  # never log_event: the event holds the pre-signed ResponseURL
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
