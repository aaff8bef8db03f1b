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
    import time

    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib import errors

    connection = _connection(settings.region, settings.endpoint_url)
    for attempt in range(5):
        try:
            with TransactWrite(connection=connection) as tx:
                build(tx)
            return True
        except TransactWriteError as exc:
            reasons = [r.code for r in (exc.cancellation_reasons or []) if r]
            if "ConditionalCheckFailed" in reasons:
                return False
            if exc.cause_response_code in TRANSIENT or set(reasons) & TRANSIENT:
                time.sleep(0.02 * (attempt + 1) * (1 + (time.monotonic_ns() % 7) / 7))
                continue
            raise
    raise errors.ServiceUnavailable("TransactionConflict")
