"""The order of a stack operation: resources one at a time, or each as soon as what it depends on is done."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")


def schedule(
    nodes: Sequence[str],
    after: Mapping[str, set[str]],
    step: Callable[[str], bool],
    *,
    parallel: bool,
    stop_on_failure: bool = True,
) -> None:
    """Run ``step(node)`` once for each of ``nodes``, each only after every node of ``after[node]`` has.

    Sequential: one node at a time, the first ready one in ``nodes`` order, in the caller's thread.
    ``parallel``: every ready node at once, each in its own thread (the same loop with one worker per
    node). A step that returns False (when ``stop_on_failure``) or raises keeps further nodes from starting;
    the running ones finish, then the first exception, if any, is raised.
    """
    workers = max(1, len(nodes)) if parallel else 1
    pending = list(nodes)
    done: set[str] = set()
    running: dict[Future[bool], str] = {}
    stopped = False
    error: BaseException | None = None
    executor: Executor = (
        ThreadPoolExecutor(workers, thread_name_prefix="stack-resource") if parallel else _InlineExecutor()
    )
    with executor:
        while True:
            for node in [n for n in pending if not stopped and after.get(n, set()) <= done]:
                if len(running) >= workers:
                    break
                pending.remove(node)
                running[executor.submit(step, node)] = node
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: nodes.index(running[f])):
                done.add(running.pop(future))
                try:
                    ok = future.result()
                except BaseException as exc:  # noqa: BLE001 - raised below, once the running steps are done
                    error, ok = error or exc, False
                    stopped = True
                stopped = stopped or (stop_on_failure and not ok)
    if error is not None:
        raise error
    if pending and not stopped:
        raise RuntimeError(f"resources that can never be ready (circular dependency?): {pending}")


def prerequisites(graph: Mapping[str, set[str]], nodes: Sequence[str]) -> dict[str, set[str]]:
    """For each of ``nodes``, the other ``nodes`` it depends on, directly or through nodes left out."""
    chosen = set(nodes)
    return {node: (closure(graph, node) & chosen) - {node} for node in nodes}


def dependents(graph: Mapping[str, set[str]], nodes: Sequence[str]) -> dict[str, set[str]]:
    """For each of ``nodes``, the other ``nodes`` that depend on it: what must be deleted before it."""
    before = prerequisites(graph, nodes)
    return {node: {other for other in nodes if node in before[other]} for node in nodes}


def closure(graph: Mapping[str, set[str]], start: str) -> set[str]:
    """Everything ``start`` depends on, transitively."""
    seen: set[str] = set()
    todo = list(graph.get(start, set()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, set()))
    return seen


class _InlineExecutor(Executor):
    """Runs each call when it is submitted, in the caller's thread: the sequential mode."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the scheduler, which raises it
            future.set_exception(exc)
        return future
