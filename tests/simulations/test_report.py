from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from simulations.compare import comparison
from simulations.report import fmt, fmt_diff, shown_policies, write_report
from simulations.scenario import Scenario, load
from simulations.simulate import SimulationResult, simulate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = ("route_shares.png", "cumulative_regret.png", "delivery.png")
POLICIES = ["pending_ts", "least_cost"]


def tiny(name: str, hours: float) -> Scenario:
    sc = load(name).with_hours(hours)
    world = dataclasses.replace(sc.world, contexts=10, channels=8, routes_per_context=(2, 4))
    return dataclasses.replace(sc, world=world, traffic=dataclasses.replace(sc.traffic, rate_per_s=5.0))


def report(tmp_path: Path, scenario: Scenario) -> tuple[Path, SimulationResult]:
    result = simulate(scenario, POLICIES, [1])
    table = comparison(result.summary_frame(), "pending_ts")
    return write_report(tmp_path / "out", result, table, "pending_ts"), result


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 5000
    assert matplotlib.image.imread(path).shape[0] > 100


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationResult]:
    return report(tmp_path_factory.mktemp("outage"), tiny("outage-drift", 2.5))


def test_outage_report_writes_valid_pngs(outage: tuple[Path, SimulationResult]) -> None:
    path, _ = outage
    assert path.name == "report.html"
    for name in PLOTS:
        assert_png(path.parent / name)


def test_outage_report_html_names_scenario_policies_and_images(
    outage: tuple[Path, SimulationResult],
) -> None:
    path, result = outage
    text = path.read_text(encoding="utf-8")
    assert result.scenario.name in text
    assert all(policy in text for policy in ["oracle", *POLICIES])
    assert all(f'<img src="{name}"' in text for name in PLOTS)
    assert "Δ vs pending_ts" in text
    assert "<script" not in text
    assert "http" not in text


def test_report_without_outage_skips_route_shares(tmp_path: Path) -> None:
    path, _ = report(tmp_path, tiny("stationary", 0.5))
    text = path.read_text(encoding="utf-8")
    assert '<img src="route_shares.png"' not in text
    assert "No black-hole outage" in text
    assert not (path.parent / "route_shares.png").exists()
    for name in PLOTS[1:]:
        assert_png(path.parent / name)


def test_text_is_escaped(tmp_path: Path, outage: tuple[Path, SimulationResult]) -> None:
    _, result = outage
    hostile = dataclasses.replace(result.scenario, name="<b>&x</b>")
    table = pd.DataFrame([{"policy": "<i>", "seeds": 1}])
    text = write_report(tmp_path, dataclasses.replace(result, scenario=hostile), table, "<i>")
    html = text.read_text(encoding="utf-8")
    assert "<b>&x</b>" not in html
    assert "&lt;b&gt;&amp;x&lt;/b&gt;" in html


def test_numbers_are_formatted_with_dashes_for_missing() -> None:
    assert fmt(None) == fmt(float("nan")) == fmt(float("inf")) == "—"
    assert fmt(98.3471, ".2f") == "98.35"
    assert fmt_diff(1.234, 0.456) == "+1.23 ± 0.46"
    assert fmt_diff(-10.6, float("nan")) == "-10.60"
    assert fmt_diff(None, 0.1) == "—"


def test_shown_policies_prefers_thompson_and_least_cost() -> None:
    present = ["oracle", "a", "least_cost", "b", "thompson", "ref"]
    assert shown_policies(present, ["ref", "a", "b", "least_cost", "thompson"], "ref") == [
        "ref",
        "oracle",
        "thompson",
        "least_cost",
    ]
    assert shown_policies(["oracle", "ref", "a"], ["ref", "a"], "ref") == ["ref", "oracle", "a"]
