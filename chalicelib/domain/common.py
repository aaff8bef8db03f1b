"""Small shared domain types: pages, time in Asia/Shanghai, ids."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, Iterable, TypeVar

from chalicelib import errors

T = TypeVar("T")
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` is opaque and absent on the last page."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One item of a many-at-once operation (bulk approve, publishing a batch): each succeeds or
    fails on its own. The handler shapes ``error`` into the answer; the domain never does."""

    application_id: str
    result: T | None = None
    error: errors.DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def now() -> datetime:
    return datetime.now(CHINA_TZ)


def now_iso() -> str:
    """Current time as ISO 8601 with +08:00, to the millisecond (sortable within a city)."""
    return now().isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    """An id nobody can guess or enumerate, e.g. ``pol_3f9c0a7d51e2b846``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def expect_version(current: int, given: int) -> None:
    """Optimistic locking: the client must have read the latest version (else 409 STALE_VERSION)."""
    if current != given:
        raise errors.StaleVersion(f"current version {current}", field="version")


def edits(changes: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """The fields of a PATCH body that may change and were given (null means "leave as is")."""
    keep = set(allowed)
    return {k: v for k, v in changes.items() if k in keep and v is not None}
