"""What the twins share: one lock per twin (a transaction is checked, then applied, under it) and
pages with signed cursors like the DynamoDB ones."""
from __future__ import annotations

import copy
from typing import Any, Callable, TypeVar

from chalicelib import errors
from chalicelib.domain.common import Page
from chalicelib.repositories.paging import sign, unsign

T = TypeVar("T")


def page(items: list[T], key: Callable[[T], str], scope: str, cursor: str | None, limit: int) -> Page[T]:
    """``items`` already in order; the cursor names the last key served (signed, bound to scope)."""
    start = 0
    if cursor:
        data = unsign(cursor)
        if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), str):
            raise errors.InvalidCursor(field="cursor")
        keys = [key(i) for i in items]
        start = next((n + 1 for n, k in enumerate(keys) if k == data["k"]), len(items))
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return Page(chunk, sign({"s": scope, "k": key(chunk[-1])}) if more and chunk else None)


def clone(value: T) -> T:
    """What a read returns is a copy: changing it never changes the store (as with DynamoDB)."""
    return copy.deepcopy(value)


__all__ = ["page", "clone", "Any"]
