"""``python -m operate status --instance ARN [--region R] [--format json]``: the Global Resiliency status.

Exit status: 0 without any finding of severity error, 1 with one, 2 when nothing could be read or the input is
bad (with a message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError
from rich.console import Console

import connect
from errors import ProviderError
from operate import render
from operate.findings import findings, has_errors
from operate.reader import BadInput, NothingRead, read_status
from waiting import Budget, OutOfTime, Pacer

OK, ERRORS, FAILED = 0, 1, 2
TIMEOUT = 600.0  # seconds: throttling is waited out for this long, then the command gives up
PROGRESS_AFTER = 3.0  # seconds: a shorter run prints no progress
PROGRESS_EVERY = 5.0
# Under Connect's ~2 requests/s, which other callers share; each wait lengthened by up to a tenth of an interval.
RATE, JITTER = 1.9, 0.1
MAX_RATE = 50.0  # requests/s: a typo such as 200 must not flood the account's quota


class Progress:
    """Tells on stderr what is being read, once the run is longer than a few seconds, every few seconds."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.clock = out, clock
        self.started = clock()
        self.told = self.started - PROGRESS_EVERY  # the first line comes after PROGRESS_AFTER
        self.text = ""
        self.requests = 0

    def __call__(self, text: str) -> None:
        """The reader starts reading ``text``."""
        self.text = text
        self.tell()

    def request(self) -> None:
        """A request is sent (retries too): a long read, or one that waits out throttling, still shows progress."""
        self.requests += 1
        self.tell()

    def tell(self) -> None:
        now = self.clock()
        if now - self.started >= PROGRESS_AFTER and now - self.told >= PROGRESS_EVERY:
            self.told = now
            elapsed = now - self.started
            print(f"status: reading {self.text} ({self.requests} requests, {elapsed:.0f} s)", file=self.out, flush=True)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m operate", description=__doc__.split("\n")[0] if __doc__ else "")
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="Read-only status of a replicated Connect instance and its groups")
    status.add_argument(
        "--instance", required=True, help="the instance ARN, arn:aws:connect:REGION:ACCOUNT:instance/ID"
    )
    status.add_argument("--region", help="the region to read first (default: the ARN's; then the serving region)")
    status.add_argument("--format", choices=["text", "json"], default="text")
    status.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds before throttling makes it give up")
    status.add_argument(
        "--rate",
        type=rate,
        default=RATE,
        help=f"Connect requests a second (default {RATE}, under the account's default quota of 2; "
        "raise it only where Service Quotas raised that quota)",
    )
    return parser.parse_args(argv)


def rate(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_RATE:
        raise argparse.ArgumentTypeError(f"{text} is not a rate between 0 and {MAX_RATE} requests a second")
    return value


def new_clients(pace: Pacer, progress: Progress) -> connect.ConnectClients:
    """Connect clients whose every request is paced and counted (AWS_ENDPOINT_URL_CONNECT may point them at an
    emulator)."""

    def new_client(region: str) -> Any:
        client = pace.attach(boto3.client("connect", region_name=region, config=connect.CLIENT_CONFIG))
        client.meta.events.register("before-parameter-build.connect", lambda **_: progress.request())
        return client

    return connect.clients_by_region(new_client)


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: connect.ConnectClients | None = None,
    budget: Budget | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run a command; returns the exit status. ``clients`` and ``budget`` are for tests (Stubber, no waiting)."""
    args = parse(sys.argv[1:] if argv is None else argv)
    out, err = out or sys.stdout, err or sys.stderr
    budget = budget or Budget(deadline=time.monotonic() + args.timeout)
    progress = Progress(err)
    try:
        snapshot = read_status(
            clients or new_clients(Pacer(budget, rate=args.rate, jitter=JITTER), progress),
            args.instance,
            budget,
            first_region=args.region,
            progress=progress,
        )
    except (BadInput, NothingRead) as error:
        print(f"status: {error}", file=err)
        return FAILED
    except ProviderError as error:
        print(f"status: {error.reason}", file=err)
        return FAILED
    except OutOfTime as error:
        print(f"status: gave up after {args.timeout:.0f} s: {error}", file=err)
        return FAILED
    except BotoCoreError as error:  # no credentials, no region, a bad endpoint: nothing to read with
        print(f"status: {error}", file=err)
        return FAILED
    found = findings(snapshot)
    if args.format == "json":
        print(json.dumps(render.as_json(snapshot, found), indent=2), file=out)
    else:
        render.show(Console(file=out, width=render.WIDTH), snapshot, found)
    return ERRORS if has_errors(found) else OK
