"""Key-range queries a page at a time, with DynamoDB's LastEvaluatedKey wrapped as a cursor.

Every list the API serves goes through :func:`query_page`: at most ``max_requests`` DynamoDB
requests, never a Scan; a page may hold fewer than ``limit`` items when a filter drops some,
and the cursor says whether more remain.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Iterable

from pynamodb.expressions.condition import Condition

from chalicelib import errors

#: DynamoDB requests one catalogue request may make in all; a validation read spends one of them.
REQUEST_BUDGET = 2


def encode_cursor(key: dict[str, Any] | None, scope: str) -> str | None:
    if not key:
        return None
    flat = {name: value["S"] for name, value in key.items()}
    payload = {"k": flat, "s": _scope_tag(scope)}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str, key_names: Iterable[str]) -> dict[str, Any] | None:
    """The start key a cursor stands for; a cursor from another query or a forged one is a 400."""
    if not cursor:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise errors.InvalidCursor(field="cursor") from None
    key = payload.get("k") if isinstance(payload, dict) else None
    if (
        not isinstance(key, dict)
        or payload.get("s") != _scope_tag(scope)
        or set(key) != set(key_names)
        or not all(isinstance(v, str) and 0 < len(v) <= 512 for v in key.values())
    ):
        raise errors.InvalidCursor(field="cursor")
    return {name: {"S": value} for name, value in key.items()}


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def query_page(
    target: Any,
    hash_key: str,
    *,
    key_names: Iterable[str],
    scope: str,
    range_condition: Condition | None = None,
    filter_condition: Condition | None = None,
    limit: int,
    cursor: str | None,
    forward: bool = True,
    max_requests: int = REQUEST_BUDGET,
) -> tuple[list[Any], str | None]:
    """Query a table or index (PynamoDB ``Model`` or index) for one page of records."""
    start = decode_cursor(cursor, scope, key_names)
    records: list[Any] = []
    for _ in range(max_requests):
        result = target.query(
            hash_key,
            range_key_condition=range_condition,
            filter_condition=filter_condition,
            scan_index_forward=forward,
            last_evaluated_key=start,
            page_size=limit - len(records),
        )
        page = next(result.page_iter)
        model = getattr(target, "_model", target)  # an index knows its model
        records.extend(model.from_raw_data(item) for item in page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if len(records) >= limit or not start:
            break
    return records, encode_cursor(start, scope)
