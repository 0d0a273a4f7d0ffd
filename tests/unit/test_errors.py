"""Every platform error survives pickling (how Ray hands an actor's error to its caller)."""

from __future__ import annotations

import pickle

import pytest

from engine.errors import (
    A2PError,
    ConfigError,
    InvalidNumberError,
    NoRouteError,
    RouteTableError,
    ScenarioError,
    UnknownPolicyError,
    UnknownScenarioError,
)

SAMPLES: list[A2PError] = [
    ConfigError("f.toml", "a.b", "bad"), RouteTableError("r.toml", "channels.x.kind", "unknown"),
    ScenarioError("s.toml", "", "empty"), UnknownPolicyError("nope", ["b", "a"]),
    UnknownScenarioError("nope", ["x"]), InvalidNumberError("+1", "too short"), NoRouteError("NG"),
]  # fmt: skip


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_an_error_pickles_to_itself(error: A2PError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), str(back), vars(back)) == (type(error), str(error), vars(error))


def test_every_error_of_the_tree_has_a_sample() -> None:
    def subclasses(cls: type[A2PError]) -> set[type[A2PError]]:
        return {cls} | {s for c in cls.__subclasses__() for s in subclasses(c)}

    tree = {c for c in subclasses(A2PError) if c.__module__ == "engine.errors"} - {A2PError}
    assert tree <= {type(e) for e in SAMPLES}
