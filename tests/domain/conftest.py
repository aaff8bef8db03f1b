"""Domain tests on the in-memory twins: no moto, no AWS, milliseconds a test (docs/decisions/0023).

``twins`` hands the domain a container of twins (chalicelib.deps.use) for the test; notices are
recorded by its notifier (``twins.notifier.sent``) instead of sent, verification runs by its
workflow (``twins.workflow.started``), staff reads are audited into a list."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from chalicelib import deps
from chalicelib.domain.estates import Estate
from chalicelib.identity import Actor, Role
from tests.twins import memory_container


class AuditLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)

    def of_target(self, target: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["target"] == target]


class Estates:
    """The estates a test puts in (read-only for these areas of the domain)."""

    def __init__(self) -> None:
        self.estates: dict[str, Estate] = {}

    def get(self, estate_id: str) -> Estate:
        return self.estates[estate_id]


class Households:
    """Nobody registered: the domain falls back to what it was given (e.g. no mobile to notify)."""

    def get(self, subject: str) -> None:
        return None


@pytest.fixture()
def twins() -> Iterator[Any]:
    container = memory_container(audit=AuditLog(), estates=Estates(), households=Households())
    with deps.use(container):
        yield container


def person(role: Role = Role.APPLICANT, subject: str | None = None) -> Actor:
    from chalicelib.domain.common import new_id

    return Actor(subject=subject or new_id("sub"), roles=frozenset({role}), city="jiangmen", claims={})
