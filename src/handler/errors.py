"""The one exception the provider raises to answer FAILED."""

from __future__ import annotations


class ProviderError(Exception):
    """A failure to report to CloudFormation.

    ``reason`` becomes the FAILED answer's Reason: it names the property or Connect error that caused
    the failure and says what to do. ``physical_resource_id`` is set when a group exists that
    CloudFormation must know about (for example a group that ended CREATION_FAILED), so that the
    rollback's Delete removes it. ``code`` names the cause for metrics: a Connect error code, or one of
    the provider's own (InvalidProperties, CreationFailed, ...).
    """

    def __init__(self, reason: str, physical_resource_id: str | None = None, code: str = "InvalidProperties") -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_resource_id = physical_resource_id
        self.code = code

    def about(self, physical_resource_id: str) -> ProviderError:
        """This error, answered for ``physical_resource_id`` unless it already names a resource."""
        if self.physical_resource_id:
            return self
        return ProviderError(self.reason, physical_resource_id=physical_resource_id, code=self.code)


def error_code(error: BaseException) -> str:
    """The AWS error code of a failed call (``ClientError``'s Error.Code, or an error's own ``code``); "" if none."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return str(getattr(error, "code", "") or "")


def http_status(error: BaseException) -> int:
    """The HTTP status of a failed AWS call; 0 when it never got an answer."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return 0
