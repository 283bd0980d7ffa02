"""One custom-resource request, what handling it can come to, and the shape every resource type has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connect import ConnectClients
    from properties import Schema
    from waiting import Budget

# How long CloudFormation waits for a custom resource's answer when its ServiceTimeout property is not set, and
# the most it may be set to (AWS::CloudFormation::CustomResource, ServiceTimeout: 1 to 3600 seconds).
MAX_SERVICE_TIMEOUT = 3600.0

# The phase of a request handed over before it kept any state: the next poll runs it again from the start,
# which every resource type makes safe (each step is idempotent).
RESTART = "start"


@dataclass(frozen=True)
class Request:
    """The parts of a CloudFormation custom-resource event that a resource type uses."""

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

    @property
    def service_timeout(self) -> float:
        """How long CloudFormation waits for this request's answer, in seconds (its ServiceTimeout property, which
        CloudFormation has already checked; anything unreadable counts as the default)."""
        value = str(self.properties.get("ServiceTimeout", ""))
        return float(value) if value.isdigit() and 0 < int(value) <= MAX_SERVICE_TIMEOUT else MAX_SERVICE_TIMEOUT


@dataclass(frozen=True)
class Done:
    """Answer SUCCESS. ``note`` is a warning for the logs, for a success with a caveat; ``metric``, when set,
    names a count the provider adds to its metrics for it."""

    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)
    note: str = ""
    metric: str = ""


@dataclass(frozen=True)
class Pending:
    """Connect is still working. ``state`` is all a later poll needs, as it travels in the polling rule: each
    resource type writes it from its own frozen state (``to_data``) and reads it back (``from_data``). The keys
    stay the same across releases, so that polls a deployment of the provider finds under way carry on."""

    state: Mapping[str, str]


RESTARTING = Pending({"Phase": RESTART})


class PollingState(ABC):
    """The base of each resource type's own frozen polling state."""

    @abstractmethod
    def to_data(self) -> dict[str, str]:
        """The state as it travels in the polling rule; ``from_data`` of the same class reads it back."""

    def pending(self) -> Pending:
        return Pending(self.to_data())


Result = Done | Pending


@dataclass
class Progress:
    """What this invocation has made so far, for an answer the provider must send before the resource type
    returns (its last-resort timer): what a Create made must never be left untracked."""

    created: str | None = None  # the ARN of what this request made
    replacing: bool = False


# A wait across polls ends this long before CloudFormation stops waiting for the answer (ServiceTimeout): a poll
# fires every minute and runs at most 45 s, so the one that gives up still answers in time.
ANSWER_MARGIN = 120.0


@dataclass(frozen=True)
class WaitingSince(PollingState):
    """A request that waits on Connect across polls (``phase`` names what for), and when it began, in seconds
    since the epoch: it gives up when the resource's ServiceTimeout is nearly spent."""

    phase: str
    since: float

    def to_data(self) -> dict[str, str]:
        return {"Phase": self.phase, "Since": f"{self.since:.3f}"}

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> WaitingSince:
        return cls(data["Phase"], float(data["Since"]))

    def give_up_at(self, request: Request) -> float:
        return self.since + max(0.0, request.service_timeout - ANSWER_MARGIN)


class Resource(Protocol):
    """What every resource type's module provides (``resources.TYPES`` lists them): the schema of its properties
    (which the reference docs show), and the entry points.

    Each entry returns Done (answer SUCCESS), Pending (the invocation's time ran out while Connect works:
    scheduled polling carries on from the state), or raises ProviderError (answer FAILED). A call still retried
    when the time runs out raises OutOfTime, which ``resources`` turns into a restart by polling.
    """

    @property
    def SCHEMA(self) -> Schema: ...

    def create(self, request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result: ...

    def update(self, request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result: ...

    def delete(self, request: Request, clients: ConnectClients, budget: Budget, progress: Progress) -> Result: ...

    def resume(
        self, request: Request, state: Mapping[str, str], clients: ConnectClients, budget: Budget, progress: Progress
    ) -> Result:
        """Carry on from the state an earlier invocation handed over (never the restart phase)."""
        ...

    def abandon(self, state: Mapping[str, str], clients: ConnectClients, budget: Budget) -> str:
        """Scheduled polling could not be set up: undo what only this request made; say what, for the Reason."""
        ...
