"""The answer to CloudFormation: a body within the protocol's limits, delivered to the pre-signed URL.

crhelper's own sender counts any HTTP status as delivered and retries connection errors forever, so
the provider uses this one: bounded retries on connection errors and on every status of 400 or more.
The ResponseURL is a pre-signed credential: nothing here logs it, not even its host.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from http.client import HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
TRUNCATION_MARK = " [...]"
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0
REQUEST_TIMEOUT = 10.0


def build_body(
    *,
    status: str,
    reason: str,
    physical_resource_id: str,
    event: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> bytes:
    """The JSON answer, cut to fit 4096 bytes. A long Reason keeps its start, which names the cause."""
    body: dict[str, Any] = {
        "Status": status,
        "Reason": reason or ("See the provider's logs." if status == "FAILED" else ""),
        "PhysicalResourceId": fit_physical_id(physical_resource_id),
        "StackId": event.get("StackId", ""),
        "RequestId": event.get("RequestId", ""),
        "LogicalResourceId": event.get("LogicalResourceId", ""),
        "NoEcho": False,
        "Data": dict(data or {}) if status == "SUCCESS" else {},
    }
    encoded = _encode(body)
    if len(encoded) > MAX_BODY_BYTES and body["Data"]:
        return build_body(
            status="FAILED",
            reason=f"The group's attributes ({len(_encode(body['Data']))} bytes) do not fit in CloudFormation's "
            f"{MAX_BODY_BYTES}-byte response.",
            physical_resource_id=physical_resource_id,
            event=event,
        )
    if len(encoded) > MAX_BODY_BYTES:
        body["Reason"] = _longest_fitting_start(body, body["Reason"])
        encoded = _encode(body)
    return encoded


def _longest_fitting_start(body: dict[str, Any], reason: str) -> str:
    """The longest start of ``reason`` (marked as cut) whose encoded body fits; JSON escapes vary in size."""
    low, high = 0, len(reason)
    while low < high:
        middle = (low + high + 1) // 2
        if len(_encode({**body, "Reason": reason[:middle] + TRUNCATION_MARK})) <= MAX_BODY_BYTES:
            low = middle
        else:
            high = middle - 1
    return reason[:low] + TRUNCATION_MARK


def fit_physical_id(physical_id: str) -> str:
    raw = physical_id.encode()
    if len(raw) <= MAX_PHYSICAL_ID_BYTES:
        return physical_id
    # Stable across invocations, so the id never changes by accident.
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return raw[: MAX_PHYSICAL_ID_BYTES - 17].decode("utf-8", errors="ignore") + "-" + digest


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def send(
    response_url: str,
    body: bytes,
    *,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """PUT ``body`` to the pre-signed URL until S3 accepts it or ``deadline`` (a ``clock`` value) passes."""
    url = urlsplit(response_url)
    path = url.path + (f"?{url.query}" if url.query else "")
    context = ssl.create_default_context()  # honours SSL_CERT_FILE
    backoff = FIRST_BACKOFF
    attempt = 0
    while True:
        attempt += 1
        outcome = _put_once(url.hostname or "", url.port, path, body, context)
        if outcome is None:
            logger.info("Answer delivered to CloudFormation", extra={"attempt": attempt})
            return True
        pause = random.uniform(backoff / 2, backoff)
        if clock() + pause >= deadline:
            logger.error(
                "Gave up delivering the answer to CloudFormation",
                extra={"attempts": attempt, "last_error": outcome},
            )
            return False
        logger.warning("Answer not delivered yet; retrying", extra={"attempt": attempt, "error": outcome})
        sleep(pause)
        backoff = min(MAX_BACKOFF, backoff * 2)


def _put_once(host: str, port: int | None, path: str, body: bytes, context: ssl.SSLContext) -> str | None:
    """One PUT; None on success, else a description of the failure that holds no part of the URL."""
    connection = HTTPSConnection(host, port, context=context, timeout=REQUEST_TIMEOUT)
    try:
        # S3 signs the URL without a content type, so it must be sent empty.
        connection.request("PUT", path, body=body, headers={"Content-Type": "", "Content-Length": str(len(body))})
        response = connection.getresponse()
        response.read()
        if response.status >= 400:
            return f"HTTP {response.status} {response.reason}"
        return None
    except (OSError, HTTPException) as error:
        # The exception's text may name the host; its type and errno say enough.
        return f"{type(error).__name__} (errno {getattr(error, 'errno', None)})"
    finally:
        connection.close()
