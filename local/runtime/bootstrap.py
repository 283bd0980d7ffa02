"""Run Lambda invocations of a Python handler, the way the Lambda Python runtime does: one per process (``main``),
or one after the other in a warm execution environment (``serve``).

Started by :class:`local.runtime.LambdaFunction` as ``python -I -B -u local/runtime/bootstrap.py --code-dir ...``
with the event JSON on stdin and a minimal environment. It

1. puts ``--code-dir`` first on ``sys.path`` (``LAMBDA_TASK_ROOT``) and makes it the working directory;
2. installs a root log handler like the runtime's (``[LEVEL]\\t<time>\\t<request id>\\t<message>``);
3. imports the handler module (the init phase; an import error is reported as ``Runtime.ImportModuleError``);
4. calls ``handler(event, context)`` with a context whose ``get_remaining_time_in_millis()`` counts down from
   ``--timeout-s``, started right before the handler is called;
5. at the deadline prints ``Task timed out after N seconds`` and exits at once (exit code 124), without
   waiting for the handler, as Lambda does;
6. writes ``{"ok", "result"|"error", "timed_out"}`` to ``--result-file`` and exits *without* waiting for
   non-daemon threads (Lambda freezes the process when the handler returns).

It deliberately imports nothing from the ``local`` package: it runs as a script, in the function's environment.

:func:`serve` does the same for invocation after invocation, in a warm execution environment: a process forked
from a fork server that has already imported boto3 (``LambdaFunction(warm=True)``). It imports the handler module
at its first invocation and keeps it; a timeout or a failed init ends it.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import io
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

TIMEOUT_EXIT_CODE = 124
_PR_SET_PDEATHSIG = 1  # prctl(2)


class LambdaContext:
    """The attributes and the method of the Lambda Python runtime's context object.

    The one context of the project: this runner's, the benchmark's and the unit tests' (which pass their fake
    ``clock``, so that the remaining time moves only when the code sleeps).
    """

    def __init__(
        self,
        function_name: str = "connect-tdg-provider",
        *,
        timeout_s: float = 900,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        memory_mb: int = 128,
        request_id: str | None = None,
        log_stream_name: str = "local",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        self.identity: Any = None
        self.client_context: Any = None
        self._clock = clock
        self.deadline = clock() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self._clock()) * 1000))


class _RequestIdFilter(logging.Filter):
    """Puts the current invocation's request id on every record (one filter per process, updated per invocation)."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


_REQUEST_ID = _RequestIdFilter()


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(_REQUEST_ID)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }


def _write_result(result_file: str, payload: dict[str, Any]) -> None:
    with open(result_file, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, default=str)
    sys.stdout.flush()
    sys.stderr.flush()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--timeout-s", type=float, required=True)
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--account-id", required=True)
    parser.add_argument("--memory-mb", type=int, default=128)
    parser.add_argument("--request-id", required=True)
    parser.add_argument("--log-stream-name", required=True)
    parser.add_argument("--result-file", required=True)
    return parser.parse_args(argv)


def _init(args: argparse.Namespace) -> Callable[[Any, Any], Any]:
    """The init phase: import the handler's module. If it fails, report as the runtime does and end the process
    (Lambda runs the init phase again for the next invocation)."""
    module_name, _, function_name = args.handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        handler: Callable[[Any, Any], Any] = getattr(module, function_name)
        return handler
    except Exception as exc:  # noqa: BLE001 - reported like the runtime does
        error_type = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        if not isinstance(exc, ImportError | AttributeError):
            error_type = "Runtime.UserCodeSyntaxError" if isinstance(exc, SyntaxError) else type(exc).__name__
        print(f"[ERROR] {error_type}: {exc}", file=sys.stderr)
        _write_result(args.result_file, {"ok": False, "error": _error(exc, error_type), "timed_out": False})
        os._exit(1)


def _invoke(handler: Callable[[Any, Any], Any], event: Any, args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Call the handler with a context counting down from ``--timeout-s``: (what to report, exit code).

    If the handler is still running at the deadline, a watchdog reports ``Task timed out`` and ends the process at
    once (exit code 124) without waiting for the handler: Lambda resets an environment after a timeout.
    """
    context = LambdaContext(
        args.function_name,
        timeout_s=args.timeout_s,
        region=args.region,
        account_id=args.account_id,
        memory_mb=args.memory_mb,
        request_id=args.request_id,
        log_stream_name=args.log_stream_name,
    )
    returned = threading.Event()
    finish = threading.Lock()  # the handler returning and the timeout firing must not both report

    def watchdog() -> None:
        if returned.wait(max(0.0, context.deadline - time.monotonic())) or not finish.acquire(blocking=False):
            return
        print(
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {args.request_id} "
            f"Task timed out after {args.timeout_s:.2f} seconds",
            flush=True,
        )
        message = f"Task timed out after {args.timeout_s:.2f} seconds"
        error = {"errorType": "Sandbox.Timedout", "errorMessage": message, "stackTrace": []}
        _write_result(args.result_file, {"ok": False, "timed_out": True, "error": error})
        os._exit(TIMEOUT_EXIT_CODE)

    threading.Thread(target=watchdog, name="lambda-timeout", daemon=True).start()
    outcome = _call(handler, event, context)
    if not finish.acquire(blocking=False):
        threading.Event().wait()  # the watchdog is reporting the timeout and ending the process
    returned.set()
    return outcome


def _call(handler: Callable[[Any, Any], Any], event: Any, context: LambdaContext) -> tuple[dict[str, Any], int]:
    try:
        result = handler(event, context)
    except Exception as exc:  # noqa: BLE001 - the runtime reports any exception
        err = _error(exc)
        print(
            f"[ERROR] {err['errorType']}: {err['errorMessage']}\nTraceback (most recent call last):\n"
            + "".join(err["stackTrace"][1:]),
            file=sys.stderr,
            flush=True,
        )
        return {"ok": False, "error": err, "timed_out": False}, 1
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {"ok": False, "error": _error(exc, "Runtime.MarshalError"), "timed_out": False}, 1
    return {"ok": True, "result": result, "timed_out": False}, 0


def main(argv: list[str] | None = None) -> None:
    """One invocation in this process, then exit without waiting for non-daemon threads (Lambda freezes the
    process when the handler returns)."""
    args = _parse(argv)
    event = json.loads(sys.stdin.read())
    sys.path.insert(0, os.path.abspath(args.code_dir))
    os.chdir(args.code_dir)
    _setup_logging()
    _REQUEST_ID.request_id = args.request_id
    payload, code = _invoke(_init(args), event, args)
    _write_result(args.result_file, payload)
    os._exit(code)


def serve(conn: Connection, env: dict[str, str], cwd: str, sys_path: list[str]) -> None:
    """A warm execution environment, in a process forked from a fork server (``LambdaFunction(warm=True)``).

    It first makes the process look like ``python -I -B -u invoke.py`` would: its own session (so the caller can
    stop, continue or kill the process group), exactly ``env``, ``cwd`` and ``sys_path`` with the code directory
    first, no bytecode written, and death with its parent (the fork server). Then it serves invocations one at a
    time: ``conn`` brings ``(argv, event JSON, output file)``, where stdout and stderr go for that invocation, and
    gets back the exit code :func:`main` would have had. The handler's module is imported at the first invocation
    and kept, with whatever it set up, for the next ones, as Lambda keeps a warm environment; an init failure or a
    timeout ends the process, as Lambda resets the environment then.
    """
    os.setsid()
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:] = [cwd, *sys_path]
    sys.dont_write_bytecode = True
    _setup_logging()
    handler: Callable[[Any, Any], Any] | None = None
    while (job := conn.recv()) is not None:
        argv, event_text, output = job
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        args = _parse(argv)
        _REQUEST_ID.request_id = args.request_id
        handler = handler or _init(args)
        payload, code = _invoke(handler, json.loads(event_text), args)
        _write_result(args.result_file, payload)
        conn.send(code)


if __name__ == "__main__":
    main()
