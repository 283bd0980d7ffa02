"""The protocol checks of a custom resource's answers, and what CloudFormation makes of them.

The rules (docs: "Custom resource response objects", crpg-ref-responses) are listed in
:mod:`local.cloudformation.driver`; here they are applied to one request's answers.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from local.runtime import Invocation

MAX_PHYSICAL_ID_BYTES: Final = 1024
DEFAULT_SERVICE_TIMEOUT_S: Final = 3600


@dataclass
class RequestRecord:
    """One request sent to a custom resource provider and what came of it."""

    operation: str
    phase: str
    event: dict[str, Any]
    invocations: list[Invocation] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    status: str = ""  # SUCCESS | FAILED (FAILED also when there was no usable answer)
    reason: str = ""
    physical_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    no_echo: bool = False
    answered: bool = False
    invoked: bool = False

    @property
    def request_id(self) -> str:
        return str(self.event["RequestId"])

    @property
    def request_type(self) -> str:
        return str(self.event["RequestType"])

    @property
    def logical_id(self) -> str:
        return str(self.event["LogicalResourceId"])


def made_up_physical_id(stack_name: str, logical_id: str) -> str:
    """The id CloudFormation gives a resource whose provider answered none (it still sends Delete with it)."""
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    return f"{stack_name}-{logical_id}-{suffix}"


def check_invocations(rec: RequestRecord, label: str, response_secrets: list[str]) -> tuple[list[str], list[str]]:
    """(violations, warnings) of the invocations: a ResponseURL signature logged, timeouts, errors."""
    violations: list[str] = []
    warnings: list[str] = []
    secrets_ = [s for s in response_secrets if s]
    if any(s in inv.logs for inv in rec.invocations for s in secrets_):
        violations.append(f"{label}: a ResponseURL signature appears in the function's logs")
    for inv in rec.invocations:
        if inv.timed_out:
            warnings.append(f"{label}: invocation {inv.request_id} timed out")
        elif inv.error:
            warnings.append(
                f"{label}: invocation {inv.request_id} raised {inv.error.get('errorType')}: "
                f"{inv.error.get('errorMessage')}"
            )
    return violations, warnings


def service_timeout_s(properties: Mapping[str, Any]) -> int:
    """How long CloudFormation waits for an answer: ServiceTimeout, 3600 s by default."""
    try:
        return int(str(properties.get("ServiceTimeout", DEFAULT_SERVICE_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_SERVICE_TIMEOUT_S


def judge_silence(rec: RequestRecord, label: str, request_physical_id: str | None, stack_name: str) -> str:
    """Fail ``rec``, which got no answer, as CloudFormation does after ServiceTimeout; the protocol violation
    (``label`` says which request and why it got none)."""
    timeout = service_timeout_s(rec.event["ResourceProperties"])
    rec.status = "FAILED"
    rec.reason = (
        "CloudFormation did not receive a response from your Custom Resource. "
        "Please check your custom resource function's logs."
    )
    rec.physical_id = request_physical_id or made_up_physical_id(stack_name, rec.logical_id)
    return f"{label}; CloudFormation would wait ServiceTimeout={timeout}s and fail the resource"


def judge_answers(rec: RequestRecord, label: str, request_physical_id: str | None, stack_name: str) -> list[str]:
    """Set ``rec``'s outcome from its answers, as CloudFormation takes them; the protocol violations found.

    An answer CloudFormation cannot use fails the resource; a FAILED or Delete answer leaves the request's
    physical id, and a Create with no usable one gets an id made up for it.
    """
    event = rec.event
    first = rec.answers[0]
    violations: list[str] = []
    for other in rec.answers[1:]:
        same = (
            (other.get("body") == first.get("body"))
            if first.get("body") is not None
            else other.get("raw") == first.get("raw")
        )
        if not same:
            violations.append(
                f"{label}: {len(rec.answers)} answers that differ: {first.get('raw')!r} vs {other.get('raw')!r}"
            )
            break
    problems: list[str] = []  # make CloudFormation fail the resource
    notes: list[str] = []  # protocol violations CloudFormation would let pass
    for answer in rec.answers:
        problems.extend(answer.get("violations") or [])
    body = first.get("body")
    if isinstance(body, Mapping):
        status = body.get("Status")
        if status not in ("SUCCESS", "FAILED"):
            problems.append(f"Status must be SUCCESS or FAILED, got {status!r}")
        reason = body.get("Reason")
        if status == "FAILED" and (not isinstance(reason, str) or not reason.strip()):
            notes.append("FAILED answer without a Reason")
        pid = body.get("PhysicalResourceId")
        if not isinstance(pid, str) or not pid:
            problems.append(f"Invalid PhysicalResourceId {pid!r}: must be a non-empty string")
        elif len(pid.encode()) > MAX_PHYSICAL_ID_BYTES:
            problems.append(f"PhysicalResourceId is {len(pid.encode())} bytes, over 1 KB")
        for key in ("StackId", "RequestId", "LogicalResourceId"):
            if body.get(key) != event[key]:
                problems.append(f"{key} {body.get(key)!r} does not echo the request's {event[key]!r}")
        data = body.get("Data")
        if data is not None and not isinstance(data, Mapping):
            problems.append(f"Data must be a JSON object, got {type(data).__name__}")
        if "NoEcho" in body and not isinstance(body["NoEcho"], bool):
            notes.append(f"NoEcho must be a boolean, got {body['NoEcho']!r}")
        if (
            rec.request_type == "Delete"
            and isinstance(pid, str)
            and pid
            and request_physical_id is not None
            and pid != request_physical_id
        ):
            notes.append(f"Delete answered PhysicalResourceId {pid!r}, the request's was {request_physical_id!r}")
    violations.extend(f"{label}: {problem}" for problem in dict.fromkeys(problems + notes))
    rec.answered = True
    if problems or not isinstance(body, Mapping):
        rec.status = "FAILED"
        rec.reason = "; ".join(dict.fromkeys(problems)) or "unusable answer"
        if any("bytes, over the 4096-byte limit" in p for p in problems):
            rec.reason = "Response object is too long."
        answered_pid = body.get("PhysicalResourceId") if isinstance(body, Mapping) else None
        if request_physical_id is not None:
            rec.physical_id = request_physical_id
        elif isinstance(answered_pid, str) and answered_pid:
            rec.physical_id = answered_pid
        else:  # CloudFormation makes one up and still sends the rollback Delete with it
            rec.physical_id = made_up_physical_id(stack_name, rec.logical_id)
        return violations
    rec.status = str(body["Status"])
    rec.reason = str(body.get("Reason") or "")
    rec.physical_id = str(body["PhysicalResourceId"])
    rec.data = dict(body.get("Data") or {})
    rec.no_echo = bool(body.get("NoEcho") is True)
    if rec.status == "FAILED" and request_physical_id is not None:
        rec.physical_id = request_physical_id  # a failed Update/Delete leaves the resource as it was
    if rec.request_type == "Delete" and request_physical_id is not None:
        rec.physical_id = request_physical_id
    return violations
