"""CloudFormation's side of the pre-signed ``ResponseURL``: a local HTTPS server that records every answer.

A real ``ResponseURL`` is a pre-signed S3 PUT URL (``X-Amz-Expires=7200``) into the bucket
``cloudformation-custom-resource-response-<region without dashes>``, key ``<stack arn>|<logical id>|<request id>``.
:meth:`ResponseServer.url_for` builds the same shape on ``https://localhost:PORT`` with a random 64-hex signature
per request, kept so that tests can assert it never appears in logs (:meth:`ResponseServer.secrets`).

What the server does with a request, like S3 would:

* only ``PUT`` is accepted (anything else: 405, recorded in :meth:`ResponseServer.rejected`);
* the path must be one that was issued and the signature must be the one issued for it (else 403
  ``SignatureDoesNotMatch``), the URL must not have expired (else 403 ``AccessDenied``), a
  ``Content-Length`` is required (else 411);
* the body is recorded as an answer (:meth:`ResponseServer.answers`) with its raw byte length and the time
  it arrived; a body over 4096 bytes, or one that is not a JSON object, is recorded *and* flagged in
  ``answer["violations"]`` (CloudFormation rejects it although S3 accepted the upload).

Fault injection: :meth:`ResponseServer.fail_next` makes the next N PUTs fail with HTTP 500, HTTP 403 or a
dropped connection; those are not delivered answers (see :meth:`ResponseServer.attempts`).
"""

from __future__ import annotations

import contextlib
import json
import secrets as _secrets
import shutil
import socket
import ssl
import string
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

import trustme

MAX_RESPONSE_BYTES: Final = 4096
URL_EXPIRES_S: Final = 7200
_MAX_READ: Final = 1 << 20

FaultKind = Literal["500", "403", "drop"]


@dataclass
class _Issued:
    request_id: str
    stack_id: str
    logical_id: str
    path: str
    signature: str
    issued_at: float


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: ResponseServer, context: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.owner = owner
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake per connection, in the connection's own thread (a slow client can't block accept()).
        try:
            request.settimeout(10)
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            _Handler(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Handler(BaseHTTPRequestHandler):
    server: _TLSServer
    protocol_version = "HTTP/1.1"
    server_version = "AmazonS3"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_PUT(self) -> None:
        self.server.owner._handle_put(self)

    def _reject_method(self) -> None:
        self.drain()
        self.server.owner._reject(self, 405, "MethodNotAllowed", f"method {self.command} is not allowed")

    def drain(self) -> None:
        """Read the request body, so that answering early does not reset the connection under the client."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return
        if 0 < length <= _MAX_READ:
            self.rfile.read(length)

    do_GET = do_POST = do_DELETE = do_HEAD = do_PATCH = _reject_method

    def send_s3_error(self, status: int, code: str, message: str) -> None:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{_secrets.token_hex(8).upper()}</RequestId></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_ok(self) -> None:
        self.send_response(200)
        self.send_header("ETag", '"' + _secrets.token_hex(16) + '"')
        self.send_header("Content-Length", "0")
        self.end_headers()


class ResponseServer:
    """HTTPS server on 127.0.0.1 (free port, background thread) standing in for CloudFormation's S3 bucket."""

    def __init__(self, *, region: str = "us-east-1", host: str = "127.0.0.1") -> None:
        self.region = region
        self.host = host
        self._lock = threading.Lock()
        self._issued: dict[str, _Issued] = {}  # request id -> issued URL
        self._by_path: dict[str, str] = {}  # unquoted path -> request id
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._attempts: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        self._faults: list[FaultKind] = []
        self._access_key = "AKIA" + "".join(_secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
        self._dir: Path | None = None
        self._httpd: _TLSServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> ResponseServer:
        if self._httpd is not None:
            return self
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._dir = Path(tempfile.mkdtemp(prefix="cfn-response-"))
        ca.cert_pem.write_to_path(str(self._dir / "ca.pem"))
        self._httpd = _TLSServer((self.host, 0), self, context)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="cfn-response-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ResponseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ResponseServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def ca_pem_path(self) -> str:
        """PEM file of the CA that signed the server certificate: ``SSL_CERT_FILE`` for the handler's process."""
        if self._dir is None:
            raise RuntimeError("ResponseServer is not started")
        return str(self._dir / "ca.pem")

    # -- URLs ---------------------------------------------------------------------------------------

    def url_for(self, request_id: str, stack_id: str, logical_id: str) -> str:
        """A pre-signed-S3-looking URL for one request; its signature is secret (see :meth:`secrets`)."""
        bucket = "cloudformation-custom-resource-response-" + self.region.replace("-", "")
        key = f"{quote(stack_id, safe='/')}%7C{quote(logical_id, safe='')}%7C{quote(request_id, safe='')}"
        path = f"/{bucket}/{key}"
        signature = _secrets.token_hex(32)
        now = time.time()
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        credential = quote(f"{self._access_key}/{amz_date[:8]}/{self.region}/s3/aws4_request", safe="")
        query = (
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={amz_date}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Expires={URL_EXPIRES_S}&X-Amz-Credential={credential}&X-Amz-Signature={signature}"
        )
        with self._lock:
            self._issued[request_id] = _Issued(request_id, stack_id, logical_id, path, signature, now)
            self._by_path[unquote(path)] = request_id
        return f"https://localhost:{self.port}{path}?{query}"

    def secrets(self) -> list[str]:
        """Every signature issued so far (must never show up in logs)."""
        with self._lock:
            return [issued.signature for issued in self._issued.values()]

    # -- what was received --------------------------------------------------------------------------

    def answers(self, request_id: str) -> list[dict[str, Any]]:
        """Delivered answers for a request, oldest first.

        Each is ``{"request_id", "body" (parsed JSON or None), "raw" (text), "raw_length" (bytes),
        "received_at" (time.time()), "content_type", "violations" (list[str])}``.
        """
        with self._lock:
            return [dict(a) for a in self._answers.get(request_id, [])]

    def attempts(self, request_id: str | None = None) -> list[dict[str, Any]]:
        """Every PUT that reached a known URL, delivered or failed by fault injection (``"outcome"``)."""
        with self._lock:
            return [dict(a) for a in self._attempts if request_id is None or a["request_id"] == request_id]

    def rejected(self) -> list[dict[str, Any]]:
        """Requests refused like S3 would: wrong method, unknown key, bad signature, expired, no length."""
        with self._lock:
            return [dict(r) for r in self._rejected]

    # -- fault injection ----------------------------------------------------------------------------

    def fail_next(self, count: int = 1, kind: FaultKind = "500") -> None:
        """The next ``count`` PUTs to issued URLs fail: HTTP 500, HTTP 403, or a dropped connection."""
        if kind not in ("500", "403", "drop"):
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.extend([kind] * count)

    # -- request handling (server threads) ----------------------------------------------------------

    def _reject(self, handler: _Handler, status: int, code: str, message: str) -> None:
        with self._lock:
            self._rejected.append(
                {
                    "method": handler.command,
                    "path": handler.path.split("?", 1)[0],
                    "status": status,
                    "code": code,
                    "message": message,
                    "received_at": time.time(),
                }
            )
        handler.close_connection = True
        handler.send_s3_error(status, code, message)

    def _handle_put(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        length_header = handler.headers.get("Content-Length")
        if length_header is None:
            self._reject(handler, 411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
            return
        try:
            length = int(length_header)
        except ValueError:
            self._reject(handler, 400, "BadRequest", "invalid Content-Length")
            return
        raw = handler.rfile.read(min(length, _MAX_READ)) if length > 0 else b""
        now = time.time()
        with self._lock:
            request_id = self._by_path.get(unquote(split.path))
            issued = self._issued.get(request_id) if request_id else None
        if issued is None:
            self._reject(handler, 403, "AccessDenied", "Access Denied (no such pre-signed key)")
            return
        signature = parse_qs(split.query).get("X-Amz-Signature", [""])[0]
        if signature != issued.signature:
            self._reject(
                handler,
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
            return
        if now > issued.issued_at + URL_EXPIRES_S:
            self._reject(handler, 403, "AccessDenied", "Request has expired")
            return
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
            self._attempts.append(
                {
                    "request_id": issued.request_id,
                    "received_at": now,
                    "raw_length": len(raw),
                    "outcome": f"fault:{fault}" if fault else "delivered",
                }
            )
        if fault == "drop":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None:
            status, code = (500, "InternalError") if fault == "500" else (403, "AccessDenied")
            handler.close_connection = True
            handler.send_s3_error(status, code, "injected fault")
            return
        self._record(issued, raw, now, handler.headers.get("Content-Type", ""))
        handler.send_ok()

    def _record(self, issued: _Issued, raw: bytes, received_at: float, content_type: str) -> None:
        violations: list[str] = []
        text = raw.decode("utf-8", errors="replace")
        if len(raw) > MAX_RESPONSE_BYTES:
            violations.append(f"response body is {len(raw)} bytes, over the {MAX_RESPONSE_BYTES}-byte limit")
        body: Mapping[str, Any] | None
        try:
            parsed = json.loads(text)
        except ValueError:
            body = None
            violations.append("response body is not valid JSON")
        else:
            if isinstance(parsed, dict):
                body = parsed
            else:
                body = None
                violations.append("response body is not a JSON object")
        answer = {
            "request_id": issued.request_id,
            "body": body,
            "raw": text,
            "raw_length": len(raw),
            "received_at": received_at,
            "content_type": content_type,
            "violations": violations,
        }
        with self._lock:
            self._answers.setdefault(issued.request_id, []).append(answer)
