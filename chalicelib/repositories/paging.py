"""Key-range queries a page at a time, the position wrapped as a signed cursor.

Every list the API serves goes through :func:`query_page`, never a Scan. A page is full (``limit``
items) or the last one (no cursor): a client that stops on a short page misses nothing
(docs/decisions/0024). An unfiltered page is one request; a filtered one reads on, twice as many
items each request (from twice what the page lacks, at least MIN_READ), until the page is full or the key range ends,
and its cursor is the key of the last item it returned, so nothing read past it is lost.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import cache
from typing import Any, Iterable

from pynamodb.expressions.condition import Condition

from chalicelib import errors

#: A cursor is ``base64url(payload) "." base64url(HMAC-SHA256(stack secret, payload))``: the start
#: key is the client's to carry, not to choose (a forged or edited cursor is a 400).
_SEPARATOR = "."


def encode_cursor(key: dict[str, Any] | None, scope: str) -> str | None:
    if not key:
        return None
    flat = {name: value["S"] for name, value in key.items()}
    payload = {"k": flat, "s": _scope_tag(scope)}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return _b64(raw) + _SEPARATOR + _b64(_signature(raw))


def decode_cursor(cursor: str | None, scope: str, key_names: Iterable[str]) -> dict[str, Any] | None:
    """The start key a cursor stands for; a cursor from another query, edited or forged is a 400."""
    if not cursor:
        return None
    raw = check_signature(cursor)
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
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


def sign(payload: dict[str, Any]) -> str:
    """Any cursor-like token (a composite cursor, e.g. the review queue's) signed like a cursor."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return _b64(raw) + _SEPARATOR + _b64(_signature(raw))


def unsign(cursor: str) -> Any:
    """The payload of a token made by :func:`sign`; InvalidCursor if not signed by this stack."""
    try:
        return json.loads(check_signature(cursor))
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidCursor(field="cursor") from None


def check_signature(cursor: str) -> bytes:
    """The cursor's payload if this stack signed it; else InvalidCursor (400)."""
    body, _, signature = cursor.partition(_SEPARATOR)
    try:
        raw = _unb64(body)
        valid = hmac.compare_digest(_unb64(signature), _signature(raw))
    except (binascii.Error, ValueError):
        raise errors.InvalidCursor(field="cursor") from None
    if not valid:
        raise errors.InvalidCursor("not issued by this service", field="cursor")
    return raw


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 4096:
        raise ValueError("empty or too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(raw: bytes) -> bytes:
    return hmac.new(_cursor_key(), raw, hashlib.sha256).digest()


def _cursor_key() -> bytes:
    from chalicelib.config import settings

    s = settings()
    return _key_of(s.cursor_secret, s.cursor_secret_arn, s.region, s.endpoint_url)


@cache
def _key_of(secret: str | None, arn: str | None, region: str, endpoint: str | None) -> bytes:
    """The stack's cursor secret: given (local stack), or read once from Secrets Manager (deployed)."""
    if secret:
        return secret.encode()
    if arn:
        import boto3

        client = boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint)
        return str(client.get_secret_value(SecretId=arn)["SecretString"]).encode()
    raise RuntimeError("no cursor secret: set CURSOR_SECRET or CURSOR_SECRET_ARN")


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


#: The fewest and the most items one filtered request reads (DynamoDB stops at 1 MB anyway): a page
#: of a catalogue filter that keeps one item in six is one or two requests.
MIN_READ, MAX_READ = 100, 1000


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
) -> tuple[list[Any], str | None]:
    """Query a table or index (PynamoDB ``Model`` or index) for one page of records: ``limit`` of
    them and a cursor, or fewer and no cursor (the end)."""
    names = tuple(key_names)
    start = decode_cursor(cursor, scope, names)
    model = getattr(target, "_model", target)  # an index knows its model
    records: list[Any] = []
    read = 0  # the filtered read's size: doubles while the filter keeps too little
    while True:
        need = limit - len(records)
        read = need if filter_condition is None else min(max(2 * need, 2 * read, MIN_READ), MAX_READ)
        result = target.query(
            hash_key,
            range_key_condition=range_condition,
            filter_condition=filter_condition,
            scan_index_forward=forward,
            last_evaluated_key=start,
            page_size=read,
        )
        page = next(result.page_iter)
        items = page.get("Items", [])
        if len(items) > need:  # a filtered read found more than the page holds: resume after the last one kept
            items = items[:need]
            start = {name: items[-1][name] for name in names}
        else:
            start = page.get("LastEvaluatedKey")
        records.extend(model.from_raw_data(item) for item in items)
        if len(records) >= limit or not start:
            return records, encode_cursor(start, scope)
