"""deploy/stackset.json: template.yaml for StackSets, without the SAM transform, and nothing else changed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from deploy import stackset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml  # here: only the pytest workers that run these tests import cfn-lint (~1 s)

    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))
    return loaded


@pytest.fixture(scope="module")
def packaged() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "deploy" / "stackset.json").read_text())
    return loaded


def test_the_committed_template_is_what_template_yaml_gives() -> None:
    assert stackset.main(["--check"]) == 0, "run `make stackset-template` and commit deploy/stackset.json"


def test_no_transform_is_left(packaged: Mapping[str, Any]) -> None:
    assert "Transform" not in packaged
    assert not [r["Type"] for r in packaged["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    assert "AWS::ServerlessRepo::Application" not in packaged["Metadata"]


def test_the_function_is_the_one_sam_would_make(sam: Mapping[str, Any], packaged: Mapping[str, Any]) -> None:
    source = sam["Resources"]["Function"]["Properties"]
    function = packaged["Resources"]["Function"]

    assert function["Type"] == "AWS::Lambda::Function"
    for key in ("Description", "Handler", "Runtime", "Architectures", "MemorySize", "Timeout", "Role", "Environment"):
        assert function["Properties"][key] == source[key], key
    assert function["Properties"]["TracingConfig"] == {"Mode": source["Tracing"]}
    # Lambda reads code only from a bucket in its own region: one bucket per region of the StackSet.
    assert function["Properties"]["Code"] == {
        "S3Bucket": {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"},
        "S3Key": {"Ref": "CodeKey"},
    }
    invoke_config = packaged["Resources"]["FunctionEventInvokeConfig"]
    assert invoke_config["Properties"] == {
        "FunctionName": {"Ref": "Function"},
        "Qualifier": "$LATEST",
        **source["EventInvokeConfig"],
    }


def test_the_failover_function_keeps_its_condition_and_its_concurrency(
    sam: Mapping[str, Any], packaged: Mapping[str, Any]
) -> None:
    source = sam["Resources"]["FailoverFunction"]
    function = packaged["Resources"]["FailoverFunction"]
    invoke_config = packaged["Resources"]["FailoverFunctionEventInvokeConfig"]

    assert function["Type"] == "AWS::Lambda::Function"
    assert function["Condition"] == invoke_config["Condition"] == source["Condition"] == "FailoverEnabled"
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1
    assert function["Properties"]["Handler"] == source["Properties"]["Handler"] == "failover_app.handler"
    assert function["Properties"]["Environment"] == source["Properties"]["Environment"]
    assert "Condition" not in packaged["Resources"]["FunctionEventInvokeConfig"]


def test_everything_else_is_template_yaml(sam: Mapping[str, Any], packaged: Mapping[str, Any]) -> None:
    functions = {"Function", "FailoverFunction"}
    for logical_id, resource in sam["Resources"].items():
        if logical_id not in functions:
            assert packaged["Resources"][logical_id] == resource, logical_id  # the role and policies above all
    assert set(packaged["Resources"]) == {*sam["Resources"], *(f"{name}EventInvokeConfig" for name in functions)}
    assert packaged["Conditions"] == sam["Conditions"]
    assert packaged["Rules"] == sam["Rules"] and packaged["Mappings"] == sam["Mappings"]
    assert {k: v for k, v in packaged["Parameters"].items() if k in sam["Parameters"]} == sam["Parameters"]


def test_consumers_import_the_service_token_under_the_usual_name(packaged: Mapping[str, Any]) -> None:
    # StackSets name their stacks StackSet-<name>-<id>, so the export name cannot follow the stack name.
    assert packaged["Outputs"]["ServiceToken"]["Export"]["Name"] == {"Ref": "ServiceTokenExportName"}
    from cfnlint.decode import cfn_yaml

    example = cfn_yaml.load(str(ROOT / "examples" / "stack.yaml"))
    default_import = f"{example['Parameters']['ProviderStackName']['Default']}-ServiceToken"
    assert packaged["Parameters"]["ServiceTokenExportName"]["Default"] == default_import


def test_a_sam_property_that_is_not_translated_stops_the_generator(sam: Mapping[str, Any]) -> None:
    changed = json.loads(json.dumps(sam))
    changed["Resources"]["Function"]["Properties"]["Layers"] = ["arn:aws:lambda:us-east-1:1:layer:x:1"]

    with pytest.raises(ValueError, match=r"\['Layers'\] are not translated"):
        stackset.stackset_template(changed)


# --- the deploy commands (make -n prints them without running anything) -----------------------------


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize(("target", "command"), [("deploy", "sam deploy"), ("delete", "sam delete")])
def test_region_is_passed_to_sam(target: str, command: str) -> None:
    assert f"{command} --region eu-central-1" in make("-n", target, "REGION=eu-central-1").stdout
    without = [line for line in make("-n", target, "REGION=").stdout.splitlines() if command in line]
    assert without and all("--region" not in line for line in without)  # SAM's own choice of region


def test_publish_says_what_it_needs_before_building() -> None:
    done = make("publish", "PUBLISH_BUCKET=")

    assert done.returncode == 2
    assert done.stdout.startswith("usage: make publish PUBLISH_BUCKET=")
