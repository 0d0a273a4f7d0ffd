"""An HTTP channel's route-table entry: refused with the field named, or built."""

from __future__ import annotations

import asyncio

import pytest

from adapters.http import HttpChannel, HttpSettings, check, webhook_parser
from engine.domain.types import Channel
from engine.errors import RouteTableError
from engine.routing.table import KIND_OPTIONS, parse_route_table
from engine.runtime.adapters import make_adapter, validate
from tests.http_channel.helpers import channel_config

BASE = "https://api.test"


def _with(config: Channel, **changes: str | float | None) -> Channel:
    options = dict(config.options)
    for key, value in changes.items():
        if value is None:
            options.pop(key, None)
        else:
            options[key] = value
    return Channel(config.id, "http", options=tuple(sorted(options.items())))


TWILIO = channel_config("agg", "twilio_like", BASE, "https://sms.test/dlr")
INFOBIP = channel_config("agg", "infobip_like", BASE, "https://sms.test/dlr")


def test_the_route_table_lists_exactly_the_options_we_read() -> None:
    assert KIND_OPTIONS["http"] == HttpSettings.option_names()


@pytest.mark.parametrize("config", [TWILIO, INFOBIP], ids=["twilio_like", "infobip_like"])
def test_good_configs_pass(config: Channel) -> None:
    check(config)


@pytest.mark.parametrize(
    ("config", "field", "problem"),
    [
        (_with(INFOBIP, mapping=None), "mapping", "is required"),
        (_with(INFOBIP, mapping="vonage_like"), "mapping", "known: infobip_like, twilio_like"),
        (_with(INFOBIP, base_url="ftp://x"), "base_url", "absolute http"),
        (_with(INFOBIP, callback_url="/dlr"), "callback_url", "absolute http"),
        (_with(INFOBIP, path="sms"), "path", "start with '/'"),
        (_with(INFOBIP, batch_size=0), "batch_size", "must be in"),
        (_with(INFOBIP, read_timeout_s=0.0), "read_timeout_s", "> 0"),
        (_with(INFOBIP, read_timeout_s="fast"), "read_timeout_s", "expected float"),
        (_with(INFOBIP, batch_size=2.5), "batch_size", "expected int"),
        (_with(INFOBIP, auth="magic"), "auth", "unknown scheme"),
        (_with(INFOBIP, colour="blue"), "colour", "unknown option"),
        (_with(INFOBIP, token_env=None), "token_env", "needs token_env or token_file"),
        (_with(INFOBIP, webhook_secret_env=None), "webhook_secret_env", "needs a webhook secret"),
        (_with(TWILIO, account=None), "account", "needs an account"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_field(config: Channel, field: str, problem: str) -> None:
    with pytest.raises(RouteTableError, match=problem) as caught:
        check(config)
    assert caught.value.field == f"channels.agg.{field}"


def test_twilio_webhooks_are_verified_with_the_api_token_and_need_no_extra_secret() -> None:
    check(_with(TWILIO, webhook_secret_env=None))
    assert webhook_parser(TWILIO, {"token": "t"}).secret == "t"
    assert webhook_parser(TWILIO, {"token": "t", "webhook_secret": "w"}).secret == "w"


def test_no_parser_without_a_key() -> None:
    with pytest.raises(RouteTableError, match="no webhook secret"):
        webhook_parser(INFOBIP, {"token": "t"})


def test_auth_none_needs_no_token() -> None:
    check(_with(INFOBIP, auth="none", token_env=None))


def test_the_runtime_builds_it_from_the_route_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TOKEN", "tok")
    monkeypatch.setenv("FAKE_HOOK", "hook")
    raw = {"channels": [{"id": "agg", "kind": "http", **dict(INFOBIP.options)}], "routes": []}
    table = parse_route_table(raw, "test.toml")
    (config,) = table.channels
    assert dict(config.options)["mapping"] == "infobip_like"
    validate(config)
    adapter = make_adapter(config)
    assert isinstance(adapter, HttpChannel)
    assert adapter.health().connected
    asyncio.run(adapter.close())  # no client was ever created: nothing to leak


def test_the_route_table_refuses_an_unknown_http_option() -> None:
    raw = {"channels": [{"id": "agg", "kind": "http", "mapping": "infobip_like", "colour": "blue"}]}
    with pytest.raises(RouteTableError, match="colour"):
        parse_route_table(raw, "test.toml")
