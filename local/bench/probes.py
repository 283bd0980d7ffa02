"""Measurements that need a process of their own: ``python -m local.bench.probes rss|warm ...``.

* ``rss ENDPOINT CA_PEM`` (event JSON on stdin): one invocation of the real handler through
  :class:`LambdaFunction`; prints the invocation subprocess's peak RSS. It is this probe's only child, so
  ``RUSAGE_CHILDREN`` is exactly that process.
* ``warm N``: imports ``src/handler/app.py`` in this process, against an in-process emulator (groups ACTIVE at
  once) and ResponseServer, calls ``app.handler`` once to warm up and then N times with fresh RequestIds;
  prints the handler's wall time per call and the Connect calls per Create.
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

from local.cloudformation import LOCAL_RESPONSE_HOSTS, LambdaFunction, ResponseServer
from local.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
HANDLER_DIR = ROOT / "src" / "handler"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/00000000-0000-0000-0000-000000000000"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:connect-tdg-provider"


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


class _Context:
    function_name = "connect-tdg-provider"
    function_version = "$LATEST"
    invoked_function_arn = FUNCTION_ARN
    memory_limit_in_mb = 128
    log_group_name = "/aws/lambda/connect-tdg-provider"
    log_stream_name = "bench"

    def __init__(self, timeout_s: float = 900) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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
            app.handler(event, _Context())
            elapsed = time.perf_counter() - started
            answer = server.answers(event["RequestId"])
            failures += not answer or (answer[0]["body"] or {}).get("Status") != "SUCCESS"
            if i:  # the first call warms up
                durations.append(elapsed)
                connect_calls.append(len(emulator.calls(service="connect")))
    return {"durations_s": durations, "connect_calls": connect_calls, "failures": failures}


def main(argv: list[str]) -> None:
    kind, args = argv[0], argv[1:]
    result = rss(args[0], args[1]) if kind == "rss" else warm(int(args[0]))
    Path(os.environ["BENCH_RESULT_FILE"]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
