"""Lambda resource policies (local/emulator/awslambda.py): AddPermission and RemovePermission."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from tests.local.emulator.conftest import (
    HOME,
    ClientFactory,
    error_of,
)


def test_lambda_permissions(emu: Emulator, client: ClientFactory) -> None:
    lam = client("lambda")
    grant = {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}
    function_arn = f"arn:aws:lambda:{HOME}:123456789012:function:fn"
    statement = json.loads(lam.add_permission(FunctionName="fn", StatementId="sid-1", **grant)["Statement"])
    assert statement["Resource"] == function_arn and statement["Sid"] == "sid-1"
    with pytest.raises(ClientError) as excinfo:  # same function named by ARN: same policy
        lam.add_permission(FunctionName=function_arn, StatementId="sid-1", **grant)
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    for sid in ("s" * 101, "not ok!"):
        with pytest.raises(ClientError) as excinfo:
            lam.add_permission(FunctionName="fn", StatementId=sid, **grant)
        assert error_of(excinfo)[:2] == ("ValidationException", 400)
    lam.remove_permission(FunctionName="fn", StatementId="sid-1")
    with pytest.raises(ClientError) as excinfo:
        lam.remove_permission(FunctionName="fn", StatementId="sid-1")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert emu.permissions() == []
