"""The answer body's limits and the bounded, retrying sender (HTTPS played by a fake connection)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

import response
from tests.unit.conftest import FakeClock, load_event

URL = load_event("create")["ResponseURL"]


def body(**kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "status": "SUCCESS",
        "reason": "",
        "physical_resource_id": "arn:aws:connect:us-east-1:1:traffic-distribution-group/x",
        "event": load_event("create"),
        "data": {"Id": "x"},
    }
    args.update(kwargs)
    result: dict[str, Any] = json.loads(response.build_body(**args))
    return result


def test_success_body_echoes_the_request() -> None:
    answer = body()

    assert answer["Status"] == "SUCCESS"
    assert answer["RequestId"] == "1f0c9a5e-create-4d2b-9d1e-000000000001"
    assert answer["LogicalResourceId"] == "Tdg"
    assert answer["StackId"].startswith("arn:aws:cloudformation:")
    assert answer["Data"] == {"Id": "x"}


def test_failed_body_always_has_a_reason_and_no_data() -> None:
    answer = body(status="FAILED", reason="")

    assert answer["Reason"]
    assert answer["Data"] == {}


@pytest.mark.parametrize("reason", ["Property Name is wrong. " + "x" * 10_000, 'Quote" and \\ ' * 2000, "é" * 5000])
def test_long_reason_keeps_its_start_within_4096_bytes(reason: str) -> None:
    raw = response.build_body(
        status="FAILED", reason=reason, physical_resource_id="id", event=load_event("create"), data=None
    )

    assert len(raw) <= response.MAX_BODY_BYTES
    answer = json.loads(raw)
    assert answer["Reason"].startswith(reason[:20])
    assert answer["Reason"].endswith(response.TRUNCATION_MARK)


def test_oversized_attributes_become_a_failure() -> None:
    answer = body(data={"Big": "x" * 5000})

    assert answer["Status"] == "FAILED"
    assert "do not fit" in answer["Reason"]


def test_physical_id_is_capped_at_1kb_and_stable() -> None:
    long_id = "a" * 2000

    first, second = body(physical_resource_id=long_id), body(physical_resource_id=long_id)

    assert len(first["PhysicalResourceId"].encode()) <= 1024
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]


class FakeConnection:
    """Plays S3 behind the pre-signed URL: each PUT takes the next outcome from ``script``."""

    script: ClassVar[list[Any]] = []
    requests: ClassVar[list[tuple[str, str, bytes, dict[str, str]]]] = []

    def __init__(self, host: str, port: int | None, *, context: Any, timeout: float) -> None:
        self.host = host

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
    FakeConnection.script, FakeConnection.requests = [], []
    monkeypatch.setattr(response, "HTTPSConnection", FakeConnection)
    return FakeConnection


def test_puts_the_body_with_an_empty_content_type(s3: type[FakeConnection], clock: FakeClock) -> None:
    s3.script = [200]

    assert response.send(URL, b"{}", deadline=clock() + 60, clock=clock, sleep=clock.sleep)

    method, path, sent, headers = s3.requests[0]
    assert (method, sent, headers["Content-Type"]) == ("PUT", b"{}", "")
    assert path.startswith("/arn%3Aaws%3Acloudformation") and "X-Amz-Signature=" in path


def test_retries_http_errors_and_dropped_connections(s3: type[FakeConnection], clock: FakeClock) -> None:
    s3.script = [500, 403, ConnectionResetError(104, "reset"), 200]

    assert response.send(URL, b"{}", deadline=clock() + 60, clock=clock, sleep=clock.sleep)
    assert len(s3.requests) == 4
    assert clock.sleeps == sorted(clock.sleeps)


def test_gives_up_at_the_deadline_and_logs_without_the_url(
    s3: type[FakeConnection], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s3.script = [500] * 100

    assert not response.send(URL, b"{}", deadline=clock() + 20, clock=clock, sleep=clock.sleep)
    assert clock.now <= 1020
    assert "Gave up delivering the answer" in caplog.text
    assert "SECRETSIGNATURE" not in caplog.text and "amazonaws" not in caplog.text


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_unit_tests_cannot_open_sockets() -> None:
    # The guarantee every other unit test relies on: a forgotten stub fails instead of reaching the network.
    import socket

    from pytest_socket import SocketBlockedError

    with pytest.raises(SocketBlockedError):
        socket.socket()
