"""The request as the resource types see it: CloudFormation's ServiceTimeout, read once."""

from __future__ import annotations

from typing import Any

import pytest

from request import Request
from tests.unit.conftest import load_event


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("1800", 1800.0), ("1", 1.0), ("3600", 3600.0), (None, 3600.0), ("0", 3600.0), ("4000", 3600.0), ("ten", 3600.0)],
)
def test_the_service_timeout_is_the_propertys_and_cloudformations_default_otherwise(given: Any, seconds: float) -> None:
    event = load_event("create")
    event["ResourceProperties"] = {**event["ResourceProperties"], "ServiceTimeout": given}
    if given is None:
        del event["ResourceProperties"]["ServiceTimeout"]

    assert Request.from_event(event, "us-east-1").service_timeout == seconds
