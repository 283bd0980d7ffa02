"""The provider's SAM template: tied to the code and the examples, and a least-privilege role.

cfn-lint runs over it, the StackSet template and the examples in `make lint` (CI runs both), not again here.

The IAM checks resolve the template's intrinsic functions for a made-up deployment (account, region,
function name, parameter values) and evaluate the role's statements the way IAM would for the calls
the function makes, so that a missing grant, a grant too wide, or a broken condition fails here
rather than in a stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from local.cloudformation.template import Resolver, evaluate_conditions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# A made-up deployment: the provider in eu-west-1, Connect instances elsewhere.
ACCOUNT = "111122223333"
REGION = "eu-west-1"
FUNCTION_NAME = "connect-tdg-provider-Function-AbC123dEf456"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"
LOG_GROUP = f"/aws/lambda/{FUNCTION_NAME}"
LOG_STREAM_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:log-stream:2025/01/01/[$LATEST]abc"
INSTANCE_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/11111111-2222-3333-4444-555555555555"
OTHER_INSTANCE_ARN = f"arn:aws:connect:us-west-2:{ACCOUNT}:instance/99999999-2222-3333-4444-555555555555"
GROUP_ARN = f"arn:aws:connect:us-west-2:{ACCOUNT}:traffic-distribution-group/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ConnectTdgPoll-Tdg-ABCDEFGH"
FAILOVER_NAME = "connect-tdg-provider-FailoverFunction-GhI789jKl012"
FAILOVER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FAILOVER_NAME}"
FAILOVER_LOG_GROUP = f"/aws/lambda/{FAILOVER_NAME}"

GROUP_ACTIONS = [
    "connect:CreateTrafficDistributionGroup",
    "connect:DescribeTrafficDistributionGroup",
    "connect:DeleteTrafficDistributionGroup",
    "connect:GetTrafficDistribution",
    "connect:UpdateTrafficDistribution",
    "connect:TagResource",
    "connect:UntagResource",
]
USER_ACTIONS = ["connect:AssociateTrafficDistributionGroupUser", "connect:DisassociateTrafficDistributionGroupUser"]
NUMBER_FLOW_ACTIONS = ["connect:AssociatePhoneNumberContactFlow", "connect:DisassociatePhoneNumberContactFlow"]
ROUTING_ACTIONS = ["connect:UpdateCrossRegionRouting", "connect:GetCrossRegionRouting"]
NUMBER_ARN = f"arn:aws:connect:us-west-2:{ACCOUNT}:phone-number/7c1e3a52-0000-4b3e-9c6e-000000000001"
FLOW_ARN = f"{INSTANCE_ARN}/contact-flow/f10f10f1-0000-4000-8000-000000000001"
REPLICA_ACTIONS = [
    "connect:ReplicateInstance",
    "connect:DescribeInstance",
    "connect:DeleteInstance",
    "connect:ListTrafficDistributionGroups",
]
SERVICE_LINKED_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect_X"
)
USER_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/11111111-2222-3333-4444-555555555555/agent/abc"
POLLING_RULE_ACTIONS = ["events:PutRule", "events:DeleteRule", "events:RemoveTargets"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
# Everything the role may do. A new action must be added here on purpose (and to docs/iam.md).
ALL_ACTIONS = {
    *GROUP_ACTIONS,
    *USER_ACTIONS,
    "connect:ListTrafficDistributionGroupUsers",
    *NUMBER_FLOW_ACTIONS,
    "connect:DescribePhoneNumber",
    *ROUTING_ACTIONS,
    *REPLICA_ACTIONS,
    "iam:CreateServiceLinkedRole",
    *POLLING_RULE_ACTIONS,
    "events:PutTargets",
    "lambda:AddPermission",
    "lambda:RemovePermission",
    *LOG_ACTIONS,
    *XRAY_ACTIONS,
}
# Services whose actions all support resource-level permissions: "*" is never needed for them.
SCOPED_SERVICES = ("connect:", "events:", "lambda:", "logs:")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml  # here: only the pytest workers that run these tests import cfn-lint (~1 s)

    loaded = cfn_yaml.load(str(TEMPLATE))
    assert isinstance(loaded, dict)
    return loaded


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


# --- the function: the template against the code and the examples -------------------------------------


def test_the_function_runs_the_handler_the_tests_run(template: Mapping[str, Any]) -> None:
    props = template["Resources"]["Function"]["Properties"]
    module, function = props["Handler"].rsplit(".", 1)
    code = ROOT / props["CodeUri"]

    assert code.resolve() == (ROOT / "src" / "handler").resolve()
    assert re.search(rf"^def {function}\(", (code / f"{module}.py").read_text(), re.MULTILINE)


def test_powertools_settings_are_the_codes_defaults_and_only_for_what_it_creates(template: Mapping[str, Any]) -> None:
    variables = template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    code = "\n".join(path.read_text() for path in sorted((ROOT / "src" / "handler").glob("*.py")))

    # Without the variables (locally, in tests) the code logs and counts under the names it has when deployed.
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        assert f'os.environ.get("{name}", "{variables[name]}")' in code
    assert ("Tracer(" in code) == any(name.startswith("POWERTOOLS_TRACE") for name in variables)


def test_async_invocations_are_retried_twice_within_the_longest_service_timeout(
    template: Mapping[str, Any],
) -> None:
    props = template["Resources"]["Function"]["Properties"]
    config = props["EventInvokeConfig"]

    assert config["MaximumRetryAttempts"] == 2
    # The last retry after two timed-out attempts starts ~2 x Timeout + back-off (1 and 2 min) after the
    # event arrived; after 3600 s (the largest ServiceTimeout) CloudFormation no longer waits.
    assert 2 * props["Timeout"] + 3 * 60 <= config["MaximumEventAgeInSeconds"] <= 3600
    assert "DestinationConfig" not in config


def service_tokens(node: Any) -> Iterator[Any]:
    """Every ServiceToken in a template's resources, those of Fn::ForEach included."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "ServiceToken":
                yield value
            else:
                yield from service_tokens(value)
    elif isinstance(node, list):
        for item in node:
            yield from service_tokens(item)


def test_the_examples_import_the_service_token_the_template_exports(template: Mapping[str, Any]) -> None:
    from cfnlint.decode import cfn_yaml

    output = template["Outputs"]["ServiceToken"]
    exported = output["Export"]["Name"]["Fn::Sub"].replace("${AWS::StackName}", "${ProviderStackName}")
    imported = {
        json.dumps(token)
        for path in sorted((ROOT / "examples").glob("*.yaml"))
        for token in service_tokens(cfn_yaml.load(str(path))["Resources"])
    }

    assert output["Value"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert imported == {json.dumps({"Fn::ImportValue": {"Fn::Sub": exported}})}


# --- IAM: resolving the template for one deployment ------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """Values for the template's parameters, conditions and references in one made-up stack."""

    instance_arns: tuple[str, ...] = ()
    tracing: bool = False
    replicas: bool = False
    failover_groups: tuple[str, ...] = ()  # EnableAutomatedFailover when not empty
    alarms: tuple[str, ...] = ()
    topic: str = ""

    def resolver(self, template: Mapping[str, Any]) -> Resolver:
        """The local driver's resolver with this deployment's parameters, its resources' ids and the conditions."""
        physical_ids = {
            "Function": FUNCTION_NAME,
            "FunctionLogGroup": LOG_GROUP,
            "FunctionRole": "connect-tdg-provider-FunctionRole-XYZ",
            "FailoverFunction": FAILOVER_NAME,
            "FailoverLogGroup": FAILOVER_LOG_GROUP,
            "FailoverRole": "connect-tdg-provider-FailoverRole-XYZ",
        }
        attributes = {("Function", "Arn"): FUNCTION_ARN, ("FailoverFunction", "Arn"): FAILOVER_ARN}
        resolver = Resolver(
            parameters={
                "ConnectInstanceArns": list(self.instance_arns) or [""],
                "EnableTracing": "true" if self.tracing else "false",
                "EnableInstanceReplicas": "true" if self.replicas else "false",
                "EnableAutomatedFailover": "true" if self.failover_groups else "false",
                "FailoverGroupArns": list(self.failover_groups) or [""],
                "FailoverAlarmNames": list(self.alarms) or [""],
                "FailoverTopicArn": self.topic,
                "FailoverCooldownMinutes": "10",
            },
            pseudo={
                "AWS::Partition": "aws",
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackName": "connect-tdg-provider",
            },
            resources=physical_ids,
            ref_resource=physical_ids.__getitem__,
            get_att=lambda resource, attribute: attributes[(resource, attribute)],
            mappings=template["Mappings"],
        )
        evaluate_conditions(template, resolver)
        return resolver


DEPLOYMENTS = [
    pytest.param(Deployment(), id="any-instance"),
    pytest.param(Deployment(instance_arns=(INSTANCE_ARN,)), id="pinned-instance"),
    pytest.param(Deployment(tracing=True), id="tracing"),
    pytest.param(Deployment(replicas=True), id="replicas"),
    pytest.param(Deployment(instance_arns=(INSTANCE_ARN,), replicas=True), id="pinned-with-replicas"),
    # The failover function has its own role: the provider's is the same with it.
    pytest.param(Deployment(failover_groups=(GROUP_ARN,), alarms=("a",), topic="t"), id="with-failover"),
]


def policy_documents(template: Mapping[str, Any], role: str, resolver: Resolver) -> Iterator[Any]:
    """The policies of the role ``role`` (a logical id) that this deployment creates: its own, and those attached."""
    made = {
        name: r
        for name, r in template["Resources"].items()
        if "Condition" not in r or resolver.condition(r["Condition"])
    }
    for name, resource in made.items():
        if resource["Type"] == "AWS::IAM::Role":
            assert not resource["Properties"].get("ManagedPolicyArns"), "managed policies are not least privilege"
            if name == role:
                yield from (policy["PolicyDocument"] for policy in resource["Properties"].get("Policies", []))
        if resource["Type"] == "AWS::IAM::RolePolicy" and resource["Properties"]["RoleName"] == {"Ref": role}:
            yield resource["Properties"]["PolicyDocument"]
        assert resource["Type"] != "AWS::IAM::Policy", "attach policies to a role with AWS::IAM::RolePolicy"


def statements(template: Mapping[str, Any], deployment: Deployment, role: str = "FunctionRole") -> list[dict[str, Any]]:
    resolver = deployment.resolver(template)
    found: list[dict[str, Any]] = []
    for document in policy_documents(template, role, resolver):
        resolved = resolver.resolve(document)
        found.extend(resolved["Statement"] if isinstance(resolved["Statement"], list) else [resolved["Statement"]])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def matches(pattern: str, value: str) -> bool:
    """IAM's wildcard match: * is any run of characters (across : and /), ? is one character."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value) is not None


@dataclass
class Request:
    action: str
    resource: str
    context: dict[str, list[str]] = field(default_factory=dict)


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, list[str]]) -> bool:
    wanted = [str(v) for v in as_list(expected)]
    present = context.get(key)
    if operator == "Null":
        return (present is None) == (wanted == ["true"])
    if operator.startswith("ForAllValues:"):
        base = operator.split(":", 1)[1]
        return all(condition_holds(base, key, expected, {key: [v]}) for v in present or [])
    if present is None:
        return False
    if operator == "StringEquals":
        return any(v in wanted for v in present)
    if operator == "ArnEquals":
        return any(matches(w, v) for w in wanted for v in present)
    raise AssertionError(f"condition operator {operator} is not modelled by this test; add it")


def allowed(policy: list[dict[str, Any]], request: Request) -> bool:
    for statement in policy:
        assert statement["Effect"] == "Allow"
        if not any(matches(a, request.action) for a in as_list(statement["Action"])):
            continue
        if not any(matches(r, request.resource) for r in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if all(
            condition_holds(operator, key, expected, request.context)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        ):
            return True
    return False


def calls_the_function_makes(deployment: Deployment) -> list[Request]:
    calls = [Request("connect:CreateTrafficDistributionGroup", INSTANCE_ARN)]
    calls += [Request(action, GROUP_ARN) for action in GROUP_ACTIONS]
    calls += [Request(action, RULE_ARN) for action in POLLING_RULE_ACTIONS]
    calls += [
        Request("events:PutTargets", RULE_ARN, {"events:TargetArn": [FUNCTION_ARN]}),
        Request("lambda:AddPermission", FUNCTION_ARN, {"lambda:Principal": ["events.amazonaws.com"]}),
        Request("lambda:RemovePermission", FUNCTION_ARN),
    ]
    calls += [Request(action, resource) for action in USER_ACTIONS for resource in (GROUP_ARN, INSTANCE_ARN, USER_ARN)]
    calls += [Request("connect:ListTrafficDistributionGroupUsers", GROUP_ARN)]
    calls += [Request(action, arn) for action in NUMBER_FLOW_ACTIONS for arn in (NUMBER_ARN, FLOW_ARN, INSTANCE_ARN)]
    calls += [Request("connect:DescribePhoneNumber", NUMBER_ARN)]
    calls += [Request(action, arn) for action in ROUTING_ACTIONS for arn in (INSTANCE_ARN, OTHER_INSTANCE_ARN)]
    calls += [Request(action, LOG_STREAM_ARN) for action in LOG_ACTIONS]
    if deployment.tracing:
        calls += [Request(action, "*") for action in XRAY_ACTIONS]
    if deployment.replicas:
        calls += [Request(action, arn) for action in REPLICA_ACTIONS for arn in (INSTANCE_ARN, OTHER_INSTANCE_ARN)]
        calls += [
            Request(
                "iam:CreateServiceLinkedRole", SERVICE_LINKED_ROLE, {"iam:AWSServiceName": ["connect.amazonaws.com"]}
            )
        ]
    return calls


# --- IAM: what the role allows ---------------------------------------------------------------------


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_role_allows_every_call_the_function_makes(template: Mapping[str, Any], deployment: Deployment) -> None:
    policy = statements(template, deployment)

    denied = [call for call in calls_the_function_makes(deployment) if not allowed(policy, call)]

    assert denied == []


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_role_grants_no_action_beyond_the_known_list(template: Mapping[str, Any], deployment: Deployment) -> None:
    granted = {action for s in statements(template, deployment) for action in as_list(s["Action"])}

    assert all("*" not in action and "?" not in action for action in granted)
    optional = {*XRAY_ACTIONS, *REPLICA_ACTIONS, "iam:CreateServiceLinkedRole"}
    assert granted <= ALL_ACTIONS
    assert granted >= ALL_ACTIONS - optional
    assert (granted >= set(REPLICA_ACTIONS)) == deployment.replicas


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_no_scoped_service_action_has_a_star_resource(template: Mapping[str, Any], deployment: Deployment) -> None:
    for statement in statements(template, deployment):
        if any(str(a).startswith(SCOPED_SERVICES) for a in as_list(statement["Action"])):
            for resource in as_list(statement["Resource"]):
                assert resource != "*", statement.get("Sid")
                assert f":{ACCOUNT}:" in resource, f"{statement.get('Sid')}: {resource} does not pin the account"


def expected_resources(deployment: Deployment) -> dict[str, set[str]]:
    """The exact Resource of every action: the resource types the Service Authorization Reference names."""
    instances = set(deployment.instance_arns) or {f"arn:aws:connect:*:{ACCOUNT}:instance/*"}
    groups = {f"arn:aws:connect:*:{ACCOUNT}:traffic-distribution-group/*"}
    expected = {action: set(groups) for action in GROUP_ACTIONS}
    expected["connect:CreateTrafficDistributionGroup"] |= instances
    for action in [*POLLING_RULE_ACTIONS, "events:PutTargets"]:
        expected[action] = {f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ConnectTdgPoll-*"}
    for action in ["lambda:AddPermission", "lambda:RemovePermission"]:
        expected[action] = {FUNCTION_ARN}
    for action in LOG_ACTIONS:
        expected[action] = {f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:log-stream:*"}
    for action in USER_ACTIONS:
        expected[action] = groups | {f"arn:aws:connect:*:{ACCOUNT}:instance/*"}
    expected["connect:ListTrafficDistributionGroupUsers"] = set(groups)
    numbers = {f"arn:aws:connect:*:{ACCOUNT}:phone-number/*"}
    for action in NUMBER_FLOW_ACTIONS:
        expected[action] = numbers | {
            f"arn:aws:connect:*:{ACCOUNT}:instance/*/contact-flow/*",
            f"arn:aws:connect:*:{ACCOUNT}:instance/*",
        }
    expected["connect:DescribePhoneNumber"] = set(numbers)
    for action in ROUTING_ACTIONS:
        expected[action] = {f"arn:aws:connect:*:{ACCOUNT}:instance/*"}
    if deployment.tracing:
        expected |= {action: {"*"} for action in XRAY_ACTIONS}
    if deployment.replicas:
        expected |= {action: {f"arn:aws:connect:*:{ACCOUNT}:instance/*"} for action in REPLICA_ACTIONS}
        expected["iam:CreateServiceLinkedRole"] = {
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/connect.amazonaws.com/*"
        }
    return expected


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_each_action_is_granted_on_exactly_its_resource_types(
    template: Mapping[str, Any], deployment: Deployment
) -> None:
    granted: dict[str, set[str]] = {}
    for statement in statements(template, deployment):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(as_list(statement["Resource"]))

    assert granted == expected_resources(deployment)


def test_xray_is_granted_only_with_tracing(template: Mapping[str, Any]) -> None:
    without = statements(template, Deployment())
    with_tracing = statements(template, Deployment(tracing=True))

    assert not any(allowed(without, Request(action, "*")) for action in XRAY_ACTIONS)
    assert all(allowed(with_tracing, Request(action, "*")) for action in XRAY_ACTIONS)


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (Request("events:PutTargets", RULE_ARN, {"events:TargetArn": [FUNCTION_ARN + "2"]}), "another target"),
        (Request("connect:DeleteInstance", INSTANCE_ARN), "replicas are off by default"),
        (Request("connect:ReplicateInstance", INSTANCE_ARN), "replicas are off by default"),
        (
            Request(
                "events:PutTargets", RULE_ARN, {"events:TargetArn": [FUNCTION_ARN, f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"]}
            ),
            "an extra target",
        ),
        (Request("events:PutTargets", RULE_ARN), "a request without targets"),
        (Request("events:PutRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/ConnectTdgPoll-Tdg-A"), "another region"),
        (
            Request("events:DeleteRule", f"arn:aws:events:{REGION}:444455556666:rule/ConnectTdgPoll-x"),
            "another account",
        ),
        (Request("events:PutRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other-teams-rule"), "another team's rule"),
        (
            Request("events:DeleteRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other-teams-rule"),
            "another team's rule",
        ),
        (
            Request("events:RemoveTargets", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other-teams-rule"),
            "another team's rule",
        ),
        (
            Request("lambda:AddPermission", FUNCTION_ARN, {"lambda:Principal": ["s3.amazonaws.com"]}),
            "another principal",
        ),
        (Request("lambda:AddPermission", FUNCTION_ARN, {"lambda:Principal": ["444455556666"]}), "another account"),
        (
            Request(
                "lambda:AddPermission",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other",
                {"lambda:Principal": ["events.amazonaws.com"]},
            ),
            "another function",
        ),
        (Request("lambda:RemovePermission", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other"), "another function"),
        (
            Request("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/other:log-stream:s"),
            "another log group",
        ),
        (
            Request("logs:CreateLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}"),
            "log group creation",
        ),
        (
            Request("connect:CreateTrafficDistributionGroup", "arn:aws:connect:us-east-1:444455556666:instance/x"),
            "another account's instance",
        ),
        (
            Request(
                "connect:DeleteTrafficDistributionGroup",
                "arn:aws:connect:us-west-2:444455556666:traffic-distribution-group/x",
            ),
            "another account's group",
        ),
        (Request("connect:DeleteTrafficDistributionGroup", INSTANCE_ARN), "an instance"),
        (Request("connect:TagResource", INSTANCE_ARN), "tagging an instance"),
        (Request("connect:ListTagsForResource", GROUP_ARN), "an action the code does not call"),
        (
            Request("connect:AssociatePhoneNumberContactFlow", "arn:aws:connect:us-east-1:444455556666:phone-number/x"),
            "another account's number",
        ),
        (
            Request("connect:UpdateCrossRegionRouting", "arn:aws:connect:us-east-1:444455556666:instance/x"),
            "another account's instance",
        ),
        (Request("connect:UpdateCrossRegionRouting", GROUP_ARN), "a group"),
        (Request("connect:DescribePhoneNumber", INSTANCE_ARN), "an instance"),
        (Request("connect:ReleasePhoneNumber", NUMBER_ARN), "releasing a number"),
    ],
)
def test_role_denies_what_the_function_does_not_need(template: Mapping[str, Any], request_: Request, why: str) -> None:
    assert not allowed(statements(template, Deployment()), request_), why


def test_the_service_linked_role_is_connects_only(template: Mapping[str, Any]) -> None:
    policy = statements(template, Deployment(replicas=True))
    other = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/other.amazonaws.com/Role"

    assert not allowed(
        policy, Request("iam:CreateServiceLinkedRole", other, {"iam:AWSServiceName": ["other.amazonaws.com"]})
    )
    assert not allowed(
        policy,
        Request("iam:CreateServiceLinkedRole", SERVICE_LINKED_ROLE, {"iam:AWSServiceName": ["other.amazonaws.com"]}),
    )


def test_pinned_instances_narrow_create_to_them(template: Mapping[str, Any]) -> None:
    policy = statements(template, Deployment(instance_arns=(INSTANCE_ARN,)))

    assert allowed(policy, Request("connect:CreateTrafficDistributionGroup", INSTANCE_ARN))
    assert not allowed(policy, Request("connect:CreateTrafficDistributionGroup", OTHER_INSTANCE_ARN))


def test_instance_arn_parameter_accepts_arns_and_the_empty_default(template: Mapping[str, Any]) -> None:
    parameter = template["Parameters"]["ConnectInstanceArns"]
    pattern = re.compile(parameter["AllowedPattern"])

    assert parameter["Type"] == "CommaDelimitedList"
    assert parameter["Default"] == ""
    assert all(pattern.fullmatch(v) for v in ["", INSTANCE_ARN, OTHER_INSTANCE_ARN])
    assert not any(pattern.fullmatch(v) for v in ["*", " " + INSTANCE_ARN, GROUP_ARN, "arn:aws:connect:*:1:instance/*"])


# --- the failover function (EnableAutomatedFailover) --------------------------------------------------------

HOME_GROUP_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/11111111-bbbb-cccc-dddd-eeeeeeeeeeee"
DEFAULT_GROUP_ARN = (
    f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/22222222-bbbb-cccc-dddd-eeeeeeeeeeee"
)
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:connect-failover"
FAILOVER = Deployment(failover_groups=(HOME_GROUP_ARN, DEFAULT_GROUP_ARN), alarms=("connect-us-east-1-impaired",))
FAILOVER_LOG_STREAM = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{FAILOVER_LOG_GROUP}:log-stream:2026/12/06/[$LATEST]a"
MOVE_ACTIONS = ["connect:GetTrafficDistribution", "connect:UpdateTrafficDistribution"]


def in_region(arn: str, region: str) -> str:
    parts = arn.split(":")
    return ":".join([*parts[:3], region, *parts[4:]])


def made(template: Mapping[str, Any], deployment: Deployment) -> set[str]:
    resolver = deployment.resolver(template)
    return {n for n, r in template["Resources"].items() if "Condition" not in r or resolver.condition(r["Condition"])}


def test_failover_is_off_by_default_and_makes_nothing(template: Mapping[str, Any]) -> None:
    parameter = template["Parameters"]["EnableAutomatedFailover"]

    assert parameter["Default"] == "false"
    assert not {name for name in made(template, Deployment()) if name.startswith("Failover")}


def test_failover_makes_its_own_function_rules_and_role(template: Mapping[str, Any]) -> None:
    failover = {name for name in made(template, FAILOVER) if name.startswith("Failover")}

    assert failover == {
        "FailoverFunction",
        "FailoverLogGroup",
        "FailoverAlarmRule",
        "FailoverManualRule",
        "FailoverAlarmPermission",
        "FailoverManualPermission",
        "FailoverRole",
        "FailoverRuntimePolicy",
    }
    assert "FailoverAlarmRule" not in made(template, Deployment(failover_groups=(HOME_GROUP_ARN,)))


def test_the_failover_function_runs_its_own_entry_one_event_at_a_time(template: Mapping[str, Any]) -> None:
    props = template["Resources"]["FailoverFunction"]["Properties"]
    module, function = props["Handler"].rsplit(".", 1)
    code = (ROOT / props["CodeUri"]).resolve()
    source = (code / f"{module}.py").read_text()

    assert code == (ROOT / "src" / "handler").resolve() and module != "app"
    assert re.search(rf"^def {function}\(", source, re.MULTILINE)
    assert "crhelper" not in source and "import app" not in source
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["Role"] == {"Fn::GetAtt": ["FailoverRole", "Arn"]}
    variables = props["Environment"]["Variables"]
    assert f'os.environ.get("POWERTOOLS_SERVICE_NAME", "{variables["POWERTOOLS_SERVICE_NAME"]}")' in source
    config = (code / "failover.py").read_text()
    read = set(re.findall(r'"(FAILOVER_[A-Z_]+)"', config))
    assert read == {name for name in variables if name.startswith("FAILOVER_")}


def test_the_rules_match_what_the_function_accepts(template: Mapping[str, Any]) -> None:
    from failover import ALARM_DETAIL_TYPE, ALARM_SOURCE, MANUAL_DETAIL_TYPE, MANUAL_SOURCE

    resolver = FAILOVER.resolver(template)
    alarm = resolver.resolve(template["Resources"]["FailoverAlarmRule"]["Properties"])
    manual = resolver.resolve(template["Resources"]["FailoverManualRule"]["Properties"])

    assert alarm["EventPattern"] == {
        "source": [ALARM_SOURCE],
        "detail-type": [ALARM_DETAIL_TYPE],
        "detail": {"alarmName": ["connect-us-east-1-impaired"], "state": {"value": ["ALARM"]}},
    }
    assert manual["EventPattern"] == {
        "source": [MANUAL_SOURCE],
        "detail-type": [MANUAL_DETAIL_TYPE],
        "detail": {"to": [REGION]},
    }
    for rule, permission in (
        ("FailoverAlarmRule", "FailoverAlarmPermission"),
        ("FailoverManualRule", "FailoverManualPermission"),
    ):
        props = template["Resources"][permission]["Properties"]
        assert props["Principal"] == "events.amazonaws.com" and props["Action"] == "lambda:InvokeFunction"
        assert props["SourceArn"] == {"Fn::GetAtt": [rule, "Arn"]}
        assert template["Resources"][rule]["Properties"]["Targets"] == [
            {"Id": "failover", "Arn": {"Fn::GetAtt": ["FailoverFunction", "Arn"]}}
        ]


def test_the_region_pairs_are_those_of_regions_py(template: Mapping[str, Any]) -> None:
    import regions

    pairs = {region: row["Partner"] for region, row in template["Mappings"]["ConnectRegionPairs"].items()}

    assert pairs == {**regions.REPLICA_REGION_OF, **{b: a for a, b in regions.REPLICA_REGION_OF.items()}}


def failover_calls(deployment: Deployment) -> list[Request]:
    calls = [
        Request(action, in_region(arn, region))
        for action in MOVE_ACTIONS
        for arn in deployment.failover_groups
        for region in ("us-east-1", "us-west-2")
    ]
    calls += [Request(action, FAILOVER_LOG_STREAM) for action in LOG_ACTIONS]
    if deployment.topic:
        calls.append(Request("sns:Publish", deployment.topic))
    if deployment.tracing:
        calls += [Request(action, "*") for action in XRAY_ACTIONS]
    return calls


FAILOVER_DEPLOYMENTS = [
    pytest.param(FAILOVER, id="failover"),
    pytest.param(Deployment(failover_groups=(HOME_GROUP_ARN,), topic=TOPIC_ARN, tracing=True), id="topic-tracing"),
]


@pytest.mark.parametrize("deployment", FAILOVER_DEPLOYMENTS)
def test_the_failover_role_allows_its_calls_on_the_groups_in_both_regions(
    template: Mapping[str, Any], deployment: Deployment
) -> None:
    policy = statements(template, deployment, "FailoverRole")

    denied = [call for call in failover_calls(deployment) if not allowed(policy, call)]

    assert denied == []


@pytest.mark.parametrize("deployment", FAILOVER_DEPLOYMENTS)
def test_the_failover_role_grants_exactly_the_groups_its_log_and_its_topic(
    template: Mapping[str, Any], deployment: Deployment
) -> None:
    granted: dict[str, set[str]] = {}
    for statement in statements(template, deployment, "FailoverRole"):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(as_list(statement["Resource"]))

    groups = {in_region(arn, "*") for arn in deployment.failover_groups}
    expected = {action: groups for action in MOVE_ACTIONS}
    expected |= {action: {FAILOVER_LOG_STREAM.rsplit(":", 1)[0] + ":*"} for action in LOG_ACTIONS}
    if deployment.topic:
        expected["sns:Publish"] = {deployment.topic}
    if deployment.tracing:
        expected |= {action: {"*"} for action in XRAY_ACTIONS}
    assert granted == expected


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (Request("connect:UpdateTrafficDistribution", GROUP_ARN), "a group not configured"),
        (
            Request("connect:UpdateTrafficDistribution", HOME_GROUP_ARN.replace(ACCOUNT, "444455556666")),
            "another account's group",
        ),
        (Request("connect:DeleteTrafficDistributionGroup", HOME_GROUP_ARN), "deleting a group"),
        (Request("connect:DescribeTrafficDistributionGroup", HOME_GROUP_ARN), "an action the function does not call"),
        (Request("connect:TagResource", HOME_GROUP_ARN), "tagging"),
        (Request("sns:Publish", TOPIC_ARN), "no topic configured"),
        (Request("logs:PutLogEvents", LOG_STREAM_ARN), "the provider's log group"),
        (Request("events:PutRule", RULE_ARN), "the provider's polling"),
    ],
)
def test_the_failover_role_denies_what_the_function_does_not_need(
    template: Mapping[str, Any], request_: Request, why: str
) -> None:
    assert not allowed(statements(template, FAILOVER, "FailoverRole"), request_), why


def test_the_group_parameter_takes_arns_only(template: Mapping[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["FailoverGroupArns"]["AllowedPattern"])

    assert all(pattern.fullmatch(v) for v in ["", HOME_GROUP_ARN, GROUP_ARN])
    assert not any(pattern.fullmatch(v) for v in [HOME_GROUP_ARN.rsplit("/", 1)[1], INSTANCE_ARN, "*"])


# --- Serverless Application Repository ---------------------------------------------------------------


def test_serverless_repo_metadata_matches_the_project(template: Mapping[str, Any]) -> None:
    application = template["Metadata"]["AWS::ServerlessRepo::Application"]
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)

    assert version and application["SemanticVersion"] == version.group(1)
    assert (ROOT / application["LicenseUrl"]).read_text().startswith(f"{application['SpdxLicenseId']} License")
    assert (ROOT / application["ReadmeUrl"]).is_file()
    assert len(application["Description"]) <= 256 and len(application["Labels"]) <= 10


# --- IAM: the status command's read-only managed policy ---------------------------------------------

# Every action `python -m operate status` calls, on the resource type the Service Authorization Reference gives it
# (cfn-lint's copy of it; ListReplicationFindings is not in that copy yet: docs/iam.md).
STATUS_RESOURCES = {
    "connect:DescribeInstance": "instance",
    "connect:GetCrossRegionRouting": "instance",
    "connect:ListReplicationFindings": "instance",
    "connect:ListTrafficDistributionGroups": "traffic-distribution-group",
    "connect:GetTrafficDistribution": "traffic-distribution-group",
    "connect:ListTrafficDistributionGroupUsers": "traffic-distribution-group",
    "connect:ListPhoneNumbersV2": "phone-number",
}
REPLICA_INSTANCE_ARN = INSTANCE_ARN.replace("us-east-1", "us-west-2")
PHONE_NUMBER_ARN = f"arn:aws:connect:us-west-2:{ACCOUNT}:phone-number/abc"


def status_policy(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    (policy,) = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    document = Deployment().resolver(template).resolve(policy["Properties"]["PolicyDocument"])
    return list(document["Statement"])


def test_the_status_policy_allows_every_read_of_the_command_in_both_regions(template: Mapping[str, Any]) -> None:
    policy = status_policy(template)
    examples = {"instance": [INSTANCE_ARN, REPLICA_INSTANCE_ARN], "traffic-distribution-group": [GROUP_ARN]}
    examples["phone-number"] = [PHONE_NUMBER_ARN]

    denied = [
        (action, arn)
        for action, kind in STATUS_RESOURCES.items()
        for arn in examples[kind]
        if not allowed(policy, Request(action, arn))
    ]

    assert denied == []


def test_the_status_policy_reads_only_and_grants_each_action_on_exactly_its_resource_type(
    template: Mapping[str, Any],
) -> None:
    granted: dict[str, set[str]] = {}
    for statement in status_policy(template):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(as_list(statement["Resource"]))

    assert granted == {action: {f"arn:aws:connect:*:{ACCOUNT}:{kind}/*"} for action, kind in STATUS_RESOURCES.items()}
    assert all(action.split(":")[1].startswith(("Describe", "Get", "List")) for action in granted)
    other_account = "arn:aws:connect:us-east-1:444455556666:instance/x"
    assert not allowed(status_policy(template), Request("connect:DescribeInstance", other_account))


def test_the_status_policy_is_attached_to_nothing_and_is_an_output(template: Mapping[str, Any]) -> None:
    (name, policy) = next(iter(resources_of_type(template, "AWS::IAM::ManagedPolicy").items()))

    assert not {"Roles", "Users", "Groups"} & set(policy["Properties"])
    assert template["Outputs"]["StatusReadOnlyPolicyArn"]["Value"] == {"Ref": name}
