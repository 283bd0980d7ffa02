"""A stand-in custom resource provider for the StackDriver tests (stdlib only).

It answers CloudFormation by PUTting to the event's ResponseURL, and behaves according to the resource's
properties (all strings, as CloudFormation sends them):

* ``Generation``: the physical id is ``fake-<LogicalResourceId>-<Generation>``; an Update that changes it
  answers a new physical id (a replacement).
* ``FailOn``: comma-separated request types (``Create``, ``Update``, ``Delete``) answered FAILED.
* ``RaiseOn``: request types for which it raises instead of answering.
* ``SleepOn`` + ``Sleep``: sleep that many seconds first (to run into the function timeout).
* ``Polls``: answer only after that many polling invocations, through a fake EventBridge rule written as a JSON
  file into ``$FAKE_RULES_DIR`` (same shape as the emulator's ``rules()``; the target Input is the event plus
  crhelper's ``CrHelperPoll``/``CrHelperRule``/``CrHelperPermission``/``CrHelperData`` keys).
* ``BigData``: add a Data value of that many characters (to exceed the 4096-byte response limit).
* ``RandomPid``: ``"true"`` puts a random suffix on the physical id (duplicate deliveries then disagree).
* ``DeletePid``: answer Delete with this physical id instead of the request's.
* ``LeakUrl``: ``"true"`` prints the ResponseURL (what a provider must never do).

Delivery: retried up to 5 times on HTTP 5xx and on connection errors (not on 4xx: a pre-signed URL that is
refused will stay refused).
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _types(props: dict[str, Any], key: str) -> set[str]:
    return {t.strip() for t in str(props.get(key, "")).split(",") if t.strip()}


def _put(url: str, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    split = urlsplit(url)
    target = split.path + ("?" + split.query if split.query else "")
    context = ssl.create_default_context()  # trusts $SSL_CERT_FILE, the local server's CA
    for attempt in range(1, 6):
        try:
            conn = http.client.HTTPSConnection(split.netloc, context=context, timeout=10)
            conn.request("PUT", target, body=payload, headers={"Content-Type": "", "Content-Length": str(len(payload))})
            status = conn.getresponse().status
            conn.close()
        except OSError as exc:
            print(f"answer attempt {attempt} failed: {type(exc).__name__}", flush=True)
        else:
            print(f"answer attempt {attempt}: HTTP {status}", flush=True)
            if status < 500:
                return
        time.sleep(0.1)


def _rule_path(name: str) -> Path:
    return Path(os.environ["FAKE_RULES_DIR"]) / f"{name}.json"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    request_type = event["RequestType"]
    props: dict[str, Any] = event.get("ResourceProperties") or {}
    print(
        json.dumps(
            {
                "message": "event",
                "RequestType": request_type,
                "LogicalResourceId": event["LogicalResourceId"],
                "poll": bool(event.get("CrHelperPoll")),
            }
        ),
        flush=True,
    )
    if props.get("LeakUrl") == "true":
        print(f"answering to {event['ResponseURL']}", flush=True)
    if request_type in _types(props, "SleepOn"):
        time.sleep(float(props.get("Sleep", "0")))
    if request_type in _types(props, "RaiseOn"):
        raise RuntimeError(f"requested exception on {request_type}")

    polls = int(props.get("Polls", "0"))
    if polls and request_type != "Delete":
        if not event.get("CrHelperPoll"):
            name = f"{event['LogicalResourceId']}{uuid.uuid4().hex[:8].upper()}"
            arn = f"arn:aws:events:{os.environ['AWS_REGION']}:123456789012:rule/{name}"
            poll_event = dict(
                event, CrHelperPoll=True, CrHelperRule=arn, CrHelperPermission=name, CrHelperData={"remaining": polls}
            )
            rule = {
                "Name": name,
                "Arn": arn,
                "ScheduleExpression": "rate(1 minute)",
                "State": "ENABLED",
                "Region": os.environ["AWS_REGION"],
                "Targets": [{"Id": "1", "Arn": context.invoked_function_arn, "Input": json.dumps(poll_event)}],
            }
            _rule_path(name).write_text(json.dumps(rule))
            return None
        remaining = int(event["CrHelperData"]["remaining"]) - 1
        name = event["CrHelperRule"].rsplit("/", 1)[1]
        if remaining > 0:
            rule = json.loads(_rule_path(name).read_text())
            rule["Targets"][0]["Input"] = json.dumps(dict(event, CrHelperData={"remaining": remaining}))
            _rule_path(name).write_text(json.dumps(rule))
            return None
        _rule_path(name).unlink()

    generation = str(props.get("Generation", "0"))
    pid = f"fake-{event['LogicalResourceId']}-{generation}"
    if request_type == "Update":
        old_generation = str((event.get("OldResourceProperties") or {}).get("Generation", "0"))
        if old_generation == generation:
            pid = event["PhysicalResourceId"]
    if request_type == "Delete":
        pid = props.get("DeletePid") or event["PhysicalResourceId"]
    if props.get("RandomPid") == "true" and request_type == "Create":
        pid += "-" + uuid.uuid4().hex[:8]

    failed = request_type in _types(props, "FailOn")
    data: dict[str, Any] = {
        "Arn": f"arn:aws:fake:{os.environ['AWS_REGION']}:123456789012:thing/{pid}",
        "Name": str(props.get("Name", "")),
        "Generation": generation,
    }
    if "BigData" in props:
        data["Blob"] = "x" * int(props["BigData"])
    body = {
        "Status": "FAILED" if failed else "SUCCESS",
        "Reason": f"requested failure on {request_type}" if failed else "",
        "PhysicalResourceId": pid,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": {} if failed else data,
    }
    _put(event["ResponseURL"], body)
    return {"answered": body["Status"], "PhysicalResourceId": pid}


def env_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports what the function sees: environment, context, working directory, sys.path."""
    first = context.get_remaining_time_in_millis()
    time.sleep(float(event.get("sleep", 0)))
    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "sys_path0": sys.path[0],
        "remaining_first": first,
        "remaining_after": context.get_remaining_time_in_millis(),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        },
    }


def raising_handler(event: dict[str, Any], context: Any) -> None:
    raise ValueError("boom")


_INVOCATIONS: list[str] = []  # request ids this process has served: module state a warm environment keeps


def warm_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports the process and the invocations it served before; ``raise``, ``sleep`` and ``tick_file`` (a
    daemon thread appends the time to that file every 20 ms, and runs on after the handler returns)."""
    _INVOCATIONS.append(context.aws_request_id)
    if event.get("tick_file"):
        path = Path(event["tick_file"])

        def tick() -> None:
            while True:
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(f"{time.time()}\n")
                time.sleep(0.02)

        threading.Thread(target=tick, daemon=True).start()
    time.sleep(float(event.get("sleep", 0)))
    if event.get("raise"):
        raise RuntimeError("asked to raise")
    return {
        "pid": os.getpid(),
        "served": list(_INVOCATIONS),
        "log_stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
        "context_log_stream": context.log_stream_name,
    }
