"""Delegation (授权委托), assisted intake (代办) and supplements (补正) through the routes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.applying import Citizen, call, id_number, register, upload

CN = timezone(timedelta(hours=8))


def registered(stack: Any, client: Any, name: str = "陈大文", born: str = "19850101") -> Citizen:
    person = Citizen(stack, name, born=born)
    register(client, person)
    return person


def with_household(client: Any, person: Citizen) -> None:
    status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
    assert status == 200, body


def in_days(days: float) -> str:
    return (datetime.now(CN) + timedelta(days=days)).isoformat(timespec="seconds")


@pytest.fixture()
def grantor_and_delegate(stack: Any, client: Any) -> tuple[Citizen, Citizen, dict[str, Any]]:
    elder, child = registered(stack, client, "黄老伯", "19500101"), registered(stack, client, "黄小华")
    with_household(client, elder)
    status, app = call(client, "POST", "/v1/applications", elder.headers(), {"kind": "individual"})
    assert status == 201
    return elder, child, app


def test_grant_view_then_act_then_revoke(client: Any, grantor_and_delegate: Any) -> None:
    elder, child, app = grantor_and_delegate
    path = f"/v1/applications/{app['application_id']}"
    status, body = call(client, "GET", path, child.headers())
    assert status == 404  # no grant: the application does not exist for them

    status, grant = call(client, "POST", "/v1/me/grants", elder.headers(),
                         {"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(30)})
    assert status == 201 and grant["status"] == "active", grant
    status, seen = call(client, "GET", path, child.headers())
    assert status == 200 and seen["as"] == "delegate"
    assert elder.id_number not in str(seen) and "*" in seen["members"][0]["id_number"]  # masked for delegates
    status, body = call(client, "PATCH", path, child.headers(), {"version": seen["version"], "declared": {}})
    assert status == 403 and body["error"]["code"] == "OUTSIDE_GRANT"

    status, held = call(client, "GET", "/v1/me/delegations", child.headers())
    assert status == 200 and held["items"][0]["grant_id"] == grant["grant_id"]
    status, listed = call(client, "GET", f"/v1/delegations/{grant['grant_id']}/applications", child.headers())
    assert status == 200 and listed["items"][0]["application_id"] == app["application_id"]

    # one live grant per grantor and delegate: widening it means revoking the old one first
    status, body = call(client, "POST", "/v1/me/grants", elder.headers(),
                        {"delegate_mobile": child.mobile, "scopes": ["act"], "expires_at": in_days(60)})
    assert status == 409 and body["error"]["code"] == "GRANT_EXISTS", body
    status, revoked = call(client, "POST", f"/v1/me/grants/{grant['grant_id']}/revoke", elder.headers())
    assert status == 200 and revoked["status"] == "revoked"
    status, acting = call(client, "POST", "/v1/me/grants", elder.headers(),
                          {"delegate_mobile": child.mobile, "scopes": ["act"], "expires_at": in_days(60)})
    assert status == 201 and acting["scopes"] == ["act", "view"]
    status, changed = call(client, "PATCH", path, child.headers(),
                           {"version": seen["version"], "declared": {"household_size": 1}})
    assert status == 200, changed
    status, activity = call(client, "GET", f"/v1/me/grants/{acting['grant_id']}/activity", elder.headers())
    assert status == 200 and activity["items"][0]["type"] == "updated"
    assert activity["items"][0]["application_id"] == app["application_id"]
    status, timeline = call(client, "GET", f"{path}/timeline", elder.headers())
    assert timeline["items"][-1]["by_delegate"] is True and timeline["items"][-1]["actor_role"] == "delegate"

    status, revoked = call(client, "POST", f"/v1/me/grants/{acting['grant_id']}/revoke", elder.headers())
    assert status == 200 and revoked["status"] == "revoked"
    status, body = call(client, "GET", path, child.headers())
    assert status == 403 and body["error"]["code"] == "GRANT_REVOKED"
    status, body = call(client, "POST", f"/v1/me/grants/{grant['grant_id']}/revoke", elder.headers())
    assert status == 409


def test_grant_bad_input(client: Any, stack: Any, grantor_and_delegate: Any) -> None:
    elder, child, _ = grantor_and_delegate
    cases = [
        ({"delegate_mobile": "13999999999", "scopes": ["view"], "expires_at": in_days(3)}, 404,
         "DELEGATE_NOT_REGISTERED"),
        ({"delegate_mobile": "123", "scopes": ["view"], "expires_at": in_days(3)}, 400, "INVALID_MOBILE"),
        ({"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(-1)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(400)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": child.mobile, "scopes": ["own"], "expires_at": in_days(3)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": elder.mobile, "scopes": ["view"], "expires_at": in_days(3)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": "tomorrow"}, 400, "INVALID_PARAMETER"),
    ]
    for data, status_code, code in cases:
        status, body = call(client, "POST", "/v1/me/grants", elder.headers(), data)
        assert (status, body["error"]["code"]) == (status_code, code), data
    status, grants = call(client, "GET", "/v1/me/grants", elder.headers())
    assert grants["items"] == []  # nothing half-written


def test_expired_grant_is_refused(client: Any, grantor_and_delegate: Any) -> None:
    elder, child, app = grantor_and_delegate
    from chalicelib.deps import deps

    status, grant = call(client, "POST", "/v1/me/grants", elder.headers(),
                         {"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(1)})
    record = deps().grants.get(elder.username and grant and _subject(elder), grant["grant_id"])
    assert record is not None
    from chalicelib.repositories.tables import GrantRecord

    GrantRecord(record["grantor"], grant["grant_id"]).update(
        actions=[GrantRecord.expires_at.set(in_days(-0.01))])
    status, body = call(client, "GET", f"/v1/applications/{app['application_id']}", child.headers())
    assert status == 403 and body["error"]["code"] == "GRANT_EXPIRED"


def _subject(person: Citizen) -> str:
    import jwt

    return jwt.decode(person.token, options={"verify_signature": False})["sub"]


def test_assisted_intake_claimed_and_confirmed(client: Any, stack: Any, tokens: Any) -> None:
    staff = tokens.headers("staff")
    citizen = Citizen(stack, "刘阿婆", born="19450303")
    status, app = call(client, "POST", "/v1/staff/applications", staff, {
        "kind": "individual", "members": [citizen.member()], "contact_mobile": citizen.mobile,
        "note": "上门代办"})
    assert status == 201, app
    assert app["assisted"]["confirmed_at"] is None and app["as"] == "staff"
    path = f"/v1/applications/{app['application_id']}"
    for doc_type in ("id_card", "hukou", "commitment", "application_form", "consent_form"):
        upload(client, staff, app["application_id"], doc_type)
    stack.drain()
    status, fresh = call(client, "GET", f"{path}?reason=%E4%BB%A3%E5%8A%9E", staff)
    consent_form = next(d for d in fresh["documents"] if d["type"] == "consent_form")
    assert consent_form["status"] == "accepted"
    status, body = call(client, "POST", f"{path}/submit", staff, {"version": fresh["version"]})
    assert status == 409 and body["error"]["code"] == "CONSENT_MISSING"
    member_id = fresh["consents"][0]["member_id"]
    status, consented = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/consents", staff,
                             {"member_id": member_id, "document_id": consent_form["document_id"]})
    assert status == 200 and consented["consents"][0]["method"] == "paper"
    status, submitted = call(client, "POST", f"{path}/submit", staff, {"version": consented["version"]})
    assert status == 200 and submitted["status"] == "submitted", submitted

    # the citizen registers later: the application is theirs, and they confirm it
    register(client, citizen)
    status, mine = call(client, "GET", "/v1/me/applications", citizen.headers())
    assert [a["application_id"] for a in mine["items"]] == [app["application_id"]] and mine["items"][0]["assisted"]
    status, confirmed = call(client, "POST", f"{path}/confirm", citizen.headers(), {})
    assert status == 200 and confirmed["assisted"]["confirmation"] == "app"
    status, body = call(client, "POST", f"{path}/confirm", citizen.headers(), {})
    assert status == 409
    status, timeline = call(client, "GET", f"{path}/timeline", citizen.headers())
    roles = {e["type"]: e["actor_role"] for e in timeline["items"]}
    assert roles["assisted_created"] == "staff" and roles["assisted_confirmed"] == "applicant"


def test_staff_do_not_act_on_a_citizens_own_application(client: Any, stack: Any, tokens: Any) -> None:
    person = registered(stack, client)
    with_household(client, person)
    status, app = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    status, body = call(client, "POST", f"/v1/applications/{app['application_id']}/submit", tokens.headers("staff"),
                        {"version": app["version"]})
    assert status == 403


def test_supplement_request_answer_and_reminder(client: Any, stack: Any, tokens: Any) -> None:
    staff = tokens.headers("staff")
    person = registered(stack, client)
    with_household(client, person)
    status, app = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    path = f"/v1/applications/{app['application_id']}"
    for doc_type in ("id_card", "hukou", "commitment", "application_form"):
        upload(client, person.headers(), app["application_id"], doc_type)
    stack.drain()
    status, _ = call(client, "POST", f"{path}/consent", person.headers(), {"text_version": "2026-01", "agree": True})
    status, fresh = call(client, "GET", path, person.headers())
    status, submitted = call(client, "POST", f"{path}/submit", person.headers(), {"version": fresh["version"]})
    assert status == 200, submitted

    sup = f"/v1/staff/applications/{app['application_id']}/supplement"
    status, body = call(client, "POST", sup, staff, {"version": submitted["version"], "documents": ["passport"],
                                                     "note": "x"})
    assert status == 400
    status, body = call(client, "POST", sup, staff, {"version": submitted["version"] - 1, "documents": ["hukou"],
                                                     "note": "请补充户口本首页"})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    status, requested = call(client, "POST", sup, staff, {"version": submitted["version"], "documents": ["hukou"],
                                                          "note": "请补充户口本首页", "deadline": in_days(1)})
    assert status == 200 and requested["status"] == "supplement_requested"
    assert requested["supplement"]["documents"] == ["hukou"]

    # the reminder goes out once, before the deadline
    from chalicelib.domain.applications import remind_supplements

    assert remind_supplements() >= 1  # this one, and any other test's application that is due
    assert remind_supplements() == 0  # each is reminded once: nothing is left to remind
    stack.drain()

    status, body = call(client, "POST", f"{path}/submit", person.headers(), {"version": requested["version"]})
    assert status == 409 and body["error"]["code"] == "DOCUMENTS_INCOMPLETE"  # the new hukou is missing
    upload(client, person.headers(), app["application_id"], "hukou")
    stack.drain()
    status, resubmitted = call(client, "POST", f"{path}/submit", person.headers(), {"version": requested["version"]})
    assert status == 200 and resubmitted["status"] == "submitted"
    status, timeline = call(client, "GET", f"{path}/timeline", person.headers())
    types = [e["type"] for e in timeline["items"]]
    assert "supplement_requested" in types and types.count("supplement_reminded") == 1 and types[-1] == "resubmitted"


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
