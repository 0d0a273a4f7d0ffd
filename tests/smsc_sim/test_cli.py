"""``a2p smsc-sim``'s options, and the command itself run as a process and stopped with Ctrl-C."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.smpp import pdu
from adapters.smpp.smsc_settings import IdFormat
from adapters.smpp.smsc_sim import add_arguments, settings_from
from engine.errors import A2PError

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = (
    "import argparse, sys\n"
    "from adapters.smpp.smsc_sim import add_arguments, main\n"
    "parser = argparse.ArgumentParser()\n"
    "add_arguments(parser)\n"
    "sys.exit(main(parser.parse_args(sys.argv[1:])))\n"
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_listen_on_loopback_and_are_healthy() -> None:
    settings = settings_from(parse())
    assert (settings.host, settings.port, settings.stall, settings.reject_fraction) == (
        "127.0.0.1",
        2775,
        False,
        0.0,
    )


def test_a_mode_with_its_own_trigger() -> None:
    settings = settings_from(parse("--mode", "reject", "--reject-prefix", "44", "--reject-prefix", "+33",
                                   "--message-id", "hex", "--receipt-median", "0.5"))  # fmt: skip
    assert (settings.reject_prefixes, settings.reject_fraction) == (("44", "+33"), 0.0)
    assert (settings.message_id_format, settings.receipt_delay_median_s) == (IdFormat.HEX, 0.5)
    assert settings_from(parse("--mode", "black-hole")).black_hole


@pytest.mark.parametrize("argv", [["--delivery-probability", "2"], ["--port", "-1"], ["--mode", "chaos"]])
def test_bad_options_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)
    assert "error" in capsys.readouterr().err


def test_settings_errors_become_one_line_errors() -> None:
    with pytest.raises(A2PError, match="password"):
        settings_from(parse("--password", "far-too-long"))


def test_the_command_serves_prints_status_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", LAUNCH, "--port", "0", "--status-every", "0.1", "--seed", "1"]
    with subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", first)
        assert match, first
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as peer:
            peer.sendall(pdu.encode(pdu.EnquireLink(sequence_number=1)))
            assert pdu.decode(peer.recv(64)) == pdu.EnquireLinkResp(sequence_number=1)
        status = [proc.stdout.readline() for _ in range(3)]  # lines every 0.1 s: one follows the link
        assert any("connections=1 " in line and "enquire_links=1" in line for line in status), status
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "enquire_links=1" in out.splitlines()[-1]


def test_the_password_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2P_TEST_SMSC_PASSWORD", "from-env")
    assert settings_from(parse("--password-env", "A2P_TEST_SMSC_PASSWORD")).password == "from-env"
    monkeypatch.delenv("A2P_TEST_SMSC_PASSWORD")
    with pytest.raises(A2PError, match="A2P_TEST_SMSC_PASSWORD is not set"):
        settings_from(parse("--password-env", "A2P_TEST_SMSC_PASSWORD"))
