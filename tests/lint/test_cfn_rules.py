"""The cfn-lint rules in cfn_lint_rules/, loaded as `cfn-lint --append-rules cfn_lint_rules` loads them."""

from __future__ import annotations

import functools
import json
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import resources
from errors import ProviderError
from properties import parse_distribution_properties, parse_group_properties

if TYPE_CHECKING:
    from cfnlint.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "cfn_lint_rules")
INSTANCE = "arn:aws:connect:us-east-1:111122223333:instance/abcd-1234"
GROUP = "arn:aws:connect:us-east-1:111122223333:traffic-distribution-group/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
PARAMETERS = """
Parameters:
  InstanceArn: {Type: String}
  GroupArn: {Type: String}
  Primary: {Type: String}
  Replica: {Type: String}
  Active: {Type: String}
  Share: {Type: Number}
  Flag: {Type: String}
  TagList: {Type: CommaDelimitedList}
Conditions:
  PrimaryIsActive: !Equals [!Ref Active, !Ref Primary]
"""


# cfn-lint and the rules are imported in the tests, not at the top: importing cfn-lint and loading its rules takes
# more than a second, and every pytest worker imports this module, to collect it, whether or not it runs its tests.


@functools.cache
def linter() -> Runner:
    """cfn-lint as `cfn-lint --append-rules cfn_lint_rules` runs (loading the rules once), but for its warnings about
    unused parameters and conditions: every test template shares them."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(append_rules=[RULES], regions=["us-east-1"], ignore_checks=["W2001", "W8001"]))


def run(text: str) -> list[tuple[str, int, str]]:
    """(rule id, line, message) of every finding, cfn-lint's own rules included."""
    from cfnlint.decode.decode import decode_str

    decoded, errors = decode_str(textwrap.dedent(text))
    assert not errors, errors
    return [(m.rule.id, m.linenumber, m.message) for m in linter().validate_template(decoded)]


def template(*properties: str, resource_type: str = "Custom::TrafficDistributionGroup") -> str:
    """A template with one resource of ``resource_type`` whose Properties are the YAML ``properties`` joined."""
    joined = "\n".join(textwrap.dedent(part).strip() for part in properties)
    body = textwrap.indent(joined, " " * 6)
    return f"{PARAMETERS}\nResources:\n  Res:\n    Type: {resource_type}\n    Properties:\n{body}\n"


BASE = """
ServiceToken: !ImportValue connect-tdg-provider-ServiceToken
ServiceTimeout: 1800
"""


def group(*properties: str) -> str:
    return template(BASE, f"Name: primary\nInstanceId: {INSTANCE}", *properties)


def distribution(*properties: str) -> str:
    return template(BASE, *properties, resource_type="Custom::TrafficDistribution")


def ours(findings: list[tuple[str, int, str]]) -> list[tuple[str, str]]:
    return [(rule, message) for rule, _, message in findings if rule[1] == "9"]


def test_the_rules_cover_every_type_the_provider_serves() -> None:
    from cfn_lint_rules import connect_tdg

    assert tuple(connect_tdg.PROVIDER_TYPES) == tuple(resources.TYPES)


@pytest.mark.parametrize("path", [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "template.yaml"])
def test_the_projects_templates_are_clean(path: Path) -> None:
    assert run(path.read_text()) == []


# --- one source of truth: the rule says what the provider says ------------------------------------

SAME_AS_PROVIDER: list[tuple[str, dict[str, Any]]] = [
    ("Custom::TrafficDistributionGroup", {"Name": "g", "InstanceId": INSTANCE}),
    ("Custom::TrafficDistributionGroup", {"Name": "g", "InstanceId": INSTANCE, "Descripton": "typo"}),
    ("Custom::TrafficDistributionGroup", {"Name": " g", "InstanceId": INSTANCE}),
    ("Custom::TrafficDistributionGroup", {"Name": "g", "InstanceId": "arn:aws:connect:us-east-1:1:queue/q"}),
    (
        "Custom::TrafficDistributionGroup",
        {"Name": "g", "InstanceId": INSTANCE, "Tags": [{"Key": "aws:x", "Value": "v"}]},
    ),
    ("Custom::TrafficDistributionGroup", {"Name": "g", "InstanceId": INSTANCE, "Tags": {"team": "a"}}),
    (
        "Custom::TrafficDistributionGroup",
        {
            "Name": "g",
            "InstanceId": INSTANCE,
            "TelephonyConfig": {
                "Distributions": [{"Region": "us-east-1", "Percentage": 95}, {"Region": "us-west-2", "Percentage": 5}]
            },
        },
    ),
    (
        "Custom::TrafficDistributionGroup",
        {
            "Name": "g",
            "InstanceId": INSTANCE,
            "AgentConfig": {
                "Distributions": [{"Region": "eu-west-2", "Percentage": 50}, {"Region": "us-west-2", "Percentage": 50}]
            },
        },
    ),
    ("Custom::TrafficDistribution", {"TrafficDistributionGroupId": GROUP}),
    ("Custom::TrafficDistribution", {"TrafficDistributionGroupId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}),
    (
        "Custom::TrafficDistribution",
        {
            "TrafficDistributionGroupId": GROUP,
            "SignInConfig": {
                "Distributions": [{"Region": "us-east-1", "Enabled": True}, {"Region": "us-west-2", "Enabled": False}]
            },
        },
    ),
]


@pytest.mark.parametrize(("resource_type", "properties"), SAME_AS_PROVIDER)
def test_literal_properties_get_the_providers_own_verdict(resource_type: str, properties: dict[str, Any]) -> None:
    from cfn_lint_rules import connect_tdg

    sent = {key: connect_tdg._stringify(value) for key, value in properties.items()}  # as CloudFormation sends them
    reason = None
    try:
        _parse(resource_type, sent)
    except ProviderError as error:
        reason = error.reason
    as_yaml = "\n".join(f"{key}: {json.dumps(value)}" for key, value in properties.items())  # JSON is YAML

    assert connect_tdg.rejection(resource_type, properties) == reason
    assert ours(run(template(BASE, as_yaml, resource_type=resource_type))) == (
        [("E9101", f"Res: {reason}")] if reason else []
    )


# --- the errors and warnings the issue asked for ----------------------------------------------------


def test_a_typo_is_an_error_on_its_line() -> None:
    findings = run(group("Descripton: the main group"))

    assert [(rule, line) for rule, line, _ in findings] == [("E9101", 22)]
    assert "Unknown property Descripton" in findings[0][2]


def test_a_split_that_is_not_in_steps_of_ten_is_an_error() -> None:
    findings = ours(
        run(
            group("""
            TelephonyConfig:
              Distributions:
                - {Region: us-east-1, Percentage: 95}
                - {Region: us-west-2, Percentage: 5}
            """)
        )
    )

    assert findings == [
        (
            "E9101",
            "Res: TelephonyConfig: the percentage for us-east-1 is '95'; use a whole number from 0 to 100 "
            "in steps of 10.",
        )
    ]


def test_sign_in_config_on_a_group_is_an_error() -> None:
    findings = ours(
        run(
            group("""
            SignInConfig:
              Distributions:
                - {Region: us-east-1, Enabled: true}
                - {Region: us-west-2, Enabled: true}
            """)
        )
    )

    assert [rule for rule, _ in findings] == ["E9101"]
    assert "SignInConfig cannot be set on Custom::TrafficDistributionGroup" in findings[0][1]


@pytest.mark.parametrize("token", [None, '""'])
def test_a_missing_or_empty_service_token_is_an_error(token: str | None) -> None:
    line = "" if token is None else f"ServiceToken: {token}\n"
    findings = run(template(line, f"ServiceTimeout: 1800\nName: g\nInstanceId: {INSTANCE}"))

    assert "E9102" in [rule for rule, _, _ in findings]
    if token is None:
        assert "E3003" in [rule for rule, _, _ in findings]  # cfn-lint's own "required property"


def test_no_service_timeout_is_a_warning() -> None:
    findings = run(template(f"ServiceToken: !ImportValue x\nName: g\nInstanceId: {INSTANCE}\n"))

    assert [rule for rule, _, _ in findings] == ["W9101"]


@pytest.mark.parametrize(
    "description",
    [
        "Calls between us-east-1 and us-west-2",
        "!Sub 'Failover to ${Replica}, normally eu-central-1'",
        "GovCloud us-gov-west-1",
    ],
)
def test_a_description_that_names_a_region_is_a_warning(description: str) -> None:
    findings = ours(run(group(f"Description: {description}")))

    assert [rule for rule, _ in findings] == ["W9102"]


def test_a_description_without_regions_is_fine() -> None:
    assert run(group("Description: !Sub 'Main group of ${AWS::StackName} in two regions'")) == []


# --- intrinsic functions: what cannot be known is skipped, what is known is still checked ----------


@pytest.mark.parametrize(
    "properties",
    [
        group("Tags: !Split [',', !Ref Flag]"),
        group("Tags:\n  - {Key: !Ref Flag, Value: !Ref Flag}\n  - {Key: !Ref Active, Value: x}"),
        template(BASE, "Name: !Sub '${AWS::StackName}-tdg'\nInstanceId: !Ref InstanceArn"),
        # regions from parameters, the home region unknown or given
        group("""
        TelephonyConfig:
          Distributions:
            - {Region: !Ref Primary, Percentage: !If [PrimaryIsActive, 100, 0]}
            - {Region: !Ref Replica, Percentage: !If [PrimaryIsActive, 0, 100]}
        """),
        template(
            BASE,
            """
            Name: g
            InstanceId: !Ref InstanceArn
            AgentConfig:
              Distributions:
                - {Region: !Ref Primary, Percentage: 30}
                - {Region: eu-central-1, Percentage: !Ref Share}
            """,
        ),
        group("TelephonyConfig: !Ref AWS::NoValue"),
        group("TelephonyConfig:\n  Distributions: !Split [',', !Ref Flag]"),
        group("TelephonyConfig:\n  Distributions:\n    - !Ref Flag\n    - {Region: us-west-2, Percentage: 40}"),
        distribution("""
        TrafficDistributionGroupId: !Ref GroupArn
        SignInConfig:
          Distributions:
            - {Region: !Ref Primary, Enabled: !Ref Flag}
            - {Region: !Ref Replica, Enabled: true}
        """),
        distribution(
            "TrafficDistributionGroupId: !GetAtt Other.Arn", "AgentConfig: !If [PrimaryIsActive, !Ref Flag, !Ref Share]"
        ),
        template("!If [PrimaryIsActive, {Name: a}, {Name: b}]"),
    ],
)
def test_unknown_values_never_make_an_error(properties: str) -> None:
    from cfn_lint_rules import connect_tdg
    from cfnlint.decode.decode import decode_str

    decoded, _ = decode_str(properties)
    resource = decoded["Resources"]["Res"]
    raw = {key: connect_tdg._stringify(value) for key, value in resource["Properties"].items()}
    with pytest.raises(ProviderError):  # as they are, the functions would fail the provider's checks
        _parse(resource["Type"], raw)

    assert ours(run(properties)) == []


def _parse(resource_type: str, props: dict[str, Any]) -> None:
    from cfn_lint_rules import connect_tdg

    if resource_type == connect_tdg.GROUP_TYPE:
        parse_group_properties(props, "us-east-1")
    else:
        parse_distribution_properties(props)


def test_an_unknown_instance_does_not_hide_a_bad_split() -> None:
    findings = ours(
        run(
            template(
                BASE,
                """
                Name: g
                InstanceId: !Ref InstanceArn
                Tags: !Ref TagList
                AgentConfig:
                  Distributions:
                    - {Region: us-east-1, Percentage: 60}
                    - {Region: us-west-2, Percentage: 60}
                """,
            )
        )
    )

    assert findings == [
        (
            "E9101",
            "Res: AgentConfig: the percentages add up to 120; they must add up to 100 "
            "(for example us-east-1=, us-west-2= 100 and 0).",
        )
    ]


def test_an_unknown_region_is_named_as_the_template_writes_it() -> None:
    findings = ours(
        run(
            group("""
            TelephonyConfig:
              Distributions:
                - {Region: !Ref Replica, Percentage: 95}
                - {Region: us-east-1, Percentage: !Ref Share}
            """)
        )
    )

    assert findings == [
        (
            "E9101",
            "Res: TelephonyConfig: the percentage for !Ref Replica is '95'; use a whole number from 0 to 100 "
            "in steps of 10.",
        )
    ]


def test_a_known_home_region_is_still_required_in_every_config() -> None:
    findings = ours(
        run(
            group("""
            TelephonyConfig:
              Distributions:
                - {Region: eu-west-2, Percentage: 100}
                - {Region: !Ref Replica, Percentage: 0}
            """)
        )
    )

    # The unknown region may be us-east-1, the instance's home: then eu-west-2 must be its partner, and is not.
    assert findings == [
        (
            "E9101",
            "Res: TelephonyConfig lists us-east-1 and eu-west-2: an instance in us-east-1 can be replicated only "
            "to us-west-2, not eu-west-2 (see Connect's admin guide, 'Create a replica of your existing Amazon "
            "Connect instance').",
        )
    ]

    findings = ours(
        run(
            group("""
            TelephonyConfig:
              Distributions:
                - {Region: eu-west-2, Percentage: 100}
                - {Region: eu-central-1, Percentage: 0}
            """)
        )
    )

    assert findings == [
        (
            "E9101",
            "Res: TelephonyConfig does not list us-east-1, the instance's home region; list both linked regions.",
        )
    ]


def test_each_combination_of_conditions_is_checked_and_named() -> None:
    findings = ours(
        run(
            group("""
            TelephonyConfig:
              Distributions:
                - {Region: us-east-1, Percentage: !If [PrimaryIsActive, 100, 0]}
                - {Region: us-west-2, Percentage: !If [PrimaryIsActive, 10, 100]}
            """)
        )
    )

    assert [rule for rule, _ in findings] == ["E9101"]
    assert findings[0][1].endswith(
        "add up to 110; they must add up to 100 (for example us-east-1=, us-west-2= 100 and 0)."
        " (when PrimaryIsActive is true)"
    )


# --- the command ------------------------------------------------------------------------------------


def test_make_lint_template_fails_and_names_the_property(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(group("Descripton: the main group"))

    done = subprocess.run(
        ["make", "--no-print-directory", "lint-template", f"TEMPLATE={stack}"], cwd=ROOT, capture_output=True, text=True
    )

    assert done.returncode != 0
    assert "E9101 Res: Unknown property Descripton" in done.stdout
    assert f"{stack}:22:7" in done.stdout


def test_make_lint_template_says_how_to_call_it() -> None:
    done = subprocess.run(["make", "--no-print-directory", "lint-template"], cwd=ROOT, capture_output=True, text=True)

    assert done.returncode != 0
    assert "usage: make lint-template TEMPLATE=path/to/stack.yaml" in done.stdout


def test_an_unknown_region_of_a_pair_is_its_known_partner() -> None:
    clean = group("""
            TelephonyConfig:
              Distributions:
                - {Region: !Ref Home, Percentage: 100}
                - {Region: !Ref Replica, Percentage: 0}
            AgentConfig:
              Distributions:
                - {Region: us-east-1, Percentage: 100}
                - {Region: !Ref Replica, Percentage: 0}
            """)

    assert ours(run(clean)) == []


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ("InstanceId: {INSTANCE}\nReplicaRegion: us-west-2\nReplicaAlias: west", []),
        ("InstanceId: {INSTANCE}\nReplicaRegion: !Ref Region\nReplicaAlias: !Ref Alias", []),
        ("InstanceId: !Ref Instance\nReplicaRegion: !Ref Region\nReplicaAlias: west", []),
        (
            "InstanceId: {INSTANCE}\nReplicaRegion: eu-west-2\nReplicaAlias: west",
            ["can be replicated only to us-west-2"],
        ),
        ("InstanceId: {INSTANCE}\nReplicaRegion: us-west-2\nReplicaAlias: d-west", ["not start with 'd-'"]),
        ("InstanceId: {INSTANCE}\nReplicaRegion: us-west-2", ["Property ReplicaAlias is required"]),
    ],
)
def test_instance_replicas_get_the_providers_verdict(properties: str, expected: list[str]) -> None:
    text = template(BASE, properties.format(INSTANCE=INSTANCE), resource_type="Custom::InstanceReplica")

    messages = [message for _, message in ours(run(text)) if message.startswith("Res:")]

    assert len(messages) == len(expected) and all(e in m for e, m in zip(expected, messages, strict=True))


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ("TrafficDistributionGroupId: !Ref Tdg\nInstanceId: {INSTANCE}\nUserId: !Ref Agent", []),
        (
            "TrafficDistributionGroupId: aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\nInstanceId: {INSTANCE}\nUserId: x",
            ["not a traffic distribution group ARN"],
        ),
        (
            "TrafficDistributionGroupId: !Ref Tdg\nInstanceId: {INSTANCE}\nUserId: !Ref Agent\nAgent: x",
            ["Unknown property Agent"],
        ),
    ],
)
def test_group_users_get_the_providers_verdict(properties: str, expected: list[str]) -> None:
    text = template(BASE, properties.format(INSTANCE=INSTANCE), resource_type="Custom::TrafficDistributionGroupUser")

    messages = [message for _, message in ours(run(text)) if message.startswith("Res:")]

    assert len(messages) == len(expected) and all(e in m for e, m in zip(expected, messages, strict=True))


NUMBER = "arn:aws:connect:us-east-1:111122223333:phone-number/7c1e3a52-0000-4b3e-9c6e-000000000001"
FLOW = f"{INSTANCE}/contact-flow/f10f10f1-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ("PhoneNumberId: !Ref Number\nInstanceId: !Ref Instance\nContactFlowId: !Ref Flow", []),
        ("PhoneNumberId: {NUMBER}\nInstanceId: {INSTANCE}\nContactFlowId: {FLOW}", []),
        ("PhoneNumberId: !Ref Number\nInstanceId: !Ref Instance\nContactFlowId: {FLOW}", []),
        ("PhoneNumberId: {EU_NUMBER}\nInstanceId: !Ref Instance\nContactFlowId: !Ref Flow", []),
        (
            "PhoneNumberId: {EU_NUMBER}\nInstanceId: {INSTANCE}\nContactFlowId: !Ref Flow",
            ["was claimed in eu-west-2, but InstanceId names an instance in us-east-1"],
        ),
        (
            "PhoneNumberId: !Ref Number\nInstanceId: {INSTANCE}\nContactFlowId: {OTHER_FLOW}",
            ["is a flow of instance other, but InstanceId names instance abcd-1234"],
        ),
        ("PhoneNumberId: !Ref Number\nInstanceId: {INSTANCE}", ["Property ContactFlowId is required"]),
    ],
)
def test_number_flows_get_the_providers_verdict(properties: str, expected: list[str]) -> None:
    literal = properties.format(
        NUMBER=NUMBER,
        INSTANCE=INSTANCE,
        FLOW=FLOW,
        EU_NUMBER=NUMBER.replace("us-east-1", "eu-west-2"),
        OTHER_FLOW=FLOW.replace("abcd-1234", "other"),
    )
    text = template(BASE, literal, resource_type="Custom::PhoneNumberContactFlowAssociation")

    messages = [message for _, message in ours(run(text)) if message.startswith("Res:")]

    assert len(messages) == len(expected) and all(e in m for e, m in zip(expected, messages, strict=True))


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ("InstanceId: {INSTANCE}\nIsolatedAll: true", []),
        ("InstanceId: !Ref Instance\nIsolatedAll: !Ref Isolate", []),
        ("InstanceId: {INSTANCE}\nIsolatedAll: !If [PrimaryIsActive, true, false]", []),
        ("InstanceId: {INSTANCE}\nIsolatedAll: sometimes", ["Property IsolatedAll must be true or false"]),
        ("InstanceId: {INSTANCE}", ["Property IsolatedAll is required"]),
    ],
)
def test_cross_region_routing_gets_the_providers_verdict(properties: str, expected: list[str]) -> None:
    text = template(BASE, properties.format(INSTANCE=INSTANCE), resource_type="Custom::CrossRegionRouting")

    messages = [message for _, message in ours(run(text)) if message.startswith("Res:")]

    assert len(messages) == len(expected) and all(e in m for e, m in zip(expected, messages, strict=True))
