"""ArmSpace: stable arm ids, the padded candidate matrix, versions and validation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from engine.policies.space import ArmSpace


def ints(*values: int) -> NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


@pytest.fixture
def space() -> ArmSpace:
    """NG has three routes, KE one."""
    s = ArmSpace()
    s.upsert("NG/621-20", "ch0", price=0.01, tps=10.0)
    s.upsert("NG/621-20", "ch1", price=0.02, tps=20.0)
    s.upsert("KE/639-02", "ch1", price=0.03, tps=30.0)
    s.upsert("NG/621-20", "ch2", price=0.04, tps=40.0)
    return s


def test_upsert_gives_append_only_ids(space: ArmSpace) -> None:
    assert [space.arm("NG/621-20", r) for r in ("ch0", "ch1", "ch2")] == [0, 1, 3]
    assert space.arm("KE/639-02", "ch1") == 2
    assert space.n_arms == 4
    assert space.n_routes == 3
    assert space.contexts == ["NG/621-20", "KE/639-02"]
    assert space.arm_context.tolist() == [0, 0, 1, 0]
    assert space.arm_route.tolist() == [0, 1, 1, 2]


def test_upsert_of_an_existing_arm_keeps_its_id_and_updates_it(space: ArmSpace) -> None:
    assert space.upsert("NG/621-20", "ch1", price=0.05, tps=7.0) == 1
    assert space.n_arms == 4
    assert space.price[1] == 0.05
    assert space.tps[1] == 7.0


def test_unknown_arm_is_none(space: ArmSpace) -> None:
    assert space.arm("KE/639-02", "ch0") is None
    assert space.arm("ZA/655-01", "ch0") is None
    assert space.arm("NG/621-20", "ch9") is None


def test_candidates_are_padded_with_a_valid_mask(space: ArmSpace) -> None:
    arms, valid = space.candidates(ints(1, 0, 1))
    assert arms.shape == valid.shape == (3, 3)
    assert arms[1].tolist() == [0, 1, 3]
    assert valid[1].all()
    assert arms[0, 0] == 2
    assert valid[0].tolist() == [True, False, False]
    assert arms[0, 1:].tolist() == [0, 0]  # padding points at arm 0 but is invalid
    np.testing.assert_array_equal(arms[2], arms[0])


def test_disabled_arms_are_invalid_until_upserted_again(space: ArmSpace) -> None:
    space.set_enabled(1, False)
    assert space.candidates(ints(0))[1][0].tolist() == [True, False, True]
    space.upsert("NG/621-20", "ch1", price=0.02, tps=20.0)
    assert space.candidates(ints(0))[1][0].tolist() == [True, True, True]


def test_context_without_arms_has_no_valid_candidate() -> None:
    s = ArmSpace()
    cid = s.context_id("BR/724-05")
    arms, valid = s.candidates(ints(cid))
    assert arms.shape[0] == 1
    assert not valid.any()
    assert s.context_id("BR/724-05") == cid


def test_version_bumps_on_every_change_and_only_then(space: ArmSpace) -> None:
    versions = [space.version]
    space.set_price(0, 0.02)
    versions.append(space.version)
    space.set_enabled(0, False)
    versions.append(space.version)
    space.upsert("NG/621-20", "ch0", price=0.02, tps=10.0)
    versions.append(space.version)
    space.context_id("ZA/655-01")
    versions.append(space.version)
    assert all(b > a for a, b in itertools.pairwise(versions))
    space.candidates(ints(0, 1))
    space.arm("NG/621-20", "ch0")
    space.context_id("ZA/655-01")
    space.route_id("ch0")
    assert space.version == versions[-1]


@pytest.mark.parametrize(("price", "tps"), [(-0.01, 10.0), (0.01, 0.0), (0.01, -5.0)])
def test_upsert_rejects_negative_price_and_non_positive_tps(price: float, tps: float) -> None:
    s = ArmSpace()
    with pytest.raises(ValueError, match="price"):
        s.upsert("NG/621-20", "ch0", price=price, tps=tps)
    assert (s.n_arms, s.contexts, s.routes, s.version) == (0, [], [], 0)


def test_free_price_is_allowed() -> None:
    s = ArmSpace()
    assert s.upsert("NG/621-20", "ch0", price=0.0, tps=1.0) == 0
