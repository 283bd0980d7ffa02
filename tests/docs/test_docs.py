"""The README stays a front door, what it and the docs point at exists, and their examples pass the lint rules.

`make docs` (mkdocs build --strict, in CI) checks the links between pages of docs/ and their navigation; these
tests check what it cannot see (the README and CONTRIBUTING.md, outside docs/; the YAML examples), and the
navigation once more without building the site.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from docs.hooks import properties_table

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
FRONT_DOORS = [README, ROOT / "CONTRIBUTING.md"]
MAX_README_LINES = 200
CFN_LINT = Path(sys.executable).parent / "cfn-lint"  # the venv's, as `make lint-template` runs it
LINK = re.compile(r"\]\(([^)\s]+)\)")


def served_types() -> set[str]:
    """Every custom resource type the handler names: the types it serves."""
    handler = ROOT / "src" / "handler"
    return {t for path in handler.rglob("*.py") for t in re.findall(r"Custom::[A-Za-z]+", path.read_text())}


def nav_pages(nav: list[object]) -> set[str]:
    pages: set[str] = set()
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages |= nav_pages(value) if isinstance(value, list) else {str(value)}
    return pages


def test_the_readme_is_read_in_five_minutes() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_README_LINES


def test_the_readme_shows_the_demo_the_tests_and_every_type_the_handler_serves() -> None:
    text = README.read_text(encoding="utf-8")
    types = served_types()
    assert types, "the search found no Custom:: type in src/handler"
    missing = [name for name in ["make demo", "make test", *sorted(types)] if name not in text]
    assert not missing


@pytest.mark.parametrize("doc", FRONT_DOORS, ids=lambda p: p.name)
def test_every_make_target_shown_exists(doc: Path) -> None:
    targets = set(re.findall(r"^([a-z0-9-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE))
    shown = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", doc.read_text(encoding="utf-8")))
    assert shown, doc
    assert shown <= targets, shown - targets


@pytest.mark.parametrize("doc", FRONT_DOORS, ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file_of_the_repository(doc: Path) -> None:
    links = [link for link in LINK.findall(doc.read_text(encoding="utf-8")) if not link.startswith(("http", "#"))]
    assert links, doc
    missing = [link for link in links if not (doc.parent / link.split("#")[0]).exists()]
    assert not missing


def test_every_page_under_docs_is_in_the_site_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    assert pages | {"contributing.md"} == nav_pages(config["nav"])  # contributing.md is CONTRIBUTING.md


def test_every_type_the_handler_serves_has_a_reference_page_with_its_properties_table_made_from_its_schema() -> None:
    titles = {path.read_text(encoding="utf-8").splitlines()[0]: path for path in (DOCS / "reference").glob("*.md")}
    for name in served_types():
        page = titles.get(f"# {name}")
        assert page is not None, name
        text = page.read_text(encoding="utf-8")
        assert f"## Properties\n\n<!-- properties of {name} -->\n" in text, page  # docs/hooks.py fills it in
        assert properties_table(name).startswith("| property | required | rules | on change |\n|---|")


def yaml_examples() -> list[tuple[str, str]]:
    """Every ```yaml block of the README and the reference pages, with the page it is on."""
    docs = [README, *sorted((DOCS / "reference").glob("*.md"))]
    found = [(doc, block) for doc in docs for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.DOTALL)]
    return [(doc.relative_to(ROOT).as_posix(), block) for doc, block in found]


def test_every_example_passes_the_providers_lint_rules(tmp_path: Path) -> None:
    templates = []
    for number, (doc, block) in enumerate(yaml_examples()):
        assert block.startswith("Resources:"), f"an example on {doc} is not a template's Resources"
        code = re.sub(r"\s+#.*", "", block)
        resources = set(re.findall(r"^  (\w+):$", code, re.MULTILINE))
        parameters = sorted(set(re.findall(r"!Ref (\w+)", code)) - resources)  # what the example leaves to the reader
        declared = "".join(f"  {name}: {{Type: String}}\n" for name in parameters)
        template = tmp_path / f"{number}-{doc.replace('/', '-')}.yaml"  # the name says where a finding comes from
        template.write_text(f'AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n{declared}{block}')
        templates.append(str(template))
    assert len(templates) >= 5, templates  # the README's and one on each reference page
    # One cfn-lint process for all of them: it takes a second to start.
    lint = subprocess.run(
        [str(CFN_LINT), *templates, "--append-rules", str(ROOT / "cfn_lint_rules")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
