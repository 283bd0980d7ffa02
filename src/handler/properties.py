"""The properties of every resource type, parsed and validated before any API call.

CloudFormation sends every scalar as a string and sends properties exactly as the template wrote them,
so each property is checked here on purpose, and every rule failure names the property and says what
to do. The rules mirror Connect's own model, so that a bad template fails before anything exists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import regions
from distribution import Distribution, parse_distribution
from errors import ProviderError

# CloudFormation adds these to every custom resource; they are not ours to validate.
CLOUDFORMATION_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})

_INSTANCE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):connect:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"instance/(?P<id>[a-zA-Z0-9_-]+)$"
)
_INSTANCE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,250}$")
_GROUP_ARN = re.compile(
    r"^arn:(aws|aws-us-gov):connect:(?P<region>[a-z]{2}-[a-z-]+-\d):\d{1,20}:"
    r"traffic-distribution-group/(?P<id>[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})$"
)
_GROUP_ID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
_TAG_KEY_PUNCTUATION = set("_.:/=+-@")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+){1,2}-\d$")
# ReplicateInstance's ReplicaAlias pattern in the botocore model: ^(?!d-)([\da-zA-Z]+)([-]*[\da-zA-Z])*$
_ALIAS = re.compile(r"^(?!d-)([\da-zA-Z]+)([-]*[\da-zA-Z])*$")
_USER_ID = re.compile(r"^[a-zA-Z0-9_-]{1,256}$")
MAX_TAGS = 50


@dataclass(frozen=True)
class InstanceRef:
    """A Connect instance as the template named it, with the region where Connect must be called."""

    given: str
    instance_id: str
    region: str

    @classmethod
    def parse(cls, value: str, default_region: str) -> InstanceRef:
        match = _INSTANCE_ARN.match(value)
        if match:
            return cls(given=value, instance_id=match["id"], region=match["region"])
        if _INSTANCE_ID.match(value):
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

    @classmethod
    def parse(cls, value: str, default_region: str) -> GroupRef | None:
        """Return None for a value that is not a group, such as the id crhelper invents for a failed Create."""
        match = _GROUP_ARN.match(value)
        if match:
            return cls(value=value, group_id=match["id"], region=match["region"])
        if _GROUP_ID.match(value):
            return cls(value=value, group_id=value, region=default_region)
        return None


@dataclass(frozen=True)
class GroupProperties:
    """The desired state of one traffic distribution group."""

    name: str
    instance: InstanceRef
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    distribution: Distribution = field(default_factory=Distribution)


@dataclass(frozen=True)
class DistributionProperties:
    """The desired distribution of a group the stack does not own (``Custom::TrafficDistribution``)."""

    group: GroupRef
    distribution: Distribution


def parse_group_properties(raw: Mapping[str, Any] | None, default_region: str) -> GroupProperties:
    """Validate ``ResourceProperties`` of a ``Custom::TrafficDistributionGroup``.

    Raises ProviderError naming the first property that breaks a rule.
    """
    props = dict(raw or {})
    if "SignInConfig" in props:
        raise ProviderError(
            "SignInConfig cannot be set on Custom::TrafficDistributionGroup: Connect accepts it only on an "
            "instance's default group, and a group this provider creates is never the default. Declare a "
            "Custom::TrafficDistribution with TrafficDistributionGroupId set to the default group's ARN."
        )
    reject_unknown(props, {"Name", "InstanceId", "Description", "Tags", "TelephonyConfig", "AgentConfig"})
    name = _text(props, "Name", required=True, max_len=128)
    instance_id = _text(props, "InstanceId", required=True, max_len=250)
    description = _text(props, "Description", required=False, max_len=250)
    assert name is not None and instance_id is not None  # required=True guarantees it
    instance = InstanceRef.parse(instance_id, default_region)
    return GroupProperties(
        name=name,
        instance=instance,
        description=description,
        tags=parse_tags(props.get("Tags")),
        distribution=parse_distribution(props, home_region=instance.region),
    )


def parse_distribution_properties(raw: Mapping[str, Any] | None) -> DistributionProperties:
    """Validate ``ResourceProperties`` of a ``Custom::TrafficDistribution``."""
    props = dict(raw or {})
    reject_unknown(props, {"TrafficDistributionGroupId", "TelephonyConfig", "AgentConfig", "SignInConfig"})
    value = _text(props, "TrafficDistributionGroupId", required=True, max_len=250)
    assert value is not None
    group = GroupRef.parse(value, "")
    if group is None or group.value == group.group_id:
        raise ProviderError(
            f"TrafficDistributionGroupId {value!r} is not a traffic distribution group ARN "
            "(arn:aws:connect:REGION:ACCOUNT:traffic-distribution-group/ID). Give the ARN: it works from any region."
        )
    distribution = parse_distribution(props, home_region=group.region)
    if distribution.is_empty():
        raise ProviderError(
            "Custom::TrafficDistribution needs at least one of TelephonyConfig, AgentConfig and SignInConfig."
        )
    return DistributionProperties(group=group, distribution=distribution)


@dataclass(frozen=True)
class ReplicaProperties:
    """The desired replica of an instance (``Custom::InstanceReplica``)."""

    instance: InstanceRef
    replica_region: str
    alias: str


@dataclass(frozen=True)
class GroupUserProperties:
    """An agent associated with a traffic distribution group (``Custom::TrafficDistributionGroupUser``)."""

    group: GroupRef
    instance: InstanceRef
    user_id: str

    @property
    def physical_id(self) -> str:
        """The group's ARN and the user: what identifies the association. Any change is a replacement."""
        return f"{self.group.value}/user/{self.user_id}"


def parse_replica_properties(raw: Mapping[str, Any] | None, default_region: str) -> ReplicaProperties:
    """Validate ``ResourceProperties`` of a ``Custom::InstanceReplica``, region pair included."""
    props = dict(raw or {})
    reject_unknown(props, {"InstanceId", "ReplicaRegion", "ReplicaAlias"})
    instance_id = _text(props, "InstanceId", required=True, max_len=250)
    replica_region = _text(props, "ReplicaRegion", required=True, max_len=31)
    alias = _text(props, "ReplicaAlias", required=True, max_len=45)
    assert instance_id is not None and replica_region is not None and alias is not None
    if not _REGION.match(replica_region):
        raise ProviderError(f"ReplicaRegion {replica_region!r} is not an AWS region name such as us-west-2.")
    if not _ALIAS.match(alias):
        raise ProviderError(
            f"ReplicaAlias {alias!r} must be 1 to 45 letters, digits and hyphens, start and end with a letter or "
            "digit, and not start with 'd-' (Connect's pattern for instance aliases)."
        )
    instance = InstanceRef.parse(instance_id, default_region)
    regions.check_pair(instance.region, replica_region, what=f"ReplicaRegion {replica_region}")
    return ReplicaProperties(instance=instance, replica_region=replica_region, alias=alias)


def parse_group_user_properties(raw: Mapping[str, Any] | None, default_region: str) -> GroupUserProperties:
    """Validate ``ResourceProperties`` of a ``Custom::TrafficDistributionGroupUser``."""
    props = dict(raw or {})
    reject_unknown(props, {"TrafficDistributionGroupId", "InstanceId", "UserId"})
    group_id = _text(props, "TrafficDistributionGroupId", required=True, max_len=250)
    instance_id = _text(props, "InstanceId", required=True, max_len=250)
    user_id = _text(props, "UserId", required=True, max_len=256)
    assert group_id is not None and instance_id is not None and user_id is not None
    group = GroupRef.parse(group_id, "")
    if group is None or group.value == group.group_id:
        raise ProviderError(
            f"TrafficDistributionGroupId {group_id!r} is not a traffic distribution group ARN "
            "(arn:aws:connect:REGION:ACCOUNT:traffic-distribution-group/ID). Give the ARN, for example !Ref Tdg."
        )
    if not _USER_ID.match(user_id):
        raise ProviderError(f"UserId {user_id!r} is not a Connect user id (the id part of the user's ARN).")
    return GroupUserProperties(group=group, instance=InstanceRef.parse(instance_id, default_region), user_id=user_id)


def reject_unknown(props: Mapping[str, Any], known: set[str]) -> None:
    """Fail on any property the type does not have, so that a typo never passes silently."""
    unknown = sorted(set(props) - known - CLOUDFORMATION_PROPERTIES)
    if unknown:
        raise ProviderError(
            f"Unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}. "
            f"Valid properties are {', '.join(sorted(known))}; check the spelling."
        )


def _text(props: Mapping[str, Any], key: str, *, required: bool, max_len: int) -> str | None:
    value = props.get(key)
    if value is None or value == "":
        if required:
            raise ProviderError(f"Property {key} is required.")
        if value == "":
            raise ProviderError(f"Property {key} is empty. Give 1 to {max_len} characters, or leave it out.")
        return None
    if not isinstance(value, str):
        raise ProviderError(f"Property {key} must be a string, not {_kind(value)}.")
    if len(value) > max_len:
        raise ProviderError(f"Property {key} is {len(value)} characters long; the limit is {max_len}.")
    if value != value.strip():
        raise ProviderError(f"Property {key} {value!r} starts or ends with whitespace; remove it.")
    return value


def parse_tags(raw: Any) -> dict[str, str]:
    """Accept CloudFormation's ``[{Key, Value}]`` list or a plain map, and apply Connect's tag rules."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping) or set(item) != {"Key", "Value"}:
                raise ProviderError(
                    f"Tags[{index}] must be a map with exactly Key and Value, as in "
                    "'- {Key: team, Value: contact-center}'."
                )
            pairs.append((item["Key"], item["Value"]))
    else:
        raise ProviderError("Property Tags must be a list of {Key, Value} or a map of key to value.")
    tags: dict[str, str] = {}
    for key, value in pairs:
        _check_tag(key, value)
        if key in tags:
            raise ProviderError(f"Tag key {key!r} appears twice in Tags; keep one.")
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise ProviderError(f"Tags has {len(tags)} tags; Connect allows at most {MAX_TAGS}.")
    return tags


def _check_tag(key: Any, value: Any) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise ProviderError(f"Tag key {key!r} must be a string of 1 to 128 characters.")
    if key.lower().startswith("aws:"):
        raise ProviderError(f"Tag key {key!r} starts with 'aws:', which AWS reserves. Choose another key.")
    bad = [ch for ch in key if not (_is_letter_space_or_number(ch) or ch in _TAG_KEY_PUNCTUATION)]
    if bad:
        raise ProviderError(
            f"Tag key {key!r} contains {bad[0]!r}; keys may hold letters, numbers, spaces and _ . : / = + - @."
        )
    if not isinstance(value, str) or len(value) > 256:
        raise ProviderError(f"The value of tag {key!r} must be a string of at most 256 characters.")


def _is_letter_space_or_number(ch: str) -> bool:
    # Connect's pattern is [\p{L}\p{Z}\p{N}...]: Unicode letters, separators and numbers.
    return unicodedata.category(ch)[0] in "LZN"


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a map" if isinstance(value, Mapping) else type(value).__name__
