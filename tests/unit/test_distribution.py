"""The distribution as a value: TelephonyConfig, AgentConfig and SignInConfig validated before any call, and
where each call goes."""

from __future__ import annotations

from typing import Any

import pytest

from distribution import Distribution, parse_distribution
from errors import ProviderError
from tests.unit.conftest import WEST, config


class TestValidation:
    def test_strings_are_parsed_as_whole_numbers(self) -> None:
        parsed = parse_distribution(
            {"TelephonyConfig": config(("us-east-1", "90"), ("us-west-2", "10"))}, home_region="us-east-1"
        )

        assert parsed == Distribution(telephony={"us-east-1": 90, "us-west-2": 10})
        assert parsed.attributes() == {"TelephonyDistribution": "us-east-1=90,us-west-2=10"}

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({"TelephonyConfig": config(("us-east-1", "95"), ("us-west-2", "5"))}, "TelephonyConfig: the percentage"),
            ({"AgentConfig": config(("us-east-1", "90.0"), ("us-west-2", "10"))}, "steps of 10"),
            ({"AgentConfig": config(("us-east-1", "-10"), ("us-west-2", "110"))}, "from 0 to 100"),
            ({"TelephonyConfig": config(("us-east-1", "60"), ("us-west-2", "60"))}, "add up to 120"),
            ({"TelephonyConfig": config(("us-east-1", "100"))}, "lists 1 region(s); list both regions"),
            ({"TelephonyConfig": config(("us-east-1", "50"), ("us-east-1", "50"))}, "us-east-1 appears twice"),
            ({"TelephonyConfig": config(("US-EAST-1", "50"), ("us-west-2", "50"))}, "is not an AWS region name"),
            ({"TelephonyConfig": config(("eu-west-1", "50"), ("us-west-2", "50"))}, "does not list us-east-1"),
            ({"TelephonyConfig": {"Distribution": []}}, "exactly one key, Distributions"),
            ({"TelephonyConfig": {"Distributions": [{"Region": "us-east-1"}]}}, "exactly Region and Percentage"),
            ({"TelephonyConfig": config(("us-east-1", True), ("us-west-2", "0"))}, "whole number"),
        ],
    )
    def test_rules_name_the_config(self, props: dict[str, Any], message: str) -> None:
        with pytest.raises(ProviderError) as failure:
            parse_distribution(props, home_region="us-east-1")

        assert message in failure.value.reason

    @pytest.mark.parametrize(
        ("pair", "home"),
        [(("ap-northeast-1", "ap-northeast-3"), "ap-northeast-1"), (("us-gov-west-1", "eusc-de-east-1"), None)],
    )
    def test_region_names_are_read_alike_in_every_partition(self, pair: tuple[str, str], home: str | None) -> None:
        parsed = parse_distribution({"TelephonyConfig": config((pair[0], "100"), (pair[1], "0"))}, home_region=home)

        assert parsed.telephony == {pair[0]: 100, pair[1]: 0}

    def test_a_wrong_percentage_is_named_with_its_region(self) -> None:
        with pytest.raises(ProviderError) as failure:
            parse_distribution(
                {"AgentConfig": config(("us-east-1", "95"), ("us-west-2", "5"))}, home_region="us-east-1"
            )

        assert failure.value.reason == (
            "AgentConfig: the percentage for us-east-1 is '95'; use a whole number from 0 to 100 in steps of 10."
        )

    def test_sign_in_booleans_arrive_as_strings(self) -> None:
        parsed = parse_distribution(
            {"SignInConfig": config(("us-east-1", "true"), ("us-west-2", "false"), key="Enabled")}, home_region=None
        )

        assert parsed.sign_in == {"us-east-1": True, "us-west-2": False}
        assert parsed.attributes() == {"SignInDistribution": "us-east-1=true,us-west-2=false"}

    def test_numbers_are_accepted_as_well_as_strings(self) -> None:
        # CloudFormation sends strings; an event written by hand (a direct invocation) may hold JSON numbers.
        parsed = parse_distribution({"AgentConfig": config(("us-east-1", 90), ("us-west-2", "10"))}, home_region=None)

        assert parsed.agent == {"us-east-1": 90, "us-west-2": 10}

    @pytest.mark.parametrize(("low", "high"), [("40", "40"), ("0", "0"), ("100", "100")])
    def test_percentages_must_add_up_to_exactly_100(self, low: str, high: str) -> None:
        total = int(low) + int(high)
        with pytest.raises(ProviderError, match=f"add up to {total}; they must add up to 100"):
            parse_distribution(
                {"AgentConfig": config(("us-east-1", low), ("us-west-2", high))}, home_region="us-east-1"
            )

    @pytest.mark.parametrize(
        ("east", "west", "expected"),
        [
            ("True", "FALSE", {"us-east-1": True, "us-west-2": False}),
            ("TRUE", "False", {"us-east-1": True, "us-west-2": False}),
            ("false", "tRuE", {"us-east-1": False, "us-west-2": True}),
            (True, False, {"us-east-1": True, "us-west-2": False}),
        ],
    )
    def test_sign_in_enabled_is_read_in_any_case(self, east: Any, west: Any, expected: dict[str, bool]) -> None:
        parsed = parse_distribution(
            {"SignInConfig": config(("us-east-1", east), ("us-west-2", west), key="Enabled")}, home_region=None
        )

        assert parsed.sign_in == expected

    def test_sign_in_rejects_other_words(self) -> None:
        with pytest.raises(ProviderError, match="use true or false"):
            parse_distribution(
                {"SignInConfig": config(("us-east-1", "yes"), ("us-west-2", "no"), key="Enabled")}, home_region=None
            )

    @pytest.mark.parametrize(
        ("props", "reason"),
        [
            (
                {"TelephonyConfig": config(("us-east-1", "100"))},
                "TelephonyConfig lists 1 region(s); list both regions of the replicated instance, as Connect "
                "requires, even one that gets 0.",
            ),
            (
                {"SignInConfig": config(("us-east-1", "yes"), ("us-west-2", "no"), key="Enabled")},
                "SignInConfig: Enabled for us-east-1 is 'yes'; use true or false.",
            ),
            (
                {"AgentConfig": config(("us-east-1", "100"), ("eu-west-2", "0"))},
                "AgentConfig lists us-east-1 and eu-west-2: an instance in us-east-1 can be replicated only to "
                "us-west-2, not eu-west-2",
            ),
        ],
    )
    def test_reasons_name_the_config_the_region_and_what_connect_requires(
        self, props: dict[str, Any], reason: str
    ) -> None:
        with pytest.raises(ProviderError) as failure:
            parse_distribution(props, home_region="us-east-1")

        assert failure.value.reason.startswith(reason)

    def test_sign_in_must_list_the_home_region(self) -> None:
        elsewhere = config(("eu-central-1", "true"), ("eu-west-2", "false"), key="Enabled")

        with pytest.raises(ProviderError, match="SignInConfig does not list us-east-1"):
            parse_distribution({"SignInConfig": elsewhere}, home_region="us-east-1")

    @pytest.mark.parametrize(
        ("telephony", "home", "expected"),
        [
            ({"us-east-1": 100, "us-west-2": 0}, "us-east-1", ["us-east-1", "us-west-2"]),
            (WEST, "us-east-1", ["us-west-2", "us-east-1"]),
            (None, "us-east-1", ["us-east-1"]),
        ],
    )
    def test_reads_start_where_the_calls_go_then_turn_to_every_other_region(
        self, telephony: dict[str, int] | None, home: str, expected: list[str]
    ) -> None:
        assert Distribution(telephony=telephony).read_regions(home) == expected

    @pytest.mark.parametrize(
        ("telephony", "expected"),
        [(None, "us-east-1"), ({"us-east-1": 50, "us-west-2": 50}, "us-east-1"), (WEST, "us-west-2")],
    )
    def test_update_is_called_in_the_region_that_takes_the_calls(
        self, telephony: dict[str, int] | None, expected: str
    ) -> None:
        assert Distribution(telephony=telephony).serving_region("us-east-1") == expected
