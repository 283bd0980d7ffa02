"""`make demo`'s command line (local/cli/demo.py); the demo's whole run is `make demo` itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_demo_help_lists_the_options_and_runs_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local.cli.demo", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )

    assert done.returncode == 0
    assert "--verbose" in done.stdout and "=== stack" not in done.stdout
