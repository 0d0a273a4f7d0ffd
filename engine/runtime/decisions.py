"""The live decision log: dispatch events written as the Parquet datasets analysts load."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from engine.dispatch.ports import Outcome
from engine.domain.clock import SystemClock
from engine.domain.enums import Lane, MessageStatus
from engine.infra.decision_log import DecisionColumns, DecisionLog, OutcomeColumns, OutcomeKind
from engine.routing.service import Choice

# Per-row lookups as plain dicts rather than a property or classmethod call (a hot path).
_LABELS = {lane: lane.label for lane in Lane}
_KINDS: dict[MessageStatus, str] = {}
for _status in MessageStatus:
    with contextlib.suppress(ValueError):  # not an outcome: OutcomeKind.of raises for it below
        _KINDS[_status] = OutcomeKind.of(_status).value


class DecisionSink:
    """Hands dispatch events to a :class:`DecisionLog` as columns: no row object per event."""

    def __init__(self, folder: str, policy: str) -> None:
        self.policy = policy
        self.log = DecisionLog(Path(folder), SystemClock())

    def decided(self, lane: Lane, message_ids: Sequence[str], choices: Sequence[Choice], at: float) -> None:
        n = len(choices)
        self.log.append_decisions(
            DecisionColumns(
                policy=[self.policy] * n,
                message_id=list(message_ids),
                time=[at] * n,
                context=[c.context for c in choices],
                lane=[_LABELS[lane]] * n,
                route=[c.channel or "" for c in choices],
                propensity=[c.propensity for c in choices],
                explored=[c.explored for c in choices],
                score=[c.score for c in choices],
                candidates=[name for c in choices for name, _ in c.alternatives],
                candidate_counts=[len(c.alternatives) for c in choices],
                policy_version=[""] * n,
            )
        )

    def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        kinds = _KINDS
        self.log.append_outcomes(
            OutcomeColumns(
                message_id=[o.message_id for o in outcomes],
                time=[o.at for o in outcomes],
                kind=[kinds.get(o.status) or OutcomeKind.of(o.status).value for o in outcomes],
                latency_s=[o.latency_s for o in outcomes],
                cost=[o.cost for o in outcomes],
                error_code=[o.error_code for o in outcomes],
            )
        )

    def poll(self) -> None:
        self.log.poll()

    def close(self) -> None:
        self.log.close()
