"""Assisted intake (代办) and supplements (补正) by staff, through the routes."""
from __future__ import annotations

from typing import Any

from tests.applying import Citizen, call, register, upload
from tests.test_grants import in_days, registered, with_household


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
