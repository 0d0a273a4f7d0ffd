"""The session layer's decisions with a scripted smpp34 stand-in: no network, exact outcomes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
import smpp34

from adapters.smpp import SmppChannel, SmppSettings
from adapters.smpp.bindcheck import BindRejectedError
from adapters.smpp.session import BindState, NotSentError, OutcomeUnknownError, Session
from tests.smpp.helpers import messages

SETTINGS = SmppSettings(
    host="127.0.0.1", port=1, system_id="fake", reconnect_min_s=0.01, reconnect_max_s=0.02,
    response_timeout_s=0.2, submit_wait_s=0.5, tcp_nodelay=False,
)  # fmt: skip
DISCONNECTED = object()  # smpp34.Disconnected cannot be made outside the library; any non-event ends


@dataclass
class Resp:
    command_status: int = 0
    message_id: str | None = "1"


@dataclass
class FakeSmsc:
    """Answers submits from a script; ``next`` waits for a Disconnected pushed by ``drop``."""

    answers: list[Any] = field(default_factory=list)
    events: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    sent: list[bytes] = field(default_factory=list)

    async def submit_sm(self, destination_addr: str, short_message: bytes, **fields: Any) -> Any:
        self.sent.append(short_message)
        answer = self.answers.pop(0) if self.answers else Resp(message_id=str(len(self.sent)))
        if isinstance(answer, BaseException):
            raise answer
        if answer == "hang":
            await asyncio.sleep(3600)
        return answer

    async def next(self) -> Any:
        return await self.events.get()

    async def unbind(self) -> None:
        self.events.put_nowait(DISCONNECTED)

    def drop(self) -> None:
        self.events.put_nowait(DISCONNECTED)


class FakeClients:
    """A client factory: each connect takes the next outcome (an exception, or a FakeSmsc)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.created = 0
        self.stopped = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.created += 1
        factory = self

        class Client:
            async def connect(self) -> Any:
                outcome = factory.outcomes.pop(0) if factory.outcomes else FakeSmsc()
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome

            async def is_alive(self) -> bool:
                return True

            async def stop(self) -> None:
                factory.stopped += 1

        return Client()


async def _no_check(*args: Any, **kwargs: Any) -> None:
    return None


def _session(clients: FakeClients, checker: Any = _no_check, **overrides: Any) -> Session:
    return Session(replace(SETTINGS, **overrides), "pw", "TRX", lambda event: None,
                   rng=np.random.default_rng(0), client_factory=clients, bind_checker=checker)  # fmt: skip


def test_a_session_keeps_trying_through_errors_and_surprises_until_it_binds() -> None:
    async def main() -> None:
        smsc = FakeSmsc()
        clients = FakeClients(
            OSError("refused"), smpp34.SmppError("bind timed out"), RuntimeError("bug"), smsc
        )
        session = _session(clients)
        assert await session.wait_bound(2.0) is BindState.BOUND
        assert (clients.created, session.binds) == (4, 1)
        assert "bind failed" in session.last_error
        await session.close()
        assert session.state is BindState.CLOSED

    asyncio.run(main())


def test_a_refused_bind_is_reported_at_once_and_waits_the_long_pause() -> None:
    async def main() -> None:
        calls = 0

        async def refuse(*args: Any, **kwargs: Any) -> None:
            nonlocal calls
            calls += 1
            raise BindRejectedError(0x0E)

        session = _session(FakeClients(), refuse, bind_rejected_backoff_s=60.0)
        assert await session.wait_bound(2.0) is BindState.BIND_REJECTED
        assert session.bind_status == 0x0E
        assert "ESME_RINVPASWD" in session.last_error
        await asyncio.sleep(0.1)
        assert calls == 1
        await session.close()

    asyncio.run(main())


def test_no_bind_means_not_sent_and_a_dying_session_means_unknown() -> None:
    async def main() -> None:
        smsc = FakeSmsc(answers=[Resp(), smpp34.SmppError("ESME_RSYSERR (0x00000008)")])
        session = _session(FakeClients(smsc))
        with pytest.raises(NotSentError) as not_sent:
            await session.submit("1", b"x")
        assert not_sent.value.state is BindState.IDLE
        assert await session.wait_bound(2.0) is BindState.BOUND
        assert (await session.submit("1", b"x")).message_id is not None
        with pytest.raises(OutcomeUnknownError, match="connection_lost"):
            await session.submit("1", b"x")
        assert session.state is not BindState.BOUND  # later submits are not handed to the dead session
        with pytest.raises(NotSentError):
            await session.submit("1", b"x")
        assert len(smsc.sent) == 2
        await session.close()

    asyncio.run(main())


def test_a_session_that_answers_nothing_is_dropped_and_bound_again() -> None:
    async def main() -> None:
        first, second = FakeSmsc(answers=["hang"]), FakeSmsc()
        clients = FakeClients(first, second)
        session = _session(clients)
        assert await session.wait_bound(2.0) is BindState.BOUND
        with pytest.raises(OutcomeUnknownError, match="response_timeout"):
            await session.submit("1", b"x")
        for _ in range(100):
            if session.binds == 2 and session.state is BindState.BOUND:
                break
            await asyncio.sleep(0.02)
        assert (session.binds, session.disconnects, clients.stopped) == (2, 1, 1)
        await session.close()

    asyncio.run(main())


def test_the_channel_maps_session_outcomes_per_message() -> None:
    async def main() -> None:
        smsc = FakeSmsc(answers=[Resp(0x58, None), Resp(0x0B, None), Resp(0, None), "hang"])
        channel = SmppChannel("fake", SETTINGS, "pw", window=1, rng=np.random.default_rng(0))
        channel.sessions[0] = _session(FakeClients(smsc))
        results = await channel.submit(messages(5))
        codes = [r.error.code if r.error else "accepted" for r in results]
        assert codes == [
            "ESME_RTHROTTLED",
            "ESME_RINVDSTADR",
            "missing_message_id",
            "response_timeout",
            "accepted",
        ]
        unknown = [bool(r.error and r.error.outcome_unknown) for r in results]
        assert unknown == [False, False, True, True, False]
        await channel.close()

    asyncio.run(main())


def test_a_later_part_that_fails_makes_the_whole_message_partial_and_unknown() -> None:
    async def main() -> None:
        smsc = FakeSmsc(answers=[Resp(0, "p1"), Resp(0x45, None)])
        channel = SmppChannel("fake", SETTINGS, "pw", rng=np.random.default_rng(0))
        channel.sessions[0] = _session(FakeClients(smsc))
        (result,) = await channel.submit(messages(1, body="x" * 200))
        assert result.error is not None
        assert (result.error.code, result.error.raw, result.error.outcome_unknown) == (
            "partial_submit", "0x00000045", True,
        )  # fmt: skip
        await channel.close()

    asyncio.run(main())


def test_a_throttled_later_part_is_retried_after_the_pause() -> None:
    async def main() -> None:
        smsc = FakeSmsc(answers=[Resp(0, "p1"), Resp(0x58, None), Resp(0, "p2")])
        channel = SmppChannel("fake", SETTINGS, "pw", rng=np.random.default_rng(0))
        channel.sessions[0] = _session(FakeClients(smsc))
        (result,) = await channel.submit(messages(1, body="x" * 200))
        assert result.provider_id == "p1,p2"
        assert channel.throttles == 1
        await channel.close()

    asyncio.run(main())
