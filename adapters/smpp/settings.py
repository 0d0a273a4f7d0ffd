"""An SMPP channel's settings, typed and validated once, from its flat route-table options.

Example route-table entry (the password comes from the environment, never from the file)::

    [[channels]]
    id = "op-ng-smpp"
    kind = "smpp"
    tps = 200
    window = 50
    host = "smsc.example.net"
    port = 2775
    system_id = "acme"
    password_env = "OP_NG_SMPP_PASSWORD"
    bind_mode = "transceiver"          # or "transmitter_receiver": two binds, receipts on the second
    registered_delivery = 1
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class BindMode(StrEnum):
    TRANSCEIVER = "transceiver"  # one bind for submits and receipts
    TRANSMITTER_RECEIVER = "transmitter_receiver"  # a transmitter for submits, a receiver for receipts


@dataclass(frozen=True, slots=True)
class SmppSettings:
    host: str
    port: int
    system_id: str
    system_type: str = ""
    bind_mode: BindMode = BindMode.TRANSCEIVER
    service_type: str = ""
    source_ton: int = -1  # -1: chosen from the sender (alphanumeric 5/0, short code 3/0, number 1/1)
    source_npi: int = -1
    dest_ton: int = 1  # destinations are E.164: international, ISDN
    dest_npi: int = 1
    registered_delivery: int = 1  # ask for a final receipt
    send_validity: bool = True  # pass the message's validity as a relative validity_period
    udh_16bit: bool = False  # 16-bit concatenation reference (UCS-2 only, see adapters.smpp.udh)
    enquire_link_s: float = 30.0  # liveness check period (smpp34 sends the enquire_link PDUs itself)
    response_timeout_s: float = 10.0  # a submit without answer by then has an unknown outcome
    connect_timeout_s: float = 5.0
    submit_wait_s: float = 2.0  # how long a submit waits for a bind before failing over
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    reconnect_jitter: float = 0.2
    bind_rejected_backoff_s: float = 60.0  # a refused bind is retried this slowly (jittered)
    throttle_pause_s: float = 0.1  # first pause after a throttle; doubles per throttle in a row
    throttle_pause_max_s: float = 2.0
    bind_check: bool = True  # ask the bind's answer directly (see adapters.smpp.bindcheck)
    tcp_nodelay: bool = True  # turn Nagle off on smpp34's socket (see adapters.smpp.nodelay)
    seed: int = 0  # 0: random; else reproducible jitter and concatenation references

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            field, reason = problems[0]
            raise SettingsError(field, reason)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SmppSettings:
        """Settings from route-table options; secrets (``*_env``, ``*_file``) are not settings."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in options.items():
            if key.endswith(("_env", "_file")):
                continue
            if key not in known:
                raise SettingsError(key, f"unknown option; known: {', '.join(sorted(known))}")
            values[key] = _coerce(key, value, known[key].default)
        for required in ("host", "port", "system_id"):
            if required not in values:
                raise SettingsError(required, "is required")
        return cls(**values)

    @property
    def bind_types(self) -> tuple[str, ...]:
        """smpp34 bind types: the first bind sends, every bind may receive."""
        if self.bind_mode is BindMode.TRANSCEIVER:
            return ("TRX",)
        return ("TX", "RX")


class SettingsError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


_REQUIRED: dict[str, type] = {"host": str, "port": int, "system_id": str}


def _coerce(key: str, value: Any, default: Any) -> Any:
    if key == "bind_mode":
        try:
            return BindMode(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(m.value for m in BindMode)
            raise SettingsError(key, f"expected one of {choices}, got {value!r}") from None
    expected: type = _REQUIRED.get(key) or type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise SettingsError(key, f"expected {expected.__name__}, got {type(value).__name__}")
    return value


POSITIVE = (
    "enquire_link_s", "response_timeout_s", "connect_timeout_s", "reconnect_min_s", "reconnect_max_s",
    "bind_rejected_backoff_s", "throttle_pause_s", "throttle_pause_max_s",
)  # fmt: skip


def _problems(s: SmppSettings) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not s.host.strip():
        problems.append(("host", "must not be empty"))
    if not 0 < s.port < 65536:
        problems.append(("port", f"must be in 1..65535, got {s.port}"))
    if not 0 < len(s.system_id) <= 15:
        problems.append(("system_id", "must be 1..15 characters (SMPP limit)"))
    if len(s.system_type) > 12:
        problems.append(("system_type", "must be at most 12 characters (SMPP limit)"))
    for name in ("source_ton", "source_npi"):
        if not -1 <= getattr(s, name) <= 255:
            problems.append((name, "must be -1 (automatic) or 0..255"))
    for name in ("dest_ton", "dest_npi", "registered_delivery"):
        if not 0 <= getattr(s, name) <= 255:
            problems.append((name, "must be 0..255"))
    for name in POSITIVE:
        if not getattr(s, name) > 0:
            problems.append((name, f"must be > 0, got {getattr(s, name)}"))
    if s.submit_wait_s < 0:
        problems.append(("submit_wait_s", "must be >= 0"))
    if s.reconnect_min_s > s.reconnect_max_s:
        problems.append(("reconnect_max_s", "must be >= reconnect_min_s"))
    if not 0 <= s.reconnect_jitter < 1:
        problems.append(("reconnect_jitter", "must be in [0, 1)"))
    return problems


OPTION_NAMES = frozenset(f.name for f in fields(SmppSettings)) | {"password_env", "password_file"}
