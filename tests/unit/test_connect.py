"""connect.py: every Connect call's retries, pauses and Reasons, its clients, and how it reads a group, with Connect
played by Stubber (every request checked against the real model)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

import connect
from distribution import parse_distribution
from errors import ProviderError
from properties import parse_group_properties, parse_group_user_properties, parse_replica_properties
from refs import GroupRef
from tests.unit.conftest import (
    GROUP_ARN,
    INSTANCE_ARN,
    FakeClock,
    TwoRegions,
    get_traffic,
    group,
    load_event,
    outage,
)
from waiting import Budget

# Every Connect call goes through connect._call: its retry policy and the reasons it gives, call by call.
WEST = "us-west-2"
REPLICA_ARN = INSTANCE_ARN.replace("us-east-1", WEST)
OUTAGE_ADVICE = (
    f"Connect in {WEST} may be having an outage. If {WEST} is down and this update moves traffic away from it, "
    "update the stack from a provider in the other region (see the outage runbook, docs/runbook.md)."
)
USER_PROPS = {"TrafficDistributionGroupId": GROUP_ARN, "UserId": "0f3c9a5e-aaaa-4d2b", "InstanceId": INSTANCE_ARN}
REPLICA_PROPS = {"InstanceId": INSTANCE_ARN, "ReplicaRegion": WEST, "ReplicaAlias": "contact-center-west"}
HALF = {"Distributions": [{"Region": "us-east-1", "Percentage": "50"}, {"Region": WEST, "Percentage": "50"}]}
REF = GroupRef.parse(GROUP_ARN, "us-east-1")
EVERY_CALL: dict[str, Callable[[Any, Budget], object]] = {
    "CreateTrafficDistributionGroup": lambda client, budget: connect.create_group(
        client, parse_group_properties(load_event("create")["ResourceProperties"], "us-east-1"), "token", budget
    ),
    "DescribeTrafficDistributionGroup": lambda client, budget: connect.describe_group(client, REF, budget),
    "DeleteTrafficDistributionGroup": lambda client, budget: connect.delete_group(client, REF, budget),
    "TagResource": lambda client, budget: connect.tag_group(client, GROUP_ARN, {"team": "x"}, budget),
    "UntagResource": lambda client, budget: connect.untag_group(client, GROUP_ARN, ["team"], budget),
    "GetTrafficDistribution": lambda client, budget: connect.get_distribution(client, REF, budget),
    "UpdateTrafficDistribution": lambda client, budget: connect.update_distribution(
        client, REF, parse_distribution({"TelephonyConfig": HALF}, home_region="us-east-1"), budget
    ),
    "ReplicateInstance": lambda client, budget: connect.replicate_instance(
        client, parse_replica_properties(REPLICA_PROPS, "us-east-1"), "token", budget
    ),
    "DescribeInstance": lambda client, budget: connect.describe_instance(client, INSTANCE_ARN, budget),
    "DeleteInstance": lambda client, budget: connect.delete_replica(
        client, REPLICA_ARN, source_region="us-east-1", client_token="token", budget=budget
    ),
    "ListTrafficDistributionGroups": lambda client, budget: connect.default_group_arn(client, INSTANCE_ARN, budget),
    "AssociateTrafficDistributionGroupUser": lambda client, budget: connect.associate_user(
        client, parse_group_user_properties(USER_PROPS, "us-east-1"), budget
    ),
    "DisassociateTrafficDistributionGroupUser": lambda client, budget: connect.disassociate_user(
        client, parse_group_user_properties(USER_PROPS, "us-east-1"), budget
    ),
    "ListTrafficDistributionGroupUsers": lambda client, budget: connect.group_users(client, REF, budget),
}


def snake(operation: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in operation).lstrip("_")


class Jitter:
    """The budget's jitter: the bounds of each pause, then the longest."""

    def __init__(self) -> None:
        self.bounds: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.bounds.append((low, high))
        return high


@pytest.fixture
def jitter() -> Jitter:
    return Jitter()


@pytest.fixture
def paced(clock: FakeClock, jitter: Jitter) -> Budget:
    return Budget(deadline=clock() + 600, clock=clock, sleep=clock.sleep, jitter=jitter)


BACKOFF_OF_EIGHT_TRIES = [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (4.0, 8.0), (4.0, 8.0), (4.0, 8.0)]


class TestEveryConnectCall:
    @pytest.mark.parametrize("operation", EVERY_CALL)
    def test_tries_a_region_eight_times_from_1_s_doubling_to_8_s_then_says_it_may_be_down(
        self, regions: TwoRegions, paced: Budget, jitter: Jitter, operation: str
    ) -> None:
        outage(regions.stubs[WEST], snake(operation), connect.MAX_ATTEMPTS)

        with pytest.raises(connect.Unavailable) as failure:
            EVERY_CALL[operation](regions.clients[WEST], paced)

        assert failure.value.reason == (
            f"Connect {operation} in {WEST} failed with ServiceUnavailableException after 8 attempts: "
            f"Service Unavailable. {OUTAGE_ADVICE}"
        )
        assert (failure.value.region, failure.value.code) == (WEST, "ServiceUnavailableException")
        assert jitter.bounds == BACKOFF_OF_EIGHT_TRIES  # each pause between half and all of the backoff

    def test_throttling_backs_off_from_1_s_doubling_to_8_s_between_half_and_all_of_it(
        self, stub: Stubber, paced: Budget, jitter: Jitter
    ) -> None:
        for _ in range(5):
            stub.add_client_error("get_traffic_distribution", "ThrottlingException", "Rate exceeded", 429)
        get_traffic(stub)

        assert connect.get_distribution(stub.client, REF, paced) is not None
        assert jitter.bounds == BACKOFF_OF_EIGHT_TRIES[:5]
        assert paced.throttles == 5

    def test_any_answer_of_status_500_or_more_is_a_server_error_whatever_its_code(
        self, regions: TwoRegions, paced: Budget
    ) -> None:
        west = regions.stubs[WEST]
        for _ in range(connect.MAX_ATTEMPTS):
            west.add_client_error("describe_traffic_distribution_group", "InternalFailure", "Bad gateway", 500)

        with pytest.raises(connect.Unavailable) as failure:
            connect.describe_group(regions.clients[WEST], REF, paced)

        assert failure.value.reason == (
            f"Connect DescribeTrafficDistributionGroup in {WEST} failed with InternalFailure after 8 attempts: "
            f"Bad gateway. {OUTAGE_ADVICE}"
        )

    @pytest.mark.parametrize("lost", [EndpointConnectionError, ReadTimeoutError])
    def test_a_region_that_cannot_be_reached_or_hangs_is_tried_eight_times_then_may_be_down(
        self, paced: Budget, jitter: Jitter, lost: type[Exception]
    ) -> None:
        client = boto3.client(
            "connect", region_name=WEST, config=connect.CLIENT_CONFIG, aws_access_key_id="t", aws_secret_access_key="t"
        )
        tries: list[str] = []

        def unreachable(request: Any, **_: Any) -> None:
            tries.append(request.url)
            raise lost(endpoint_url=request.url)

        client.meta.events.register("before-send.connect.DescribeTrafficDistributionGroup", unreachable)

        with pytest.raises(connect.Unavailable) as failure:
            connect.describe_group(client, REF, paced)

        assert failure.value.reason == (
            f"Could not reach Connect in {WEST} after 8 attempts ({lost.__name__}: "
            f"{lost(endpoint_url=tries[0])}). {OUTAGE_ADVICE}"
        )
        assert (failure.value.region, failure.value.code) == (WEST, "ConnectionError")
        assert len(tries) == connect.MAX_ATTEMPTS
        assert jitter.bounds == BACKOFF_OF_EIGHT_TRIES

    def test_an_instance_not_ready_after_eight_tries_says_to_retry_later_not_that_the_region_is_down(
        self, stub: Stubber, paced: Budget
    ) -> None:
        for _ in range(connect.MAX_ATTEMPTS):
            stub.add_client_error("create_traffic_distribution_group", "ResourceNotReadyException", "not ready", 409)

        with pytest.raises(connect.Unavailable) as failure:
            EVERY_CALL["CreateTrafficDistributionGroup"](stub.client, paced)

        assert failure.value.reason == (
            "Connect CreateTrafficDistributionGroup in us-east-1 failed with ResourceNotReadyException after 8 "
            "attempts: not ready. The instance is not ready yet (its replication may still be running); retry later."
        )

    def test_a_rejection_is_not_retried_and_quotes_connect_alone_when_there_is_no_advice_for_it(
        self, stub: Stubber, paced: Budget
    ) -> None:
        stub.add_client_error("tag_resource", "InvalidParameterException", "Too many tags", 400)

        with pytest.raises(ProviderError) as failure:
            connect.tag_group(stub.client, GROUP_ARN, {"team": "x"}, paced)

        assert failure.value.reason == "Connect TagResource failed with InvalidParameterException: Too many tags."
        assert failure.value.code == "InvalidParameterException"

    def test_a_rejection_without_a_message_quotes_what_botocore_says_of_it(self, stub: Stubber, paced: Budget) -> None:
        stub.add_client_error("tag_resource", "InvalidParameterException", "", 400)

        with pytest.raises(ProviderError) as failure:
            connect.tag_group(stub.client, GROUP_ARN, {"team": "x"}, paced)

        assert failure.value.reason == (
            "Connect TagResource failed with InvalidParameterException: An error occurred "
            "(InvalidParameterException) when calling the TagResource operation: ."
        )

    def test_a_create_refused_until_the_replica_is_active_fails_with_the_replication_advice(
        self, stub: Stubber, paced: Budget
    ) -> None:
        # Only UpdateTrafficDistribution waits out an InvalidRequestException that mentions ACTIVE.
        message = "The replica of the instance must be ACTIVE"
        stub.add_client_error("create_traffic_distribution_group", "InvalidRequestException", message, 400)

        with pytest.raises(ProviderError) as failure:
            EVERY_CALL["CreateTrafficDistributionGroup"](stub.client, paced)

        assert failure.value.reason.startswith(
            f"Connect CreateTrafficDistributionGroup failed with InvalidRequestException: {message}. Connect gives "
            "this error for two causes"
        )


class TestClients:
    def test_one_client_per_region_made_once_with_botocore_retries_off_and_short_timeouts(self) -> None:
        clients = connect.clients_by_region()

        west = clients(WEST)

        assert clients(WEST) is west
        assert (west.meta.service_model.service_name, west.meta.region_name) == ("connect", WEST)
        assert west.meta.config.retries["total_max_attempts"] == 1  # connect._call retries, within the budget
        assert (west.meta.config.connect_timeout, west.meta.config.read_timeout) == (5, 20)
        assert clients("us-east-1").meta.region_name == "us-east-1"

    def test_an_injected_factory_makes_the_clients(self) -> None:
        asked: list[str] = []

        def factory(region: str) -> Any:
            asked.append(region)
            return f"client of {region}"

        clients = connect.clients_by_region(factory)

        assert (clients(WEST), clients(WEST), clients("us-east-1")) == (
            f"client of {WEST}",
            f"client of {WEST}",
            "client of us-east-1",
        )
        assert asked == [WEST, "us-east-1"]


class TestGroupAsDescribed:
    def test_a_group_described_without_is_default_or_tags_is_an_ordinary_group_without_tags(self) -> None:
        raw = group()["TrafficDistributionGroup"]
        del raw["IsDefault"], raw["Tags"]

        described = connect.Group.from_api(raw)

        assert (described.is_default, described.tags) == (False, {})
        assert described.attributes()["IsDefault"] == "false"

    def test_the_default_group_has_is_default_true_as_cloudformation_reads_it(self) -> None:
        described = connect.Group.from_api(group(is_default=True)["TrafficDistributionGroup"])

        assert described.attributes()["IsDefault"] == "true"


class TestAdviceByOperation:
    """The same error code means different things for different calls: the advice is the operation's own."""

    @pytest.mark.parametrize(
        ("operation", "code", "says", "never_says"),
        [
            ("ReplicateInstance", "ServiceQuotaExceededException", "quota of Connect instances", "distribution group"),
            (
                "CreateTrafficDistributionGroup",
                "ServiceQuotaExceededException",
                "quota of traffic distribution",
                "instances",
            ),
            ("ReplicateInstance", "ResourceConflictException", "conflicts with one in the replica region", "Name"),
            ("CreateTrafficDistributionGroup", "ResourceConflictException", "unique Name per instance", "replica"),
            (
                "ReplicateInstance",
                "InvalidRequestException",
                "already replicated, has no alias, is not ACTIVE",
                "group",
            ),
            ("CreateTrafficDistributionGroup", "InvalidRequestException", "not replicated yet", "alias"),
            (
                "AssociateTrafficDistributionGroupUser",
                "InvalidRequestException",
                "UserId is a user of the instance",
                "quota",
            ),
            ("TagResource", "ResourceNotFoundException", "The group no longer exists", "InstanceId"),
            ("DescribeInstance", "AccessDeniedException", "The provider's role may not make this call", "quota"),
        ],
    )
    def test_a_rejection_says_what_to_do_for_that_operation(
        self, stub: Stubber, paced: Budget, operation: str, code: str, says: str, never_says: str
    ) -> None:
        stub.add_client_error(snake(operation), code, "Connect's words", 400)

        with pytest.raises(ProviderError) as failure:
            EVERY_CALL[operation](stub.client, paced)

        reason = failure.value.reason
        assert reason.startswith(f"Connect {operation} failed with {code}: Connect's words. ")
        assert says in reason and never_says not in reason.split("Connect's words.")[1]

    def test_a_code_without_advice_for_the_operation_quotes_connect_alone(self, stub: Stubber, paced: Budget) -> None:
        stub.add_client_error("describe_instance", "ServiceQuotaExceededException", "Too many", 400)

        with pytest.raises(ProviderError) as failure:
            connect.describe_instance(stub.client, INSTANCE_ARN, paced)

        assert failure.value.reason == "Connect DescribeInstance failed with ServiceQuotaExceededException: Too many."
