"""The custom resource on crhelper 2.0.12: crhelper's flow, with its traps taken out (docs/design.md lists them).

``Provider`` keeps crhelper as the entry point (its ``__call__``, its create/update/delete and poll functions,
its scheduled polling) and overrides only the few hooks where crhelper would hurt in production; each one's
docstring names the trap, by its number in docs/design.md. What one event needs (the event, the context, the
budget, what was made, whether it was answered) is an ``Invocation``, made once per event in ``__call__``.
Besides:

- it acts on an event only when its ResponseURL is one where CloudFormation listens (``response.ResponseHosts``):
  anyone allowed to invoke the function could otherwise make it call Connect and PUT to any URL;
- a failure sets crhelper's Status and Reason in this module, and is logged once, as JSON, by Powertools;
- it counts each invocation's duration, throttles and failures.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from crhelper import CfnResource

import polling
import response
from errors import ProviderError
from request import Pending, Progress, Request, Result
from waiting import Budget

FAILED = "FAILED"  # crhelper's status string (resource_helper.FAILED)
# crhelper's keys in a scheduled poll's event: it reads the first two; the schedule's two are ours, under
# crhelper's names, so that the polls of a request in flight during an upgrade still find their schedule.
POLL, POLL_DATA, POLL_RULE, POLL_PERMISSION = "CrHelperPoll", "CrHelperData", "CrHelperRule", "CrHelperPermission"
# What every CloudFormation custom resource request carries; crhelper reads them before anything else.
REQUIRED_KEYS = ("StackId", "RequestId", "LogicalResourceId", "RequestType", "ResponseURL")
# A poll invocation must end before the next one fires (the rule fires every minute).
POLL_INVOCATION_LIMIT = 45.0
POLLING_INTERVAL_MINUTES = 1
# The last-resort timer answers FAILED if the handler overruns; leave it time to deliver that answer.
# It fires after the resource type's own budget ends (waiting.HANDOVER_SHARE), so it is only a last resort.
TIMER_MARGIN, TIMER_SHARE = 10.0, 0.1
# The clean-up of a request that cannot hand over gets at most this long.
ABANDON_LIMIT = 10.0
# The answer's delivery keeps trying for at most this long, and stops a second before the function's end.
MAX_DELIVERY = 60.0

Handler = Callable[[Request, Budget, Progress], Result]
Resumer = Callable[[Request, Mapping[str, str], Budget, Progress], Result]
Abandoner = Callable[[Request, Mapping[str, str], Budget], str]


def unexpected(error: Exception) -> str:
    """The Reason of an error the provider did not foresee."""
    return (
        f"Unexpected error in the provider: {type(error).__name__}: {error}. "
        "Retry the stack operation; if it happens again, report it with the function's logs."
    )


class FunctionContext(Protocol):
    """What the provider reads of Lambda's context object."""

    @property
    def function_name(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class Invocation:
    """One event being handled: what crhelper's hooks and the last-resort timer share, made once per event."""

    event: dict[str, Any]
    request: Request
    context: FunctionContext
    budget: Budget
    progress: Progress = field(default_factory=Progress)
    pending: Pending | None = None  # the resource type's answer while Connect is still working: hand over to polling
    answered: bool = False  # an answer went out, or the scheduled polls will send it
    error_code: str = ""  # why the request failed, for the Failures metric
    answer_lock: threading.Lock = field(default_factory=threading.Lock)  # the handler's thread and the timer's


class Provider(CfnResource):
    """The custom resource: runs the resource types and answers CloudFormation exactly once."""

    _invocation: Invocation  # set by __call__, the one place, before crhelper's flow runs

    def __init__(
        self,
        *,
        region: str,
        response_hosts: response.ResponseHosts,
        handle: Handler,
        resume: Resumer,
        abandon: Abandoner,
        schedule_clients: polling.ScheduleClients,
        logger: Logger,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # crhelper's constructor is not called: it would build Lambda, EventBridge and Logs clients at import
        # (trap 4) and reset the root logger (trap 3). These are the attributes its flow reads before
        # _crhelper_init sets the rest (tests/unit/test_crhelper_contract.py keeps the list honest).
        self._timer: threading.Timer | None = None  # the last-resort timer (see _set_timeout)
        self._init_failed = None  # when set, crhelper answers FAILED before any handler runs
        self._sam_local = os.getenv("AWS_SAM_LOCAL")  # set by `sam local`: crhelper then skips polling and the answer
        self._sleep_on_delete = 0  # crhelper would sleep up to 120 s on every Delete (trap 2)
        # crhelper calls the create/update/delete function for an event, the poll_* one when the event has
        # CrHelperPoll (a scheduled poll). They return the physical id to answer with; "" keeps polling.
        for register in (self.create, self.update, self.delete):
            register(self._handle_event)
        for register in (self.poll_create, self.poll_update, self.poll_delete):
            register(self._resume_event)
        # crhelper's lines go through Powertools as JSON, from WARNING up: its DEBUG lines hold the ResponseURL.
        copy_config_to_registered_loggers(source_logger=logger, log_level=logging.WARNING, include={"crhelper"})

        self._function_region = region
        self._response_hosts = response_hosts
        self._handle, self._resume, self._abandon = handle, resume, abandon
        self._schedule = schedule_clients
        self._logger, self._metrics = logger, metrics
        self._clock, self._sleep = clock, sleep

    def __call__(self, event: dict[str, Any], context: FunctionContext) -> None:
        """crhelper's flow, after the checks that the event is CloudFormation's, with this invocation's metrics."""
        problem = self._not_from_cloudformation(event)
        if problem:
            self._refuse(event, problem)
            return
        limit = POLL_INVOCATION_LIMIT if POLL in event else None
        invocation = Invocation(
            event,
            Request.from_event(event, self._function_region),
            context,
            Budget.from_context(context, self._clock, self._sleep, limit=limit),
        )
        self._invocation = invocation
        started = self._clock()
        try:
            super().__call__(event, context)
        finally:
            self._emit_metrics(invocation, started)

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

    # --- the functions crhelper calls for an event ------------------------------------------------------------

    def _handle_event(self, event: dict[str, Any], context: FunctionContext) -> str:
        invocation = self._invocation
        return self._outcome(lambda request: self._handle(request, invocation.budget, invocation.progress))

    def _resume_event(self, event: dict[str, Any], context: FunctionContext) -> str:
        invocation = self._invocation

        def resume(request: Request) -> Result:
            state = event[POLL_DATA]["State"]
            result = self._resume(request, state, invocation.budget, invocation.progress)
            if isinstance(result, Pending) and result.state != state:
                self._retarget(invocation, result.state)
            return result

        return self._outcome(resume)

    def _outcome(self, run: Callable[[Request], Result]) -> str:
        """The physical id crhelper answers with, and its Data; "" keeps polling, or leaves a failure's id to crhelper.

        Every exception ends here: crhelper would log it again, as a plain-text traceback, and answer ``str(e)``.
        """
        invocation = self._invocation
        try:
            result = run(invocation.request)
        except ProviderError as error:
            self._fail(error.reason, error.code)
            return error.physical_resource_id or ""
        except Exception as error:  # noqa: BLE001 - one FAILED answer for anything; _fail logs the traceback
            self._fail(unexpected(error), "Unexpected", traceback=True)
            return ""
        if isinstance(result, Pending):
            invocation.pending = result
            self._logger.info("Connect is still working; handing over to scheduled polling", extra=result.state)
            self.Data = {"State": result.state}
            return ""
        if result.note:
            self._logger.warning(result.note)
        if result.metric:
            self._metrics.add_metric(name=result.metric, unit=MetricUnit.Count, value=1)
        self.Data = dict(result.data)
        return result.physical_resource_id

    def _fail(self, reason: str, code: str, *, traceback: bool = False) -> None:
        """The one place a failure is logged (one line, with the traceback of an unexpected error), and set as
        crhelper's answer."""
        self._logger.error("Request failed", extra={"reason": reason, "error_code": code}, exc_info=traceback)
        self.Status, self.Reason, self._invocation.error_code = FAILED, reason, code

    def _retarget(self, invocation: Invocation, state: Mapping[str, str]) -> None:
        """The next polls start from the newer state (for example: the update was sent in this poll)."""
        event = invocation.event
        try:
            polling.retarget(
                self._schedule.events,
                polling.Schedule(event[POLL_RULE], event[POLL_PERMISSION]),
                function_name=invocation.context.function_name,
                event={**event, POLL_DATA: {**event[POLL_DATA], "State": dict(state)}},
                sleep=self._sleep,
            )
        except polling.PollingError as error:
            self._logger.warning("Polling goes on from the older state", extra={"error": str(error)})

    # --- crhelper's hooks, overridden: each docstring names the trap of crhelper 2.0.12 it avoids -------------

    def _log_setup(self, event: dict[str, Any], context: FunctionContext) -> None:
        """Trap 3: crhelper resets the root logger's level and formatter on every event (Powertools owns logging)."""

    def _poll_enabled(self) -> bool:
        """Trap 5: crhelper polls whenever a poll function is registered, so it answers a minute late at best.

        Here: only for a scheduled poll, or when the resource type answered Pending. True sends crhelper to
        _polling_init, which sets up polling (_setup_polling) on a first invocation that has not FAILED, and on an
        id or FAILED removes the schedule (_remove_polling) and answers.
        """
        return POLL in self._invocation.event or self._invocation.pending is not None

    def _setup_polling(self) -> None:
        """Traps 4 and 5: crhelper's schedule needs the clients its constructor builds, ignores EventBridge's
        partial failures and the target Input's size limit, and names rules IAM cannot scope.

        On failure, what this request alone made (a replacement group) is undone and the request fails here,
        without raising: crhelper would log the error again, as a plain-text traceback.
        """
        invocation = self._invocation
        state = self.Data.get("State", {})
        # Under the answer lock, the last-resort timer can neither answer while the schedule is being made nor
        # after it exists (the polls answer then), and no schedule is made once the timer has answered.
        with invocation.answer_lock:
            answered = invocation.answered
            if not answered:
                invocation.answered = self._schedule_polls(invocation, state)
        if answered:  # polls would act on a request CloudFormation is rolling back: undo what only it made
            undone = self._abandon(invocation.request, state, self._abandon_budget())
            self._logger.warning("No scheduled polling: the request was already answered FAILED." + undone)

    def _schedule_polls(self, invocation: Invocation, state: Mapping[str, str]) -> bool:
        """Whether the polls were scheduled (they answer from now on); if not, the request has FAILED."""
        doing = (
            f"Connect is still working on {state.get('GroupArn') or 'the request'} and this invocation is out of time"
        )
        event = {**invocation.event, POLL_DATA: self.Data, POLL: True}
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
                    self._schedule.events,
                    self._schedule.lambda_,
                    name=polling.rule_name(str(invocation.event["LogicalResourceId"])),
                    function_name=invocation.context.function_name,
                    event=event,
                    interval_minutes=POLLING_INTERVAL_MINUTES,
                    sleep=self._sleep,
                )
            except polling.PollingError as error:
                raise polling.setup_failed(str(error), doing=doing) from error
        except ProviderError as error:
            undone = self._abandon(invocation.request, state, self._abandon_budget())
            self._fail(error.reason + undone, error.code)
            return False
        except Exception as error:  # noqa: BLE001 - one FAILED answer for anything; _fail logs the traceback
            self._fail(unexpected(error), "Unexpected", traceback=True)
            return False
        return True

    def _abandon_budget(self) -> Budget:
        return Budget(self._clock() + ABANDON_LIMIT, self._clock, self._sleep)

    def _remove_polling(self) -> None:
        """Traps 4 and 5: crhelper removes the schedule with the clients its constructor builds, and stops at the
        first error (a rule left behind fires again). Here every step is tried, and what is left is logged."""
        # crhelper's bookkeeping in Data (from the poll event's CrHelperData) is not an attribute of the resource.
        self.Data.pop("State", None)
        self.Data.pop("PhysicalResourceId", None)
        invocation = self._invocation
        rule, statement = invocation.event.get(POLL_RULE), invocation.event.get(POLL_PERMISSION)
        if not rule or not statement:
            return
        problems = polling.stop(
            self._schedule.events,
            self._schedule.lambda_,
            polling.Schedule(rule, statement),
            function_name=invocation.context.function_name,
            sleep=self._sleep,
        )
        if problems:
            self._logger.error("Could not remove the polling schedule", extra={"problems": problems})

    def _set_timeout(self) -> None:
        """Traps 1 and 6: crhelper's timer fires 0.5 s before the end, too late to deliver its answer, says only
        "Execution timed out", and invents an id. Here it keeps a 10 s or 10% margin, says what to do, and its
        answer names a group the Create made (generate_physical_id)."""
        invocation = self._invocation
        remaining = invocation.context.get_remaining_time_in_millis() / 1000.0
        seconds = remaining - min(TIMER_MARGIN, remaining * TIMER_SHARE)
        self._timer = threading.Timer(max(0.0, seconds), partial(self._time_out, invocation))
        self._timer.daemon = True
        self._timer.start()

    def _time_out(self, invocation: Invocation) -> None:
        left = ""
        if invocation.progress.replacing and invocation.progress.created:
            left = f" The replacement group {invocation.progress.created} may be left behind; delete it if so."
        self._answer(
            invocation,
            FAILED,
            "The provider ran out of time before Connect finished. Raise the function's timeout (900 s is the "
            "maximum) and retry the stack operation; check the group's status in the Connect console." + left,
            error_code="Timeout",
        )

    def _send(self, status: str | None = None, reason: str = "") -> None:
        """Traps 1, 7 and 8: crhelper's sender counts any HTTP status as delivered, retries connection errors
        forever, keeps the Reason's last 240 characters and never checks the 4096-byte body; the timer and the
        handler can both answer; and it is bound as a default argument, so only this override replaces it.
        Here: ``response`` sends, once per invocation.

        crhelper passes ``status`` and ``reason`` only for its own failures; otherwise Status and Reason stand.
        """
        self._answer(self._invocation, status or self.Status, reason if status else self.Reason)

    def _answer(self, invocation: Invocation, status: str, reason: str, *, error_code: str = "") -> None:
        with invocation.answer_lock:
            if invocation.answered:
                self._logger.warning("Not sent: this request was already answered, or handed over to polling")
                return
            invocation.answered = True
        if status == FAILED:
            invocation.error_code = error_code or invocation.error_code or "Unexpected"
        event = invocation.event
        body = response.build_body(
            status=status,
            reason=reason,
            physical_resource_id=self.PhysicalResourceId
            or event.get("PhysicalResourceId")
            or self.generate_physical_id(event),
            event=event,
            data=self.Data,
        )
        remaining = invocation.context.get_remaining_time_in_millis() / 1000.0
        deadline = self._clock() + max(1.0, min(MAX_DELIVERY, remaining - 1.0))
        response.send(
            event["ResponseURL"], body, deadline=deadline, logger=self._logger, clock=self._clock, sleep=self._sleep
        )

    def generate_physical_id(self, event: dict[str, Any]) -> str:
        """Trap 6: crhelper invents an id for a Create that failed. Here, when the Create made a group, its ARN,
        so that the rollback's Delete removes the group, whatever the answer."""
        made = self._invocation.progress.created if event.get("RequestType") == "Create" else None
        return made or str(super().generate_physical_id(event))

    # --- observability ------------------------------------------------------------------------------------------

    def _emit_metrics(self, invocation: Invocation, started: float) -> None:
        operation = str(invocation.event.get("RequestType", "Unknown"))
        self._metrics.add_metric(
            name=f"{operation}Duration", unit=MetricUnit.Milliseconds, value=(self._clock() - started) * 1000
        )
        if invocation.budget.throttles:
            # Connect's quota is shared by the account: this says when stacks are competing for it.
            self._metrics.add_metric(name="ConnectThrottles", unit=MetricUnit.Count, value=invocation.budget.throttles)
        if invocation.error_code:
            with single_metric(
                name="Failures", unit=MetricUnit.Count, value=1, namespace=self._metrics.namespace
            ) as metric:
                metric.add_dimension(name="Operation", value=operation)
                metric.add_dimension(name="ErrorCode", value=invocation.error_code)
