"""One phase of ``make bench``: the status command (``python -m operate status``) on an instance with 10 groups,
under the account's 2 requests/s Connect quota, against the quota-bound minimum for the calls it makes.

An emulator of its own (its rate limit must not touch the other phases); the command runs as an operator runs it,
in its own process with real botocore. The table is rendered here too; :mod:`local.bench.__main__` places it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import boto3

from local.bench.probes import HANDLER_DIR, HOME, REPLICA
from local.bench.realworld import QUOTA_BURST, QUOTA_RATE, QUOTA_TARGET_RATIO, _med_max, _wrap, table, verdict
from local.emulator import Emulator

Result = dict[str, Any]

STATUS_GROUPS = 10  # Connect's quota of groups per instance, the default group among them
STATUS_RUNS = 3


def phase_status() -> list[Result]:
    with Emulator(creation_delay=0.0) as emulator:
        return [_status_run(emulator, run) for run in range(STATUS_RUNS)]


def _status_run(emulator: Emulator, run: int) -> Result:
    emulator.reset()  # no groups, no calls, and a full token bucket
    # Global routing, so that every read of the command answers (GetCrossRegionRouting refuses an instance without).
    instance = emulator.add_instance(home_region=HOME, replica_region=REPLICA, global_routing=True)
    connect = boto3.client("connect", region_name=HOME, endpoint_url=emulator.endpoint_url)  # make bench's keys
    for n in range(STATUS_GROUPS - 1):
        arn = connect.create_traffic_distribution_group(Name=f"status-{run}-{n}", InstanceId=instance)["Arn"]
        emulator.wait_for_status(arn, "ACTIVE")
    emulator.reset_calls()
    emulator.set_throttle(QUOTA_RATE, burst=QUOTA_BURST)  # a full bucket, as an account at rest has
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "operate", "status", "--instance", instance, "--format", "json"],
        env={
            **os.environ,
            "AWS_ENDPOINT_URL_CONNECT": emulator.endpoint_url,
            "PYTHONPATH": str(HANDLER_DIR),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    total = time.monotonic() - started
    calls = emulator.calls(service="connect")
    document = json.loads(done.stdout) if done.stdout else {}
    return {
        "run": run,
        "total_s": total,
        "exit": done.returncode,
        "groups": len(document.get("groups", [])),
        "calls": len(calls),
        "made": sum(1 for c in calls if c["fault"] != "throttle"),  # each took a token of the bucket
        "throttled": sum(1 for c in calls if c["fault"] == "throttle"),
        "other_errors": sum(1 for c in calls if c["error"] is not None and c["fault"] != "throttle"),
        "stderr": done.stderr[-500:] if done.returncode not in (0, 1) else "",
    }


def status_bound(run: Result) -> float:
    """The quota-bound minimum: the burst at once, then one call every 1/rate seconds."""
    return max(0.0, (float(run["made"]) - QUOTA_BURST) / QUOTA_RATE)


def failed(run: Result) -> bool:
    """A run fails when the command does not finish with a document of every group, or a call fails."""
    return run["exit"] not in (0, 1) or run["groups"] != STATUS_GROUPS or run["other_errors"] > 0


def render_status(runs: Sequence[Result]) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The section and its row for the Targets table."""
    ratios = [r["total_s"] / status_bound(r) for r in runs if status_bound(r) > 0]
    failures = sum(failed(r) for r in runs)
    out = [
        "## The status command under the account's quota",
        "",
        *_wrap(
            f"`python -m operate status --format json` (what `make status` runs) on an instance with {STATUS_GROUPS} "
            f"groups (the default group and {STATUS_GROUPS - 1} others), in its own process with real botocore, "
            f"under `emu.set_throttle({QUOTA_RATE:g}, burst={QUOTA_BURST})`, the bucket full at the start. "
            f"{STATUS_RUNS} runs, each from a reset emulator. The quota-bound minimum is the time the bucket needs for "
            f"the calls the command made: (calls - {QUOTA_BURST}) / {QUOTA_RATE:g} s. Cells are median (max)."
        ),
        "",
        table(
            ("runs", "total", "quota-bound minimum", "ratio", "calls", "throttled", "failed runs"),
            [
                (
                    len(runs),
                    _med_max([r["total_s"] for r in runs]),
                    _med_max([status_bound(r) for r in runs]),
                    _med_max(ratios, "x"),
                    _med_max([r["made"] for r in runs], "", 0),
                    _med_max([r["throttled"] for r in runs], "", 0),
                    failures,
                )
            ],
        ),
        "",
    ]
    out += [f"- run {r['run']} failed: exit {r['exit']}, {r['stderr'].strip()}" for r in runs if failed(r)]
    worst = max(ratios, default=float("inf"))
    targets = [
        (
            f"Status of an instance with {STATUS_GROUPS} groups ≤ {QUOTA_TARGET_RATIO:g}x the quota-bound minimum, "
            f"0 failed runs under {QUOTA_RATE:g} requests/s",
            f"max {worst:.2f}x, {failures} failed",
            verdict(worst <= QUOTA_TARGET_RATIO and failures == 0),
        )
    ]
    return out, targets
