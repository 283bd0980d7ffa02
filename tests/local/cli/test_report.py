"""What `make demo` and `make local` print (local/cli/report.py): 100 columns by default, everything with --verbose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from local.cli.report import Report, short

from local.cloudformation import Stack, StackDriver, StackResource, TimelineRecord

ROOT = Path(__file__).resolve().parents[3]
OLD = "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/19e34b6c-6a0b-4f46-960e-27b4fff7a886"
NEW = "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/19e34b6c-6a0b-4f46-960e-0000aaaa1111"
INSTANCE = "arn:aws:connect:us-east-1:123456789012:instance/e4e689d1-e417-4496-a095-2d9dfd128c3a"


def test_arns_and_ids_keep_the_end_of_the_id() -> None:
    assert short(OLD) == "tdg/…fff7a886"
    assert short(NEW) == "tdg/…aaaa1111"  # an old and a new group stay apart
    assert short(f"{INSTANCE} and 19e34b6c-6a0b-4f46-960e-27b4fff7a886") == "instance/…fd128c3a and …fff7a886"
    assert short("local-stack_Tdg_S0RZVTQS us-east-1=90") == "local-stack_Tdg_S0RZVTQS us-east-1=90"


def driver_with(physical_id: str, data: dict[str, Any]) -> StackDriver:
    driver = StackDriver(server=None)  # type: ignore[arg-type]  # nothing is sent
    stack = Stack("s", "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "us-east-1", "123456789012")
    stack.resources["Tdg"] = StackResource("Tdg", "Custom::TrafficDistributionGroup", physical_id, {}, data)
    driver.stack = stack
    return driver


def test_attributes_are_printed_when_they_change(capsys: pytest.CaptureFixture[str]) -> None:
    report = Report()
    data = {"Arn": OLD, "Status": "ACTIVE", "TelephonyDistribution": "us-east-1=100,us-west-2=0"}

    report._attributes(driver_with(OLD, data))
    first = capsys.readouterr().out
    report._attributes(driver_with(OLD, data))
    unchanged = capsys.readouterr().out
    report._attributes(driver_with(NEW, {**data, "Arn": NEW}))
    replaced = capsys.readouterr().out

    assert first.splitlines() == [
        "    !Ref Tdg = tdg/…fff7a886",
        "      !GetAtt Tdg.Arn = tdg/…fff7a886",
        "      !GetAtt Tdg.Status = ACTIVE",
        "      !GetAtt Tdg.TelephonyDistribution = us-east-1=100,us-west-2=0",
    ]
    assert unchanged.splitlines() == ["    !Ref Tdg = tdg/…fff7a886 (attributes unchanged)"]
    assert replaced.splitlines() == ["    !Ref Tdg = tdg/…aaaa1111", "      !GetAtt Tdg.Arn = tdg/…aaaa1111"]


def test_verbose_prints_everything_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    report = Report(verbose=True)
    for _ in range(2):
        report._attributes(driver_with(OLD, {"Arn": OLD}))

    assert capsys.readouterr().out.splitlines() == [f"    !Ref Tdg = {OLD}", f"      !GetAtt Tdg.Arn = {OLD}"] * 2


def test_long_reasons_are_wrapped_not_cut(capsys: pytest.CaptureFixture[str]) -> None:
    reason = "Cannot replace the group: the name is still held by the group this update replaces. " * 3

    Report().line(reason, indent=8, hang=0)

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and all(len(line) <= 100 for line in lines)
    assert " ".join(line.strip() for line in lines) == reason.strip()


def test_the_timeline_fits_100_columns(capsys: pytest.CaptureFixture[str]) -> None:
    driver = driver_with(OLD, {})
    assert driver.stack is not None
    stack_id = driver.stack.stack_id
    driver.timeline = [
        TimelineRecord(0.0, "UpdateStack", "", "", "a-long-stack-name-for-a-stack", stack_id, "UPDATE_IN_PROGRESS"),
        TimelineRecord(
            7.66,
            "UpdateStack",
            "",
            "",
            "a-long-stack-name-for-a-stack",
            stack_id,
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        ),
        TimelineRecord(
            8.1,
            "UpdateStack",
            "UPDATE_IN_PROGRESS",
            "Update",
            "ALogicalIdLongerThanTwentyCharacters",
            OLD,
            "FAILED",
            reason="x" * 300,
            duration_s=123.45,
            invocations=3,
            polls=12,
        ),
    ]

    Report().timeline(driver)

    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 100 for line in lines), lines
    assert lines[2].endswith("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    assert lines[3].endswith("FAILED   123.45  3/12  tdg/…fff7a886")
