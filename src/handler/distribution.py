"""Traffic distribution: TelephonyConfig, AgentConfig and SignInConfig, validated before any API call.

Connect's rules, from its API reference and admin guide: every config lists both linked regions,
percentages are whole numbers in steps of 10 that add up to 100, and SignInConfig is accepted only on
an instance's default group. CloudFormation sends numbers and booleans as strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import regions
from errors import ProviderError
from refs import is_region

_WHOLE_NUMBER = re.compile(r"^\d{1,3}$")
LINKED_REGIONS = 2


@dataclass(frozen=True)
class Distribution:
    """Desired or actual distribution. Each config maps region to a percentage (or to Enabled for sign-in)."""

    telephony: dict[str, int] | None = None
    agent: dict[str, int] | None = None
    sign_in: dict[str, bool] | None = None
    # Of an actual distribution: when UpdateTrafficDistribution last changed it (ISO 8601), if Connect says.
    last_failover_time: str = field(default="", compare=False)

    def _configs(self) -> tuple[tuple[str, Mapping[str, int | bool] | None], ...]:
        """Each config with the name of the ``!GetAtt`` attribute that shows it."""
        return (
            ("TelephonyDistribution", self.telephony),
            ("AgentDistribution", self.agent),
            ("SignInDistribution", self.sign_in),
        )

    def is_empty(self) -> bool:
        return all(values is None for _, values in self._configs())

    def request(self) -> dict[str, Any]:
        """The UpdateTrafficDistribution arguments, without Id."""
        request: dict[str, Any] = {}
        if self.telephony is not None:
            request["TelephonyConfig"] = {"Distributions": _percentages(self.telephony)}
        if self.agent is not None:
            request["AgentConfig"] = {"Distributions": _percentages(self.agent)}
        if self.sign_in is not None:
            request["SignInConfig"] = {
                "Distributions": [{"Region": r, "Enabled": on} for r, on in sorted(self.sign_in.items())]
            }
        return request

    def serving_region(self, default: str) -> str:
        """Where to call UpdateTrafficDistribution: Connect asks for the region that should take the calls,
        which is also the one that works when the other region is down. Agents decide when calls are not
        given; ``default`` (the home region) wins a tie."""
        shares = self.telephony or self.agent
        if not shares:
            return default
        top = max(shares.values())
        leaders = sorted(region for region, share in shares.items() if share == top)
        return default if default in leaders else leaders[0]

    def read_regions(self, home: str) -> list[str]:
        """Where to read the group: the serving region first, then the other one, for when it is down."""
        first = self.serving_region(home)
        named = {region for _, values in self._configs() for region in values or {}}
        return [first, *sorted((named | {home}) - {first})]

    def with_telephony_of(self, current: Distribution) -> Distribution:
        """This distribution, with the group's current TelephonyConfig when it gives none: Connect's admin
        guide says a telephony distribution must be provided with every update."""
        if self.telephony is not None or current.telephony is None:
            return self
        return Distribution(telephony=dict(current.telephony), agent=self.agent, sign_in=self.sign_in)

    def satisfied_by(self, actual: Distribution) -> bool:
        """Whether ``actual`` already has every config this one asks for."""
        return all(
            wanted is None or wanted == have
            for (_, wanted), (_, have) in zip(self._configs(), actual._configs(), strict=True)
        )

    def attributes(self) -> dict[str, str]:
        """``!GetAtt`` values such as TelephonyDistribution = "us-east-1=90,us-west-2=10"."""
        return {
            name: ",".join(f"{region}={_text(value)}" for region, value in sorted(values.items()))
            for name, values in self._configs()
            if values is not None
        }

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> Distribution:
        """Read a GetTrafficDistribution response."""

        def entries(config: str, key: str) -> dict[str, Any] | None:
            raw = response.get(config)
            if not raw or not raw.get("Distributions"):
                return None
            return {entry["Region"]: entry[key] for entry in raw["Distributions"]}

        last_failover = response.get("LastFailoverTime")
        return cls(
            telephony=entries("TelephonyConfig", "Percentage"),
            agent=entries("AgentConfig", "Percentage"),
            sign_in=entries("SignInConfig", "Enabled"),
            last_failover_time=last_failover.isoformat() if last_failover else "",
        )


def parse_distribution(props: Mapping[str, Any], *, home_region: str | None) -> Distribution:
    """Validate the configs present in ``props``; ``home_region``, when known, must be one of the regions."""
    return Distribution(
        telephony=_parse_percentages(props, "TelephonyConfig", home_region),
        agent=_parse_percentages(props, "AgentConfig", home_region),
        sign_in=_parse_sign_in(props, home_region),
    )


def _parse_percentages(props: Mapping[str, Any], config: str, home_region: str | None) -> dict[str, int] | None:
    entries = _entries(props, config, "Percentage", home_region)
    if entries is None:
        return None
    shares = {region: _percentage(config, region, value) for region, value in entries.items()}
    total = sum(shares.values())
    if total != 100:
        raise ProviderError(
            f"{config}: the percentages add up to {total}; they must add up to 100 "
            f"(for example {', '.join(f'{r}=' for r in shares)} 100 and 0)."
        )
    return shares


def _parse_sign_in(props: Mapping[str, Any], home_region: str | None) -> dict[str, bool] | None:
    entries = _entries(props, "SignInConfig", "Enabled", home_region)
    if entries is None:
        return None
    return {region: _boolean(region, value) for region, value in entries.items()}


def _entries(props: Mapping[str, Any], config: str, key: str, home_region: str | None) -> dict[str, Any] | None:
    raw = props.get(config)
    if raw is None:
        return None
    example = f"{config}: {{Distributions: [{{Region: us-east-1, {key}: ...}}, {{Region: us-west-2, {key}: ...}}]}}"
    if not isinstance(raw, Mapping) or set(raw) != {"Distributions"} or not isinstance(raw["Distributions"], list):
        raise ProviderError(f"{config} must have exactly one key, Distributions, with a list: {example}.")
    entries: dict[str, Any] = {}
    for index, entry in enumerate(raw["Distributions"]):
        if not isinstance(entry, Mapping) or set(entry) != {"Region", key}:
            raise ProviderError(f"{config}.Distributions[{index}] must have exactly Region and {key}: {example}.")
        region = entry["Region"]
        if not isinstance(region, str) or not is_region(region):
            raise ProviderError(f"{config}: {region!r} is not an AWS region name such as us-east-1.")
        if region in entries:
            raise ProviderError(f"{config}: region {region} appears twice; list each region once.")
        entries[region] = entry[key]
    if len(entries) != LINKED_REGIONS:
        raise ProviderError(
            f"{config} lists {len(entries)} region(s); list both regions of the replicated instance, "
            "as Connect requires, even one that gets 0."
        )
    if home_region is not None and home_region not in entries:
        raise ProviderError(
            f"{config} does not list {home_region}, the instance's home region; list both linked regions."
        )
    if home_region is not None:
        (other,) = set(entries) - {home_region}
        regions.check_pair(home_region, other, what=f"{config} lists {home_region} and {other}")
    return entries


def _percentage(config: str, region: str, value: Any) -> int:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _WHOLE_NUMBER.match(text) or int(text) > 100 or int(text) % 10:
        raise ProviderError(
            f"{config}: the percentage for {region} is {value!r}; use a whole number from 0 to 100 in steps of 10."
        )
    return int(text)


def _boolean(region: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ProviderError(f"SignInConfig: Enabled for {region} is {value!r}; use true or false.")


def _percentages(values: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"Region": region, "Percentage": share} for region, share in sorted(values.items())]


def _text(value: int | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
