"""The OpenAPI document and the routes are the same set, the document is valid OpenAPI 3.1, and EVERY
operation documents what its declaration says: path and query parameters, body, success answer,
security and roles, and every error status it can answer (each with the error envelope). Whether
the answers themselves match is schemathesis' part (tests/test_schemathesis_*.py)."""
from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib import errors
from chalicelib.openapi import error_answers
from chalicelib.web import OPERATIONS, Operation
from tests.conftest import body

#: Roles the test stack has a user for (a route allowing none of them is only checked anonymously).
TOKEN_ROLES = ("applicant", "employer", "staff", "admin", "auditor")


def _routes(app: Any) -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.routes.items() for method in methods}


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in doc["paths"].items() for method in ops}


@pytest.fixture(scope="module")
def doc(app: Any) -> dict[str, Any]:
    from chalice.test import Client

    with Client(app) as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    return body(response)


def test_every_route_is_documented_and_nothing_else(doc: dict[str, Any], app: Any) -> None:
    assert _routes(app) == _documented(doc)
    assert {(op.path, op.method.lower()) for op in OPERATIONS} == _routes(app)  # every route is declared


def test_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    names = set(doc["components"]["schemas"])
    dangling = {ref for ref in _refs(doc) if ref.rsplit("/", 1)[-1] not in names}
    assert not dangling


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_operation_documents_its_declaration(doc: dict[str, Any], op: Operation) -> None:
    documented = doc["paths"][op.path][op.method.lower()]
    if op.raw is not None:  # a third party's format (a provider's notification): documented as declared, public
        assert documented["requestBody"] == op.raw["requestBody"] and documented["responses"] == op.raw["responses"]
        assert "security" not in documented and op.roles is None and not op.params
        return
    params = {(p["in"], p["name"]): p for p in documented["parameters"]}
    # path parameters: exactly the template's, all required
    path_names = re.findall(r"{(\w+)}", op.path)
    assert sorted(n for i, n in params if i == "path") == sorted(path_names)
    assert all(params[("path", n)]["required"] for n in path_names)
    # query parameters: exactly the ones the route validates, with their types and bounds
    assert {n for i, n in params if i == "query"} == {p.name for p in op.params}
    for p in op.params:
        assert params[("query", p.name)] == p.openapi()
    # body: documented exactly when the route reads one, and its schema is there
    if op.body or op.body_schema:
        schema = documented["requestBody"]["content"]["application/json"]["schema"]
        assert _resolve(doc, schema).get("type") == "object" or "properties" in _resolve(doc, schema)
    else:
        assert "requestBody" not in documented
    # success: the declared status with the declared response schema
    ok = documented["responses"][str(op.status)]["content"]["application/json"]["schema"]
    if op.response:
        assert ok == {"$ref": f"#/components/schemas/{op.response}"}
        assert op.response in doc["components"]["schemas"]
    # security: the roles, and the answers a protected route gives the unauthenticated and the wrong role
    if op.roles is not None:
        assert documented["security"] == [{"bearer": []}] and documented["x-roles"] == list(op.roles)
    else:
        assert "security" not in documented
    # errors: every status the declaration implies, each with the error envelope; 503 says when to retry
    expected = error_answers(op, _body_fields(op))
    assert {int(s) for s in documented["responses"]} == {op.status, *expected}
    for status in expected:
        answer = documented["responses"][str(status)]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Retry-After" in documented["responses"]["503"]["headers"]


def _body_fields(op: Operation) -> list[str]:
    from chalicelib.openapi import body_fields

    return body_fields(op)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_error_statuses_follow_from_the_declaration(op: Operation) -> None:
    answers = error_answers(op, _body_fields(op))
    assert {400, 500, 503} <= set(answers)  # an unknown query parameter, the unexpected, a busy dependency
    assert (401 in answers and 403 in answers) == (op.roles is not None)
    assert "NOT_AUTHENTICATED" in answers.get(401, ["NOT_AUTHENTICATED"])
    if "{" in op.path:
        assert 404 in answers
    if op.method != "GET":
        assert 409 in answers
    if op.body or op.body_schema:
        assert {413, 415} <= set(answers)


def test_an_unknown_record_in_a_filter_is_a_documented_404(client: Any, catalogue: Any,
                                                            doc: dict[str, Any]) -> None:
    """The issue's example: GET /v1/estates?area=<unknown> is a 404 AREA_NOT_FOUND, and says so."""
    response = client.http.get("/v1/estates?area=nowhere")
    assert response.status_code == 404 and body(response)["error"]["code"] == "AREA_NOT_FOUND"
    assert "AREA_NOT_FOUND" in doc["paths"]["/v1/estates"]["get"]["responses"]["404"]["x-error-codes"]


def test_raises_declared_on_a_route_are_documented(doc: dict[str, Any]) -> None:
    declared = [op for op in OPERATIONS if op.raises]
    assert declared  # the mechanism is in use
    for op in declared:
        responses = doc["paths"][op.path][op.method.lower()]["responses"]
        for cls in op.raises:
            from chalicelib.openapi import answer

            status, code = answer(cls)
            assert str(status) in responses, (op.path, cls)
            if "x-error-codes" in responses[str(status)]:
                assert code in responses[str(status)]["x-error-codes"]
    assert errors.HouseholdNotFound in next(op for op in OPERATIONS if op.path == "/v1/me/household").raises


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_route_refuses_an_undocumented_query_parameter(client: Any, tokens: Any, op: Operation) -> None:
    """What the document leaves out, the route refuses: a query parameter it does not list is a 400."""
    path = re.sub(r"{\w+}", "x1", op.path)
    headers = {"Content-Type": "application/json"}
    role = next((r for r in (op.roles or ()) if r in TOKEN_ROLES), None)
    if op.roles is not None and role is None:
        pytest.skip(f"no test user for {op.roles}")
    if role:
        headers["Authorization"] = f"Bearer {tokens(role)}"
    send = getattr(client.http, op.method.lower())
    response = send(f"{path}?undocumented=1", headers=headers, body="{}")
    assert response.status_code == 400, (op.path, response.body[:200])
    assert body(response)["error"]["field"] == "undocumented"


#: Writes anyone may send: they store nothing (the self-assessment judges answers and forgets them).
PUBLIC_WRITES = {("/v1/self-assessment", "post"),
                 # the payment providers' notifications: no login, the provider's signature decides (0028)
                 ("/v1/payments/wechat/notify", "post"), ("/v1/payments/alipay/notify", "post")}


def test_protected_routes_say_so(doc: dict[str, Any]) -> None:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1/admin") or (method != "get" and (path, method) not in PUBLIC_WRITES):
                assert op.get("security"), (method, path)
                assert "401" in op["responses"] and "403" in op["responses"]
