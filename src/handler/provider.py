"""crhelper, with the traps of version 2.0.12 taken out (docs/design.md lists them).

``Provider`` keeps crhelper's flow (create/update/delete functions, scheduled polling) and changes what
would hurt in production:

- it waits in the invocation and sets up polling only when the invocation's time runs low, instead of
  always (crhelper's first poll comes a minute later even when the group is ready in 3 s);
- its polling schedule is made and removed by ``polling``, which checks what EventBridge reports;
- it answers exactly once per invocation, through ``response`` (bounded retries, 4096-byte cap,
  Reason cut at the end rather than the start), never through crhelper's sender;
- an answer sent before the lifecycle returns (the last-resort timer) still names a group the Create
  made, so that the rollback's Delete removes it;
- it acts on an event only when its ResponseURL is one where CloudFormation listens (``response.ResponseHosts``):
  anyone allowed to invoke the function could otherwise make it call Connect and PUT to any URL;
- it never sleeps on Delete, never logs the event or the ResponseURL, and leaves logging to Powertools;
- it builds the EventBridge and Lambda clients that polling needs only when polling starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from crhelper import CfnResource

import polling
import response
from errors import ProviderError
from request import Pending, Progress, Request, Result
from waiting import Budget, LambdaContext

FAILED = "FAILED"  # crhelper's status string (resource_helper.FAILED)
# What every CloudFormation custom resource request carries; crhelper reads them before anything else.
REQUIRED_KEYS = ("StackId", "RequestId", "LogicalResourceId", "RequestType", "ResponseURL")
# A poll invocation must end before the next one fires (the rule fires every minute).
POLL_INVOCATION_LIMIT = 45.0
POLLING_INTERVAL_MINUTES = 1
# crhelper's own timer answers FAILED if the handler overruns; leave it time to deliver that answer.
# It fires after the lifecycle's own budget ends (waiting.HANDOVER_SHARE), so it is only a last resort.
TIMER_MARGIN, TIMER_SHARE = 10.0, 0.1
# The clean-up of a request that cannot hand over gets at most this long.
ABANDON_LIMIT = 10.0
# The answer's delivery keeps trying for at most this long, and stops a second before the function's end.
MAX_DELIVERY = 60.0

Handler = Callable[[Request, Budget, Progress], Result]
Resumer = Callable[[Request, Mapping[str, str], Budget, Progress], Result]
Abandoner = Callable[[Request, Mapping[str, str], Budget], str]


class Provider(CfnResource):
    """The custom resource: runs lifecycle handlers and answers CloudFormation exactly once."""

    def __init__(
        self,
        *,
        region: str,
        response_hosts: response.ResponseHosts,
        handle: Handler,
        resume: Resumer,
        abandon: Abandoner,
        polling_clients: polling.Clients,
        logger: Logger,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # crhelper's constructor is not called: it would build Lambda, EventBridge and Logs clients at import
        # (about 65 ms of cold start; only polling needs two of them, and `polling_clients` builds them on first
        # use) and reset the root logger, which Powertools owns. These are the attributes its flow reads before
        # _crhelper_init sets the rest (tests/unit/test_crhelper_contract.py keeps the list honest).
        self._timer: threading.Timer | None = None  # crhelper's last-resort timer (see _set_timeout)
        self._init_failed = None  # when set, crhelper answers FAILED before any handler runs
        self._sam_local = os.getenv("AWS_SAM_LOCAL")  # set by `sam local`: crhelper then skips polling and the answer
        self._sleep_on_delete = 0  # crhelper would sleep up to 120 s on every Delete
        self._event: dict[str, Any] = {}
        self._context: Any = None
        self._response_url = ""
        self.Status, self.Reason, self.PhysicalResourceId, self.Data = "", "", "", {}
        # crhelper calls the create/update/delete function for an event, the poll_* one when the event has
        # CrHelperPoll (a scheduled poll). Their return value: the physical id to answer with; None keeps polling.
        for register in (self.create, self.update, self.delete):
            register(self._handle_event)
        for register in (self.poll_create, self.poll_update, self.poll_delete):
            register(self._resume_event)
        # crhelper logs the whole event, ResponseURL included, at DEBUG: keep it quiet whatever the root level.
        logging.getLogger("crhelper").setLevel(logging.WARNING)

        self._function_region = region
        self._response_hosts = response_hosts
        self._handle, self._resume, self._abandon = handle, resume, abandon
        self._polling = polling_clients
        self._logger, self._metrics = logger, metrics
        self._clock, self._sleep = clock, sleep
        self._answer_lock = threading.Lock()
        self._answered = False
        self._pending: Pending | None = None
        self._progress = Progress()
        self._budget: Budget | None = None
        self._error_code = ""

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        """crhelper's flow, after the checks that the event is CloudFormation's, with this invocation's metrics.

        crhelper's flow catches any exception and answers FAILED with it (through ``_send``).
        """
        self._answered, self._pending, self._error_code = False, None, ""
        self._progress, self._budget = Progress(), None
        problem = self._not_from_cloudformation(event)
        if problem:
            self._refuse(event, problem)
            return
        started = self._clock()
        try:
            super().__call__(event, context)
        finally:
            self._emit_metrics(event, started)

    def _not_from_cloudformation(self, event: Mapping[str, Any]) -> str:
        missing = [key for key in REQUIRED_KEYS if not isinstance(event.get(key), str)]
        if missing:
            # crhelper would fail before it reads the event, and answer the previous request's URL.
            return f"The event has no {', '.join(missing)}: it is not a CloudFormation custom resource request."
        if not self._response_hosts.admit(event.get("ResponseURL")):
            return (
                "Its ResponseURL is not an HTTPS URL where CloudFormation listens. If the host is CloudFormation's, "
                "add it to the function's ALLOWED_RESPONSE_HOSTS."
            )
        return ""

    def _refuse(self, event: Mapping[str, Any], problem: str) -> None:
        """No answer and no Connect call for an event CloudFormation did not send; one line, naming only the host."""
        self._logger.error(
            f"Refused an event: no call, no answer. {problem}",
            extra={"response_host": response.host_of(event.get("ResponseURL"))},
        )
        self._metrics.add_metric(name="RefusedEvents", unit=MetricUnit.Count, value=1)

    # --- what runs for each event -------------------------------------------------------------------

    def _handle_event(self, event: dict[str, Any], context: LambdaContext) -> str | None:
        request = Request.from_event(event, self._function_region)
        self._budget = Budget.from_context(context, self._clock, self._sleep)
        return self._answer_or_poll(self._handle(request, self._budget, self._progress))

    def _resume_event(self, event: dict[str, Any], context: LambdaContext) -> str | None:
        request = Request.from_event(event, self._function_region)
        self._budget = Budget.from_context(context, self._clock, self._sleep, limit=POLL_INVOCATION_LIMIT)
        state = event["CrHelperData"]["State"]
        result = self._resume(request, state, self._budget, self._progress)
        if isinstance(result, Pending) and result.state != state:
            self._retarget(result.state)
        return self._answer_or_poll(result)

    def _request(self) -> Request:
        return Request.from_event(self._event, self._function_region)

    def _retarget(self, state: Mapping[str, str]) -> None:
        """The next polls start from the newer state (for example: the update was sent in this poll)."""
        event = {**self._event, "CrHelperData": {**self._event["CrHelperData"], "State": dict(state)}}
        try:
            polling.retarget(
                self._polling.events,
                polling.Schedule(self._event["CrHelperRule"], self._event["CrHelperPermission"]),
                function_name=self._context.function_name,
                event=event,
                sleep=self._sleep,
            )
        except polling.PollingError as error:
            self._logger.warning("Polling goes on from the older state", extra={"error": str(error)})

    def _answer_or_poll(self, result: Result) -> str | None:
        """The physical id crhelper answers with, and its Data; None (with the state in Data) keeps polling."""
        if isinstance(result, Pending):
            self._pending = result
            self._logger.info("Connect is still working; handing over to scheduled polling", extra=result.state)
            self.Data = {"State": result.state}
            return None
        if result.note:
            self._logger.warning(result.note)
        self.Data = dict(result.data)
        return result.physical_resource_id

    # --- crhelper overrides: each line under the name says which crhelper behaviour it replaces -------

    def _log_setup(self, event: dict[str, Any], context: Any) -> None:
        """Replaces: resetting the root logger's level and formatter on every event (Powertools owns logging)."""

    def _poll_enabled(self) -> bool:
        """Replaces: polling whenever a poll function is registered (here: only when the lifecycle is Pending).

        True sends crhelper to _polling_init: on a first invocation it sets up polling (_setup_polling, unless
        FAILED); on a poll, an id or FAILED removes the schedule (_remove_polling) and answers.
        """
        return "CrHelperPoll" in self._event or self._pending is not None

    def _wrap_function(self, func: Callable[[dict[str, Any], Any], str | None] | None) -> None:
        """Replaces: str(exception) of any exception as the Reason (here: ProviderError's Reason and code)."""
        try:
            self.PhysicalResourceId = (func(self._event, self._context) if func else "") or ""
        except ProviderError as error:
            self._fail(error.reason, error.code, error.physical_resource_id)
        except Exception as error:
            self._logger.exception("Unexpected error")
            self._fail(
                f"Unexpected error in the provider: {type(error).__name__}: {error}. "
                "Retry the stack operation; if it happens again, report it with the function's logs.",
                "Unexpected",
                None,
            )

    def _fail(self, reason: str, code: str, physical_id: str | None) -> None:
        self._logger.error("Request failed", extra={"reason": reason, "error_code": code})
        self.Status, self.Reason, self._error_code = FAILED, reason, code
        self.PhysicalResourceId = physical_id or ""  # none: crhelper asks generate_physical_id

    def _setup_polling(self) -> None:
        """Replaces: a schedule that ignores EventBridge's partial failures and the Input's size limit.

        crhelper calls it once, on the first invocation of a request that is Pending. On failure, what this request
        alone made (a replacement group) is undone, and the error raised becomes crhelper's FAILED answer.
        """
        # Under the answer lock, the last-resort timer can neither answer while the schedule is being made nor
        # after it exists (the polls answer then), and no schedule is made once the timer has answered.
        with self._answer_lock:
            answered = self._answered
            if not answered:
                self._schedule_polls()
                self._answered = True  # the polls answer from now on, never this invocation
        if answered:  # polls would act on a request CloudFormation is rolling back: undo what only it made
            undone = self._abandon(self._request(), self.Data.get("State", {}), self._abandon_budget())
            self._logger.warning("No scheduled polling: the request was already answered FAILED." + undone)

    def _schedule_polls(self) -> None:
        state = self.Data.get("State", {})
        doing = (
            f"Connect is still working on {state.get('GroupArn') or 'the request'} and this invocation is out of time"
        )
        event = {**self._event, "CrHelperData": self.Data, "CrHelperPoll": True}
        size = polling.input_size(event) + 200  # room for the rule ARN and statement id it gains
        try:
            if size > polling.MAX_INPUT:
                raise ProviderError(
                    f"{doing}, but the event ({size} characters) is too large for scheduled polling (EventBridge "
                    f"keeps {polling.MAX_INPUT}). Use fewer or shorter tags, or raise the function's timeout.",
                    code="PollingUnavailable",
                )
            try:
                polling.start(
                    self._polling.events,
                    self._polling.lambda_,
                    name=polling.rule_name(str(self._event["LogicalResourceId"])),
                    function_name=self._context.function_name,
                    event=event,
                    interval_minutes=POLLING_INTERVAL_MINUTES,
                    sleep=self._sleep,
                )
            except polling.PollingError as error:
                raise polling.setup_failed(str(error), doing=doing) from error
        except ProviderError as error:
            undone = self._abandon(self._request(), state, self._abandon_budget())
            self._fail(error.reason + undone, error.code, None)  # logged and counted; crhelper answers the raise
            raise ProviderError(error.reason + undone, code=error.code) from error

    def _abandon_budget(self) -> Budget:
        return Budget(self._clock() + ABANDON_LIMIT, self._clock, self._sleep)

    def _remove_polling(self) -> None:
        """Replaces: a removal that stops at the first error (a rule left behind would fire again; report it)."""
        # crhelper's bookkeeping in Data (from the poll event's CrHelperData) is not an attribute of the resource.
        self.Data.pop("State", None)
        self.Data.pop("PhysicalResourceId", None)
        rule, statement = self._event.get("CrHelperRule"), self._event.get("CrHelperPermission")
        if not rule or not statement:
            return
        problems = polling.stop(
            self._polling.events,
            self._polling.lambda_,
            polling.Schedule(rule, statement),
            function_name=self._context.function_name,
            sleep=self._sleep,
        )
        if problems:
            self._logger.error("Could not remove the polling schedule", extra={"problems": problems})

    def _set_timeout(self) -> None:
        """Replaces: a timer 0.5 s before the end, too late to deliver its answer (here: a 10 s or 10% margin)."""
        remaining = self._context.get_remaining_time_in_millis() / 1000.0
        seconds = remaining - min(TIMER_MARGIN, remaining * TIMER_SHARE)
        self._timer = threading.Timer(max(0.0, seconds), self._timeout)
        self._timer.daemon = True
        self._timer.start()

    def _timeout(self) -> None:
        """Replaces: "Execution timed out" (here: what to do, and the replacement group that may be left)."""
        left = ""
        if self._progress.replacing and self._progress.created:
            left = f" The replacement group {self._progress.created} may be left behind; delete it if so."
        self._send(
            FAILED,
            "The provider ran out of time before Connect finished. Raise the function's timeout (900 s is the "
            "maximum) and retry the stack operation; check the group's status in the Connect console." + left,
            error_code="Timeout",
        )

    def _send(self, status: str | None = None, reason: str = "", *, error_code: str = "") -> None:
        """Replaces: a sender that may answer twice, cuts the Reason's start, and retries forever (or never).

        crhelper passes ``status`` and ``reason`` only for its own failures; otherwise Status and Reason stand.
        """
        with self._answer_lock:
            if self._answered:
                self._logger.warning("Not sent: this request was already answered, or handed over to polling")
                return
            self._answered = True
        if (status or self.Status) == FAILED:
            self._error_code = error_code or self._error_code or "Unexpected"
        body = response.build_body(
            status=status or self.Status,
            reason=reason if status else self.Reason,
            physical_resource_id=self.PhysicalResourceId
            or self._event.get("PhysicalResourceId")
            or self.generate_physical_id(self._event),
            event=self._event,
            data=self.Data,
        )
        remaining = self._context.get_remaining_time_in_millis() / 1000.0
        deadline = self._clock() + max(1.0, min(MAX_DELIVERY, remaining - 1.0))
        response.send(
            self._response_url, body, deadline=deadline, logger=self._logger, clock=self._clock, sleep=self._sleep
        )

    def generate_physical_id(self, event: dict[str, Any]) -> str:
        """Replaces: an invented id for a Create that failed, when it made a group (its ARN then, so that the
        rollback's Delete removes the group, whatever the answer)."""
        made = self._progress.created if event.get("RequestType") == "Create" else None
        return made or str(super().generate_physical_id(event))

    # --- observability ------------------------------------------------------------------------------

    def _emit_metrics(self, event: Mapping[str, Any], started: float) -> None:
        operation = str(event.get("RequestType", "Unknown"))
        self._metrics.add_metric(
            name=f"{operation}Duration", unit=MetricUnit.Milliseconds, value=(self._clock() - started) * 1000
        )
        if self._budget is not None and self._budget.throttles:
            # Connect's quota is shared by the account: this says when stacks are competing for it.
            self._metrics.add_metric(name="ConnectThrottles", unit=MetricUnit.Count, value=self._budget.throttles)
        if self._error_code:
            with single_metric(
                name="Failures", unit=MetricUnit.Count, value=1, namespace=self._metrics.namespace
            ) as metric:
                metric.add_dimension(name="Operation", value=operation)
                metric.add_dimension(name="ErrorCode", value=self._error_code)
