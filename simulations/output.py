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


def render_table(table: pd.DataFrame, reference: str, title: str) -> Table:
    out = Table(title=title)
    out.add_column("policy", style="bold")
    for label in COLUMNS.values():
        out.add_column(label, justify="right")
    for key in PAIRED:
        out.add_column(f"Δ {COLUMNS[key]} vs {reference}", justify="right")
    for row in table.to_dict("records"):
        cells = [_fmt(row[key], 1 if key.endswith("_s") else 2) for key in COLUMNS]
        paired = [
            "—"
            if not math.isfinite(row[f"{k}_diff"])
            else f"{row[f'{k}_diff']:+.2f} ± {_fmt(row[f'{k}_ci'])}"
            for k in PAIRED
        ]
        out.add_row(str(row["policy"]), *cells, *paired)
    return out


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
    console.print(render_table(table, reference, f"{scenario.name}: mean over {len(seeds)} seed(s), 95 % CI"))
    write_summary(out / "summary.json", result.summary)
    written = ["summary.json"] + (["decisions.parquet"] if decisions else [])
    if report:
        from simulations.report import write_report  # noqa: PLC0415  (matplotlib is slow to import)

        write_report(out, result, table, reference)
        written.append("report.html")
    console.print(f"wrote {', '.join(str(out / name) for name in written)}")
    return result
