from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.cli import main

SMALL = """
version = 1
name = "small"
description = "a small world for tests"
hours = 2.2
tick_s = 5

[world]
contexts = 8
channels = 6
routes_per_context = [2, 3]

[traffic]
rate_per_s = 4.0

[[events]]
kind = "blackhole"
channel = "top1"
start_h = 1.0
duration_min = 40
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def test_scenarios_lists_the_bundled_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("stationary", "outage-drift", "otp-burst", "dlr-pathologies"):
        assert name in out


def test_simulate_writes_summary_decisions_and_report(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "simulate",
            str(scenario_file),
            "--policies",
            "pending_ts,least_cost",
            "--seeds",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {(r["policy"], r["seed"]) for r in summary} == {
        (p, s) for p in ("oracle", "pending_ts", "least_cost") for s in (1, 2)
    }
    assert all(isinstance(r["delivery_pct_of_oracle"], float) for r in summary)
    decisions = pd.read_parquet(out / "decisions.parquet")
    assert len(decisions) == sum(r["messages"] for r in summary)
    assert (out / "report.html").read_text().count("<img") >= 2


def test_unknown_policy_is_one_clear_line(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(scenario_file), "--policies", "pending_ts,magic"]) == 2
    err = capsys.readouterr().err
    assert "unknown policy 'magic'" in err
    assert "least_cost" in err
    assert "Traceback" not in err


def test_bad_policy_parameter(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(scenario_file), "--policies", "pending_ts:half_life_s=-1"]) == 2
    assert "half_life_s" in capsys.readouterr().err


def test_malformed_scenario_names_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace("contexts = 8", "contexts = -8"))
    assert main(["simulate", str(path), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: world.contexts: must be >= 1" in err
    assert "Traceback" not in err


def test_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "atlantis"]) == 2
    assert "outage-drift" in capsys.readouterr().err


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "stationary", "--seeds", "0"])
    assert exit_.value.code == 2


def test_console_script_is_installed(scenario_file: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "a2p"
    done = subprocess.run(
        [str(script), "simulate", str(scenario_file), "--policies", "least_cost", "--seeds", "1",
         "--hours", "0.5", "--out", str(tmp_path / "o"), "--no-report", "--no-decisions"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "least_cost" in done.stdout
    assert (tmp_path / "o" / "summary.json").exists()


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ('[[channels]]\nid = "a"\nkind = "pigeon"\n', "channels[0].kind: unknown channel kind 'pigeon'"),
        ('[[channels]]\nid = "a"\ntps = -1\n', "channels[0].tps: must be > 0"),
        ('[[channels]]\nid = "a"\n[[routes]]\ncountry = "NG"\ncandidates = [{ channel = "b", price = 1 }]\n',
         "routes[0].candidates[0].channel: unknown channel 'b'"),
        ('[[channels]]\nid = "a"\npreset = "teleport"\n', "routes.toml: channels.a: unknown channel preset"),
    ],
)  # fmt: skip
def test_serve_refuses_a_bad_config_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, where: str
) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(table)
    assert main(["serve", "--config", str(path), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert where in err
    assert "Traceback" not in err
    assert not (tmp_path / "data").exists()  # nothing was started
