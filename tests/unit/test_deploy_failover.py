"""deploy/failover.py, behind `make failover TO=<region>`: the manual trigger the failover function accepts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from deploy import failover as command

from failover import Trigger, trigger_of
from tests.unit.conftest import GROUP_ARN, aws_client, load_event
from tests.unit.test_failover import config

ROOT = Path(__file__).resolve().parents[2]


def test_the_event_is_the_one_the_function_accepts() -> None:
    sent = command.entry("us-west-2", [GROUP_ARN], "game day")
    event = {**load_event("failover_manual"), "detail": json.loads(sent["Detail"])}

    assert (sent["Source"], sent["DetailType"]) == (event["source"], event["detail-type"])
    assert trigger_of(event, config("us-west-2")) == Trigger(
        name="manual", manual=True, groups=config("us-west-2").groups, note="game day"
    )


def test_it_puts_one_event_on_the_default_bus_and_prints_its_id(capsys: pytest.CaptureFixture[str]) -> None:
    client = aws_client("events")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": "11710aed-b79e-4468-a20b-bb3c0c3b4860"}]},
            {"Entries": [command.entry("us-west-2", [], "manual failover")]},
        )

        assert command.main(["--to", "us-west-2"], client=client) == 0

    assert "Sent failover request 11710aed-b79e-4468-a20b-bb3c0c3b4860 to the default event bus of us-west-2" in (
        capsys.readouterr().out
    )


def test_an_entry_eventbridge_refused_is_an_error_even_with_http_200() -> None:
    client = aws_client("events")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
        )

        with pytest.raises(RuntimeError, match=r"did not take the failover request \(InternalFailure: try again\)"):
            command.send(client, "us-west-2", [], "x")


def test_a_dry_run_prints_the_event_and_sends_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--to", "us-east-1", "--groups", f"{GROUP_ARN}, ", "--dry-run"], client=object()) == 0

    printed: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert json.loads(printed["Detail"]) == {"to": "us-east-1", "groups": [GROUP_ARN], "reason": "manual failover"}


def test_bare_group_ids_are_refused_before_anything_is_sent(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        command.main(["--to", "us-west-2", "--groups", GROUP_ARN.rsplit("/", 1)[1]], client=object())

    assert exit_.value.code == 2
    assert "--groups takes group ARNs, not bare ids" in capsys.readouterr().err


def test_make_failover_passes_the_region_and_the_groups() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "failover", "TO=us-west-2", f"GROUPS={GROUP_ARN}", "REASON=game day"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert f'-m deploy.failover --to "us-west-2" --groups "{GROUP_ARN}" --reason "game day"' in done.stdout
