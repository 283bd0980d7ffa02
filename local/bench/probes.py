"""Measurements that need a process of their own: ``python -m local.bench.probes rss|warm ...``.

* ``rss ENDPOINT CA_PEM`` (event JSON on stdin): one invocation of the real handler through
  :class:`LambdaFunction`; prints the invocation subprocess's peak RSS. It is this probe's only child, so
  ``RUSAGE_CHILDREN`` is exactly that process.
* ``warm N``: imports ``src/handler/app.py`` in this process, against an in-process emulator (groups ACTIVE at
  once) and ResponseServer, calls ``app.handler`` once to warm up and then N times with fresh RequestIds;
  prints the handler's wall time per call and the Connect calls per Create.
* ``failover N``: the provider of a group stack deployed in us-west-2 (``AWS_REGION``), warm: imports
  ``app`` once, handles one Create to warm up, then N times creates a group (all traffic in us-east-1), takes
  us-east-1 down (HTTP 503) and times the Update event that moves all traffic to us-west-2, handled in-process:
  event → UpdateTrafficDistribution accepted by the emulator, and event → answer.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from local.cloudformation import ResponseServer, stringify
from local.emulator import Emulator
from local.runtime import LOCAL_RESPONSE_HOSTS, LambdaContext, LambdaFunction

ROOT = Path(__file__).resolve().parents[2]
HANDLER_DIR = ROOT / "src" / "handler"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/00000000-0000-0000-0000-000000000000"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:connect-tdg-provider"
HOME, REPLICA = "us-east-1", "us-west-2"


def group_properties(name: str, instance_arn: str, home_percentage: int) -> dict[str, Any]:
    """A group's template properties (no ServiceToken): calls and agents split home / replica, one tag."""
    split = {
        "Distributions": [
            {"Region": HOME, "Percentage": home_percentage},
            {"Region": REPLICA, "Percentage": 100 - home_percentage},
        ]
    }
    return {
        "Name": name,
        "InstanceId": instance_arn,
        "TelephonyConfig": split,
        "AgentConfig": split,
        "Tags": [{"Key": "team", "Value": "voice"}],
    }


def create_event(server: ResponseServer, instance_arn: str, name: str) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    return {
        "RequestType": "Create",
        "ServiceToken": FUNCTION_ARN,
        "ResponseURL": server.url_for(request_id, STACK_ID, "Tdg"),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Tdg",
        "ResourceType": "Custom::TrafficDistributionGroup",
        "ResourceProperties": {"ServiceToken": FUNCTION_ARN, "Name": name, "InstanceId": instance_arn},
    }


def rss(endpoint: str, ca_pem: str) -> dict[str, Any]:
    function = LambdaFunction(HANDLER_DIR, timeout_s=900, ssl_cert_file=ca_pem, endpoint_url=endpoint)
    invocation = function.invoke(json.load(sys.stdin))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    return {"peak_rss_mb": peak_kb / 1024, "failed": invocation.failed, "duration_s": invocation.duration_s}


def warm(count: int) -> dict[str, Any]:
    with Emulator(creation_delay=0, group_quota=10_000) as emulator, ResponseServer() as server:
        instance_arn = emulator.add_instance(home_region="us-east-1", replica_region="us-west-2")
        os.environ.update(
            AWS_ENDPOINT_URL=emulator.endpoint_url,
            SSL_CERT_FILE=server.ca_pem_path,
            ALLOWED_RESPONSE_HOSTS=LOCAL_RESPONSE_HOSTS,
        )
        sys.path.insert(0, str(HANDLER_DIR))
        import app  # the handler module, imported only now that the environment is set

        durations: list[float] = []
        connect_calls: list[int] = []
        failures = 0
        for i in range(count + 1):
            event = create_event(server, instance_arn, f"warm-{i}")
            emulator.reset_calls()
            started = time.perf_counter()
            app.handler(event, LambdaContext(log_stream_name="bench"))
            elapsed = time.perf_counter() - started
            answer = server.answers(event["RequestId"])
            failures += not answer or (answer[0]["body"] or {}).get("Status") != "SUCCESS"
            if i:  # the first call warms up
                durations.append(elapsed)
                connect_calls.append(len(emulator.calls(service="connect")))
    return {"durations_s": durations, "connect_calls": connect_calls, "failures": failures}


def failover(count: int) -> dict[str, Any]:
    stack_id = STACK_ID.replace(HOME, REPLICA)
    function_arn = FUNCTION_ARN.replace(HOME, REPLICA)
    with Emulator() as emulator, ResponseServer() as server:
        instance_arn = emulator.add_instance(home_region=HOME, replica_region=REPLICA)
        os.environ.update(
            AWS_ENDPOINT_URL=emulator.endpoint_url,
            SSL_CERT_FILE=server.ca_pem_path,
            AWS_REGION=REPLICA,
            AWS_DEFAULT_REGION=REPLICA,
            ALLOWED_RESPONSE_HOSTS=LOCAL_RESPONSE_HOSTS,
        )
        sys.path.insert(0, str(HANDLER_DIR))
        import app  # the handler module, imported only now that the environment is set

        def send(request_type: str, props: dict[str, Any], **extra: Any) -> tuple[dict[str, Any], float]:
            request_id = str(uuid.uuid4())
            event = {
                "RequestType": request_type,
                "ServiceToken": function_arn,
                "ResponseURL": server.url_for(request_id, stack_id, "Tdg"),
                "StackId": stack_id,
                "RequestId": request_id,
                "LogicalResourceId": "Tdg",
                "ResourceType": "Custom::TrafficDistributionGroup",
                "ResourceProperties": stringify({"ServiceToken": function_arn, **props}),
                **extra,
            }
            started = time.time()
            app.handler(event, LambdaContext(log_stream_name="bench"))
            answers = server.answers(request_id)
            return (answers[0]["body"] or {}) if answers else {}, started

        send("Create", group_properties("warm-failover-warm-up", instance_arn, 100))  # the warm-up invocation
        runs: list[dict[str, Any]] = []
        for run in range(count):
            emulator.set_outage(HOME, None)
            before = group_properties(f"warm-failover-{run}", instance_arn, 100)
            created, _ = send("Create", before)
            if created.get("Status") != "SUCCESS":
                runs.append({"run": run, "ok": False, "reason": f"create: {created.get('Reason')}", "home_calls": 0})
                continue
            group_arn = created["PhysicalResourceId"]
            emulator.set_outage(HOME, "503")
            emulator.reset_calls()
            after = group_properties(f"warm-failover-{run}", instance_arn, 0)
            old = stringify({"ServiceToken": function_arn, **before})
            answer, delivered = send("Update", after, PhysicalResourceId=group_arn, OldResourceProperties=old)
            answers = [a for a in server.answers(answer.get("RequestId", "")) if a["body"]]
            calls = emulator.calls(service="connect")
            accepted = [
                c["time"] for c in calls if c["operation"] == "UpdateTrafficDistribution" and c["status"] == 200
            ]
            group = emulator.group(group_arn)["Distribution"]
            runs.append(
                {
                    "run": run,
                    "ok": answer.get("Status") == "SUCCESS" and bool(accepted),
                    "reason": answer.get("Reason", ""),
                    "accepted_s": accepted[0] - delivered if accepted else None,
                    "answered_s": answers[0]["received_at"] - delivered if answers else None,
                    "home_calls": sum(1 for c in calls if c["region"] == HOME),
                    "calls": [f"{c['operation']}@{c['region']}:{c['status']}" for c in calls],
                    "moved": all(
                        group[config]["Distributions"]
                        == [{"Region": HOME, "Percentage": 0}, {"Region": REPLICA, "Percentage": 100}]
                        for config in ("TelephonyConfig", "AgentConfig")
                    ),
                }
            )
        emulator.set_outage(HOME, None)
    return {"runs": runs}


def main(argv: list[str]) -> None:
    kind, args = argv[0], argv[1:]
    if kind == "rss":
        result = rss(args[0], args[1])
    elif kind == "failover":
        result = failover(int(args[0]))
    else:
        result = warm(int(args[0]))
    Path(os.environ["BENCH_RESULT_FILE"]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
