"""Baseline for ``make bench``: the same Create and Delete written the way crhelper's README recommends.

Plain ``CfnResource`` with ``poll_create``/``poll_delete`` on a 1-minute schedule (``polling_interval=1``),
crhelper's default ``sleep_on_delete`` (120 s) and boto3's Connect client called directly. Not deployed;
``local.bench`` runs it in the local Lambda stand-in next to the real provider.
"""

from __future__ import annotations

from typing import Any

import boto3
from crhelper import CfnResource

helper = CfnResource(json_logging=False, log_level="DEBUG", boto_level="CRITICAL", polling_interval=1)
connect = boto3.client("connect")


def handler(event: dict[str, Any], context: Any) -> None:
    helper(event, context)


@helper.create
def create(event: dict[str, Any], context: Any) -> str:
    props = event["ResourceProperties"]
    group = connect.create_traffic_distribution_group(
        Name=props["Name"], InstanceId=props["InstanceId"], ClientToken=event["RequestId"]
    )
    return group["Arn"]


@helper.poll_create
def poll_create(event: dict[str, Any], context: Any) -> str | None:
    arn: str = event["CrHelperData"]["PhysicalResourceId"]
    group = connect.describe_traffic_distribution_group(TrafficDistributionGroupId=arn)["TrafficDistributionGroup"]
    if group["Status"] == "CREATION_FAILED":
        raise RuntimeError(f"{arn} ended CREATION_FAILED")
    return arn if group["Status"] == "ACTIVE" else None


@helper.delete
def delete(event: dict[str, Any], context: Any) -> None:
    if event["PhysicalResourceId"].startswith("arn:"):
        connect.delete_traffic_distribution_group(TrafficDistributionGroupId=event["PhysicalResourceId"])


@helper.poll_delete
def poll_delete(event: dict[str, Any], context: Any) -> str | None:
    arn: str = event["PhysicalResourceId"]
    if not arn.startswith("arn:"):
        return arn
    try:
        group = connect.describe_traffic_distribution_group(TrafficDistributionGroupId=arn)
    except connect.exceptions.ResourceNotFoundException:
        return arn  # gone: answer with the request's own id
    if group["TrafficDistributionGroup"]["Status"] == "DELETION_FAILED":
        raise RuntimeError(f"{arn} ended DELETION_FAILED")
    return None
