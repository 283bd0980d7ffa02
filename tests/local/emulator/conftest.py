"""Fixtures and helpers of the emulator's tests: one emulator server per test module, each test starting from a
clean state (``Emulator.reset``), boto3 clients of it, and an emulator of its own on a fake clock (``frozen``).
Tiny lifecycle delays keep the tests fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulator import Emulator

HOME, REPLICA, OTHER = "us-east-1", "us-west-2", "eu-west-1"
DELAY = 0.05  # lifecycle delay used throughout; waits below are a few multiples of it
# Per-name delay for a state a test asserts right after the call that started it: long enough
# that a loaded machine (make test runs 8 workers on 2 cores) cannot see the transition happen first;
# 0.4 s was missed once there.
SETTLE = 2.0
NO_RETRY = Config(retries={"total_max_attempts": 1})

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    with Emulator(
        creation_delay=DELAY,
        deletion_delay=DELAY,
        update_delay=DELAY,
        replication_delay=DELAY,
        replica_deletion_delay=DELAY,
    ) as emu:
        yield emu


@pytest.fixture
def emu(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    yield emulator_server
    assert emulator_server.internal_errors() == []


@pytest.fixture(scope="module")
def client(emulator_server: Emulator) -> ClientFactory:
    """``client(service, region=HOME, validate=True, retries=1)``, cached per module."""
    cache: dict[tuple[str, str, bool, int], Any] = {}

    def make(service: str, region: str = HOME, *, validate: bool = True, retries: int = 1) -> Any:
        key = (service, region, validate, retries)
        if key not in cache:
            cache[key] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=emulator_server.endpoint_url,
                aws_access_key_id="AKIDEXAMPLE",
                aws_secret_access_key="not-a-secret",
                config=Config(retries={"total_max_attempts": retries}, parameter_validation=validate),
            )
        return cache[key]

    return make


@pytest.fixture
def connect(client: ClientFactory) -> Any:
    return client("connect")


@pytest.fixture
def instance(emu: Emulator) -> str:
    return emu.add_instance(home_region=HOME, replica_region=REPLICA)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def create(connect: Any, instance: str, name: str = "tdg", **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = connect.create_traffic_distribution_group(Name=name, InstanceId=instance, **kwargs)
    return response


def active_group(emu: Emulator, connect: Any, instance: str, name: str = "tdg", **kwargs: Any) -> dict[str, Any]:
    created = create(connect, instance, name, **kwargs)
    emu.wait_for_status(created["Arn"], "ACTIVE")
    return created


def split(home: int, replica: int) -> dict[str, Any]:
    return {"Distributions": [{"Region": HOME, "Percentage": home}, {"Region": REPLICA, "Percentage": replica}]}


def outcome(call: Callable[[], Any]) -> tuple[str, int]:
    """``("ok", status)`` or the error code and HTTP status boto3 saw."""
    try:
        response = call()
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    return "ok", response["ResponseMetadata"]["HTTPStatusCode"]


class FakeClock:
    """Wall-clock seconds that move only when a test moves them."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def frozen() -> Iterator[tuple[Emulator, FakeClock]]:
    """An emulator of its own on a :class:`FakeClock`; lifecycle delays of 1 s."""
    clock = FakeClock()
    with Emulator(clock=clock, creation_delay=1.0, deletion_delay=1.0, update_delay=1.0) as emu:
        yield emu, clock
        assert emu.internal_errors() == []


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()  # one, so that service models load once (main thread only)


def client_of(emu: Emulator, service: str = "connect", region: str = HOME) -> Any:
    """A boto3 client of an emulator other than the module's, without retries."""
    return _session().client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=emu.endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
        config=NO_RETRY,
    )


ACCOUNT = "123456789012"


def replica_arn_of(instance_arn: str, region: str = REPLICA) -> str:
    return instance_arn.replace(f":{HOME}:", f":{region}:", 1)
