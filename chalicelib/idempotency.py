"""Once-only writes: a create sent with an ``Idempotency-Key`` header runs once; a repeat (a
double tap, a retry after a lost response) gets the first answer back. Powertools' idempotency
utility does the work, with DynamoDB persistence; it is imported only when a key is sent."""
from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any, Callable

from chalicelib import errors
from chalicelib.config import settings

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
EXPIRES_AFTER_SECONDS = 24 * 3600


@cache
def _store() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings().table("idempotency"))


def run_once(scope: str, caller: str, key: str, payload: Any, work: Callable[[], Any],
             lambda_context: Any = None) -> Any:
    """Run ``work`` once per (scope, caller, key); the same key with another payload is a 409."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    if not KEY_PATTERN.fullmatch(key):
        raise errors.InvalidInput("8-64 letters, digits, - or _", field="Idempotency-Key",
                                  message="请求编号（Idempotency-Key）应为 8-64 个字母、数字、- 或 _")
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="payload",
                               expires_after_seconds=EXPIRES_AFTER_SECONDS)
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)  # a crashed attempt frees the key when it times out

    @idempotent_function(data_keyword_argument="request", persistence_store=_store(), config=config,
                         key_prefix=scope)
    def once(request: dict[str, str]) -> Any:
        return work()

    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    try:
        return once(request={"key": f"{caller}:{key}", "payload": digest})
    except IdempotencyValidationError:
        raise errors.IdempotencyKeyReused(field="Idempotency-Key") from None
    except IdempotencyAlreadyInProgressError:
        raise errors.RequestInProgress(field="Idempotency-Key") from None
    except IdempotencyPersistenceLayerError as exc:
        raise errors.ServiceUnavailable(str(exc)) from None
