"""``make bench``'s rows for the failover function (src/handler/failover_app.py): an alarm moves one group, cold and
warm, with the home region down; and 20 groups moved under the account's quota. An emulator of its own.

    python -m local.bench.failover_function   # this phase alone: prints its section and targets

The event is the emulator's "CloudWatch Alarm State Change" (``Emulator.set_alarm_state``), handed to the function in
the local Lambda runtime as the alarm rule would. The cooldown is 0: each run moves the same group back first.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import boto3

from local.bench.probes import HANDLER_DIR, HOME, REPLICA
from local.bench.realworld import stats, table, verdict
from local.emulator import Emulator
from local.runtime import Invocation, LambdaFunction

Result = dict[str, Any]

RUNS = 5
ALARM = "connect-partner-impaired-us-west-2"
WARM_TARGET_S, COLD_TARGET_S = 1.0, 3.0
MANY = 20
QUOTA_RATE, QUOTA_BURST = 2.0, 5  # Connect: 2 requests/s per account and region, with a burst of 5
CALLS_PER_GROUP = 2  # GetTrafficDistribution, UpdateTrafficDistribution
MANY_TARGET_RATIO = 1.3


def _split(home: int) -> dict[str, Any]:
    return {"Distributions": [{"Region": HOME, "Percentage": home}, {"Region": REPLICA, "Percentage": 100 - home}]}


def _connect(emulator: Emulator) -> Any:
    return boto3.client(
        "connect",
        region_name=HOME,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",  # noqa: S106 - the emulator takes any key
    )


def _groups(emulator: Emulator, instance: str, count: int, prefix: str) -> list[str]:
    client = _connect(emulator)
    arns = [
        client.create_traffic_distribution_group(Name=f"{prefix}-{n}", InstanceId=instance)["Arn"] for n in range(count)
    ]
    for arn in arns:
        emulator.wait_for_status(arn, "ACTIVE")
    return arns


def _function(emulator: Emulator, groups: list[str], *, warm: bool) -> LambdaFunction:
    return LambdaFunction(
        HANDLER_DIR,
        "failover_app.handler",
        env={"FAILOVER_GROUP_ARNS": ",".join(groups), "FAILOVER_ALARM_NAMES": ALARM, "FAILOVER_COOLDOWN_MINUTES": "0"},
        timeout_s=120,
        function_name="connect-tdg-failover",
        region=REPLICA,
        endpoint_url=emulator.endpoint_url,
        warm=warm,
    )


def _alarm(emulator: Emulator, function: LambdaFunction) -> Invocation:
    """The alarm enters ALARM (after an OK, so that it changes state) and its event reaches the function."""
    emulator.set_alarm_state(REPLICA, ALARM, "OK")
    event = emulator.set_alarm_state(REPLICA, ALARM, "ALARM")
    assert event is not None
    return function.invoke(event)


def _one_group_runs(emulator: Emulator, group: str, function: LambdaFunction) -> list[Result]:
    runs = []
    for run in range(RUNS):
        emulator.set_outage(HOME, None)
        emulator.wait_for_status(group, "ACTIVE")
        if emulator.group(group)["Distribution"]["TelephonyConfig"] != _split(100):
            _connect(emulator).update_traffic_distribution(
                Id=group, TelephonyConfig=_split(100), AgentConfig=_split(100)
            )
        emulator.wait_for_status(group, "ACTIVE")
        emulator.set_outage(HOME, "503")
        emulator.reset_calls()
        invocation = _alarm(emulator, function)
        calls = emulator.calls(service="connect")
        accepted = [c["time"] for c in calls if c["operation"] == "UpdateTrafficDistribution" and c["status"] == 200]
        runs.append(
            {
                "run": run,
                "ok": not invocation.failed and (invocation.result or {}).get("Moved") == 1,
                "error": invocation.error,
                "accepted_s": accepted[0] - invocation.started_at if accepted else None,
                "home_calls": sum(1 for c in calls if c["region"] == HOME),
            }
        )
    emulator.set_outage(HOME, None)
    return runs


def phase() -> Result:
    with Emulator(group_quota=MANY + 5) as emulator:
        instance = emulator.add_instance(home_region=HOME, replica_region=REPLICA)
        (group,) = _groups(emulator, instance, 1, "one")
        cold = _one_group_runs(emulator, group, _function(emulator, [group], warm=False))
        warm_function = _function(emulator, [group], warm=True)
        emulator.set_alarm_state(REPLICA, ALARM, "ALARM")
        warm_up = warm_function.invoke(emulator.set_alarm_state(REPLICA, ALARM, "OK") or {})  # init, no Connect call
        warm = _one_group_runs(emulator, group, warm_function)
        warm_function.close()

        groups = _groups(emulator, instance, MANY, "many")
        many_function = _function(emulator, groups, warm=True)
        many_function.invoke(emulator.set_alarm_state(REPLICA, ALARM, "OK") or {})  # the same warm-up
        emulator.set_throttle(QUOTA_RATE, QUOTA_BURST)  # buckets start full
        emulator.reset_calls()
        invocation = _alarm(emulator, many_function)
        many_function.close()
        calls = emulator.calls(service="connect")
        answered = [c for c in calls if c["fault"] != "throttle"]
        accepted = [c["time"] for c in answered if c["operation"] == "UpdateTrafficDistribution"]
        many = {
            "ok": not invocation.failed and (invocation.result or {}).get("Moved") == MANY,
            "error": invocation.error,
            "connect_s": max(accepted) - calls[0]["time"] if accepted else None,
            "event_s": max(accepted) - invocation.started_at if accepted else None,
            "answered_calls": len(answered),
            "throttled": len(calls) - len(answered),
            "bound_s": (MANY * CALLS_PER_GROUP - QUOTA_BURST) / QUOTA_RATE,
        }
    return {"cold": cold, "warm": warm, "warm_up_ok": not warm_up.failed, "many": many}


def render(result: Result) -> tuple[list[str], list[tuple[str, str, str]]]:
    rows = []
    for label, runs in (("cold (fresh process per invocation)", result["cold"]), ("warm", result["warm"])):
        good = [r for r in runs if r["ok"] and r["accepted_s"] is not None]
        rows.append((label, f"{len(good)}/{len(runs)}", *stats([r["accepted_s"] for r in good], "s", 3), _home(runs)))
    many = result["many"]
    out = [
        "## The failover function",
        "",
        *_wrap(
            '`failover_app.handler` in us-west-2 (`LambdaFunction(region="us-west-2")`, an emulator of its own), '
            "configured with one group at home in us-east-1; us-east-1's Connect answers 503; the emulator's alarm "
            f'`{ALARM}` enters ALARM and its "CloudWatch Alarm State Change" event is handed to the function. '
            f"{RUNS} runs each; between runs the group is moved back (cooldown 0). **Cold**: a fresh process per "
            "invocation (interpreter start and imports included). **Warm**: one environment, warmed by an OK event "
            "(which makes no Connect call). **Event**: the invocation's start; **accepted**: the emulator's record of "
            "the `UpdateTrafficDistribution` it answered with HTTP 200."
        ),
        "",
        table(
            (
                "container",
                "runs OK",
                "alarm event → UpdateTrafficDistribution accepted median",
                "max",
                "calls to us-east-1",
            ),
            rows,
        ),
        "",
        *_wrap(
            f"**{MANY} groups** under the account's quota (`set_throttle({QUOTA_RATE:g}, burst={QUOTA_BURST})`), warm: "
            f"{MANY * CALLS_PER_GROUP} calls at least (a read and an update per group), so the quota-bound minimum is "
            f"({MANY * CALLS_PER_GROUP} - {QUOTA_BURST}) / {QUOTA_RATE:g} = {many['bound_s']:.1f} s from the first "
            "call. The function paces its calls at that rate (`waiting.Pacer`); a throttled call is retried."
        ),
        "",
        table(
            (
                "moved",
                "first Connect call → last update accepted",
                "event → last update accepted",
                "calls answered",
                "throttled",
            ),
            [
                (
                    "all" if many["ok"] else f"NOT ALL ({many['error']})",
                    _seconds(many["connect_s"]),
                    _seconds(many["event_s"]),
                    many["answered_calls"],
                    many["throttled"],
                )
            ],
        ),
        "",
    ]
    warm_accepted = [r["accepted_s"] for r in result["warm"] if r["ok"] and r["accepted_s"] is not None]
    cold_accepted = [r["accepted_s"] for r in result["cold"] if r["ok"] and r["accepted_s"] is not None]
    home = _home(result["cold"]) + _home(result["warm"])
    worst_warm = max(warm_accepted, default=float("inf"))
    worst_cold = max(cold_accepted, default=float("inf"))
    ratio = many["connect_s"] / many["bound_s"] if many["connect_s"] is not None else float("inf")
    targets = [
        (
            f"Alarm event → UpdateTrafficDistribution accepted, one group, ≤ {WARM_TARGET_S:g} s warm (every run)",
            f"max {worst_warm:.3f} s",
            verdict(worst_warm <= WARM_TARGET_S and len(warm_accepted) == RUNS),
        ),
        (
            f"Alarm event → UpdateTrafficDistribution accepted, one group, ≤ {COLD_TARGET_S:g} s cold (every run)",
            f"max {worst_cold:.3f} s",
            verdict(worst_cold <= COLD_TARGET_S and len(cold_accepted) == RUNS),
        ),
        ("No call to the failing region (us-east-1) by the failover function", f"{home} calls", verdict(home == 0)),
        (
            f"{MANY} groups moved ≤ {MANY_TARGET_RATIO:g}x the quota-bound minimum ({many['bound_s']:.1f} s)",
            f"{ratio:.2f}x",
            verdict(many["ok"] and ratio <= MANY_TARGET_RATIO),
        ),
    ]
    return out, targets


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=112)


def _home(runs: Sequence[Result]) -> int:
    return sum(r["home_calls"] for r in runs)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def main() -> int:
    section, targets = render(phase())
    print("\n".join(section))
    print(table(("target", "measured", "result"), targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
