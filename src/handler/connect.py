"""The one place that talks to Amazon Connect.

Every call goes through ``_call``, which retries transient errors with backoff inside the invocation's
budget and turns every other error into a ProviderError whose reason says what to do. botocore's own
retries are off, so that one policy, aware of the deadline, decides.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from distribution import Distribution
from errors import ProviderError
from properties import GroupProperties, GroupRef
from waiting import Budget

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient
    from mypy_boto3_connect.type_defs import TrafficDistributionGroupTypeDef
else:
    ConnectClient = Any
    TrafficDistributionGroupTypeDef = dict

T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "InternalServiceException", "ServiceUnavailableException"}
)
MAX_ATTEMPTS = 8
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 8.0

CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1},  # _call retries, within the invocation's deadline
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="connect-tdg-provider",
)


class ConnectClients:
    """Connect clients by region, made once per Lambda container and reused across invocations."""

    def __init__(self, factory: Callable[[str], ConnectClient] | None = None) -> None:
        self._factory = factory or _new_client
        self._clients: dict[str, ConnectClient] = {}

    def __call__(self, region: str) -> ConnectClient:
        if region not in self._clients:
            self._clients[region] = self._factory(region)
        return self._clients[region]


def _new_client(region: str) -> ConnectClient:
    return boto3.client("connect", region_name=region, config=CLIENT_CONFIG)


@dataclass(frozen=True)
class Group:
    """What DescribeTrafficDistributionGroup says of a group."""

    id: str
    arn: str
    name: str
    description: str | None
    instance_arn: str
    status: str
    is_default: bool
    tags: dict[str, str]

    @classmethod
    def from_api(cls, raw: TrafficDistributionGroupTypeDef) -> Group:
        return cls(
            id=raw["Id"],
            arn=raw["Arn"],
            name=raw["Name"],
            description=raw.get("Description"),
            instance_arn=raw["InstanceArn"],
            status=raw["Status"],
            is_default=bool(raw.get("IsDefault", False)),
            tags=dict(raw.get("Tags", {})),
        )

    def attributes(self) -> dict[str, str]:
        """The values of ``!GetAtt``; CloudFormation wants strings."""
        return {
            "Id": self.id,
            "Arn": self.arn,
            "InstanceArn": self.instance_arn,
            "Status": self.status,
            "IsDefault": "true" if self.is_default else "false",
        }


def create_group(client: ConnectClient, props: GroupProperties, client_token: str, budget: Budget) -> str:
    """Create the group and return its ARN. A repeated ``client_token`` gives back the same group."""
    request: dict[str, Any] = {
        "Name": props.name,
        "InstanceId": props.instance.given,
        "ClientToken": client_token,
    }
    if props.description is not None:
        request["Description"] = props.description
    if props.tags:
        request["Tags"] = props.tags
    response = _call(
        lambda: client.create_traffic_distribution_group(**request),
        budget,
        extra_transient={"ResourceNotReadyException"},
    )
    return response["Arn"]


def describe_group(client: ConnectClient, group: GroupRef, budget: Budget) -> Group | None:
    """The group as Connect sees it now, or None when it does not exist."""
    try:
        response = _call(
            lambda: client.describe_traffic_distribution_group(TrafficDistributionGroupId=group.value),
            budget,
            missing_ok=True,
        )
    except _Missing:
        return None
    return Group.from_api(response["TrafficDistributionGroup"])


def delete_group(client: ConnectClient, group: GroupRef, budget: Budget) -> bool:
    """Ask Connect to delete the group; False when it was already gone."""
    try:
        _call(
            lambda: client.delete_traffic_distribution_group(TrafficDistributionGroupId=group.value),
            budget,
            missing_ok=True,
        )
    except _Missing:
        return False
    return True


def tag_group(client: ConnectClient, arn: str, tags: Mapping[str, str], budget: Budget) -> None:
    _call(lambda: client.tag_resource(resourceArn=arn, tags=dict(tags)), budget)


def untag_group(client: ConnectClient, arn: str, keys: list[str], budget: Budget) -> None:
    _call(lambda: client.untag_resource(resourceArn=arn, tagKeys=keys), budget)


def get_distribution(client: ConnectClient, group: GroupRef, budget: Budget) -> Distribution:
    response = _call(lambda: client.get_traffic_distribution(Id=group.value), budget)
    return Distribution.from_api(response)


def update_distribution(client: ConnectClient, group: GroupRef, distribution: Distribution, budget: Budget) -> None:
    _call(
        lambda: client.update_traffic_distribution(Id=group.value, **distribution.request()),
        budget,
        # Another change to the group may still be finishing; it clears within seconds.
        extra_transient={"ResourceConflictException"},
    )


class _Missing(Exception):
    """The resource does not exist (ResourceNotFoundException)."""


def _call(
    request: Callable[[], T],
    budget: Budget,
    *,
    extra_transient: set[str] | frozenset[str] = frozenset(),
    missing_ok: bool = False,
) -> T:
    transient = TRANSIENT_CODES | extra_transient
    backoff = FIRST_BACKOFF
    attempt = 1
    while True:
        try:
            return request()
        except ClientError as error:
            code = error_code(error)
            if missing_ok and code == "ResourceNotFoundException":
                raise _Missing() from error
            retryable = code in transient or _http_status(error) >= 500
            failure: Exception = error
        except (ConnectionError, HTTPClientError) as error:
            code, retryable, failure = "ConnectionError", True, error
        pause = random.uniform(backoff / 2, backoff) if retryable else 0.0
        if not retryable or attempt >= MAX_ATTEMPTS or not budget.nap(max(FIRST_BACKOFF / 2, pause)):
            raise ProviderError(explain(failure, attempts=attempt), code=code) from failure
        attempt += 1
        backoff = min(MAX_BACKOFF, backoff * 2)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


_CREATE = "CreateTrafficDistributionGroup"
_ADVICE: dict[str | tuple[str, str], str] = {
    "AccessDeniedException": (
        "The provider's role may not make this call. If the provider stack's ConnectInstanceArns parameter "
        "names instances, add this instance to it, then redeploy the provider."
    ),
    "ResourceNotFoundException": "The group no longer exists; it may have been deleted outside CloudFormation.",
    (_CREATE, "ResourceNotFoundException"): (
        "Check InstanceId. A traffic distribution group must be created in the instance's home region: "
        "give the instance ARN, so that the provider calls Connect in the ARN's region."
    ),
    (_CREATE, "InvalidRequestException"): (
        "The instance must be replicated to a second region (ReplicateInstance, Connect Global Resiliency) "
        "before it can have traffic distribution groups."
    ),
    "ServiceQuotaExceededException": (
        "The instance has reached its quota of traffic distribution groups. Delete unused groups or request "
        "an increase in Service Quotas."
    ),
    "ResourceConflictException": (
        "Connect requires a unique Name per instance. Choose another Name, or delete the group that holds it."
    ),
    "ResourceNotReadyException": "The instance is not ready yet (its replication may still be running); retry later.",
    "ResourceInUseException": (
        "Release the phone numbers claimed to the group, or move them to another group, then retry."
    ),
    ("UpdateTrafficDistribution", "InvalidRequestException"): (
        "Check that each config lists exactly the two regions the instance is replicated to, in steps of 10 "
        "that add up to 100, and that SignInConfig is set only on the instance's default group."
    ),
    "ThrottlingException": (
        "Other automation may be using the account's Connect API quota (about 2 requests/s). Retry later."
    ),
    "InternalServiceException": "Connect had an internal error; retry the stack operation later.",
}


def explain(error: Exception, attempts: int = 1) -> str:
    """A reason that starts with the failed call and Connect's words, and ends with what to do."""
    if isinstance(error, ClientError):
        code = error_code(error)
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        operation = error.operation_name
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        advice = _ADVICE.get((operation, code)) or _ADVICE.get(code, "")
        return f"Connect {operation} failed with {code}{tried}: {message}. {advice}".strip()
    return (
        f"Could not reach Connect after {attempts} attempts ({type(error).__name__}: {error}). "
        "Check the function's network access to the Connect endpoint, then retry."
    )
