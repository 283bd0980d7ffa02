"""What provider.Provider relies on inside crhelper 2.0.12: an upgrade that changes it fails here, not in a stack.

Provider overrides, sets or calls these private parts of crhelper's CfnResource (docs/design.md names the trap
each override avoids). Their names, and the flow that calls them, are crhelper's implementation, not its API.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from typing import Any

import crhelper.resource_helper as crhelper_module
import pytest
from crhelper import CfnResource

from provider import FAILED, POLL, POLL_DATA, Provider
from tests.unit.conftest import FakeClock, FakeContext, load_event, lone_provider

# Methods Provider overrides: each must still exist in crhelper, or the override silently does nothing.
OVERRIDDEN = {
    "__init__",
    "__call__",
    "_log_setup",
    "_poll_enabled",
    "_setup_polling",
    "_remove_polling",
    "_set_timeout",
    "_send",
    "generate_physical_id",
}
# crhelper's methods that still run inside Provider, unchanged.
USED = {
    "_crhelper_init",
    "_wrap_function",
    "_get_func",
    "_polling_init",
    "_cfn_response",
    "_wait_for_cwlogs",
    "create",
    "update",
    "delete",
    "poll_create",
    "poll_update",
    "poll_delete",
}
# crhelper's private attributes that Provider sets, since it does not run crhelper's constructor.
SET_BY_PROVIDER = {"_timer", "_init_failed", "_sam_local", "_sleep_on_delete"}
# The slots of the functions Provider registers through crhelper's public decorators.
REGISTERED = {f"_{prefix}{kind}_func" for prefix in ("", "poll_") for kind in ("create", "update", "delete")}


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


def test_provider_overrides_no_other_crhelper_method() -> None:
    own = {name for name in vars(Provider) if callable(getattr(CfnResource, name, None))}

    assert own == OVERRIDDEN


def test_provider_sets_everything_crhelpers_unchanged_flow_reads() -> None:
    # Provider does not run crhelper's constructor (it would build boto3 clients and reset the root logger), so
    # every attribute the methods it keeps read must be set by Provider or by _crhelper_init before use.
    kept = [inspect.getsource(getattr(CfnResource, name)) for name in USED | {"__call__"}]
    read = {name for source in kept for name in re.findall(r"self\.(\w+)", source)}
    set_per_event = set(re.findall(r"self\.(\w+) =", inspect.getsource(CfnResource._crhelper_init)))
    instance = lone_provider()

    missing = sorted(name for name in read - set_per_event if not hasattr(instance, name))

    assert missing == []


def test_provider_sets_only_these_private_attributes_of_crhelper_and_none_of_its_own_collides() -> None:
    crhelper_attributes = set(re.findall(r"self\.(\w+) =", inspect.getsource(CfnResource.__init__)))
    crhelper_names = set(re.findall(r"self\.(\w+)", inspect.getsource(crhelper_module)))
    instance = lone_provider()

    assert set(vars(instance)) & crhelper_attributes == SET_BY_PROVIDER | REGISTERED
    assert set(vars(instance)) - crhelper_attributes & crhelper_names == set()
    assert "_invocation" not in crhelper_names


def test_the_flow_still_calls_the_overridden_steps() -> None:
    # __call__ -> _crhelper_init (-> _set_timeout, _wrap_function) -> _poll_enabled -> _polling_init
    # (-> _setup_polling / _remove_polling) -> _cfn_response -> _send
    call = inspect.getsource(CfnResource.__call__)
    init = inspect.getsource(CfnResource._crhelper_init)
    polling_init = inspect.getsource(CfnResource._polling_init)
    assert "_crhelper_init" in call and "_poll_enabled" in call and "_polling_init" in call
    assert "_cfn_response" in call and "_log_setup" in call and "_wait_for_cwlogs" in call
    assert "self._timer.cancel()" in call  # the last-resort timer ends with the invocation
    assert "_set_timeout" in init and "_wrap_function" in init
    assert "_setup_polling" in polling_init and "_remove_polling" in polling_init
    assert "self._send()" in inspect.getsource(CfnResource._cfn_response)
    assert "self.generate_physical_id(event)" in inspect.getsource(CfnResource._cfn_response)
    assert crhelper_module.FAILED == FAILED


def test_the_registered_functions_answer_through_crhelpers_physical_id_and_status() -> None:
    # Provider's functions never raise: their return value is the id, "" keeps polling, and Status says FAILED.
    wrap = inspect.getsource(CfnResource._wrap_function)
    polling_init = inspect.getsource(CfnResource._polling_init)
    assert "self.PhysicalResourceId = func(self._event, self._context)" in wrap
    assert "if self.PhysicalResourceId or self.Status == FAILED:" in polling_init
    assert "if 'CrHelperPoll' not in event.keys() and self.Status != FAILED:" in polling_init


def test_a_scheduled_poll_is_told_by_crhelpers_own_event_keys() -> None:
    assert (POLL, POLL_DATA) == ("CrHelperPoll", "CrHelperData")
    assert f'"{POLL}" in self._event.keys()' in inspect.getsource(CfnResource._get_func)
    assert f'self.Data = event["{POLL_DATA}"]' in inspect.getsource(CfnResource._crhelper_init)


def test_a_delete_never_sleeps_for_logs(monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any]]) -> None:
    # crhelper binds time.sleep as a default argument of _wait_for_cwlogs, so that is where the test puts its own.
    slept: list[float] = []
    monkeypatch.setattr(CfnResource._wait_for_cwlogs, "__defaults__", (slept.append,))
    clock = FakeClock()

    lone_provider(clock)(load_event("delete"), FakeContext(clock=clock, timeout_s=900))

    assert slept == []
    assert [a["Status"] for a in answers] == ["SUCCESS"]
