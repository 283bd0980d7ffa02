"""End-to-end fixtures: the real handler (in warm Lambda execution environments), real botocore, the Connect
emulator and the HTTPS ResponseServer, wired together by the local CloudFormation StackDriver.

The servers live for the session; every test starts from an emulator reset and checks at teardown
that the emulator had no internal errors and that no driver saw a protocol violation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.cloudformation import ResponseServer, StackDriver
from local.emulator import Emulator
from local.runtime import LambdaFunction

ROOT = Path(__file__).resolve().parents[2]
HANDLER_DIR = ROOT / "src" / "handler"
STACK_YAML = ROOT / "examples" / "stack.yaml"
FAILOVER_YAML = ROOT / "examples" / "failover.yaml"
PROVIDER_STACK = "connect-tdg-provider"
EXPORT = f"{PROVIDER_STACK}-ServiceToken"
HOME, REPLICA = "us-east-1", "us-west-2"
DELAY = 0.3  # emulated creation / deletion / update delay
# A function timeout short enough for a test to run into. The provider keeps a quarter of it (5 s) to hand over to
# scheduled polling; with 10 s, the 2.5 s left were not always enough on a loaded 2-core machine to build the
# EventBridge and Lambda clients and make the schedule. Work that takes longer than HANDOVER_DELAY_S outlives such
# an invocation (it waits at most 15 s).
SHORT_TIMEOUT_S = 20.0
HANDOVER_DELAY_S = 16.0

MakeDriver = Callable[..., StackDriver]  # the make_driver fixture


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(creation_delay=DELAY, deletion_delay=DELAY, update_delay=DELAY) as emu:
        yield emu


@pytest.fixture(scope="session")
def server() -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        yield srv


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.reset()
    yield emulator
    assert emulator.internal_errors() == []


@pytest.fixture
def instance(emu: Emulator) -> str:
    return emu.add_instance(home_region=HOME, replica_region=REPLICA)


@pytest.fixture
def make_function(emu: Emulator, server: ResponseServer) -> Iterator[Callable[..., LambdaFunction]]:
    made: list[LambdaFunction] = []

    def make(timeout_s: float = 60, region: str = HOME, **kwargs: Any) -> LambdaFunction:
        function = LambdaFunction(
            HANDLER_DIR,
            "app.handler",
            env={"AWS_ENDPOINT_URL": emu.endpoint_url, "SSL_CERT_FILE": server.ca_pem_path},
            timeout_s=timeout_s,
            region=region,
            grace_s=0.5,
            warm=True,  # boto3 imported once per test process; the init phase once per environment
            **kwargs,
        )
        made.append(function)
        return function

    yield make
    for function in made:
        function.close()  # its warm environments


class Drivers:
    """Every driver a test made; teardown asserts none saw a protocol violation unless told otherwise."""

    def __init__(self) -> None:
        self.made: list[StackDriver] = []
        self.check_violations = True


@pytest.fixture
def drivers(server: ResponseServer) -> Iterator[Drivers]:
    made = Drivers()
    yield made
    for driver in made.made:
        assert_no_secret_in_logs(driver, server)
        if made.check_violations:
            assert driver.violations == [], unanswered_logs(driver)


def unanswered_logs(driver: StackDriver, lines: int = 40) -> str:
    """The end of the logs of every invocation of a request that got no answer: what a failure under load needs."""
    return "\n".join(
        f"--- {rec.request_type} {rec.logical_id}, invocation {number} ({inv.duration_s:.1f} s"
        f"{', timed out' if inv.timed_out else ''}{', crashed' if inv.crashed else ''}):\n"
        + "\n".join(inv.logs.splitlines()[-lines:])
        for rec in driver.requests
        if not rec.answers
        for number, inv in enumerate(rec.invocations, 1)
    )


@pytest.fixture
def make_driver(
    emu: Emulator,
    server: ResponseServer,
    make_function: Callable[..., LambdaFunction],
    drivers: Drivers,
) -> Callable[..., StackDriver]:
    """``make_driver(function=None, timeout_s=60, **StackDriver kwargs)``: a driver whose ServiceToken
    export ``connect-tdg-provider-ServiceToken`` names the real handler."""

    def make(function: LambdaFunction | None = None, *, timeout_s: float = 60, **kwargs: Any) -> StackDriver:
        fn = function or make_function(timeout_s=timeout_s)
        driver = StackDriver(server, [fn], rules_source=emu, **kwargs)
        driver.register(fn, export_name=EXPORT)
        drivers.made.append(driver)
        return driver

    return make


# ------------------------------------------------------------------------------------------------
# helpers shared by the test modules


def params(instance_arn: str, **extra: str) -> dict[str, str]:
    return {"ConnectInstanceArn": instance_arn, "ProviderStackName": PROVIDER_STACK, **extra}


def split(home: int, replica: int, home_region: str = HOME, replica_region: str = REPLICA) -> dict[str, Any]:
    return {
        "Distributions": [
            {"Region": home_region, "Percentage": home},
            {"Region": replica_region, "Percentage": replica},
        ]
    }


def traffic(group: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return group["Distribution"]["TelephonyConfig"], group["Distribution"]["AgentConfig"]


def custom(resource_type: str, **props: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": {"ServiceToken": {"Fn::ImportValue": EXPORT}, **props}}


def owned_groups(emu: Emulator, include_deleted: bool = False) -> list[dict[str, Any]]:
    """The groups a stack could have made: every group but the instances' default groups."""
    return [g for g in emu.groups(include_deleted=include_deleted) if not g["IsDefault"]]


def default_group(emu: Emulator) -> dict[str, Any]:
    (group,) = [g for g in emu.groups() if g["IsDefault"]]
    return group


def summary(driver: StackDriver) -> list[tuple[str, str, str]]:
    """(RequestType, LogicalResourceId, answered Status) of every request, in order."""
    return [(r.request_type, r.logical_id, r.status) for r in driver.requests]


def assert_answered_once(driver: StackDriver) -> None:
    for rec in driver.requests:
        assert len(rec.answers) == 1, (rec.request_type, rec.logical_id, rec.answers)
        assert rec.answered


def assert_nothing_left(emu: Emulator) -> None:
    assert emu.rules() == []
    assert emu.permissions() == []


def assert_no_secret_in_logs(driver: StackDriver, server: ResponseServer) -> None:
    secrets = [s for s in server.secrets() if s]
    assert secrets
    for rec in driver.requests:
        assert rec.invocations
        for inv in rec.invocations:
            assert inv.logs
            for secret in secrets:
                assert secret not in inv.logs
            assert "X-Amz-Signature" not in inv.logs


def group_and_default_template(instance: str, default_group_arn: str, *, team: str, home: int) -> dict[str, Any]:
    """A group of the stack's own and the default group's distribution, both all in one region."""
    service = {"ServiceToken": {"Fn::ImportValue": EXPORT}}
    return {
        "Resources": {
            "Tdg": {
                "Type": "Custom::TrafficDistributionGroup",
                "Properties": {
                    **service,
                    "Name": "calls",
                    "InstanceId": instance,
                    "Tags": [{"Key": "team", "Value": team}],
                    "TelephonyConfig": split(home, 100 - home),
                    "AgentConfig": split(home, 100 - home),
                },
            },
            "Default": {
                "Type": "Custom::TrafficDistribution",
                "Properties": {
                    **service,
                    "TrafficDistributionGroupId": default_group_arn,
                    "TelephonyConfig": split(home, 100 - home),
                    "AgentConfig": split(home, 100 - home),
                },
            },
        }
    }
