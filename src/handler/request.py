"""One custom-resource request, and what handling it can come to: the types every resource type shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

# Gives the Connect client for a region. Each resource type says which region gets which call.
Clients = Callable[[str], "ConnectClient"]


@dataclass(frozen=True)
class Request:
    """The parts of a CloudFormation custom-resource event that the lifecycle uses."""

    request_type: str
    request_id: str
    resource_type: str
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any]
    physical_resource_id: str | None
    region: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any], region: str) -> Request:
        return cls(
            request_type=event["RequestType"],
            request_id=event["RequestId"],
            resource_type=event.get("ResourceType", ""),
            properties=event.get("ResourceProperties") or {},
            old_properties=event.get("OldResourceProperties") or {},
            physical_resource_id=event.get("PhysicalResourceId"),
            region=region,
        )


@dataclass(frozen=True)
class Done:
    """Answer SUCCESS. ``note`` is a warning for the logs, for a success with a caveat."""

    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Pending:
    """Connect is still working. ``state`` is all a later poll needs; it travels in the polling rule."""

    state: dict[str, str]


Result = Done | Pending


@dataclass
class Progress:
    """What this invocation has made so far, for an answer the provider must send before the lifecycle
    returns (its last-resort timer): what a Create made must never be left untracked."""

    created: str | None = None  # the ARN of what this request made
    replacing: bool = False
