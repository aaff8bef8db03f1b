"""The department HTTP contract: errors, request signing, and strict validation of answers.

Stdlib only (this runs in every department Lambda). See docs/decisions/0011-departments.md.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import datetime
from typing import Any

DEPARTMENTS = ("public_security", "real_estate", "civil_affairs", "vehicles", "social_insurance", "business",
               "veterans", "provident_fund")
MAX_ANSWER_BYTES = 1_048_576  # a department's answer for one household is a few KB


class DepartmentError(Exception):
    """A department could not give a usable answer. Messages never carry an ID number or a name:
    they end up in the workflow's history and on the staff review page."""


class DepartmentUnavailable(DepartmentError):
    """Connection refused or reset, HTTP 5xx, 429 or 408: the state machine retries on this NAME."""


class DepartmentTimeout(DepartmentError):
    """No answer within the timeout (socket timeout while connecting or reading)."""


class DepartmentGarbage(DepartmentError):
    """An answer that is not JSON or breaks the contract; retrying would not change it."""


class DepartmentRejected(DepartmentError):
    """The department refused the request (HTTP 401/403: signature or key; other 4xx; a redirect).
    A configuration problem a retry cannot fix: not retried; the run goes to a person."""


# --- signing ---------------------------------------------------------------------------------------
def sign(key: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``timestamp + "\\n" + body`` with the city's shared key."""
    return hmac.new(key.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


# --- the facts each department answers (money in fen, areas in m²) ------------------------------------
# Types: "bool", "str", "str|null", "int" (a non-negative integer: money in fen, months, counts),
# "area" (a non-negative finite number). A list holds one item schema. A key ending in "?" may be
# absent. Keys a department sends that are not listed here are dropped (collect only what the rules
# need): chalicelib/domain/verification.py assemble() reads exactly these.
FACTS: dict[str, dict[str, Any]] = {
    "public_security": {"identity_valid": "bool", "hukou_city": "str|null", "residence_permit_city": "str|null"},
    "real_estate": {"properties": [{"city": "str", "floor_area": "area"}]},
    "civil_affairs": {"subsistence_allowance": "bool", "extreme_poverty": "bool", "marital_status": "str"},
    "vehicles": {"vehicles": [{"value": "int", "plate_masked?": "str", "kind?": "str"}]},
    "social_insurance": {"months_in_city": "int", "employer_in_city": "bool"},
    "business": {"companies": [{"registered_capital": "int", "role?": "str", "name?": "str"}]},
    "veterans": {"veteran": "bool", "entitled_group": "bool"},
    "provident_fund": {"monthly_deposit_base": "int", "loans": "int"},
}


def _check_value(kind: Any, value: Any, where: str) -> Any:
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise DepartmentGarbage(f"{where}: expected a list")
        return [_check_object(kind[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str":
        ok = isinstance(value, str) and len(value) <= 200
    elif kind == "str|null":
        ok = value is None or (isinstance(value, str) and len(value) <= 200)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif kind == "area":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
              and value >= 0)
    else:  # pragma: no cover - a mistake in FACTS
        raise AssertionError(kind)
    if not ok:
        raise DepartmentGarbage(f"{where}: expected {kind}")
    return value


def _check_object(schema: dict[str, Any], value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DepartmentGarbage(f"{where}: expected an object")
    out = {}
    for key, kind in schema.items():
        name = key.rstrip("?")
        if name not in value:
            if key.endswith("?"):
                continue
            raise DepartmentGarbage(f"{where}.{name}: missing")
        out[name] = _check_value(kind, value[name], f"{where}.{name}")
    return out


def check_facts(department: str, facts: Any, where: str = "facts") -> dict[str, Any]:
    """The department's facts for one person, checked and reduced to the contract's keys."""
    return _check_object(FACTS[department], facts, where)


def parse_answer(department: str, query_id: str, member_ids: list[str], raw: bytes) -> dict[str, Any]:
    """Validate a department's raw answer strictly; return the adapter's answer (persons in the
    order asked). Every member asked is answered exactly once; "no record" (found false, facts {})
    is an answer."""
    if len(raw) > MAX_ANSWER_BYTES:
        raise DepartmentGarbage(f"{department}: answer larger than {MAX_ANSWER_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DepartmentGarbage(f"{department}: answer is not JSON") from None
    if not isinstance(data, dict):
        raise DepartmentGarbage(f"{department}: answer is not an object")
    if data.get("query_id") != query_id:
        raise DepartmentGarbage(f"{department}: answer is for another query")
    if data.get("department") != department:
        raise DepartmentGarbage(f"{department}: answer names another department")
    answered_at = data.get("answered_at")
    try:
        if not isinstance(answered_at, str):
            raise ValueError
        when = datetime.fromisoformat(answered_at)
        if when.tzinfo is None:  # staff see it as an instant (RFC 3339, with its offset)
            raise ValueError
    except ValueError:
        raise DepartmentGarbage(f"{department}: answered_at is not an ISO 8601 time with an offset") from None
    persons = data.get("persons")
    if not isinstance(persons, list):
        raise DepartmentGarbage(f"{department}: persons is not a list")
    asked = set(member_ids)
    answers: dict[str, dict[str, Any]] = {}
    for i, person in enumerate(persons):
        where = f"{department}: persons[{i}]"
        if not isinstance(person, dict):
            raise DepartmentGarbage(f"{where}: expected an object")
        member_id = person.get("member_id")
        if not isinstance(member_id, str) or member_id not in asked:
            raise DepartmentGarbage(f"{where}: answers a member that was not asked about")
        if member_id in answers:
            raise DepartmentGarbage(f"{where}: member {member_id} answered twice")
        found, facts = person.get("found"), person.get("facts")
        if not isinstance(found, bool):
            raise DepartmentGarbage(f"{where}.found: expected bool")
        if not found:
            if facts not in ({}, None):
                raise DepartmentGarbage(f"{where}: facts given for a person without a record")
            facts = {}
        else:
            facts = check_facts(department, facts, f"{where}.facts")
        answers[member_id] = {"member_id": member_id, "found": found, "facts": facts}
    missing = [m for m in member_ids if m not in answers]
    if missing:
        raise DepartmentGarbage(f"{department}: no answer for member(s) {', '.join(missing)}")
    return {"department": department, "status": "answered", "answered_at": when.isoformat(),
            "persons": [answers[m] for m in member_ids]}
