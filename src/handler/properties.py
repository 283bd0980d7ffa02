"""The properties of every resource type, parsed and validated before any API call.

CloudFormation sends every scalar as a string and sends properties exactly as the template wrote them,
so each property is checked here on purpose, and every rule failure names the property and says what
to do. Lengths and patterns are read from Connect's own model, and ids and ARNs are parsed by refs.py, so
that a bad template fails before anything exists.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import regions
from distribution import Distribution, parse_distribution
from errors import ProviderError
from refs import FlowRef, GroupRef, InstanceRef, PhoneNumberRef, UserRef, constraint, is_region, max_length

# CloudFormation adds these to every custom resource; they are not ours to validate.
CLOUDFORMATION_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})

_TAG_KEY_PUNCTUATION = set("_.:/=+-@")
MAX_TAGS = 50
# The operations whose inputs these properties become: Connect's model gives their lengths and patterns.
_CREATE, _REPLICATE = "CreateTrafficDistributionGroup", "ReplicateInstance"
_ASSOCIATE_FLOW, _ROUTING = "AssociatePhoneNumberContactFlow", "UpdateCrossRegionRouting"
# Lengths Connect's model does not give: an ARN of a group is about 110 characters, a user id 36, a number's ARN 90.
_GROUP_ID_MAX_LENGTH = 250
_USER_ID_MAX_LENGTH = 256
_PHONE_NUMBER_ID_MAX_LENGTH = 250


@dataclass(frozen=True)
class Property:
    """One property of a resource type: its parser checks presence and length by it, and the reference docs show it
    (``Schema.table``), so that the two cannot drift apart.

    ``limit`` is a string property's longest length: a number, or the Connect (operation, parameter) whose model
    gives it, read on first use (importing the handler must not read the model before its client does). ``rules``
    may say ``{max}`` where that length goes."""

    name: str
    required: bool
    rules: str
    on_change: str
    limit: int | tuple[str, str] | None = None

    @property
    def max_length(self) -> int | None:
        return max_length(*self.limit) if isinstance(self.limit, tuple) else self.limit

    def described(self) -> str:
        return self.rules.replace("{max}", str(self.max_length))


@dataclass(frozen=True)
class Schema:
    """The properties a resource type takes."""

    properties: tuple[Property, ...]

    def __getitem__(self, name: str) -> Property:
        return next(prop for prop in self.properties if prop.name == name)

    def reject_unknown(self, props: Mapping[str, Any]) -> None:
        reject_unknown(props, {prop.name for prop in self.properties})

    def text(self, props: Mapping[str, Any], name: str) -> str | None:
        """The string property ``name``, checked as the schema says: present if required, within its length."""
        prop = self[name]
        assert prop.max_length is not None, f"{name} is not a string property"
        return _text(props, name, required=prop.required, max_len=prop.max_length)

    def table(self) -> str:
        """The reference docs' table of these properties, in Markdown."""
        rows = [
            f"| `{prop.name}` | {'yes' if prop.required else 'no'} | {prop.described()} | {prop.on_change} |"
            for prop in self.properties
        ]
        own = ", ".join(f"`{name}`" for name in sorted(CLOUDFORMATION_PROPERTIES))
        return "\n".join(
            [
                "| property | required | rules | on change |",
                "|---|---|---|---|",
                *rows,
                f"| {own} | | CloudFormation's own; accepted and ignored | |",
            ]
        )


_DISTRIBUTION_RULES = (
    "`{Distributions: [{Region, Percentage}]}`: both linked regions of the instance, whole numbers in steps of 10 "
    "that add up to 100"
)
_ONE_LINE = "on one line, without leading or trailing whitespace (Connect's pattern)"
GROUP_SCHEMA = Schema(
    (
        Property(
            "Name",
            True,
            f"1 to {{max}} characters {_ONE_LINE}; unique per instance",
            "replacement",
            (_CREATE, "Name"),
        ),
        Property(
            "InstanceId",
            True,
            "the replicated instance's id or ARN. With an ARN, Connect is called in the ARN's region (the instance's "
            "home region); with an id, in the provider's region",
            "replacement (an id and the ARN of the same instance are the same)",
            (_CREATE, "InstanceId"),
        ),
        Property(
            "Description",
            False,
            f"1 to {{max}} characters {_ONE_LINE}",
            "replacement",
            (_CREATE, "Description"),
        ),
        Property(
            "Tags",
            False,
            f"`[{{Key, Value}}]` or a map; at most {MAX_TAGS}; keys of 1 to 128 characters, not `aws:`; "
            "values of at most 256",
            "in place",
        ),
        Property("TelephonyConfig", False, _DISTRIBUTION_RULES, "in place; moves calls only when it changes"),
        Property(
            "AgentConfig",
            False,
            "same shape and rules as `TelephonyConfig`",
            "in place; moves agents only when it changes",
        ),
    )
)
DISTRIBUTION_SCHEMA = Schema(
    (
        Property(
            "TrafficDistributionGroupId",
            True,
            "the ARN of an existing group, for example the instance's default group",
            "replacement (the distribution is applied to the new group; the old one is left as it is)",
            _GROUP_ID_MAX_LENGTH,
        ),
        Property("TelephonyConfig", False, f"{_DISTRIBUTION_RULES}; at least one config", "in place, when it changes"),
        Property("AgentConfig", False, "same shape and rules as `TelephonyConfig`", "in place, when it changes"),
        Property(
            "SignInConfig",
            False,
            "`{Distributions: [{Region, Enabled}]}`, `Enabled` `true` or `false`, both linked regions; only on an "
            "instance's default group",
            "in place, when it changes",
        ),
    )
)
REPLICA_SCHEMA = Schema(
    (
        Property(
            "InstanceId",
            True,
            "the source instance's id or ARN; with an ARN, Connect is called in the ARN's region",
            "refused",
            (_REPLICATE, "InstanceId"),
        ),
        Property(
            "ReplicaRegion",
            True,
            f"the partner of the instance's region ({regions.pairs()}, from Connect's admin guide). Any other region "
            "fails before any call, naming the partner",
            "refused",
            (_REPLICATE, "ReplicaRegion"),
        ),
        Property(
            "ReplicaAlias",
            True,
            "1 to {max} letters, digits and hyphens, not starting with `d-` (Connect's pattern)",
            "refused",
            (_REPLICATE, "ReplicaAlias"),
        ),
    )
)
GROUP_USER_SCHEMA = Schema(
    (
        Property(
            "TrafficDistributionGroupId",
            True,
            "the group's ARN (`!Ref Tdg`)",
            "replacement",
            _GROUP_ID_MAX_LENGTH,
        ),
        Property(
            "InstanceId",
            True,
            "the instance's id or ARN",
            "replacement",
            (_CREATE, "InstanceId"),
        ),
        Property(
            "UserId",
            True,
            "the user's id, or its ARN (`!Ref` of an `AWS::Connect::User` gives the ARN); an ARN must name a user of "
            "`InstanceId`'s instance",
            "replacement, unless the same user is given in the other form",
            _USER_ID_MAX_LENGTH,
        ),
    )
)


NUMBER_FLOW_SCHEMA = Schema(
    (
        Property(
            "PhoneNumberId",
            True,
            "the number's ARN (`!Ref` of an `AWS::Connect::PhoneNumber`) or id. From the other region of the number's "
            "traffic distribution group only the ARN works; an ARN must name a number claimed in `InstanceId`'s "
            "region or its partner",
            "replacement (an id and the ARN of the same number are the same)",
            _PHONE_NUMBER_ID_MAX_LENGTH,
        ),
        Property(
            "InstanceId",
            True,
            "the instance's id or ARN. With an ARN, Connect is called in the ARN's region; with an id, in the "
            "provider's region",
            "replacement (the same instance named in its other region is not)",
            (_ASSOCIATE_FLOW, "InstanceId"),
        ),
        Property(
            "ContactFlowId",
            True,
            "the flow's ARN (`!Ref` of an `AWS::Connect::ContactFlow`) or id; an ARN must name a flow of "
            "`InstanceId`'s instance, in `InstanceId`'s region",
            "in place (Connect replaces the number's flow; no disassociation first)",
            (_ASSOCIATE_FLOW, "ContactFlowId"),
        ),
    )
)
ROUTING_SCHEMA = Schema(
    (
        Property(
            "InstanceId",
            True,
            "the id or ARN of an instance enabled for global routing, in either of its regions (Connect's pattern "
            "for the operation)",
            "replacement (the same instance named in its other region is not)",
            (_ROUTING, "InstanceId"),
        ),
        Property(
            "IsolatedAll",
            True,
            "`true`: no contact is routed to agents of the other region; `false`: cross-region routing. Anything "
            "else fails before any call",
            "in place",
        ),
    )
)


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
    GROUP_SCHEMA.reject_unknown(props)
    name = GROUP_SCHEMA.text(props, "Name")
    instance_id = GROUP_SCHEMA.text(props, "InstanceId")
    description = GROUP_SCHEMA.text(props, "Description")
    assert name is not None and instance_id is not None  # required=True guarantees it
    for key, value in (("Name", name), ("Description", description)):
        _check_pattern(key, value)
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
    DISTRIBUTION_SCHEMA.reject_unknown(props)
    value = DISTRIBUTION_SCHEMA.text(props, "TrafficDistributionGroupId")
    assert value is not None
    group = _group_arn(value, advice="Give the ARN: it works from any region.")
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
    user: UserRef

    @property
    def user_id(self) -> str:
        """The user's id, whether the template gave it or the user's ARN: what names and compares the user."""
        return self.user.user_id

    @property
    def physical_id(self) -> str:
        """The group's ARN and the user's id: what identifies the association, whichever form the template used."""
        return f"{self.group.value}/user/{self.user_id}"


def parse_replica_properties(raw: Mapping[str, Any] | None, default_region: str) -> ReplicaProperties:
    """Validate ``ResourceProperties`` of a ``Custom::InstanceReplica``, region pair included."""
    props = dict(raw or {})
    REPLICA_SCHEMA.reject_unknown(props)
    instance_id = REPLICA_SCHEMA.text(props, "InstanceId")
    replica_region = REPLICA_SCHEMA.text(props, "ReplicaRegion")
    alias = REPLICA_SCHEMA.text(props, "ReplicaAlias")
    assert instance_id is not None and replica_region is not None and alias is not None
    if not is_region(replica_region):
        raise ProviderError(f"ReplicaRegion {replica_region!r} is not an AWS region name such as us-west-2.")
    if not constraint(_REPLICATE, "ReplicaAlias").allows(alias):
        raise ProviderError(
            f"ReplicaAlias {alias!r} must be 1 to {max_length(_REPLICATE, 'ReplicaAlias')} letters, digits and "
            "hyphens, start and end with a letter or digit, and not start with 'd-' (Connect's pattern for instance "
            "aliases)."
        )
    instance = InstanceRef.parse(instance_id, default_region)
    regions.check_pair(instance.region, replica_region, what=f"ReplicaRegion {replica_region}")
    return ReplicaProperties(instance=instance, replica_region=replica_region, alias=alias)


def parse_group_user_properties(raw: Mapping[str, Any] | None, default_region: str) -> GroupUserProperties:
    """Validate ``ResourceProperties`` of a ``Custom::TrafficDistributionGroupUser``."""
    props = dict(raw or {})
    GROUP_USER_SCHEMA.reject_unknown(props)
    group_id = GROUP_USER_SCHEMA.text(props, "TrafficDistributionGroupId")
    instance_id = GROUP_USER_SCHEMA.text(props, "InstanceId")
    user_id = GROUP_USER_SCHEMA.text(props, "UserId")
    assert group_id is not None and instance_id is not None and user_id is not None
    group = _group_arn(group_id, advice="Give the ARN, for example !Ref Tdg.")
    user = UserRef.parse(user_id)
    if user is None:
        raise ProviderError(
            f"UserId {user_id!r} is neither a Connect user id nor a user ARN "
            "(arn:aws:connect:REGION:ACCOUNT:instance/INSTANCE/agent/USER, what !Ref of an AWS::Connect::User gives)."
        )
    instance = InstanceRef.parse(instance_id, default_region)
    if user.instance_id is not None and user.instance_id != instance.instance_id:
        raise ProviderError(
            f"UserId {user_id!r} is a user of instance {user.instance_id}, but InstanceId names instance "
            f"{instance.instance_id}. Give the instance the user belongs to."
        )
    return GroupUserProperties(group=group, instance=instance, user=user)


@dataclass(frozen=True)
class NumberFlowProperties:
    """A claimed number's inbound flow (``Custom::PhoneNumberContactFlowAssociation``)."""

    phone_number: PhoneNumberRef
    instance: InstanceRef
    flow: FlowRef

    @property
    def physical_id(self) -> str:
        """The number's id and the instance's id: the association is one per number and instance, and Connect mirrors
        it to both regions, so neither the form the template uses nor the region it calls in changes it."""
        return f"phone-number/{self.phone_number.phone_number_id}/instance/{self.instance.instance_id}"


def parse_number_flow_properties(raw: Mapping[str, Any] | None, default_region: str) -> NumberFlowProperties:
    """Validate ``ResourceProperties`` of a ``Custom::PhoneNumberContactFlowAssociation``.

    Each identity is kept as the template gave it: a number's ARN must reach Connect as an ARN, which is what
    Connect needs to find a number of a traffic distribution group from the group's other region."""
    props = dict(raw or {})
    NUMBER_FLOW_SCHEMA.reject_unknown(props)
    number_id = NUMBER_FLOW_SCHEMA.text(props, "PhoneNumberId")
    instance_id = NUMBER_FLOW_SCHEMA.text(props, "InstanceId")
    flow_id = NUMBER_FLOW_SCHEMA.text(props, "ContactFlowId")
    assert number_id is not None and instance_id is not None and flow_id is not None
    number = PhoneNumberRef.parse(number_id)
    if number is None:
        raise ProviderError(
            f"PhoneNumberId {number_id!r} is neither a phone number id nor a phone number ARN "
            "(arn:aws:connect:REGION:ACCOUNT:phone-number/ID, what !Ref of an AWS::Connect::PhoneNumber gives)."
        )
    instance = InstanceRef.parse(instance_id, default_region)
    flow = FlowRef.parse(flow_id)
    if flow is None:
        raise ProviderError(
            f"ContactFlowId {flow_id!r} is neither a flow id nor a flow ARN "
            "(arn:aws:connect:REGION:ACCOUNT:instance/ID/contact-flow/ID, what !Ref of an AWS::Connect::ContactFlow "
            "gives)."
        )
    if flow.instance_id is not None and flow.instance_id != instance.instance_id:
        raise ProviderError(
            f"ContactFlowId {flow_id!r} is a flow of instance {flow.instance_id}, but InstanceId names instance "
            f"{instance.instance_id}. Give a flow of the instance the number is claimed to."
        )
    if flow.region is not None and flow.region != instance.region:
        raise ProviderError(
            f"ContactFlowId {flow_id!r} is a flow in {flow.region}, but the call is made in {instance.region}, the "
            f"region of InstanceId. Give the flow's ARN in {instance.region}, or the flow's id alone."
        )
    if number.region is not None and number.region not in (instance.region, regions.counterpart(instance.region)):
        raise ProviderError(
            f"PhoneNumberId {number_id!r} was claimed in {number.region}, but InstanceId names an instance in "
            f"{instance.region}: Connect finds a number only in the region it was claimed in and, for a number of a "
            "traffic distribution group, in the group's other region. Give the instance in one of those regions."
        )
    return NumberFlowProperties(phone_number=number, instance=instance, flow=flow)


@dataclass(frozen=True)
class RoutingProperties:
    """Whether an instance's regions are isolated from each other (``Custom::CrossRegionRouting``)."""

    instance: InstanceRef
    isolated_all: bool

    @property
    def physical_id(self) -> str:
        """The instance's id: the isolation is one per instance, whichever of its two regions the template names."""
        return f"cross-region-routing/instance/{self.instance.instance_id}"


def parse_routing_properties(raw: Mapping[str, Any] | None, default_region: str) -> RoutingProperties:
    """Validate ``ResourceProperties`` of a ``Custom::CrossRegionRouting``."""
    props = dict(raw or {})
    ROUTING_SCHEMA.reject_unknown(props)
    instance_id = ROUTING_SCHEMA.text(props, "InstanceId")
    assert instance_id is not None
    if not constraint(_ROUTING, "InstanceId").allows(instance_id):
        raise ProviderError(
            f"InstanceId {instance_id!r} does not match Connect's pattern {constraint(_ROUTING, 'InstanceId').pattern}."
            " Give the instance's id or its ARN."
        )
    instance = InstanceRef.parse(instance_id, default_region)
    return RoutingProperties(instance=instance, isolated_all=_boolean(props, "IsolatedAll"))


def _boolean(props: Mapping[str, Any], key: str) -> bool:
    """A required boolean: CloudFormation sends a template's true and false as "true" and "false"."""
    value = props.get(key)
    if value is None or value == "":
        raise ProviderError(f"Property {key} is required: give true or false.")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ProviderError(f"Property {key} must be true or false, not {value!r}.")


def _check_pattern(key: str, value: str | None) -> None:
    """Connect's own pattern for the property (CreateTrafficDistributionGroup's, in its service model)."""
    rule = constraint(_CREATE, key)
    if value is not None and not rule.allows(value):
        raise ProviderError(
            f"Property {key} {value!r} does not match Connect's pattern {rule.pattern}: it must be one line that "
            "starts and ends with a character other than a space. A YAML block scalar (| or >) adds line breaks; "
            "write the value on one line."
        )


def _group_arn(value: str, *, advice: str) -> GroupRef:
    """The group a TrafficDistributionGroupId names: only its ARN says the region to call Connect in."""
    group = GroupRef.parse_arn(value)
    if group is None:
        raise ProviderError(
            f"TrafficDistributionGroupId {value!r} is not a traffic distribution group ARN "
            f"(arn:aws:connect:REGION:ACCOUNT:traffic-distribution-group/ID). {advice}"
        )
    return group


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
