"""MkDocs hook: CONTRIBUTING.md, kept at the top of the repository where GitHub shows it, is also the site's
contributing page."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "contributing.md"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    source = Path(config.config_file_path).parent / "CONTRIBUTING.md"
    # Its links into docs/ are relative to the top of the repository; the page lives inside docs/.
    text = source.read_text(encoding="utf-8").replace("](docs/", "](")
    files.append(File.generated(config, PAGE, content=text))
    return files
