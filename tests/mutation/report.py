"""Print the last `make mutate` run as Markdown: the score per file and every mutant that was not killed.

    .venv/bin/python -m tests.mutation.report [src/handler/x.py ...]

Reads mutmut's results under mutants/ (mutmut 3.8, pinned in requirements-dev.txt). A mutant counts as
killed when a test failed or timed out with it; "survived" and "no tests" are what docs/mutation.md
explains one by one.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

SOURCE = Path("src/handler")
KILLED = {"killed", "timeout"}


def function_starts(path: Path) -> dict[str, int]:
    """First line (decorators included) of each function, by mutmut's mangled name."""
    starts: dict[str, int] = {}
    for node in ast.parse(path.read_text()).body:
        functions = [(node, None)] if isinstance(node, ast.FunctionDef) else []
        if isinstance(node, ast.ClassDef):
            functions = [(item, node.name) for item in node.body if isinstance(item, ast.FunctionDef)]
        for function, class_name in functions:
            first = min([function.lineno, *(d.lineno for d in function.decorator_list)])
            starts[f"xǁ{class_name}ǁ{function.name}" if class_name else f"x_{function.name}"] = first
    return starts


def change(name: str, path: Path, starts: dict[str, int]) -> tuple[int, str]:
    """The line of the source file the mutant changes, and the change as `old` -> `new`."""
    diff = get_diff_for_mutant(name, path=path).splitlines()
    mangled = name.rpartition(".")[2].partition("__mutmut_")[0]
    line, old, new = starts.get(mangled, 0), [], []
    for row in diff[2:]:
        hunk = re.match(r"@@ -(\d+)", row)
        if hunk:
            line += int(hunk[1]) - 1
        elif row.startswith("-"):
            old.append(row[1:].strip())
        elif row.startswith("+"):
            new.append(row[1:].strip())
        elif not old:
            line += 1
    return line, f"`{' '.join(old)}` -> `{' '.join(new)}`"


def main(files: list[str]) -> None:
    paths = [Path(f) for f in files] or sorted(SOURCE.rglob("*.py"))
    rows, missed = [], []
    killed_all: list[int] = []
    total_all: list[int] = []
    for path in paths:
        meta = Path("mutants") / f"{path}.meta"
        if not meta.exists():
            continue
        statuses = {k: status_by_exit_code[v] for k, v in json.loads(meta.read_text())["exit_code_by_key"].items()}
        counts = Counter(statuses.values())
        if not statuses or counts["not checked"] == len(statuses):
            continue
        killed = sum(counts[s] for s in KILLED)
        total = len(statuses) - counts["not checked"] - counts["skipped"]
        name = path.relative_to(SOURCE).as_posix()
        killed_all.append(killed)
        total_all.append(total)
        rows.append(f"| {name} | {killed}/{total} | {100 * killed / total:.1f} % | {counts['not checked']} |")
        starts = function_starts(path)
        for name, status in statuses.items():
            if status not in KILLED | {"not checked", "skipped"}:
                line, what = change(name, path, starts)
                mutant = name.rpartition(".")[2]
                where = path.relative_to(SOURCE).as_posix()
                missed.append((where, line, f"- {where}:{line} {status}: {what} ({mutant})"))
    print("| file | killed/total | score | not run |\n| --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"| all | {sum(killed_all)}/{sum(total_all)} | {100 * sum(killed_all) / max(1, sum(total_all)):.1f} % | |")
    print()
    print("\n".join(entry for *_, entry in sorted(missed)))


if __name__ == "__main__":
    main(sys.argv[1:])
