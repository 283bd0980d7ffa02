"""failover.py: the configuration, what an event asks, and the move of each group into the function's region.

The events are JSON fixtures in the shape of the real ones: tests/events/alarm.json and alarm_composite.json follow
the examples of "Alarm events and EventBridge" in the CloudWatch User Guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html), for a single-metric
and a composite alarm. Connect is two real botocore clients behind Stubber, one per region: a call to the region
that is failing, whose Stubber has no response, fails the test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from distribution import Distribution
from failover import (
    Config,
    ConfigurationError,
    Ignored,
    Outcome,
    Summary,
    Trigger,
    fail_over,
    recently_changed,
    target,
    trigger_of,
)
from refs import GroupRef
from tests.unit.conftest import (
    ACCOUNT,
    GROUP_ARN,
    GROUP_ID,
    FakeClock,
    TwoRegions,
    load_event,
    outage,
    throttled,
    traffic,
)
from waiting import Budget

DEFAULT_GROUP_ID = "dddddddd-bbbb-cccc-dddd-eeeeeeeeeeee"
DEFAULT_GROUP_ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/{DEFAULT_GROUP_ID}"
ALARM = "connect-us-east-1-probe-failing"
COMPOSITE = "connect-us-east-1-impaired"
NOW = datetime(2026, 12, 6, 17, 5, tzinfo=UTC)
EAST, WEST = "us-east-1", "us-west-2"


def config(region: str = WEST, groups: str = GROUP_ARN, **env: str) -> Config:
    return Config.from_environment(
        {"FAILOVER_GROUP_ARNS": groups, "FAILOVER_ALARM_NAMES": f"{ALARM},{COMPOSITE}", **env}, region
    )


def ref(arn: str = GROUP_ARN) -> GroupRef:
    found = GroupRef.parse(arn, EAST)
    assert found is not None
    return found


# --- configuration ----------------------------------------------------------------------------------------


def test_the_environment_gives_groups_alarms_topic_and_cooldown() -> None:
    parsed = config(
        groups=f" {GROUP_ARN} ,{DEFAULT_GROUP_ARN},",
        FAILOVER_TOPIC_ARN="arn:aws:sns:us-west-2:123456789012:failover",
        FAILOVER_COOLDOWN_MINUTES="15",
    )

    assert parsed.region == WEST
    assert [g.value for g in parsed.groups] == [GROUP_ARN, DEFAULT_GROUP_ARN]
    assert parsed.alarm_names == {ALARM, COMPOSITE}
    assert parsed.topic_arn == "arn:aws:sns:us-west-2:123456789012:failover"
    assert parsed.cooldown == timedelta(minutes=15)


def test_the_cooldown_is_ten_minutes_unless_told() -> None:
    assert config().cooldown == timedelta(minutes=10)
    assert config().topic_arn == ""


def test_traffic_moves_out_of_the_partner_region_whichever_region_the_function_runs_in() -> None:
    assert config(WEST).other_region(ref()) == EAST
    assert config(EAST).other_region(ref()) == WEST


def test_a_bare_group_id_is_refused_because_the_other_region_needs_the_arn() -> None:
    with pytest.raises(ConfigurationError, match=rf"'{GROUP_ID}' is a bare group id\. Give each group's ARN") as error:
        config(groups=GROUP_ID)

    assert "a failover calls the other one" in error.value.reason
    assert error.value.code == "InvalidConfiguration"


def test_a_value_that_is_no_group_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="'arn:aws:connect:us-east-1:1:instance/x' is not a traffic"):
        config(groups="arn:aws:connect:us-east-1:1:instance/x")


def test_a_function_outside_the_groups_pair_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"pair us-east-1 and us-west-2, but this function runs in eu-west-2"):
        config("eu-west-2")


def test_a_group_in_a_region_connect_does_not_replicate_from_is_refused() -> None:
    arn = GROUP_ARN.replace(EAST, "ap-northeast-3")

    with pytest.raises(ConfigurationError, match="ap-northeast-3, where Connect does not replicate instances from"):
        config("ap-northeast-3", groups=arn)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FAILOVER_GROUP_ARNS": ""}, "FAILOVER_GROUP_ARNS is empty"),
        ({"FAILOVER_GROUP_ARNS": f"{GROUP_ARN},{GROUP_ARN}"}, "lists .* twice"),
        ({"FAILOVER_GROUP_ARNS": GROUP_ARN, "FAILOVER_COOLDOWN_MINUTES": "ten"}, "FAILOVER_COOLDOWN_MINUTES is 'ten'"),
        ({"FAILOVER_GROUP_ARNS": GROUP_ARN, "FAILOVER_COOLDOWN_MINUTES": "-1"}, "FAILOVER_COOLDOWN_MINUTES is '-1'"),
    ],
)
def test_configuration_that_cannot_work_names_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Config.from_environment(env, WEST)


# --- what an event asks -----------------------------------------------------------------------------------


def test_a_named_alarm_entering_alarm_is_a_trigger() -> None:
    trigger = trigger_of(load_event("alarm"), config())

    assert trigger == Trigger(
        name=ALARM, manual=False, note=load_event("alarm")["detail"]["state"]["reason"], groups=()
    )


def test_a_composite_alarm_is_a_trigger_too() -> None:
    trigger = trigger_of(load_event("alarm_composite"), config())

    assert isinstance(trigger, Trigger)
    assert trigger.name == COMPOSITE and not trigger.manual
    assert trigger.note.startswith("arn:aws:cloudwatch:us-west-2:123456789012:alarm:connect-us-east-1-probe-failing")


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_an_alarm_leaving_alarm_never_fails_back(state: str) -> None:
    event = load_event("alarm")
    event["detail"]["state"]["value"] = state

    ignored = trigger_of(event, config())

    assert isinstance(ignored, Ignored)
    assert ignored.alarm == ALARM
    assert f"is {state}: the function never fails back by itself" in ignored.reason


def test_an_alarm_the_function_was_not_told_of_is_ignored() -> None:
    event = load_event("alarm")
    event["detail"]["alarmName"] = "someone-elses-alarm"

    ignored = trigger_of(event, config())

    assert ignored == Ignored(
        f"alarm 'someone-elses-alarm' is not one of FAILOVER_ALARM_NAMES {sorted([ALARM, COMPOSITE])}",
        "someone-elses-alarm",
    )


def test_the_manual_trigger_moves_every_group_when_it_names_none() -> None:
    trigger = trigger_of(load_event("failover_manual"), config())

    assert trigger == Trigger(name="manual", manual=True, groups=(), note="game day")


def test_the_manual_trigger_may_name_some_groups() -> None:
    event = load_event("failover_manual")
    event["detail"]["groups"] = [DEFAULT_GROUP_ARN]

    trigger = trigger_of(event, config(groups=f"{GROUP_ARN},{DEFAULT_GROUP_ARN}"))

    assert isinstance(trigger, Trigger)
    assert [g.value for g in trigger.groups] == [DEFAULT_GROUP_ARN]


def test_the_manual_trigger_into_another_region_is_refused() -> None:
    event = load_event("failover_manual")
    event["detail"]["to"] = EAST

    with pytest.raises(ConfigurationError, match="moves traffic only into its own region: send the event to us-east-1"):
        trigger_of(event, config(WEST))


@pytest.mark.parametrize(
    ("groups", "message"),
    [([DEFAULT_GROUP_ARN], "which FAILOVER_GROUP_ARNS does not list"), ("all", "must be a list of group ARNs")],
)
def test_the_manual_trigger_names_only_configured_groups(groups: Any, message: str) -> None:
    event = load_event("failover_manual")
    event["detail"]["groups"] = groups

    with pytest.raises(ConfigurationError, match=message):
        trigger_of(event, config())


def test_any_other_event_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="neither a CloudWatch alarm state change nor a manual failover"):
        trigger_of(load_event("create"), config())


# --- the plan ---------------------------------------------------------------------------------------------


def test_the_target_is_everything_in_the_surviving_region() -> None:
    assert target(Distribution(telephony={EAST: 100, WEST: 0}), WEST, EAST) == Distribution(
        telephony={WEST: 100, EAST: 0}, agent={WEST: 100, EAST: 0}
    )


def test_on_the_default_group_sign_in_moves_too() -> None:
    current = Distribution(telephony={EAST: 100, WEST: 0}, sign_in={EAST: True, WEST: True})

    assert target(current, WEST, EAST).sign_in == {WEST: True, EAST: False}


@pytest.mark.parametrize(
    ("changed", "cooldown", "recent"),
    [
        ("2026-12-06T17:00:00+00:00", timedelta(minutes=10), True),
        ("2026-12-06T16:55:00+00:00", timedelta(minutes=10), False),
        ("2026-12-06T16:55:00.000001+00:00", timedelta(minutes=10), True),
        ("2026-12-06T17:04:00+00:00", timedelta(0), False),
        ("", timedelta(minutes=10), False),
    ],
)
def test_recently_changed_is_within_the_cooldown(changed: str, cooldown: timedelta, recent: bool) -> None:
    current = Distribution(telephony={EAST: 100, WEST: 0}, last_failover_time=changed)

    assert recently_changed(current, NOW, cooldown) is recent


# --- moving the groups ------------------------------------------------------------------------------------


@pytest.fixture
def budget_() -> Budget:
    return Budget(deadline=600.0, clock=lambda: 0.0, sleep=lambda seconds: None, jitter=lambda low, high: high)


def get(regions: TwoRegions, arn: str = GROUP_ARN, region: str = WEST, **kwargs: Any) -> None:
    regions.stubs[region].add_response("get_traffic_distribution", traffic(**kwargs), {"Id": arn})


def update(regions: TwoRegions, request: dict[str, Any], arn: str = GROUP_ARN, region: str = WEST) -> None:
    regions.stubs[region].add_response("update_traffic_distribution", {}, {"Id": arn, **request})


ALL_WEST = {
    "TelephonyConfig": {"Distributions": [{"Region": EAST, "Percentage": 0}, {"Region": WEST, "Percentage": 100}]},
    "AgentConfig": {"Distributions": [{"Region": EAST, "Percentage": 0}, {"Region": WEST, "Percentage": 100}]},
}
SIGN_IN_WEST = {
    "SignInConfig": {"Distributions": [{"Region": EAST, "Enabled": False}, {"Region": WEST, "Enabled": True}]}
}
SIGN_IN_BOTH = {
    "SignInConfig": {"Distributions": [{"Region": EAST, "Enabled": True}, {"Region": WEST, "Enabled": True}]}
}
ALL_EAST_TEXT, ALL_WEST_TEXT = "us-east-1=100,us-west-2=0", "us-east-1=0,us-west-2=100"
ALARMED = Trigger(name=ALARM, manual=False)
MANUAL = Trigger(name="manual", manual=True)


def run(regions: TwoRegions, budget: Budget, trigger: Trigger = ALARMED, **env: str) -> list[Any]:
    return fail_over(config(**env), trigger, regions, budget, lambda: NOW)


def test_a_group_moves_with_calls_only_to_the_surviving_region(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, LastFailoverTime=datetime(2026, 12, 1, tzinfo=UTC))
    update(regions, ALL_WEST)

    (result,) = run(regions, budget_)

    assert result.outcome is Outcome.MOVED
    assert regions.asked == [WEST]
    assert result.before.telephony == {EAST: 100, WEST: 0}
    assert result.after.telephony == {WEST: 100, EAST: 0} and result.after.agent == {WEST: 100, EAST: 0}
    assert result.log_fields(ALARMED) == {
        "Trigger": "alarm",
        "AlarmName": ALARM,
        "Group": GROUP_ARN,
        "Outcome": "Moved",
        "Into": WEST,
        "OutOf": EAST,
        "Before": {
            "TelephonyDistribution": "us-east-1=100,us-west-2=0",
            "AgentDistribution": "us-east-1=100,us-west-2=0",
        },
        "After": {
            "TelephonyDistribution": "us-east-1=0,us-west-2=100",
            "AgentDistribution": "us-east-1=0,us-west-2=100",
        },
        "LastFailoverTime": "2026-12-01T00:00:00+00:00",
        "MovedAt": NOW.isoformat(),
    }


def test_the_default_group_moves_sign_in_in_the_same_update(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, DEFAULT_GROUP_ARN, **SIGN_IN_BOTH)
    update(regions, {**ALL_WEST, **SIGN_IN_WEST}, DEFAULT_GROUP_ARN)

    (result,) = run(regions, budget_, groups=DEFAULT_GROUP_ARN)

    assert result.outcome is Outcome.MOVED
    assert result.after.sign_in == {WEST: True, EAST: False}


def test_a_group_already_shifted_gets_no_update(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, telephony={EAST: 0, WEST: 100}, LastFailoverTime=NOW - timedelta(minutes=1))

    (result,) = run(regions, budget_)

    assert result.outcome is Outcome.ALREADY_SHIFTED
    assert result.after == result.before


def test_a_default_group_whose_sign_in_has_not_moved_is_not_shifted(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, DEFAULT_GROUP_ARN, telephony={EAST: 0, WEST: 100}, **SIGN_IN_BOTH)
    update(regions, {**ALL_WEST, **SIGN_IN_WEST}, DEFAULT_GROUP_ARN)

    (result,) = run(regions, budget_, groups=DEFAULT_GROUP_ARN)

    assert result.outcome is Outcome.MOVED


def test_a_repeated_event_moves_nothing_twice(regions: TwoRegions, budget_: Budget) -> None:
    get(regions)
    update(regions, ALL_WEST)
    get(regions, telephony={EAST: 0, WEST: 100}, LastFailoverTime=NOW)

    first = run(regions, budget_)
    again = run(regions, budget_)

    assert [r.outcome for r in first + again] == [Outcome.MOVED, Outcome.ALREADY_SHIFTED]


def test_an_alarm_does_not_overrule_a_recent_move_to_the_other_region(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, LastFailoverTime=NOW - timedelta(minutes=3))

    (result,) = run(regions, budget_)

    assert result.outcome is Outcome.HELD
    assert "less than 10 minutes ago, and its traffic is not in us-west-2" in result.reason
    assert "make failover TO=us-west-2" in result.reason


def test_the_manual_trigger_moves_within_the_cooldown(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, LastFailoverTime=NOW - timedelta(minutes=3))
    update(regions, ALL_WEST)

    (result,) = run(regions, budget_, MANUAL)

    assert result.outcome is Outcome.MOVED


def test_an_alarm_moves_once_the_cooldown_has_passed(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, LastFailoverTime=NOW - timedelta(minutes=3))
    update(regions, ALL_WEST)

    (result,) = run(regions, budget_, FAILOVER_COOLDOWN_MINUTES="2")

    assert result.outcome is Outcome.MOVED


def test_both_regions_alarming_at_once_move_the_traffic_once(budget_: Budget) -> None:
    """West's alarm moves the calls west; east's alarm, a minute later, finds them moved a minute ago: no ping-pong.
    Each function calls only its own region, and the group is never at 0 % in both."""
    connect = TwoRegions(EAST, WEST)
    for stubber in connect.stubs.values():
        stubber.activate()
    get(connect, LastFailoverTime=NOW - timedelta(days=3))
    update(connect, ALL_WEST)
    get(connect, region=EAST, telephony={EAST: 0, WEST: 100}, LastFailoverTime=NOW)

    west = fail_over(config(WEST), ALARMED, connect, budget_, lambda: NOW)
    east = fail_over(config(EAST), ALARMED, connect, budget_, lambda: NOW + timedelta(minutes=1))

    assert [west[0].outcome, east[0].outcome] == [Outcome.MOVED, Outcome.HELD]
    assert connect.asked == [WEST, EAST]
    assert east[0].after.telephony == {EAST: 0, WEST: 100}
    for stubber in connect.stubs.values():
        stubber.assert_no_pending_responses()


def test_a_group_connect_does_not_know_fails_with_its_arn(regions: TwoRegions, budget_: Budget) -> None:
    regions.stubs[WEST].add_client_error("get_traffic_distribution", "ResourceNotFoundException", "not found", 404)

    (result,) = run(regions, budget_)

    assert (result.outcome, result.code) == (Outcome.FAILED, "GroupGone")
    assert result.reason == f"Connect in us-west-2 does not know {GROUP_ARN}: check FailoverGroupArns."


def test_a_group_that_is_not_active_fails_for_the_retry(regions: TwoRegions, budget_: Budget) -> None:
    get(regions)
    regions.stubs[WEST].add_client_error(
        "update_traffic_distribution", "InvalidRequestException", "status UPDATE_IN_PROGRESS must be ACTIVE", 400
    )

    (result,) = run(regions, budget_)

    assert (result.outcome, result.code) == (Outcome.FAILED, "NotActive")
    assert result.before is not None and result.after is None


def test_a_missing_permission_says_which_parameter_to_change(regions: TwoRegions, budget_: Budget) -> None:
    regions.stubs[WEST].add_client_error("get_traffic_distribution", "AccessDeniedException", "not authorized", 403)

    (result,) = run(regions, budget_)

    assert (result.outcome, result.code) == (Outcome.FAILED, "AccessDeniedException")
    assert result.reason.startswith("Connect GetTrafficDistribution failed with AccessDeniedException: not authorized.")
    assert "FailoverGroupArns parameter, in us-west-2 and its partner" in result.reason
    assert "ConnectInstanceArns" not in result.reason


def test_the_surviving_region_unavailable_fails_without_turning_to_the_other(
    regions: TwoRegions, budget_: Budget
) -> None:
    outage(regions.stubs[WEST], "get_traffic_distribution", 8)

    (result,) = run(regions, budget_)

    assert (result.outcome, result.code) == (Outcome.FAILED, "ServiceUnavailableException")
    assert regions.asked == [WEST]


def test_throttling_is_waited_out(regions: TwoRegions, budget_: Budget) -> None:
    throttled(regions.stubs[WEST], "get_traffic_distribution")
    get(regions)
    throttled(regions.stubs[WEST], "update_traffic_distribution")
    update(regions, ALL_WEST)

    (result,) = run(regions, budget_)

    assert result.outcome is Outcome.MOVED
    assert budget_.throttles == 2


def test_throttling_past_the_budget_fails_the_group_as_throttled(regions: TwoRegions) -> None:
    now = [0.0]
    budget = Budget(deadline=1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    throttled(regions.stubs[WEST], "get_traffic_distribution")
    throttled(regions.stubs[WEST], "get_traffic_distribution")

    (result,) = run(regions, budget)

    assert (result.outcome, result.code) == (Outcome.FAILED, "Throttling")


def test_one_group_failing_does_not_stop_the_others(regions: TwoRegions, budget_: Budget) -> None:
    regions.stubs[WEST].add_client_error("get_traffic_distribution", "AccessDeniedException", "no", 403)
    get(regions, DEFAULT_GROUP_ARN, **SIGN_IN_BOTH)
    update(regions, {**ALL_WEST, **SIGN_IN_WEST}, DEFAULT_GROUP_ARN)

    results = run(regions, budget_, groups=f"{GROUP_ARN},{DEFAULT_GROUP_ARN}")

    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.MOVED]
    summary = Summary(ALARMED, results)
    assert summary.counts() == {"Moved": 1, "AlreadyShifted": 0, "HeldByCooldown": 0, "Failed": 1}
    assert summary.failed() == [results[0]] and summary.worth_telling()


def test_the_manual_trigger_moves_only_the_groups_it_names(regions: TwoRegions, budget_: Budget) -> None:
    get(regions, DEFAULT_GROUP_ARN, **SIGN_IN_BOTH)
    update(regions, {**ALL_WEST, **SIGN_IN_WEST}, DEFAULT_GROUP_ARN)
    trigger = Trigger(name="manual", manual=True, groups=(ref(DEFAULT_GROUP_ARN),))

    results = run(regions, budget_, trigger, groups=f"{GROUP_ARN},{DEFAULT_GROUP_ARN}")

    assert [r.group.value for r in results] == [DEFAULT_GROUP_ARN]


def test_many_groups_are_paced_at_the_quota_not_throttled(
    regions: TwoRegions, clock: FakeClock, budget: Budget
) -> None:
    arns = [GROUP_ARN.replace("aaaaaaaa", f"{n:08d}") for n in range(4)]
    for arn in arns:
        get(regions, arn)
        update(regions, ALL_WEST, arn)

    results = run(regions, budget, groups=",".join(arns))

    assert [r.outcome for r in results] == [Outcome.MOVED] * 4
    assert clock.sleeps == [0.5, 0.5, 0.5]  # 8 calls: a burst of 5, then 2 a second


def test_a_summary_of_repeats_tells_no_one() -> None:
    shifted = Distribution(telephony={WEST: 100, EAST: 0})
    results = [fail_result(Outcome.ALREADY_SHIFTED, shifted)]

    assert not Summary(ALARMED, results).worth_telling()
    assert Summary(ALARMED, results).message(WEST) == (
        f"Connect failover into us-west-2, by alarm {ALARM}: "
        "{'Moved': 0, 'AlreadyShifted': 1, 'HeldByCooldown': 0, 'Failed': 0}.\n"
        f"- {GROUP_ARN}: AlreadyShifted"
    )


def fail_result(outcome: Outcome, before: Distribution) -> Any:
    from failover import GroupResult

    return GroupResult(ref(), outcome, WEST, EAST, before=before, after=before)
