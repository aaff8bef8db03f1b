"""Cursors are signed with the stack's secret: an edited, forged or replayed cursor is a 400.

Every paginated route (the OPERATIONS with a ``cursor`` parameter) is swept with forgeries, so a
new list route is covered the day it is declared.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.web import OPERATIONS

pytestmark = pytest.mark.usefixtures("catalogue")

PAGED = [op for op in OPERATIONS if op.method == "GET" and any(p.name == "cursor" for p in op.params)]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _real_cursor(client: Any) -> str:
    page = json.loads(client.http.get("/v1/units?limit=1").body)
    assert page["next_cursor"], page
    return str(page["next_cursor"])


def _edited(cursor: str) -> str:
    """The same cursor with its start key moved (the payload re-encoded, the signature kept)."""
    body, _, signature = cursor.partition(".")
    payload = json.loads(_unb64(body))
    payload["k"] = {k: v[:-1] + ("0" if v[-1] != "0" else "1") for k, v in payload["k"].items()}
    return _b64(json.dumps(payload, separators=(",", ":")).encode()) + ("." + signature if signature else "")


def _forgeries(real: str) -> dict[str, str]:
    body, _, signature = real.partition(".")
    return {
        "start key edited": _edited(real),
        "unsigned (the payload alone)": body,
        "signature of another cursor": body + "." + _b64(b"\x00" * 32),
        "signature truncated": body + "." + signature[:20],
        "signature not base64": body + ".!!!!",
        "empty payload": "." + signature,
        "garbage": "bm90IGEgY3Vyc29y",
    }


def test_an_edited_cursor_is_refused_where_the_real_one_pages(client: Any) -> None:
    real = _real_cursor(client)
    assert client.http.get(f"/v1/units?limit=1&cursor={real}").status_code == 200
    r = client.http.get(f"/v1/units?limit=1&cursor={_edited(real)}")
    assert r.status_code == 400 and json.loads(r.body)["error"]["code"] == "INVALID_CURSOR", r.body


def test_the_signature_is_the_stack_secret(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cursor signed with another secret (another stack, an old secret) is refused."""
    from chalicelib.repositories import paging

    real = _real_cursor(client)
    monkeypatch.setattr(paging, "_cursor_key", lambda: b"another stack's secret")
    forged = _real_cursor(client)  # well formed, signed, right scope: with the wrong key
    monkeypatch.undo()
    assert forged != real
    r = client.http.get(f"/v1/units?limit=1&cursor={forged}")
    assert r.status_code == 400 and json.loads(r.body)["error"]["code"] == "INVALID_CURSOR"


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


#: Values for the required query parameters of paginated routes (an estate's arrears list).
REQUIRED = {"estate_id": "fuzeyuan"}


@pytest.mark.parametrize("op", PAGED, ids=lambda op: op.path)
def test_every_paginated_route_refuses_forged_cursors(client: Any, tokens: Any, op: Any) -> None:
    real = _real_cursor(client)
    headers = {"Authorization": f"Bearer {tokens(op.roles[0])}"} if op.roles else {}
    extra = "&reason=%E5%AE%A1%E6%A0%B8" if any(p.name == "reason" for p in op.params) else ""
    extra += "".join(f"&{p.name}={REQUIRED[p.name]}" for p in op.params if p.required)
    cases = _forgeries(real)
    if op.path != "/v1/units" and "{" not in op.path and op.roles != ("applicant",):
        # a genuine cursor replayed on another list (where the list itself is found and readable)
        cases["a real cursor of another list"] = real
    for name, cursor in cases.items():
        r = client.http.get(f"{_url(op.path)}?cursor={cursor}{extra}", headers=headers)
        assert r.status_code == 400, (op.path, name, r.status_code, r.body[:200])
        err = json.loads(r.body)["error"]
        assert (err["code"], err.get("field")) == ("INVALID_CURSOR", "cursor"), (op.path, name, err)


def test_the_sweep_covers_the_lists(client: Any) -> None:
    assert len(PAGED) >= 10 and {"/v1/units", "/v1/estates", "/v1/staff/review"} <= {op.path for op in PAGED}


def test_cursors_are_made_in_one_place() -> None:
    """Every cursor comes from repositories/paging.py (encode_cursor, or sign for a composite one):
    a hand-made base64 cursor elsewhere would be unsigned, and refused by the check at the edge."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "chalicelib"
    sources = {p: p.read_text(encoding="utf-8") for p in root.rglob("*.py") if p.name != "paging.py"}
    makers = [str(p.relative_to(root)) for p, text in sources.items() if "b64encode" in text and "cursor" in text]
    assert makers == [], makers
