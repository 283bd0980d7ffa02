"""Markers for the whole suite, set here and nowhere else, by where a test lives:

* ``tests/unit``: ``disable_socket`` (pytest-socket). Unit tests never touch the network: any socket is a
  bug in the test or in the code.
* ``tests/e2e`` and ``tests/local``: ``e2e`` (``make e2e`` runs them). They drive real processes and
  sockets: the emulator, the HTTPS ResponseServer, the handler in a subprocess per invocation.
* ``tests/lint``: neither; cfn-lint and the provider's rules, in process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MARKS = {
    "unit": (pytest.mark.disable_socket,),
    "e2e": (pytest.mark.e2e,),
    "local": (pytest.mark.e2e,),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if TESTS not in path.parents:
            continue
        for mark in MARKS.get(path.relative_to(TESTS).parts[0], ()):
            item.add_marker(mark)
