"""The node-smpp SMSC (``tests/peers/smsc.js``) as a subprocess, driven over its stdin/stdout.

Used by the SMPP tests, the channel contract suite and ``benchmarks.channels``. The node packages
are installed by ``make peers`` (``npm ci --prefix tests/peers``); if they are missing,
:func:`ensure_installed` runs that same command once.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

PEERS = Path(__file__).resolve().parents[1] / "peers"
SMSC_JS = PEERS / "smsc.js"
PASSWORD = "secret"  # the SMSC's password for every system_id (its "*" account)
START_TIMEOUT_S = 15.0
REPLY_TIMEOUT_S = 5.0


class PeerError(RuntimeError):
    pass


def ensure_installed() -> None:
    """``npm ci`` the peers if their node_modules are missing (``make peers`` does it up front)."""
    if (PEERS / "node_modules" / "smpp" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise PeerError("node and npm are needed for the SMPP peer (tests/peers); install Node.js >= 18")
    subprocess.run([npm, "ci", "--prefix", str(PEERS), "--silent", "--no-audit", "--no-fund"], check=True)


def free_port() -> int:
    """A free loopback port: bind port 0, read it, release it (the SMSC binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NodeSmsc:
    """A running fake SMSC. ``config`` keys are smsc.js's (see DEFAULTS there).

    Use as a context manager, or call :meth:`close`: the process, its pipes and its reader thread
    are all released there.
    """

    def __init__(self, **config: Any) -> None:
        ensure_installed()
        self.config = {"port": free_port(), **config}
        self._baseline = dict(config)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._proc = subprocess.Popen(
            ["node", str(SMSC_JS), json.dumps(self.config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self._proc.stdout is not None
        self._reader = threading.Thread(target=self._pump, args=(self._proc.stdout,), daemon=True)
        self._reader.start()
        ready = self._line(START_TIMEOUT_S)
        if not ready.startswith("READY "):
            self.close()
            raise PeerError(f"SMSC did not start: {ready!r}")
        self.port = int(ready.split()[1])
        self.host = "127.0.0.1"

    def __enter__(self) -> NodeSmsc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _line(self, timeout_s: float = REPLY_TIMEOUT_S) -> str:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise PeerError("SMSC did not answer") from None
        if line is None:
            raise PeerError("SMSC exited")
        return line

    def _send(self, message: dict[str, Any]) -> str:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(message) + "\n")
        self._proc.stdin.flush()
        return self._line()

    def set(self, **config: Any) -> None:
        """Change the SMSC's behaviour from now on."""
        if self._send({"set": config}) != "OK":
            raise PeerError("SMSC refused the settings")

    def restore(self) -> None:
        """Back to the configuration it was started with (every changed key), counters zeroed."""
        self._send({"set": {**_DEFAULTS, **self._baseline}})
        self._send({"cmd": "reset"})

    def stats(self) -> dict[str, Any]:
        line = self._send({"cmd": "stats"})
        if not line.startswith("STATS "):
            raise PeerError(f"unexpected SMSC answer {line!r}")
        stats: dict[str, Any] = json.loads(line.removeprefix("STATS "))
        return stats

    def drop(self) -> None:
        """Destroy every connection now, without an unbind."""
        self._send({"cmd": "drop"})

    def deliver(self, text: bytes | str, system_id: str | None = None, **tlvs: Any) -> None:
        """One deliver_sm (esm_class 0x04) with this text and TLVs, e.g. ``message_state=2``."""
        body = text.decode("latin-1") if isinstance(text, bytes) else text
        message: dict[str, Any] = {"cmd": "deliver", "text": body, "tlvs": tlvs}
        if system_id is not None:
            message["system_id"] = system_id
        self._send(message)

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()  # the SMSC exits when its stdin closes
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


# smsc.js's defaults for every key a test may change (restore() puts them back).
_DEFAULTS: dict[str, Any] = {
    "hex_ids": False,
    "receipt_delay_ms": 20,
    "receipt_before_resp": False,
    "receipt_out_of_order": False,
    "receipt_tlvs": False,
    "receipt_tlv_id_differs": False,
    "receipts": True,
    "date_digits": 10,
    "stat_by_prefix": {},
    "garbage_every": 0,
    "throttle_every": 0,
    "throttle_above_tps": 0,
    "queue_full_every": 0,
    "reject_prefixes": [],
    "drop_after": 0,
    "drop_holds_last": True,
    "stall": False,
    "track_bodies": False,
}
