"""``a2p simulate``: progress bar, comparison table, and the files analysts open afterwards."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from simulations.compare import COLUMNS, PAIRED, comparison
from simulations.decisions import DecisionLog
from simulations.scenario import Scenario
from simulations.simulate import SimulationResult, simulate, ticks


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return value


def write_summary(path: Path, records: list[dict[str, Any]]) -> None:
    cleaned = [{k: _json_safe(v) for k, v in r.items()} for r in records]
    path.write_text(json.dumps(cleaned, indent=2) + "\n")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


_GROUPS = {
    "quality": ("delivery_pct_of_oracle", "utility_pct_of_oracle", "regret_per_1000", "cost_per_delivered",
                "otp_within_sla_pct"),
    "outages and speed": ("shift_away_median_s", "shift_away_p90_s", "shift_back_median_s",
                          "us_per_decision"),
}  # fmt: skip


_DIGITS = {"cost_per_delivered": 4, "shift_away_median_s": 0, "shift_away_p90_s": 0, "shift_back_median_s": 0}


def render_tables(table: pd.DataFrame, reference: str, title: str) -> list[Table]:
    """Three narrow tables (they must fit an 80-column terminal): quality, outages, paired deltas."""
    rows = table.to_dict("records")
    out = []
    for group, keys in _GROUPS.items():
        t = Table(title=f"{title}: {group}")
        t.add_column("policy", style="bold", no_wrap=True, min_width=17)
        for key in keys:
            t.add_column(COLUMNS[key], justify="right")
        for row in rows:
            t.add_row(str(row["policy"]), *(_fmt(row[k], _DIGITS.get(k, 2)) for k in keys))
        out.append(t)
    paired = Table(title=f"paired difference vs {reference}, mean ± 95 % CI over seeds")
    paired.add_column("policy", style="bold", no_wrap=True, min_width=17)
    for key in PAIRED:
        paired.add_column(f"Δ {COLUMNS[key]}", justify="right")
    for row in rows:
        if row["policy"] != reference:
            cells = [_delta(row[f"{k}_diff"], row[f"{k}_ci"]) for k in PAIRED]
            paired.add_row(str(row["policy"]), *cells)
    out.append(paired)
    return out


def _delta(diff: float, ci: float) -> str:
    if not math.isfinite(diff):
        return "—"
    return f"{diff:+.2f}" + (f" ± {ci:.2f}" if math.isfinite(ci) else "")


def run_and_write(
    scenario: Scenario,
    policies: Sequence[str],
    seeds: Sequence[int],
    out: Path,
    reference: str,
    *,
    decisions: bool = True,
    report: bool = True,
    console: Console | None = None,
) -> SimulationResult:
    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    total = ticks(scenario) * len(seeds) * (len(policies) + 1)
    console.print(
        f"[bold]{scenario.name}[/bold]: {scenario.hours:g} h, {len(seeds)} seed(s), "
        f"policies {', '.join(policies)} (+ oracle) -> {out}"
    )
    columns = (
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("simulate", total=total)
        step = max(1, total // 500)

        def on_tick(tick: int) -> None:
            if tick % step == 0:
                progress.advance(task, step)

        if decisions:
            with DecisionLog(out / "decisions.parquet") as log:
                result = simulate(scenario, policies, seeds, decisions=log, on_tick=on_tick)
        else:
            result = simulate(scenario, policies, seeds, on_tick=on_tick)
        progress.update(task, completed=total)
    table = comparison(result.summary_frame(), reference)
    for rendered in render_tables(table, reference, f"{scenario.name}, mean of {len(seeds)} seed(s)"):
        console.print(rendered)
    write_summary(out / "summary.json", result.summary)
    written = ["summary.json"] + (["decisions.parquet"] if decisions else [])
    if report:
        from simulations.report import write_report  # noqa: PLC0415  (matplotlib is slow to import)

        write_report(out, result, table, reference)
        written.append("report.html")
    console.print(f"wrote {', '.join(str(out / name) for name in written)}")
    return result
