"""One node-smpp SMSC for the whole session; each test gets it back in its start-up configuration.

Every channel binds with its own system_id, so receipts the SMSC still holds for an earlier test's
bind never reach a later test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.smpp.peer import NodeSmsc

_IDS = itertools.count()


@pytest.fixture(scope="session")
def node_smsc() -> Iterator[NodeSmsc]:
    with NodeSmsc() as smsc:
        yield smsc


@pytest.fixture
def smsc(node_smsc: NodeSmsc) -> Iterator[NodeSmsc]:
    node_smsc.restore()
    yield node_smsc
    node_smsc.restore()


@pytest.fixture
def system_id() -> str:
    return f"esme{next(_IDS)}"
