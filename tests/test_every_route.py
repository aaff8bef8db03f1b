"""Every declared write route, swept: no token is a 401, a wrong role a 403, a body that is not
JSON a 400, a wrong content type a 415 and an oversized body a 413, each with a stable code."""
from __future__ import annotations

import re
from typing import Any

import pytest

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.web import OPERATIONS

ROLE_OF = {"applicant": "applicant", "employer": "employer", "staff": "staff", "admin": "admin",
           "auditor": "auditor"}
WRITES = [op for op in OPERATIONS if op.method != "GET" and op.roles]


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", template)


def _headers(tokens: Any, role: str | None, content_type: str = "application/json") -> dict[str, str]:
    headers = {"Content-Type": content_type}
    if role:
        headers["Authorization"] = f"Bearer {tokens(role)}"
    return headers


@pytest.mark.parametrize("op", WRITES, ids=lambda op: f"{op.method} {op.path}")
def test_write_route_refuses_bad_requests(client: Any, tokens: Any, op: Any) -> None:
    import json

    send = getattr(client.http, op.method.lower())
    path = _path(op.path)
    response = send(path, headers=_headers(tokens, None), body="{}")
    assert response.status_code == 401 and json.loads(response.body)["error"]["code"] == "NOT_AUTHENTICATED"
    outsider = next((r for r in ROLE_OF if r not in op.roles), None)
    if outsider:
        response = send(path, headers=_headers(tokens, outsider), body="{}")
        assert response.status_code == 403, (outsider, response.body)
    if not (op.body or op.body_schema):
        return
    role = op.roles[0]
    cases = [
        (_headers(tokens, role), "{not json", 400, "INVALID_JSON"),
        (_headers(tokens, role), "[1, 2]", 400, "INVALID_JSON"),
        (_headers(tokens, role, "text/plain"), "{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (_headers(tokens, role), '{"x": "' + "a" * 1_100_000 + '"}', 413, "BODY_TOO_LARGE"),
    ]
    for headers, payload, status, code in cases:
        response = send(path, headers=headers, body=payload)
        body = json.loads(response.body)
        assert (response.status_code, body["error"]["code"]) == (status, code), (op.path, payload[:20], body)
        assert body["error"]["message"] and not body["error"]["message"].isascii()  # zh-CN for the citizen
