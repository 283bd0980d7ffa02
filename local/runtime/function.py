"""Invoke a Python Lambda handler the way Lambda does: in a process of its own with a clean environment (a fresh
one per invocation, or a warm one reused), a context whose remaining time counts down, and a hard kill at the
function timeout."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from . import bootstrap

BOOTSTRAP_SCRIPT: Final = Path(bootstrap.__file__).resolve()
# The hosts of local.cloudformation.ResponseServer's URLs, as the provider's ALLOWED_RESPONSE_HOSTS: it answers
# nowhere else.
LOCAL_RESPONSE_HOSTS: Final = "localhost,127.0.0.1"
DUMMY_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "AKIALOCALTESTING0000",
    "AWS_SECRET_ACCESS_KEY": "local-testing-secret-key-not-a-real-one",
    "AWS_SESSION_TOKEN": "local-testing-session-token",
}
_INIT_ALLOWANCE_S: Final = 10.0  # Lambda's init phase has its own 10 s limit, outside the function timeout
_FORK_LOCK = threading.Lock()
# What this process's fork server imports before it forks warm environments: libraries that read no environment
# variable when imported (botocore notes HOME's ~/.aws/models then, with this process's environment).
FORK_SERVER_PRELOAD: Final = (bootstrap.__name__, "boto3")
_fork_server_started = False
_isolated_paths: dict[str, list[str]] = {}  # python -> sys.path of ``python -I``


@dataclass
class Invocation:
    """One invocation's outcome, as Lambda (and CloudWatch Logs) would show it."""

    request_id: str
    event: dict[str, Any]
    logs: str = ""
    exit_code: int | None = None
    duration_s: float = 0.0
    timed_out: bool = False
    error: dict[str, Any] | None = None  # {"errorType", "errorMessage", "stackTrace"} when the handler raised
    result: Any = None  # the handler's return value
    started_at: float = 0.0  # time.time()
    ended_at: float = 0.0
    crashed: bool = False  # killed by ``crash_after_s`` (error Runtime.ExitError, like an out-of-memory kill)
    log_stream: str = ""  # its execution environment's (AWS_LAMBDA_LOG_STREAM_NAME): one per warm environment

    @property
    def failed(self) -> bool:
        """An error, a timeout or a crash: what Lambda's asynchronous invocation would retry."""
        return self.timed_out or self.error is not None


class LambdaFunction:
    """A Python Lambda function made of ``code_dir`` and ``handler`` (``module.function``).

    The subprocess environment is minimal and does not inherit the caller's: ``PATH``, ``HOME`` (a private
    temporary directory), ``LANG``, ``TZ``, dummy credentials, ``AWS_REGION``/``AWS_DEFAULT_REGION``, the
    ``AWS_LAMBDA_*`` variables of the runtime, ``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE`` pointing at
    nothing, ``ALLOWED_RESPONSE_HOSTS`` naming the local ``ResponseServer`` (``LOCAL_RESPONSE_HOSTS``: the provider
    answers only where CloudFormation listens), ``SSL_CERT_FILE`` and ``AWS_ENDPOINT_URL`` when given, then ``env``
    on top.

    Simulated crashes: with ``crash_after_s``, the first ``crash_count`` invocations (counted from the
    function's creation, whichever thread invokes) get their process group killed with SIGKILL
    ``crash_after_s`` seconds after the invocation started, as Lambda kills an invocation that runs out of memory:
    the invocation ends with ``errorType`` ``Runtime.ExitError`` ("Runtime exited with error: signal: killed"),
    ``crashed=True``, and whatever the handler had not done yet (its answer to CloudFormation) is never done.
    An armed invocation that ends before ``crash_after_s`` is not killed, and still uses up one of the
    ``crash_count``. Later invocations run normally. Invocations may run concurrently (from several threads).

    ``warm`` (for tests and local runs; not for measuring cold starts): each execution environment is a process
    forked from a fork server of this process that has already imported boto3 (``FORK_SERVER_PRELOAD``), instead
    of a fresh interpreter: the handler's own modules and its init phase still run in each environment, with its
    environment, but the CPU of a start is mostly saved. And environments are kept warm, as Lambda keeps them: an
    environment that has answered an invocation (or whose handler raised) is frozen (SIGSTOP) until a later
    invocation takes it (SIGCONT), with the module state its init phase and earlier invocations left, including
    threads, which run on only then.
    Concurrent invocations get separate environments. A timeout or a crash resets the environment: the next
    invocation starts a new one, and runs the init phase again. :meth:`close` ends the idle environments;
    they also end with this object and with this process.
    """

    def __init__(
        self,
        code_dir: str | Path = "src/handler",
        handler: str = "app.handler",
        env: Mapping[str, str] | None = None,
        timeout_s: float = 900,
        function_name: str = "connect-tdg-provider",
        region: str = "us-east-1",
        *,
        account_id: str = "123456789012",
        memory_mb: int = 128,
        ssl_cert_file: str | None = None,
        endpoint_url: str | None = None,
        grace_s: float = 1.0,
        crash_after_s: float | None = None,
        crash_count: int = 1,
        warm: bool = False,
    ) -> None:
        if crash_after_s is not None and not crash_after_s > 0:
            raise ValueError(f"crash_after_s must be positive, not {crash_after_s!r}")
        if crash_count < 0:
            raise ValueError(f"crash_count must be >= 0, not {crash_count!r}")
        self.code_dir = Path(code_dir).resolve()
        self.handler = handler
        self.env = dict(env or {})
        self.timeout_s = float(timeout_s)
        self.function_name = function_name
        self.region = region
        self.account_id = account_id
        self.memory_mb = memory_mb
        self.ssl_cert_file = ssl_cert_file
        self.endpoint_url = endpoint_url
        self.grace_s = grace_s
        self.crash_after_s = crash_after_s
        self.crash_count = crash_count
        self.warm = warm
        self.invocations: list[Invocation] = []
        self._started = 0  # invocations started so far (the first crash_count ones crash)
        self._lock = threading.Lock()
        self._idle: list[_Environment] = []  # warm environments, frozen
        self._home = tempfile.mkdtemp(prefix="lambda-home-")
        weakref.finalize(self, shutil.rmtree, self._home, True)
        weakref.finalize(self, _end_all, self._idle)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def environment(self, log_stream_name: str = "") -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": self._home,
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            **DUMMY_CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            "_HANDLER": self.handler,
            "ALLOWED_RESPONSE_HOSTS": LOCAL_RESPONSE_HOSTS,
        }
        if self.ssl_cert_file:
            env["SSL_CERT_FILE"] = self.ssl_cert_file
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        env.update(self.env)
        return env

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        """Run one invocation in a fresh process, or a warm environment (``warm``), and wait for it (at most
        timeout + init allowance + grace)."""
        request_id = str(uuid.uuid4())
        inv = Invocation(request_id=request_id, event=json.loads(json.dumps(event)))
        with self._lock:
            crash = self.crash_after_s is not None and self._started < self.crash_count
            self._started += 1
        limit_s = self.timeout_s + _INIT_ALLOWANCE_S + self.grace_s
        crash_at_s = self.crash_after_s if crash else None
        with tempfile.TemporaryDirectory(prefix="lambda-invoke-") as tmp:
            result_file = Path(tmp) / "result.json"
            wait_s = limit_s if crash_at_s is None else min(limit_s, crash_at_s)
            inv.started_at = time.time()
            t0 = time.monotonic()
            run = self._run_warm if self.warm else self._run_fresh
            out, inv.exit_code, stopped, inv.log_stream = run(request_id, json.dumps(event), result_file, wait_s)
            crashed = stopped and crash_at_s is not None and crash_at_s < limit_s
            killed = stopped and not crashed
            inv.duration_s = time.monotonic() - t0
            inv.ended_at = time.time()
            report: dict[str, Any] = {}
            if result_file.exists():
                try:
                    report = json.loads(result_file.read_text(encoding="utf-8"))
                except ValueError:
                    report = {}
        logs = out.decode("utf-8", errors="replace")
        if crashed:
            inv.crashed = True
            message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
            logs += f"{message}\nRuntime.ExitError\n"
            inv.error = {"errorType": "Runtime.ExitError", "errorMessage": message, "stackTrace": []}
        elif killed:
            inv.timed_out = True
            logs += f"{request_id} Task timed out after {self.timeout_s:.2f} seconds (killed by the driver)\n"
            inv.error = {"errorType": "Sandbox.Timedout", "errorMessage": "killed after timeout", "stackTrace": []}
        elif not report:
            inv.error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {inv.exit_code}",
                "stackTrace": [],
            }
        else:
            inv.timed_out = bool(report.get("timed_out"))
            if report.get("ok"):
                inv.result = report.get("result")
            else:
                inv.error = report.get("error") or {"errorType": "Unknown", "errorMessage": "", "stackTrace": []}
        billed = max(1, int(inv.duration_s * 1000 + 0.999))
        inv.logs = (
            f"START RequestId: {request_id} Version: $LATEST\n{logs}"
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {inv.duration_s * 1000:.2f} ms\tBilled Duration: {billed} ms"
            f"\tMemory Size: {self.memory_mb} MB\n"
        )
        with self._lock:
            self.invocations.append(inv)
        return inv

    def _run_fresh(
        self, request_id: str, event: str, result_file: Path, wait_s: float
    ) -> tuple[bytes, int | None, bool, str]:
        """The invocation in a new ``python -I -B -u local/runtime/bootstrap.py`` process, with a log stream of its own:
        (output, exit code, whether it was killed after ``wait_s``, the log stream)."""
        log_stream = _log_stream_name()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-u", str(BOOTSTRAP_SCRIPT), *self._argv(request_id, log_stream, result_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.environment(log_stream),
            cwd=str(self.code_dir),
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(event.encode(), timeout=wait_s)
            return out, proc.returncode, False, log_stream
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            return out, proc.returncode, True, log_stream

    def _argv(self, request_id: str, log_stream: str, result_file: Path) -> list[str]:
        """``local/runtime/bootstrap.py``'s arguments for one invocation."""
        return [
            *("--code-dir", str(self.code_dir), "--handler", self.handler, "--timeout-s", repr(self.timeout_s)),
            *("--function-name", self.function_name, "--region", self.region, "--account-id", self.account_id),
            *("--memory-mb", str(self.memory_mb), "--request-id", request_id, "--log-stream-name", log_stream),
            *("--result-file", str(result_file)),
        ]

    def _run_warm(
        self, request_id: str, event: str, result_file: Path, wait_s: float
    ) -> tuple[bytes, int | None, bool, str]:
        """:meth:`_run_fresh` in an idle warm environment, or a new one: frozen again for later invocations if it
        returned, reset (ended) if it timed out, crashed, failed its init, or is killed after ``wait_s``. Also
        gives the environment's log stream."""
        with self._lock:
            environment = self._idle.pop() if self._idle else None
        environment = environment or _Environment.start(self)
        output = result_file.with_name("output.log")
        returned = environment.invoke(
            self._argv(request_id, environment.log_stream, result_file), event, output, wait_s
        )
        if returned is not None:
            environment.freeze()
            with self._lock:
                self._idle.append(environment)
        else:
            environment.end()
        out = output.read_bytes() if output.exists() else b""
        code = environment.exit_code if returned is None else returned
        return out, code, environment.killed, environment.log_stream

    def close(self) -> None:
        """End the idle warm environments (a later invocation starts a new one)."""
        with self._lock:
            idle, self._idle[:] = list(self._idle), []
        _end_all(idle)


class _Environment:
    """A warm execution environment: a process forked from this process's fork server, running
    ``local/runtime/bootstrap.py``'s :func:`serve`, in a session (process group) of its own."""

    def __init__(self, process: Any, conn: Connection, log_stream: str) -> None:
        self.process = process
        self.conn = conn
        self.log_stream = log_stream
        self.killed = False
        self.exit_code: int | None = None

    @classmethod
    def start(cls, function: LambdaFunction) -> _Environment:
        global _fork_server_started
        context = multiprocessing.get_context("forkserver")
        with _FORK_LOCK:
            if not _fork_server_started:
                context.set_forkserver_preload(list(FORK_SERVER_PRELOAD))
                _fork_server_started = True
            if sys.executable not in _isolated_paths:
                found = subprocess.run(
                    [sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
                    capture_output=True,
                    check=True,
                    text=True,
                )
                _isolated_paths[sys.executable] = json.loads(found.stdout)
            sys_path = list(_isolated_paths[sys.executable])
        log_stream = _log_stream_name()
        ours, theirs = context.Pipe()
        process = context.Process(
            target=bootstrap.serve,
            args=(theirs, function.environment(log_stream_name=log_stream), str(function.code_dir), sys_path),
            name=f"lambda-{function.function_name}",
        )
        process.start()
        theirs.close()
        return cls(process, ours, log_stream)

    def invoke(self, argv: list[str], event: str, output: Path, wait_s: float) -> int | None:
        """The exit code the invocation would have had in a process of its own, if the environment lives on;
        None if it ended (timeout, init failure) or was killed after ``wait_s``."""
        self._signal(signal.SIGCONT)
        self.conn.send((argv, event, str(output)))
        if not self.conn.poll(wait_s):
            self.killed = True
            return None
        try:
            code: int = self.conn.recv()
        except EOFError:
            return None
        return code

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def end(self) -> None:
        self._signal(signal.SIGKILL)
        self.process.join()
        self.exit_code = self.process.exitcode
        self.process.close()
        self.conn.close()

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            if signum == signal.SIGKILL:
                self.process.kill()


def _end_all(environments: list[_Environment]) -> None:
    while environments:
        environments.pop().end()


def _log_stream_name() -> str:
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
