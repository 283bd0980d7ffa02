"""The answer body's limits and the bounded, retrying sender (HTTPS played by a fake connection)."""

from __future__ import annotations

import http.client
import io
import json
import logging
import ssl
import uuid
from typing import Any

import botocore.loaders
import pytest
from aws_lambda_powertools import Logger

import response
from tests.unit.conftest import FakeClock, FakeConnection, load_event

URL = load_event("create")["ResponseURL"]
LOGGER = Logger(service="test-response-quiet", logger_handler=logging.NullHandler())


def json_logger(stream: io.StringIO) -> Logger:
    # Loggers of one service share their handler: a fresh service name gets a handler of its own.
    return Logger(service=f"test-response-{uuid.uuid4()}", level="INFO", logger_handler=logging.StreamHandler(stream))


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


def test_a_failed_answer_without_a_reason_points_to_the_logs_and_a_success_says_nothing() -> None:
    assert body(status="FAILED", reason="")["Reason"] == "See the provider's logs."
    assert body(status="SUCCESS", reason="")["Reason"] == ""


def test_the_answer_has_the_protocols_fields_and_never_hides_the_attributes() -> None:
    answer = body()

    assert set(answer) == {
        *("Status", "Reason", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId"),
        *("NoEcho", "Data"),
    }
    assert answer["NoEcho"] is False  # the attributes are not secrets: !GetAtt values stay visible


def sized_body(size: int, **kwargs: Any) -> bytes:
    """A body of exactly ``size`` bytes before any cut, padded in Data (SUCCESS) or in Reason (FAILED)."""
    field = "reason" if kwargs.get("status") == "FAILED" else "data"
    args: dict[str, Any] = {
        "status": "SUCCESS",
        "reason": "",
        "physical_resource_id": "id",
        "event": load_event("create"),
    }
    args.update(kwargs)
    args[field] = "x" if field == "reason" else {"Pad": "x"}
    pad = "x" * (size - len(response.build_body(**args)) + 1)
    args[field] = pad if field == "reason" else {"Pad": pad}
    return response.build_body(**args)


def test_a_body_of_exactly_4096_bytes_is_sent_as_it_is() -> None:
    success, failed = sized_body(4096), sized_body(4096, status="FAILED")

    assert len(success) == len(failed) == 4096
    assert json.loads(success)["Status"] == "SUCCESS"
    assert not json.loads(failed)["Reason"].endswith(response.TRUNCATION_MARK)
    assert json.loads(sized_body(4097))["Status"] == "FAILED"
    assert json.loads(sized_body(4097, status="FAILED"))["Reason"].endswith(response.TRUNCATION_MARK)


@pytest.mark.parametrize(
    ("reason", "widest_escape"), [("x" * 10_000, 1), ('Quote" and \\ ' * 2000, 2), ("é" * 5000, 6)]
)
def test_a_long_reason_keeps_as_much_of_its_start_as_fits(reason: str, widest_escape: int) -> None:
    raw = response.build_body(status="FAILED", reason=reason, physical_resource_id="id", event=load_event("create"))

    assert 4096 - widest_escape < len(raw) <= 4096
    assert reason.startswith(json.loads(raw)["Reason"].removesuffix(response.TRUNCATION_MARK))


def test_oversized_attributes_become_a_failure() -> None:
    answer = body(data={"Big": "x" * 5000})

    assert answer["Status"] == "FAILED"
    assert "do not fit" in answer["Reason"]


def test_physical_id_is_capped_at_1kb_and_stable() -> None:
    long_id = "a" * 2000

    first, second = body(physical_resource_id=long_id), body(physical_resource_id=long_id)

    assert len(first["PhysicalResourceId"].encode()) <= 1024
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]


@pytest.mark.parametrize("character", ["é", "€", "𝄞"], ids=["2-byte", "3-byte", "4-byte"])
def test_a_multibyte_physical_id_is_cut_by_bytes_on_a_character_boundary(character: str) -> None:
    # 600 characters are under 1024 characters but over 1024 bytes: the limit is in bytes.
    long_id = "group-" + character * 600

    cut = body(physical_resource_id=long_id)["PhysicalResourceId"]

    assert len(cut.encode()) <= 1024
    assert cut != long_id
    kept, _, digest = cut.rpartition("-")
    assert long_id.startswith(kept) and len(kept.encode()) > 1024 - len(character.encode()) - 17
    assert len(digest) == 16
    assert cut != body(physical_resource_id=long_id + character)["PhysicalResourceId"]


def test_a_long_physical_id_keeps_its_first_1007_bytes_and_a_digest_of_the_whole() -> None:
    long_id = "p" * 2000

    cut = body(physical_resource_id=long_id)["PhysicalResourceId"]

    assert len(cut.encode()) == 1024
    assert cut.startswith("p" * 1007 + "-")


def test_a_physical_id_of_exactly_1024_bytes_is_kept_as_it_is() -> None:
    exact = "€" * 341 + "a"  # 1023 + 1 bytes

    assert body(physical_resource_id=exact)["PhysicalResourceId"] == exact


def test_puts_the_body_with_an_empty_content_type(s3: type[FakeConnection], clock: FakeClock) -> None:
    s3.script = [200]

    assert response.send(URL, b"{}", deadline=clock() + 60, logger=LOGGER, clock=clock, sleep=clock.sleep)

    method, path, sent, headers = s3.requests[0]
    assert (method, sent, headers["Content-Type"]) == ("PUT", b"{}", "")
    assert path.startswith("/arn%3Aaws%3Acloudformation") and "X-Amz-Signature=" in path


def test_retries_http_errors_and_dropped_connections(s3: type[FakeConnection], clock: FakeClock) -> None:
    s3.script = [500, 403, ConnectionResetError(104, "reset"), 200]

    assert response.send(URL, b"{}", deadline=clock() + 60, logger=LOGGER, clock=clock, sleep=clock.sleep)
    assert len(s3.requests) == 4
    assert clock.sleeps == sorted(clock.sleeps)


def test_puts_to_the_host_and_port_of_the_url_and_gives_each_put_10_s(
    s3: type[FakeConnection], clock: FakeClock
) -> None:
    s3.script = [200]
    url = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/stack/Tdg/request"

    assert response.send(url, b"{}", deadline=clock() + 60, logger=LOGGER, clock=clock, sleep=clock.sleep)

    assert s3.connections == [("cloudformation-custom-resource-response-useast1.s3.amazonaws.com", 8443, 10.0)]
    # A verifying TLS context (the default one honours SSL_CERT_FILE); never an unverified connection.
    assert isinstance(s3.contexts[0], ssl.SSLContext) and s3.contexts[0].verify_mode == ssl.CERT_REQUIRED
    method, path, _, headers = s3.requests[0]
    assert (method, path) == ("PUT", "/stack/Tdg/request")  # no query, no "?"
    assert headers == {"Content-Type": "", "Content-Length": "2"}


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_any_status_from_400_up_is_not_delivered(s3: type[FakeConnection], clock: FakeClock, status: int) -> None:
    s3.script = [status, 399]

    assert response.send(URL, b"{}", deadline=clock() + 60, logger=LOGGER, clock=clock, sleep=clock.sleep)
    assert len(s3.requests) == 2


@pytest.mark.parametrize(("pick", "expected"), [(min, [0.25, 0.5, 1, 2, 4, 4, 4]), (max, [0.5, 1, 2, 4, 8, 8, 8])])
def test_retries_back_off_from_half_a_second_doubling_up_to_8_s_with_jitter(
    s3: type[FakeConnection], clock: FakeClock, monkeypatch: pytest.MonkeyPatch, pick: Any, expected: list[float]
) -> None:
    monkeypatch.setattr(response.random, "uniform", lambda low, high: pick(low, high))
    s3.script = [500] * 7 + [200]

    assert response.send(URL, b"{}", deadline=clock() + 600, logger=LOGGER, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == expected


def test_gives_up_at_the_deadline_and_logs_without_the_url(s3: type[FakeConnection], clock: FakeClock) -> None:
    s3.script = [500] * 100
    logs = io.StringIO()

    assert not response.send(
        URL, b"{}", deadline=clock() + 20, logger=json_logger(logs), clock=clock, sleep=clock.sleep
    )
    assert clock.now <= 1020
    records = [json.loads(line) for line in logs.getvalue().splitlines()]
    gave_up = records[-1]
    assert (gave_up["level"], gave_up["message"]) == ("ERROR", "Gave up delivering the answer to CloudFormation")
    assert (gave_up["attempts"], gave_up["last_error"]) == (len(s3.requests), "HTTP 500 Reason")
    assert {r["level"] for r in records[:-1]} == {"WARNING"}
    assert "SECRETSIGNATURE" not in logs.getvalue() and "amazonaws" not in logs.getvalue()


def test_a_malformed_http_answer_is_retried_like_a_dropped_connection(
    s3: type[FakeConnection], clock: FakeClock
) -> None:
    s3.script = [http.client.BadStatusLine("garbage"), 200]  # an HTTPException, which has no errno
    logs = io.StringIO()

    assert response.send(URL, b"{}", deadline=clock() + 60, logger=json_logger(logs), clock=clock, sleep=clock.sleep)
    retry = json.loads(logs.getvalue().splitlines()[0])
    assert retry["error"] == "BadStatusLine (errno None)"


def test_each_attempt_is_logged_with_its_number_and_what_went_wrong(s3: type[FakeConnection], clock: FakeClock) -> None:
    s3.script = [500, ConnectionResetError(104, "reset"), 200]
    logs = io.StringIO()

    assert response.send(URL, b"{}", deadline=clock() + 60, logger=json_logger(logs), clock=clock, sleep=clock.sleep)

    records = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert [(r["level"], r["message"], r["attempt"], r.get("error")) for r in records] == [
        ("WARNING", "Answer not delivered yet; retrying", 1, "HTTP 500 Reason"),
        ("WARNING", "Answer not delivered yet; retrying", 2, "ConnectionResetError (errno 104)"),
        ("INFO", "Answer delivered to CloudFormation", 3, None),
    ]


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_unit_tests_cannot_open_sockets() -> None:
    # The guarantee every other unit test relies on: a forgotten stub fails instead of reaching the network.
    import socket

    from pytest_socket import SocketBlockedError

    with pytest.raises(SocketBlockedError):
        socket.socket()


# --- where the answer may go ----------------------------------------------------------------------

CFN_HOSTS = response.ResponseHosts.from_setting(None, "us-east-1")


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"),
        ("us-east-1", "cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com"),
        ("us-east-1", "cloudformation-custom-resource-response-useast1.s3-us-east-1.amazonaws.com"),
        ("eu-west-1", "cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com"),
        ("us-gov-west-1", "cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com"),
        ("us-gov-west-1", "cloudformation-custom-resource-response-usgovwest1.s3-us-gov-west-1.amazonaws.com"),
        ("cn-north-1", "cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn"),
        ("us-east-1", "CloudFormation-Custom-Resource-Response-UsEast1.S3.Amazonaws.com"),
    ],
)
def test_cloudformation_hosts_of_the_functions_region_are_admitted(region: str, host: str) -> None:
    hosts = response.ResponseHosts.from_setting(None, region)

    assert hosts.admit(f"https://{host}/arn%3Aaws%3Acloudformation%7CTdg%7Cid?X-Amz-Signature=abc")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/cloudformation-custom-resource-response-useast1",
        # another region's bucket: CloudFormation answers only in the stack's region, which is the function's
        "https://cloudformation-custom-resource-response-uswest2.s3.us-west-2.amazonaws.com/x",
        # a bucket anyone could create with the prefix
        "https://cloudformation-custom-resource-response-useast1x.s3.amazonaws.com/x",
        "https://cloudformation-custom-resource-response-useast1.attacker.s3.amazonaws.com/x",
        # path style: any bucket at all
        "https://s3.us-east-1.amazonaws.com/attacker-bucket/x",
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example.com/x",
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com@evil.example.com/x",
        "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "https://[::1/x",
        "",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    assert not CFN_HOSTS.admit(url)


@pytest.mark.parametrize("value", [None, 42, {"url": "https://x"}])
def test_a_response_url_that_is_not_a_string_is_refused(value: object) -> None:
    assert not CFN_HOSTS.admit(value)
    assert response.host_of(value) == "(none)"


def test_the_setting_replaces_the_defaults() -> None:
    local = response.ResponseHosts.from_setting(" localhost , 127.0.0.1 ", "us-east-1")

    assert local.admit("https://localhost:8443/cloudformation-custom-resource-response-useast1/key?sig=1")
    assert local.admit("https://127.0.0.1:8443/key")
    assert not local.admit("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x")


def test_an_empty_setting_means_the_defaults() -> None:
    assert response.ResponseHosts.from_setting(" , ", "us-east-1") == CFN_HOSTS


def test_a_wildcard_stands_for_part_of_one_label_only() -> None:
    hosts = response.ResponseHosts.from_setting("bucket-*.s3-fips.{region}.amazonaws.com", "us-gov-west-1")

    assert hosts.admit("https://bucket-a1.s3-fips.us-gov-west-1.amazonaws.com/x")
    assert not hosts.admit("https://bucket-a.evil.s3-fips.us-gov-west-1.amazonaws.com/x")
    assert not hosts.admit("https://bucket-.s3-fips.us-gov-west-1.amazonaws.com/x")
    assert not hosts.admit("https://bucket-a1.s3-fips.us-gov-east-1.amazonaws.com/x")


def test_the_host_is_the_only_part_named() -> None:
    assert response.host_of(URL) == "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
    assert response.host_of("https://user:secret@Evil.Example.com:8443/p?X-Amz-Signature=s") == "evil.example.com"


def test_every_partition_botocore_knows_has_its_s3_host() -> None:
    # A new partition (or Connect in one that lacks its suffix here) fails this test, not a stack.
    partitions = botocore.loaders.Loader().load_data("endpoints")["partitions"]
    for partition in partitions:
        region = next(iter(partition["regions"]))
        hosts = response.ResponseHosts.from_setting(None, region)
        bucket = f"cloudformation-custom-resource-response-{region.replace('-', '')}"
        assert hosts.admit(f"https://{bucket}.s3.{region}.{partition['dnsSuffix']}/x"), partition["partition"]
