"""The OpenAPI document and the routes are the same set, and the document is valid OpenAPI 3."""
from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tests.conftest import body


def _routes(app: Any) -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.routes.items() for method in methods}


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in doc["paths"].items() for method in ops}


def test_every_route_is_documented_and_nothing_else(client: Any, app: Any) -> None:
    doc = body(client.http.get("/v1/openapi.json"))
    assert _routes(app) == _documented(doc)


def test_document_is_valid_openapi(client: Any) -> None:
    validate(body(client.http.get("/v1/openapi.json")))


def test_query_parameters_match_what_routes_validate(client: Any) -> None:
    doc = body(client.http.get("/v1/openapi.json"))
    units = {p["name"] for p in doc["paths"]["/v1/units"]["get"]["parameters"]}
    assert units == {"area", "estate", "layout", "status", "min_area", "max_rent", "cursor", "limit"}
    assert client.http.get("/v1/units?undocumented=1").status_code == 400


#: Writes anyone may send: they store nothing (the self-assessment judges answers and forgets them).
PUBLIC_WRITES = {("/v1/self-assessment", "post")}


def test_protected_routes_say_so(client: Any) -> None:
    doc = body(client.http.get("/v1/openapi.json"))
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1/admin") or (method != "get" and (path, method) not in PUBLIC_WRITES):
                assert op.get("security"), (method, path)
                assert "401" in op["responses"] and "403" in op["responses"]
