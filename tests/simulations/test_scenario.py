from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.enums import Lane
from engine.errors import ScenarioError, UnknownScenarioError
from simulations.scenario import EventKind, bundled, load

MINIMAL = 'version = 1\nname = "tiny"\nhours = 1\n'


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return str(path)


def test_bundled_scenarios_load() -> None:
    names = bundled()
    assert {"stationary", "outage-drift", "otp-burst", "dlr-pathologies"} <= set(names)
    for name in names:
        assert load(name).name == name


def test_standard_scenario_has_the_promised_events() -> None:
    kinds = {e.kind for e in load("outage-drift").events}
    assert {EventKind.BLACKHOLE, EventKind.DRIFT, EventKind.PRICE, EventKind.ROUTE_ADDED} <= kinds
    assert {EventKind.ROUTE_REMOVED, EventKind.HOUR_DEGRADATION} <= kinds


def test_a_file_with_defaults(tmp_path: Path) -> None:
    scenario = load(_write(tmp_path, MINIMAL))
    assert scenario.hours == 1.0
    assert scenario.world.contexts == 100
    assert sum(scenario.traffic.lanes) == pytest.approx(1.0)


def test_bursts_are_parsed(tmp_path: Path) -> None:
    text = MINIMAL + '[[traffic.bursts]]\nlane = "otp"\nstart_h = 0.5\nduration_min = 10\nmultiplier = 5\n'
    assert load(_write(tmp_path, text)).traffic.bursts[0].lane is Lane.OTP


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ("[world]\ncontexts = -3\n", "world.contexts", "must be >= 1"),
        ('[world]\ncontexts = "many"\n', "world.contexts", "expected float, got a string"),
        ("[world]\ndelivery = [0.9, 1.2]\n", "world.delivery", "probabilities must be <= 1"),
        ("[world]\nchannels = 3\nroutes_per_context = [2, 5]\n", "world.routes_per_context", "cannot exceed"),
        ("[world]\nflavour = 1\n", "world.flavour", "unknown field"),
        ('[[events]]\nkind = "meteor"\n', "events[0].kind", "unknown event kind 'meteor'"),
        ('[[events]]\nkind = "blackhole"\nchannel = "best"\n', "events[0].channel", "invalid selector"),
        ('[[events]]\nkind = "hour_degradation"\n', "events[0].hours", "is required"),
        ('[[traffic.bursts]]\nlane = "spam"\nstart_h = 1\nduration_min = 1\nmultiplier = 2\n',
         "traffic.bursts[0].lane", "unknown traffic type 'spam'"),
        ("[traffic]\nlanes = { otp = 0, transactional = 0, marketing = 0 }\n", "traffic.lanes",
         "must not all be zero"),
    ],
)  # fmt: skip
def test_bad_scenarios_name_file_field_and_problem(
    tmp_path: Path, extra: str, field: str, problem: str
) -> None:
    path = _write(tmp_path, MINIMAL + extra)
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert (err.value.source, err.value.field) == (path, field)
    assert problem in err.value.problem


def test_missing_required_and_wrong_version(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="hours: is required"):
        load(_write(tmp_path, 'version = 1\nname = "x"\n'))
    with pytest.raises(ScenarioError, match="unsupported scenario format 7"):
        load(_write(tmp_path, MINIMAL.replace("version = 1", "version = 7")))


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load(_write(tmp_path, "hours = = 3"))


def test_unknown_name_lists_the_bundled_ones() -> None:
    with pytest.raises(UnknownScenarioError, match="outage-drift"):
        load("no-such-scenario")
