"""src/handler/requirements.txt pins every package `sam build` bundles, so that each build is the same."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).parents[2] / "src" / "handler" / "requirements.txt"
# By src/handler. boto3 too: the Lambda runtime's copy may predate operations the handler calls (docs/design.md).
IMPORTED = ["crhelper", "aws-lambda-powertools", "boto3"]


def pins() -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    pinned: dict[str, str] = {}
    for line in filter(None, lines):
        name, _, version = line.partition("==")
        assert version, f"{line!r} is not pinned with =="
        pinned[canonicalize_name(name)] = version
    return pinned


def runtime_requirements(name: str) -> list[Requirement]:
    """What installing ``name`` installs: its requirements without extras or other platforms' markers."""
    found = [Requirement(text) for text in importlib.metadata.requires(name) or []]
    return [r for r in found if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_every_package_the_pins_pull_in_is_pinned_and_nothing_else() -> None:
    pinned = pins()
    needed: set[str] = set()
    todo = list(IMPORTED)
    while todo:
        name = todo.pop()
        needed.add(name)
        for requirement in runtime_requirements(name):
            dependency = canonicalize_name(requirement.name)
            if dependency in needed:
                continue
            assert dependency in pinned, f"{name} pulls in {dependency}, which is not pinned"
            assert requirement.specifier.contains(pinned[dependency]), (name, str(requirement), pinned[dependency])
            todo.append(dependency)
    assert needed == set(pinned)


def test_the_development_environment_runs_the_pinned_versions() -> None:
    for name, version in pins().items():
        assert importlib.metadata.version(name) == version, name


def test_the_bundled_botocore_knows_every_connect_operation_the_handler_calls() -> None:
    import re

    import botocore.session

    handler = Path(__file__).parents[2] / "src" / "handler" / "connect.py"
    called = set(re.findall(r"client\.([a-z_]+)\(", handler.read_text()))
    model = botocore.session.get_session().get_service_model("connect")
    known = {botocore.xform_name(name) for name in model.operation_names}
    assert called and called <= known, called - known
