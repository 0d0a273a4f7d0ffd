"""The live decision log: dispatch events written as the Parquet datasets analysts load."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.dispatch.dispatcher import Decided
from engine.dispatch.ports import Outcome
from engine.domain.clock import SystemClock
from engine.infra.decision_log import DecisionLog, DecisionRow, OutcomeKind, OutcomeRow


class DecisionSink:
    def __init__(self, folder: str, policy: str) -> None:
        self.policy = policy
        self.log = DecisionLog(Path(folder), SystemClock())

    def decided(self, decided: Sequence[Decided]) -> None:
        self.log.append_decisions(
            [
                DecisionRow(
                    policy=self.policy, message_id=d.message_id, time=d.at, context=d.choice.context,
                    lane=d.lane, route=d.choice.channel or "", propensity=d.choice.propensity,
                    explored=d.choice.explored, score=d.choice.score,
                    candidates=tuple(name for name, _ in d.choice.alternatives),
                )
                for d in decided
            ]
        )  # fmt: skip

    def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        self.log.append_outcomes(
            [
                OutcomeRow(o.message_id, o.at, OutcomeKind.of(o.status), o.latency_s, o.cost, o.error_code)
                for o in outcomes
            ]
        )

    def poll(self) -> None:
        self.log.poll()

    def close(self) -> None:
        self.log.close()
