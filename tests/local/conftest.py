"""Fixtures and helpers shared by the tests of local/runtime and local/cloudformation: the HTTPS ResponseServer, Lambda
functions made of the fake provider (tests/local/fake_handler/fake_app.py) and stack drivers over them.

The fake provider runs in a real process (a fresh one per invocation, or a warm environment) and answers through the
real HTTPS ResponseServer, so these tests exercise the same path the real handler will take.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.cloudformation import (
    ResponseServer,
    StackDriver,
)
from local.runtime import LambdaFunction

FAKE_DIR = Path(__file__).parent / "fake_handler"
EXPORT = "provider-ServiceToken"


# ------------------------------------------------------------------------------------------------
# helpers


class FileRules:
    """The rules source the fake handler writes to: one JSON file per EventBridge rule."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def rules(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.directory.glob("*.json"))]


def custom(**props: Any) -> dict[str, Any]:
    return {"Type": "Custom::Fake", "Properties": {"ServiceToken": {"Fn::ImportValue": EXPORT}, **props}}


def calls(driver: StackDriver) -> list[tuple[str, str, str]]:
    return [(r.request_type, r.logical_id, str(r.event.get("PhysicalResourceId", ""))) for r in driver.requests]


def statuses(driver: StackDriver) -> list[str]:
    return [
        r.status for r in driver.timeline if not r.request_type and r.physical_id.startswith("arn:aws:cloudformation:")
    ]


def put(url: str, body: bytes, ca: str, method: str = "PUT") -> int | None:
    split = urlsplit(url)
    conn = http.client.HTTPSConnection(split.netloc, context=ssl.create_default_context(cafile=ca), timeout=5)
    try:
        conn.request(method, f"{split.path}?{split.query}", body=body, headers={"Content-Length": str(len(body))})
        return conn.getresponse().status
    except (http.client.RemoteDisconnected, ConnectionError):
        return None
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        yield srv


@pytest.fixture
def make_function(server: ResponseServer, tmp_path: Path) -> Callable[..., LambdaFunction]:
    def make(handler: str = "fake_app.handler", timeout_s: float = 10, **kwargs: Any) -> LambdaFunction:
        return LambdaFunction(
            FAKE_DIR,
            handler,
            {"FAKE_RULES_DIR": str(tmp_path)},
            timeout_s=timeout_s,
            ssl_cert_file=server.ca_pem_path,
            grace_s=0.5,
            **kwargs,
        )

    return make


@pytest.fixture
def make_driver(
    server: ResponseServer, make_function: Callable[..., LambdaFunction], tmp_path: Path
) -> Callable[..., StackDriver]:
    def make(function: LambdaFunction | None = None, **kwargs: Any) -> StackDriver:
        fn = function or make_function()
        driver = StackDriver(server, [fn], rules_source=FileRules(tmp_path), **kwargs)
        driver.register(fn, export_name=EXPORT)
        return driver

    return make
