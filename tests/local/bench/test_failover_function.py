"""make bench's rows for the failover function (local/bench/failover_function.py): what each target judges."""

from __future__ import annotations

from typing import Any

from local.bench.failover_function import RUNS, render


def result(*, warm: float = 0.02, cold: float = 0.6, home_calls: int = 0, many_s: float = 17.6) -> dict[str, Any]:
    def runs(seconds: float) -> list[dict[str, Any]]:
        return [
            {"run": n, "ok": True, "error": None, "accepted_s": seconds, "home_calls": home_calls} for n in range(RUNS)
        ]

    many = {"ok": True, "error": None, "connect_s": many_s, "event_s": many_s + 0.1, "answered_calls": 40}
    return {
        "cold": runs(cold),
        "warm": runs(warm),
        "warm_up_ok": True,
        "many": {**many, "throttled": 0, "bound_s": 17.5},
    }


def verdicts(raw: dict[str, Any]) -> list[str]:
    return [outcome for _, _, outcome in render(raw)[1]]


def test_every_target_passes_within_its_bound() -> None:
    section, targets = render(result())

    assert "## The failover function" in section
    assert [name.split(",")[-1].strip() for name, _, _ in targets[:2]] == [
        "≤ 1 s warm (every run)",
        "≤ 3 s cold (every run)",
    ]
    assert all("PASS" in outcome for outcome in verdicts(result()))


def test_each_target_fails_on_its_own_measure() -> None:
    assert ["PASS" in v for v in verdicts(result(warm=1.01))] == [False, True, True, True]
    assert ["PASS" in v for v in verdicts(result(cold=3.2))] == [True, False, True, True]
    assert ["PASS" in v for v in verdicts(result(home_calls=1))] == [True, True, False, True]
    assert ["PASS" in v for v in verdicts(result(many_s=17.5 * 1.31))] == [True, True, True, False]


def test_a_run_that_did_not_move_the_group_fails_its_target() -> None:
    raw = result()
    raw["warm"][0]["ok"] = False

    assert "PASS" not in verdicts(raw)[0]
