"""The ``a2p`` command line: the edge where arguments are validated and errors become one line."""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import A2PError

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except A2PError as exc:
        print(f"a2p: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("a2p: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="a2p",
        description="A2P SMS routing: routing that learns, shows its reasons and can be simulated.",
    )
    sub = parser.add_subparsers(title="commands")
    scenarios = sub.add_parser("scenarios", help="list the bundled simulation scenarios")
    scenarios.set_defaults(run=_scenarios)
    sim = sub.add_parser("simulate", help="compare routing policies on a simulated scenario")
    sim.add_argument("scenario", help="a bundled scenario name (see `a2p scenarios`) or a scenario file")
    sim.add_argument("--policies", help="comma-separated policy specs (default: every built-in policy)")
    sim.add_argument("--seeds", type=_positive_int, default=3, help="number of seeds (default 3)")
    sim.add_argument("--hours", type=_positive_float, help="override the scenario's duration")
    sim.add_argument("--out", type=Path, default=Path("out/simulation"), help="output folder")
    sim.add_argument("--reference", help="policy the others are compared with (default: the default policy)")
    sim.add_argument("--no-decisions", action="store_true", help="skip decisions.parquet")
    sim.add_argument("--no-report", action="store_true", help="skip report.html and its plots")
    sim.set_defaults(run=_simulate)
    _engine_parsers(sub)
    return parser


def _engine_options(p: argparse.ArgumentParser, data_dir: str) -> None:
    p.add_argument("--policy", help="routing policy spec (default: the default policy)")
    p.add_argument("--data-dir", type=Path, default=Path(data_dir), help="Redis data and decision log")
    p.add_argument("--redis-url", help="use this Redis instead of the embedded one")
    p.add_argument("--ray-address", help="join this Ray cluster instead of starting a local one")
    p.add_argument("--shards", type=_positive_int, default=1, help="router shards (by destination country)")
    p.add_argument("--dispatchers", type=_positive_int, default=1, help="dispatcher actors per lane")


def _api_options(p: argparse.ArgumentParser, port: int) -> None:
    p.add_argument("--api-host", default="127.0.0.1", help="API listen address (default: loopback only)")
    p.add_argument("--api-port", type=_positive_int, default=port, help="API port")
    p.add_argument("--api-workers", type=_positive_int, default=1, help="uvicorn worker processes")


def _engine_parsers(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the routing engine and its HTTP API")
    serve.add_argument("--config", type=Path, required=True, help="channels and route table (TOML)")
    serve.add_argument("--no-api", action="store_true", help="the engine only, no HTTP API")
    serve.add_argument(
        "--allow-private-callbacks", action="store_true",
        help="let status callbacks reach loopback and private addresses (refused by default)",
    )  # fmt: skip
    _engine_options(serve, "data")
    _api_options(serve, 8080)
    serve.set_defaults(run=_serve)
    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="verb", required=True)
    create = keys.add_parser("create", help="create an API key for a tenant (shown once)")
    create.add_argument("tenant", help="tenant name: lowercase letters, digits, '-' and '_'")
    create.add_argument("--data-dir", type=Path, default=Path("data"), help="the engine's data folder")
    create.add_argument("--redis-url", help="the engine's Redis (default: its embedded one in --data-dir)")
    create.add_argument("--namespace", default="a2p", help=argparse.SUPPRESS)
    create.set_defaults(run=_keys_create)
    from adapters.smpp import smsc_sim  # noqa: PLC0415

    sim = sub.add_parser("smsc-sim", help="run the bundled SMPP 3.4 SMSC simulator (loopback by default)")
    smsc_sim.add_arguments(sim)
    sim.set_defaults(run=smsc_sim.main)
    demo = sub.add_parser("demo", help="the live engine on simulated channels, with an outage midway")
    demo.add_argument("--config", type=Path, help="channels and route table (default: the bundled demo)")
    demo.add_argument("--duration", type=_positive_float, default=180.0, help="seconds of traffic")
    demo.add_argument("--rate", type=_positive_float, default=150.0, help="messages per second")
    _engine_options(demo, "out/demo-engine")
    _api_options(demo, 8787)
    demo.set_defaults(allow_private_callbacks=True)  # one machine: a webhook receiver on localhost
    demo.set_defaults(run=_demo)


def _engine_config(args: argparse.Namespace, table_path: Path, policy: str, receipt_timeout_s: float) -> Any:
    from engine.callbacks.settings import CallbackSettings  # noqa: PLC0415
    from engine.dispatch.dispatcher import DispatchSettings  # noqa: PLC0415
    from engine.errors import RouteTableError  # noqa: PLC0415
    from engine.routing.table import load_route_table  # noqa: PLC0415
    from engine.runtime.adapters import validate  # noqa: PLC0415
    from engine.runtime.engine import EngineConfig  # noqa: PLC0415

    table = load_route_table(table_path)
    for channel in table.channels:  # a channel the engine could not start is refused up front
        try:
            validate(channel)
        except RouteTableError as exc:
            raise RouteTableError(str(table_path), exc.field, exc.problem) from None
    return EngineConfig(
        table=table,
        policy=args.policy or policy,
        data_dir=args.data_dir,
        redis_url=args.redis_url,
        ray_address=args.ray_address,
        router_shards=args.shards,
        dispatchers_per_lane=args.dispatchers,
        dispatch=DispatchSettings(receipt_timeout_s=receipt_timeout_s),
        callbacks=CallbackSettings(allow_private=getattr(args, "allow_private_callbacks", False)),
    )


def _serve(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from engine.policies import DEFAULT_POLICY  # noqa: PLC0415
    from engine.runtime.api_process import running_api  # noqa: PLC0415
    from engine.runtime.engine import Engine  # noqa: PLC0415

    config = _engine_config(args, args.config, DEFAULT_POLICY, receipt_timeout_s=900.0)
    _check_policies([config.policy])

    async def run() -> None:
        engine = await Engine(config).start()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        with contextlib.ExitStack() as stack:
            where = ""
            if not args.no_api:
                settings = _api(args, engine, args.config)
                stack.enter_context(running_api(settings, args.data_dir / "api.log"))
                where = f"; API on http://{settings.host}:{settings.port} (docs at /docs)"
            print(f"a2p engine running (Redis {engine.redis_url}){where}; Ctrl-C stops it", flush=True)
            try:
                await engine.supervise(stop)
            finally:
                await engine.stop()

    asyncio.run(run())
    return 0


def _api(args: argparse.Namespace, engine: Any, table: Path | None) -> Any:
    from engine.runtime.api_process import api_settings  # noqa: PLC0415

    return api_settings(
        engine.redis_url, engine.config.namespace, args.data_dir, table,
        host=args.api_host, port=args.api_port, workers=args.api_workers,
    )  # fmt: skip


def _keys_create(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from engine.infra.server import EmbeddedRedis  # noqa: PLC0415
    from engine.runtime.api_process import create_key  # noqa: PLC0415

    with contextlib.ExitStack() as stack:
        url = args.redis_url
        if not url:  # the engine's embedded Redis: its socket if it runs, else start it for this
            server = EmbeddedRedis(args.data_dir / "redis")
            url = (
                server.url
                if server.socket.exists() and _answers(server.url)
                else stack.enter_context(server).url
            )
        try:
            created = asyncio.run(create_key(url, args.namespace, args.tenant))
        except ValueError as exc:
            raise KeySpecError(str(exc)) from None
    print(f"tenant:  {created.tenant}\nkey id:  {created.key_id}\napi key: {created.token}")
    print(f"webhook signing secret: {created.webhook_secret}")
    print("The key is shown only now; it is stored hashed. Send it as `Authorization: Bearer <key>`.")
    return 0


def _answers(url: str) -> bool:
    import redis  # noqa: PLC0415

    try:
        return bool(redis.Redis.from_url(url).ping())
    except (redis.RedisError, OSError):
        return False


class KeySpecError(A2PError):
    """A tenant name that is not allowed."""


DEMO_MARKER = ".a2p-demo"


class DemoFolderError(A2PError):
    """A demo data folder that holds someone else's data."""


def fresh_demo_folder(folder: Path) -> None:
    """Empty the demo's data folder, if an earlier demo made it, so every demo starts from nothing.

    Otherwise the router starts warm from the last run's snapshot (it remembers the last outage
    and may never try the best channel again), and the decision log mixes the runs. A non-empty
    folder without the demo's marker is refused rather than emptied: ``--data-dir`` may name
    anything.
    """
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / DEMO_MARKER).is_file():
            raise DemoFolderError(
                f"--data-dir {folder}: not empty and not made by an earlier demo (a demo before this "
                "check left no mark); delete it, or give a new or empty folder"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text("made by `a2p demo`, and emptied by the next one\n")


def _demo(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415
    import time  # noqa: PLC0415
    from dataclasses import replace  # noqa: PLC0415
    from importlib import resources  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from engine.infra.decision_log import load  # noqa: PLC0415
    from engine.runtime.demo import DEMO_POLICY, Demo, DemoPlan, summary  # noqa: PLC0415

    table = args.config or Path(str(resources.files("engine").joinpath("data", "demo.toml")))
    config = _engine_config(args, table, DEMO_POLICY, receipt_timeout_s=60.0)  # demo time is short
    _check_policies([config.policy])
    fresh_demo_folder(args.data_dir)
    # A namespace per run too: a Redis given by --redis-url keeps what earlier runs left there.
    config = replace(config, namespace=f"demo-{time.strftime('%Y%m%d-%H%M%S')}")
    console = Console()
    plan = DemoPlan.lasting(args.duration, args.rate)

    async def run() -> None:
        demo = Demo(config, plan, console, on_started=lambda e: _demo_api(args, e, table, console, api))
        engine = await demo.run()
        try:
            console.print(await summary(demo, engine))
        finally:
            await engine.stop()

    with contextlib.ExitStack() as api:
        asyncio.run(run())
    log_dir = args.data_dir / "decision-log"
    frame = load(log_dir)
    console.print(
        f"decision log: {log_dir} ({len(frame)} decisions; "
        f'load it with engine.infra.decision_log.load("{log_dir}") or pandas.read_parquet)'
    )
    return 0


async def _demo_api(
    args: argparse.Namespace, engine: Any, table: Path, console: Any, stack: contextlib.ExitStack
) -> None:
    """Start the API next to the demo's engine and show how to use it."""
    from engine.runtime.api_process import create_key, running_api  # noqa: PLC0415

    settings = _api(args, engine, table)
    stack.enter_context(running_api(settings, args.data_dir / "api.log"))
    key = (await create_key(engine.redis_url, engine.config.namespace, "demo")).token
    base = f"http://{settings.host}:{settings.port}"
    body = '{"to": "+2348031234567", "from": "ACME", "body": "Your code is 123456", "traffic_type": "otp"}'
    console.print(f"API on {base} (docs: {base}/docs). While the demo runs, try:")
    plain: dict[str, Any] = {"soft_wrap": True, "markup": False, "highlight": False}
    auth = f"-H 'Authorization: Bearer {key}'"
    console.print(
        f"  curl -s {auth} -H 'Content-Type: application/json' -d '{body}' {base}/v1/messages", **plain
    )
    console.print(f"  curl -s {auth} {base}/v1/messages/<id from the first answer>", **plain)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _scenarios(args: argparse.Namespace) -> int:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from simulations.scenario import bundled  # noqa: PLC0415

    table = Table(title="Bundled scenarios (a2p simulate NAME)")
    table.add_column("name", style="bold")
    table.add_column("description")
    for name, description in bundled().items():
        table.add_row(name, description)
    Console().print(table)
    return 0


def _check_policies(specs: list[str]) -> None:
    import numpy as np  # noqa: PLC0415

    from engine.policies import ArmSpace, create  # noqa: PLC0415

    for spec in specs:
        try:
            create(spec, ArmSpace(), np.random.default_rng(0))
        except ValueError as exc:
            raise PolicySpecError(str(exc)) from None


class PolicySpecError(A2PError):
    """A policy spec with a bad parameter."""


def _simulate(args: argparse.Namespace) -> int:
    from engine.policies import DEFAULT_POLICY, known_policies  # noqa: PLC0415
    from simulations import scenario as scenarios  # noqa: PLC0415
    from simulations.output import run_and_write  # noqa: PLC0415

    scenario = scenarios.load(args.scenario)
    if args.hours:
        scenario = scenario.with_hours(args.hours)
    specs = [s.strip() for s in args.policies.split(",") if s.strip()] if args.policies else known_policies()
    if not specs:
        raise PolicySpecError("--policies lists no policy")
    _check_policies(specs)
    reference = args.reference or (DEFAULT_POLICY if DEFAULT_POLICY in specs else specs[0])
    if reference not in specs:
        raise PolicySpecError(f"--reference {reference!r} is not among the simulated policies")
    run_and_write(
        scenario,
        specs,
        list(range(1, args.seeds + 1)),
        args.out,
        reference,
        decisions=not args.no_decisions,
        report=not args.no_report,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
