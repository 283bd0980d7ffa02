"""The answer to CloudFormation: where it may go, a body within the protocol's limits, and its delivery.

crhelper's own sender counts any HTTP status as delivered and retries connection errors forever, so
the provider uses this one: bounded retries on connection errors and on every status of 400 or more.
The ResponseURL is a pre-signed credential: nothing here logs it. Its host alone is named, and only
when the provider refuses to answer there.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import SplitResult, urlsplit

from aws_lambda_powertools import Logger

from waiting import NoTimeToRetry, retry

MAX_BODY_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
TRUNCATION_MARK = " [...]"
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0
REQUEST_TIMEOUT = 10.0

# Where CloudFormation listens for custom-resource answers, in every partition. The one place for them.
# - The bucket: cloudformation-custom-resource-response-<region without dashes>, AWS-owned, one per region
#   (CloudFormation User Guide, "Access CloudFormation using an interface endpoint (AWS PrivateLink)").
# - Its region is the function's: "The service token must be from the same Region in which you are creating
#   the stack" (AWS::CloudFormation::CustomResource, ServiceToken). Tying the bucket to that region keeps out
#   a bucket that anyone could create with the same prefix and another suffix.
# - The host is the bucket's virtual-hosted S3 name (S3 User Guide, "Virtual hosting of general purpose
#   buckets"): bucket.s3.<region>.<partition's suffix>, bucket.s3.amazonaws.com (global endpoint) and
#   bucket.s3-<region>.amazonaws.com (legacy). The Lambda Developer Guide's example events ("Using AWS Lambda
#   with AWS CloudFormation") show ...-useast1.s3-us-east-1.amazonaws.com and, in China,
#   ...-cnnorth1.s3.cn-north-1.amazonaws.com.cn; events in public code also show ...-useast1.s3.amazonaws.com.
# - Partition suffixes from botocore's endpoints data (tests/unit/test_response.py checks that none is missing).
#   Connect exists in aws and aws-us-gov only; the others are listed so the check never stands in the way.
# Anything else (FIPS or dual-stack S3 names, a local stand-in) is opted into with ALLOWED_RESPONSE_HOSTS.
_BUCKET = "cloudformation-custom-resource-response-{region_no_dashes}"
DEFAULT_RESPONSE_HOSTS = (
    f"{_BUCKET}.s3.amazonaws.com",
    f"{_BUCKET}.s3-{{region}}.amazonaws.com",
    *(
        f"{_BUCKET}.s3.{{region}}.{suffix}"
        for suffix in (
            "amazonaws.com",
            "amazonaws.com.cn",
            "amazonaws.eu",
            "c2s.ic.gov",
            "sc2s.sgov.gov",
            "cloud.adc-e.uk",
            "csp.hci.ic.gov",
        )
    ),
)


@dataclass(frozen=True)
class ResponseHosts:
    """The hosts the provider answers to. A pattern is a host name in which ``*`` stands for one or more
    letters, digits or dashes (never a dot), and ``{region}`` / ``{region_no_dashes}`` for the function's region."""

    patterns: tuple[str, ...]
    region: str

    @classmethod
    def from_setting(cls, setting: str | None, region: str) -> ResponseHosts:
        """``ALLOWED_RESPONSE_HOSTS`` (comma-separated patterns) when set, else CloudFormation's hosts."""
        given = tuple(p.strip() for p in (setting or "").split(",") if p.strip())
        return cls(given or DEFAULT_RESPONSE_HOSTS, region)

    def admit(self, response_url: object) -> bool:
        """Whether ``response_url`` is an HTTPS URL on one of the hosts; parsed as ``send`` parses it, so
        the host checked is the host the answer would go to."""
        url = _split(response_url)
        if url is None or url.scheme != "https":
            return False
        return any(pattern.fullmatch(url.hostname or "") for pattern in self._regexes())

    def _regexes(self) -> list[re.Pattern[str]]:
        fill = {"{region}": self.region, "{region_no_dashes}": self.region.replace("-", "")}
        regexes = []
        for pattern in self.patterns:
            for placeholder, value in fill.items():
                pattern = pattern.replace(placeholder, value)
            regexes.append(re.compile("[a-z0-9-]+".join(re.escape(part) for part in pattern.lower().split("*"))))
        return regexes


def host_of(response_url: object) -> str:
    """The host of a URL: the only part of a ResponseURL that may be logged (the rest is a credential)."""
    url = _split(response_url)
    return (url.hostname if url else None) or "(none)"


def _split(response_url: object) -> SplitResult | None:
    if not isinstance(response_url, str):
        return None
    try:
        return urlsplit(response_url)
    except ValueError:  # for example a malformed IPv6 host
        return None


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
    logger: Logger,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """PUT ``body`` to the pre-signed URL until S3 accepts it or ``deadline`` (a ``clock`` value) passes.

    Every attempt is logged through ``logger`` (the function's, with the request's keys); none names the URL.
    """
    url = urlsplit(response_url)
    path = url.path + (f"?{url.query}" if url.query else "")
    context = ssl.create_default_context()  # honours SSL_CERT_FILE
    attempts, problem = 0, ""

    def put() -> None:
        nonlocal attempts, problem
        attempts += 1
        problem = _put_once(url.hostname or "", url.port, path, body, context) or ""
        if problem:
            raise _NotDelivered(problem)

    def pause(seconds: float) -> bool:
        if clock() + seconds >= deadline:
            return False
        logger.warning("Answer not delivered yet; retrying", extra={"attempt": attempts, "error": problem})
        sleep(seconds)
        return True

    try:
        retry(
            put,
            retryable=lambda error: isinstance(error, _NotDelivered),
            pause=pause,
            first=FIRST_BACKOFF,
            cap=MAX_BACKOFF,
            jitter=random.uniform,
        )
    except NoTimeToRetry:
        logger.error(
            "Gave up delivering the answer to CloudFormation", extra={"attempts": attempts, "last_error": problem}
        )
        return False
    logger.info("Answer delivered to CloudFormation", extra={"attempt": attempts})
    return True


class _NotDelivered(Exception):
    """One PUT of the answer failed; its text names no part of the URL."""


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
