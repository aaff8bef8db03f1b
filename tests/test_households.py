"""Households through the routes: registration (实名登记) and household input refused with the
right code."""
from __future__ import annotations

from typing import Any

from tests.applying import Citizen, call, id_number, register
from tests.test_grants import registered


def test_registration_bad_input(client: Any, stack: Any) -> None:
    person = Citizen(stack)
    bad = person.id_number[:-1] + ("0" if person.id_number[-1] != "0" else "1")
    for data, code in (({"name": "甲乙", "id_number": bad}, "INVALID_ID_NUMBER"),
                       ({"name": "甲乙", "id_number": "44070319901301123X"}, "INVALID_ID_NUMBER"),
                       ({"name": "", "id_number": person.id_number}, "INVALID_PARAMETER"),
                       ({"name": "甲", "id_number": person.id_number}, "INVALID_PARAMETER"),
                       ({"name": "甲乙", "id_number": person.id_number, "extra": 1}, "INVALID_PARAMETER")):
        status, body = call(client, "POST", "/v1/me", person.headers(), data)
        assert status == 400 and body["error"]["code"] == code, (data, body)
    status, body = call(client, "GET", "/v1/me", person.headers())
    assert status == 403 and body["error"]["code"] == "REGISTRATION_REQUIRED"
    register(client, person, name="甲乙")
    status, body = call(client, "POST", "/v1/me", person.headers(), {"name": "甲乙", "id_number": person.id_number})
    assert status == 409 and body["error"]["code"] == "ALREADY_REGISTERED"
    # someone else with this ID number: the real-name check refuses a name that is not its owner's
    # (second claims by the owner's name are tests/test_real_name.py)
    other = Citizen(stack)
    status, body = call(client, "POST", "/v1/me", other.headers(), {"name": "丙丁", "id_number": person.id_number})
    assert status == 409 and body["error"]["code"] == "REAL_NAME_MISMATCH"


def test_household_bad_input(client: Any, stack: Any) -> None:
    person = registered(stack, client)
    child = {"relation": "child", "name": "小明", "id_number": id_number("20200101")}
    cases = [
        ({"members": []}, "INVALID_PARAMETER"),
        ({"members": [child]}, "INVALID_PARAMETER"),  # no main applicant
        ({"members": [person.member(), person.member("spouse")]}, "INVALID_PARAMETER"),  # same ID twice
        ({"members": [{**person.member(), "id_number": "123"}]}, "INVALID_ID_NUMBER"),
        ({"members": [person.member(), {**child, "relation": "self"}]}, "INVALID_PARAMETER"),
        ({"members": [{**person.member(), "id_number": id_number()}]}, "INVALID_PARAMETER"),  # not the caller
        ({"members": [{**person.member(), "monthly_income": -1}]}, "INVALID_PARAMETER"),
    ]
    for data, code in cases:
        status, body = call(client, "PUT", "/v1/me/household", person.headers(), data)
        assert status == 400 and body["error"]["code"] == code, (data, body)
    status, body = call(client, "GET", "/v1/me/household", person.headers())
    assert status == 404 and body["error"]["code"] == "HOUSEHOLD_NOT_FOUND"
    status, created = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member(), child]})
    assert status == 200
    status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
    assert status == 400 and body["error"]["field"] == "version"
    status, body = call(client, "PUT", "/v1/me/household", person.headers(),
                        {"members": [person.member()], "version": created["version"] + 1})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
