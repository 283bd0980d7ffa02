"""Tests of the local CloudFormation (ResponseServer, LambdaFunction, StackDriver) with a fake provider.

The fake provider (tests/local/fake_handler/fake_app.py) runs in a real process (a fresh one per invocation, or a warm
environment) and answers through the real HTTPS ResponseServer, so these tests exercise the same path the real
handler will take.
"""

from __future__ import annotations

import copy
import functools
import http.client
import importlib
import json
import os
import re
import signal
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from local.cloudformation import (
    NO_VALUE,
    RequestRecord,
    ResolutionError,
    Resolver,
    ResponseServer,
    StackDriver,
    StackOperationError,
    TemplateError,
    load_template,
    schedule_interval_s,
    stringify,
)
from local.cloudformation.template import (
    dependencies,
    evaluate_conditions,
    expand_language_extensions,
    resolve_parameters,
    topological_order,
)
from local.runtime import LambdaFunction

FAKE_DIR = Path(__file__).parent / "fake_handler"
EXPORT = "provider-ServiceToken"


# ------------------------------------------------------------------------------------------------
# helpers


class FileRules:
    """The rules source the fake handler writes to: one JSON file per EventBridge rule."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def rules(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.directory.glob("*.json"))]


def custom(**props: Any) -> dict[str, Any]:
    return {"Type": "Custom::Fake", "Properties": {"ServiceToken": {"Fn::ImportValue": EXPORT}, **props}}


def calls(driver: StackDriver) -> list[tuple[str, str, str]]:
    return [(r.request_type, r.logical_id, str(r.event.get("PhysicalResourceId", ""))) for r in driver.requests]


def statuses(driver: StackDriver) -> list[str]:
    return [
        r.status for r in driver.timeline if not r.request_type and r.physical_id.startswith("arn:aws:cloudformation:")
    ]


def put(url: str, body: bytes, ca: str, method: str = "PUT") -> int | None:
    split = urlsplit(url)
    conn = http.client.HTTPSConnection(split.netloc, context=ssl.create_default_context(cafile=ca), timeout=5)
    try:
        conn.request(method, f"{split.path}?{split.query}", body=body, headers={"Content-Length": str(len(body))})
        return conn.getresponse().status
    except (http.client.RemoteDisconnected, ConnectionError):
        return None
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        yield srv


@pytest.fixture
def make_function(server: ResponseServer, tmp_path: Path) -> Callable[..., LambdaFunction]:
    def make(handler: str = "fake_app.handler", timeout_s: float = 10, **kwargs: Any) -> LambdaFunction:
        return LambdaFunction(
            FAKE_DIR,
            handler,
            {"FAKE_RULES_DIR": str(tmp_path)},
            timeout_s=timeout_s,
            ssl_cert_file=server.ca_pem_path,
            grace_s=0.5,
            **kwargs,
        )

    return make


@pytest.fixture
def make_driver(
    server: ResponseServer, make_function: Callable[..., LambdaFunction], tmp_path: Path
) -> Callable[..., StackDriver]:
    def make(function: LambdaFunction | None = None, **kwargs: Any) -> StackDriver:
        fn = function or make_function()
        driver = StackDriver(server, [fn], rules_source=FileRules(tmp_path), **kwargs)
        driver.register(fn, export_name=EXPORT)
        return driver

    return make


# ------------------------------------------------------------------------------------------------
# template: YAML, stringification, intrinsics, dependencies (no sockets, no processes)

YAML = """
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Group:
    Type: Custom::Fake
    Properties:
      ServiceToken: !ImportValue provider-ServiceToken
      Name: !Sub "${AWS::StackName}-${Env}"
      Arn: !GetAtt Other.Arn
      Pick: !Select [1, !Ref Zones]
"""


def test_yaml_short_form_tags_and_no_timestamps() -> None:
    tmpl = load_template(YAML)
    assert tmpl["AWSTemplateFormatVersion"] == "2010-09-09"
    props = tmpl["Resources"]["Group"]["Properties"]
    assert props["ServiceToken"] == {"Fn::ImportValue": "provider-ServiceToken"}
    assert props["Arn"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert props["Pick"] == {"Fn::Select": [1, {"Ref": "Zones"}]}
    assert tmpl["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    with pytest.raises(TemplateError):
        load_template("Parameters: {}\n")


def test_stringify_is_recursive_like_cloudformation() -> None:
    assert stringify({"A": True, "B": False, "C": 10, "D": 1.5, "E": [1, {"F": True}], "G": "x", "H": None}) == {
        "A": "true", "B": "false", "C": "10", "D": "1.5", "E": ["1", {"F": "true"}], "G": "x", "H": None,
    }  # fmt: skip


def _resolver(**kwargs: Any) -> Resolver:
    data = {"Other": {"Arn": "arn:other", "List": "x"}}

    def get_att(lid: str, attr: str) -> Any:
        if attr not in data[lid]:
            raise ResolutionError(f"{lid}.{attr} not in Data")
        return data[lid][attr]

    return Resolver(
        parameters={"Env": "prod", "Zones": ["a", "b"]},
        pseudo={"AWS::StackName": "st", "AWS::Region": "us-east-1"},
        resources=["Other"],
        ref_resource=lambda lid: f"pid-{lid}",
        get_att=get_att,
        exports={"provider-ServiceToken": "arn:fn", "st-Thing": "exported"},
        **kwargs,
    )


def test_intrinsics_resolve() -> None:
    r = _resolver()
    r.conditions = {"IsProd": True}
    assert r.resolve({"Fn::Sub": "${AWS::StackName}-${Env}-${Other}-${Other.Arn}-${!Literal}"}) == (
        "st-prod-pid-Other-arn:other-${Literal}"
    )
    assert r.resolve({"Fn::Sub": ["${X}/${Y}", {"X": {"Ref": "Env"}, "Y": "y"}]}) == "prod/y"
    assert r.resolve({"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-Thing"}}) == "exported"
    assert r.resolve({"Fn::Join": [",", {"Ref": "Zones"}]}) == "a,b"
    assert r.resolve({"Fn::Select": ["1", {"Fn::Split": ["|", "p|q|r"]}]}) == "q"
    assert r.resolve({"A": {"Fn::If": ["IsProd", "big", "small"]}, "B": {"Ref": "AWS::NoValue"}}) == {"A": "big"}
    assert r.resolve([1, {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, 2]}]) == [1]
    assert r.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
    with pytest.raises(ResolutionError):
        r.resolve({"Fn::ImportValue": "missing"})
    with pytest.raises(ResolutionError):
        r.resolve({"Fn::GetAtt": ["Other", "Nope"]})
    with pytest.raises(TemplateError):
        r.resolve({"Ref": "Undefined"})


def test_conditions() -> None:
    tmpl = {
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["1", 1]}]},
            "Either": {"Fn::Or": [{"Condition": "NotProd"}, {"Condition": "Both"}]},
        }
    }
    assert evaluate_conditions(tmpl, _resolver()) == {"IsProd": True, "NotProd": False, "Both": True, "Either": True}
    with pytest.raises(TemplateError):
        evaluate_conditions({"Conditions": {"A": {"Condition": "A"}}}, _resolver())


def test_dependencies_and_order() -> None:
    resources: dict[str, dict[str, Any]] = {
        "C": {"Properties": {"X": {"Fn::Sub": "${B.Arn}"}}},
        "B": {"Properties": {"X": {"Ref": "A"}}, "DependsOn": "D"},
        "A": {"Properties": {}},
        "D": {"Properties": {"Y": {"Fn::Sub": ["${V}", {"V": {"Fn::GetAtt": ["A", "Arn"]}}]}}},
    }
    graph = {lid: dependencies(d, resources) for lid, d in resources.items()}
    assert graph == {"C": {"B"}, "B": {"A", "D"}, "A": set(), "D": {"A"}}
    assert topological_order(graph) == ["A", "D", "B", "C"]
    with pytest.raises(TemplateError, match="Circular"):
        topological_order({"X": {"Y"}, "Y": {"X"}})
    assert schedule_interval_s("rate(1 minute)") == 60
    assert schedule_interval_s("rate(2 hours)") == 7200


# ------------------------------------------------------------------------------------------------
# ResponseServer


def test_response_server_url_recording_and_refusals(server: ResponseServer) -> None:
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/st/1111"
    url = server.url_for("req-1", stack_id, "Res")
    assert re.fullmatch(
        r"https://localhost:\d+/cloudformation-custom-resource-response-useast1/"
        r"arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/st/1111%7CRes%7Creq-1"
        r"\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-SignedHeaders=host&X-Amz-Expires=7200"
        r"&X-Amz-Credential=AKIA[A-Z2-7]{16}%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=[0-9a-f]{64}",
        url,
    ), url
    signature = url.rsplit("=", 1)[1]
    assert signature in server.secrets()
    ca = server.ca_pem_path

    assert put(url, b"{}", ca, method="POST") == 405
    assert put(url.replace(signature, "0" * 64), b"{}", ca) == 403
    assert put(url.replace("%7CRes%7C", "%7CXXX%7C"), b"{}", ca) == 403
    assert [r["status"] for r in server.rejected()][-3:] == [405, 403, 403]
    assert server.answers("req-1") == []

    server.fail_next(1, "500")
    assert put(url, b'{"a": 1}', ca) == 500
    server.fail_next(1, "403")
    assert put(url, b'{"a": 2}', ca) == 403
    server.fail_next(1, "drop")
    assert put(url, b'{"a": 3}', ca) is None
    assert server.answers("req-1") == []  # failed deliveries are not answers

    before = time.time()
    assert put(url, b'{"a": 4}', ca) == 200
    assert put(url, b"x" * 5000, ca) == 200  # S3 takes it; CloudFormation would not
    first, second = server.answers("req-1")
    assert first["body"] == {"a": 4} and first["raw_length"] == 8 and first["violations"] == []
    assert before <= first["received_at"] <= time.time()
    assert second["raw_length"] == 5000 and second["body"] is None
    assert any("over the 4096-byte limit" in v for v in second["violations"])
    assert [a["outcome"] for a in server.attempts("req-1")] == [
        "fault:500", "fault:403", "fault:drop", "delivered", "delivered",
    ]  # fmt: skip


def test_crhelper_sender_against_faults(server: ResponseServer) -> None:
    """What crhelper 2.0.12's ``_send_response`` does with a failing ResponseURL.

    A dropped connection is an exception: crhelper retries (after 2 s) and the answer arrives. An HTTP 500 is a
    response: crhelper logs it and stops, so the answer is lost and CloudFormation would wait for ServiceTimeout.
    """
    _send_response = importlib.import_module("crhelper.utils")._send_response  # private, not in its stubs

    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/st/2222"
    url = server.url_for("req-drop", stack_id, "Res")
    server.fail_next(1, "drop")
    _send_response(url, {"Status": "SUCCESS"}, server.ca_pem_path)
    assert [a["body"] for a in server.answers("req-drop")] == [{"Status": "SUCCESS"}]

    url = server.url_for("req-500", stack_id, "Res")
    server.fail_next(1, "500")
    _send_response(url, {"Status": "SUCCESS"}, server.ca_pem_path)
    assert server.answers("req-500") == []
    assert [a["outcome"] for a in server.attempts("req-500")] == ["fault:500"]


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


# ------------------------------------------------------------------------------------------------
# StackDriver: the lifecycle


def test_create_update_in_place_replacement_cleanup_delete(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    token = driver.exports[EXPORT]
    tmpl: dict[str, Any] = {
        "Resources": {
            "A": custom(Generation=1, Enabled=True, Count=10, Tags=[{"Key": "k", "Value": 3}], ServiceTimeout=60),
            "B": custom(Name={"Fn::GetAtt": ["A", "Arn"]}),
        },
        "Outputs": {"BName": {"Value": {"Fn::GetAtt": ["B", "Name"]}, "Export": {"Name": "b-name"}}},
    }
    stack = driver.create_stack(tmpl)
    assert stack.status == "CREATE_COMPLETE"
    create_a = driver.requests[0].event
    assert set(create_a) == {
        "RequestType", "ServiceToken", "ResponseURL", "StackId", "RequestId", "LogicalResourceId", "ResourceType",
        "ResourceProperties",
    }  # fmt: skip
    assert create_a["ServiceToken"] == token and create_a["ResourceType"] == "Custom::Fake"
    assert create_a["ResourceProperties"] == {
        "ServiceToken": token, "Generation": "1", "Enabled": "true", "Count": "10",
        "Tags": [{"Key": "k", "Value": "3"}], "ServiceTimeout": "60",
    }  # fmt: skip
    assert re.fullmatch(r"arn:aws:cloudformation:us-east-1:123456789012:stack/tdg-stack/[0-9a-f-]{36}", stack.stack_id)
    assert stack.outputs == {"BName": "arn:aws:fake:us-east-1:123456789012:thing/fake-A-1"}
    assert stack.exports == {"b-name": stack.outputs["BName"]}
    assert stack.resources["A"].physical_id == "fake-A-1" and stack.resources["A"].data["Generation"] == "1"

    # in place: only A's Count changes
    tmpl["Resources"]["A"]["Properties"]["Count"] = 11
    driver.update_stack(tmpl)
    update_a = driver.requests[2].event
    assert update_a["RequestType"] == "Update" and update_a["PhysicalResourceId"] == "fake-A-1"
    assert update_a["ResourceProperties"]["Count"] == "11" and update_a["OldResourceProperties"]["Count"] == "10"
    assert len(driver.requests) == 3  # B's properties did not change: no request

    # replacement: A answers a new physical id; B's Name follows; the old A is deleted in the cleanup phase
    tmpl["Resources"]["A"]["Properties"]["Generation"] = 2
    stack = driver.update_stack(tmpl)
    assert calls(driver)[3:] == [("Update", "A", "fake-A-1"), ("Update", "B", "fake-B-0"), ("Delete", "A", "fake-A-1")]
    cleanup = driver.requests[5]
    assert cleanup.phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert cleanup.event["ResourceProperties"]["Generation"] == "1"  # the old properties
    assert stack.resources["A"].physical_id == "fake-A-2"
    assert stack.outputs["BName"].endswith("fake-A-2")

    # a removed resource is deleted in the cleanup phase too
    del tmpl["Resources"]["B"], tmpl["Outputs"]
    stack = driver.update_stack(tmpl)
    assert calls(driver)[6:] == [("Delete", "B", "fake-B-0")]
    assert driver.requests[6].phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert list(stack.resources) == ["A"]

    with pytest.raises(StackOperationError, match="No updates are to be performed"):
        driver.update_stack(tmpl)

    stack = driver.delete_stack()
    assert calls(driver)[7:] == [("Delete", "A", "fake-A-2")]
    assert stack.status == "DELETE_COMPLETE" and stack.resources == {}
    assert statuses(driver) == [
        "CREATE_IN_PROGRESS", "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
        "DELETE_IN_PROGRESS", "DELETE_COMPLETE",
    ]  # fmt: skip
    assert driver.violations == [] and driver.warnings == []
    text = driver.format_timeline()
    assert "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in text and "fake-A-2" in text


def test_create_failure_rolls_back_including_the_failed_resource(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    tmpl = {"Resources": {"A": custom(), "B": custom(FailOn="Create", Generation=7), "C": custom()}}
    stack = driver.create_stack(tmpl)
    assert calls(driver) == [
        ("Create", "A", ""),
        ("Create", "B", ""),
        ("Delete", "B", "fake-B-7"),
        ("Delete", "A", "fake-A-0"),
    ]
    assert driver.requests[1].reason == "requested failure on Create"
    assert stack.status == "ROLLBACK_COMPLETE" and stack.resources == {}
    assert "B: requested failure on Create" in stack.status_reason
    assert driver.violations == []
    with pytest.raises(StackOperationError, match="ROLLBACK_COMPLETE"):
        driver.update_stack(tmpl)
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert len(driver.requests) == 4


def test_update_failure_rolls_back_updates_replacements_and_creations(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    old: dict[str, Any] = {"Resources": {"A": custom(Generation=1), "B": custom(Generation=1, Name="b1")}}
    driver.create_stack(old)
    new: dict[str, Any] = {
        "Resources": {
            "A": custom(Generation=2),  # replaced
            "N": custom(),  # created
            "B": custom(Generation=1, Name="b2", FailOn="Update"),  # fails
        }
    }
    stack = driver.update_stack(new)
    assert calls(driver)[2:] == [
        ("Update", "A", "fake-A-1"),
        ("Create", "N", ""),
        ("Update", "B", "fake-B-1"),  # FAILED
        ("Update", "B", "fake-B-1"),  # rollback: back to the old properties
        ("Delete", "N", "fake-N-0"),  # cleanup: what the failed update created
        ("Delete", "A", "fake-A-2"),  # cleanup: the replacement, not the original
    ]
    rollback = driver.requests[5].event
    assert rollback["ResourceProperties"] == stringify(
        {"ServiceToken": driver.exports[EXPORT], "Generation": 1, "Name": "b1"}
    )
    assert rollback["OldResourceProperties"]["Name"] == "b2"
    assert driver.requests[5].phase == "UPDATE_ROLLBACK_IN_PROGRESS"
    assert {r.phase for r in driver.requests[6:]} == {"UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"}
    assert driver.requests[7].event["ResourceProperties"]["Generation"] == "2"
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert {lid: r.physical_id for lid, r in stack.resources.items()} == {"A": "fake-A-1", "B": "fake-B-1"}
    assert stack.resources["A"].properties["Generation"] == "1"
    assert stack.resources["A"].data["Arn"].endswith("fake-A-1")
    assert driver.violations == []
    # the stack is usable again: the same update without the failure goes through
    del new["Resources"]["B"]["Properties"]["FailOn"]
    assert driver.update_stack(new).status == "UPDATE_COMPLETE"
    assert driver.violations == []


def test_failed_rollback_and_refused_service_token_change(
    make_driver: Callable[..., StackDriver], make_function: Callable[..., LambdaFunction]
) -> None:
    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom(FailOn="Update")}})
    stack = driver.update_stack({"Resources": {"A": custom(FailOn="Update", Name="x")}})
    assert [r.status for r in driver.requests[1:]] == ["FAILED", "FAILED"]
    assert stack.status == "UPDATE_ROLLBACK_FAILED"

    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom()}})
    other = make_function(function_name="other-provider")
    driver.register(other, export_name="other-token")
    tmpl = {"Resources": {"A": custom(ServiceToken={"Fn::ImportValue": "other-token"})}}
    stack = driver.update_stack(tmpl)
    assert len(driver.requests) == 1 and stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "Modifying service token is not allowed." in stack.status_reason


# ------------------------------------------------------------------------------------------------
# StackDriver: polling, faults, duplicates, timeouts, protocol checks


def test_polling_rule_is_fired_until_the_answer(make_driver: Callable[..., StackDriver], tmp_path: Path) -> None:
    driver = make_driver()
    stack = driver.create_stack({"Resources": {"A": custom(Polls=2)}})
    rec = driver.requests[0]
    assert stack.status == "CREATE_COMPLETE" and rec.polls == 2 and len(rec.invocations) == 3
    assert rec.invocations[1].event["CrHelperPoll"] is True
    assert rec.invocations[1].event["RequestId"] == rec.request_id
    assert list(tmp_path.glob("*.json")) == []  # the rule is gone
    assert driver.timeline[1].polls == 2 and driver.violations == []

    sleeps: list[float] = []
    driver = make_driver(poll_mode="realtime", sleep=sleeps.append)
    assert driver.create_stack({"Resources": {"A": custom(Polls=1)}}).status == "CREATE_COMPLETE"
    assert sleeps == [60]  # rate(1 minute): each poll waits for the schedule

    driver = make_driver(max_polls=2)
    stack = driver.create_stack({"Resources": {"A": custom(Polls=50)}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert any("no answer (still polling after 2 polls" in v for v in driver.violations)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_response_faults_are_retried_by_the_provider(
    make_driver: Callable[..., StackDriver], server: ResponseServer, kind: Any
) -> None:
    driver = make_driver()
    server.fail_next(2, kind)
    stack = driver.create_stack({"Resources": {"A": custom()}})
    rec = driver.requests[0]
    assert stack.status == "CREATE_COMPLETE" and driver.violations == []
    assert [a["outcome"] for a in server.attempts(rec.request_id)] == [f"fault:{kind}"] * 2 + ["delivered"]
    assert len(rec.answers) == 1


def test_refused_response_url_means_no_answer(make_driver: Callable[..., StackDriver], server: ResponseServer) -> None:
    driver = make_driver()
    server.fail_next(1, "403")  # a refused pre-signed URL is not retried: the answer never arrives
    stack = driver.create_stack({"Resources": {"A": custom()}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert calls(driver)[1][0] == "Delete" and calls(driver)[1][2].startswith("tdg-stack-A-")  # made-up id
    assert len(driver.violations) == 1 and "no answer" in driver.violations[0]


def test_duplicate_delivery(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver(deliver_twice=True)
    assert driver.create_stack({"Resources": {"A": custom()}}).status == "CREATE_COMPLETE"
    assert len(driver.requests[0].invocations) == 2 and len(driver.requests[0].answers) == 2
    assert driver.violations == []  # answering twice identically is fine

    driver = make_driver(deliver_twice=True)
    driver.create_stack({"Resources": {"A": custom(RandomPid=True)}})
    assert any("answers that differ" in v for v in driver.violations)


def test_errors_are_retried_only_when_asked_and_timeouts_fail(
    make_driver: Callable[..., StackDriver], make_function: Callable[..., LambdaFunction]
) -> None:
    driver = make_driver(retry_on_error=True)
    stack = driver.create_stack({"Resources": {"A": custom(RaiseOn="Create")}})
    rec = driver.requests[0]
    assert len(rec.invocations) == 3 and all(i.error for i in rec.invocations)
    assert stack.status == "ROLLBACK_COMPLETE" and calls(driver)[1][0] == "Delete"
    assert any("no answer" in v for v in driver.violations)
    assert any("raised RuntimeError" in w for w in driver.warnings)

    driver = make_driver(make_function(timeout_s=1))
    stack = driver.create_stack({"Resources": {"A": custom(SleepOn="Create", Sleep=5)}})
    rec = driver.requests[0]
    assert len(rec.invocations) == 1 and rec.invocations[0].timed_out
    assert rec.invocations[0].duration_s < 5  # cut short of its 5 s sleep
    assert stack.status == "ROLLBACK_COMPLETE" and rec.status == "FAILED"
    assert any("no answer" in v for v in driver.violations)


def test_crashed_invocation_is_redelivered_and_the_retry_answers(
    make_driver: Callable[..., StackDriver], make_function: Callable[..., LambdaFunction], server: ResponseServer
) -> None:
    # The first invocation is killed (out of memory) 1.5 s in: late enough that even a loaded machine has
    # started it and let it log, early enough to cut its 4 s sleep short.
    fn = make_function(crash_after_s=1.5)
    driver = make_driver(fn, retry_on_error=True)
    stack = driver.create_stack({"Resources": {"A": custom(SleepOn="Create", Sleep=4)}})
    rec = driver.requests[0]
    first, retry = rec.invocations
    assert first.crashed and first.failed and first.exit_code == -signal.SIGKILL
    assert first.error is not None and first.error["errorType"] == "Runtime.ExitError"
    assert first.error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert 1.5 <= first.duration_s < 4 and first.result is None  # killed before its 4 s sleep ended
    assert '"message": "event"' in first.logs and "Runtime.ExitError" in first.logs  # it ran, then was killed
    assert retry.event == first.event and not retry.crashed and retry.error is None
    assert retry.result == {"answered": "SUCCESS", "PhysicalResourceId": "fake-A-0"}
    # only the retry answered, after the crash
    assert [a["outcome"] for a in server.attempts(rec.request_id)] == ["delivered"]
    assert len(rec.answers) == 1 and rec.answers[0]["received_at"] > first.ended_at
    assert stack.status == "CREATE_COMPLETE" and rec.status == "SUCCESS" and driver.violations == []
    assert any("raised Runtime.ExitError" in w for w in driver.warnings)
    assert [i.crashed for i in fn.invocations] == [True, False]

    # more crashes than Lambda's two retries: no answer; later invocations (the rollback Delete) run normally
    fn = make_function(crash_after_s=0.5, crash_count=3)
    driver = make_driver(fn, retry_on_error=True)
    stack = driver.create_stack({"Resources": {"A": custom(SleepOn="Create", Sleep=2)}})
    assert [i.crashed for i in driver.requests[0].invocations] == [True, True, True]
    assert stack.status == "ROLLBACK_COMPLETE" and calls(driver)[1][0] == "Delete"
    assert driver.requests[1].status == "SUCCESS" and not driver.requests[1].invocations[0].failed
    assert any("no answer" in v for v in driver.violations)

    with pytest.raises(ValueError, match="crash_after_s"):
        make_function(crash_after_s=0)


# ------------------------------------------------------------------------------------------------
# StackDriver: parallel resources


def window(rec: RequestRecord) -> tuple[float, float]:
    """When the request's (single) invocation started and ended."""
    (inv,) = rec.invocations
    return inv.started_at, inv.ended_at


def test_parallel_resources_start_when_their_dependencies_are_done(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver(parallel=True)
    leaves = [f"R{i}" for i in range(8)]
    resources = {lid: custom(SleepOn="Create,Delete", Sleep=1) for lid in leaves}
    resources["All"] = custom(
        Names={"Fn::Join": [",", [{"Ref": lid} for lid in leaves[:4]]]},
        Arn={"Fn::GetAtt": ["R4", "Arn"]},
        Where={"Fn::Sub": "${R5}/${R6.Name}"},
    )
    resources["All"]["DependsOn"] = ["R7"]
    stack = driver.create_stack({"Resources": resources})
    assert stack.status == "CREATE_COMPLETE", driver.format_timeline()
    assert [r.logical_id for r in driver.requests][-1] == "All"
    creates = {r.logical_id: window(r) for r in driver.requests}
    # the 8 independent resources ran at the same time: each started before any of them ended
    assert max(creates[lid][0] for lid in leaves) < min(creates[lid][1] for lid in leaves)
    # the one depending on all of them started after the last one ended
    assert creates["All"][0] >= max(creates[lid][1] for lid in leaves)
    assert driver.requests[-1].event["ResourceProperties"]["Where"] == "fake-R5-0/"

    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE" and stack.resources == {}
    deletes = driver.requests[len(leaves) + 1 :]
    assert [r.request_type for r in deletes] == ["Delete"] * 9 and deletes[0].logical_id == "All"
    ends = {r.logical_id: window(r) for r in deletes}
    assert min(ends[lid][0] for lid in leaves) >= ends["All"][1]  # reverse dependency order
    assert max(ends[lid][0] for lid in leaves) < min(ends[lid][1] for lid in leaves)  # then all 8 at once
    assert [r.t for r in driver.timeline] == sorted(r.t for r in driver.timeline)
    assert driver.violations == [] and driver.warnings == []


def test_parallel_failure_starts_nothing_new_and_rolls_back_in_reverse_order(
    make_driver: Callable[..., StackDriver],
) -> None:
    driver = make_driver(parallel=True)
    tmpl = {
        "Resources": {
            "Base": custom(),
            "Slow": custom(After={"Ref": "Base"}, SleepOn="Create,Delete", Sleep=1),
            "Bad": custom(After={"Ref": "Base"}, FailOn="Create", Generation=7),
            "Later": custom(After={"Ref": "Slow"}),  # ready once Slow is done, but Bad has failed by then
        }
    }
    stack = driver.create_stack(tmpl)
    assert stack.status == "ROLLBACK_COMPLETE" and stack.resources == {}
    assert "Bad: requested failure on Create" in stack.status_reason
    by_call = {(r.request_type, r.logical_id): r for r in driver.requests}
    assert set(by_call) == {
        ("Create", "Base"), ("Create", "Slow"), ("Create", "Bad"),
        ("Delete", "Base"), ("Delete", "Slow"), ("Delete", "Bad"),
    }  # fmt: skip
    slow, bad = by_call["Create", "Slow"], by_call["Create", "Bad"]
    assert window(bad)[0] < window(slow)[1] and window(bad)[1] < window(slow)[1]  # Slow was in flight: it finished
    assert slow.status == "SUCCESS" and bad.status == "FAILED"
    assert by_call["Delete", "Bad"].event["PhysicalResourceId"] == "fake-Bad-7"
    assert by_call["Delete", "Base"].phase == "ROLLBACK_IN_PROGRESS"
    assert window(by_call["Delete", "Base"])[0] >= max(window(by_call["Delete", lid])[1] for lid in ("Slow", "Bad"))
    assert driver.violations == []


def test_parallel_update_rollback_and_cleanup(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver(parallel=True)
    driver.create_stack({"Resources": {"A": custom(Generation=1), "B": custom(Generation=1, Name="b1")}})
    new: dict[str, Any] = {
        "Resources": {
            "A": custom(Generation=2),  # replaced
            "N": custom(),  # created
            "B": custom(Generation=1, Name="b2", FailOn="Update"),  # fails
        }
    }

    def phases(since: int) -> dict[str, set[tuple[str, str, str]]]:
        out: dict[str, set[tuple[str, str, str]]] = {}
        for rec, call in zip(driver.requests[since:], calls(driver)[since:], strict=True):
            out.setdefault(rec.phase, set()).add(call)
        return out

    stack = driver.update_stack(new)
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE", driver.format_timeline()
    assert phases(2) == {
        "UPDATE_IN_PROGRESS": {("Update", "A", "fake-A-1"), ("Create", "N", ""), ("Update", "B", "fake-B-1")},
        "UPDATE_ROLLBACK_IN_PROGRESS": {("Update", "B", "fake-B-1")},
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": {("Delete", "N", "fake-N-0"), ("Delete", "A", "fake-A-2")},
    }
    assert {lid: r.physical_id for lid, r in stack.resources.items()} == {"A": "fake-A-1", "B": "fake-B-1"}

    del new["Resources"]["B"]["Properties"]["FailOn"]
    count = len(driver.requests)
    assert driver.update_stack(new).status == "UPDATE_COMPLETE"
    assert phases(count)["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"] == {("Delete", "A", "fake-A-1")}
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert driver.violations == []


def test_protocol_checks(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    stack = driver.create_stack({"Resources": {"A": custom(BigData=5000)}})
    rec = driver.requests[0]
    assert rec.answers[0]["raw_length"] > 4096
    assert rec.status == "FAILED" and rec.reason == "Response object is too long."
    assert calls(driver)[1] == ("Delete", "A", "fake-A-0")
    # the rollback Delete answers the same oversized Data: it fails too, and the resource stays behind
    assert stack.status == "ROLLBACK_FAILED" and stack.resources["A"].status == "DELETE_FAILED"
    assert sum("over the 4096-byte limit" in v for v in driver.violations) == 2

    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom(DeletePid="something-else")}})
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert any("Delete answered PhysicalResourceId 'something-else'" in v for v in driver.violations)

    driver = make_driver()
    driver.create_stack({"Resources": {"A": custom(LeakUrl=True)}})
    assert any("signature appears in the function's logs" in v for v in driver.violations)

    driver = make_driver()
    stack = driver.create_stack({"Resources": {"A": custom(), "B": custom(X={"Fn::GetAtt": ["A", "Missing"]})}})
    assert stack.status == "ROLLBACK_COMPLETE" and calls(driver) == [("Create", "A", ""), ("Delete", "A", "fake-A-0")]
    assert any("!GetAtt A.Missing" in v for v in driver.violations)


# ------------------------------------------------------------------------------------------------
# StackDriver: a YAML template with parameters, conditions and every supported intrinsic

STACK_YAML = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ProviderStackName: {Type: String}
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Regions: {Type: CommaDelimitedList, Default: "us-east-1,us-west-2"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
Resources:
  Instance:
    Type: Custom::Fake
    Properties:
      ServiceToken: !ImportValue
        Fn::Sub: "${ProviderStackName}-ServiceToken"
      Name: !Sub "${AWS::StackName}-${Env}-instance"
      Replica: !Select [1, !Ref Regions]
  Group:
    Type: Custom::TrafficDistributionGroup
    DependsOn: Queue
    Properties:
      ServiceToken: !ImportValue
        Fn::Sub: "${ProviderStackName}-ServiceToken"
      InstanceId: !GetAtt Instance.Arn
      Name: !Join ["-", [!Ref "AWS::Region", !Ref Instance]]
      Description: !If [IsProd, "production", !Ref "AWS::NoValue"]
      Size: !If [IsDev, 2, 10]
      Where: !Sub "${AWS::AccountId}/${AWS::Partition}/${Queue}"
  ProdOnly:
    Type: Custom::Fake
    Condition: IsProd
    Properties:
      ServiceToken: !ImportValue provider-ServiceToken
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  GroupArn:
    Value: !GetAtt Group.Arn
  Env:
    Value: !Ref Env
    Condition: IsDev
"""


def test_yaml_template_intrinsics_end_to_end(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    stack = driver.create_stack(STACK_YAML, {"ProviderStackName": "provider"})
    assert stack.status == "CREATE_COMPLETE", driver.format_timeline()
    assert [r.logical_id for r in driver.requests] == ["Instance", "Group"]
    assert driver.requests[0].event["ResourceProperties"]["Name"] == "tdg-stack-dev-instance"
    assert driver.requests[0].event["ResourceProperties"]["Replica"] == "us-west-2"
    group = driver.requests[1].event
    assert group["ResourceType"] == "Custom::TrafficDistributionGroup"
    assert group["ResourceProperties"] == {
        "ServiceToken": driver.exports[EXPORT],
        "InstanceId": "arn:aws:fake:us-east-1:123456789012:thing/fake-Instance-0",
        "Name": "us-east-1-fake-Instance-0",
        "Size": "2",
        "Where": "123456789012/aws/<not-emulated>:Queue",
    }
    assert stack.outputs == {"GroupArn": "arn:aws:fake:us-east-1:123456789012:thing/fake-Group-0", "Env": "dev"}
    assert stack.ignored == ["Queue"]
    notes = {(r.logical_id, r.status) for r in driver.timeline}
    assert ("Queue", "IGNORED") in notes and ("ProdOnly", "SKIPPED") in notes

    # switching the condition: ProdOnly is created, Group is updated (Description appears, Size changes)
    stack = driver.update_stack(STACK_YAML, {"ProviderStackName": "provider", "Env": "prod"})
    assert stack.status == "UPDATE_COMPLETE", driver.format_timeline()
    assert [(r.request_type, r.logical_id) for r in driver.requests[2:]] == [
        ("Update", "Instance"), ("Create", "ProdOnly"), ("Update", "Group"),  # Group waits for Queue (DependsOn)
    ]  # fmt: skip
    group = driver.requests[4].event
    assert group["ResourceProperties"]["Description"] == "production" and group["ResourceProperties"]["Size"] == "10"
    assert "Description" not in group["OldResourceProperties"] and group["OldResourceProperties"]["Size"] == "2"
    assert stack.outputs == {"GroupArn": "arn:aws:fake:us-east-1:123456789012:thing/fake-Group-0"}
    assert driver.violations == []

    with pytest.raises(StackOperationError, match="AllowedValues"):
        driver.update_stack(STACK_YAML, {"ProviderStackName": "provider", "Env": "qa"})
    with pytest.raises(StackOperationError, match="must have values"):
        make_driver().create_stack(STACK_YAML)
    with pytest.raises(StackOperationError, match="already exists"):
        driver.create_stack(STACK_YAML, {"ProviderStackName": "provider"})


def test_function_protocol_accepts_test_doubles() -> None:
    """StackDriver needs only ``arn`` and ``invoke``: a double that never answers is reported, not hung on."""

    class Silent:
        arn = "arn:aws:lambda:us-east-1:123456789012:function:silent"

        def invoke(self, event: Mapping[str, Any]) -> Any:
            from local.runtime import Invocation

            return Invocation(request_id="r", event=dict(event))

    class Urls:
        def url_for(self, request_id: str, stack_id: str, logical_id: str) -> str:
            return f"https://localhost:1/{request_id}"

        def answers(self, request_id: str) -> list[dict[str, Any]]:
            return []

        def secrets(self) -> list[str]:
            return []

    driver = StackDriver(Urls(), [Silent()])
    stack = driver.create_stack(
        {
            "Resources": {
                "A": {"Type": "AWS::CloudFormation::CustomResource", "Properties": {"ServiceToken": Silent.arn}}
            }
        }
    )
    assert stack.status == "ROLLBACK_FAILED"  # the rollback Delete is not answered either
    assert [r.request_type for r in driver.requests] == ["Create", "Delete"]
    assert driver.requests[1].event["PhysicalResourceId"].startswith("tdg-stack-A-")
    assert len(driver.violations) == 2 and all("no answer" in v for v in driver.violations)


# ------------------------------------------------------------------------------------------------
# StackDriver: native AWS::Connect::PhoneNumber against the emulator, DeletionPolicy / UpdateReplacePolicy


@pytest.fixture
def connect_emulator() -> Iterator[tuple[Any, str]]:
    """A started emulator with a replicated instance and an ACTIVE traffic distribution group in it."""
    from local.emulator import Emulator

    with Emulator(creation_delay=0, deletion_delay=0, update_delay=0) as emu:
        instance = emu.add_instance(home_region="us-east-1", replica_region="us-west-2")
        import boto3

        connect = boto3.session.Session().client(
            "connect",
            region_name="us-east-1",
            endpoint_url=emu.endpoint_url,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="not-a-secret",
        )
        group = connect.create_traffic_distribution_group(Name="calls", InstanceId=instance)["Arn"]
        yield emu, group
        assert emu.internal_errors() == []


def phone_number(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::Connect::PhoneNumber", "Properties": {"CountryCode": "US", "Type": "DID", **props}}


def test_native_phone_number_is_claimed_updated_replaced_and_released(
    make_driver: Callable[..., StackDriver], connect_emulator: tuple[Any, str]
) -> None:
    emu, group = connect_emulator
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    tmpl: dict[str, Any] = {
        "Parameters": {"GroupArn": {"Type": "String"}},
        "Resources": {
            "Number": phone_number(
                TargetArn={"Ref": "GroupArn"}, Description="main line", Tags=[{"Key": "team", "Value": "voice"}]
            ),
            "Uses": custom(Arn={"Ref": "Number"}, Address={"Fn::GetAtt": ["Number", "Address"]}),
        },
        "Outputs": {"Address": {"Value": {"Fn::GetAtt": ["Number", "Address"]}}},
    }
    stack = driver.create_stack(tmpl, {"GroupArn": group})
    assert stack.status == "CREATE_COMPLETE", driver.format_timeline()
    (claimed,) = emu.phone_numbers()
    assert (claimed["TargetArn"], claimed["Description"], claimed["Tags"]) == (group, "main line", {"team": "voice"})
    assert re.fullmatch(r"\+1555\d{7}", claimed["Number"])
    number = stack.resources["Number"]
    assert (number.physical_id, number.data) == (
        claimed["Arn"],
        {"PhoneNumberArn": claimed["Arn"], "Address": claimed["Number"]},
    )
    assert driver.requests[0].event["ResourceProperties"]["Arn"] == claimed["Arn"]  # Ref = PhoneNumberArn
    assert driver.requests[0].event["ResourceProperties"]["Address"] == claimed["Number"]
    assert stack.outputs == {"Address": claimed["Number"]} and stack.ignored == []
    assert [c["operation"] for c in emu.calls()][-2:] == ["ClaimPhoneNumber", "DescribePhoneNumber"]
    assert emu.calls("ClaimPhoneNumber")[0]["region"] == "us-east-1"  # the Region of the TargetArn

    # Description changes in place: no call, same number
    before = len(emu.calls())
    tmpl["Resources"]["Number"]["Properties"]["Description"] = "new words"
    stack = driver.update_stack(tmpl, {"GroupArn": group})
    assert stack.status == "UPDATE_COMPLETE" and len(emu.calls()) == before
    assert stack.resources["Number"].physical_id == claimed["Arn"] and driver.requests[1:] == []

    # Type needs a replacement: a new number first, the old one released in the cleanup
    tmpl["Resources"]["Number"]["Properties"]["Type"] = "TOLL_FREE"
    stack = driver.update_stack(tmpl, {"GroupArn": group})
    assert stack.status == "UPDATE_COMPLETE", driver.format_timeline()
    (toll_free,) = emu.phone_numbers()
    assert re.fullmatch(r"\+1800555\d{4}", toll_free["Number"]) and toll_free["Arn"] != claimed["Arn"]
    assert [(r.request_type, r.status) for r in driver.native_requests] == [
        ("Create", "SUCCESS"),
        ("Create", "SUCCESS"),
        ("Delete", "SUCCESS"),
    ]
    assert driver.native_requests[2].phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert driver.requests[1].event["ResourceProperties"]["Address"] == toll_free["Number"]  # Uses followed

    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE" and emu.phone_numbers() == []
    assert [c["operation"] for c in emu.calls("ReleasePhoneNumber")] == ["ReleasePhoneNumber"] * 2
    assert driver.violations == []


def test_native_phone_number_failures(
    make_driver: Callable[..., StackDriver], connect_emulator: tuple[Any, str]
) -> None:
    emu, group = connect_emulator
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    missing = group.rsplit("/", 1)[0] + "/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12
    stack = driver.create_stack({"Resources": {"Number": phone_number(TargetArn=missing)}})
    assert stack.status == "ROLLBACK_COMPLETE"
    (rec,) = driver.native_requests  # nothing was claimed, so the rollback has nothing to delete
    assert rec.status == "FAILED" and rec.reason.startswith("ResourceNotFoundException: ")
    assert "Number: ResourceNotFoundException" in stack.status_reason

    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    stack = driver.create_stack({"Resources": {"Number": {"Type": "AWS::Connect::PhoneNumber", "Properties": {}}}})
    assert "required key(s) ['TargetArn', 'CountryCode', 'Type']" in stack.status_reason

    # a later failure rolls the claimed number back
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    tmpl = {
        "Resources": {
            "Number": phone_number(TargetArn=group),
            "Bad": custom(After={"Ref": "Number"}, FailOn="Create"),
        }
    }
    stack = driver.create_stack(tmpl)
    assert stack.status == "ROLLBACK_COMPLETE" and emu.phone_numbers() == []
    assert [(r.request_type, r.phase) for r in driver.native_requests] == [
        ("Create", "CREATE_IN_PROGRESS"),
        ("Delete", "ROLLBACK_IN_PROGRESS"),
    ]

    # TargetArn would need UpdatePhoneNumber, which is not played: the update fails and rolls back
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    driver.create_stack({"Resources": {"Number": phone_number(TargetArn=group)}})
    stack = driver.update_stack({"Resources": {"Number": phone_number(TargetArn=group.replace("calls", "x") + "1")}})
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE" and "UpdatePhoneNumber" in stack.status_reason
    (claimed,) = emu.phone_numbers()
    assert stack.resources["Number"].physical_id == claimed["Arn"]
    assert driver.delete_stack().status == "DELETE_COMPLETE" and emu.phone_numbers() == []


def test_native_types_are_ignored_without_an_endpoint(make_driver: Callable[..., StackDriver]) -> None:
    driver = make_driver()
    stack = driver.create_stack(
        {
            "Resources": {
                "Number": phone_number(TargetArn="arn:aws:connect:us-east-1:123456789012:instance/x"),
                "A": custom(Arn={"Ref": "Number"}),
            }
        }
    )
    assert stack.status == "CREATE_COMPLETE" and stack.ignored == ["Number"]
    assert driver.requests[0].event["ResourceProperties"]["Arn"] == "<not-emulated>:Number"
    assert driver.native_requests == []


def test_deletion_policy_and_update_replace_policy_retain(
    make_driver: Callable[..., StackDriver], connect_emulator: tuple[Any, str]
) -> None:
    emu, group = connect_emulator
    driver = make_driver(native_endpoint_url=emu.endpoint_url)
    kept = dict(custom(Generation=1), DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    tmpl: dict[str, Any] = {
        "Resources": {
            "Kept": kept,
            "Removed": dict(custom(), DeletionPolicy="Retain"),
            "Number": dict(phone_number(TargetArn=group), DeletionPolicy="Retain"),
            "Plain": custom(),
        }
    }
    assert driver.create_stack(tmpl).status == "CREATE_COMPLETE"
    # a replacement keeps the old physical resource (UpdateReplacePolicy), a removal keeps the removed one
    new = copy.deepcopy(tmpl)
    new["Resources"]["Kept"]["Properties"]["Generation"] = 2
    del new["Resources"]["Removed"]
    stack = driver.update_stack(new)
    assert stack.status == "UPDATE_COMPLETE"
    assert [r for r in calls(driver) if r[0] == "Delete"] == []
    assert stack.retained == [("Removed", "fake-Removed-0"), ("Kept", "fake-Kept-1")]
    notes = [(r.logical_id, r.status, r.reason) for r in driver.timeline if r.status == "RETAINED"]
    assert notes == [
        ("Removed", "RETAINED", "DeletionPolicy: Retain: not deleted"),
        ("Kept", "RETAINED", "UpdateReplacePolicy: Retain: not deleted"),
    ]
    stack = driver.delete_stack()
    assert stack.status == "DELETE_COMPLETE" and stack.resources == {}
    assert [r[1] for r in calls(driver) if r[0] == "Delete"] == ["Plain"]
    assert ("Number", emu.phone_numbers()[0]["Arn"]) in stack.retained  # still claimed
    assert ("Kept", "fake-Kept-2") in stack.retained

    # rollback of a failed create: Retain keeps, RetainExceptOnCreate deletes
    driver = make_driver()
    stack = driver.create_stack(
        {
            "Resources": {
                "Keep": dict(custom(), DeletionPolicy="Retain"),
                "Drop": dict(custom(), DeletionPolicy="RetainExceptOnCreate"),
                "Bad": custom(After={"Fn::Join": [",", [{"Ref": "Keep"}, {"Ref": "Drop"}]]}, FailOn="Create"),
            }
        }
    )
    assert stack.status == "ROLLBACK_COMPLETE" and stack.resources == {}
    assert [r[1] for r in calls(driver) if r[0] == "Delete"] == ["Bad", "Drop"]
    assert stack.retained == [("Keep", "fake-Keep-0")]


def test_fn_for_each_expands_one_resource_per_item() -> None:
    template = {
        "Transform": "AWS::LanguageExtensions",
        "Parameters": {"Users": {"Type": "CommaDelimitedList"}},
        "Resources": {
            "Fn::ForEach::Agents": [
                "UserId",
                {"Ref": "Users"},
                {
                    "Agent&{UserId}": {
                        "Type": "Custom::X",
                        "Properties": {"UserId": {"Ref": "UserId"}, "Name": {"Fn::Sub": "a-${UserId}"}},
                    }
                },
            ],
            "Other": {"Type": "Custom::Y", "Properties": {}},
        },
    }
    params = resolve_parameters(template, {"Users": "ab-1,cd-2"})

    expanded = expand_language_extensions(template, params)

    assert expanded["Resources"] == {
        "Agentab1": {"Type": "Custom::X", "Properties": {"UserId": "ab-1", "Name": {"Fn::Sub": "a-ab-1"}}},
        "Agentcd2": {"Type": "Custom::X", "Properties": {"UserId": "cd-2", "Name": {"Fn::Sub": "a-cd-2"}}},
        "Other": {"Type": "Custom::Y", "Properties": {}},
    }
    assert expand_language_extensions({**template, "Transform": []}, params)["Resources"] == template["Resources"]
