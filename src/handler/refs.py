"""Identities of Connect resources, in one place: instance, traffic distribution group, user, phone number and
contact flow, each given as an id or as an ARN, and what Connect's model says a parameter may hold.

An ARN is split by botocore's ArnParser. Its partition must be one that botocore knows, its region must match
REGION (the provider's one region pattern), and its resource must have the form of the resource asked for.
Lengths and patterns of parameters come from Connect's service model as botocore ships it (``constraint``),
so they follow Connect when botocore is upgraded instead of drifting in hand-copied regexes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import ClassVar, Self

import boto3
from botocore.model import ServiceModel
from botocore.utils import ArnParser, InvalidArnException

from errors import ProviderError

# Every AWS region name: us-east-1, ap-northeast-3, us-gov-west-1, eu-isoe-west-1, eusc-de-east-1.
# tests/unit/test_refs.py checks it against every region of every partition in botocore's data.
REGION = re.compile(r"[a-z]{2,4}(-[a-z]+){1,2}-[0-9]{1,2}")
_ACCOUNT = re.compile(r"[0-9]{12}")
_ID = r"[a-zA-Z0-9_-]+"
_UUID = r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"
_BARE_ID = re.compile(_ID)
_BARE_GROUP_ID = re.compile(_UUID)
# The resource part of each ARN, after "arn:PARTITION:connect:REGION:ACCOUNT:".
_INSTANCE = re.compile(rf"instance/(?P<id>{_ID})")
_GROUP = re.compile(rf"traffic-distribution-group/(?P<id>{_UUID})")
_USER = re.compile(rf"instance/(?P<instance>{_ID})/agent/(?P<id>{_ID})")
_PHONE_NUMBER = re.compile(rf"phone-number/(?P<id>{_ID})")
_FLOW = re.compile(rf"instance/(?P<instance>{_ID})/contact-flow/(?P<id>{_ID})")


def is_region(value: str) -> bool:
    """Whether ``value`` has the form of an AWS region name."""
    return REGION.fullmatch(value) is not None


@functools.cache
def _session() -> boto3.Session:
    # connect.py's clients come from boto3's default session: its botocore has read the data files already.
    return boto3._get_default_session()


@functools.cache
def partitions() -> frozenset[str]:
    """Every partition botocore knows: aws, aws-cn, aws-us-gov, aws-iso..., aws-eusc."""
    return frozenset(_session().get_available_partitions())


@dataclass(frozen=True)
class ConnectArn:
    """An ARN of a Connect resource, split into its parts."""

    partition: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, value: str) -> ConnectArn | None:
        """The parts of a Connect ARN in a known partition and region, or None for anything else."""
        if not value.startswith("arn:"):  # ArnParser checks the number of parts, not the prefix
            return None
        try:
            parts = ArnParser().parse_arn(value)
        except InvalidArnException:
            return None
        if (
            parts["service"] != "connect"
            or parts["partition"] not in partitions()
            or not is_region(parts["region"])
            or not _ACCOUNT.fullmatch(parts["account"])
        ):
            return None
        return cls(parts["partition"], parts["region"], parts["account"], parts["resource"])


def _resource(value: str, form: re.Pattern[str]) -> tuple[ConnectArn, re.Match[str]] | None:
    """The ARN and the matched resource part, when ``value`` is a Connect ARN of the resource ``form`` describes."""
    arn = ConnectArn.parse(value)
    match = form.fullmatch(arn.resource) if arn else None
    return (arn, match) if arn and match else None


@dataclass(frozen=True)
class InstanceRef:
    """A Connect instance as the template named it, with the region where Connect must be called."""

    given: str
    instance_id: str
    region: str

    @classmethod
    def parse(cls, value: str, default_region: str) -> InstanceRef:
        """An instance ARN, or a bare id in ``default_region``; ProviderError for anything else."""
        found = _resource(value, _INSTANCE)
        if found:
            arn, match = found
            return cls(given=value, instance_id=match["id"], region=arn.region)
        if _BARE_ID.fullmatch(value):
            return cls(given=value, instance_id=value, region=default_region)
        raise ProviderError(
            f"InstanceId {value!r} is neither a Connect instance id nor an instance ARN "
            "(arn:aws:connect:REGION:ACCOUNT:instance/ID). Use the ARN of the replicated instance."
        )


@dataclass(frozen=True)
class GroupRef:
    """A traffic distribution group named by ARN or by bare id, and the region to call Connect in."""

    value: str
    group_id: str
    region: str

    @property
    def is_arn(self) -> bool:
        return self.value != self.group_id

    @classmethod
    def parse(cls, value: str, default_region: str) -> GroupRef | None:
        """Return None for a value that is not a group, such as the id crhelper invents for a failed Create."""
        found = cls.parse_arn(value)
        if found:
            return found
        if _BARE_GROUP_ID.fullmatch(value):
            return cls(value=value, group_id=value, region=default_region)
        return None

    @classmethod
    def parse_arn(cls, value: str) -> GroupRef | None:
        """A group ARN, the form that works from any region; None for a bare id or anything else."""
        found = _resource(value, _GROUP)
        if not found:
            return None
        arn, match = found
        return cls(value=value, group_id=match["id"], region=arn.region)


@dataclass(frozen=True)
class _ByIdOrArn:
    """A Connect resource given by id or by ARN. ``id`` is the same in both forms: compare and name the resource by
    it, so that the form a template uses never matters; pass ``given`` to Connect, which takes both."""

    given: str
    id: str
    instance_id: str | None = None
    region: str | None = None
    FORM: ClassVar[re.Pattern[str]]  # the resource part of the ARN, with the id as (?P<id>...)

    @property
    def is_arn(self) -> bool:
        return self.given != self.id

    @classmethod
    def parse(cls, value: str) -> Self | None:
        found = _resource(value, cls.FORM)
        if found is None:
            return cls(given=value, id=value) if _BARE_ID.fullmatch(value) else None
        arn, match = found
        return cls(given=value, id=match["id"], instance_id=match.groupdict().get("instance"), region=arn.region)


class UserRef(_ByIdOrArn):
    """A Connect user (``instance/<id>/agent/<id>``); ``!Ref`` of an AWS::Connect::User gives the ARN."""

    FORM = _USER

    @property
    def user_id(self) -> str:
        return self.id


class PhoneNumberRef(_ByIdOrArn):
    """A claimed phone number (``phone-number/<id>``)."""

    FORM = _PHONE_NUMBER

    @property
    def phone_number_id(self) -> str:
        return self.id


class FlowRef(_ByIdOrArn):
    """A contact flow (``instance/<id>/contact-flow/<id>``)."""

    FORM = _FLOW

    @property
    def flow_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class Constraint:
    """What Connect's model says a string parameter may hold; each part is None when the model gives none."""

    min_length: int | None
    max_length: int | None
    pattern: str | None

    def allows(self, value: str) -> bool:
        # Smithy patterns are not implicitly anchored: the model's own ^ and $ say where they must match.
        return (
            (self.min_length is None or len(value) >= self.min_length)
            and (self.max_length is None or len(value) <= self.max_length)
            and (self.pattern is None or re.search(self.pattern, value) is not None)
        )


@functools.cache
def connect_model() -> ServiceModel:
    """Connect's service model, read once per process from the session connect.py's clients share."""
    return _session()._session.get_service_model("connect")


@functools.cache
def constraint(operation: str, parameter: str) -> Constraint:
    """The model's constraint on one input of a Connect operation, as ("CreateTrafficDistributionGroup", "Name").

    Operation and parameter names are Connect's API; the model's shape names behind them may change."""
    input_shape = connect_model().operation_model(operation).input_shape
    if input_shape is None:
        raise KeyError(f"{operation} takes no input")
    metadata = input_shape.members[parameter].metadata
    return Constraint(metadata.get("min"), metadata.get("max"), metadata.get("pattern"))


def max_length(operation: str, parameter: str) -> int:
    """The model's maximum length of one input; KeyError when the model gives none."""
    limit = constraint(operation, parameter).max_length
    if limit is None:
        raise KeyError(f"Connect's model gives no maximum length for {operation} {parameter}")
    return limit
