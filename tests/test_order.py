"""The order tests/conftest.py gives the suite names real tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import LONGEST_FIRST

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("nodeid", LONGEST_FIRST)
def test_each_test_that_starts_first_exists(nodeid: str) -> None:
    path, *names = nodeid.split("::")
    source = (ROOT / path).read_text(encoding="utf-8")
    for name in names:  # a renamed test would silently lose its early start
        assert re.search(rf"^\s*(?:def|class) {name}\b", source, re.MULTILINE), nodeid
