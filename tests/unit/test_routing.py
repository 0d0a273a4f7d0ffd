from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from engine.domain import Destination, ManualClock, RouteOption
from engine.errors import RouteTableError
from engine.policies import ArmSpace, DecisionBatch, RequestBatch, create
from engine.policies.static import LeastCost
from engine.routing import Router, RouteTable, load_route_table, parse_route_table
from engine.routing.service import RouterService

TABLE = """
[[channels]]
id = "ng-direct"
tps = 200

[[channels]]
id = "global"
kind = "http"

[[routes]]
country = "NG"
operator = "621-20"
candidates = [{ channel = "ng-direct", price = 0.02, tps = 50 }, { channel = "global", price = 0.03 }]

[[routes]]
country = "NG"
candidates = [{ channel = "global", price = 0.031 }]

[[routes]]
country = "*"
candidates = [{ channel = "global", price = 0.05 }]
"""


def _table(tmp_path: Path, text: str = TABLE) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(text)
    return path


def _candidates(table: RouteTable, destination: Destination) -> tuple[RouteOption, ...]:
    entry = table.match(destination)
    assert entry is not None
    return entry.candidates


def test_most_specific_entry_wins(tmp_path: Path) -> None:
    table = load_route_table(_table(tmp_path))
    assert [o.channel for o in _candidates(table, Destination("NG", "621-20"))] == ["ng-direct", "global"]
    assert _candidates(table, Destination("NG", "621-30"))[0].price == 0.031
    assert _candidates(table, Destination("KE", None))[0].price == 0.05


def test_no_match_without_a_default_entry() -> None:
    without_default = TABLE.split('[[routes]]\ncountry = "*"', maxsplit=1)[0]
    table = parse_route_table(tomllib.loads(without_default), "t.toml")
    assert table.match(Destination("KE", None)) is None


def test_candidate_tps_defaults_to_the_channel_tps(tmp_path: Path) -> None:
    table = load_route_table(_table(tmp_path))
    assert _candidates(table, Destination("NG", "621-20"))[1].tps == 100.0


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ('[[channels]]\nid = "a"\nkind = "carrier-pigeon"\n', "channels[0].kind", "unknown channel kind"),
        ('[[channels]]\nid = "a"\ntps = -5\n', "channels[0].tps", "must be > 0"),
        (
            '[[channels]]\nid = "a"\n[[routes]]\ncountry = "NG"\n'
            'candidates = [{ channel = "b", price = 1 }]\n',
            "routes[0].candidates[0].channel",
            "unknown channel 'b'",
        ),
        ('[[channels]]\nid = "a"\ncolour = "red"\n', "channels[0].colour", "unknown field"),
        ('[[routes]]\ncountry = "NG"\ncandidates = []\n', "routes[0].candidates", "at least one"),
        ("channels = 3\n", "channels", "expected an array of tables"),
    ],
)
def test_bad_tables_name_file_field_and_problem(tmp_path: Path, text: str, field: str, problem: str) -> None:
    path = _table(tmp_path, text)
    with pytest.raises(RouteTableError) as err:
        load_route_table(path)
    assert err.value.source == str(path)
    assert err.value.field == field
    assert problem in err.value.problem


def test_unreadable_table(tmp_path: Path) -> None:
    with pytest.raises(RouteTableError, match="not valid TOML"):
        load_route_table(_table(tmp_path, "[[channels]\n"))
    with pytest.raises(RouteTableError, match="file not found"):
        load_route_table(tmp_path / "missing.toml")


def _router(tmp_path: Path) -> tuple[Router, ManualClock]:
    clock = ManualClock(1000.0)
    policy = create("least_cost", ArmSpace(), np.random.default_rng(0))
    return Router(load_route_table(_table(tmp_path)), policy, clock), clock


def test_router_routes_a_destination_through_its_candidates(tmp_path: Path) -> None:
    router, _ = _router(tmp_path)
    ctx = router.context_of(Destination("NG", "621-20"))
    decision = router.route(np.array([ctx]), np.array([0]))
    assert router.space.routes[router.space.arm_route[decision.arm[0]]] == "ng-direct"


def test_replacing_the_table_disables_removed_routes_and_reprices(tmp_path: Path) -> None:
    router, _ = _router(tmp_path)
    ctx = router.context_of(Destination("NG", "621-20"))
    new = TABLE.replace('{ channel = "ng-direct", price = 0.02, tps = 50 }, ', "").replace("0.03 }", "0.01 }")
    router.replace_table(parse_route_table(tomllib.loads(new), "new.toml"))
    decision = router.route(np.array([ctx]), np.array([0]))
    assert router.space.routes[router.space.arm_route[decision.arm[0]]] == "global"
    assert router.space.price[decision.arm[0]] == 0.01


class _Recording(LeastCost):
    name = "recording"

    def __init__(self, space: ArmSpace, rng: np.random.Generator) -> None:
        super().__init__(space, rng)
        self.times: list[float] = []

    def decide(self, requests: RequestBatch) -> DecisionBatch:
        self.times.append(requests.now)
        return super().decide(requests)


def test_router_takes_time_from_its_clock(tmp_path: Path) -> None:
    clock = ManualClock(1000.0)
    policy = _Recording(ArmSpace(), np.random.default_rng(0))
    router = Router(load_route_table(_table(tmp_path)), policy, clock)
    ctx = router.context_of(Destination("NG", "621-20"))
    router.route(np.array([ctx]), np.array([0]))
    clock.advance(2.5)
    router.route(np.array([ctx]), np.array([0]))
    assert policy.times == [1000.0, 1002.5]


def test_simulated_channel_options_match_the_behaviour_fields() -> None:
    from dataclasses import fields  # noqa: PLC0415

    from adapters.simulated import Behaviour  # noqa: PLC0415
    from engine.routing.table import KIND_OPTIONS  # noqa: PLC0415

    assert KIND_OPTIONS["simulated"] == {"preset", "seed"} | {f.name for f in fields(Behaviour)}


def test_simulated_channel_options_are_parsed(tmp_path: Path) -> None:
    text = '[[channels]]\nid = "a"\npreset = "healthy"\nreject_p = 1.0\n'
    table = load_route_table(_table(tmp_path, text))
    assert table.channels[0].option("reject_p", 0.0) == 1.0
    with pytest.raises(RouteTableError, match="unknown field"):
        load_route_table(_table(tmp_path, '[[channels]]\nid = "a"\nreject_probability = 1.0\n'))


def _service(tmp_path: Path) -> RouterService:
    table = load_route_table(_table(tmp_path))
    return RouterService(table, "least_cost", ManualClock(0.0), np.random.default_rng(1))


def test_a_disabled_channel_gets_no_traffic_until_enabled_again(tmp_path: Path) -> None:
    """What the supervisor does when a channel's circuit breaker opens, then closes."""
    service = _service(tmp_path)
    ng = Destination("NG", "621-20")
    lanes = np.zeros(3, dtype=np.int64)
    assert [c.channel for c in service.route([ng] * 3, lanes)] == ["ng-direct"] * 3  # the cheapest
    service.set_channel_enabled("ng-direct", False)
    assert [c.channel for c in service.route([ng] * 3, lanes)] == ["global"] * 3
    service.set_channel_enabled("ng-direct", True)
    assert [c.channel for c in service.route([ng] * 3, lanes)] == ["ng-direct"] * 3


def test_each_message_avoids_only_its_own_channels(tmp_path: Path) -> None:
    service = _service(tmp_path)
    ng = Destination("NG", "621-20")
    avoid: list[list[str]] = [[], ["ng-direct"], [], ["ng-direct", "global"]]
    choices = service.route([ng] * 4, np.zeros(4, dtype=np.int64), avoid)
    assert [c.channel for c in choices] == ["ng-direct", "global", "ng-direct", None]


def test_equal_destinations_route_alike_whether_or_not_they_are_one_object(tmp_path: Path) -> None:
    service = _service(tmp_path)
    shared = Destination("NG", "621-20")
    batch = [shared, Destination("NG", "621-20"), Destination("GB"), shared]
    choices = service.route(batch, np.zeros(4, dtype=np.int64))
    assert [(c.channel, c.context) for c in choices] == [
        ("ng-direct", "NG/621-20"), ("ng-direct", "NG/621-20"), ("global", "GB/*"), ("ng-direct", "NG/621-20")
    ]  # fmt: skip
