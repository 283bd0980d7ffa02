"""src/handler/requirements.txt pins every package `sam build` bundles, so that each build is the same."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).parents[2] / "src" / "handler" / "requirements.txt"
# In the Lambda Python runtime already; the handler uses its copy.
RUNTIME = {"boto3", "botocore"}
IMPORTED = ["crhelper", "aws-lambda-powertools"]  # by src/handler


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
            if dependency in RUNTIME or dependency in needed:
                continue
            assert dependency in pinned, f"{name} pulls in {dependency}, which is not pinned"
            assert requirement.specifier.contains(pinned[dependency]), (name, str(requirement), pinned[dependency])
            todo.append(dependency)
    assert needed == set(pinned)


def test_the_development_environment_runs_the_pinned_versions() -> None:
    for name, version in pins().items():
        assert importlib.metadata.version(name) == version, name
