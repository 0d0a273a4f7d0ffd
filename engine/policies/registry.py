"""Policies by name, and specs like ``"pending_ts:half_life_s=600,capacity=false"``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from engine.errors import UnknownPolicyError
from engine.policies.base import Policy
from engine.policies.economics import Economics
from engine.policies.space import ArmSpace

P = TypeVar("P", bound=type[Policy])
PolicyFactory = Callable[..., Policy]

_REGISTRY: dict[str, PolicyFactory] = {}

DEFAULT_POLICY = "pending_ts"


def register(cls: P) -> P:
    """Class decorator: make a policy available by its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def register_factory(name: str, factory: PolicyFactory) -> None:
    """Register something that builds a policy (e.g. a peer library wrapped as a Policy)."""
    _REGISTRY[name] = factory


def known_policies() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _parse_value(raw: str) -> Any:
    low = raw.strip().lower()
    if low in {"true", "false"}:
        return low == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw.strip()


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:k=v,k=v"`` into the name and typed keyword arguments."""
    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"policy spec {spec!r}: expected key=value, got {item!r}")
        params[key.strip()] = _parse_value(value)
    return name.strip(), params


def create(
    spec: str, space: ArmSpace, rng: np.random.Generator, economics: Economics | None = None
) -> Policy:
    """Build a policy from its spec; unknown names list the known ones."""
    _load_builtin()
    name, params = parse_spec(spec)
    factory = _REGISTRY.get(name)
    if factory is None:
        raise UnknownPolicyError(name, list(_REGISTRY))
    try:
        return factory(space, rng, economics, **params)
    except TypeError as exc:  # an unknown parameter name
        raise ValueError(f"policy spec {spec!r}: {exc}") from None


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators; done lazily to avoid import cycles.
    from engine.policies import static, thompson  # noqa: F401, PLC0415
