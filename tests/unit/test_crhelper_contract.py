"""What provider.Provider relies on inside crhelper 2.0.12: an upgrade that changes it fails here, not in a stack.

Provider replaces or calls these private parts of crhelper's CfnResource (docs/design.md has the table of
why). Their names, and the flow that calls them, are crhelper's implementation, not its API.
"""

from __future__ import annotations

import importlib.metadata
import inspect

import crhelper.resource_helper as crhelper_module
from crhelper import CfnResource

from provider import Provider

# Methods Provider overrides: each must still exist in crhelper, or the override silently does nothing.
OVERRIDDEN = {
    "_log_setup",
    "_poll_enabled",
    "_wrap_function",
    "_setup_polling",
    "_remove_polling",
    "_set_timeout",
    "_timeout",
    "_send",
}
# crhelper methods Provider relies on without overriding them.
USED = {"__call__", "_crhelper_init", "_polling_init", "_cfn_response", "generate_physical_id", "_get_func"}
# Attributes crhelper's constructor sets and Provider reads or writes.
ATTRIBUTES = {"_polling_interval", "_events_client", "_lambda_client", "_timer", "_event", "_context", "_response_url"}


def test_the_pinned_version_is_the_one_installed() -> None:
    assert importlib.metadata.version("crhelper") == "2.0.12"


def test_every_override_replaces_a_crhelper_method() -> None:
    for name in OVERRIDDEN:
        assert callable(getattr(CfnResource, name, None)), name
        assert getattr(Provider, name) is not getattr(CfnResource, name), name


def test_the_methods_provider_relies_on_exist() -> None:
    for name in USED:
        assert callable(getattr(CfnResource, name, None)), name


def test_the_attributes_provider_uses_are_set_by_crhelper() -> None:
    source = inspect.getsource(CfnResource.__init__) + inspect.getsource(CfnResource._crhelper_init)
    for name in ATTRIBUTES:
        assert f"self.{name} =" in source, name


def test_the_flow_still_calls_the_overridden_steps() -> None:
    # __call__ -> _crhelper_init (-> _set_timeout, _wrap_function) -> _poll_enabled -> _polling_init
    # (-> _setup_polling / _remove_polling) -> _cfn_response -> _send
    call = inspect.getsource(CfnResource.__call__)
    init = inspect.getsource(CfnResource._crhelper_init)
    polling = inspect.getsource(CfnResource._polling_init)
    assert "_crhelper_init" in call and "_poll_enabled" in call and "_polling_init" in call
    assert "_cfn_response" in call and "_log_setup" in call
    assert "_set_timeout" in init and "_wrap_function" in init
    assert "_setup_polling" in polling and "_remove_polling" in polling
    assert "self._send()" in inspect.getsource(CfnResource._cfn_response)
    assert crhelper_module.FAILED == "FAILED"
