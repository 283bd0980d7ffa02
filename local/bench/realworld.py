"""Two phases of ``make bench`` against Connect as it behaves in production: the account's request quota
shared by many resources at once, and a failover while the instance's home region is down.

Each phase has an emulator of its own (a rate limit or an outage must not touch the latency phase) and
shares the bench's ResponseServer. The tables are rendered here too; :mod:`local.bench.__main__` places them.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from local.bench.probes import HANDLER_DIR, HOME, REPLICA, group_properties
from local.cloudformation import ResponseServer, StackDriver
from local.emulator import Emulator
from local.runtime import LambdaFunction

Result = dict[str, Any]

# -- many resources at once under the account's quota
QUOTA_NS = (1, 4, 8, 16)
QUOTA_RUNS = 3
QUOTA_RATE = 2.0  # Connect: 2 requests/s per account and region ...
QUOTA_BURST = 5  # ... with a burst of 5
QUOTA_CREATION_DELAY = 3.0  # seconds until a new group is ACTIVE
GROUPS_PER_INSTANCE = 9  # Connect allows 10 groups per instance, and the default group is one of them
# One resource's minimal call sequence: create, see it ACTIVE, read its distribution (no TelephonyConfig given).
MINIMAL_CALLS = ("CreateTrafficDistributionGroup", "DescribeTrafficDistributionGroup", "GetTrafficDistribution")
QUOTA_TARGET_RATIO = 1.3
# For N = 1 or 4 the quota-bound minimum is a few seconds, of which process start-up takes a second or two: an
# allowance in seconds, not a ratio, covers it.
QUOTA_TARGET_SLACK_S = 2.0

# -- failover with the home region down
FAILOVER_RUNS = 5
FAILOVER_TARGET_S = 1.0


# ------------------------------------------------------------------------------------------------
# Many resources at once


def phase_quota(server: ResponseServer) -> list[Result]:
    """Every N of QUOTA_NS, QUOTA_RUNS times (the Ns interleaved, so that drift hits all alike)."""
    with Emulator(creation_delay=QUOTA_CREATION_DELAY) as emulator:
        return [_quota_run(emulator, server, n, run) for run in range(QUOTA_RUNS) for n in QUOTA_NS]


def _quota_run(emulator: Emulator, server: ResponseServer, n: int, run: int) -> Result:
    emulator.reset()  # no groups, no calls, and a full token bucket
    instances = [
        emulator.add_instance(home_region=HOME, replica_region=REPLICA) for _ in range(-(-n // GROUPS_PER_INSTANCE))
    ]
    emulator.set_throttle(QUOTA_RATE, burst=QUOTA_BURST)
    function = LambdaFunction(
        HANDLER_DIR, "app.handler", timeout_s=900, ssl_cert_file=server.ca_pem_path, endpoint_url=emulator.endpoint_url
    )
    driver = StackDriver(
        server, [function], stack_name=f"quota-{n}-{run}", rules_source=emulator, poll_mode="realtime", parallel=True
    )
    resources = {
        f"Tdg{i}": {
            "Type": "Custom::TrafficDistributionGroup",
            "Properties": {
                "ServiceToken": function.arn,
                "Name": f"quota-{n}-{run}-{i}",
                "InstanceId": instances[i // GROUPS_PER_INSTANCE],
            },
        }
        for i in range(n)
    }
    stack = driver.create_stack({"Resources": resources})
    calls = emulator.calls(service="connect")
    creates = {r.request_id: r for r in driver.requests if r.request_type == "Create"}
    delivered = [r.invocations[0].started_at for r in creates.values() if r.invocations]
    answered = [r.answers[0]["received_at"] for r in creates.values() if r.answers]
    # Each request's first Connect call is its Create, whose ClientToken is the request's RequestId.
    first_call = {
        request_id: min((c["time"] for c in calls if c["params"].get("ClientToken") == request_id), default=None)
        for request_id in creates
    }
    start_up = [
        first - rec.invocations[0].started_at
        for request_id, rec in creates.items()
        if (first := first_call[request_id]) is not None and rec.invocations
    ]
    complete = len(answered) == n and bool(delivered)
    return {
        "n": n,
        "run": run,
        "status": stack.status,
        "total_s": max(answered) - min(delivered) if complete else None,
        "from_first_call_s": max(answered) - min(c["time"] for c in calls) if complete and calls else None,
        "start_up_s": start_up,
        "calls": len(calls),
        "successful": sum(1 for c in calls if c["status"] == 200),
        "throttled": sum(1 for c in calls if c["error"] == "ThrottlingException"),
        "throttle_count": emulator.throttle_count(),
        "other_errors": sorted({c["error"] for c in calls if c["error"] not in (None, "ThrottlingException")}),
        "failed": sum(1 for r in creates.values() if r.status != "SUCCESS"),
        "invocations": sum(len(r.invocations) for r in creates.values()),
        "polls": sum(r.polls for r in creates.values()),
        "unused_quota_s": _unused_quota_s(calls),
        "internal_errors": len(emulator.internal_errors()),
        "violations": [f"quota N={n}: {v}" for v in driver.violations],
    }


def _unused_quota_s(calls: Sequence[Result]) -> float:
    """Seconds of the quota that went unused between the first and the last call: the tokens the bucket
    could not hold because it was full, replayed from the recorded calls (each call not throttled used a token)."""
    buckets: dict[str, tuple[float, float]] = {}  # region -> (tokens, at)
    lost = 0.0
    for call in sorted(calls, key=lambda c: c["time"]):
        tokens, at = buckets.get(call["region"], (float(QUOTA_BURST), call["time"]))
        tokens += (call["time"] - at) * QUOTA_RATE
        lost += max(0.0, tokens - QUOTA_BURST)
        tokens = min(float(QUOTA_BURST), tokens) - (call["error"] != "ThrottlingException")
        buckets[call["region"]] = (max(0.0, tokens), call["time"])
    return lost / QUOTA_RATE


def quota_bound(run: Result, sequence_s: float) -> tuple[float, float]:
    """(the bound the brief defines, the strict one): max(one resource alone, the quota's time for the calls)."""
    alone = QUOTA_CREATION_DELAY + sequence_s
    needed = max(0.0, (run["successful"] - QUOTA_BURST) / QUOTA_RATE)
    strict = max(0.0, (len(MINIMAL_CALLS) * run["n"] - QUOTA_BURST) / QUOTA_RATE)
    return max(alone, needed), max(alone, strict)


def quota_target(bound: float) -> float:
    """The target total time of a run whose quota-bound minimum is ``bound``: the larger of 1.3x it and it + 2 s."""
    return max(QUOTA_TARGET_RATIO * bound, bound + QUOTA_TARGET_SLACK_S)


def render_quota(runs: Sequence[Result], sequence_s: float) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The section and its rows for the Targets table."""
    rows = []
    worst: dict[int, float] = {}
    worst_after_start: dict[int, float] = {}
    failed_16 = 0
    for n in QUOTA_NS:
        mine = [r for r in runs if r["n"] == n]
        timed = [r for r in mine if r["total_s"] is not None]
        if not timed:
            rows.append((n, len(mine), "no complete run", *[""] * 10, sum(r["failed"] for r in mine)))
            continue
        bounds = [quota_bound(r, sequence_s) for r in timed]
        ratios = [r["total_s"] / b for r, (b, _) in zip(timed, bounds, strict=True)]
        after_start = [r["from_first_call_s"] / b for r, (b, _) in zip(timed, bounds, strict=True)]
        # Against the target: 1.00 is the target itself.
        worst[n] = max(r["total_s"] / quota_target(b) for r, (b, _) in zip(timed, bounds, strict=True))
        worst_after_start[n] = max(
            r["from_first_call_s"] / quota_target(b) for r, (b, _) in zip(timed, bounds, strict=True)
        )
        first_call = [r["total_s"] - r["from_first_call_s"] for r in timed]
        start_up = [s for r in timed for s in r["start_up_s"]]
        failed = sum(r["failed"] for r in mine)
        failed_16 += failed if n == 16 else 0
        rows.append(
            (
                n,
                len(mine),
                _med_max([r["total_s"] for r in timed]),
                _med([b for b, _ in bounds]),
                _med([quota_target(b) for b, _ in bounds]),
                _med_max(ratios, "x"),
                _med([s for _, s in bounds]),
                _med_max(first_call),
                _med_max(start_up),
                _med_max(after_start, "x"),
                _med_max([r["calls"] for r in mine], "", 0),
                _med_max([r["successful"] for r in mine], "", 0),
                _med_max([r["throttled"] for r in mine], "", 0),
                failed,
            )
        )
    out = [
        "## Many resources at once under the account's quota",
        "",
        *_wrap(
            f"N `Custom::TrafficDistributionGroup` resources (Name and InstanceId only) in one stack, created with "
            f"`StackDriver(parallel=True)` (one invocation process per resource, all started at once) under "
            f"`emu.set_throttle({QUOTA_RATE:g}, burst={QUOTA_BURST})`: Connect allows {QUOTA_RATE:g} requests/s with "
            f"a burst of {QUOTA_BURST} per account and region. Every group is ACTIVE {QUOTA_CREATION_DELAY:g} s after "
            f"its Create; {GROUPS_PER_INSTANCE} groups per instance (Connect's quota of 10 groups counts the default "
            f"group). {QUOTA_RUNS} runs of each N, the Ns interleaved; each run starts from a reset emulator (full "
            "token bucket). Cells are median (max) over the runs; FAILED is the sum."
        ),
        "",
        table(
            (
                "N",
                "runs",
                "total stack time",
                "quota-bound min",
                "target",
                "ratio",
                "strict bound",
                "first event → first Connect call",
                "start-up per resource",
                "ratio from first call",
                "Connect calls",
                "successful",
                "throttled",
                "FAILED",
            ),
            rows,
        ),
        "",
        *_wrap(
            "- **Total stack time**: from the start of the first Create invocation to the last answer at the "
            "ResponseServer (the driver's records).",
            indent="  ",
        ),
        *_wrap(
            f"- **Quota-bound min** = max(creation delay + one resource's minimal call sequence, (successful calls "
            f"- burst) / rate) = max({QUOTA_CREATION_DELAY:g} s + {sequence_s * 1000:.0f} ms, (successful - "
            f"{QUOTA_BURST}) / {QUOTA_RATE:g} per s). The minimal sequence is "
            f"{', '.join(f'`{c}`' for c in MINIMAL_CALLS)} and the answer, timed as the warm Create of *Work per "
            "event* (group ACTIVE at once, median). *Successful* = the calls Connect answered with HTTP 200: the "
            "calls the provider needed without throttles, its polls of groups still being created included. "
            "Throttled calls use no token, so once the burst is spent no schedule finishes the successful calls "
            "sooner.",
            indent="  ",
        ),
        *_wrap(
            f"- **Target** = max({QUOTA_TARGET_RATIO:g}x quota-bound min, quota-bound min + "
            f"{QUOTA_TARGET_SLACK_S:g} s). For N = 1 or 4 the minimum is a few seconds, and the start of the "
            "invocation processes (interpreter and imports, before the first Connect call) dominates it: no ratio of "
            f"a few seconds absorbs that, {QUOTA_TARGET_SLACK_S:g} s do. For large N the ratio is the larger and "
            "governs. **Ratio** = total stack time / quota-bound min.",
            indent="  ",
        ),
        *_wrap(
            f"- **Strict bound**: the same with only the minimal {len(MINIMAL_CALLS)} calls per resource, as if "
            "every first Describe came just after its group was ACTIVE (no poll of a group still being created).",
            indent="  ",
        ),
        *_wrap(
            "- **First event → first Connect call**: how long the quota stood idle at the start while the "
            "invocation processes started. **Start-up per resource**: its event's delivery → its own Create call "
            "(ClientToken = RequestId), over every resource of the runs. **Ratio from first call** leaves the "
            "start-up out: (last answer - first Connect call) / quota-bound min.",
            indent="  ",
        ),
        "",
    ]
    targets = [
        ("0 FAILED answers at N = 16 (quota phase)", f"{failed_16} FAILED", verdict(failed_16 == 0)),
        *(
            (
                f"Total ≤ max({QUOTA_TARGET_RATIO:g}x quota-bound min, min + {QUOTA_TARGET_SLACK_S:g} s), N = {n} "
                "(every run)",
                f"max {share:.2f} of the target ({worst_after_start[n]:.2f} from the first call)",
                verdict(share <= 1),
            )
            for n, share in worst.items()
        ),
    ]
    missed = [n for n, share in worst.items() if share > 1]
    if missed:
        out += _quota_miss(runs, missed, worst_after_start)
    return out, targets


def _quota_miss(runs: Sequence[Result], missed: list[int], after_start: dict[int, float]) -> list[str]:
    def median(n: int, key: Callable[[Result], float]) -> float:
        return statistics.median(key(r) for r in runs if r["n"] == n and r["total_s"] is not None)

    idle = ", ".join(f"{median(n, lambda r: r['total_s'] - r['from_first_call_s']):.2f} s for N = {n}" for n in missed)

    def unused(n: int) -> str:
        values = [r["unused_quota_s"] for r in runs if r["n"] == n]
        return f"{statistics.median(values):.1f} s ({max(values):.1f} s) for N = {n}"

    # Where the quota, not the creation delay, is the bound (the bucket idles while one group is created).
    quota_bound_ns = [
        n for n in missed if median(n, lambda r: (r["successful"] - QUOTA_BURST) / QUOTA_RATE) > QUOTA_CREATION_DELAY
    ]
    still = [n for n in missed if after_start[n] > 1]
    text = (
        f"Why the target is missed for N = {', '.join(map(str, missed))}: the measured time "
        "holds delays the bound leaves out. (1) Start-up: no Connect call is made until an invocation process "
        f"has started and imported the handler (median first event → first Connect call: {idle}); all N processes "
        f"start at once on this machine's {_cores()} cores, while on Lambda each container has a CPU of its own. "
        "(2) Polling: the provider sees a group ACTIVE only at its next Describe, up to 1.5 s after it became "
        f"ACTIVE (*Ready → answered* above), which weighs most against a {QUOTA_CREATION_DELAY:g} s creation."
    )
    if still:
        text += (
            f" Measured from the first Connect call, N = {' and '.join(map(str, still))} still miss the target in "
            "some run. (3) Unused quota: throttled invocations back off (doubling, up to 16 s between tries) and "
            "poll more slowly, so at times the bucket is full and no call comes. Quota left unused between the "
            "first and the last Connect call, replayed from the recorded calls (tokens a full bucket could not "
            f"hold), median (max): {'; '.join(unused(n) for n in quota_bound_ns)}."
        )
    else:
        text += " Measured from the first Connect call, every run of every N meets the target."
    return [*_wrap(text), ""]


# ------------------------------------------------------------------------------------------------
# Failover with the home region down (cold: one fresh process per invocation, through the driver)


def phase_failover_cold(server: ResponseServer) -> list[Result]:
    with Emulator() as emulator:
        instance = emulator.add_instance(home_region=HOME, replica_region=REPLICA)
        function = LambdaFunction(
            HANDLER_DIR,
            "app.handler",
            timeout_s=900,
            region=REPLICA,
            ssl_cert_file=server.ca_pem_path,
            endpoint_url=emulator.endpoint_url,
        )
        results = []
        for run in range(FAILOVER_RUNS):
            emulator.set_outage(HOME, None)
            name = f"failover-cold-{run}"
            driver = StackDriver(
                server, [function], stack_name=name, region=REPLICA, rules_source=emulator, poll_mode="realtime"
            )

            def template(home: int, name: str = name) -> dict[str, Any]:
                props = {"ServiceToken": function.arn, **group_properties(name, instance, home)}
                return {"Resources": {"Tdg": {"Type": "Custom::TrafficDistributionGroup", "Properties": props}}}

            created = driver.create_stack(template(100))
            if created.status != "CREATE_COMPLETE":
                results.append({"run": run, "ok": False, "reason": f"create: {created.status_reason}", "home_calls": 0})
                continue
            emulator.set_outage(HOME, "503")
            emulator.reset_calls()
            stack = driver.update_stack(template(0))
            update = driver.requests[-1]
            calls = emulator.calls(service="connect")
            accepted = [
                c["time"] for c in calls if c["operation"] == "UpdateTrafficDistribution" and c["status"] == 200
            ]
            group = emulator.group(update.physical_id)["Distribution"] if update.physical_id else {}
            delivered = update.invocations[0].started_at if update.invocations else None
            results.append(
                {
                    "run": run,
                    "ok": stack.status == "UPDATE_COMPLETE" and update.request_type == "Update" and bool(accepted),
                    "reason": stack.status_reason,
                    "accepted_s": accepted[0] - delivered if accepted and delivered else None,
                    "answered_s": update.answers[0]["received_at"] - delivered
                    if update.answers and delivered
                    else None,
                    "home_calls": sum(1 for c in calls if c["region"] == HOME),
                    "calls": [f"{c['operation']}@{c['region']}:{c['status']}" for c in calls],
                    "moved": all(
                        cfg.get("Distributions")
                        == [{"Region": HOME, "Percentage": 0}, {"Region": REPLICA, "Percentage": 100}]
                        for cfg in (group.get("TelephonyConfig", {}), group.get("AgentConfig", {}))
                    ),
                    "violations": [f"failover {name}: {v}" for v in driver.violations],
                }
            )
            emulator.set_outage(HOME, None)
        return results


def render_failover(cold: Sequence[Result], warm: Result) -> tuple[list[str], list[tuple[str, str, str]]]:
    warm_runs: list[Result] = warm["runs"]
    rows = []
    for label, runs in (("cold (fresh process per invocation)", cold), ("warm (app imported, one warm-up)", warm_runs)):
        good = [r for r in runs if r["ok"] and r.get("moved", True)]
        rows.append(
            (
                label,
                f"{len(good)}/{len(runs)}",
                *stats([r["accepted_s"] for r in good if r["accepted_s"] is not None], "s", 3),
                *stats([r["answered_s"] for r in good if r["answered_s"] is not None], "s", 3),
                sum(r["home_calls"] for r in runs),
            )
        )
    out = [
        "## Failover with the home region down",
        "",
        *_wrap(
            f'A group stack deployed in {REPLICA} (`StackDriver(region="{REPLICA}")`, provider '
            f'`LambdaFunction(region="{REPLICA}")`) for an instance at home in {HOME}, created with TelephonyConfig '
            f'and AgentConfig 100% in {HOME} (and a tag); then `emu.set_outage("{HOME}", "503")` and an update moving '
            f"both 100% to {REPLICA}, tags unchanged. {FAILOVER_RUNS} runs each, each with a new group; the "
            "emulator's default delays (Connect applies a distribution 0.3 s after accepting it). **Cold**: through "
            "the driver, the Update's invocation a fresh process (interpreter start and imports included). **Warm**: "
            "one process (`python -m local.bench.probes failover`) imports `app` once and handles a warm-up Create; "
            "then each run creates a group and times the Update event handled in-process by `app.handler`."
        ),
        "",
        table(
            (
                "container",
                "runs OK",
                "event → UpdateTrafficDistribution accepted median",
                "max",
                "event → answer median",
                "max",
                f"Connect calls to {HOME} during the updates",
            ),
            rows,
        ),
        "",
        *_wrap(
            "- **Event**: the Update event's delivery (cold: the invocation process's start; warm: the "
            "`app.handler` call). **Accepted**: the emulator's record of the `UpdateTrafficDistribution` call it "
            "answered with HTTP 200. **Answer**: the ResponseServer's `received_at`. One host, one wall clock.",
            indent="  ",
        ),
        *_wrap(
            f"- The answer comes once Connect reports the new distribution, read back in {REPLICA} at the "
            "provider's next poll (its first poll waits 0.5 to 1 s, jittered).",
            indent="  ",
        ),
    ]
    sequences = sorted({" → ".join(c.split(":")[0] for c in r["calls"]) for r in [*cold, *warm_runs] if r["ok"]})
    for sequence in sequences:
        out += _wrap(f"- Connect calls of an update (operation@region): {sequence}.", indent="  ")
    out += [""]
    bad = [r for r in [*cold, *warm_runs] if not r["ok"] or not r.get("moved", True)]
    if bad:
        out += [f"- run {r['run']}: not OK ({r.get('reason') or 'traffic not moved'})" for r in bad] + [""]
    warm_accepted = [
        r["accepted_s"] for r in warm_runs if r["ok"] and r.get("moved", True) and r["accepted_s"] is not None
    ]
    home_calls = sum(r["home_calls"] for r in [*cold, *warm_runs])
    worst = max(warm_accepted) if warm_accepted else float("inf")
    cold_accepted = [r["accepted_s"] for r in cold if r["ok"] and r["accepted_s"] is not None]
    targets = [
        (
            f"Failover event → UpdateTrafficDistribution accepted ≤ {FAILOVER_TARGET_S:g} s (warm, every run)",
            f"max {worst:.3f} s (cold median {_med(cold_accepted)})",
            verdict(worst <= FAILOVER_TARGET_S and len(warm_accepted) == len(warm_runs) == FAILOVER_RUNS),
        ),
        (f"No Connect call to {HOME} during the failover updates", f"{home_calls} calls", verdict(home_calls == 0)),
    ]
    return out, targets


# ------------------------------------------------------------------------------------------------
# Formatting


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _med(values: Sequence[float], unit: str = "s", digits: int = 2) -> str:
    if not values:
        return "n/a"
    suffix = f" {unit}" if unit == "s" else unit
    return f"{statistics.median(values):.{digits}f}{suffix}"


def _med_max(values: Sequence[float], unit: str = "s", digits: int = 2) -> str:
    if not values:
        return "n/a"
    suffix = f" {unit}" if unit == "s" else unit
    return f"{_med(values, unit, digits)} ({max(values):.{digits}f}{suffix})"


def stats(values: Sequence[float], unit: str = "s", digits: int = 2) -> tuple[str, str]:
    if not values:
        return ("n/a", "n/a")
    return (f"{statistics.median(values):.{digits}f} {unit}", f"{max(values):.{digits}f} {unit}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def _cores() -> int:
    return os.cpu_count() or 1


def _wrap(text: str, width: int = 112, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` characters; lines after the first start with ``indent``."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(f"{indent if lines else ''}{word}")
    return lines
