"""Run ONE Lambda invocation of a Python handler, the way the Lambda Python runtime does.

Started by :class:`local.cloudformation.LambdaFunction` as ``python -I -B -u local/invoke.py --code-dir ...``
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

It deliberately imports nothing from the ``local`` package.

:func:`run_forked` does the same in a process forked from a fork server that has already imported some
libraries (``LambdaFunction(preload=...)``): it first makes the process look like the one above (its own
session, output to a file, the given environment, working directory and ``sys.path``, no bytecode written).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

TIMEOUT_EXIT_CODE = 124
_FINISH = threading.Lock()  # the handler returning and the timeout firing must not both report


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
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _setup_logging(request_id: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(_RequestIdFilter(request_id))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }


def _finish(result_file: str, payload: dict[str, Any], code: int) -> None:
    _FINISH.acquire()  # never released: whoever gets here first ends the process
    try:
        with open(result_file, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, default=str)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None, event_text: str | None = None) -> None:
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
    args = parser.parse_args(argv)

    event = json.loads(sys.stdin.read() if event_text is None else event_text)
    code_dir = os.path.abspath(args.code_dir)
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    _setup_logging(args.request_id)

    module_name, _, function_name = args.handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
    except Exception as exc:  # noqa: BLE001 - reported like the runtime does
        error_type = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        if not isinstance(exc, ImportError | AttributeError):
            error_type = "Runtime.UserCodeSyntaxError" if isinstance(exc, SyntaxError) else type(exc).__name__
        err = _error(exc, error_type)
        print(f"[ERROR] {error_type}: {exc}", file=sys.stderr)
        _finish(args.result_file, {"ok": False, "error": err, "timed_out": False}, 1)
        return

    context = LambdaContext(
        args.function_name,
        timeout_s=args.timeout_s,
        region=args.region,
        account_id=args.account_id,
        memory_mb=args.memory_mb,
        request_id=args.request_id,
        log_stream_name=args.log_stream_name,
    )
    deadline = context.deadline

    def watchdog() -> None:
        left = deadline - time.monotonic()
        if left > 0:
            time.sleep(left)
        print(
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {args.request_id} "
            f"Task timed out after {args.timeout_s:.2f} seconds",
            flush=True,
        )
        _finish(
            args.result_file,
            {
                "ok": False,
                "timed_out": True,
                "error": {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {args.timeout_s:.2f} seconds",
                    "stackTrace": [],
                },
            },
            TIMEOUT_EXIT_CODE,
        )

    threading.Thread(target=watchdog, name="lambda-timeout", daemon=True).start()
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
        _finish(args.result_file, {"ok": False, "error": err, "timed_out": False}, 1)
        return
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        err = _error(exc, "Runtime.MarshalError")
        _finish(args.result_file, {"ok": False, "error": err, "timed_out": False}, 1)
        return
    _finish(args.result_file, {"ok": True, "result": result, "timed_out": False}, 0)


def run_forked(
    argv: list[str], event_text: str, env: dict[str, str], cwd: str, sys_path: list[str], output: str
) -> None:
    """:func:`main` in a forked process, set up as ``python -I -B -u invoke.py`` would be: a new session (so the
    caller can kill the process group), stdout and stderr unbuffered into ``output``, exactly ``env``, ``cwd``
    and ``sys_path`` (the interpreter's isolated path; main puts the code directory first)."""
    os.setsid()
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:] = sys_path
    sys.dont_write_bytecode = True
    main(argv, event_text)


if __name__ == "__main__":
    main()
