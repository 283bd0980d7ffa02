"""StackDriver: run a template's custom resources through create / update / delete stack operations.

The rules implemented, with where they are documented:

Requests (docs: "Custom resource request objects", crpg-ref-requests; "Create/Update/Delete request for
CloudFormation custom resources", crpg-ref-requesttypes-*):

* Every request carries RequestType, ServiceToken, ResponseURL, StackId, RequestId (new per request),
  LogicalResourceId, ResourceType and ResourceProperties; Update adds OldResourceProperties, Update and
  Delete add the current PhysicalResourceId.
* ResourceProperties hold *all* the template properties, ServiceToken and ServiceTimeout included, with every
  scalar turned into a string (not in the reference pages; reported in aws-cloudformation/
  cloudformation-coverage-roadmap#1037 and aws/aws-cdk#15249, #4000: "custom resource properties are always
  stringified by CloudFormation").
* ServiceTimeout: 1..3600 s, default 3600; without an answer by then the request fails ("If no response is
  received before the timeout period ends, the request is considered unsuccessful", crpg-ref). Here, a request
  for which every invocation has ended, no answer arrived and no polling rule is pending can never be answered:
  it fails at once, as it would after ServiceTimeout, and is reported as a protocol violation.

Responses (docs: "Custom resource response objects", crpg-ref-responses):

* body <= 4096 bytes; Status SUCCESS or FAILED; Reason required when FAILED; PhysicalResourceId a non-empty
  string of at most 1 KB; StackId, RequestId and LogicalResourceId copied from the request; Data an object
  whose keys ``!GetAtt`` can read; NoEcho a boolean.
* "If the value returned [for PhysicalResourceId on Update] is different, CloudFormation recognizes the update
  as a replacement and sends a delete request to the old resource" (crpg-ref-responses,
  crpg-ref-requesttypes-update, AWS::CloudFormation::CustomResource "Replacing a custom resource during an
  update"). On Delete the answer must carry the request's id.
* A FAILED Create whose answer has no usable PhysicalResourceId still gets a rollback Delete, with an id
  CloudFormation made up (remind101/empire#918, cloudformation-coverage-roadmap#1814).

Stack operations (docs: "Understand update behaviors of stack resources", "Monitor the progress of a stack
update"; aws-cdk custom-resources README "When there are errors" / "Important cases to handle"):

* create: resources in dependency order (with ``parallel=True`` each one as soon as every resource it depends on
  is complete, independent ones concurrently, as CloudFormation does; on a failure no new resource starts, the
  ones in progress finish); on a failure, ROLLBACK_IN_PROGRESS: Delete every resource that got a
  Create request, the failed one included, in reverse order -> ROLLBACK_COMPLETE (ROLLBACK_FAILED if a Delete
  fails). A stack in ROLLBACK_COMPLETE can only be deleted. Every "reverse order" below is reverse dependency
  order: with ``parallel=True`` a resource is deleted (or rolled back) once everything that depends on it is.
* update: the same template with the same parameters is refused ("No updates are to be performed.");
  changed resources get Update (unchanged ones nothing), new ones Create, in dependency order. A
  changed ServiceToken is refused ("Modifying service token is not allowed."). When all succeed:
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS -> Delete the replaced old physical ids (with their old properties) and
  the removed resources, in reverse dependency order -> UPDATE_COMPLETE. A failed Delete in a cleanup phase
  does not fail the stack ("Update successful. One or more resources could not be deleted.",
  rvedotrc/aws-cloudformation-stack-states#2).
* update failure: UPDATE_ROLLBACK_IN_PROGRESS, walking the changes back in reverse order: every resource
  updated in place, the failed one included, gets an Update with ResourceProperties = the old properties,
  OldResourceProperties = the new ones and the current (= old) PhysicalResourceId ("If an Update event fails,
  CloudFormation will issue an additional Update with the previous properties", aws-cdk README). A resource
  whose update was a *replacement* is not updated again: the old physical resource was never touched, so
  CloudFormation goes back to it (old id, old properties, old Data). Then UPDATE_ROLLBACK_COMPLETE_CLEANUP_
  IN_PROGRESS: Delete the NEW physical ids of the replacements (with the new properties) and the resources
  created by the failed update -> UPDATE_ROLLBACK_COMPLETE (UPDATE_ROLLBACK_FAILED if a rollback Update fails).
  No AWS page states which id the rollback of a custom-resource replacement deletes (see go-to-k/cdkd#2598);
  this follows the general "Replacement" behaviour (the new resource is the one created by the failed update).
* delete: Delete in reverse dependency order -> DELETE_COMPLETE, or DELETE_FAILED keeping the resources that
  could not be deleted and what they depend on.

Resource attributes (docs: "DeletionPolicy attribute", "UpdateReplacePolicy attribute"):

* ``DeletionPolicy: Retain`` keeps the physical resource wherever CloudFormation would delete it: stack delete,
  removal by an update, the rollback of a failed create and the cleanup of an update rollback.
  ``RetainExceptOnCreate`` does the same except in the rollback of the operation that created the resource
  ("If the stack operation that created the resource is rolled back, CloudFormation deletes the resource").
  The resource leaves the stack either way; ``Stack.retained`` lists it and the timeline notes RETAINED.
  The policy comes from the template that defined the resource (the old one for a resource an update removes).
* ``UpdateReplacePolicy: Retain`` keeps the old physical resource of a replacement (the new template's
  attribute). The replacement a failed update made is removed under its DeletionPolicy (unverified: no page
  says which attribute governs that case).

Native resources: with ``native_endpoint_url`` (the emulator), the types of :mod:`local.cloudformation.native`
(``AWS::Connect::PhoneNumber``) are played through boto3: Ref and ``!GetAtt`` work, create, update, replace and
delete call the emulator, and ``native_requests`` records them. Every other native type is ignored, with a note.

Not CloudFormation: by default resources are processed one at a time (``parallel=True`` runs independent ones
concurrently, like CloudFormation); Lambda's asynchronous retries (twice, after about 1 and 2 minutes) happen
only with ``retry_on_error=True`` and immediately; EventBridge schedules are fired immediately in
``poll_mode="fast"``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from local.runtime import Invocation

from .answers import (
    DEFAULT_SERVICE_TIMEOUT_S,
    RequestRecord,
    check_invocations,
    judge_answers,
    judge_silence,
    service_timeout_s,
)
from .native import NativeError, NativePlayer
from .schedule import closure, dependents, prerequisites, schedule
from .template import (
    ResolutionError,
    Resolver,
    TemplateError,
    check_rules,
    dependencies,
    evaluate_conditions,
    expand_language_extensions,
    load_template,
    resolve_parameters,
    stringify,
    topological_order,
)
from .timeline import TimelineRecord, format_timeline

NOT_EMULATED: Final = "<not-emulated>"
PollMode = Literal["fast", "realtime"]


class FunctionLike(Protocol):
    """What the driver needs from a Lambda function (:class:`LambdaFunction` or a test double)."""

    @property
    def arn(self) -> str: ...

    def invoke(self, event: Mapping[str, Any]) -> Invocation: ...


class ResponseSink(Protocol):
    """Where answers go: :class:`ResponseServer`, or a test double."""

    def url_for(self, request_id: str, stack_id: str, logical_id: str) -> str: ...

    def answers(self, request_id: str) -> list[dict[str, Any]]: ...

    def secrets(self) -> list[str]: ...


class RulesSource(Protocol):
    """EventBridge rules as the emulator shows them: ``{"Name", "ScheduleExpression", "State", "Targets"}``."""

    def rules(self) -> Sequence[Mapping[str, Any]]: ...


class StackOperationError(Exception):
    """The operation is refused before it starts (wrong stack status, invalid template or parameters)."""


@dataclass
class StackResource:
    logical_id: str
    resource_type: str
    physical_id: str
    properties: dict[str, Any]  # as sent in the last successful request (stringified)
    data: dict[str, Any] = field(default_factory=dict)
    no_echo: bool = False
    status: str = ""


@dataclass
class Stack:
    name: str
    stack_id: str
    region: str
    account_id: str
    status: str = ""
    status_reason: str = ""
    template: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, StackResource] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    retained: list[tuple[str, str]] = field(default_factory=list)  # (logical id, physical id) left behind


@dataclass
class _Change:
    kind: Literal["create", "update", "replace"]
    logical_id: str
    old: StackResource | None
    new: StackResource | None


def is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


_RATE: Final = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")


def schedule_interval_s(expression: str) -> float:
    """Seconds between two runs of an EventBridge ``rate(...)`` schedule."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


class StackDriver:
    """Plays CloudFormation for one stack whose custom resources are served by local Lambda functions.

    ``functions`` are registered by their ARN, the ServiceToken a template gives them (directly or through
    ``!ImportValue`` of ``exports``). ``rules_source`` (the emulator) is read after an invocation that did not
    answer, to fire crhelper's polling rule for that request.

    ``parallel=True`` runs each request (delivery, retries and polling) in its own thread as soon as the resources
    it depends on are done, as CloudFormation does; by default requests are sent one at a time. ``requests``,
    ``timeline``, ``violations`` and ``warnings`` are appended under one lock, the timeline in time order.

    ``native_endpoint_url`` (the emulator's ``endpoint_url``) lets the driver play the native types of
    :mod:`local.cloudformation.native` with boto3 and dummy credentials; their handler calls are in
    ``native_requests`` (RequestRecords that invoke no function). Without it they are ignored, like every other
    native type.
    """

    def __init__(
        self,
        server: ResponseSink,
        functions: Sequence[FunctionLike] | Mapping[str, FunctionLike] = (),
        *,
        stack_name: str = "tdg-stack",
        region: str = "us-east-1",
        account_id: str = "123456789012",
        exports: Mapping[str, Any] | None = None,
        rules_source: RulesSource | None = None,
        poll_mode: PollMode = "fast",
        max_polls: int = 20,
        deliver_twice: bool = False,
        retry_on_error: bool = False,
        parallel: bool = False,
        native_endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server = server
        self.functions: dict[str, FunctionLike] = (
            dict(functions) if isinstance(functions, Mapping) else {f.arn: f for f in functions}
        )
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.exports: dict[str, Any] = dict(exports or {})
        self.rules_source = rules_source
        if poll_mode not in ("fast", "realtime"):
            raise ValueError(f"poll_mode must be 'fast' or 'realtime', not {poll_mode!r}")
        self.poll_mode: PollMode = poll_mode
        self.max_polls = max_polls
        self.deliver_twice = deliver_twice
        self.retry_on_error = retry_on_error
        self.parallel = parallel
        self._sleep = sleep
        self._lock = threading.RLock()  # guards the lists below and the stack's resources while requests run
        self.stack: Stack | None = None
        self.timeline: list[TimelineRecord] = []
        self.violations: list[str] = []
        self.warnings: list[str] = []
        self.requests: list[RequestRecord] = []
        self.native: NativePlayer | None = NativePlayer(native_endpoint_url) if native_endpoint_url else None
        self.native_requests: list[RequestRecord] = []
        self._t0 = time.monotonic()
        self._operation = ""

    def register(self, function: FunctionLike, *, export_name: str | None = None) -> None:
        """Serve ServiceToken ``function.arn`` with ``function`` (and export the ARN as ``export_name``)."""
        self.functions[function.arn] = function
        if export_name:
            self.exports[export_name] = function.arn

    # ============================================================================================
    # Stack operations

    def create_stack(
        self, template: str | Path | Mapping[str, Any], parameters: Mapping[str, Any] | None = None
    ) -> Stack:
        if self.stack is not None and self.stack.status != "DELETE_COMPLETE":
            raise StackOperationError(f"Stack [{self.stack_name}] already exists ({self.stack.status})")
        stack = Stack(
            name=self.stack_name,
            stack_id=f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/{uuid.uuid4()}",
            region=self.region,
            account_id=self.account_id,
        )
        tmpl, params = self._prepare(stack, template, parameters)
        self.stack = stack
        stack.template, stack.parameters = tmpl, params
        changes, failure, order, graph = self._apply(stack, "CreateStack", tmpl, params)
        created = {change.logical_id for change in changes}  # every change of a new stack is a create
        if not failure:
            self._set_status(stack, "CREATE_COMPLETE")
            return stack
        stack.status_reason = f"The following resource(s) failed to create: [{failure}]"
        self._set_status(stack, "ROLLBACK_IN_PROGRESS", stack.status_reason)
        doomed = [lid for lid in reversed(order) if lid in created]
        rollback_failed = self._delete_each(
            stack,
            doomed,
            graph,
            lambda lid: (stack.resources[lid], _retention(tmpl, lid, "DeletionPolicy", rolling_back_creation=True)),
        )
        for lid in doomed:
            if lid in rollback_failed:
                stack.resources[lid].status = "DELETE_FAILED"
            else:
                del stack.resources[lid]
        stack.outputs, stack.exports = {}, {}
        self._set_status(stack, "ROLLBACK_FAILED" if rollback_failed else "ROLLBACK_COMPLETE", stack.status_reason)
        return stack

    def update_stack(
        self, template: str | Path | Mapping[str, Any], parameters: Mapping[str, Any] | None = None
    ) -> Stack:
        stack = self._require("UpdateStack", {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
        tmpl, params = self._prepare(stack, template, parameters)
        if tmpl == stack.template and params == stack.parameters:
            raise StackOperationError("No updates are to be performed.")
        old_template, old_params = stack.template, stack.parameters
        old_graph = self._graph(old_template, self._conditions_of(stack, old_template, old_params))
        old_order = topological_order(old_graph)
        changes, failure, order, graph = self._apply(stack, "UpdateStack", tmpl, params)
        if failure:
            return self._rollback_update(stack, changes, graph, failure, old_template, old_params, tmpl)

        stack.template, stack.parameters = tmpl, params
        self._set_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        replaced = {c.logical_id: c.old for c in changes if c.kind == "replace" and c.old is not None}
        removed = [lid for lid in stack.resources if lid not in set(order)]

        def replaced_or_removed(lid: str) -> tuple[StackResource, str | None]:
            old_res = replaced.get(lid)
            if old_res is not None:
                return old_res, _retention(tmpl, lid, "UpdateReplacePolicy")
            return stack.resources[lid], _retention(old_template, lid, "DeletionPolicy")

        doomed = [
            lid
            for lid in reversed(old_order + [r for r in removed if r not in old_order])
            if lid in replaced or lid in removed
        ]
        failed = self._delete_each(stack, doomed, old_graph, replaced_or_removed)
        cleanup_failed = [f"{lid} ({replaced_or_removed(lid)[0].physical_id})" for lid in failed]
        for lid in removed:
            del stack.resources[lid]  # removed from the stack either way
        reason = "Update successful. One or more resources could not be deleted." if cleanup_failed else ""
        if cleanup_failed:
            self._warning(f"UpdateStack cleanup could not delete: {', '.join(cleanup_failed)}")
        stack.status_reason = reason
        self._set_status(stack, "UPDATE_COMPLETE", reason)
        return stack

    def delete_stack(self) -> Stack:
        stack = self._require("DeleteStack", None)
        self._operation = "DeleteStack"
        self._set_status(stack, "DELETE_IN_PROGRESS")
        graph = self._graph(stack.template, self._conditions_of(stack, stack.template, stack.parameters))
        order = [lid for lid in topological_order(graph) if lid in stack.resources]
        order += [lid for lid in stack.resources if lid not in order]
        kept: set[str] = set()  # failed deletes and everything they depend on

        def delete(lid: str) -> bool:
            res = stack.resources[lid]
            with self._lock:
                skip = lid in kept
            if skip:
                self._note(
                    stack.status,
                    "Delete",
                    lid,
                    res.physical_id,
                    "SKIPPED",
                    "a resource that depends on it could not be deleted",
                )
                return True
            rec = self._delete(stack, res, retain=_retention(stack.template, lid, "DeletionPolicy"))
            with self._lock:
                if rec.status == "SUCCESS":
                    del stack.resources[lid]
                else:
                    res.status = "DELETE_FAILED"
                    kept.update({lid} | closure(graph, lid))
            return rec.status == "SUCCESS"

        doomed = list(reversed(order))
        schedule(doomed, dependents(graph, doomed), delete, stop_on_failure=False, parallel=self.parallel)
        if stack.resources:
            stack.status_reason = f"The following resource(s) failed to delete: [{', '.join(stack.resources)}]"
            self._set_status(stack, "DELETE_FAILED", stack.status_reason)
        else:
            stack.outputs, stack.exports = {}, {}
            self._set_status(stack, "DELETE_COMPLETE")
        return stack

    def _apply(
        self, stack: Stack, operation: str, tmpl: dict[str, Any], params: dict[str, Any]
    ) -> tuple[list[_Change], str, list[str], dict[str, set[str]]]:
        """The forward walk of create and update: Create each new resource, Update each changed one, in order.

        Returns the changes in dependency order, what failed ("" when nothing did, outputs included), the order
        and the dependency graph of ``tmpl``.
        """
        self._operation = operation
        self._set_status(stack, "CREATE_IN_PROGRESS" if operation == "CreateStack" else "UPDATE_IN_PROGRESS")
        resolver, order, graph = self._plan(stack, tmpl, params)
        changes: list[_Change] = []
        failures: list[str] = []

        def change(lid: str) -> bool:
            definition = tmpl["Resources"][lid]
            rtype = str(definition.get("Type", ""))
            if not self._plays(rtype):
                self._note_ignored(stack, lid, rtype)
                return True
            current = stack.resources.get(lid)
            try:
                props = self._properties(resolver, definition, rtype)
            except TemplateError as exc:
                self._note(
                    stack.status,
                    "Update" if current else "Create",
                    lid,
                    current.physical_id if current else "",
                    "FAILED",
                    str(exc),
                )
                return self._failed(failures, f"{lid}: {exc}")
            if current is None:
                rec = self._request(stack, "Create", lid, rtype, props)
                with self._lock:
                    if rec.invoked:
                        status = "CREATE_COMPLETE" if rec.status == "SUCCESS" else "CREATE_FAILED"
                        res = StackResource(lid, rtype, rec.physical_id, props, rec.data, rec.no_echo, status)
                        stack.resources[lid] = res
                        changes.append(_Change("create", lid, None, res))
                return rec.status == "SUCCESS" or self._failed(failures, f"{lid}: {rec.reason}")
            if current.resource_type != rtype:
                failure = f"{lid}: Update of resource type is not permitted"
                self._note(stack.status, "Update", lid, current.physical_id, "FAILED", failure)
                return self._failed(failures, failure)
            if props == current.properties:
                return True
            if not is_custom_resource(rtype):
                return self._update_native(stack, current, props, changes, failures)
            if props.get("ServiceToken") != current.properties.get("ServiceToken"):
                self._note(
                    stack.status,
                    "Update",
                    lid,
                    current.physical_id,
                    "FAILED",
                    "Modifying service token is not allowed.",
                )
                with self._lock:
                    changes.append(_Change("update", lid, copy.deepcopy(current), None))
                return self._failed(failures, f"{lid}: Modifying service token is not allowed.")
            old = copy.deepcopy(current)
            rec = self._request(
                stack, "Update", lid, rtype, props, old_properties=current.properties, physical_id=current.physical_id
            )
            with self._lock:
                if rec.status != "SUCCESS":
                    current.status = "UPDATE_FAILED"
                    new = StackResource(lid, rtype, current.physical_id, props, {}, False, "UPDATE_FAILED")
                    changes.append(_Change("update", lid, old, new))
                    failures.append(f"{lid}: {rec.reason}")
                    return False
                new = StackResource(lid, rtype, rec.physical_id, props, rec.data, rec.no_echo, "UPDATE_COMPLETE")
                stack.resources[lid] = new
                changes.append(_Change("replace" if rec.physical_id != old.physical_id else "update", lid, old, new))
            return True

        schedule(order, prerequisites(graph, order), change, parallel=self.parallel)
        changes.sort(key=lambda c: order.index(c.logical_id))  # completion order -> dependency order
        return changes, ", ".join(failures) or self._resolve_outputs(stack, resolver, tmpl), order, graph

    # ============================================================================================
    # Update rollback

    def _rollback_update(
        self,
        stack: Stack,
        changes: list[_Change],
        graph: Mapping[str, set[str]],
        failure: str,
        old_template: dict[str, Any],
        old_params: dict[str, Any],
        new_template: dict[str, Any],
    ) -> Stack:
        stack.status_reason = f"The following resource(s) failed to update: [{failure}]"
        self._set_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", stack.status_reason)
        by_id = {change.logical_id: change for change in changes}
        cleanup: dict[str, StackResource] = {}
        rollback_failures: list[str] = []

        def roll_back(lid: str) -> bool:
            change = by_id[lid]
            if change.kind == "create":
                if change.new is not None:
                    with self._lock:
                        cleanup[lid] = change.new
                return True
            assert change.old is not None
            if change.kind == "replace":
                with self._lock:
                    stack.resources[lid] = copy.deepcopy(change.old)
                    stack.resources[lid].status = "UPDATE_COMPLETE"
                    if change.new is not None:
                        cleanup[lid] = change.new
                self._note(
                    stack.status,
                    "",
                    lid,
                    change.old.physical_id,
                    "RESTORED",
                    f"replacement rolled back: {change.new.physical_id if change.new else ''} "
                    "will be deleted in cleanup",
                )
                return True
            if change.new is None:  # refused before any request was sent
                return True
            if not is_custom_resource(change.old.resource_type):  # a native in-place update made no call
                with self._lock:
                    stack.resources[lid] = copy.deepcopy(change.old)
                    stack.resources[lid].status = "UPDATE_COMPLETE"
                return True
            old = change.old
            rec = self._request(
                stack,
                "Update",
                lid,
                old.resource_type,
                old.properties,
                old_properties=change.new.properties,
                physical_id=old.physical_id,
            )
            with self._lock:
                if rec.status != "SUCCESS":
                    rollback_failures.append(f"{lid}: {rec.reason}")
                    stack.resources[lid].status = "UPDATE_FAILED"
                    return False
                stack.resources[lid] = StackResource(
                    old.logical_id,
                    old.resource_type,
                    rec.physical_id,
                    old.properties,
                    rec.data,
                    rec.no_echo,
                    "UPDATE_COMPLETE",
                )
                if rec.physical_id != old.physical_id:  # the rollback itself replaced it: the one it left goes
                    cleanup[lid] = StackResource(
                        old.logical_id,
                        old.resource_type,
                        old.physical_id,
                        change.new.properties,
                        {},
                        False,
                        "UPDATE_COMPLETE",
                    )
            return True

        walk_back = [change.logical_id for change in reversed(changes)]
        schedule(walk_back, dependents(graph, walk_back), roll_back, parallel=self.parallel)
        if rollback_failures:
            stack.status_reason = f"The following resource(s) failed to update: [{', '.join(rollback_failures)}]"
            self._set_status(stack, "UPDATE_ROLLBACK_FAILED", stack.status_reason)
            return stack
        self._set_status(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")

        def left_over(lid: str) -> tuple[StackResource, str | None]:
            if by_id[lid].kind == "update":  # the rollback itself replaced it: the one it left is the old one
                return cleanup[lid], _retention(old_template, lid, "UpdateReplacePolicy")
            return cleanup[lid], _retention(new_template, lid, "DeletionPolicy", rolling_back_creation=True)

        doomed = [lid for lid in walk_back if lid in cleanup]
        failed = self._delete_each(stack, doomed, graph, left_over)
        cleanup_failed = [f"{lid} ({cleanup[lid].physical_id})" for lid in failed]
        for lid in doomed:
            current = stack.resources.get(lid)
            if current is not None and current.physical_id == cleanup[lid].physical_id:
                del stack.resources[lid]
        if cleanup_failed:
            self._warning(f"UpdateStack rollback cleanup could not delete: {', '.join(cleanup_failed)}")
        stack.template, stack.parameters = old_template, old_params
        resolver, _, _ = self._plan(stack, old_template, old_params, note=False)
        if self._resolve_outputs(stack, resolver, old_template):
            self._warning("outputs of the previous template no longer resolve after the rollback")
        self._set_status(stack, "UPDATE_ROLLBACK_COMPLETE", stack.status_reason)
        return stack

    # ============================================================================================
    # Scheduling: resources one at a time, or each as soon as what it depends on is done

    def _failed(self, failures: list[str], failure: str) -> bool:
        """Record ``failure`` for the stack status reason; False, to stop the scheduling."""
        with self._lock:
            failures.append(failure)
        return False

    def _delete_each(
        self,
        stack: Stack,
        doomed: Sequence[str],
        graph: Mapping[str, set[str]],
        target: Callable[[str], tuple[StackResource, str | None]],
    ) -> list[str]:
        """Delete ``target(lid)`` (a resource and the policy that retains it) for each of ``doomed``, each once
        everything that depends on it is done, all of them whatever fails; the ones that failed, in order."""
        failed: set[str] = set()

        def delete(lid: str) -> bool:
            res, retain = target(lid)
            ok = self._delete(stack, res, retain=retain).status == "SUCCESS"
            if not ok:
                with self._lock:
                    failed.add(lid)
            return ok

        schedule(doomed, dependents(graph, doomed), delete, stop_on_failure=False, parallel=self.parallel)
        return [lid for lid in doomed if lid in failed]

    def _delete(self, stack: Stack, res: StackResource, *, retain: str | None = None) -> RequestRecord:
        """Delete ``res``; with ``retain`` (the policy that keeps it) leave it be and note it instead."""
        if retain is not None:
            rec = RequestRecord(
                self._operation,
                stack.status,
                {"RequestType": "Delete", "RequestId": "", "LogicalResourceId": res.logical_id},
                status="SUCCESS",
                physical_id=res.physical_id,
            )
            with self._lock:
                stack.retained.append((res.logical_id, res.physical_id))
            self._note(stack.status, "Delete", res.logical_id, res.physical_id, "RETAINED", f"{retain}: not deleted")
            return rec
        return self._request(
            stack, "Delete", res.logical_id, res.resource_type, res.properties, physical_id=res.physical_id
        )

    # ============================================================================================
    # Native resources

    def _plays(self, resource_type: str) -> bool:
        """Whether requests are made for this type: custom resources, and the native ones the driver plays."""
        return is_custom_resource(resource_type) or (self.native is not None and self.native.plays(resource_type))

    def _native_request(self, stack: Stack, event: dict[str, Any]) -> RequestRecord:
        """Run the native handler for the event's RequestType (Create or Delete) against the emulator."""
        assert self.native is not None
        request_type, resource_type = event["RequestType"], event["ResourceType"]
        properties, physical_id = event["ResourceProperties"], event.get("PhysicalResourceId")
        rec = RequestRecord(self._operation, stack.status, event)
        started = time.monotonic()
        try:
            if request_type == "Create":
                rec.physical_id, rec.data = self.native.create(resource_type, properties)
            else:
                self.native.delete(resource_type, physical_id or "")
                rec.physical_id = physical_id or ""
            rec.status = "SUCCESS"
        except NativeError as exc:
            rec.status, rec.reason = "FAILED", str(exc)
            rec.physical_id = physical_id or ""
        # A Create that failed left nothing behind: there is nothing for a rollback to delete.
        rec.invoked = request_type != "Create" or rec.status == "SUCCESS"
        with self._lock:
            self.native_requests.append(rec)
        self._record_request(rec, started)
        return rec

    def _update_native(
        self,
        stack: Stack,
        current: StackResource,
        props: dict[str, Any],
        changes: list[_Change],
        failures: list[str],
    ) -> bool:
        assert self.native is not None
        lid, rtype = current.logical_id, current.resource_type
        old = copy.deepcopy(current)
        kind = self.native.update_kind(rtype, current.properties, props)
        if kind == "unsupported":
            reason = f"{rtype}: this property change is not played by the local driver (UpdatePhoneNumber)"
            self._note(stack.status, "Update", lid, current.physical_id, "FAILED", reason)
            with self._lock:
                changes.append(_Change("update", lid, old, None))
            return self._failed(failures, f"{lid}: {reason}")
        if kind == "in-place":
            new = StackResource(lid, rtype, current.physical_id, props, dict(current.data), False, "UPDATE_COMPLETE")
            self._note(stack.status, "Update", lid, current.physical_id, "SUCCESS", "in place, no call")
            with self._lock:
                stack.resources[lid] = new
                changes.append(_Change("update", lid, old, new))
            return True
        rec = self._request(stack, "Create", lid, rtype, props)  # a replacement: the new one first
        with self._lock:
            if rec.status != "SUCCESS":
                current.status = "UPDATE_FAILED"
                changes.append(_Change("update", lid, old, None))
                failures.append(f"{lid}: {rec.reason}")
                return False
            new = StackResource(lid, rtype, rec.physical_id, props, rec.data, False, "UPDATE_COMPLETE")
            stack.resources[lid] = new
            changes.append(_Change("replace", lid, old, new))
        return True

    # ============================================================================================
    # One request

    def _request(
        self,
        stack: Stack,
        request_type: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        *,
        old_properties: dict[str, Any] | None = None,
        physical_id: str | None = None,
    ) -> RequestRecord:
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": copy.deepcopy(properties),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if not is_custom_resource(resource_type):
            return self._native_request(stack, event)
        event["ServiceToken"] = properties.get("ServiceToken", "")
        event["ResponseURL"] = self.server.url_for(request_id, stack.stack_id, logical_id)
        event["StackId"] = stack.stack_id
        if request_type == "Update":
            event["OldResourceProperties"] = copy.deepcopy(old_properties or {})
        rec = RequestRecord(self._operation, stack.status, event)
        with self._lock:
            self.requests.append(rec)
        started = time.monotonic()
        label = f"{self._operation} {request_type} {logical_id} ({request_id})"
        service_timeout = service_timeout_s(properties)

        function = self.functions.get(str(event["ServiceToken"]))
        if function is None:
            rec.status, rec.reason = "FAILED", f"Invalid service token: {event['ServiceToken']!r} is not registered"
            rec.physical_id = physical_id or ""
            self._record_request(rec, started)
            return rec

        rec.invoked = True
        rec.invocations += self._deliver(function, event)
        answers = self.server.answers(request_id)
        while not answers and rec.polls < self.max_polls:
            if time.monotonic() - started > service_timeout:
                break
            targets = self._poll_targets(request_id)
            if not targets:
                break
            if self.poll_mode == "realtime":
                self._sleep(min(schedule_interval_s(str(rule.get("ScheduleExpression", ""))) for rule, _ in targets))
            for _rule, target in targets:
                target_fn = self._function_for_target(str(target.get("Arn", "")), function)
                rec.invocations += self._deliver(target_fn, json.loads(str(target["Input"])))
                rec.polls += 1
            answers = self.server.answers(request_id)
        rec.answers = answers
        violations, warnings = check_invocations(rec, label, self.server.secrets())
        self._violation(*violations)
        self._warning(*warnings)
        if not answers:
            why = (
                f"still polling after {rec.polls} polls (max_polls={self.max_polls})"
                if self._poll_targets(request_id)
                else "every invocation ended and no polling rule is pending"
            )
            self._violation(judge_silence(rec, f"{label}: no answer ({why})", physical_id, self.stack_name))
        else:
            self._violation(*judge_answers(rec, label, physical_id, self.stack_name))
            leftover = self._poll_targets(request_id)
            if leftover:
                names = sorted({str(rule.get("Name", "?")) for rule, _ in leftover})
                self._violation(f"{label}: polling rule(s) left behind after the answer: {names}")
        self._record_request(rec, started)
        return rec

    def _deliver(self, function: FunctionLike, event: Mapping[str, Any]) -> list[Invocation]:
        """One asynchronous delivery, with Lambda's retries and duplicate delivery when asked for."""
        invocations = [function.invoke(event)]
        if self.retry_on_error:
            while invocations[-1].failed and len(invocations) < 3:
                invocations.append(function.invoke(event))
        if self.deliver_twice:
            invocations.append(function.invoke(event))
        return invocations

    def _poll_targets(self, request_id: str) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        if self.rules_source is None:
            return []
        found: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
        for rule in self.rules_source.rules():
            if str(rule.get("State", "ENABLED")) != "ENABLED":
                continue
            for target in rule.get("Targets") or []:
                try:
                    payload = json.loads(str(target.get("Input", "")))
                except ValueError:
                    continue
                if isinstance(payload, dict) and payload.get("RequestId") == request_id:
                    found.append((rule, target))
        return found

    def _function_for_target(self, arn: str, default: FunctionLike) -> FunctionLike:
        if arn in self.functions:
            return self.functions[arn]
        name = arn.rsplit(":", 1)[-1]
        for fn_arn, fn in self.functions.items():
            if fn_arn.rsplit(":", 1)[-1] == name:
                return fn
        self._warning(f"polling target {arn!r} is not a registered function; invoking the ServiceToken's")
        return default

    # ============================================================================================
    # Template plumbing

    def _prepare(
        self, stack: Stack, template: str | Path | Mapping[str, Any], parameters: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            tmpl = load_template(template)
            params = resolve_parameters(tmpl, parameters)
            tmpl = expand_language_extensions(tmpl, params)
            check_rules(tmpl, self._resolver(stack, tmpl, params))
            self._order(tmpl, self._conditions_of(stack, tmpl, params))
        except TemplateError as exc:
            raise StackOperationError(str(exc)) from exc
        return tmpl, params

    def _pseudo(self, stack: Stack) -> dict[str, Any]:
        return {
            "AWS::AccountId": stack.account_id,
            "AWS::Region": stack.region,
            "AWS::StackName": stack.name,
            "AWS::StackId": stack.stack_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }

    def _resolver(self, stack: Stack, tmpl: Mapping[str, Any], params: Mapping[str, Any]) -> Resolver:
        resources: Mapping[str, Any] = tmpl.get("Resources") or {}

        def ref_resource(lid: str) -> Any:
            rtype = str((resources.get(lid) or {}).get("Type", ""))
            if not self._plays(rtype):
                return f"{NOT_EMULATED}:{lid}"
            res = stack.resources.get(lid)
            if res is None:
                raise ResolutionError(f"resource {lid} does not exist (yet)")
            return res.physical_id

        def get_att(lid: str, attribute: str) -> Any:
            rtype = str((resources.get(lid) or {}).get("Type", ""))
            if not self._plays(rtype):
                return f"{NOT_EMULATED}:{lid}.{attribute}"
            res = stack.resources.get(lid)
            if res is None:
                raise ResolutionError(f"resource {lid} does not exist (yet)")
            if attribute not in res.data and not is_custom_resource(rtype):
                raise ResolutionError(f"Template error: resource {lid} ({rtype}) has no attribute {attribute}")
            if attribute not in res.data:
                message = (
                    f"CustomResource attribute error: Vendor response doesn't contain {attribute} key in "
                    f"object {stack.stack_id}|{lid}|{res.physical_id}"
                )
                self._violation(
                    f"{self._operation} !GetAtt {lid}.{attribute}: not in the answered Data (keys: {sorted(res.data)})"
                )
                raise ResolutionError(message)
            return res.data[attribute]

        return Resolver(
            parameters=params,
            pseudo=self._pseudo(stack),
            resources=resources.keys(),
            ref_resource=ref_resource,
            get_att=get_att,
            exports=self.exports,
            mappings=tmpl.get("Mappings") or {},
        )

    def _conditions_of(self, stack: Stack, tmpl: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, bool]:
        return evaluate_conditions(tmpl, self._resolver(stack, tmpl, params))

    def _active(self, tmpl: Mapping[str, Any], conditions: Mapping[str, bool]) -> list[str]:
        active = []
        for lid, definition in (tmpl.get("Resources") or {}).items():
            cond = (definition or {}).get("Condition")
            if cond is not None and str(cond) not in conditions:
                raise TemplateError(f"Template format error: Unresolved condition dependency {cond} in {lid}")
            if cond is None or conditions[str(cond)]:
                active.append(lid)
        return active

    def _graph(self, tmpl: Mapping[str, Any], conditions: Mapping[str, bool]) -> dict[str, set[str]]:
        active = self._active(tmpl, conditions)
        resources = tmpl.get("Resources") or {}
        return {lid: dependencies(resources[lid] or {}, resources.keys()) & set(active) for lid in active}

    def _order(self, tmpl: Mapping[str, Any], conditions: Mapping[str, bool]) -> list[str]:
        return topological_order(self._graph(tmpl, conditions))

    def _plan(
        self, stack: Stack, tmpl: dict[str, Any], params: dict[str, Any], *, note: bool = True
    ) -> tuple[Resolver, list[str], dict[str, set[str]]]:
        resolver = self._resolver(stack, tmpl, params)
        conditions = evaluate_conditions(tmpl, resolver)
        graph = self._graph(tmpl, conditions)
        order = topological_order(graph)
        if note:
            for lid in tmpl.get("Resources") or {}:
                if lid not in order:
                    self._note(stack.status, "", lid, "", "SKIPPED", "its Condition is false")
        return resolver, order, graph

    def _properties(self, resolver: Resolver, definition: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
        if not is_custom_resource(resource_type):  # native: typed values, no ServiceToken
            native = resolver.resolve(definition.get("Properties") or {})
            if not isinstance(native, dict):
                raise TemplateError("Properties must be an object")
            return native
        props = stringify(resolver.resolve(definition.get("Properties") or {}))
        if not isinstance(props, dict) or not props.get("ServiceToken"):
            raise TemplateError("ServiceToken is required for a custom resource")
        if "ServiceTimeout" in props:
            try:
                timeout = int(str(props["ServiceTimeout"]))
            except ValueError:
                timeout = 0
            if not 1 <= timeout <= DEFAULT_SERVICE_TIMEOUT_S:
                raise TemplateError(
                    f"ServiceTimeout must be an integer from 1 to 3600, got {props['ServiceTimeout']!r}"
                )
        return props

    def _resolve_outputs(self, stack: Stack, resolver: Resolver, tmpl: Mapping[str, Any]) -> str:
        """Resolve Outputs into ``stack.outputs``/``stack.exports``; an error message, or "" when fine."""
        outputs: dict[str, Any] = {}
        exports: dict[str, Any] = {}
        for name, spec in (tmpl.get("Outputs") or {}).items():
            spec = spec or {}
            cond = spec.get("Condition")
            if cond is not None and not resolver.condition(str(cond)):
                continue
            try:
                value = stringify(resolver.resolve(spec.get("Value")))
                if "Export" in spec:
                    exports[str(resolver.resolve(spec["Export"].get("Name")))] = value
            except TemplateError as exc:
                self._note(stack.status, "", f"Outputs.{name}", "", "FAILED", str(exc))
                return f"Outputs.{name}: {exc}"
            outputs[name] = value
        stack.outputs, stack.exports = outputs, exports
        return ""

    def _require(self, operation: str, allowed: set[str] | None) -> Stack:
        stack = self.stack
        if stack is None or stack.status == "DELETE_COMPLETE":
            raise StackOperationError(f"Stack with id {self.stack_name} does not exist")
        if allowed is not None and stack.status not in allowed:
            raise StackOperationError(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        if stack.status.endswith("_IN_PROGRESS"):
            raise StackOperationError(f"{operation}: stack is in {stack.status}")
        return stack

    # ============================================================================================
    # Timeline

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def _set_status(self, stack: Stack, status: str, reason: str = "") -> None:
        stack.status = status
        self._append(
            lambda t: TimelineRecord(t, self._operation, status, "", stack.name, stack.stack_id, status, reason)
        )

    def _note(self, phase: str, request_type: str, logical_id: str, physical_id: str, status: str, reason: str) -> None:
        self._append(
            lambda t: TimelineRecord(t, self._operation, phase, request_type, logical_id, physical_id, status, reason)
        )

    def _append(self, record: Callable[[float], TimelineRecord]) -> None:
        """Add ``record(now)`` to the timeline, the time taken under the lock so that the timeline stays sorted."""
        with self._lock:
            self.timeline.append(record(self._now()))

    def _violation(self, *messages: str) -> None:
        with self._lock:
            self.violations.extend(messages)

    def _warning(self, *messages: str) -> None:
        with self._lock:
            self.warnings.extend(messages)

    def _note_ignored(self, stack: Stack, logical_id: str, resource_type: str) -> None:
        with self._lock:
            if logical_id not in stack.ignored:
                stack.ignored.append(logical_id)
        self._note(
            stack.status, "", logical_id, "", "IGNORED", f"{resource_type} is not a custom resource: not emulated"
        )

    def _record_request(self, rec: RequestRecord, started: float) -> None:
        duration_s = round(time.monotonic() - started, 3)
        self._append(lambda t: TimelineRecord.of_request(rec, t, duration_s))

    def format_timeline(self, *, width: int = 40) -> str:
        """The timeline as a text table (for ``make demo``)."""
        return format_timeline(self.timeline, self.violations, width=width)


def _retention(
    template: Mapping[str, Any], logical_id: str, attribute: str, *, rolling_back_creation: bool = False
) -> str | None:
    """``"DeletionPolicy: Retain"`` (or the like) when ``attribute`` of the resource keeps it, else None.

    ``RetainExceptOnCreate`` keeps it except in the rollback of the operation that created it.
    """
    definition = (template.get("Resources") or {}).get(logical_id) or {}
    policy = str(definition.get(attribute, "Delete"))
    if policy == "Retain" or (policy == "RetainExceptOnCreate" and not rolling_back_creation):
        return f"{attribute}: {policy}"
    return None
