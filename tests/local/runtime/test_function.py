"""LambdaFunction (local/runtime/function.py), with the fake provider: the environment and context of an invocation,
and warm execution environments."""

from __future__ import annotations

import functools
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local.cloudformation import (
    ResponseServer,
)
from local.runtime import LambdaFunction
from tests.local.conftest import (
    FAKE_DIR,
)

# ------------------------------------------------------------------------------------------------
# LambdaFunction


@pytest.mark.parametrize("warm", [False, True], ids=["fresh-process", "warm-environment"])
def test_lambda_function_environment_and_context(
    make_function: Callable[..., LambdaFunction], monkeypatch: pytest.MonkeyPatch, server: ResponseServer, warm: bool
) -> None:
    monkeypatch.setenv("PARENT_ONLY_SECRET", "must-not-leak")
    make_function = functools.partial(make_function, warm=warm)
    fn = make_function("fake_app.env_handler", timeout_s=30, endpoint_url="http://127.0.0.1:1")
    inv = fn.invoke({"sleep": 0.2})
    assert inv.error is None and inv.exit_code == 0 and not inv.timed_out, inv.logs
    env = inv.result["env"]
    assert "PARENT_ONLY_SECRET" not in env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "connect-tdg-provider"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["SSL_CERT_FILE"] == server.ca_pem_path
    assert env["ALLOWED_RESPONSE_HOSTS"] == "localhost,127.0.0.1"  # the provider answers the local server only
    assert env["FAKE_RULES_DIR"] and env["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    assert inv.result["cwd"] == inv.result["sys_path0"] == str(FAKE_DIR.resolve())
    assert 29_000 < inv.result["remaining_first"] <= 30_000
    assert inv.result["remaining_after"] <= inv.result["remaining_first"] - 200
    ctx = inv.result["context"]
    assert ctx["aws_request_id"] == inv.request_id
    assert (
        ctx["invoked_function_arn"] == fn.arn == "arn:aws:lambda:us-east-1:123456789012:function:connect-tdg-provider"
    )
    assert ctx["memory_limit_in_mb"] == 128 and ctx["function_version"] == "$LATEST"
    assert ctx["log_group_name"] == "/aws/lambda/connect-tdg-provider" and "[$LATEST]" in ctx["log_stream_name"]
    assert inv.logs.startswith(f"START RequestId: {inv.request_id}") and "REPORT RequestId" in inv.logs

    inv = make_function("fake_app.raising_handler").invoke({})
    assert inv.error is not None and inv.error["errorType"] == "ValueError" and inv.exit_code == 1
    assert "boom" in inv.logs

    inv = make_function("fake_app.env_handler", timeout_s=0.5).invoke({"sleep": 5})
    assert inv.timed_out and inv.duration_s < 3
    assert "Task timed out after 0.50 seconds" in inv.logs

    inv = make_function("no_such_module.handler").invoke({})
    assert inv.error is not None and inv.error["errorType"] == "Runtime.ImportModuleError"


def test_a_warm_environment_keeps_its_module_state_and_its_log_stream(
    make_function: Callable[..., LambdaFunction],
) -> None:
    fn = make_function("fake_app.warm_handler", warm=True)
    first, second = fn.invoke({}), fn.invoke({})
    assert first.result["pid"] == second.result["pid"]
    assert second.result["served"] == [first.request_id, second.request_id]
    assert first.result["log_stream"] == second.result["log_stream"] == second.result["context_log_stream"]
    assert first.log_stream == second.log_stream == first.result["log_stream"]
    assert f"START RequestId: {second.request_id}" in second.logs and first.request_id not in second.logs


def test_concurrent_invocations_get_separate_environments(make_function: Callable[..., LambdaFunction]) -> None:
    fn = make_function("fake_app.warm_handler", warm=True)
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(fn.invoke, [{"sleep": 0.5}, {"sleep": 0.5}]))
    pids = {inv.result["pid"] for inv in together}
    assert len(pids) == 2
    assert fn.invoke({}).result["pid"] in pids


def test_a_handler_error_keeps_the_environment_a_timeout_or_a_crash_resets_it(
    make_function: Callable[..., LambdaFunction],
) -> None:
    fn = make_function("fake_app.warm_handler", warm=True, timeout_s=1)
    raised = fn.invoke({"raise": True})
    assert raised.error is not None and raised.error["errorType"] == "RuntimeError" and raised.exit_code == 1
    after_error = fn.invoke({})
    assert after_error.result["served"] == [raised.request_id, after_error.request_id]

    timed_out = fn.invoke({"sleep": 5})
    assert timed_out.timed_out and timed_out.exit_code == 124 and timed_out.duration_s < 5
    after_timeout = fn.invoke({})
    assert after_timeout.result["served"] == [after_timeout.request_id]  # a new environment, initialized again
    assert after_timeout.result["pid"] != after_error.result["pid"]

    crashing = make_function("fake_app.warm_handler", warm=True, crash_after_s=1.5)
    crashed = crashing.invoke({"sleep": 4})
    assert crashed.crashed and crashed.exit_code == -signal.SIGKILL and crashed.duration_s < 4
    assert crashing.invoke({}).result["served"] == [crashing.invocations[-1].request_id]


def test_an_idle_environment_is_frozen_until_the_next_invocation(
    make_function: Callable[..., LambdaFunction], tmp_path: Path
) -> None:
    fn = make_function("fake_app.warm_handler", warm=True)
    ticks = tmp_path / "ticks"
    started = fn.invoke({"tick_file": str(ticks), "sleep": 0.2})
    assert started.error is None
    time.sleep(0.6)
    idle = [float(t) for t in ticks.read_text().split()]
    fn.invoke({"sleep": 0.2})
    thawed = [float(t) for t in ticks.read_text().split()]
    # the thread ticked while the handler ran, not while the environment was idle (allow one tick in flight
    # when it was frozen), and ticks again in the next invocation
    assert sum(1 for t in idle if t > started.ended_at + 0.05) <= 1
    assert len(idle) >= 3 and len(thawed) >= len(idle) + 3


def test_close_ends_the_idle_environments(make_function: Callable[..., LambdaFunction]) -> None:
    fn = make_function("fake_app.warm_handler", warm=True)
    pid = fn.invoke({}).result["pid"]
    fn.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert fn.invoke({}).result["pid"] != pid
