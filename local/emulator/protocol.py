"""Wire protocols driven by botocore's own service models.

Nothing here is specific to one service. Routes come from each operation's ``http``
trait (method + ``requestUri``), request members are bound by their
``location``/``locationName``, responses are rendered from the output shapes, and every
input constraint is checked by :mod:`local.emulator.validation`. Supported protocols are
``rest-json`` (Connect, Lambda) and ``json`` (EventBridge), the ones the provider uses.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from local.emulator.errors import ApiError
from local.emulator.validation import validate_value

_LABEL = re.compile(r"\{([^}]+)\}")


@functools.cache
def load_service_model(name: str) -> ServiceModel:
    """The model bundled with the installed botocore, loaded once per process."""
    return botocore.session.get_session().get_service_model(name)


@dataclass
class HttpRequest:
    """One request as the server read it. ``path`` is still percent-encoded."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class HttpResponse:
    """What the server writes back; ``drop`` closes the socket without any response."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    query: tuple[tuple[str, str | None], ...]  # literal query parameters of the requestUri
    literal_chars: int


def _compile_route(op: OperationModel) -> _Route:
    path, _, literal_query = op.http["requestUri"].partition("?")
    parts: list[str] = []
    labels: list[str] = []
    pos = 0
    for match in _LABEL.finditer(path):
        parts.append(re.escape(path[pos : match.start()]))
        label = match.group(1)
        # botocore percent-encodes a plain label completely (``/`` too), so it is one segment;
        # a greedy label (``{Key+}``) keeps its slashes.
        greedy = label.endswith("+")
        labels.append(label.rstrip("+"))
        parts.append("(.+)" if greedy else "([^/]+)")
        pos = match.end()
    parts.append(re.escape(path[pos:]))
    query: list[tuple[str, str | None]] = []
    for item in filter(None, literal_query.split("&")):
        key, sep, value = item.partition("=")
        query.append((key, value if sep else None))
    return _Route(
        operation=op.name,
        method=op.http["method"],
        pattern=re.compile("".join(parts)),
        labels=tuple(labels),
        query=tuple(query),
        literal_chars=len(_LABEL.sub("", path)),
    )


def _scalar_from_text(shape: Shape, text: str) -> Any:
    """Convert a URI/query/header string to the member's type; leave it a string when it
    does not convert so that validation reports the type error like the service would."""
    if shape.type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text
    if shape.type_name in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return text
    if shape.type_name == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _from_wire(shape: Shape, value: Any) -> Any:
    """JSON document -> python params keyed by member names (as boto3 callers spell them)."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            name: _from_wire(member, value[wire])
            for name, member in shape.members.items()
            if (wire := member.serialization.get("name", name)) in value
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_from_wire(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _from_wire(shape.value, item) for key, item in value.items()}
    return value


def _to_wire(shape: Shape, value: Any) -> Any:
    """Python result -> JSON document (wire names, epoch-second timestamps, base64 blobs).
    Members the installed model does not know are dropped (see :meth:`ServiceSpec.render`)."""
    if isinstance(shape, StructureShape):
        members = shape.members
        return {
            members[name].serialization.get("name", name): _to_wire(members[name], item)
            for name, item in value.items()
            if item is not None and name in members
        }
    if isinstance(shape, ListShape):
        return [_to_wire(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _to_wire(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, dt.datetime):
        return value.timestamp()
    if shape.type_name == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _load_json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError("SerializationException", f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ApiError("SerializationException", "Request body must be a JSON object")
    return doc


class ServiceSpec:
    """One AWS service as seen on the wire: route, parse, validate, render.

    ``validation_code(op)`` names the error code a constraint violation yields for ``op``
    (services differ: Connect uses codes from each operation's error list, Lambda and
    EventBridge the generic ``ValidationException``). ``error_type_field`` adds Lambda's
    ``"Type": "User"|"Service"`` member to error bodies.
    """

    def __init__(
        self,
        name: str,
        *,
        validation_code: Callable[[OperationModel], str],
        error_type_field: bool = False,
    ) -> None:
        self.name = name
        self.model = load_service_model(name)
        self.protocol: str = self.model.protocol
        if self.protocol not in ("rest-json", "json"):
            raise ValueError(f"{name}: protocol {self.protocol} is not supported by the emulator")
        self._validation_code = validation_code
        self._error_type_field = error_type_field
        self._routes: list[_Route] = []
        if self.protocol == "rest-json":
            routes = [_compile_route(self.model.operation_model(op)) for op in self.model.operation_names]
            # Most literal characters first, so `/x/{Id}/users` beats `/x/{Id}/{Other}`.
            self._routes = sorted(routes, key=lambda r: -r.literal_chars)

    # -- routing -----------------------------------------------------------------------
    def operation_for(self, request: HttpRequest) -> tuple[OperationModel, dict[str, str]]:
        """The operation the request addresses and its raw (still encoded) URI labels."""
        if self.protocol == "json":
            target = request.headers.get("x-amz-target", "")
            prefix, _, op_name = target.partition(".")
            if prefix != self.model.metadata.get("targetPrefix") or op_name not in self.model.operation_names:
                raise ApiError("UnknownOperationException", f"Unknown operation {target!r}", status=400)
            return self.model.operation_model(op_name), {}
        query = parse_qs(request.query, keep_blank_values=True)
        for route in self._routes:
            if route.method != request.method:
                continue
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if any(key not in query or (value is not None and value not in query[key]) for key, value in route.query):
                continue
            return self.model.operation_model(route.operation), dict(zip(route.labels, match.groups(), strict=True))
        raise ApiError(
            "UnknownOperationException",
            f"No {self.name} operation for {request.method} {request.path}",
            status=404,
        )

    # -- requests ----------------------------------------------------------------------
    def parse(self, op: OperationModel, request: HttpRequest, labels: dict[str, str]) -> dict[str, Any]:
        """Request -> params keyed by member names, exactly as a boto3 caller passed them."""
        shape = op.input_shape
        if shape is None:
            return {}
        if self.protocol == "json":
            parsed = _from_wire(shape, _load_json_object(request.body))
            assert isinstance(parsed, dict)
            return parsed
        return self._parse_rest(shape, request, labels)

    def _parse_rest(self, shape: StructureShape, request: HttpRequest, labels: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        query = parse_qs(request.query, keep_blank_values=True)
        bound_query: set[str] = set()
        query_maps: list[str] = []
        body_members: dict[str, Shape] = {}
        members = shape.members
        for name, member in members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                if wire in labels:
                    params[name] = _scalar_from_text(member, unquote(labels[wire]))
            elif location == "querystring":
                if member.type_name == "map":
                    query_maps.append(name)
                elif wire in query:
                    bound_query.add(wire)
                    values = query[wire]
                    if isinstance(member, ListShape):
                        params[name] = [_scalar_from_text(member.member, v) for v in values]
                    else:
                        params[name] = _scalar_from_text(member, values[0])
            elif location == "header":
                if wire.lower() in request.headers:
                    params[name] = _scalar_from_text(member, request.headers[wire.lower()])
            elif location == "headers":
                prefix = wire.lower()
                found = {k[len(prefix) :]: v for k, v in request.headers.items() if k.startswith(prefix)}
                if found:
                    params[name] = found
            else:
                body_members[name] = member
        for name in query_maps:
            rest = {key: values[0] for key, values in query.items() if key not in bound_query}
            if rest:
                params[name] = rest
        payload = shape.serialization.get("payload")
        if payload:
            member = members[payload]
            if member.type_name == "structure":
                params[payload] = _from_wire(member, _load_json_object(request.body))
            elif request.body:
                params[payload] = request.body if member.type_name == "blob" else request.body.decode()
        elif body_members:
            document = _load_json_object(request.body)
            for name, member in body_members.items():
                wire = member.serialization.get("name", name)
                if wire in document:
                    params[name] = _from_wire(member, document[wire])
        return params

    def validate(self, op: OperationModel, params: dict[str, Any]) -> None:
        """Raise the service's validation error when ``params`` break a model constraint."""
        if op.input_shape is None:
            return
        errors: list[str] = []
        validate_value(op.input_shape, params, "", errors, output=False)
        if errors:
            noun = "error" if len(errors) == 1 else "errors"
            message = f"{len(errors)} validation {noun} detected: " + "; ".join(errors)
            raise ApiError(self._validation_code(op), message)

    # -- responses ---------------------------------------------------------------------
    def render(self, op: OperationModel, result: dict[str, Any]) -> HttpResponse:
        """A success response for ``result`` (keyed by output member names).

        The result is first checked against the output shape: a value of the wrong type,
        length, pattern or enum is an emulator bug and must not reach the client as a
        plausible answer. Differences between botocore versions are not: a member the
        installed model does not know is dropped, and a member it marks required may be
        absent (botocore does not check responses for either).
        """
        shape = op.output_shape
        errors: list[str] = []
        if shape is not None:
            validate_value(shape, result, "", errors, output=True)
        if errors:
            raise RuntimeError(f"emulator produced an invalid {op.name} response: {'; '.join(errors)}")
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if self.protocol == "json":
            headers["Content-Type"] = "application/x-amz-json-1.1"
            document = _to_wire(shape, result) if shape is not None else {}
            return HttpResponse(200, headers, json.dumps(document).encode())
        status = int(op.http.get("responseCode", 200))
        body: Any = {}
        if shape is not None:
            payload = shape.serialization.get("payload")
            for name, value in result.items():
                member = shape.members.get(name)
                if member is None or value is None:
                    continue
                location = member.serialization.get("location")
                if location == "header":
                    headers[member.serialization.get("name", name)] = str(value)
                elif location == "statusCode":
                    status = int(value)
                elif name == payload:
                    body = _to_wire(member, value)  # the payload member is the whole body
                else:
                    body[member.serialization.get("name", name)] = _to_wire(member, value)
        if status == 204:
            return HttpResponse(status, headers)
        headers["Content-Type"] = "application/json"
        return HttpResponse(status, headers, json.dumps(body).encode())

    def error_status(self, code: str) -> int:
        """HTTP status for ``code`` from its error shape; 500 for faults, else 400."""
        if code in self.model.shape_names:
            metadata = self.model.shape_for(code).metadata
            if metadata.get("exception"):
                status = metadata.get("error", {}).get("httpStatusCode")
                if status:
                    return int(status)
                return 500 if metadata.get("fault") else 400
        return 400

    def render_error(self, error: ApiError) -> HttpResponse:
        """The error as this protocol puts it on the wire, so botocore parses ``error.code``."""
        status = error.status or self.error_status(error.code)
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), **error.headers}
        # Both spellings: Connect and Lambda shapes disagree on ``message`` vs ``Message``.
        body: dict[str, Any] = {"message": error.message, "Message": error.message}
        if self._error_type_field:
            body["Type"] = "Service" if status >= 500 else "User"
        body.update(error.fields)
        if self.protocol == "json":
            headers["Content-Type"] = "application/x-amz-json-1.1"
            body = {"__type": error.code, **body}
        else:
            headers["Content-Type"] = "application/json"
            headers["x-amzn-ErrorType"] = error.code
        return HttpResponse(status, headers, json.dumps(body).encode())
