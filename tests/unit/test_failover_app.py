"""failover_app.py: the failover function's entry, in process. One JSON log line and one metric per group, the SNS
notification, and a failed invocation (for Lambda's retry) when a group could not be moved.

Connect and SNS are real botocore clients behind Stubber; the log lines are read from Powertools' stream.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

import failover_app
from failover import Config, ConfigurationError
from tests.unit.conftest import GROUP_ARN, FakeClock, FakeContext, TwoRegions, aws_client, load_event, traffic
from tests.unit.test_failover import ALARM, ALL_WEST, EAST, NOW, WEST, update

TOPIC = "arn:aws:sns:us-west-2:123456789012:connect-failover"


@pytest.fixture
def sns() -> Iterator[tuple[Any, Stubber]]:
    client = aws_client("sns")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(failover_app.logger.registered_handler, "stream", stream)
    return stream


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def invoke(
    event: dict[str, Any], regions: TwoRegions, sns: tuple[Any, Stubber], clock: FakeClock, **env: str
) -> dict[str, Any]:
    settings = {"FAILOVER_GROUP_ARNS": GROUP_ARN, "FAILOVER_ALARM_NAMES": ALARM, **env}
    return failover_app.handle(
        event,
        FakeContext(clock=clock, timeout_s=120),
        config=lambda: Config.from_environment(settings, WEST),
        clients=regions,
        notifier=lambda: sns[0],
        logger=failover_app.logger,
        metrics=failover_app.metrics,
        clock=clock,
        sleep=clock.sleep,
        now=lambda: NOW,
    )


def test_an_alarm_moves_the_group_logs_one_line_counts_it_and_notifies(
    regions: TwoRegions,
    sns: tuple[Any, Stubber],
    clock: FakeClock,
    lines: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    regions.stubs[WEST].add_response(
        "get_traffic_distribution", traffic(LastFailoverTime=NOW - timedelta(days=2)), {"Id": GROUP_ARN}
    )
    update(regions, ALL_WEST)
    sns[1].add_response(
        "publish",
        {"MessageId": "1"},
        {
            "TopicArn": TOPIC,
            "Subject": "Connect failover into us-west-2: Moved 1",
            "Message": f"Connect failover into us-west-2, by alarm {ALARM}: "
            "{'Moved': 1, 'AlreadyShifted': 0, 'HeldByCooldown': 0, 'Failed': 0}.\n"
            f"- {GROUP_ARN}: Moved",
        },
    )

    answer = invoke(load_event("alarm"), regions, sns, clock, FAILOVER_TOPIC_ARN=TOPIC)

    assert answer == {"Moved": 1, "AlreadyShifted": 0, "HeldByCooldown": 0, "Failed": 0}
    (line,) = records(lines)
    assert line["level"] == "INFO" and line["message"] == "Group failover"
    assert line["AlarmName"] == ALARM and line["Group"] == GROUP_ARN and line["Outcome"] == "Moved"
    assert line["Before"]["TelephonyDistribution"] == "us-east-1=100,us-west-2=0"
    assert line["After"]["TelephonyDistribution"] == "us-east-1=0,us-west-2=100"
    assert line["LastFailoverTime"] == (NOW - timedelta(days=2)).isoformat()
    metrics = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(m["GroupFailover"], m["GroupId"], m["Outcome"]) for m in metrics] == [
        ([1.0], GROUP_ARN.rsplit("/", 1)[1], "Moved")
    ]
    assert regions.asked == [WEST]


def test_an_alarm_back_to_ok_moves_nothing_and_says_why(
    regions: TwoRegions, sns: tuple[Any, Stubber], clock: FakeClock, lines: io.StringIO
) -> None:
    event = load_event("alarm")
    event["detail"]["state"]["value"] = "OK"

    answer = invoke(event, regions, sns, clock, FAILOVER_TOPIC_ARN=TOPIC)

    assert "never fails back by itself" in answer["Ignored"]
    (line,) = records(lines)
    assert line["message"] == "Event ignored" and line["AlarmName"] == ALARM
    assert regions.asked == []


def test_a_repeated_event_sends_nothing_and_tells_no_one(
    regions: TwoRegions, sns: tuple[Any, Stubber], clock: FakeClock, lines: io.StringIO
) -> None:
    regions.stubs[WEST].add_response(
        "get_traffic_distribution", traffic(telephony={EAST: 0, WEST: 100}, LastFailoverTime=NOW), {"Id": GROUP_ARN}
    )

    answer = invoke(load_event("alarm"), regions, sns, clock, FAILOVER_TOPIC_ARN=TOPIC)

    assert answer["AlreadyShifted"] == 1
    assert [line["Outcome"] for line in records(lines)] == ["AlreadyShifted"]


def test_a_group_not_moved_fails_the_invocation_for_lambdas_retry(
    regions: TwoRegions, sns: tuple[Any, Stubber], clock: FakeClock, lines: io.StringIO
) -> None:
    regions.stubs[WEST].add_client_error("get_traffic_distribution", "AccessDeniedException", "not authorized", 403)

    with pytest.raises(failover_app.FailoverIncomplete, match=r"1 of 1 groups were not moved into us-west-2") as error:
        invoke(load_event("alarm"), regions, sns, clock)

    assert error.value.code == "FailoverIncomplete"
    (line,) = records(lines)
    assert line["level"] == "ERROR" and line["Outcome"] == "Failed" and line["ErrorCode"] == "AccessDeniedException"
    assert "FailoverGroupArns" in line["Reason"]


def test_a_notification_that_fails_does_not_fail_the_failover(
    regions: TwoRegions, sns: tuple[Any, Stubber], clock: FakeClock, lines: io.StringIO
) -> None:
    regions.stubs[WEST].add_response("get_traffic_distribution", traffic(), {"Id": GROUP_ARN})
    update(regions, ALL_WEST)
    sns[1].add_client_error("publish", "AuthorizationError", "not allowed", 403)

    answer = invoke(load_event("failover_manual"), regions, sns, clock, FAILOVER_TOPIC_ARN=TOPIC)

    assert answer["Moved"] == 1
    assert [line["message"] for line in records(lines)] == ["Group failover", "Notification not sent"]
    assert records(lines)[0]["Trigger"] == "manual"


def test_bad_configuration_fails_the_first_event_with_its_reason(
    regions: TwoRegions, sns: tuple[Any, Stubber], clock: FakeClock, lines: io.StringIO
) -> None:
    with pytest.raises(ConfigurationError, match="is a bare group id"):
        invoke(load_event("alarm"), regions, sns, clock, FAILOVER_GROUP_ARNS=GROUP_ARN.rsplit("/", 1)[1])

    (line,) = records(lines)
    assert line["level"] == "ERROR" and line["message"] == "Failover refused"
    assert line["ErrorCode"] == "InvalidConfiguration" and "bare group id" in line["Reason"]
    assert regions.asked == []


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # an ignored event counts nothing
def test_the_lambda_handler_reads_its_configuration_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, lines: io.StringIO
) -> None:
    monkeypatch.setenv("FAILOVER_GROUP_ARNS", GROUP_ARN)
    monkeypatch.setenv("FAILOVER_ALARM_NAMES", "another-alarm")
    failover_app.load_config.cache_clear()
    try:
        answer = failover_app.handler(load_event("alarm"), FakeContext(clock=FakeClock()))
    finally:
        failover_app.load_config.cache_clear()

    assert "is not one of FAILOVER_ALARM_NAMES ['another-alarm']" in answer["Ignored"]
    (line,) = records(lines)
    assert line["EventId"] == "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92" and line["Source"] == "aws.cloudwatch"
    assert line["Region"] == failover_app.REGION
