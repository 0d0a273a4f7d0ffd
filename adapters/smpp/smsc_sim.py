"""``a2p smsc-sim``: a bundled SMPP 3.4 SMSC that authenticates binds and misbehaves on demand.

Point an ESME (our SMPP channel, Kannel, smpp34) at it to test binds, submits, receipts, throttling,
stalls and rejects without an operator. It listens on loopback unless ``--host`` says otherwise.

    a2p smsc-sim --port 2775 --system-id esme --password secret --mode throttle --throttle-tps 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from typing import Any

from adapters.smpp.smsc_server import SmscCounters, SmscSimulator
from adapters.smpp.smsc_settings import IdFormat, Mode, SmscSettings
from engine.errors import A2PError

__all__ = [
    "IdFormat",
    "Mode",
    "SmscCounters",
    "SmscSettings",
    "SmscSimulator",
    "add_arguments",
    "main",
    "settings_from",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``a2p smsc-sim`` options, on a parser the engine's CLI owns."""
    defaults = SmscSettings()
    add = parser.add_argument
    add("--host", default=defaults.host, help="address to listen on (default: loopback only)")
    add("--port", type=_port, default=defaults.port, help=f"TCP port (default {defaults.port}; 0: any free)")
    add("--system-id", default=defaults.system_id, help="system_id a bind must present")
    add("--password", default=defaults.password, help="password a bind must present (visible in ps)")
    add("--password-env", metavar="VAR", help="read the password from this environment variable instead")
    add("--mode", type=Mode, choices=list(Mode), default=Mode.HEALTHY, help="misbehaviour preset")
    add("--message-id", type=IdFormat, choices=list(IdFormat), default=defaults.message_id_format,
        help="base of the ids in submit_sm_resp")  # fmt: skip
    add("--receipt-id", type=IdFormat, choices=list(IdFormat),
        help="base of the id in the receipt text (default: as in submit_sm_resp)")  # fmt: skip
    add("--receipt-median", type=_non_negative, help="median receipt delay in seconds (lognormal)")
    add("--receipt-sigma", type=_non_negative, help="spread (sigma) of the receipt delay")
    add("--delivery-probability", type=_fraction, help="share of accepted messages that are delivered")
    add("--throttle-tps", type=_positive, help="ESME_RTHROTTLED above this many accepted submits/s")
    add("--throttle-fraction", type=_fraction, help="ESME_RTHROTTLED for this share of submits")
    add("--reject-fraction", type=_fraction, help="ESME_RINVDSTADR for this share of submits")
    add("--reject-prefix", action="append", help="ESME_RINVDSTADR for destinations with this prefix")
    add("--seed", type=int, help="random seed (default: fresh entropy)")
    add("--status-every", type=_positive, default=5.0, help="seconds between status lines (default 5)")


def _password(args: argparse.Namespace) -> str:
    name = getattr(args, "password_env", None)
    if not name:
        return str(args.password)
    if name not in os.environ:
        raise A2PError(f"--password-env: environment variable {name} is not set")
    return os.environ[name]


def settings_from(args: argparse.Namespace) -> SmscSettings:
    overrides: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "system_id": args.system_id,
        "password": _password(args),
        "message_id_format": args.message_id,
        "receipt_text_id_format": args.receipt_id,
    }
    optional = {
        "receipt_delay_median_s": args.receipt_median,
        "receipt_delay_sigma": args.receipt_sigma,
        "delivery_probability": args.delivery_probability,
        "throttle_tps": args.throttle_tps,
        "throttle_fraction": args.throttle_fraction,
        "reject_fraction": args.reject_fraction,
        "reject_prefixes": tuple(args.reject_prefix) if args.reject_prefix else None,
    }
    overrides.update({name: value for name, value in optional.items() if value is not None})
    try:
        return SmscSettings.preset(args.mode, **overrides)
    except ValueError as exc:
        raise A2PError(f"smsc-sim: {exc}") from None


def main(args: argparse.Namespace) -> int:
    """Run until Ctrl-C, printing a status line every ``--status-every`` seconds."""
    settings = settings_from(args)
    # Ctrl-C is how this command ends; the final status line is printed on the way out.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(settings, args.seed, args.status_every))
    return 0


async def _run(settings: SmscSettings, seed: int | None, every: float) -> None:
    import numpy as np  # noqa: PLC0415  # only when the simulator runs, not when the CLI parses

    simulator = SmscSimulator(settings, rng=np.random.default_rng(seed))
    try:
        await simulator.start()
    except OSError as exc:
        raise A2PError(
            f"smsc-sim: cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from None
    print(
        f"smsc-sim listening on {settings.host}:{simulator.port} (system_id {settings.system_id!r})",
        flush=True,
    )
    try:
        while True:
            await asyncio.sleep(every)
            print(_status(simulator), flush=True)
    finally:
        await simulator.stop()
        print(_status(simulator), flush=True)


def _status(simulator: SmscSimulator) -> str:
    return f"smsc-sim {simulator.counters.line()} queued={simulator.queued_receipts}"


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _non_negative(text: str) -> float:
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be > 0")
    return value


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} must be within [0, 1]")
    return value
