"""Markers for the whole suite, set here and nowhere else, by where a test lives:

* ``tests/unit``: ``disable_socket`` (pytest-socket). Unit tests never touch the network: any socket is a
  bug in the test or in the code.
* ``tests/e2e`` and ``tests/local``: ``e2e`` (``make e2e`` runs them). They drive real processes and
  sockets: the emulator, the HTTPS ResponseServer, the handler in its own processes (warm Lambda environments).
* ``tests/lint``: neither; cfn-lint and the provider's rules, in process.

The order is set here too (``longest_first``): the tests that wait longest start first, on different pytest-xdist
workers, then the other e2e tests, then the rest.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MARKS = {
    "unit": (pytest.mark.disable_socket,),
    "e2e": (pytest.mark.e2e,),
    "local": (pytest.mark.e2e,),
}


# The tests that wait longest (on the 2 requests/s quota, or on emulated delays beyond a function timeout), longest
# first: started at once, their waits overlap the CPU the others need.
LONGEST_FIRST = (
    "tests/e2e/test_global_resiliency.py::test_fifty_agents_associated_at_once_under_the_quota",
    "tests/e2e/test_real_world.py::TestTheSharedQuota::test_sixteen_groups_created_at_once_under_two_requests_a_second",
    "tests/e2e/test_status.py::test_nothing_answering_exits_2_with_a_message",
    "tests/e2e/test_global_resiliency.py::test_one_template_from_a_single_instance_to_failover_and_back_to_nothing",
    "tests/e2e/test_resilience.py::test_creation_slower_than_an_invocation_is_finished_by_polling",
    "tests/e2e/test_automated_failover.py::test_twenty_groups_move_under_the_two_requests_a_second_quota",
    "tests/e2e/test_status.py::test_throttling_under_the_quota_never_fails_the_read",
    "tests/e2e/test_real_world.py::TestPollingSetup::test_a_target_eventbridge_did_not_apply_is_put_again",
    "tests/e2e/test_real_world.py::TestPollingSetup::test_concurrent_modification_while_setting_up_polling_is_retried",
    "tests/e2e/test_real_world.py::TestPollingSetup::test_a_permission_whose_answer_was_lost_is_kept",
    "tests/e2e/test_resilience.py::test_duplicate_delivery_makes_one_group_and_identical_answers",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if TESTS not in path.parents:
            continue
        for mark in MARKS.get(path.relative_to(TESTS).parts[0], ()):
            item.add_marker(mark)
    items[:] = longest_first(items, getattr(config, "workerinput", {}).get("workercount", 1))


def longest_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """e2e tests before the others, and a test of LONGEST_FIRST at the head of each worker's share.

    worksteal starts by handing worker i the i-th of ``workers`` equal slices of the queue, and later
    moves the tail of a busy worker's slice to an idle one: a long test at the head of a slice starts at once.
    """
    longest = [item for name in LONGEST_FIRST for item in items if item.nodeid == name]
    rest = iter(sorted((item for item in items if item not in longest), key=lambda i: not i.get_closest_marker("e2e")))
    sizes, remaining = [], len(items)
    for worker in range(workers):
        sizes.append(remaining // (workers - worker))
        remaining -= sizes[-1]
    ordered: list[pytest.Item] = []
    for worker, size in enumerate(sizes):
        heads = longest[worker::workers]
        ordered += heads
        ordered += itertools.islice(rest, max(0, size - len(heads)))
    return ordered + list(rest)
