"""ProviderError: the Reason, the physical id a rollback needs, and the code a failure is counted under."""

from __future__ import annotations

from botocore.exceptions import ClientError

from errors import ProviderError, error_code, http_status
from tests.unit.conftest import GROUP_ARN, NEW_GROUP_ARN


def test_a_failure_without_a_code_of_its_own_is_counted_as_invalid_properties() -> None:
    # Most failures raised without a code are refused properties: the Failures metric's ErrorCode says so
    error = ProviderError("Name must be at most 128 characters.")

    assert error.code == "InvalidProperties"
    assert error.physical_resource_id is None  # crhelper's id stands: the failure made nothing


def test_an_error_about_a_group_keeps_its_reason_and_code_and_names_the_group() -> None:
    # Given a Connect failure that names no group; when it is answered about the group the request made
    error = ProviderError("The group ended CREATION_FAILED. Retry the stack operation.", code="CreationFailed")

    about = error.about(GROUP_ARN)

    # Then the answer carries the group (the rollback's Delete removes it), with the same Reason and code
    assert (about.reason, about.code, about.physical_resource_id) == (
        "The group ended CREATION_FAILED. Retry the stack operation.",
        "CreationFailed",
        GROUP_ARN,
    )
    assert str(about) == about.reason


def test_an_error_that_already_names_a_group_keeps_it() -> None:
    error = ProviderError("The replacement failed.", physical_resource_id=NEW_GROUP_ARN, code="CreationFailed")

    assert error.about(GROUP_ARN) is error


class TestAnAwsErrorsCodeAndStatus:
    """``error_code`` and ``http_status``: one reading of any AWS error, for the retries and the Reasons."""

    def test_a_client_error_gives_its_code_and_status(self) -> None:
        error = ClientError(
            {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Op"
        )

        assert (error_code(error), http_status(error)) == ("ThrottlingException", 429)

    def test_an_answer_without_a_code_or_a_status_gives_none_of_either(self) -> None:
        error = ClientError({}, "Op")

        assert (error_code(error), http_status(error)) == ("", 0)

    def test_an_error_with_a_code_of_its_own_gives_it_and_no_status(self) -> None:
        class EntryFailed(Exception):
            code = "ConcurrentModificationException"

        assert (error_code(EntryFailed()), http_status(EntryFailed())) == ("ConcurrentModificationException", 0)

    def test_a_lost_connection_has_no_code_and_no_status(self) -> None:
        assert (error_code(ConnectionResetError()), http_status(ConnectionResetError())) == ("", 0)
