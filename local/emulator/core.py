"""The :class:`Emulator`: one local endpoint for Connect, EventBridge and Lambda.

A request goes: SigV4 credential scope (which service, which Region) -> the operation
from botocore's model -> parameters -> Regional outage -> rate limit (token bucket) ->
fault injection -> model validation -> the service backend (under one lock) -> a
response rendered from the model's output shape. Every request is recorded for
:meth:`Emulator.calls`.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from botocore.model import OperationModel

from local.emulator.awslambda import LambdaBackend
from local.emulator.cloudwatch import CloudWatchBackend
from local.emulator.connect import DELETED, ConnectBackend, Delays
from local.emulator.errors import ApiError
from local.emulator.events import EventsBackend
from local.emulator.protocol import HttpRequest, HttpResponse, ServiceSpec
from local.emulator.server import EmulatorHTTPServer

_log = logging.getLogger(__name__)

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")

FAULT_KINDS = frozenset({"throttle", "5xx", "drop", "drop_after", "concurrent"})
OUTAGE_KINDS = frozenset({"503", "drop"})

# (code, HTTP status) per service. Connect and Lambda name their throttling and internal
# errors in the model, with statuses; EventBridge's model names none, and AWS answers with
# the generic ThrottlingException (400) and its model's InternalException (500).
_FAULT_ERRORS: dict[str, dict[str, tuple[str, int]]] = {
    "throttle": {
        "connect": ("ThrottlingException", 429),
        "lambda": ("TooManyRequestsException", 429),
        "events": ("ThrottlingException", 400),
    },
    "5xx": {
        "connect": ("InternalServiceException", 500),
        "lambda": ("ServiceException", 500),
        "events": ("InternalException", 500),
    },
    # Only where the model lists it: EventBridge's ConcurrentModificationException (no
    # status in the model, so 400) and Lambda's ResourceConflictException (409).
    "concurrent": {
        "events": ("ConcurrentModificationException", 400),
        "lambda": ("ResourceConflictException", 409),
    },
}
_CONCURRENT_OPERATIONS = {
    "events": frozenset({"PutRule", "PutTargets", "RemoveTargets", "DeleteRule"}),
    "lambda": frozenset({"AddPermission", "RemovePermission"}),
}


def _connect_validation_code(op: OperationModel) -> str:
    """Connect has no ValidationException: it answers a constraint violation with the
    parameter error the operation lists (InvalidParameterException where listed, e.g.
    TagResource; InvalidRequestException otherwise, e.g. the TDG operations)."""
    listed = {shape.name for shape in op.error_shapes}
    return "InvalidParameterException" if "InvalidParameterException" in listed else "InvalidRequestException"


class _Backend(Protocol):
    OPERATIONS: frozenset[str]

    def handle(self, operation: str, params: dict[str, Any], region: str, now: float) -> dict[str, Any]: ...


@dataclass
class _Fault:
    kind: str
    remaining: int
    service: str | None


@dataclass
class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst``, one per call."""

    rate: float
    burst: int
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Emulator:
    """Local stand-in for the AWS APIs the TDG provider calls.

    Point boto3 at :attr:`endpoint_url` (``AWS_ENDPOINT_URL``); any credentials and Region
    do, the Region in the SigV4 scope is the Region of the call. Lifecycle delays are in
    seconds (floats). ``group_quota`` counts the live groups of an instance, the default
    group included. ``clock`` gives wall-clock seconds; every timestamp the emulator exposes comes from it,
    and the rate limit of :meth:`set_throttle` refills by it.

    Instances: ``replication_delay`` is how long ReplicateInstance takes (first half
    RESOURCE_REPLICATION_NOT_STARTED, second half INSTANCE_REPLICATION_IN_PROGRESS, then
    INSTANCE_REPLICATION_COMPLETE and the default group appears); ``replica_deletion_delay`` how
    long a replica stays INSTANCE_REPLICA_DELETING after DeleteInstance.
    """

    def __init__(
        self,
        account_id: str = "123456789012",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        creation_delay: float = 0.3,
        deletion_delay: float = 0.3,
        update_delay: float = 0.3,
        group_quota: int = 10,
        replication_delay: float = 0.3,
        replica_deletion_delay: float = 0.3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self._host = host
        self._port = port
        self._clock = clock
        # What reset() starts from.
        self._initial_delays = (creation_delay, deletion_delay, update_delay, replication_delay, replica_deletion_delay)
        self._group_quota = group_quota
        self._lock = threading.RLock()
        self._specs = {
            "connect": ServiceSpec("connect", validation_code=_connect_validation_code),
            "events": ServiceSpec("events", validation_code=lambda op: "ValidationException"),
            "lambda": ServiceSpec("lambda", validation_code=lambda op: "ValidationException", error_type_field=True),
        }
        self._server: EmulatorHTTPServer | None = None
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Self:
        """Serve on a free port in a daemon thread; returns ``self``."""
        if self._server is None:
            self._server = EmulatorHTTPServer(self._host, self._port, self.handle)
            self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``; only while started."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.url

    def reset(self) -> None:
        """Forget all state: instances, groups, rules, permissions, calls, faults, outages,
        rate limits and knobs (constructor values are kept)."""
        creation, deletion, update, replication, replica_deletion = self._initial_delays
        with self._lock:
            self._connect = ConnectBackend(
                self.account_id,
                delays=Delays(
                    creation=creation,
                    deletion=deletion,
                    update=update,
                    replication=replication,
                    replica_deletion=replica_deletion,
                ),
                group_quota=self._group_quota,
            )
            self._events = EventsBackend(self.account_id)
            self._lambda = LambdaBackend(self.account_id)
            self._cloudwatch = CloudWatchBackend(self.account_id)
            self._backends: dict[str, _Backend] = {
                "connect": self._connect,
                "events": self._events,
                "lambda": self._lambda,
            }
            self._calls: list[dict[str, Any]] = []
            self._faults: dict[str, list[_Fault]] = {}
            self._outages: dict[tuple[str, str], str] = {}  # (service, Region) -> kind
            self._throttles: dict[str, tuple[float, int]] = {}  # service -> (rate, burst)
            self._buckets: dict[tuple[str, str], _Bucket] = {}  # (service, Region)
            self._internal_errors: list[str] = []

    # -- knobs -----------------------------------------------------------------------------
    def add_instance(
        self,
        instance_id: str | None = None,
        *,
        home_region: str = "us-east-1",
        replica_region: str | None = "us-west-2",
        alias: str | None = None,
        default_group_id: str | None = None,
        global_routing: bool = False,
    ) -> str:
        """Create a Connect instance and return its ARN (in ``home_region``).

        With ``replica_region`` the instance is already replicated: its replica (ARN in that
        Region, alias ``<alias>-replica``) is INSTANCE_REPLICATION_COMPLETE and its default group
        (``<alias>-default``, id ``default_group_id`` or a new one) ACTIVE at once. Any pair of
        Regions is accepted here. With ``replica_region=None`` it is not replicated, and
        ReplicateInstance can replicate it. With ``global_routing`` it is enabled for global routing: once
        replicated, UpdateCrossRegionRouting and GetCrossRegionRouting apply to it.
        """
        with self._lock:
            instance = self._connect.add_instance(
                instance_id,
                home_region=home_region,
                replica_region=replica_region,
                alias=alias,
                now=self._clock(),
                default_group_id=default_group_id,
                global_routing=global_routing,
            )
            return instance.arn

    def add_user(self, instance: str, user_id: str | None = None) -> str:
        """Register an agent (a lower-case UUID; made up when ``None``) with the instance (id or
        source ARN) and return its id. Once an instance has registered agents, the TDG user
        operations accept only those; until then any UUID is an agent. The agent reaches the replica
        after the user replica lag (:meth:`set_user_replica_lag`). KeyError for an unknown
        instance."""
        with self._lock:
            return self._connect.add_user(instance, user_id, self._clock())

    def set_user_replica_lag(self, seconds: float) -> None:
        """How long a user made afterwards (CreateUser, :meth:`add_user`) takes to reach the instance's
        other Region; until then Associate/DisassociateTrafficDistributionGroupUser answer
        ResourceNotFoundException for it. Source: admin guide, "Associate agents across Regions" (the
        agent must exist in both instances) and "Create a replica of your existing Amazon Connect
        instance" (replication is near real time; a failed sync is retried within 30 minutes); the
        error code is unverified. 0 (the default): at once."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._connect.user_replica_lag = float(seconds)

    def instance_resources(self) -> list[dict[str, Any]]:
        """The users, flows, queues, routing profiles, hours of operation and security profiles made with
        their Create calls and not deleted, oldest first: Kind, Id, Arn, Name, InstanceId."""
        with self._lock:
            return self._connect.resource_snapshots()

    def add_contact_flow(self, instance: str, flow_id: str | None = None) -> str:
        """Register a flow (its id made up when ``None``) with the instance (id or source ARN) and return its ARN
        in the home Region. Once an instance has registered flows, AssociatePhoneNumberContactFlow accepts only
        those; until then any id is a flow. KeyError for an unknown instance."""
        with self._lock:
            return self._connect.add_contact_flow(instance, flow_id)

    def set_delays(
        self,
        creation: float | None = None,
        deletion: float | None = None,
        update: float | None = None,
        name: str | None = None,
        *,
        replication: float | None = None,
        replica_deletion: float | None = None,
    ) -> None:
        """Set transition delays (seconds) for all groups, or only for groups named ``name``;
        ``replication`` and ``replica_deletion`` (replicas, never per name) likewise.
        ``None`` leaves a delay as it is. A delay applies to transitions started afterwards."""
        values = {
            key: float(value)
            for key, value in (("creation", creation), ("deletion", deletion), ("update", update))
            if value is not None
        }
        replicas = {
            key: float(value)
            for key, value in (("replication", replication), ("replica_deletion", replica_deletion))
            if value is not None
        }
        if any(value < 0 for value in [*values.values(), *replicas.values()]):
            raise ValueError("delays must be >= 0")
        if replicas and name is not None:
            raise ValueError("replication and replica_deletion delays are not per group name")
        with self._lock:
            self._connect.set_delays(values, name)
            self._connect.set_delays(replicas, None)

    def fail_replication(self, count: int = 1, reason: str = "Replication failed (injected by the emulator)") -> None:
        """The next ``count`` ReplicateInstance calls start a replica that ends
        INSTANCE_REPLICATION_FAILED (with ``reason`` as ReplicationStatusReason) once the
        replication delay has passed; no default group appears."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._connect.fail_replication_reasons.extend([reason] * count)

    def fail_replica_deletion(
        self, count: int = 1, reason: str = "Replica deletion failed (injected by the emulator)"
    ) -> None:
        """The next ``count`` replica deletions end INSTANCE_REPLICATION_DELETION_FAILED (with
        ``reason``) once the replica deletion delay has passed; the replica and its default group
        stay."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._connect.fail_replica_deletion_reasons.extend([reason] * count)

    def fail_creation(self, name: str | None, count: int = 1) -> None:
        """The next ``count`` groups created with ``name`` (``None``: any name) end
        CREATION_FAILED once their creation delay has passed."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._connect.fail_creation(name, count)

    def fail_deletion(self, name: str | None, count: int = 1) -> None:
        """The next ``count`` deletions of groups named ``name`` (``None``: any name) end
        DELETION_FAILED once their deletion delay has passed."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._connect.fail_deletion(name, count)

    def inject_fault(self, operation: str, kind: str, count: int = 1, *, service: str | None = None) -> None:
        """Make the next ``count`` calls of ``operation`` fail.

        ``kind``: ``"throttle"`` (the service's throttling error), ``"5xx"`` (its internal
        error, HTTP 500), ``"drop"`` (socket closed, request not executed) or
        ``"drop_after"`` (request executed, then the socket closed with no response: the
        case idempotency tokens exist for) or ``"concurrent"`` (a concurrent modification:
        EventBridge's ConcurrentModificationException for PutRule, PutTargets, RemoveTargets,
        DeleteRule, as its model lists; Lambda's ResourceConflictException "An update is
        in progress" for AddPermission, which its model lists, and RemovePermission, which
        it does not: unverified). ``service`` ("connect", "events", "lambda")
        disambiguates operation names several services share, such as ``TagResource``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        services = [service] if service else list(self._specs)
        if not any(operation in self._specs[s].model.operation_names for s in services if s in self._specs):
            raise ValueError(f"no operation {operation!r} in {services}")
        if kind == "concurrent":
            matching = [s for s in services if operation in _CONCURRENT_OPERATIONS.get(s, ())]
            if not matching:
                raise ValueError(f"no concurrent-modification error for {operation!r} in {services}")
            service = matching[0]
        with self._lock:
            self._faults.setdefault(operation, []).append(_Fault(kind, count, service))

    def set_outage(self, region: str, kind: str | None, service: str = "connect") -> None:
        """Every call of ``service`` in ``region`` fails until ``kind`` is ``None`` again.

        ``"503"``: HTTP 503 ``ServiceUnavailable`` (source: the Common Errors page of the
        AWS API references; botocore retries it as a transient 5xx). ``"drop"``: the socket
        is closed with no response and the request is not executed. Recorded with
        ``fault="outage"``. Comes before rate limits and injected faults, using neither.
        """
        if kind is not None and kind not in OUTAGE_KINDS:
            raise ValueError(f"unknown outage kind {kind!r}; one of {sorted(OUTAGE_KINDS)} or None")
        if service not in self._specs:
            raise ValueError(f"unknown service {service!r}; one of {sorted(self._specs)}")
        with self._lock:
            if kind is None:
                self._outages.pop((service, region), None)
            else:
                self._outages[(service, region)] = kind

    def set_throttle(self, rate: float | None, burst: int = 5, service: str = "connect") -> None:
        """Rate-limit ``service``: a token bucket per Region shared by all callers, refilled
        at ``rate`` tokens a second up to ``burst``; ``None`` lifts the limit (the default).

        Source: Amazon Connect service quotas, "Rate of API requests" per account per
        Region, 2 per second with a burst of 5. A call finding the bucket empty gets the
        service's throttling error (Connect: ThrottlingException, HTTP 429), is recorded
        with ``fault="throttle"`` and uses no token. Buckets start full; setting a limit
        refills them. They refill by the emulator's ``clock``.
        """
        if rate is not None and (rate <= 0 or burst < 1):
            raise ValueError("rate must be > 0 and burst >= 1")
        if service not in self._specs:
            raise ValueError(f"unknown service {service!r}; one of {sorted(self._specs)}")
        with self._lock:
            self._buckets = {key: bucket for key, bucket in self._buckets.items() if key[0] != service}
            if rate is None:
                self._throttles.pop(service, None)
            else:
                self._throttles[service] = (float(rate), burst)

    def set_visibility_lag(self, seconds: float, replica_extra: float = 0.0) -> None:
        """Eventual consistency after CreateTrafficDistributionGroup (unverified: AWS
        documents no figure). For ``seconds`` after a Create, every call naming the new
        group (Describe, Get/UpdateTrafficDistribution, Delete, Tag/Untag) answers
        as for an unknown group in its home Region; elsewhere (the replica Region, by ARN)
        for ``seconds + replica_extra``. The group's lifecycle runs on regardless, and a
        Create repeating its ClientToken still returns it. :meth:`group` and :meth:`groups`
        see it at once. Applies to groups created afterwards; 0 turns it off (the default).
        """
        if seconds < 0 or replica_extra < 0:
            raise ValueError("seconds and replica_extra must be >= 0")
        with self._lock:
            self._connect.visibility_lag = (float(seconds), float(seconds + replica_extra))

    def fail_create_not_ready(self, count: int = 1) -> None:
        """The next ``count`` CreateTrafficDistributionGroup calls answer
        ResourceNotReadyException (HTTP 409) and create nothing (source: the operation's
        error list in the Connect API reference and model; when AWS sends it is unverified)."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._connect.not_ready += count

    def fail_targets(self, operation: str, count: int = 1, code: str = "InternalException") -> None:
        """The next ``count`` PutTargets or RemoveTargets calls answer HTTP 200 with
        ``FailedEntryCount=1`` and the first target in ``FailedEntries`` (``ErrorCode=code``),
        leaving that target as it was (source: the PutTargets and RemoveTargets API
        references: partial failures are reported in the response, not as an error)."""
        if operation not in ("PutTargets", "RemoveTargets"):
            raise ValueError(f"fail_targets is for PutTargets or RemoveTargets, not {operation!r}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._events.target_failures.setdefault(operation, []).extend([code] * count)

    def claim_phone_number(self, group_arn: str, number: str = "+15550100") -> str:
        """Claim ``number`` to the group (as ClaimPhoneNumber with a TDG target would);
        returns the phone number ARN. Such a group cannot be deleted. KeyError for an unknown
        or deleted group, ValueError for a number already claimed elsewhere."""
        with self._lock:
            return self._connect.claim_phone_number(group_arn, number, self._clock())

    def release_phone_numbers(self, group_arn: str) -> list[str]:
        """Release every number claimed to the group; returns the numbers released."""
        with self._lock:
            return self._connect.release_phone_numbers(group_arn, self._clock())

    def set_replication_findings(
        self,
        instance: str,
        resource_type: str,
        findings: Sequence[Mapping[str, Any]] = (),
        *,
        drifted: dict[str, int] | None = None,
        statuses: dict[str, str] | None = None,
    ) -> None:
        """What ListReplicationFindings reports for one ResourceType of the instance: ``findings`` (each
        {Arn, Id, Region, Name, Operation, ReferenceCode, Message}, paged), ``drifted`` (Region -> approximate
        count; a Region without one has not been computed) and ``statuses`` (Region -> ENABLED, BLOCKED, ...;
        ENABLED in both Regions unless given). Without a call, a type reports nothing. ValueError for a
        ResourceType the API reference does not list, KeyError for an unknown instance."""
        with self._lock:
            self._connect.set_replication_findings(
                instance, resource_type, [dict(f) for f in findings], drifted or {}, statuses
            )

    # -- inspection ------------------------------------------------------------------------
    def groups(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every group, oldest first, as plain dicts (see :meth:`group`). A default group whose
        replication has not completed yet is not there."""
        with self._lock:
            now = self._clock()
            self._connect.settle_numbers(now)
            snaps = [self._connect.snapshot(g, now) for g in self._connect.groups.values() if g.created_at <= now]
        return [s for s in snaps if include_deleted or s["Status"] != DELETED]

    def group(self, arn_or_id: str) -> dict[str, Any]:
        """One group by ARN or id, deleted ones included (``Status == "DELETED"``).

        Keys: Id, Arn, Name, Description, InstanceArn, InstanceId, Status (now), Tags,
        IsDefault, Region (home), Distribution, LastFailoverTime, PhoneNumbers, Users,
        ClientToken, and the wall-clock times CreatedAt, ActiveAt (first ACTIVE), UpdatedAt
        (last update finished), FailedAt, DeletionRequestedAt, DeletedAt (None until reached)
        plus History [{Status, At}]. Raises KeyError for an unknown group (or a default group
        whose replication has not completed yet).
        """
        with self._lock:
            now = self._clock()
            group = self._connect.find(arn_or_id)
            if group.created_at > now:
                raise KeyError(arn_or_id)
            self._connect.settle_numbers(now)
            return self._connect.snapshot(group, now)

    def instance(self, arn_or_id: str) -> dict[str, Any]:
        """One live instance by id or source ARN: Id, Arn, Alias, Region (home), CreatedAt,
        IdentityManagementType, Users (registered agents), Replica (the replica that exists now,
        or None) and Replicas (every one, gone ones included), each replica as {Region, Arn, Alias,
        Status (an InstanceReplicationStatus, or DELETED), Reason, ClientToken, RequestedAt,
        CompletedAt, FailedAt, DeletionRequestedAt, DeletedAt, DefaultGroupArn, History}.
        KeyError for an unknown or deleted instance."""
        with self._lock:
            instance = self._connect._find_instance(arn_or_id)
            if instance is None:
                raise KeyError(arn_or_id)
            return self._connect.instance_snapshot(instance, self._clock())

    def deleted_instances(self) -> list[dict[str, Any]]:
        """Source (production) instances DeleteInstance removed, oldest first: Id, Arn, Alias,
        Region (where DeleteInstance was called), DeletedAt, ReplicaRegion (the replica that went
        with it, or None) and Groups (ARNs of the groups that went with it). A provider that only
        deletes replicas leaves this empty; deleted replicas are in :meth:`instance`'s Replicas."""
        with self._lock:
            return copy.deepcopy(self._connect.deleted_instances)

    def phone_numbers(self, include_released: bool = False) -> list[dict[str, Any]]:
        """Claimed numbers (through ClaimPhoneNumber or :meth:`claim_phone_number`), oldest first:
        Id, Arn, Number, Region (where claimed), TargetArn, InstanceId, GroupArn (None for an
        instance), Description, Tags, ClientToken, ClaimedAt, ReleasedAt."""
        with self._lock:
            self._connect.settle_numbers(self._clock())
            return [
                self._connect.number_snapshot(pn)
                for pn in self._connect.phone_numbers.values()
                if include_released or pn.released_at is None
            ]

    def wait_for_status(self, arn_or_id: str, status: str, timeout: float = 5.0) -> dict[str, Any]:
        """Poll :meth:`group` until its Status is ``status``; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.group(arn_or_id)
            if snapshot["Status"] == status:
                return snapshot
            if time.monotonic() > deadline:
                raise TimeoutError(f"{arn_or_id} is {snapshot['Status']}, not {status}, after {timeout}s")
            time.sleep(0.005)

    def calls(self, operation: str | None = None, service: str | None = None) -> list[dict[str, Any]]:
        """Recorded requests, oldest first: service, operation, params (boto3 member names),
        region, time, status (HTTP status sent; None when dropped), error (code or None),
        fault (kind injected or None)."""
        with self._lock:
            return [
                copy.deepcopy(call)
                for call in self._calls
                if (operation is None or call["operation"] == operation)
                and (service is None or call["service"] == service)
            ]

    def throttle_count(self, region: str | None = None) -> int:
        """How many calls (in ``region``, or anywhere) were answered with a throttling
        error, from :meth:`set_throttle` or from an injected ``"throttle"`` fault."""
        with self._lock:
            return sum(1 for c in self._calls if c["fault"] == "throttle" and region in (None, c["region"]))

    def internal_errors(self) -> list[str]:
        """Tracebacks of emulator bugs (answered as HTTP 500 ``InternalFailure``). botocore
        retries 500s, so an end-to-end test should assert this list is empty."""
        with self._lock:
            return list(self._internal_errors)

    def set_alarm_state(
        self, region: str, name: str, state: str, *, reason: str = "", rule: str = "", description: str = ""
    ) -> dict[str, Any] | None:
        """Move the CloudWatch alarm ``name`` of ``region`` to ``state``; returns the "CloudWatch Alarm State Change"
        event that CloudWatch sends to that Region's default EventBridge bus (local/emulator/cloudwatch.py has its
        shape and source), or None when the alarm was already in ``state``. ``rule`` makes it a composite alarm.
        Deliver the event to the rule's target yourself (``LambdaFunction.invoke``), as EventBridge would."""
        with self._lock:
            return self._cloudwatch.set_state(
                region, name, state, self._clock(), reason=reason, rule=rule, description=description
            )

    def alarm_state(self, region: str, name: str) -> str:
        with self._lock:
            return self._cloudwatch.state(region, name)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def rules(self) -> list[dict[str, Any]]:
        """EventBridge rules: Name, Arn, ScheduleExpression, EventPattern, State, Region,
        EventBusName, Targets [{Id, Arn, Input, ...}]."""
        with self._lock:
            return self._events.snapshot()

    def permissions(self) -> list[dict[str, Any]]:
        """Lambda policy statements: FunctionName, Qualifier, Region, StatementId, SourceArn,
        Principal, Action, Statement (the policy statement as AWS renders it)."""
        with self._lock:
            return self._lambda.snapshot()

    # -- request handling ------------------------------------------------------------------
    def _take_token(self, service: str, region: str) -> bool:
        with self._lock:
            limit = self._throttles.get(service)
            if limit is None:
                return True
            now = self._clock()
            bucket = self._buckets.get((service, region))
            if bucket is None:
                bucket = self._buckets[(service, region)] = _Bucket(*limit, tokens=float(limit[1]), at=now)
            return bucket.take(now)

    def _fault_error(self, service: str, kind: str, params: dict[str, Any], region: str) -> ApiError:
        code, status = _FAULT_ERRORS[kind][service]
        message = f"Injected fault: {kind}"
        if kind == "concurrent" and service == "events":
            message = "There is concurrent modification on a rule, target, archive, or replay."
        elif kind == "concurrent":
            resource = self._lambda.function_arn(params.get("FunctionName", ""), region)
            message = (
                f"The operation cannot be performed at this time. An update is in progress for resource: {resource}"
            )
        return ApiError(code, message, status=status)

    def _take_fault(self, service: str, operation: str) -> str | None:
        with self._lock:
            for fault in self._faults.get(operation, []):
                if fault.remaining > 0 and fault.service in (None, service):
                    fault.remaining -= 1
                    return fault.kind
        return None

    def _record(self, **call: Any) -> dict[str, Any]:
        entry = {"params": {}, "time": self._clock(), "status": None, "error": None, "fault": None, **call}
        with self._lock:
            self._calls.append(entry)
        return entry

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one HTTP request (the server calls this from its worker threads)."""
        match = _CREDENTIAL.search(request.headers.get("authorization", ""))
        if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256") or match is None:
            self._record(
                service=None, operation=None, region=None, status=403, error="MissingAuthenticationTokenException"
            )
            body = json.dumps({"message": "Missing Authentication Token"}).encode()
            return HttpResponse(
                403,
                {"x-amzn-ErrorType": "MissingAuthenticationTokenException", "Content-Type": "application/json"},
                body,
            )
        region, service = match.group(3), match.group(4)
        spec = self._specs.get(service)
        if spec is None:
            self._record(service=service, operation=None, region=region, status=400, error="UnknownServiceException")
            body = json.dumps({"message": f"The emulator does not serve {service}"}).encode()
            return HttpResponse(400, {"x-amzn-ErrorType": "UnknownServiceException"}, body)
        try:
            op, labels = spec.operation_for(request)
        except ApiError as error:
            self._record(service=service, operation=None, region=region, status=error.status or 400, error=error.code)
            return spec.render_error(error)
        call = self._record(service=service, operation=op.name, region=region)
        response = self._execute(spec, op, labels, request, region, call)
        with self._lock:
            call["status"] = None if response.drop else response.status
        return response

    def _execute(
        self,
        spec: ServiceSpec,
        op: OperationModel,
        labels: dict[str, str],
        request: HttpRequest,
        region: str,
        call: dict[str, Any],
    ) -> HttpResponse:
        backend = self._backends[spec.name]
        try:
            params = spec.parse(op, request, labels)
            with self._lock:
                call["params"] = copy.deepcopy(params)
                outage = self._outages.get((spec.name, region))
                if outage is not None:
                    call["fault"] = "outage"
            if outage == "drop":
                return HttpResponse(0, drop=True)
            if outage == "503":
                raise ApiError(
                    "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", status=503
                )
            if op.name not in backend.OPERATIONS:
                raise ApiError("UnknownOperationException", f"{op.name} is not emulated", status=404)
            if not self._take_token(spec.name, region):
                with self._lock:
                    call["fault"] = "throttle"
                code, status = _FAULT_ERRORS["throttle"][spec.name]
                raise ApiError(code, "Rate exceeded", status=status)
            fault = self._take_fault(spec.name, op.name)
            with self._lock:
                call["fault"] = fault
            if fault == "drop":
                return HttpResponse(0, drop=True)
            if fault in _FAULT_ERRORS:
                raise self._fault_error(spec.name, fault, params, region)
            spec.validate(op, params)
            with self._lock:
                result = backend.handle(op.name, params, region, self._clock())
            response = spec.render(op, result)
            if fault == "drop_after":
                return HttpResponse(0, drop=True)
            return response
        except ApiError as error:
            with self._lock:
                call["error"] = error.code
            return spec.render_error(error)
        except Exception as exc:  # noqa: BLE001 - an emulator bug must reach the client as a 500, not hang it
            _log.exception("emulator failure in %s", op.name)
            with self._lock:
                call["error"] = "InternalFailure"
                self._internal_errors.append(traceback.format_exc())
            return spec.render_error(ApiError("InternalFailure", f"emulator error {uuid.uuid4()}: {exc}", status=500))
