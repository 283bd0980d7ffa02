"""CloudWatch alarms, as far as the failover function sees them: the "CloudWatch Alarm State Change" event.

CloudWatch sends one to the default EventBridge bus of the alarm's Region whenever an alarm changes state; the
shape here is that of the examples in the CloudWatch User Guide, "Alarm events and EventBridge"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html): the envelope
(``version``, ``id``, ``detail-type``, ``source`` ``aws.cloudwatch``, ``account``, ``time``, ``region``, ``resources``
with the alarm's ARN), and a ``detail`` with ``alarmName``, ``state`` and ``previousState`` (``value``, ``reason``,
``reasonData``, ``timestamp``) and ``configuration`` (a metric alarm's ``metrics``, a composite alarm's
``alarmRule``). A new alarm starts in INSUFFICIENT_DATA, as on AWS; a "change" to the state an alarm is already in
sends nothing, except for a composite alarm, whose ALARM can be sent again when its reason changes (the guide's
composite example has ALARM in both ``state`` and ``previousState``); the emulator sends none of those.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
SOURCE = "aws.cloudwatch"
DETAIL_TYPE = "CloudWatch Alarm State Change"


def _timestamp(at: float) -> str:
    """CloudWatch's form: 2019-10-02T17:04:40.985+0000."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Alarm:
    name: str
    region: str
    rule: str = ""  # a composite alarm's AlarmRule; empty for a metric alarm
    description: str = ""
    state: str = "INSUFFICIENT_DATA"
    reason: str = "Unchecked: Initial alarm creation"
    since: float = 0.0


@dataclass
class CloudWatchBackend:
    """The alarms' states, and the events their changes send."""

    account_id: str
    alarms: dict[tuple[str, str], Alarm] = field(default_factory=dict)

    def set_state(
        self, region: str, name: str, state: str, now: float, *, reason: str = "", rule: str = "", description: str = ""
    ) -> dict[str, Any] | None:
        """Move the alarm to ``state`` (making it, in INSUFFICIENT_DATA, on first use); the event CloudWatch sends
        to EventBridge for that change, or None when the alarm was already in ``state`` (no change, no event)."""
        if state not in STATES:
            raise ValueError(f"unknown alarm state {state!r}; one of {STATES}")
        alarm = self.alarms.setdefault((region, name), Alarm(name, region, rule, description, since=now))
        if alarm.state == state:
            return None
        previous = {"value": alarm.state, "reason": alarm.reason, "timestamp": _timestamp(alarm.since)}
        alarm.state, alarm.since = state, now
        alarm.reason = reason or f"Threshold Crossed (set by the emulator): {state}"
        current = {"value": state, "reason": alarm.reason, "timestamp": _timestamp(now)}
        if alarm.rule:
            current["reasonData"] = json.dumps({"triggeringAlarms": []})
            configuration: dict[str, Any] = {"alarmRule": alarm.rule, "description": alarm.description}
        else:
            current["reasonData"] = json.dumps({"version": "1.0", "queryDate": _timestamp(now)})
            configuration = {"description": alarm.description, "metrics": []}
        arn = f"arn:aws:cloudwatch:{region}:{self.account_id}:alarm:{name}"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": self.account_id,
            "time": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [arn],
            "detail": {"alarmName": name, "state": current, "previousState": previous, "configuration": configuration},
        }

    def state(self, region: str, name: str) -> str:
        alarm = self.alarms.get((region, name))
        return alarm.state if alarm else "INSUFFICIENT_DATA"
