"""The region pairs of Connect Global Resiliency, and the Reason that names them."""

from __future__ import annotations

import pytest

import regions
from errors import ProviderError


def test_a_pair_connect_replicates_passes() -> None:
    regions.check_pair("eu-central-1", "eu-west-2", what="ReplicaRegion")


def test_a_wrong_partner_is_refused_with_the_one_allowed() -> None:
    with pytest.raises(ProviderError) as refused:
        regions.check_pair("us-east-1", "eu-west-2", what="ReplicaRegion")

    assert refused.value.reason.startswith(
        "ReplicaRegion: an instance in us-east-1 can be replicated only to us-west-2, not eu-west-2 (see "
    )


def test_a_region_connect_does_not_replicate_from_is_refused_with_every_pair() -> None:
    # Given Osaka, which is only ever a replica (of Tokyo); when it is given as the source
    with pytest.raises(ProviderError) as refused:
        regions.check_pair("ap-northeast-3", "ap-northeast-1", what="ReplicaRegion")

    # Then the Reason lists the pairs to choose from, one after the other
    assert refused.value.reason.endswith(
        "The pairs are: us-east-1 -> us-west-2, us-west-2 -> us-east-1, eu-central-1 -> eu-west-2, "
        "eu-west-2 -> eu-central-1, ap-northeast-1 -> ap-northeast-3."
    )


def test_the_counterpart_of_a_region_is_its_partner_either_way() -> None:
    assert regions.counterpart("us-east-1") == "us-west-2"
    assert regions.counterpart("us-west-2") == "us-east-1"
    assert regions.counterpart("ap-northeast-3") == "ap-northeast-1"  # replicated to only, never from
    assert regions.counterpart("eu-west-1") is None
