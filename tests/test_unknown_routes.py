"""An unknown route or method answers the error envelope from the local server (as `make run`
serves it), and no answer, error or not, echoes the caller's token (issue 9 §3).

The deployed API's answers for the same cases are API Gateway's gateway responses: see
tests/infra/test_stack.py::test_the_gateway_answers_in_the_error_envelope.
"""
from __future__ import annotations

from typing import Any

import pytest
import requests

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.web import OPERATIONS

#: A well-formed but forged bearer token: distinctive enough to find anywhere in an answer.
FORGED = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImVjaG8ifQ.eyJzdWIiOiJlY2hvLW1lLWJhY2sifQ.c2lnbmF0dXJlLWVjaG8tY2hlY2s"


def _send(base: str, method: str, path: str, token: str | None = FORGED, body: bytes | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, base + path, headers=headers, data=body, timeout=30)


def _no_echo(response: Any, token: str = FORGED) -> None:
    parts = [token, *token.split(".")]
    text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    assert not any(p in text for p in parts), (response.status_code, text[:400])


def _envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    err = response.json()["error"]
    assert err["code"] == code and not err["message"].isascii() and err["request_id"], err
    return err


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/nope", "/v2/units", "/v1/units/x1/nope/deeper",
                                  "/v1/admin/..%2f..%2fetc", "/favicon.ico"])
@pytest.mark.parametrize("token", [FORGED, None])
def test_an_unknown_route_is_404_route_not_found(local_server: str, path: str, token: str | None) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = _send(local_server, method, path, token, b'{"a":1}' if method == "POST" else None)
        _envelope(response, 404, "ROUTE_NOT_FOUND")
        _no_echo(response)


KNOWN = {op.path for op in OPERATIONS}


@pytest.mark.parametrize("path", sorted(KNOWN))
def test_an_unknown_method_on_every_route_is_405_with_allow(local_server: str, path: str) -> None:
    declared = {op.method for op in OPERATIONS if op.path == path}
    concrete = path.replace("{", "").replace("}", "")  # any id matches the route
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - declared)[:2]:
        response = _send(local_server, method, concrete, FORGED, b"{}")
        _envelope(response, 405, "METHOD_NOT_ALLOWED")
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == declared, response.headers
        _no_echo(response)


def test_no_error_answer_echoes_the_token(local_server: str, tokens: Any) -> None:
    """Refusals of every kind, with the forged token and with a real one."""
    real = tokens("applicant")
    cases = [
        ("GET", "/v1/admin/policies", FORGED, None),  # 401 forged
        ("GET", "/v1/admin/policies", real, None),  # 403 wrong role
        ("GET", "/v1/units?limit=1000", real, None),  # 400 parameter
        ("GET", "/v1/units?cursor=abc.def", real, None),  # 400 cursor
        ("GET", "/v1/units/nosuch", real, None),  # 404 object
        ("POST", "/v1/applications", real, b"{not json"),  # 400 JSON
        ("GET", "/v1/nope", real, None),  # 404 route
        ("DELETE", "/v1/units", real, None),  # 405 method
        ("GET", "/v1/health", real, None),  # 200: nothing echoed either
    ]
    for method, path, token, body in cases:
        response = _send(local_server, method, path, token, body)
        assert response.status_code < 500, (path, response.status_code)
        _no_echo(response, token)
