"""Every answer the test suite gets from the app is checked against the OpenAPI document: its status
is one the operation documents, and a JSON body matches the documented schema (an error's code is
one the status lists, where it lists them completely). conftest.py installs this for the whole
session on Chalice's test client, so the ~600 tests that reach real records (an estate without a
manager, a lease, a publicity batch) check the document as a side effect; schemathesis
(tests/test_schemathesis_*.py) covers what the tests do not send."""
from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit


class UndocumentedAnswer(AssertionError):
    """An answer the OpenAPI document does not describe."""


@cache
def _document() -> dict[str, Any]:
    import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
    from chalicelib.openapi import document

    return document()


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for path in _document()["paths"]:
        pattern = re.escape(path)
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", pattern)
        out.append((re.compile(f"^{pattern}$"), path))
    return sorted(out, key=lambda item: item[1].count("{"))  # literal segments win over ids


#: RFC 3339 as the app writes it (an offset always: +08:00 or Z); a date is a calendar day.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@cache
def format_checker() -> Any:
    """The document's ``format``s are promises too: a timestamp field answering anything but an ISO 8601
    instant with an offset fails the test that got it."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(DATE_TIME.match(value)))
    checker.checks("date")(lambda value: not isinstance(value, str) or bool(DATE.match(value)))
    return checker


@cache
def _validator(status_key: tuple[str, str, str]) -> Any:
    from jsonschema import Draft202012Validator

    path, method, status = status_key
    content = _document()["paths"][path][method]["responses"][status].get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    return Draft202012Validator({**schema, "components": _document()["components"]}, format_checker=format_checker())


def check(method: str, url: str, status: int, headers: dict[str, str], raw: bytes | str | None) -> None:
    """Raise UndocumentedAnswer if this answer is not what the document says the operation answers."""
    path = urlsplit(url).path
    template = next((t for pattern, t in _templates() if pattern.match(path)), None)
    operation = _document()["paths"].get(template or "", {}).get(method.lower())
    if operation is None:
        return  # not a route of the app (the test asks for an unknown route or method on purpose)
    documented = operation["responses"]
    if str(status) not in documented:
        raise UndocumentedAnswer(f"{method} {template}: {status} is not documented ({sorted(documented)})")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not content_type.startswith("application/json") or not raw:
        return
    data = json.loads(raw)
    validator = _validator((template, method.lower(), str(status)))
    if validator is not None:
        problem = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
        if problem is not None:
            where = "/".join(str(p) for p in problem.absolute_path) or "(root)"
            raise UndocumentedAnswer(f"{method} {template} {status}: at {where}: {problem.message[:300]}")
    if status == 200 and isinstance(data, dict) and data.get("next_cursor") and isinstance(data.get("items"), list):
        limit = _limit(operation, url)
        if limit is not None and len(data["items"]) < limit:  # docs/decisions/0024: full or last
            raise UndocumentedAnswer(f"{method} {template}: a short page ({len(data['items'])} of {limit}) carries a "
                                     "cursor: a client that stops on a short page would miss items")
    codes = documented[str(status)].get("x-error-codes")
    if codes is not None and isinstance(data, dict) and isinstance(data.get("error"), dict):
        code = data["error"].get("code")
        if code not in codes:
            raise UndocumentedAnswer(f"{method} {template}: {status} {code} is not documented ({codes})")


def _limit(operation: dict[str, Any], url: str) -> int | None:
    """The page size asked for (the query's ``limit``, else the documented default)."""
    asked = parse_qs(urlsplit(url).query).get("limit")
    if asked:
        try:
            return int(asked[0])
        except ValueError:
            return None
    spec = next((p for p in operation.get("parameters", []) if p.get("name") == "limit"), None)
    default = (spec or {}).get("schema", {}).get("default")
    return default if isinstance(default, int) else None


def install(monkeypatch: Any) -> None:
    """Check every answer Chalice's test client returns (for the rest of the session)."""
    from chalice.test import TestHTTPClient

    original = TestHTTPClient.request

    def request(self: Any, method: str, path: str, headers: Any = None, body: bytes = b"") -> Any:
        response = original(self, method, path, headers=headers, body=body)
        check(method, path, response.status_code, dict(response.headers or {}), response.body)
        return response

    monkeypatch.setattr(TestHTTPClient, "request", request)
