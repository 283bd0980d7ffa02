"""The HTTPS side of the pre-signed ResponseURL (local/cloudformation/server.py), and crhelper's sender against it."""

from __future__ import annotations

import importlib
import re
import time

from local.cloudformation import (
    ResponseServer,
)
from tests.local.conftest import (
    put,
)

# ------------------------------------------------------------------------------------------------
# ResponseServer


def test_response_server_url_recording_and_refusals(server: ResponseServer) -> None:
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/st/1111"
    url = server.url_for("req-1", stack_id, "Res")
    assert re.fullmatch(
        r"https://localhost:\d+/cloudformation-custom-resource-response-useast1/"
        r"arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/st/1111%7CRes%7Creq-1"
        r"\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-SignedHeaders=host&X-Amz-Expires=7200"
        r"&X-Amz-Credential=AKIA[A-Z2-7]{16}%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=[0-9a-f]{64}",
        url,
    ), url
    signature = url.rsplit("=", 1)[1]
    assert signature in server.secrets()
    ca = server.ca_pem_path

    assert put(url, b"{}", ca, method="POST") == 405
    assert put(url.replace(signature, "0" * 64), b"{}", ca) == 403
    assert put(url.replace("%7CRes%7C", "%7CXXX%7C"), b"{}", ca) == 403
    assert [r["status"] for r in server.rejected()][-3:] == [405, 403, 403]
    assert server.answers("req-1") == []

    server.fail_next(1, "500")
    assert put(url, b'{"a": 1}', ca) == 500
    server.fail_next(1, "403")
    assert put(url, b'{"a": 2}', ca) == 403
    server.fail_next(1, "drop")
    assert put(url, b'{"a": 3}', ca) is None
    assert server.answers("req-1") == []  # failed deliveries are not answers

    before = time.time()
    assert put(url, b'{"a": 4}', ca) == 200
    assert put(url, b"x" * 5000, ca) == 200  # S3 takes it; CloudFormation would not
    first, second = server.answers("req-1")
    assert first["body"] == {"a": 4} and first["raw_length"] == 8 and first["violations"] == []
    assert before <= first["received_at"] <= time.time()
    assert second["raw_length"] == 5000 and second["body"] is None
    assert any("over the 4096-byte limit" in v for v in second["violations"])
    assert [a["outcome"] for a in server.attempts("req-1")] == [
        "fault:500", "fault:403", "fault:drop", "delivered", "delivered",
    ]  # fmt: skip


def test_crhelper_sender_against_faults(server: ResponseServer) -> None:
    """What crhelper 2.0.12's ``_send_response`` does with a failing ResponseURL.

    A dropped connection is an exception: crhelper retries (after 2 s) and the answer arrives. An HTTP 500 is a
    response: crhelper logs it and stops, so the answer is lost and CloudFormation would wait for ServiceTimeout.
    """
    _send_response = importlib.import_module("crhelper.utils")._send_response  # private, not in its stubs

    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/st/2222"
    url = server.url_for("req-drop", stack_id, "Res")
    server.fail_next(1, "drop")
    _send_response(url, {"Status": "SUCCESS"}, server.ca_pem_path)
    assert [a["body"] for a in server.answers("req-drop")] == [{"Status": "SUCCESS"}]

    url = server.url_for("req-500", stack_id, "Res")
    server.fail_next(1, "500")
    _send_response(url, {"Status": "SUCCESS"}, server.ca_pem_path)
    assert server.answers("req-500") == []
    assert [a["outcome"] for a in server.attempts("req-500")] == ["fault:500"]
