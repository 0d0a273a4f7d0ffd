"""The ``a2p`` command line: the edge where arguments are validated and errors become one line."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

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
    return parser


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
