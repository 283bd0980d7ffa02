"""The real handler, in its own process, answers only where CloudFormation listens (ALLOWED_RESPONSE_HOSTS)."""

from __future__ import annotations

import json
import uuid

from local.cloudformation import ResponseServer
from local.emulator import Emulator
from local.runtime import LambdaFunction
from tests.e2e.conftest import HANDLER_DIR

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/consumer/5b3f"


def create_event(server: ResponseServer, function: LambdaFunction, instance: str) -> dict[str, object]:
    request_id = str(uuid.uuid4())
    properties = {"ServiceToken": function.arn, "Name": "refused", "InstanceId": instance}
    return {
        "RequestType": "Create",
        "ServiceToken": function.arn,
        "ResponseURL": server.url_for(request_id, STACK_ID, "Tdg"),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Tdg",
        "ResourceType": "Custom::TrafficDistributionGroup",
        "ResourceProperties": properties,
    }


def test_the_local_server_is_refused_under_the_default_hosts(
    emu: Emulator, server: ResponseServer, instance: str
) -> None:
    # An empty ALLOWED_RESPONSE_HOSTS means CloudFormation's own hosts, as in a deployed function.
    function = LambdaFunction(
        HANDLER_DIR,
        env={"AWS_ENDPOINT_URL": emu.endpoint_url, "SSL_CERT_FILE": server.ca_pem_path, "ALLOWED_RESPONSE_HOSTS": ""},
        timeout_s=30,
    )
    event = create_event(server, function, instance)
    calls_before = len(emu.calls(service="connect"))

    invocation = function.invoke(event)

    assert not invocation.failed, invocation.logs
    assert server.attempts(str(event["RequestId"])) == []
    assert emu.calls(service="connect")[calls_before:] == []
    errors = [json.loads(line) for line in invocation.logs.splitlines() if '"level":"ERROR"' in line]
    assert [e["response_host"] for e in errors] == ["localhost"]
    assert all(secret not in invocation.logs for secret in server.secrets())
    assert "cloudformation-custom-resource-response" not in invocation.logs  # the URL's path
