"""AWS failures as domain errors: the one choke point between botocore/PynamoDB and the HTTP edge.

Repositories turn the conditional writes they expect to lose into specific domain errors (409 with
a code). Whatever still escapes is classified here by the route wrapper (chalicelib/web.py), so no
AWS answer becomes a 500:

- a throttled, overloaded or unreachable DynamoDB/S3 (any call, reads included) is
  :class:`errors.ServiceUnavailable` (503 + Retry-After);
- a conditional check a repository did not name (a race it did not foresee) is
  :class:`errors.WriteConflict` (409 WRITE_CONFLICT): the write did not happen, the client may
  re-read and retry.

Only the exception is inspected (botocore/PynamoDB are imported here lazily, when something failed).
"""
from __future__ import annotations

from typing import Any, Iterator

from chalicelib import errors

#: Error codes of DynamoDB and S3 that mean "try again later", not "you are wrong".
TRANSIENT_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "ProvisionedThroughputExceededException",
    "RequestLimitExceeded", "TransactionConflict", "TransactionConflictException",
    "TransactionInProgressException", "InternalServerError", "InternalFailure", "InternalError",
    "ServiceUnavailable", "ServiceUnavailableException", "SlowDown", "RequestTimeout",
    "RequestTimeoutException", "LimitExceededException", "TooManyRequestsException",
    "503", "500",
})
#: Error codes of a condition that did not hold: the write was refused, nothing changed.
CONDITION_CODES = frozenset({"ConditionalCheckFailedException", "ConditionalCheckFailed"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what PynamoDB wrapped (``cause``) and what Python chained, without loops."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen or len(seen) > 16:
            continue
        seen.add(id(current))
        yield current
        todo += [getattr(current, "cause", None), current.__cause__, current.__context__]


def _codes(exc: BaseException) -> tuple[str | None, int | None, list[str]]:
    """(error code, HTTP status, transaction cancellation reason codes) of a botocore/PynamoDB error."""
    response: Any = getattr(exc, "response", None)
    code = status = None
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    reasons = [getattr(r, "code", None) or "" for r in (getattr(exc, "cancellation_reasons", None) or []) if r]
    reasons += [str(r.get("Code")) for r in (response or {}).get("CancellationReasons", []) or []
                if isinstance(r, dict) and r.get("Code")] if isinstance(response, dict) else []
    return (str(code) if code is not None else None), status, reasons


def as_domain_error(exc: BaseException) -> errors.DomainError | None:
    """The domain error an AWS failure stands for, or None when it is not an AWS failure we know."""
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover - botocore is always there with boto3
        return None
    unreachable = (bx.HTTPClientError, bx.ConnectionError, bx.EndpointConnectionError)
    for link in _chain(exc):
        if isinstance(link, unreachable):
            return errors.ServiceUnavailable(type(link).__name__)
        code, status, reasons = _codes(link)
        if CONDITION_CODES & ({code} | set(reasons)):
            return errors.WriteConflict(str(code))
        if code in TRANSIENT_CODES or TRANSIENT_CODES & set(reasons):
            return errors.ServiceUnavailable(str(code))
        if isinstance(status, int) and status >= 500:
            return errors.ServiceUnavailable(f"{code} ({status})")
    return None
