"""The OpenAPI document is an SDK source (issue 10 §5, docs/decisions/0024): names a developer would write,
stable; a one-line description and a valid example answer for every operation; objects with properties;
timestamps with their format; statuses as enums. Every check runs over every operation or schema of its
kind, so the next route added without these fails here."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.openapi import document
from tests.documented import format_checker

SNAPSHOT = Path(__file__).with_name("operation_ids.txt")
CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")

#: Response fields named ``status`` that are still plain strings: their lifecycles have no enum in the
#: domain yet (issue 10 §2 gives each one). The list may only shrink: an entry that gains an enum must
#: leave it, and a new bare status fails.
#: Routes that answer in a third party's format, not for an SDK (the payment providers' notifications:
#: WeChat Pay wants 204 without a body, Alipay the text ``success``; docs/decisions/0028).
THIRD_PARTY = {"/v1/payments/wechat/notify", "/v1/payments/alipay/notify"}
BARE_STATUSES = {
    "Health.status",
}


def _doc() -> dict[str, Any]:
    return document()


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in _doc()["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_operation_ids_are_unique_camel_case_and_as_snapshotted() -> None:
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not CAMEL.match(i)] == []
    current = sorted(f"{op['operationId']} {method.upper()} {path}" for path, method, op in _operations())
    recorded = sorted(line for line in SNAPSHOT.read_text().splitlines() if line and not line.startswith("#"))
    assert current == recorded, (
        "an operationId changed, appeared or went: every generated client renames its method. If on purpose, "
        f"edit {SNAPSHOT.name} in the same commit. Added: {sorted(set(current) - set(recorded))}; "
        f"gone: {sorted(set(recorded) - set(current))}")


@pytest.mark.parametrize("path,method,op", list(_operations()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_operation_has_a_description_and_a_valid_example(path: str, method: str, op: dict[str, Any]) -> None:
    assert op["description"].strip() and "\n" not in op["description"]
    success = next(v for k, v in op["responses"].items() if k.startswith("2"))
    if path in THIRD_PARTY:  # the provider's own answer: a 204 without a body, or text with its example
        assert all(Draft202012Validator(m["schema"]).is_valid(m["example"]) for m in success.get("content", {}).values())
        return
    media = success["content"]["application/json"]
    assert "example" in media, (method, path)
    validator = Draft202012Validator({**media["schema"], "components": _doc()["components"]},
                                     format_checker=format_checker())
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(media["example"])]
    assert problems == [], (method, path, problems)


def _walk(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with where it sits (``Name.field[].field``)."""
    if isinstance(schema, dict):
        yield where, schema
        for name, sub in (schema.get("properties") or {}).items():
            yield from _walk(sub, f"{where}.{name}")
        if isinstance(schema.get("items"), dict):
            yield from _walk(schema["items"], f"{where}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            yield from _walk(schema["additionalProperties"], f"{where}{{}}")
        for key in ("allOf", "anyOf", "oneOf"):
            for n, sub in enumerate(schema.get(key, [])):
                yield from _walk(sub, f"{where}<{n}>")


def _schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    """The response schemas (request bodies are pydantic's, checked by their models)."""
    from chalicelib.arrears_schemas import ARREARS_SCHEMAS
    from chalicelib.move_out_schemas import MOVE_OUT_SCHEMAS
    from chalicelib.review_schemas import REVIEW_SCHEMAS
    from chalicelib.campaign_schemas import CAMPAIGN_SCHEMAS
    from chalicelib.import_schemas import IMPORT_SCHEMAS
    from chalicelib.openapi import DOCUMENT_SCHEMAS, ERROR_SCHEMA
    from chalicelib.payment_schemas import PAYMENT_SCHEMAS
    from chalicelib.renewal_schemas import RENEWAL_SCHEMAS
    from chalicelib.schemas import RESPONSE_SCHEMAS

    bodies = {op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
              for _, _, op in _operations()}
    every = {"Error": ERROR_SCHEMA, **RESPONSE_SCHEMAS, **PAYMENT_SCHEMAS, **ARREARS_SCHEMAS, **RENEWAL_SCHEMAS,
             **MOVE_OUT_SCHEMAS, **REVIEW_SCHEMAS, **CAMPAIGN_SCHEMAS,
             **DOCUMENT_SCHEMAS}
    from chalicelib.ticket_schemas import TICKET_SCHEMAS

    every.update(TICKET_SCHEMAS)
    every.update(IMPORT_SCHEMAS)
    for name, schema in every.items():
        if f"#/components/schemas/{name}" not in bodies:
            yield from _walk(schema, name)


def _is(schema: dict[str, Any], kind: str) -> bool:
    types = schema.get("type")
    return types == kind or (isinstance(types, list) and kind in types)


def _says_what_it_holds(schema: dict[str, Any]) -> bool:
    """An object with properties, or a map whose values have a schema of their own (not ``{}``)."""
    values = schema.get("additionalProperties")
    return "properties" in schema or (isinstance(values, dict) and bool(values))


def test_every_object_schema_says_what_it_holds() -> None:
    """An object has properties, or is a map whose values have a schema: an SDK never gets a bare dict.
    No exceptions: the document's own paths and components are typed too (chalicelib/openapi.py
    DOCUMENT_SCHEMAS)."""
    bare = [where for where, s in _schemas() if _is(s, "object") and not _says_what_it_holds(s)
            and not any(k in s for k in ("allOf", "anyOf", "oneOf", "$ref"))]
    assert bare == []


def test_objects_answered_by_the_app_require_their_fields() -> None:
    """Response objects list ``required`` (the fields always present, nullable ones as null)."""
    missing = [where for where, s in _schemas() if s.get("properties") and not s.get("required")]
    assert missing == []


def test_timestamps_and_dates_have_their_format() -> None:
    untyped = [where for where, s in _schemas() if _is(s, "string") and "format" not in s and "pattern" not in s
               and re.search(r"(^|\.)(at|\w+_at|\w+_date)$", where)]
    assert untyped == []


def test_statuses_are_enums() -> None:
    bare = {where for where, s in _schemas() if where.endswith(".status") and _is(s, "string") and "enum" not in s}
    assert bare <= BARE_STATUSES, sorted(bare - BARE_STATUSES)


def test_every_signed_in_post_documents_the_idempotency_key() -> None:
    for path, method, op in _operations():
        if method == "post" and op.get("security"):
            names = {(p["in"], p["name"]) for p in op["parameters"]}
            assert ("header", "Idempotency-Key") in names, path
