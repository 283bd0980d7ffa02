"""Unit-test fixtures: real botocore clients behind Stubber, and a fake clock, Lambda context and timer (no
sockets: tests/conftest.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from botocore.stub import Stubber

import app
import polling
import response
from provider import Abandoner, Handler, Provider, Resumer
from request import Done, Pending, Request
from waiting import Budget

EVENTS = Path(__file__).parent.parent / "events"
ACCOUNT = "123456789012"
INSTANCE_ID = "11111111-2222-3333-4444-555555555555"
INSTANCE_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/{INSTANCE_ID}"
GROUP_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
GROUP_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{GROUP_ID}"
NEW_GROUP_ID = "ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"
NEW_GROUP_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{NEW_GROUP_ID}"
# The polling rule a Create of logical id Tdg makes, with its random suffix fixed.
RULE_NAME = "ConnectTdgPoll-Tdg-ABCDEFGH"
RULE_ARN = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{RULE_NAME}"


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event.update(overrides)
    return event


class FakeClock:
    """Monotonic time that moves only when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeContext:
    """The Lambda context, as small as the provider and Powertools need: its time runs on the fake clock."""

    function_name = "connect-tdg-provider"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:connect-tdg-provider"
    memory_limit_in_mb = 128
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"

    def __init__(self, *, clock: FakeClock, timeout_s: float = 900) -> None:
        self._clock = clock
        self._deadline = clock() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))


class FakeTimer:
    """threading.Timer that only records: the test decides whether and when it fires."""

    made: list[FakeTimer] = []  # noqa: RUF012 - reset by the fixture

    def __init__(self, interval: float, function: Callable[[], None]) -> None:
        self.interval, self.function = interval, function
        self.daemon = self.started = self.cancelled = False
        FakeTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[FakeTimer]:
    FakeTimer.made = []
    monkeypatch.setattr(threading, "Timer", FakeTimer)
    return FakeTimer.made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def budget(clock: FakeClock) -> Budget:
    return Budget(deadline=clock() + 600, clock=clock, sleep=clock.sleep, jitter=lambda low, high: high)


class Regions:
    """The ``clients`` callable of the lifecycle: one stubbed client, and the regions it was asked for."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.asked: list[str] = []

    def __call__(self, region: str) -> Any:
        self.asked.append(region)
        return self.client


@pytest.fixture
def connect_client() -> Any:
    return boto3.client(
        "connect", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def stub(connect_client: Any) -> Iterator[Stubber]:
    with Stubber(connect_client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clients(connect_client: Any) -> Regions:
    return Regions(connect_client)


def group(
    status: str = "ACTIVE",
    *,
    arn: str = GROUP_ARN,
    name: str = "primary-tdg",
    description: str | None = "Calls between us-east-1 and us-west-2",
    tags: dict[str, str] | None = None,
    is_default: bool = False,
) -> dict[str, Any]:
    """A DescribeTrafficDistributionGroup response."""
    body: dict[str, Any] = {
        "Id": arn.rsplit("/", 1)[1],
        "Arn": arn,
        "Name": name,
        "InstanceArn": INSTANCE_ARN,
        "Status": status,
        "Tags": tags if tags is not None else {"team": "contact-center"},
        "IsDefault": is_default,
    }
    if description is not None:
        body["Description"] = description
    return {"TrafficDistributionGroup": body}


def describe(stub: Stubber, status: str = "ACTIVE", *, arn: str = GROUP_ARN, **kwargs: Any) -> None:
    stub.add_response(
        "describe_traffic_distribution_group", group(status, arn=arn, **kwargs), {"TrafficDistributionGroupId": arn}
    )


def describe_missing(stub: Stubber, arn: str = GROUP_ARN) -> None:
    stub.add_client_error(
        "describe_traffic_distribution_group",
        "ResourceNotFoundException",
        "Traffic distribution group not found",
        404,
        expected_params={"TrafficDistributionGroupId": arn},
    )


def traffic(
    telephony: dict[str, int] | None = None, agent: dict[str, int] | None = None, **extra: Any
) -> dict[str, Any]:
    """A GetTrafficDistribution response; 100 % in us-east-1 unless told otherwise."""
    telephony = telephony or {"us-east-1": 100, "us-west-2": 0}
    agent = agent or telephony
    body: dict[str, Any] = {
        "Id": GROUP_ID,
        "Arn": GROUP_ARN,
        "TelephonyConfig": {"Distributions": [{"Region": r, "Percentage": p} for r, p in telephony.items()]},
        "AgentConfig": {"Distributions": [{"Region": r, "Percentage": p} for r, p in agent.items()]},
    }
    body.update(extra)
    return body


def get_traffic(stub: Stubber, arn: str = GROUP_ARN, **kwargs: Any) -> None:
    stub.add_response("get_traffic_distribution", traffic(**kwargs), {"Id": arn})


class TwoRegions:
    """The ``clients`` callable with one stubbed client per region, so a test says which region gets each call.

    A call to a region whose Stubber has no response left fails the test: that is how a test proves that
    nothing was sent to a region that is down.
    """

    def __init__(self, *regions: str) -> None:
        self.clients = {
            region: boto3.client(
                "connect", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            for region in regions
        }
        self.stubs = {region: Stubber(client) for region, client in self.clients.items()}
        self.asked: list[str] = []

    def __call__(self, region: str) -> Any:
        self.asked.append(region)
        return self.clients[region]


@pytest.fixture
def regions() -> Iterator[TwoRegions]:
    both = TwoRegions("us-east-1", "us-west-2")
    for stubber in both.stubs.values():
        stubber.activate()
    yield both
    for stubber in both.stubs.values():
        stubber.deactivate()
        stubber.assert_no_pending_responses()


def outage(stub: Stubber, operation: str, times: int) -> None:
    """Connect in the stub's region answers 503, as an endpoint in an outage does."""
    for _ in range(times):
        stub.add_client_error(operation, "ServiceUnavailableException", "Service Unavailable", 503)


def throttled(stub: Stubber, operation: str) -> None:
    """Connect refuses one call for the account's request rate, as it does above its quota."""
    stub.add_client_error(operation, "ThrottlingException", "Rate exceeded", 429)


def aws_client(service: str) -> Any:
    """A real client of ``service`` (its model, for Stubber), with dummy credentials."""
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")


class Capture:
    """Matches any expected parameter in Stubber, and keeps what was sent."""

    value: Any = None

    def __eq__(self, other: object) -> bool:
        self.value = other
        return True

    __hash__ = None  # type: ignore[assignment]


class FakeConnection:
    """Plays S3 behind the pre-signed URL: each PUT takes the next outcome from ``script``."""

    script: ClassVar[list[Any]] = []
    requests: ClassVar[list[tuple[str, str, bytes, dict[str, str]]]] = []
    connections: ClassVar[list[tuple[str, int | None, float]]] = []
    contexts: ClassVar[list[Any]] = []

    def __init__(self, host: str, port: int | None, *, context: Any, timeout: float) -> None:
        self.host = host
        FakeConnection.connections.append((host, port, timeout))
        FakeConnection.contexts.append(context)

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        FakeConnection.requests.append((method, path, body, headers))
        outcome = FakeConnection.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        self.status = outcome

    def getresponse(self) -> Any:
        return self

    @property
    def reason(self) -> str:
        return "Reason"

    def read(self) -> bytes:
        return b""

    def close(self) -> None:
        pass


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> type[FakeConnection]:
    FakeConnection.script, FakeConnection.requests, FakeConnection.connections = [], [], []
    FakeConnection.contexts = []
    monkeypatch.setattr(response, "HTTPSConnection", FakeConnection)
    return FakeConnection


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The answers the provider sends, caught where ``response.send`` would PUT them."""
    sent: list[dict[str, Any]] = []

    def capture(url: str, body: bytes, *, deadline: float, **_: Any) -> bool:
        sent.append({"url": url, **json.loads(body)})
        return True

    monkeypatch.setattr(response, "send", capture)
    return sent


def lone_provider(
    clock: FakeClock | None = None,
    *,
    handle: Handler = lambda request, budget, progress: Done(GROUP_ARN),
    resume: Resumer = lambda request, state, budget, progress: Pending(state),
    abandon: Abandoner = lambda request, state, budget: "",
    schedule_clients: polling.ScheduleClients | None = None,
) -> Provider:
    """The Provider on its own: the lifecycle replaced by plain functions, EventBridge and Lambda by nothing."""
    clock = clock or FakeClock()
    return Provider(
        region="us-east-1",
        response_hosts=response.ResponseHosts.from_setting(None, "us-east-1"),
        handle=handle,
        resume=resume,
        abandon=abandon,
        schedule_clients=schedule_clients or polling.ScheduleClients(lambda service: None),
        logger=app.logger,
        metrics=app.metrics,
        clock=clock,
        sleep=clock.sleep,
    )


# Traffic distribution as templates write it (strings) and as Connect takes it (numbers), shared by the tests of
# the value type and of the resource types that carry one.
FAILOVER = {
    "TelephonyConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": "0"}, {"Region": "us-west-2", "Percentage": "100"}]
    },
    "AgentConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": "0"}, {"Region": "us-west-2", "Percentage": "100"}]
    },
}
FAILOVER_REQUEST = {
    "Id": GROUP_ARN,
    "TelephonyConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": 0}, {"Region": "us-west-2", "Percentage": 100}]
    },
    "AgentConfig": {
        "Distributions": [{"Region": "us-east-1", "Percentage": 0}, {"Region": "us-west-2", "Percentage": 100}]
    },
}
WEST = {"us-east-1": 0, "us-west-2": 100}
SIGN_IN_EAST_ONLY = {
    "Distributions": [{"Region": "us-east-1", "Enabled": True}, {"Region": "us-west-2", "Enabled": False}]
}


def config(*pairs: tuple[Any, Any], key: str = "Percentage") -> dict[str, Any]:
    return {"Distributions": [{"Region": region, key: value} for region, value in pairs]}


def group_request(request_type: str, **changes: Any) -> Request:
    event = load_event(request_type.lower())
    event["ResourceProperties"] = {**event["ResourceProperties"], **changes}
    return Request.from_event(event, "us-east-1")


def distribution_request(request_type: str, old: dict[str, Any] | None = None, **props: Any) -> Request:
    event = load_event(request_type.lower(), ResourceType="Custom::TrafficDistribution")
    event["ResourceProperties"] = {"ServiceToken": "arn:x", "TrafficDistributionGroupId": GROUP_ARN, **props}
    if old is not None:
        event["OldResourceProperties"] = old
    return Request.from_event(event, "us-east-1")
