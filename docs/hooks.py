"""MkDocs hooks: CONTRIBUTING.md, kept at the top of the repository where GitHub shows it, is also the site's
contributing page; and each reference page's table of properties is made from the schema the provider's parser
checks them by (``resources.TYPES[type].SCHEMA``), so the reference cannot drift from the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

PAGE = "contributing.md"
# Where a reference page wants the table of a type's properties.
PROPERTIES = re.compile(r"^<!-- properties of (Custom::[A-Za-z]+) -->$", re.MULTILINE)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    source = Path(config.config_file_path).parent / "CONTRIBUTING.md"
    # Its links into docs/ are relative to the top of the repository; the page lives inside docs/.
    text = source.read_text(encoding="utf-8").replace("](docs/", "](")
    files.append(File.generated(config, PAGE, content=text))
    return files


def properties_table(resource_type: str) -> str:
    """The Markdown table of a resource type's properties, from the provider's own schema."""
    handler = str(Path(__file__).resolve().parent.parent / "src" / "handler")
    if handler not in sys.path:
        sys.path.insert(0, handler)
    import resources

    return resources.TYPES[resource_type].SCHEMA.table()


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return PROPERTIES.sub(lambda match: properties_table(match[1]), markdown)
