"""CloudWatch alarms (local/emulator/cloudwatch.py): the "CloudWatch Alarm State Change" event, in the shape of the
CloudWatch User Guide's examples (tests/events/alarm.json and alarm_composite.json), taken by the failover function
and matched by the rule template.yaml makes for it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from failover import Config, Ignored, Trigger, trigger_of
from local.emulator import Emulator
from tests.unit.conftest import GROUP_ARN, load_event

ROOT = Path(__file__).resolve().parents[3]
AT = 1796576680.0  # 2026-12-06T17:04:40Z
NAME = "connect-us-east-1-impaired"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(clock=lambda: AT)  # not started: alarms need no server


def shape(value: Any) -> Any:
    """The keys of ``value``, nested, without the values: what two events of the same kind share."""
    if isinstance(value, Mapping):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


def test_an_alarm_entering_alarm_sends_the_documented_event(emu: Emulator) -> None:
    event = emu.set_alarm_state("us-west-2", "connect-us-east-1-probe-failing", "ALARM", reason="3 of 3 below 90")

    assert event is not None
    documented = load_event("alarm")
    assert set(event) == set(documented)
    assert set(event["detail"]) == set(documented["detail"])
    assert shape(event["detail"]["state"]) == shape(documented["detail"]["state"])
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["region"] == "us-west-2" and event["time"] == "2026-12-06T17:04:40Z"
    assert event["resources"] == ["arn:aws:cloudwatch:us-west-2:123456789012:alarm:connect-us-east-1-probe-failing"]
    assert event["detail"]["state"] == {
        "value": "ALARM",
        "reason": "3 of 3 below 90",
        "reasonData": event["detail"]["state"]["reasonData"],
        "timestamp": "2026-12-06T17:04:40.000+0000",
    }
    assert event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"  # where a new alarm starts


def test_a_composite_alarm_carries_its_rule(emu: Emulator) -> None:
    rule = 'ALARM("connect-us-east-1-probe-failing") AND NOT ALARM("connect-us-west-2-probe-failing")'

    event = emu.set_alarm_state("us-west-2", NAME, "ALARM", rule=rule)

    assert event is not None
    assert event["detail"]["configuration"]["alarmRule"] == rule
    assert set(event["detail"]) == set(load_event("alarm_composite")["detail"])


def test_no_change_no_event_and_the_previous_state_is_remembered(emu: Emulator) -> None:
    emu.set_alarm_state("us-west-2", NAME, "OK")

    assert emu.set_alarm_state("us-west-2", NAME, "OK") is None
    alarmed = emu.set_alarm_state("us-west-2", NAME, "ALARM")
    assert alarmed is not None and alarmed["detail"]["previousState"]["value"] == "OK"
    assert emu.alarm_state("us-west-2", NAME) == "ALARM"
    assert emu.alarm_state("us-east-1", NAME) == "INSUFFICIENT_DATA"  # alarms are regional

    emu.reset()
    assert emu.alarm_state("us-west-2", NAME) == "INSUFFICIENT_DATA"


def test_an_unknown_state_is_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown alarm state 'FIRING'"):
        emu.set_alarm_state("us-west-2", NAME, "FIRING")


def test_the_failover_function_takes_the_event_and_never_fails_back_on_ok(emu: Emulator) -> None:
    config = Config.from_environment({"FAILOVER_GROUP_ARNS": GROUP_ARN, "FAILOVER_ALARM_NAMES": NAME}, "us-west-2")
    alarmed, ok = (emu.set_alarm_state("us-west-2", NAME, state) for state in ("ALARM", "OK"))

    assert alarmed is not None and ok is not None
    assert isinstance(trigger_of(alarmed, config), Trigger)
    assert isinstance(trigger_of(ok, config), Ignored)


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the patterns template.yaml writes: nested fields, each a list of exact values."""
    if isinstance(pattern, list):
        return event in pattern
    return isinstance(event, Mapping) and all(key in event and matches(pattern[key], event[key]) for key in pattern)


def test_the_rule_template_yaml_makes_passes_alarm_and_nothing_else(emu: Emulator) -> None:
    from cfnlint.decode import cfn_yaml

    rule = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]["FailoverAlarmRule"]["Properties"]
    pattern = {**rule["EventPattern"], "detail": {**rule["EventPattern"]["detail"], "alarmName": [NAME]}}
    alarmed, ok = (emu.set_alarm_state("us-west-2", NAME, state) for state in ("ALARM", "OK"))
    other = emu.set_alarm_state("us-west-2", "someone-elses-alarm", "ALARM")

    assert matches(pattern, alarmed)
    assert not matches(pattern, ok)
    assert not matches(pattern, other)
