"""Transient Connect errors, a flaky ResponseURL, duplicate delivery, and polling hand-over."""

from __future__ import annotations

import pytest

from local.cloudformation import ResponseServer
from local.emulator import Emulator
from tests.e2e.conftest import (
    HANDOVER_DELAY_S,
    SHORT_TIMEOUT_S,
    STACK_YAML,
    MakeDriver,
    assert_answered_once,
    assert_nothing_left,
    owned_groups,
    params,
    summary,
)

CREATE, DESCRIBE = "CreateTrafficDistributionGroup", "DescribeTrafficDistributionGroup"


@pytest.mark.parametrize(
    ("operation", "kind", "count", "error"),
    [
        (CREATE, "throttle", 3, "ThrottlingException"),
        (DESCRIBE, "throttle", 3, "ThrottlingException"),
        (CREATE, "5xx", 2, "InternalServiceException"),
        (DESCRIBE, "5xx", 2, "InternalServiceException"),
        (CREATE, "drop", 1, None),
        (CREATE, "drop_after", 1, None),  # executed, then the response was lost: the ClientToken matters
    ],
)
def test_transient_connect_errors_are_retried(
    make_driver: MakeDriver, emu: Emulator, instance: str, operation: str, kind: str, count: int, error: str | None
) -> None:
    emu.inject_fault(operation, kind, count)
    driver = make_driver()
    stack = driver.create_stack(STACK_YAML, params(instance))
    assert stack.status == "CREATE_COMPLETE"
    (create,) = driver.requests
    assert create.status == "SUCCESS" and len(create.invocations) == 1
    (group,) = owned_groups(emu, include_deleted=True)
    assert group["Status"] == "ACTIVE" and create.physical_id == group["Arn"]
    assert stack.outputs["TdgArn"] == group["Arn"] and stack.outputs["Status"] == "ACTIVE"
    calls = emu.calls(operation)
    assert [c["fault"] for c in calls[:count]] == [kind] * count
    assert [c["error"] for c in calls[:count]] == [error] * count
    assert calls[count]["fault"] is None and calls[count]["status"] == 200
    tokens = {c["params"]["ClientToken"] for c in emu.calls(CREATE)}
    assert tokens == {create.request_id}
    assert_answered_once(driver)
    assert_nothing_left(emu)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_response_url_failures_are_retried_until_delivered_once(
    make_driver: MakeDriver, emu: Emulator, server: ResponseServer, instance: str, kind: str
) -> None:
    driver = make_driver()
    server.fail_next(2, kind)  # type: ignore[arg-type]
    stack = driver.create_stack(STACK_YAML, params(instance))
    assert stack.status == "CREATE_COMPLETE"
    (create,) = driver.requests
    assert [a["outcome"] for a in server.attempts(create.request_id)] == [f"fault:{kind}"] * 2 + ["delivered"]
    (answer,) = server.answers(create.request_id)
    assert answer["body"]["Status"] == "SUCCESS"
    (group,) = owned_groups(emu)
    assert answer["body"]["PhysicalResourceId"] == group["Arn"]
    assert len(create.invocations) == 1
    assert_answered_once(driver)
    assert_nothing_left(emu)


def test_duplicate_delivery_makes_one_group_and_identical_answers(
    make_driver: MakeDriver, emu: Emulator, instance: str
) -> None:
    driver = make_driver(deliver_twice=True)
    assert driver.create_stack(STACK_YAML, params(instance)).status == "CREATE_COMPLETE"
    (create,) = driver.requests
    assert len(create.invocations) == 2 and len(create.answers) == 2
    assert create.answers[0]["raw"] == create.answers[1]["raw"]
    assert create.answers[0]["body"]["Status"] == "SUCCESS"
    (group,) = owned_groups(emu)
    assert create.physical_id == group["Arn"]
    creates = emu.calls(CREATE)
    assert len(creates) == 2 and {c["params"]["ClientToken"] for c in creates} == {create.request_id}

    assert driver.delete_stack().status == "DELETE_COMPLETE"
    delete = driver.requests[-1]
    assert len(delete.invocations) == 2 and len(delete.answers) == 2
    assert delete.answers[0]["raw"] == delete.answers[1]["raw"]
    assert delete.answers[0]["body"]["Status"] == "SUCCESS"
    assert len(emu.calls("DeleteTrafficDistributionGroup")) == 1  # the second delivery found it gone
    assert owned_groups(emu) == []
    assert_nothing_left(emu)


def test_creation_slower_than_an_invocation_is_finished_by_polling(
    make_driver: MakeDriver, emu: Emulator, server: ResponseServer, instance: str
) -> None:
    emu.set_delays(creation=HANDOVER_DELAY_S)
    driver = make_driver(timeout_s=SHORT_TIMEOUT_S)
    stack = driver.create_stack(STACK_YAML, params(instance))
    assert stack.status == "CREATE_COMPLETE"
    (create,) = driver.requests
    assert create.polls >= 1 and len(create.invocations) == create.polls + 1
    first, *polls = create.invocations
    assert not first.failed and all(not p.failed for p in polls)
    assert all(p.event.get("CrHelperPoll") is True and p.event["RequestId"] == create.request_id for p in polls)
    (answer,) = server.answers(create.request_id)
    assert answer["received_at"] > first.ended_at  # the first invocation handed over without answering
    assert answer["body"]["Status"] == "SUCCESS"
    (group,) = owned_groups(emu)
    assert group["Status"] == "ACTIVE" and answer["body"]["PhysicalResourceId"] == group["Arn"]
    assert stack.outputs["Status"] == "ACTIVE" and stack.outputs["TdgArn"] == group["Arn"]
    assert len(emu.calls(CREATE)) == 1
    # crhelper's polling was set up once and taken down by the last poll
    assert len(emu.calls("PutRule", service="events")) == 1
    assert len(emu.calls("PutTargets", service="events")) == 1
    assert len(emu.calls("AddPermission", service="lambda")) == 1
    assert len(emu.calls("DeleteRule", service="events")) == 1
    assert len(emu.calls("RemovePermission", service="lambda")) == 1
    assert_nothing_left(emu)

    emu.set_delays(deletion=0.3)
    assert driver.delete_stack().status == "DELETE_COMPLETE"
    assert summary(driver) == [("Create", "Tdg", "SUCCESS"), ("Delete", "Tdg", "SUCCESS")]
    assert owned_groups(emu) == []
    assert_answered_once(driver)
    assert_nothing_left(emu)
