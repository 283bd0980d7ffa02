"""The operator's failover: send the manual trigger to the failover function of the region that should take the traffic.

    python -m deploy.failover --to us-west-2                      # every group the function was deployed for
    python -m deploy.failover --to us-west-2 --groups ARN,ARN    # some of them
    python -m deploy.failover --to us-east-1 --reason "failback after INC-42"
    python -m deploy.failover --to us-west-2 --dry-run           # print the event, send nothing

It puts one event on the default bus of ``--to`` (with your AWS credentials: events:PutEvents there), which the
failover function of that region runs exactly as it runs an alarm, with its own role, logs, metrics and
notification, except that the cooldown never holds it back. The same command fails back: send it to the other
region. It calls nothing in any other region, so it works while the other region is down.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_HANDLER = str(Path(__file__).resolve().parents[1] / "src" / "handler")
if _HANDLER not in sys.path:
    sys.path.insert(0, _HANDLER)

from failover import MANUAL_DETAIL_TYPE, MANUAL_SOURCE  # noqa: E402 - after the path to src/handler

LOG_HINT = (
    "The failover function logs one line per group in its log group (the provider stack's FailoverLogGroupName "
    "output); the GroupFailover metric and the SNS topic, if set, say the same."
)


def entry(to: str, groups: list[str], reason: str) -> dict[str, Any]:
    """The PutEvents entry of the manual trigger, for the default bus of ``to``."""
    return {
        "Source": MANUAL_SOURCE,
        "DetailType": MANUAL_DETAIL_TYPE,
        "Detail": json.dumps({"to": to, "groups": groups, "reason": reason}),
    }


def send(client: Any, to: str, groups: list[str], reason: str) -> str:
    """Put the event; its id, or RuntimeError with EventBridge's reason (PutEvents answers 200 on a failed entry)."""
    answer = client.put_events(Entries=[entry(to, groups, reason)])
    (result,) = answer["Entries"]
    if answer.get("FailedEntryCount") or "EventId" not in result:
        why = f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}"
        raise RuntimeError(f"EventBridge in {to} did not take the failover request ({why}); nothing was moved.")
    return str(result["EventId"])


def main(argv: list[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.failover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", required=True, help="the region that takes all calls and agents, e.g. us-west-2")
    parser.add_argument("--groups", default="", help="comma-separated group ARNs (default: every configured group)")
    parser.add_argument("--reason", default="manual failover", help="said in the logs and the notification")
    parser.add_argument("--dry-run", action="store_true", help="print the event and send nothing")
    args = parser.parse_args(argv)
    groups = [group.strip() for group in args.groups.split(",") if group.strip()]
    bare = [group for group in groups if not group.startswith("arn:")]
    if bare:
        parser.error(f"--groups takes group ARNs, not bare ids ({', '.join(bare)}): from {args.to} Connect needs ARNs")
    if args.dry_run:
        print(json.dumps(entry(args.to, groups, args.reason), indent=2))
        return 0
    if client is None:
        import boto3

        client = boto3.client("events", region_name=args.to)
    event_id = send(client, args.to, groups, args.reason)
    print(f"Sent failover request {event_id} to the default event bus of {args.to}. {LOG_HINT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
