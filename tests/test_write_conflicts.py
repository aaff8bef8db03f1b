"""No lost condition is a 500: the class fix behind the race tests (tests/test_races.py).

Repositories name the races they expect (409 with a specific code). Any conditional write they do
not name still reaches the one choke point (chalicelib/repositories/failures.py, called by the
route wrapper), which answers 409 WRITE_CONFLICT: so a new conditional write cannot leak a 500.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import botocore.client
import pytest
from botocore.exceptions import ClientError
from pynamodb import exceptions as px

from chalicelib import errors
from chalicelib.repositories.failures import as_domain_error
from tests.applying import Citizen, call, register

pytestmark = pytest.mark.usefixtures("catalogue")

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def _lost(operation: str) -> ClientError:
    if operation == "TransactWriteItems":
        return ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                            "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
                            "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
    return ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


PYNAMODB_WRAPPERS: list[Callable[[ClientError], Exception]] = [
    lambda e: px.PutError("Failed to put item", e),
    lambda e: px.UpdateError("Failed to update item", e),
    lambda e: px.DeleteError("Failed to delete item", e),
    lambda e: px.TransactWriteError("Failed to write transaction items", e),
    lambda e: e,  # botocore's own, where a repository calls boto3 directly
]


@pytest.mark.parametrize("wrap", PYNAMODB_WRAPPERS)
@pytest.mark.parametrize("operation", ["PutItem", "TransactWriteItems"])
def test_every_lost_condition_is_a_write_conflict(wrap: Callable[[ClientError], Exception], operation: str) -> None:
    mapped = as_domain_error(wrap(_lost(operation)))
    assert isinstance(mapped, errors.WriteConflict), mapped


def test_a_transaction_cancelled_for_a_conflict_is_retryable() -> None:
    cancelled = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "x"},
                             "CancellationReasons": [{"Code": "TransactionConflict"}],
                             "ResponseMetadata": {"HTTPStatusCode": 400}}, "TransactWriteItems")
    assert isinstance(as_domain_error(px.TransactWriteError("x", cancelled)), errors.ServiceUnavailable)


@pytest.fixture()
def every_condition_fails(monkeypatch: pytest.MonkeyPatch, no_scans: Any) -> Iterator[list[str]]:
    """Every DynamoDB write from now on loses its condition, as if another request won."""
    seen: list[str] = []
    armed: list[bool] = [False]
    original = botocore.client.BaseClient._make_api_call

    def losing(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if armed[0] and self.meta.service_model.service_name == "dynamodb" and operation in WRITES:
            seen.append(operation)
            raise _lost(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", losing)
    yield armed  # type: ignore[misc]


def test_write_routes_that_lose_their_condition_answer_409(client: Any, stack: Any, tokens: Any,
                                                           every_condition_fails: Any) -> None:
    person = Citizen(stack, "冲突测")
    register(client, person)
    assert call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})[0] == 200
    status, draft = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, draft
    delegate = Citizen(stack, "受托冲")
    register(client, delegate)
    soon = (datetime.now(timezone(timedelta(hours=8))) + timedelta(days=30)).isoformat(timespec="seconds")
    status, grant = call(client, "POST", "/v1/me/grants", person.headers(),
                         {"delegate_mobile": delegate.mobile, "scopes": ["view"], "expires_at": soon})
    assert status == 201, grant
    admin = tokens.headers("admin")
    cases = [
        ("POST", "/v1/admin/areas", admin, {"area_id": "xinhui", "name": "新会片区", "district": "新会区"}),
        ("POST", "/v1/admin/policies", admin, {"title": "关于年审的通知", "body": "请按时年审。", "category": "notice"}),
        ("PUT", "/v1/me/household", person.headers(), {"members": [person.member()], "version": 1}),
        ("POST", f"/v1/applications/{draft['application_id']}/withdraw", person.headers(),
         {"version": draft["version"]}),
        ("POST", "/v1/applications", person.headers(), {"kind": "graduate"}),
        ("POST", f"/v1/me/grants/{grant['grant_id']}/revoke", person.headers(), {}),  # a 500 before
    ]
    every_condition_fails[0] = True
    for method, path, headers, data in cases:
        status, body = call(client, method, path, headers, json.dumps(data, ensure_ascii=False))
        assert status == 409, (method, path, status, body)
        assert body["error"]["code"] and not body["error"]["message"].isascii(), body
