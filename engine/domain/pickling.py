"""Cheap pickling for the value objects that cross process boundaries in batches (Ray calls).

A slots dataclass pickles through ``dataclasses._dataclass_getstate``, which calls ``fields()``
for every instance: 2.3 ms for a batch of 1,000 outbound messages, 0.5 ms with a ``__reduce__``
that hands the constructor its arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


def by_fields(cls: type[T]) -> type[T]:
    """Class decorator: pickle instances as ``cls(*field values)`` (at least two fields)."""
    values: Callable[[Any], tuple[Any, ...]] = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: T) -> tuple[type[T], tuple[Any, ...]]:  # noqa: N807 (the pickle protocol's name)
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment, method-assign]
    return cls
