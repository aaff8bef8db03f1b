"""Small shared domain types: pages, time in Asia/Shanghai, ids."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

T = TypeVar("T")
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` is opaque and absent on the last page."""

    items: list[T]
    next_cursor: str | None = None


def now() -> datetime:
    return datetime.now(CHINA_TZ)


def now_iso() -> str:
    """Current time as ISO 8601 with +08:00, to the millisecond (sortable within a city)."""
    return now().isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    """An id nobody can guess or enumerate, e.g. ``pol_3f9c0a7d51e2b846``."""
    return f"{prefix}_{secrets.token_hex(8)}"
