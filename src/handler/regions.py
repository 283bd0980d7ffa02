"""The region pairs of Amazon Connect Global Resiliency: the one list, used by every check of a region.

From the Connect Administrator Guide, "Create a replica of your existing Amazon Connect instance"
(create-replica-connect-instance.html): an instance can be replicated only to its partner region,
US East (N. Virginia) with US West (Oregon), Europe (Frankfurt) with Europe (London), and
Asia Pacific (Tokyo) to Asia Pacific (Osaka), in that direction only. When AWS adds a pair, add it here.
"""

from __future__ import annotations

from errors import ProviderError

REPLICA_REGION_OF = {
    "us-east-1": "us-west-2",
    "us-west-2": "us-east-1",
    "eu-central-1": "eu-west-2",
    "eu-west-2": "eu-central-1",
    "ap-northeast-1": "ap-northeast-3",
}
SOURCE = "Connect's admin guide, 'Create a replica of your existing Amazon Connect instance'"


def partner(region: str) -> str | None:
    """The region an instance at home in ``region`` can be replicated to, if any."""
    return REPLICA_REGION_OF.get(region)


def counterpart(region: str) -> str | None:
    """The other region of a replicated instance at home or replicated in ``region``: its partner either way."""
    return partner(region) or next((source for source, replica in REPLICA_REGION_OF.items() if replica == region), None)


def check_pair(source: str, replica: str, *, what: str) -> None:
    """Fail unless Connect replicates ``source`` to ``replica``; the Reason names the allowed partner."""
    allowed = partner(source)
    if allowed == replica:
        return
    if allowed is None:
        raise ProviderError(
            f"{what}: Connect does not replicate instances from {source} to any region (see {SOURCE}). "
            f"The pairs are: {pairs()}."
        )
    raise ProviderError(
        f"{what}: an instance in {source} can be replicated only to {allowed}, not {replica} (see {SOURCE})."
    )


def pairs() -> str:
    return ", ".join(f"{source} -> {replica}" for source, replica in REPLICA_REGION_OF.items())
