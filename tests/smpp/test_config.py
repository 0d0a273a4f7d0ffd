"""Settings from the route table, the adapter registry, pacing arithmetic and the bind check."""

from __future__ import annotations

import asyncio
import doctest
import socket
import time
from types import ModuleType

import numpy as np
import pytest

import adapters.smpp.bindcheck
import adapters.smpp.channel
import adapters.smpp.pacing
import adapters.smpp.status
from adapters.smpp import BindMode, SmppChannel, SmppSettings
from adapters.smpp.bindcheck import BindRejectedError, bind_pdu, check_bind
from adapters.smpp.nodelay import set_nodelay
from adapters.smpp.pacing import Backoff, ThrottlePause
from adapters.smpp.settings import SettingsError
from engine.domain.clock import ManualClock
from engine.domain.types import Channel
from engine.errors import RouteTableError
from engine.routing.table import parse_route_table
from engine.runtime.adapters import make_adapter, validate
from tests.smpp.peer import PASSWORD, NodeSmsc

OPTIONS = (("host", "127.0.0.1"), ("port", 2775), ("system_id", "acme"), ("password_env", "SMPP_TEST_PW"))


def _channel(*extra: tuple[str, str | float | int | bool]) -> Channel:
    return Channel("op-smpp", kind="smpp", window=20, options=OPTIONS + extra)


def test_build_makes_an_unbound_adapter_with_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMPP_TEST_PW", "s3cr3t")
    adapter = make_adapter(_channel(("bind_mode", "transmitter_receiver"), ("response_timeout_s", 3)))
    assert isinstance(adapter, SmppChannel)
    assert adapter.settings.bind_mode is BindMode.TRANSMITTER_RECEIVER
    assert adapter.settings.response_timeout_s == 3.0
    assert adapter.window == 20
    assert not adapter.health().connected
    assert "s3cr3t" not in repr(adapter.sessions)
    assert "s3cr3t" not in repr(adapter.settings)


@pytest.mark.parametrize(
    ("extra", "field", "reason"),
    [((("port", 0),), "port", "1..65535"), ((("bind_mode", "sideways"),), "bind_mode", "transceiver"),
     ((("response_timeout_s", "fast"),), "response_timeout_s", "expected float"),
     ((("system_id", "x" * 16),), "system_id", "15"),
     ((("reconnect_jitter", 1.5),), "reconnect_jitter", r"\[0, 1\)"),
     ((("colour", "red"),), "colour", "unknown option"), ((("source_ton", 300),), "source_ton", "0..255")],
)  # fmt: skip
def test_bad_settings_name_their_field(
    monkeypatch: pytest.MonkeyPatch, extra: tuple[tuple[str, str | int | float], ...], field: str, reason: str
) -> None:
    monkeypatch.setenv("SMPP_TEST_PW", "pw")
    with pytest.raises(RouteTableError, match=reason) as info:
        validate(_channel(*extra))
    assert info.value.field == f"channels.op-smpp.{field}"


def test_a_password_source_is_required() -> None:
    channel = Channel("op", kind="smpp", options=(("host", "h"), ("port", 1), ("system_id", "a")))
    with pytest.raises(RouteTableError, match="password_env or password_file"):
        validate(channel)


def test_missing_required_settings() -> None:
    with pytest.raises(SettingsError, match="host: is required"):
        SmppSettings.from_options({"port": 1, "system_id": "a"})


def test_the_route_table_accepts_smpp_options() -> None:
    table = parse_route_table(
        {"channels": [{"id": "op", "kind": "smpp", "host": "h", "port": 2775, "system_id": "a",
                       "password_file": "/run/pw", "bind_mode": "transceiver", "enquire_link_s": 20}],
         "routes": []},
        "t.toml",
    )  # fmt: skip
    (channel,) = table.channels
    assert dict(channel.options)["enquire_link_s"] == 20


def test_backoff_is_exponential_capped_and_jittered_reproducibly() -> None:
    backoff = Backoff(0.5, 8.0, jitter=0.2)
    first = [backoff.delay(a, np.random.default_rng(3)) for a in range(8)]
    assert first == [backoff.delay(a, np.random.default_rng(3)) for a in range(8)]
    for attempt, delay in enumerate(first):
        base = min(8.0, 0.5 * 2**attempt)
        assert 0.8 * base <= delay <= 1.2 * base
    with pytest.raises(ValueError, match="min_s"):
        Backoff(2.0, 1.0)


def test_throttle_pause_doubles_per_throttle_in_a_row_and_resets() -> None:
    clock = ManualClock(100.0)
    pause = ThrottlePause(0.1, 0.5, clock)
    waits = []
    for _ in range(5):
        pause.hit()
        waits.append(pause.wait_s())
        clock.advance(waits[-1])
    assert waits == [0.1, 0.2, 0.4, 0.5, 0.5]
    pause.ok()
    pause.hit()
    assert pause.wait_s() == 0.1


def test_the_bind_pdu_is_smpp_34() -> None:
    pdu = bind_pdu("TX", "acme", "pw", "VMA", sequence=7)
    assert pdu[:16].hex() == f"{len(pdu):08x}" + "00000002" + "00000000" + "00000007"
    assert pdu[16:] == b"acme\x00pw\x00VMA\x00\x34\x00\x00\x00"
    assert bind_pdu("TRX", "a", "p" * 20, "")[18:27] == b"p" * 8 + b"\x00"  # password: 8 octets at most


def test_bind_check_reports_the_smsc_refusal_at_once(smsc: NodeSmsc) -> None:
    async def main() -> None:
        started = time.monotonic()
        with pytest.raises(BindRejectedError) as info:
            await check_bind(smsc.host, smsc.port, bind_type="TRX", system_id="x", password="bad",
                             system_type="", timeout_s=5.0)  # fmt: skip
        assert info.value.status == 0x0D
        assert time.monotonic() - started < 1.0
        await check_bind(smsc.host, smsc.port, bind_type="RX", system_id="x", password=PASSWORD,
                         system_type="", timeout_s=5.0)  # fmt: skip

    asyncio.run(main())
    stats = smsc.stats()
    assert (stats["bind_failures"], stats["binds"], stats["unbinds"]) == (1, 1, 1)


@pytest.mark.parametrize(
    "module", [adapters.smpp.bindcheck, adapters.smpp.channel, adapters.smpp.pacing, adapters.smpp.status]
)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_set_nodelay_turns_nagle_off_on_connections_to_the_peer_port_only() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_server(("127.0.0.1", 0)) as other:
        port = server.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port)) as ours,
            socket.create_connection(("127.0.0.1", other.getsockname()[1])) as theirs,
        ):
            assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            assert set_nodelay(port) == 1
            assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            assert set_nodelay(port) == 0  # already off: nothing changed
            server.accept()[0].close()
            other.accept()[0].close()
