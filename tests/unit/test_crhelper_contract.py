"""What provider.Provider relies on inside crhelper 2.0.12: an upgrade that changes it fails here, not in a stack.

Provider replaces or calls these private parts of crhelper's CfnResource (docs/design.md has the table of
why). Their names, and the flow that calls them, are crhelper's implementation, not its API.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re

import crhelper.resource_helper as crhelper_module
from crhelper import CfnResource

from provider import FAILED, Provider
from tests.unit.conftest import lone_provider

# Methods Provider overrides: each must still exist in crhelper, or the override silently does nothing.
OVERRIDDEN = {
    "__init__",
    "__call__",
    "_log_setup",
    "_poll_enabled",
    "_wrap_function",
    "_setup_polling",
    "_remove_polling",
    "_set_timeout",
    "_timeout",
    "_send",
    "generate_physical_id",
}
# crhelper's methods that still run inside Provider, unchanged.
USED = {
    "_crhelper_init",
    "_polling_init",
    "_cfn_response",
    "_get_func",
    "_wait_for_cwlogs",
    "create",
    "update",
    "delete",
    "poll_create",
    "poll_update",
    "poll_delete",
}


def test_the_pinned_version_is_the_one_installed() -> None:
    assert importlib.metadata.version("crhelper") == "2.0.12"


def test_every_override_replaces_a_crhelper_method() -> None:
    for name in OVERRIDDEN:
        assert callable(getattr(CfnResource, name, None)), name
        assert getattr(Provider, name) is not getattr(CfnResource, name), name


def test_the_methods_provider_relies_on_exist_unchanged() -> None:
    for name in USED:
        assert callable(getattr(CfnResource, name, None)), name
        assert getattr(Provider, name) is getattr(CfnResource, name), name


def test_provider_sets_everything_crhelpers_unchanged_flow_reads() -> None:
    # Provider does not run crhelper's constructor (it would build boto3 clients and reset the root logger), so
    # every attribute the methods it keeps read must be set by Provider or by _crhelper_init before use.
    kept = [inspect.getsource(getattr(CfnResource, name)) for name in USED | {"__call__"}]
    read = {name for source in kept for name in re.findall(r"self\.(\w+)", source)}
    set_per_event = set(re.findall(r"self\.(\w+) =", inspect.getsource(CfnResource._crhelper_init)))
    instance = lone_provider()

    missing = sorted(name for name in read - set_per_event if not hasattr(instance, name))

    assert missing == []


def test_the_flow_still_calls_the_overridden_steps() -> None:
    # __call__ -> _crhelper_init (-> _set_timeout, _wrap_function) -> _poll_enabled -> _polling_init
    # (-> _setup_polling / _remove_polling) -> _cfn_response -> _send
    call = inspect.getsource(CfnResource.__call__)
    init = inspect.getsource(CfnResource._crhelper_init)
    polling_init = inspect.getsource(CfnResource._polling_init)
    assert "_crhelper_init" in call and "_poll_enabled" in call and "_polling_init" in call
    assert "_cfn_response" in call and "_log_setup" in call and "_wait_for_cwlogs" in call
    assert "_set_timeout" in init and "_wrap_function" in init
    assert "_setup_polling" in polling_init and "_remove_polling" in polling_init
    assert "self._send()" in inspect.getsource(CfnResource._cfn_response)
    assert "self.generate_physical_id(event)" in inspect.getsource(CfnResource._cfn_response)
    assert crhelper_module.FAILED == FAILED


def test_a_delete_never_sleeps_for_logs() -> None:
    slept: list[float] = []
    instance = lone_provider()
    instance._context = type("Context", (), {"get_remaining_time_in_millis": lambda self: 900_000})()

    instance._wait_for_cwlogs(sleep=slept.append)

    assert slept == []
