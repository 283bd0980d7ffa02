"""pytest plugin for `make mutate` only: the product modules under the names mutmut gives them.

The Lambda runs src/handler's modules as top-level modules (``import connect``), and so do the tests.
mutmut names a mutant after the file's path less ``src/`` (``handler.connect.x_create_group__mutmut_1``) and
switches it on only in a module whose ``__name__`` is that path. This plugin makes ``import connect``
load ``handler.connect`` (from mutmut's copy, mutants/src/handler) and keep it as ``connect`` too, so
that each module is loaded once, under mutmut's name. Loaded with ``-p tests.mutation.names`` by the
[tool.mutmut] settings in pyproject.toml; a plain pytest run never loads it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "handler"


class _HandlerModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{spec.name}")

    def exec_module(self, module: ModuleType) -> None:
        """Already run by the import of its package name."""


def _module_names(handler: Path) -> set[str]:
    """``app``, ``connect``, ... and the packages with their modules: ``resources``, ``resources.instance_replica``."""
    names = {path.stem for path in handler.glob("*.py")}
    for package in (path.parent for path in handler.glob("*/__init__.py")):
        names |= {package.name} | {
            f"{package.name}.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"
        }
    return names


def _install() -> None:
    for entry in sys.path:
        handler = Path(entry or ".") / PACKAGE
        if entry and Path(entry).name == "src" and (handler / "app.py").is_file():
            sys.meta_path.insert(0, _HandlerModules(_module_names(handler)))
            return
    raise RuntimeError("tests.mutation.names is for `make mutate`: mutmut's mutants/src is not on sys.path")


_install()
