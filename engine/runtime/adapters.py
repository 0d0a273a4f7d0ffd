"""Building a channel's adapter from its configuration (inside the channel actor).

Each channel kind is a package under ``adapters/`` with two functions:

- ``check(channel)`` refuses a bad configuration before any actor starts, raising
  :class:`~engine.errors.RouteTableError` that names the field;
- ``build(channel, secrets)`` returns the adapter (a :class:`~engine.domain.channel.Channel`).

Packages are imported only when a channel of their kind is configured, so a simulated-only setup
never loads an SMPP or HTTP library. Credentials never sit in the route table: an option named
``<name>_env`` names an environment variable and ``<name>_file`` a file, and ``build`` receives the
value as ``secrets[<name>]``. Secrets are read here, at the edge, and are never logged.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from engine.domain.channel import Channel as ChannelAdapter
from engine.domain.types import Channel
from engine.errors import RouteTableError

KINDS = {kind: f"adapters.{kind}.config" for kind in ("simulated", "smpp", "http")}


def _module(channel: Channel) -> ModuleType:
    name = KINDS.get(channel.kind)
    if name is None:
        known = ", ".join(sorted(KINDS))
        raise RouteTableError("route table", f"channels.{channel.id}.kind", f"unknown kind; known: {known}")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        problem = f"{channel.kind} channels are not available ({exc.name} is not installed)"
        raise RouteTableError("route table", f"channels.{channel.id}.kind", problem) from None


def secrets_of(channel: Channel, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Resolve ``<name>_env`` and ``<name>_file`` options to ``{name: value}``."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for key, value in channel.options:
        field = f"channels.{channel.id}.{key}"
        if key.endswith("_env"):
            if str(value) not in environ:
                raise RouteTableError("route table", field, f"environment variable {value} is not set")
            found[key.removesuffix("_env")] = environ[str(value)]
        elif key.endswith("_file"):
            try:
                found[key.removesuffix("_file")] = Path(str(value)).read_text().strip()
            except OSError as exc:
                raise RouteTableError("route table", field, f"cannot read {value}: {exc.strerror}") from None
    return found


def validate(channel: Channel) -> None:
    """Refuse a channel the engine could not start, before any actor is created."""
    module = _module(channel)
    secrets_of(channel)
    module.check(channel)


def make_adapter(channel: Channel, secrets: Mapping[str, str] | None = None) -> ChannelAdapter:
    """The adapter; ``secrets`` as resolved by :func:`secrets_of` in the process that read the
    config (a Ray worker on another node, or one started before the variable was set, may not
    share its environment), else resolved here."""
    module = _module(channel)
    module.check(channel)
    adapter: ChannelAdapter = module.build(channel, secrets_of(channel) if secrets is None else secrets)
    return adapter
