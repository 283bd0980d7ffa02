"""The failover function end to end (issue 20, part 3): failover_app.handler in the local Lambda runtime (its own
processes, real botocore), against the Connect emulator, with the alarm events of tests/events/ as EventBridge
delivers them (the shape of the CloudWatch User Guide's "Alarm events and EventBridge" examples).

Each test reads as the story of an outage: the home region's Connect goes down, an alarm fires in the surviving
region, calls, agents and sign-in move, and nothing moves again until someone decides.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from deploy import failover as command

from local.cloudformation import StackDriver
from local.emulator import Emulator
from local.runtime import LambdaFunction
from tests.e2e.conftest import HANDLER_DIR, HOME, REPLICA, default_group, group_and_default_template
from tests.unit.conftest import load_event

ALARM_IN = {REPLICA: "connect-us-east-1-impaired", HOME: "connect-us-west-2-impaired"}
UPDATE, GET = "UpdateTrafficDistribution", "GetTrafficDistribution"
MakeFailover = Callable[..., LambdaFunction]


def split(home: int, replica: int) -> dict[str, Any]:
    return {"Distributions": [{"Region": HOME, "Percentage": home}, {"Region": REPLICA, "Percentage": replica}]}


def connect(emu: Emulator, region: str = HOME) -> Any:
    return boto3.client(
        "connect",
        region_name=region,
        endpoint_url=emu.endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
    )


def new_groups(emu: Emulator, instance: str, count: int) -> list[str]:
    """``count`` ACTIVE groups of the instance, all traffic in the home region (where the emulator starts them)."""
    client = connect(emu)
    arns = [
        client.create_traffic_distribution_group(Name=f"calls-{n}", InstanceId=instance)["Arn"] for n in range(count)
    ]
    for arn in arns:
        emu.wait_for_status(arn, "ACTIVE")
    return arns


@pytest.fixture
def make_failover(emu: Emulator) -> Iterator[MakeFailover]:
    """``make_failover(region, groups, **env)``: the failover function of ``region``, as template.yaml configures it."""
    made: list[LambdaFunction] = []

    def make(region: str, groups: list[str], timeout_s: float = 60, **env: str) -> LambdaFunction:
        function = LambdaFunction(
            HANDLER_DIR,
            "failover_app.handler",
            env={
                "FAILOVER_GROUP_ARNS": ",".join(groups),
                "FAILOVER_ALARM_NAMES": ALARM_IN[region],
                "POWERTOOLS_SERVICE_NAME": "connect-tdg-failover",
                **env,
            },
            timeout_s=timeout_s,
            function_name=f"connect-tdg-failover-{region}",
            region=region,
            endpoint_url=emu.endpoint_url,
            grace_s=0.5,
            warm=True,
        )
        made.append(function)
        return function

    yield make
    for function in made:
        function.close()


def alarm(emu: Emulator, region: str, state: str = "ALARM") -> dict[str, Any]:
    """The composite alarm of ``region`` that says the partner is impaired enters ``state``: the event CloudWatch
    sends to EventBridge (local/emulator/cloudwatch.py), which the alarm rule delivers to the function."""
    event = emu.set_alarm_state(region, ALARM_IN[region], state, rule=f'ALARM("{ALARM_IN[region]}-probe")')
    assert event is not None, "the alarm was already in that state"
    return event


def manual(to: str, groups: list[str] | None = None) -> dict[str, Any]:
    """What `make failover TO=<to>` puts on the bus (deploy/failover.py), as EventBridge delivers it."""
    sent = command.entry(to, groups or [], "game day")
    envelope = load_event("failover_manual", region=to)
    return {
        **envelope,
        "source": sent["Source"],
        "detail-type": sent["DetailType"],
        "detail": json.loads(sent["Detail"]),
    }


def lines(invocation: Any, message: str = "Group failover") -> list[dict[str, Any]]:
    """The function's JSON log lines with ``message``."""
    found = [json.loads(line) for line in invocation.logs.splitlines() if line.startswith("{")]
    return [line for line in found if line.get("message") == message]


def where(emu: Emulator, arn: str) -> dict[str, Any]:
    return dict(emu.group(arn)["Distribution"])


def regions_called(emu: Emulator) -> set[str]:
    return {call["region"] for call in emu.calls(service="connect")}


@pytest.mark.parametrize("outage", ["503", "drop"])
def test_home_down_an_alarm_in_the_replica_region_moves_calls_agents_and_sign_in_there(
    emu: Emulator, instance: str, make_failover: MakeFailover, outage: str
) -> None:
    # Given a group and the default group with all traffic in us-east-1, and us-east-1's Connect down
    (group,) = new_groups(emu, instance, 1)
    default = default_group(emu)["Arn"]
    failover = make_failover(REPLICA, [group, default])
    emu.set_outage(HOME, outage)
    emu.reset_calls()

    # When the alarm in us-west-2 enters ALARM
    invocation = failover.invoke(alarm(emu, REPLICA))

    # Then both groups moved into us-west-2 with no call to us-east-1, and one log line says so for each
    assert not invocation.failed, invocation.logs
    assert invocation.result == {"Moved": 2, "AlreadyShifted": 0, "HeldByCooldown": 0, "Failed": 0}
    for arn in (group, default):
        assert where(emu, arn)["TelephonyConfig"] == split(0, 100)
        assert where(emu, arn)["AgentConfig"] == split(0, 100)
    assert where(emu, default)["SignInConfig"] == {
        "Distributions": [{"Region": HOME, "Enabled": False}, {"Region": REPLICA, "Enabled": True}]
    }
    assert "SignInConfig" not in where(emu, group)
    assert regions_called(emu) == {REPLICA}
    logged = lines(invocation)
    assert [(line["Group"], line["Outcome"], line["AlarmName"]) for line in logged] == [
        (group, "Moved", ALARM_IN[REPLICA]),
        (default, "Moved", ALARM_IN[REPLICA]),
    ]
    assert logged[0]["Before"]["TelephonyDistribution"] == f"{HOME}=100,{REPLICA}=0"
    assert logged[0]["After"]["TelephonyDistribution"] == f"{HOME}=0,{REPLICA}=100"
    assert '"GroupFailover"' in invocation.logs  # the metric, one EMF line per group


def test_a_repeated_event_moves_nothing_twice(emu: Emulator, instance: str, make_failover: MakeFailover) -> None:
    (group,) = new_groups(emu, instance, 1)
    failover = make_failover(REPLICA, [group])
    event = alarm(emu, REPLICA)
    assert failover.invoke(event).result["Moved"] == 1
    emu.wait_for_status(group, "ACTIVE")
    emu.reset_calls()

    again = failover.invoke(event)  # EventBridge's at-least-once delivery, or Lambda's retry

    assert again.result == {"Moved": 0, "AlreadyShifted": 1, "HeldByCooldown": 0, "Failed": 0}
    assert [call["operation"] for call in emu.calls(service="connect")] == [GET]


def test_an_alarm_back_to_ok_never_fails_back(emu: Emulator, instance: str, make_failover: MakeFailover) -> None:
    (group,) = new_groups(emu, instance, 1)
    failover = make_failover(REPLICA, [group])
    failover.invoke(alarm(emu, REPLICA))
    emu.wait_for_status(group, "ACTIVE")
    emu.reset_calls()

    ok = failover.invoke(alarm(emu, REPLICA, "OK"))

    assert "never fails back by itself" in ok.result["Ignored"]
    assert emu.calls(service="connect") == []
    assert where(emu, group)["TelephonyConfig"] == split(0, 100)


def test_both_regions_alarming_at_once_no_ping_pong_and_never_zero_in_both(
    emu: Emulator, instance: str, make_failover: MakeFailover
) -> None:
    # Given each region's function, each with its alarm (a partition: each region sees the other as impaired)
    groups = new_groups(emu, instance, 2)
    functions = {region: make_failover(region, groups) for region in (HOME, REPLICA)}
    emu.reset_calls()

    # When both alarms fire at the same moment, and EventBridge then delivers each once more
    def run(region: str, into: dict[str, Any]) -> None:
        into[region] = functions[region].invoke(events[region])

    events = {region: alarm(emu, region) for region in functions}
    first: dict[str, Any] = {}
    threads = [threading.Thread(target=run, args=(region, first)) for region in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for arn in groups:
        emu.wait_for_status(arn, "ACTIVE")
    moves_after_first = len(emu.calls(UPDATE))
    second = {region: functions[region].invoke(events[region]) for region in functions}

    # Then every update sent was 100/0, each group ends 100 % in one region, and the second round moved nothing
    for call in emu.calls(UPDATE):
        telephony = sorted(d["Percentage"] for d in call["params"]["TelephonyConfig"]["Distributions"])
        assert telephony == [0, 100]
    for arn in groups:
        assert sorted(d["Percentage"] for d in where(emu, arn)["TelephonyConfig"]["Distributions"]) == [0, 100]
    assert 1 <= moves_after_first <= 2 * len(groups)
    assert len(emu.calls(UPDATE)) == moves_after_first
    outcomes = [line["Outcome"] for invocation in second.values() for line in lines(invocation)]
    assert sorted(set(outcomes)) <= ["AlreadyShifted", "HeldByCooldown"]
    # And each function moved traffic only into its own region, through its own region's endpoint
    for call in emu.calls(UPDATE):
        (into,) = [d["Region"] for d in call["params"]["TelephonyConfig"]["Distributions"] if d["Percentage"] == 100]
        assert into == call["region"]


def test_the_manual_trigger_moves_within_the_cooldown_and_fails_back(
    emu: Emulator, instance: str, make_failover: MakeFailover
) -> None:
    (group,) = new_groups(emu, instance, 1)
    west, east = make_failover(REPLICA, [group]), make_failover(HOME, [group])
    assert west.invoke(manual(REPLICA)).result["Moved"] == 1
    emu.wait_for_status(group, "ACTIVE")

    # An alarm in us-east-1 a minute later is held: the move was a decision
    held = east.invoke(alarm(emu, HOME))
    assert held.result["HeldByCooldown"] == 1
    assert "make failover TO=us-east-1" in lines(held)[0]["Reason"]

    # The operator's failback is not
    back = east.invoke(manual(HOME))
    assert back.result["Moved"] == 1
    assert where(emu, group)["TelephonyConfig"] == split(100, 0)


def test_a_manual_trigger_into_another_region_is_refused_with_its_reason(
    emu: Emulator, instance: str, make_failover: MakeFailover
) -> None:
    (group,) = new_groups(emu, instance, 1)
    emu.reset_calls()

    refused = make_failover(REPLICA, [group]).invoke(manual(HOME))

    assert refused.failed and refused.error["errorType"] == "ConfigurationError"
    assert "moves traffic only into its own region" in lines(refused, "Failover refused")[0]["Reason"]
    assert emu.calls(service="connect") == []


def test_a_bare_group_id_fails_the_first_event_with_a_clear_message(
    emu: Emulator, instance: str, make_failover: MakeFailover
) -> None:
    (group,) = new_groups(emu, instance, 1)

    refused = make_failover(REPLICA, [group.rsplit("/", 1)[1]]).invoke(alarm(emu, REPLICA))

    assert refused.failed
    assert "is a bare group id" in lines(refused, "Failover refused")[0]["Reason"]


def test_twenty_groups_move_under_the_two_requests_a_second_quota(emu: Emulator, make_failover: MakeFailover) -> None:
    # Given 20 groups over two instances (the emulator's quota is 10 groups per instance, the default included)
    groups: list[str] = []
    for _ in range(2):
        instance = emu.add_instance(home_region=HOME, replica_region=REPLICA)
        groups += new_groups(emu, instance, 9)
    groups += [g["Arn"] for g in emu.groups() if g["IsDefault"]]
    assert len(groups) == 20
    failover = make_failover(REPLICA, groups, timeout_s=120)
    emu.set_throttle(2.0, burst=5)
    emu.reset_calls()

    invocation = failover.invoke(alarm(emu, REPLICA))

    assert not invocation.failed, invocation.logs
    assert invocation.result["Moved"] == 20
    assert all(where(emu, arn)["TelephonyConfig"] == split(0, 100) for arn in groups)
    answered = [call for call in emu.calls(service="connect") if call["fault"] != "throttle"]
    assert len(answered) == 40  # one read and one update per group, nothing more
    assert regions_called(emu) == {REPLICA}


def test_a_failover_then_a_tags_only_update_then_a_failback_by_stack_update(
    make_driver: Callable[..., StackDriver], emu: Emulator, instance: str, make_failover: MakeFailover
) -> None:
    # Given a stack whose group and default group take all calls in us-east-1
    default = default_group(emu)["Arn"]
    driver = make_driver()
    stack = driver.create_stack(group_and_default_template(instance, default, team="cc", home=100))
    assert stack.status == "CREATE_COMPLETE"
    group = driver.requests[0].physical_id

    # 1. us-east-1's Connect goes down; 2. the alarm fires in us-west-2; 3. calls, agents and sign-in move
    emu.set_outage(HOME, "503")
    moved = make_failover(REPLICA, [group, default]).invoke(alarm(emu, REPLICA))
    assert moved.result["Moved"] == 2
    emu.set_outage(HOME, None)
    for arn in (group, default):
        emu.wait_for_status(arn, "ACTIVE")

    # 4. a tags-only stack update leaves them there
    emu.reset_calls()
    assert driver.update_stack(
        group_and_default_template(instance, default, team="contact-center", home=100)
    ).status == ("UPDATE_COMPLETE")
    assert emu.calls(UPDATE) == []
    assert where(emu, group)["TelephonyConfig"] == split(0, 100)
    assert where(emu, default)["TelephonyConfig"] == split(0, 100)

    # 5. a stack update of the distribution fails back
    assert driver.update_stack(
        group_and_default_template(instance, default, team="contact-center", home=90)
    ).status == ("UPDATE_COMPLETE")
    assert where(emu, group)["TelephonyConfig"] == split(90, 10)
    assert where(emu, default)["TelephonyConfig"] == split(90, 10)
