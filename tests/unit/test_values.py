"""Hot value objects (:func:`engine.domain.values.value_object`): their faster constructor behaves as
the dataclass's own, they stay frozen, and they come back equal from pickling (as Ray moves them)."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass

import pytest

from engine.domain.enums import ErrorClass, Lane
from engine.domain.messages import ChannelError, OutboundMessage, Receipt, ReceiptStatus, SubmitResult
from engine.domain.types import Destination
from engine.domain.values import value_object
from engine.routing.service import Choice

ERROR = ChannelError(
    "throttled", "0x58", ErrorClass.NETWORK, permanent=False, throttled=True, outcome_unknown=True
)
VALUES = [
    OutboundMessage("m1", "+2348031234567", "ACME", "héllo 👋", Lane.MARKETING, 3, 120.0),
    OutboundMessage("m2", "+447700900123", "ACME", "hi", Lane.OTP),
    ERROR,
    SubmitResult("m1", "abc,abd"),
    SubmitResult("m2", None, ERROR),
    Receipt("smsc", "1f", ReceiptStatus.UNDELIVERED, 12.5, "E1", "id:1f stat:UNDELIV", "m1"),
    Destination("NG", "621-20"),
    Destination("GB"),
    Choice("c1", 3, 0.012, 0.25, 0.9, True, "NG/621-20", (("c1", 0.012), ("c2", 0.01))),
    Choice(None, -1, 0.0, 1.0, 0.0, False, "NG/*", ()),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_value_objects_survive_pickling(value: object) -> None:
    back = pickle.loads(pickle.dumps(value, protocol=5))
    assert back == value
    assert type(back) is type(value)


@value_object
@dataclass(frozen=True, slots=True)
class Checked:
    name: str
    size: int = 1
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("size must be at least 1")


@dataclass(frozen=True, slots=True)
class Plain:
    """The same class as the dataclass makes it, to compare against."""

    name: str
    size: int = 1
    tag: str | None = None


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("a",), {}),
        (("a", 2), {}),
        (("a", 2, "t"), {}),
        ((), {"name": "a", "tag": "t"}),
        (("a",), {"size": 3}),
    ],
)
def test_the_constructor_takes_what_the_dataclass_takes(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    made, plain = Checked(*args, **kwargs), Plain(*args, **kwargs)  # type: ignore[arg-type]
    assert dataclasses.astuple(made) == dataclasses.astuple(plain)
    assert hash(made) == hash(Checked(*args, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("a", 1, "t", "extra"), {}), (("a",), {"name": "b"}), (("a",), {"nope": 1})],
)
def test_the_constructor_refuses_what_the_dataclass_refuses(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Checked(*args, **kwargs)  # type: ignore[arg-type]


def test_it_stays_frozen_and_still_validates() -> None:
    made = Checked("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.size = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="at least 1"):
        Checked("a", 0)
    assert pickle.loads(pickle.dumps(made)) == made


def test_only_frozen_slots_dataclasses_with_plain_fields_are_taken() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int
        b: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: int
        b: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, Factory):
        with pytest.raises(TypeError, match="value_object"):
            value_object(cls)
