"""Native (non-custom) resource types the StackDriver plays against the local emulator.

``AWS::Connect::PhoneNumber``, and the instance's own resources a consumer template declares beside ours:
``AWS::Connect::User``, ``ContactFlow``, ``Queue``, ``RoutingProfile``, ``HoursOfOperation`` and
``SecurityProfile``.

PhoneNumber follows the docs ("AWS::Connect::PhoneNumber", aws-resource-connect-phonenumber) and the resource schema
aws-connect-phonenumber.json in aws-cloudformation/aws-cloudformation-resource-providers-connect:

* Properties: TargetArn, CountryCode and Type required; Prefix, Description, Tags, SourcePhoneNumberArn
  optional. Ref is the PhoneNumberArn (primaryIdentifier); ``!GetAtt`` gives PhoneNumberArn and Address.
* Create claims a number with ClaimPhoneNumber in the Region of the TargetArn (a number can be claimed only
  in the Region where the instance or traffic distribution group was created), then waits for
  DescribePhoneNumber to say CLAIMED. The real handler picks the number with SearchAvailablePhoneNumbers;
  here it is made up: ``+1555`` plus digits for a US DID, ``+1800555`` plus digits for a US TOLL_FREE, the
  Prefix plus digits when Prefix is given. SourcePhoneNumberArn (ImportPhoneNumber) is not played: Create
  fails.
* Update: CountryCode, Type, Prefix and SourcePhoneNumberArn need a replacement; Description and Tags
  change in place (no call is made: the emulator keeps what the claim set); TargetArn would be
  UpdatePhoneNumber, which is not played: the update fails.
* Delete releases the number with ReleasePhoneNumber in the Region of its ARN; a number already gone
  (ResourceNotFoundException) counts as deleted.

The instance resources (:data:`INSTANCE_TYPES`) follow their CloudFormation template reference pages ("Return
values") and, for User, the schema aws-connect-user.json (primaryIdentifier UserArn): Ref is the resource's ARN,
and ``!GetAtt`` gives that ARN under its own name (UserArn, ContactFlowArn, QueueArn, RoutingProfileArn,
HoursOfOperationArn, SecurityProfileArn), plus Queue's Type (STANDARD) and SecurityProfile's LastModifiedRegion and
LastModifiedTime. Create calls Connect's Create operation in the Region of InstanceArn with the properties Connect
requires (ARNs given as ids, as the API wants them), Delete its Delete operation (a resource already gone counts as
deleted). A change of InstanceArn replaces the resource; any other change is accepted in place without a call (the
emulator does not keep those properties).
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

PHONE_NUMBER: Final = "AWS::Connect::PhoneNumber"


def _id(arn: Any) -> str:
    """The id at the end of a Connect ARN (``.../queue/<id>``)."""
    return str(arn).rsplit("/", 1)[-1]


def _user(props: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "Username": props["Username"],
        "SecurityProfileIds": [_id(arn) for arn in props["SecurityProfileArns"]],
        "RoutingProfileId": _id(props["RoutingProfileArn"]),
        "PhoneConfig": props["PhoneConfig"],
    }
    for key in ("IdentityInfo", "Password", "DirectoryUserId"):
        if key in props:
            request[key] = props[key]
    if "HierarchyGroupArn" in props:
        request["HierarchyGroupId"] = _id(props["HierarchyGroupArn"])
    return request


def _flow(props: Mapping[str, Any]) -> dict[str, Any]:
    request = {key: props[key] for key in ("Name", "Type", "Content")}
    return request | ({"Description": props["Description"]} if "Description" in props else {})


def _queue(props: Mapping[str, Any]) -> dict[str, Any]:
    request = {"Name": props["Name"], "HoursOfOperationId": _id(props["HoursOfOperationArn"])}
    return request | ({"Description": props["Description"]} if "Description" in props else {})


def _routing_profile(props: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "Name": props["Name"],
        "Description": props["Description"],
        "DefaultOutboundQueueId": _id(props["DefaultOutboundQueueArn"]),
        "MediaConcurrencies": props["MediaConcurrencies"],
    }
    if props.get("QueueConfigs"):
        request["QueueConfigs"] = [
            {
                "QueueReference": {
                    "QueueId": _id(config["QueueReference"]["QueueArn"]),
                    "Channel": config["QueueReference"]["Channel"],
                },
                "Priority": config["Priority"],
                "Delay": config["Delay"],
            }
            for config in props["QueueConfigs"]
        ]
    return request


def _hours(props: Mapping[str, Any]) -> dict[str, Any]:
    request = {key: props[key] for key in ("Name", "TimeZone", "Config")}
    return request | ({"Description": props["Description"]} if "Description" in props else {})


def _security_profile(props: Mapping[str, Any]) -> dict[str, Any]:
    request = {"SecurityProfileName": props["SecurityProfileName"]}
    return request | {key: props[key] for key in ("Description", "Permissions") if key in props}


@dataclass(frozen=True)
class InstanceType:
    """How one instance resource type is played: the API's name for it, the properties the schema requires,
    the request of its Create, and the ARN's attribute name."""

    api_name: str
    required: tuple[str, ...]
    request: Callable[[Mapping[str, Any]], dict[str, Any]]
    arn_attribute: str
    id_key: str


INSTANCE_TYPES: Final = {
    "AWS::Connect::User": InstanceType(
        "User",
        ("InstanceArn", "PhoneConfig", "RoutingProfileArn", "SecurityProfileArns", "Username"),
        _user,
        "UserArn",
        "UserId",
    ),
    "AWS::Connect::ContactFlow": InstanceType(
        "ContactFlow", ("InstanceArn", "Name", "Type", "Content"), _flow, "ContactFlowArn", "ContactFlowId"
    ),
    "AWS::Connect::Queue": InstanceType(
        "Queue", ("InstanceArn", "Name", "HoursOfOperationArn"), _queue, "QueueArn", "QueueId"
    ),
    "AWS::Connect::RoutingProfile": InstanceType(
        "RoutingProfile",
        ("InstanceArn", "Name", "Description", "DefaultOutboundQueueArn", "MediaConcurrencies"),
        _routing_profile,
        "RoutingProfileArn",
        "RoutingProfileId",
    ),
    "AWS::Connect::HoursOfOperation": InstanceType(
        "HoursOfOperation",
        ("InstanceArn", "Name", "TimeZone", "Config"),
        _hours,
        "HoursOfOperationArn",
        "HoursOfOperationId",
    ),
    "AWS::Connect::SecurityProfile": InstanceType(
        "SecurityProfile",
        ("InstanceArn", "SecurityProfileName"),
        _security_profile,
        "SecurityProfileArn",
        "SecurityProfileId",
    ),
}
NATIVE_TYPES: Final = frozenset({PHONE_NUMBER, *INSTANCE_TYPES})
_SNAKE: Final = re.compile(r"(?<!^)(?=[A-Z])")
UpdateKind = Literal["in-place", "replace", "unsupported"]

_REPLACING: Final = frozenset({"CountryCode", "Type", "Prefix", "SourcePhoneNumberArn"})
_IN_PLACE: Final = frozenset({"Description", "Tags"})
_CALLING_CODES: Final = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "JP": "81", "AU": "61", "FR": "33"}
_ARN: Final = re.compile(r"arn:aws[a-z-]*:connect:([a-z]{2}-[a-z-]+-\d):\d{12}:.+")
# Made-up numbers, unique in this process; a random start keeps two processes sharing one emulator apart.
_NUMBERS: Final = itertools.count(secrets.randbelow(10**6))
_DUMMY_KEYS: Final = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "not-a-secret"}


class NativeError(Exception):
    """The handler failed: the message is the resource's status reason."""


def _region_of(arn: str) -> str | None:
    match = _ARN.fullmatch(arn)
    return match.group(1) if match else None


def made_up_number(country: str, number_type: str, prefix: str | None) -> str:
    """An E.164 number to claim: ``prefix`` (or a made-up one for the country and type) plus digits."""
    if prefix:
        start = prefix
    else:
        code = _CALLING_CODES.get(country, "1")
        start = f"+{code}" + ("800555" if code == "1" and number_type == "TOLL_FREE" else "555")
    width = max(4, 12 - len(start))  # +1 and ten digits for North America
    return start + str(next(_NUMBERS) % 10**width).zfill(width)


class NativePlayer:
    """Plays the handlers of :data:`NATIVE_TYPES` with boto3 against ``endpoint_url`` (dummy credentials)."""

    def __init__(self, endpoint_url: str, *, claim_timeout_s: float = 30.0, poll_interval_s: float = 0.05) -> None:
        self.endpoint_url = endpoint_url
        self.claim_timeout_s = claim_timeout_s
        self.poll_interval_s = poll_interval_s
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # creating boto3 clients is not thread-safe

    def plays(self, resource_type: str) -> bool:
        return resource_type in NATIVE_TYPES

    def _connect(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = boto3.session.Session().client(
                    "connect",  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=Config(retries={"mode": "standard", "total_max_attempts": 5}),
                    **_DUMMY_KEYS,
                )
            return self._clients[region]

    # -- handlers ---------------------------------------------------------------------------------

    def create(self, resource_type: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create the resource: its physical id and its attributes (for ``!GetAtt``)."""
        if resource_type in INSTANCE_TYPES:
            return self._create_in_instance(INSTANCE_TYPES[resource_type], props)
        assert resource_type == PHONE_NUMBER
        missing = [key for key in ("TargetArn", "CountryCode", "Type") if not props.get(key)]
        if missing:
            raise NativeError(f"Properties validation failed: required key(s) {missing} not found")
        if props.get("SourcePhoneNumberArn"):
            raise NativeError("SourcePhoneNumberArn (ImportPhoneNumber) is not played by the local driver")
        target = str(props["TargetArn"])
        region = _region_of(target)
        if region is None:
            raise NativeError(f"TargetArn {target!r} is not a Connect instance or traffic distribution group ARN")
        number = made_up_number(str(props["CountryCode"]), str(props["Type"]), props.get("Prefix"))
        request: dict[str, Any] = {"TargetArn": target, "PhoneNumber": number}
        if props.get("Description"):
            request["PhoneNumberDescription"] = str(props["Description"])
        tags = props.get("Tags") or []
        if tags:
            request["Tags"] = {str(tag["Key"]): str(tag["Value"]) for tag in tags}
        client = self._connect(region)
        claimed = self._call(lambda: client.claim_phone_number(**request))
        arn = str(claimed["PhoneNumberArn"])
        deadline = time.monotonic() + self.claim_timeout_s
        while True:
            summary = self._call(lambda: client.describe_phone_number(PhoneNumberId=arn))["ClaimedPhoneNumberSummary"]
            status = (summary.get("PhoneNumberStatus") or {}).get("Status")
            if status == "CLAIMED":
                return arn, {"PhoneNumberArn": arn, "Address": str(summary.get("PhoneNumber", number))}
            if status == "FAILED" or time.monotonic() > deadline:
                reason = (summary.get("PhoneNumberStatus") or {}).get("Message") or f"status {status}"
                raise NativeError(f"Phone number {number} was not claimed: {reason}")
            time.sleep(self.poll_interval_s)

    def _create_in_instance(self, kind: InstanceType, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        missing = [key for key in kind.required if not props.get(key)]
        if missing:
            raise NativeError(f"Properties validation failed: required key(s) {missing} not found")
        instance = str(props["InstanceArn"])
        region = _region_of(instance)
        if region is None or ":instance/" not in instance:
            raise NativeError(f"InstanceArn {instance!r} is not a Connect instance ARN")
        client = self._connect(region)
        operation = getattr(client, "create_" + _SNAKE.sub("_", kind.api_name).lower())
        try:
            request = kind.request(props)
        except (KeyError, TypeError) as error:
            raise NativeError(f"Properties validation failed: {error!r}") from error
        created = self._call(lambda: operation(InstanceId=_id(instance), **request))
        arn = str(created[kind.arn_attribute])
        attributes: dict[str, Any] = {kind.arn_attribute: arn}
        if kind.api_name == "Queue":
            attributes["Type"] = "STANDARD"  # CreateQueue makes standard queues; agent queues come with users
        if kind.api_name == "SecurityProfile":
            attributes["LastModifiedRegion"] = region
            attributes["LastModifiedTime"] = datetime.now(UTC).isoformat(timespec="seconds")
        return arn, attributes

    def update_kind(self, resource_type: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> UpdateKind:
        changed = {key for key in set(old) | set(new) if old.get(key) != new.get(key)}
        if resource_type in INSTANCE_TYPES:
            return "replace" if "InstanceArn" in changed else "in-place"
        assert resource_type == PHONE_NUMBER
        if changed & _REPLACING:
            return "replace"
        if changed <= _IN_PLACE:
            return "in-place"
        return "unsupported"

    def delete(self, resource_type: str, physical_id: str) -> None:
        region = _region_of(physical_id)
        if region is None:
            return  # never created (a Create that failed): nothing to release
        client = self._connect(region)
        if resource_type in INSTANCE_TYPES:
            kind = INSTANCE_TYPES[resource_type]
            operation = getattr(client, "delete_" + _SNAKE.sub("_", kind.api_name).lower())
            instance_id = physical_id.split(":instance/", 1)[-1].split("/", 1)[0]
            request = {"InstanceId": instance_id, kind.id_key: _id(physical_id)}
            try:
                self._call(lambda: operation(**request), missing_ok=True)
            except _Missing:
                return
            return
        assert resource_type == PHONE_NUMBER
        try:
            self._call(lambda: client.release_phone_number(PhoneNumberId=physical_id), missing_ok=True)
        except _Missing:
            return

    @staticmethod
    def _call(call: Any, *, missing_ok: bool = False) -> dict[str, Any]:
        try:
            response: dict[str, Any] = call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if missing_ok and code == "ResourceNotFoundException":
                raise _Missing from error
            message = error.response.get("Error", {}).get("Message", "")
            raise NativeError(f"{code}: {message}") from error
        except BotoCoreError as error:
            raise NativeError(f"{type(error).__name__}: {error}") from error
        return response


class _Missing(Exception):
    pass
