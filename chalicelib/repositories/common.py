"""What every repository shares: the bound connection, transactions, AWS errors as domain errors."""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from typing import Any, Iterator

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, PynamoDBConnectionError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.config import Settings


#: DynamoDB answers that mean "try again", not "you are wrong".
TRANSIENT = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "TransactionConflict", "TransactionInProgressException", "InternalServerError", "ServiceUnavailable",
})


def plain(value: Any) -> Any:
    """PynamoDB maps and lists, and DynamoDB's numbers, as plain JSON-like Python (a whole number is an int)."""
    from decimal import Decimal

    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@cache
def _connection(region: str, host: str | None) -> Connection:
    """One connection per process: building one loads botocore's data files (~200 ms)."""
    return Connection(region=region, host=host)


@contextmanager
def transaction(settings: Settings, conflict: errors.DomainError) -> Iterator[TransactWrite]:
    """All-or-nothing writes; a failed condition becomes ``conflict`` (nothing is half-written)."""
    connection = _connection(settings.region, settings.endpoint_url)
    try:
        with TransactWrite(connection=connection) as tx:
            yield tx
    except TransactWriteError as exc:
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r]
        if "ConditionalCheckFailed" in reasons:
            raise conflict from None
        if exc.cause_response_code in TRANSIENT or set(reasons) & TRANSIENT:
            raise errors.ServiceUnavailable(str(exc.cause_response_code)) from None
        raise  # anything else is a bug: a 500 with a correlation id, logged in full
    except PynamoDBConnectionError as exc:
        if exc.cause_response_code in TRANSIENT:
            raise errors.ServiceUnavailable(str(exc.cause_response_code)) from None
        raise


def is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def put_new(record: Model, absent: Condition, conflict: errors.DomainError) -> None:
    """Create ``record`` only if it does not exist yet (``absent``); a repeat is ``conflict``."""
    try:
        record.save(condition=absent)
    except PutError as exc:
        if is_condition_failure(exc):
            raise conflict from None
        raise


def save_versioned(record: Model) -> None:
    """Replace a record carrying a PynamoDB VersionAttribute, only if nobody saved it since."""
    try:
        record.save()
    except PutError as exc:
        if is_condition_failure(exc):
            raise errors.StaleVersion(field="version") from None
        raise


def transact(settings: Any, build: Any) -> bool:
    """One TransactWriteItems built by ``build(tx)``: True when written, False when a condition
    failed. DynamoDB's TransactionConflict (another transaction on one of the items in flight) is
    retried with jitter, then answered 503."""
    return transact_failed(settings, build) is None


class Transaction(TransactWrite):
    """PynamoDB's TransactWrite, and ``put_new``: a record nobody has written yet, as ``save`` with
    ``attribute_not_exists`` of its key (and of its version, set to 1, when it has one), the request
    built from the record's serialisation alone: ``save`` builds the condition expression afresh per
    item, a sixth of the client's time for a group of 96 imported units."""

    def put_new(self, record: Model, key: str) -> None:
        names = {"#0": key}
        version = record._version_attribute_name
        if version:
            assert getattr(record, version) is None, "a new record has no version yet"
            setattr(record, version, 1)
            names["#1"] = version
        self._put_items.append({
            "TableName": record.Meta.table_name, "Item": record.serialize(null_check=True),
            "ConditionExpression": ("(attribute_not_exists (#0) AND attribute_not_exists (#1))" if version
                                    else "attribute_not_exists (#0)"),
            "ExpressionAttributeNames": names})


def transact_failed(settings: Any, build: Any) -> list[bool] | None:
    """``transact``, saying which conditions failed: None when written, else one flag per item of
    the transaction, in the order ``build`` added them (True: that item's condition failed)."""
    import time

    from pynamodb.exceptions import TransactWriteError

    from chalicelib import errors

    connection = _connection(settings.region, settings.endpoint_url)
    for attempt in range(5):
        try:
            with Transaction(connection=connection) as tx:
                build(tx)
            return None
        except TransactWriteError as exc:
            codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
            if "ConditionalCheckFailed" in codes:
                return [code == "ConditionalCheckFailed" for code in codes]
            if exc.cause_response_code in TRANSIENT or set(codes) & TRANSIENT:
                time.sleep(0.02 * (attempt + 1) * (1 + (time.monotonic_ns() % 7) / 7))
                continue
            raise
    raise errors.ServiceUnavailable("TransactionConflict")


#: Conditional puts per TransactWriteItems request (DynamoDB's most).
PER_TRANSACTION = 100


def put_many_new(settings: Any, items: list[Model], key: str) -> dict[str, dict[str, Any]]:
    """Write each record unless its ``key`` exists: TransactWriteItems of up to 100 conditional puts
    (``attribute_not_exists``, the existing item returned on failure). A transaction cancelled because
    some items exist is sent again without them; a TransactionConflict (another writer on the same
    items right now) is retried with jitter, then the condition decides. Returns the items found
    existing (their key -> the stored item, as DynamoDB JSON), so a caller can say who wrote them.
    Used by the billing runs (bills) and the review campaigns (reviews): docs/decisions/0027."""
    existing: dict[str, dict[str, Any]] = {}
    for start in range(0, len(items), PER_TRANSACTION):
        existing.update(_put_new_page(settings, items[start:start + PER_TRANSACTION], key))
    return existing


def _put_new_page(settings: Any, records: list[Model], key: str) -> dict[str, dict[str, Any]]:
    import random
    import time

    if not records:
        return {}
    connection = _connection(settings.region, settings.endpoint_url)
    table = type(records[0]).Meta.table_name
    puts = [{"TableName": table, "Item": r.serialize(), "ConditionExpression": "attribute_not_exists (#k)",
             "ExpressionAttributeNames": {"#k": key}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            for r in records]
    existing: dict[str, dict[str, Any]] = {}
    conflicts = 0
    while puts:
        try:
            connection.transact_write_items(condition_check_items=[], delete_items=[], put_items=puts,
                                            update_items=[])
            return existing
        except TransactWriteError as exc:
            reasons = list(exc.cancellation_reasons or [])
            there = {n for n, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"}
            if there:  # written before (an earlier delivery, another run): drop them, send the rest
                for n in there:
                    existing[puts[n]["Item"][key]["S"]] = reasons[n].raw_item or {}
                puts = [put for n, put in enumerate(puts) if n not in there]
                continue
            codes = {r.code for r in reasons if r is not None}
            if (exc.cause_response_code in TRANSIENT or codes & TRANSIENT) and conflicts < 8:
                conflicts += 1
                time.sleep(0.02 * conflicts * (1 + random.random()))
                continue
            if exc.cause_response_code in TRANSIENT or codes & TRANSIENT:
                raise errors.ServiceUnavailable(str(exc.cause_response_code)) from None
            raise
    return existing
