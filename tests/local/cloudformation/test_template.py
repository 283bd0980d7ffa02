"""Templates (local/cloudformation/template.py): YAML, stringification, intrinsics, conditions, dependencies and
Fn::ForEach. No sockets, no processes."""

from __future__ import annotations

from typing import Any

import pytest
from local.cloudformation.template import (
    dependencies,
    evaluate_conditions,
    expand_language_extensions,
    resolve_parameters,
    topological_order,
)

from local.cloudformation import (
    NO_VALUE,
    ResolutionError,
    Resolver,
    TemplateError,
    load_template,
    schedule_interval_s,
    stringify,
)

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
