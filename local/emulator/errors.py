"""The one exception type the emulator's backends raise to produce an AWS error response."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An AWS API error, rendered on the wire by the service's protocol.

    ``code`` is the error code boto3 exposes as ``e.response["Error"]["Code"]``.
    ``status`` overrides the HTTP status; when ``None`` it is taken from the error shape
    in the botocore model (``error.httpStatusCode``), 500 for fault shapes, else 400.
    ``fields`` are extra members of the error shape (e.g. ``ResourceType`` for
    Connect's ``ResourceInUseException``); ``headers`` are extra response headers.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})
