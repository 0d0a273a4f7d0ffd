"""The report of a simulation: three plots and one self-contained HTML page next to them.

Plots are drawn on ``Figure`` objects with an explicit Agg canvas, never through pyplot, so writing
a report changes no global matplotlib state (no backend switch, no figure registry).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from simulations.compare import COLUMNS, PAIRED
from simulations.metrics import AWAY_FRACTION, BACK_FRACTION
from simulations.oracle import ORACLE
from simulations.scenario import EventKind, Scenario
from simulations.simulate import SimulationResult

SHARES_PNG = "route_shares.png"
REGRET_PNG = "cumulative_regret.png"
DELIVERY_PNG = "delivery.png"
REPORT_HTML = "report.html"

PREFERRED = ("thompson", "least_cost")  # shown next to the reference and the oracle if present
MAX_OTHERS = 2
DEAD = "black-holed channel"
OTHER = "other channels"
DEAD_COLOUR = "#d7191c"
OTHER_COLOUR = "#d4d4d4"
MUTED = ("#8fa8c8", "#a9c48f", "#cdb88a", "#a99cc4", "#8cc2bf", "#7d8ea3", "#c4a98f", "#9fb7a3")
BAR_COLOURS = ("#4c72b0", "#8fa8c8")
BARS = (
    ("delivery_pct_of_oracle", "delivery % of oracle"),
    ("utility_pct_of_oracle", "utility % of oracle"),
)
DPI = 110


# -- plots -----------------------------------------------------------------------------------------


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)  # attaches itself to the figure: PNG output without pyplot
    fig.savefig(path, dpi=DPI)


def outage_minutes(scenario: Scenario) -> float | None:
    """Minutes from the first black hole's start to its end (None: no black hole, or endless)."""
    for event in scenario.events:
        if event.kind is EventKind.BLACKHOLE:
            return event.duration_min
    return None


def shown_policies(present: Sequence[str], policies: Sequence[str], reference: str) -> list[str]:
    """The reference, the oracle and up to two others, preferring ``PREFERRED``."""
    head = list(dict.fromkeys(p for p in (reference, ORACLE) if p in present))
    others = [p for p in (*PREFERRED, *policies) if p in present and p not in head]
    return head + list(dict.fromkeys(others))[:MAX_OTHERS]


def mean_shares(frame: pd.DataFrame, seeds: int) -> pd.DataFrame:
    """Minute x channel share averaged over seeds (missing = 0); the dead channel renamed DEAD.

    The dead channel is renamed because each seed's world black-holes its own busiest channel.
    """
    channel = frame["channel"].astype(object).where(~frame["dead"].astype(bool), DEAD)
    summed = frame.assign(channel=channel).groupby(["minute", "channel"])["share"].sum()
    return summed.unstack().fillna(0.0).sort_index() / max(seeds, 1)


def _with_other(panel: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    rest = [c for c in panel.columns if c not in keep]
    out = panel.reindex(columns=keep, fill_value=0.0)
    out[OTHER] = panel[rest].sum(axis=1) if rest else 0.0
    return out


def _panels(shares: pd.DataFrame, shown: list[str], seeds: int) -> dict[str, pd.DataFrame]:
    """Per shown policy: the dead channel, the busiest others in a shared order, the rest summed."""
    raw = {p: mean_shares(shares[shares["policy"] == p], seeds) for p in shown}
    totals = pd.concat([panel.sum() for panel in raw.values()]).groupby(level=0).sum()
    others = totals.drop(DEAD, errors="ignore").sort_values(ascending=False)
    keep = [DEAD, *[str(c) for c in others.index[: len(MUTED)]]]
    panels = {p: _with_other(panel, keep) for p, panel in raw.items()}
    used = [c for c in [*keep, OTHER] if any(panel[c].any() for panel in panels.values())]
    return {p: panel[used] for p, panel in panels.items()}


def _colours(columns: Sequence[str]) -> list[str]:
    muted = iter(MUTED)
    return [DEAD_COLOUR if c == DEAD else OTHER_COLOUR if c == OTHER else next(muted) for c in columns]


def _draw_shares(ax: Any, panel: pd.DataFrame, dead_label: str, end: float | None) -> None:
    columns = [str(c) for c in panel.columns]
    labels = [dead_label if c == DEAD else c for c in columns]
    ax.stackplot(panel.index, panel.to_numpy().T, labels=labels, colors=_colours(columns))
    ax.axvline(0.0, color="black", linestyle="--", linewidth=1.2, label="outage starts")
    if end is not None and end <= panel.index.max():
        ax.axvline(end, color="black", linestyle=":", linewidth=1.2, label="outage ends")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(panel.index.min(), panel.index.max())
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("traffic share")


def plot_shares(path: Path, result: SimulationResult, reference: str) -> bool:
    """Stacked route shares around the first outage; False (and no file) if there is no outage."""
    path.unlink(missing_ok=True)
    frames = [f for f in result.shares if len(f)]
    if not frames:
        return False
    shares = pd.concat(frames, ignore_index=True)
    seeds = max(len(result.seeds), int(shares["seed"].nunique()))
    present = [str(p) for p in shares["policy"].unique()]
    panels = _panels(shares, shown_policies(present, result.policies, reference), seeds)
    dead = sorted({str(c) for c in shares.loc[shares["dead"].astype(bool), "channel"]})
    fig = Figure(figsize=(10.0, 0.9 + 2.3 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (policy, panel) in zip(axes, panels.items(), strict=True):
        _draw_shares(ax, panel, f"{DEAD} ({', '.join(dead)})", outage_minutes(result.scenario))
        ax.set_title(policy + (" (reference)" if policy == reference else ""), loc="left")
    axes[-1].set_xlabel("minutes since the black hole started")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    fig.suptitle(f"Route shares of the affected contexts, mean over {seeds} seed(s)")
    _save(fig, path)
    return True


def _shade_outages(ax: Any, scenario: Scenario) -> None:
    label = "black hole"
    for event in scenario.events:
        if event.kind is EventKind.BLACKHOLE and event.start_h < scenario.hours:
            end_h = min(event.end_s / 3600.0, scenario.hours)
            ax.axvspan(event.start_h, end_h, color=DEAD_COLOUR, alpha=0.12, label=label)
            label = "_nolegend_"


def plot_regret(path: Path, result: SimulationResult) -> None:
    """Cumulative regret in USD against simulated hours, mean over seeds, oracle left out."""
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax = fig.subplots()
    frames = [f for f in result.regret if len(f)]
    regret = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    mean = regret.groupby(["policy", "minute"])["regret"].mean() if len(regret) else pd.Series()
    for policy in result.policies:
        if policy != ORACLE and policy in mean.index.get_level_values(0):
            line = mean.loc[policy]
            ax.plot(line.index.to_numpy() / 60.0, line.to_numpy(), label=policy, linewidth=1.8)
    _shade_outages(ax, result.scenario)
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("cumulative regret (USD)")
    ax.set_title("Cumulative regret against the oracle (mean over seeds)", loc="left")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left")
    _save(fig, path)


def _spread(summary: pd.DataFrame, key: str, policies: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per policy: the mean over seeds and the seed-to-seed standard deviation (0 for one seed)."""
    values = pd.to_numeric(summary[key], errors="coerce").groupby(summary["policy"])
    mean = values.mean().reindex(policies).to_numpy(dtype=float)
    std = values.std(ddof=1).reindex(policies).fillna(0.0).to_numpy(dtype=float)
    return mean, std


def _delivery_xlim(low: float, high: float) -> tuple[float, float]:
    """Zoom on the interesting range: bars that all sit near 100 % would look identical from 0."""
    left = 5.0 * math.floor((low - 3.0) / 5.0) if math.isfinite(low) else 0.0
    right = max(100.0, high if math.isfinite(high) else 100.0) + 4.0
    return (max(left, 0.0) if low >= 0.0 else left), right


def plot_delivery(path: Path, summary: pd.DataFrame, policies: Sequence[str]) -> None:
    """Delivery and utility as % of the oracle per policy; error bars: the per-seed spread."""
    shown = [p for p in policies if p != ORACLE and p in set(summary.get("policy", []))]
    fig = Figure(figsize=(10.0, 1.6 + 0.75 * max(len(shown), 1)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(shown), dtype=float)
    lows, highs = [], []
    for (key, label), offset, colour in zip(BARS, (-0.2, 0.2), BAR_COLOURS, strict=True):
        mean, std = _spread(summary, key, shown) if shown else (np.zeros(0), np.zeros(0))
        bars = ax.barh(y + offset, mean, height=0.38, xerr=std, capsize=3, color=colour, label=label)
        ax.bar_label(bars, fmt="%.1f", padding=4, fontsize="small")
        lows.append(np.nanmin(mean - std, initial=100.0))
        highs.append(np.nanmax(mean + std, initial=100.0))
    ax.axvline(100.0, color="black", linestyle=":", linewidth=1.2, label="oracle = 100 %")
    ax.set_yticks(y, shown)
    ax.invert_yaxis()
    ax.set_xlim(*_delivery_xlim(float(min(lows)), float(max(highs))))
    ax.set_xlabel("% of the oracle on the same traffic (whiskers: ±1 s.d. across seeds)")
    ax.set_title("Delivery and utility relative to the oracle", loc="left")
    fig.legend(loc="outside right upper", fontsize="small")
    _save(fig, path)


# -- HTML ------------------------------------------------------------------------------------------

FORMATS = {
    "seeds": ".0f",
    "delivery_pct_of_oracle": ".2f",
    "utility_pct_of_oracle": ".2f",
    "regret_per_1000": ".2f",
    "cost_per_delivered": ".4f",
    "otp_within_sla_pct": ".1f",
    "shift_away_median_s": ".0f",
    "shift_away_p90_s": ".0f",
    "shift_back_median_s": ".0f",
    "us_per_decision": ".1f",
}
MISSING = "—"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1280px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.25rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; white-space: pre-line; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { padding: .35rem .5rem; border-bottom: 1px solid #ddd; }
th { background: #f3f4f6; text-align: center; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.reference td { background: #fff8e1; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
.howto { background: #f7f9fc; border-left: 4px solid #8fa8c8; padding: .6rem 1rem; }
.note { color: #666; font-style: italic; }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _number(value: object) -> float | None:
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt(value: object, spec: str = ".3g") -> str:
    """A table number; None, NaN and inf are shown as a dash."""
    number = _number(value)
    return MISSING if number is None else format(number, spec)


def fmt_diff(diff: object, ci: object) -> str:
    """A paired difference with its 95 % CI half-width, e.g. ``+1.23 ± 0.45``."""
    d, c = _number(diff), _number(ci)
    if d is None:
        return MISSING
    return f"{d:+.2f}" if c is None else f"{d:+.2f} ± {c:.2f}"


def _header(reference: str) -> str:
    means = "".join(f"<th>{_e(label)}</th>" for label in COLUMNS.values())
    diffs = "".join(f"<th>{_e(COLUMNS[key])}</th>" for key in PAIRED)
    return (
        f'<tr><th rowspan="2">policy</th><th rowspan="2">seeds</th>'
        f'<th colspan="{len(COLUMNS)}">mean over seeds</th>'
        f'<th colspan="{len(PAIRED)}">{_e(f"Δ vs {reference}")} (paired, 95 % CI)</th></tr>'
        f"<tr>{means}{diffs}</tr>"
    )


def _row(row: dict[Any, Any], reference: str) -> str:
    policy = str(row.get("policy", ""))
    cells = [fmt(row.get("seeds"), FORMATS["seeds"])]
    cells += [fmt(row.get(key), FORMATS.get(key, ".3g")) for key in COLUMNS]
    cells += [fmt_diff(row.get(f"{key}_diff"), row.get(f"{key}_ci")) for key in PAIRED]
    tds = "".join(f'<td class="num">{_e(cell)}</td>' for cell in cells)
    css = ' class="reference"' if policy == reference else ""
    return f"<tr{css}><td>{_e(policy)}</td>{tds}</tr>"


def table_html(table: pd.DataFrame, reference: str) -> str:
    """The comparison table with readable labels; paired differences as ``Δ ± CI``."""
    body = "".join(_row(row, reference) for row in table.to_dict("records"))
    head = f"<thead>{_header(reference)}</thead>"
    return f'<div class="scroll"><table>{head}<tbody>{body}</tbody></table></div>'


def _meta(result: SimulationResult, reference: str) -> str:
    sc = result.scenario
    items = {
        "scenario": sc.name,
        "description": sc.description or MISSING,
        "simulated hours": f"{sc.hours:g}",
        "seeds": ", ".join(str(s) for s in result.seeds),
        "policies": ", ".join([ORACLE, *result.policies]),
        "reference": reference,
        "events": ", ".join(e.kind.value for e in sc.events) or "none",
    }
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items.items())
    return f'<dl class="meta">{rows}</dl>'


ORACLE_TEXT = (
    "The oracle knows the true delivery probability and delay of every route at every moment and "
    "routes the same messages with the same capacity limits, so it is the best any policy could do."
)
HOW_TABLE = (
    "Columns on the left are means over seeds. Every policy saw the same traffic and truth in a "
    "seed, so the Δ columns are differences to {reference} taken seed by seed: mean ± half-width "
    "of the 95 % confidence interval (no ± with a single seed). A dash means not defined: no "
    "outage to shift away from, or a policy that never moved off the dead route."
)
HOW_SHARES = (
    ORACLE_TEXT + " Each panel shows, minute by minute, which channels carried the traffic of the "
    "contexts served by the black-holed channel (in red: it accepts every message, delivers none "
    "and sends no receipts), averaged over seeds. Dashed line: the outage starts; dotted line: it "
    "ends. The oracle leaves the red channel at once; a learning policy only notices from missing "
    "receipts. The shift-away time in the table is how long after the outage started a policy's "
    "share on the dead route fell below {away:.0%} of its share before (median and 90th percentile "
    "over the affected contexts); the back time is how long after the outage it regained "
    "{back:.0%} of that share."
)
HOW_REGRET = (
    "Regret is the utility the oracle earned minus what the policy earned on the same messages, "
    "in USD, where a message's utility is its lane's value if delivered within the SLA, minus its "
    "price. It is summed over simulated time and averaged over seeds; the oracle is not drawn "
    "because its regret is 0 by definition. A flat line is routing as good as the oracle, the "
    "slope is the rate of loss, and a steep stretch is a change the policy had not noticed yet "
    "(shaded: black holes)."
)
HOW_DELIVERY = (
    "Delivered messages and utility as a percentage of the oracle's on the same traffic; 100 % is "
    "as good as the oracle. Delivery can exceed 100 % when a policy buys reliability that is not "
    "worth its price, which utility then shows. Bars are means over seeds, whiskers ±1 standard "
    "deviation across seeds (none with one seed); the paired Δ columns of the table are more "
    "precise than overlapping whiskers suggest."
)


def _figure(src: str, alt: str, how: str) -> str:
    return f'<img src="{_e(src)}" alt="{_e(alt)}"><p class="howto">{_e(how)}</p>'


def page(result: SimulationResult, table: pd.DataFrame, reference: str, shares: bool) -> str:
    """The whole report as one HTML document (inline CSS, images by relative path)."""
    how_shares = HOW_SHARES.format(away=AWAY_FRACTION, back=BACK_FRACTION)
    no_shares = "No black-hole outage in this run, so there is no route-share plot."
    sections = [
        f"<h1>Simulation report: {_e(result.scenario.name)}</h1>",
        _meta(result, reference),
        "<h2>Comparison</h2>",
        table_html(table, reference),
        f'<p class="howto">{_e(HOW_TABLE.format(reference=reference))}</p>',
        "<h2>Route shares around the outage</h2>",
        _figure(SHARES_PNG, "route shares", how_shares) if shares else f'<p class="note">{_e(no_shares)}</p>',
        "<h2>Cumulative regret</h2>",
        _figure(REGRET_PNG, "cumulative regret", HOW_REGRET),
        "<h2>Delivery and utility</h2>",
        _figure(DELIVERY_PNG, "delivery and utility", HOW_DELIVERY),
    ]
    title = _e(f"Simulation report: {result.scenario.name}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{CSS}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )


def write_report(out_dir: Path, result: SimulationResult, table: pd.DataFrame, reference: str) -> Path:
    """Write the plots and ``report.html`` into ``out_dir``; returns the HTML file's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shares = plot_shares(out_dir / SHARES_PNG, result, reference)
    plot_regret(out_dir / REGRET_PNG, result)
    plot_delivery(out_dir / DELIVERY_PNG, result.summary_frame(), result.policies)
    path = out_dir / REPORT_HTML
    path.write_text(page(result, table, reference, shares), encoding="utf-8")
    return path
