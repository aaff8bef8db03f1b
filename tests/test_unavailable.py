"""A throttled or unreachable DynamoDB/S3 is a 503 with Retry-After on every route, reads included.

The failure is the real botocore error raised at the client (``BaseClient._make_api_call``, where
botocore raises it after its retries), not a patched domain function: whatever the repositories
and PynamoDB do with it on the way up, the answer must be 503 SERVICE_UNAVAILABLE, zh-CN, without
the dependency's own words, and with Retry-After.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

import botocore.client
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.web import OPERATIONS, Operation

SECRET = "10.9.8.7"  # an internal address a dependency's message may carry: never in an answer


def _client_error(code: str, status: int) -> Callable[[str], Exception]:
    return lambda op: ClientError({"Error": {"Code": code, "Message": f"{code} at {SECRET}"},
                                   "ResponseMetadata": {"HTTPStatusCode": status}}, op)


FAILURES: dict[str, Callable[[str], Exception]] = {
    "ProvisionedThroughputExceeded": _client_error("ProvisionedThroughputExceededException", 400),
    "ThrottlingException": _client_error("ThrottlingException", 400),
    "RequestLimitExceeded": _client_error("RequestLimitExceeded", 400),
    "InternalServerError": _client_error("InternalServerError", 500),
    "ServiceUnavailable": _client_error("ServiceUnavailable", 503),
    "SlowDown": _client_error("SlowDown", 503),
    "EndpointConnectionError": lambda op: EndpointConnectionError(endpoint_url=f"https://{SECRET}"),
    "ReadTimeoutError": lambda op: ReadTimeoutError(endpoint_url=f"https://{SECRET}"),
    "ConnectTimeoutError": lambda op: ConnectTimeoutError(endpoint_url=f"https://{SECRET}"),
}


class Outage:
    """Makes every call to the named services fail with one botocore error, and counts the calls."""

    def __init__(self) -> None:
        self.services: set[str] = set()
        self.failure: Callable[[str], Exception] | None = None
        self.calls = 0

    def __call__(self, services: set[str], failure: Callable[[str], Exception]) -> None:
        self.services, self.failure, self.calls = services, failure, 0

    def heal(self) -> None:
        self.failure = None


@pytest.fixture()
def outage(monkeypatch: pytest.MonkeyPatch, no_scans: Any) -> Iterator[Outage]:
    state = Outage()
    original = botocore.client.BaseClient._make_api_call  # the no-scan recorder, itself wrapping botocore

    def failing(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if state.failure is not None and self.meta.service_model.service_name in state.services:
            state.calls += 1
            raise state.failure(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing)
    yield state
    state.heal()


#: Read routes the sweep's requests never take to a table, and why (a new route is either reached or named).
NO_TABLE_FOR_THE_SWEEP = {
    "/v1/health": "answers from the process",
    "/v1/openapi.json": "the generated document",
    "/v1/consent-text": "the city's file",
    "/v1/document-requirements": "the city's file",
    "/v1/ticket-categories": "the city's file",
    "/v1/staff/ticket-replies": "the city's canned replies (file)",
    "/v1/admin/exports/{export_id}": "the placeholder id is not an export id: 404 before storage",
    "/v1/admin/holiday-calendars/{year}": "the placeholder is not a year: 400 before storage",
}


def _forget_process_caches() -> None:
    """The per-process caches a Lambda keeps between requests (the merged rule book, the holiday
    overrides): what is measured is a cold read, whichever tests ran before in this process."""
    from chalicelib.domain import rule_versions, working_days

    rule_versions.clear_cache()
    working_days.clear_cache()


def _assert_503(response: Any, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.body[:300])
    err = json.loads(response.body)["error"]
    assert err["code"] == "SERVICE_UNAVAILABLE" and not err["message"].isascii(), (what, err)
    assert "detail" not in err and SECRET not in response.body.decode(), what
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers.get("retry-after", "").isdigit() and int(headers["retry-after"]) > 0, (what, headers)


REQUIRED = {"bbox": "112.9,22.4,113.3,22.8", "lat": "22.6", "lng": "113.08", "estate_id": "fuzeyuan",
            "from": "2026-09-30", "add": "3"}


def _url(op: Operation) -> str:
    path = re.sub(r"\{[^}]+\}", "x1", op.path)
    query = [f"{p.name}={REQUIRED[p.name]}" for p in op.params if p.required and p.name != "reason"]
    if any(p.name == "reason" for p in op.params):
        query.append("reason=%E5%AE%A1%E6%A0%B8")  # 审核: staff reads name a reason
    return path + ("?" + "&".join(query) if query else "")


GETS = [op for op in OPERATIONS if op.method == "GET"]


def test_every_read_route_answers_503_when_dynamodb_is_throttled(client: Any, tokens: Any, outage: Outage,
                                                                   stack: Any) -> None:
    """Every GET route, with a caller it admits: if it reaches DynamoDB it answers 503."""
    names = list(FAILURES)
    reached: list[str] = []
    for n, op in enumerate(GETS):
        failure = names[n % len(names)]
        _forget_process_caches()  # else a route whose answer an earlier test cached never reaches a table
        outage({"dynamodb", "s3"}, FAILURES[failure])
        headers = {"Authorization": f"Bearer {tokens(op.roles[0])}"} if op.roles else {}
        response = client.http.get(_url(op), headers=headers)
        what = f"GET {op.path} ({failure})"
        if outage.calls:
            reached.append(op.path)
            _assert_503(response, what)
        else:  # a route that needs no table (health, the OpenAPI document, the questions)
            assert response.status_code < 500, (what, response.body[:300])
    # the sweep means something only if every read route that can reach a table did: the others are named
    assert sorted(set(op.path for op in GETS) - set(reached)) == sorted(NO_TABLE_FOR_THE_SWEEP)


WRITES = [
    ("POST", "/v1/applications", "applicant", {"kind": "individual"}),
    ("POST", "/v1/me/grants/x1/revoke", "applicant", {}),
    ("POST", "/v1/admin/areas", "admin", {"area_id": "newarea", "name": "新片区", "district": "新区"}),
    ("POST", "/v1/admin/policies", "admin", {"title": "通知", "body": "正文", "category": "notice"}),
    ("POST", "/v1/staff/applications/x1/approve", "staff", {"version": 1}),
    ("POST", "/v1/admin/rounds/x1/close", "admin", {"version": 1}),
    ("POST", "/v1/rounds/x1/registrations", "applicant", {}),
    ("POST", "/v1/rounds/x1/choices", "applicant", {"unit_id": "fuzeyuan.b1.100"}),
    ("POST", "/v1/me/lease/x1/confirm", "applicant", {"version": 1}),
    ("POST", "/v1/staff/objections/x1/resolve", "staff", {"decision": "dismissed", "reason": "举报内容经核查无依据", "version": 1}),
    ("POST", "/v1/admin/units/x1/status", "admin", {"status": "reserved", "version": 1, "reason": "维修"}),
]


@pytest.mark.parametrize("failure", ["ProvisionedThroughputExceeded", "EndpointConnectionError", "SlowDown"])
def test_writes_answer_503_when_dynamodb_is_unavailable(client: Any, tokens: Any, outage: Outage, stack: Any,
                                                         failure: str) -> None:
    for method, path, role, data in WRITES:
        outage({"dynamodb"}, FAILURES[failure])
        headers = {"Authorization": f"Bearer {tokens(role)}", "Content-Type": "application/json"}
        response = getattr(client.http, method.lower())(path, headers=headers, body=json.dumps(data))
        assert outage.calls, f"{method} {path} never reached DynamoDB: the case tests nothing"
        _assert_503(response, f"{method} {path} ({failure})")


@pytest.mark.parametrize("failure", ["SlowDown", "ServiceUnavailable", "EndpointConnectionError"])
def test_s3_unavailable_is_a_service_unavailable_error(stack: Any, outage: Outage, failure: str) -> None:
    """S3 calls go through the same classification: the real botocore error from the S3 client."""
    from chalicelib import errors
    from chalicelib.deps import deps
    from chalicelib.repositories.failures import as_domain_error

    outage({"s3"}, FAILURES[failure])
    with pytest.raises(Exception) as raised:
        deps().storage.delete("applications/x1/documents/d1")
    assert outage.calls == 1
    assert isinstance(as_domain_error(raised.value), errors.ServiceUnavailable)


def test_an_unknown_aws_error_is_still_a_500_not_a_503(client: Any, outage: Outage, stack: Any) -> None:
    """The classification is not a blanket: a validation error from DynamoDB is our bug, a 500."""
    outage({"dynamodb"}, _client_error("ValidationException", 400))
    response = client.http.get("/v1/units/fuzeyuan.b1.100")
    assert outage.calls and response.status_code == 500
    assert json.loads(response.body)["error"]["code"] == "INTERNAL_ERROR"
