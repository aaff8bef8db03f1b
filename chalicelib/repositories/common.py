"""What every repository shares: the bound connection, transactions, AWS errors as domain errors."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBConnectionError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.config import Settings


@contextmanager
def transaction(settings: Settings, conflict: errors.DomainError) -> Iterator[TransactWrite]:
    """All-or-nothing writes; a failed condition becomes ``conflict`` (nothing is half-written)."""
    connection = Connection(region=settings.region, host=settings.endpoint_url)
    try:
        with TransactWrite(connection=connection) as tx:
            yield tx
    except TransactWriteError as exc:
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r]
        if "ConditionalCheckFailed" in reasons or exc.cause_response_code == "TransactionCanceledException":
            raise conflict from None
        raise errors.ServiceUnavailable(str(exc.cause_response_code)) from None
    except PynamoDBConnectionError as exc:
        raise errors.ServiceUnavailable(str(exc)) from None


def is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
