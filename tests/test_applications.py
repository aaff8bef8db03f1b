"""Applying end to end through the routes with real tokens: register, household, application,
documents (presigned POST to moto's S3, checked by the S3-event worker), consent, submit, timeline."""
from __future__ import annotations

from typing import Any

import pytest

from tests.applying import EXE, PDF, PNG, Citizen, call, id_number, register, upload


@pytest.fixture()
def family(stack: Any, client: Any) -> dict[str, Any]:
    """A registered main applicant with a spouse (registered too) and a child."""
    main, spouse = Citizen(stack, "张三明"), Citizen(stack, "李四芳")
    for person in (main, spouse):
        register(client, person)
    child_id = id_number("20150601")
    status, household = call(client, "PUT", "/v1/me/household", main.headers(), {"members": [
        main.member(), spouse.member("spouse"),
        {"relation": "child", "name": "张小明", "id_number": child_id}]})
    assert status == 200, household
    return {"main": main, "spouse": spouse, "household": household, "child_id": child_id}


def new_application(client: Any, main: Citizen, kind: str = "individual") -> dict[str, Any]:
    status, app = call(client, "POST", "/v1/applications", main.headers(), {"kind": kind})
    assert status == 201, app
    return app


def complete(client: Any, stack: Any, fam: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
    """Upload every required document and have every adult consent; returns the fresh application."""
    main, spouse = fam["main"], fam["spouse"]
    for doc_type in ("id_card", "hukou", "commitment", "application_form"):
        upload(client, main.headers(), app["application_id"], doc_type)
    stack.drain()
    for person in (main, spouse):
        status, body = call(client, "POST", f"/v1/applications/{app['application_id']}/consent", person.headers(),
                            {"text_version": "2026-01", "agree": True})
        assert status == 200, body
    status, fresh = call(client, "GET", f"/v1/applications/{app['application_id']}", main.headers())
    assert status == 200
    return fresh


def test_household_derives_age_and_sex_from_the_id_number(family: dict[str, Any]) -> None:
    members = {m["relation"]: m for m in family["household"]["members"]}
    assert members["self"]["birth_date"] == "1990-01-01" and members["self"]["adult"] is True
    assert members["child"]["adult"] is False and members["child"]["age"] >= 10
    assert members["self"]["sex"] == "male"  # tests.applying.id_number: an odd sequence digit by default
    assert family["household"]["version"] == 1


def test_the_whole_citizen_path(client: Any, stack: Any, family: dict[str, Any]) -> None:
    main = family["main"]
    app = new_application(client, main)
    assert app["status"] == "draft" and app["as"] == "applicant"
    assert {c["status"] for c in app["consents"]} == {"pending"} and len(app["consents"]) == 2  # adults only
    path = f"/v1/applications/{app['application_id']}"

    status, body = call(client, "POST", f"{path}/submit", main.headers(), {"version": app["version"]})
    assert status == 409 and body["error"]["code"] == "CONSENT_MISSING"

    fresh = complete(client, stack, family, app)
    assert all(d["status"] == "accepted" for d in fresh["documents"]), fresh["documents"]
    assert all(r["accepted"] for r in fresh["required_documents"])

    status, submitted = call(client, "POST", f"{path}/submit", main.headers(), {"version": fresh["version"]})
    assert status == 200, submitted
    assert submitted["status"] == "submitted" and submitted["rules_version"]
    # a double tap: the same submit again answers the same, without a second submission
    status, again = call(client, "POST", f"{path}/submit", main.headers(), {"version": fresh["version"]})
    assert status == 200 and again["version"] == submitted["version"]

    status, timeline = call(client, "GET", f"{path}/timeline", main.headers())
    assert status == 200
    types = [e["type"] for e in timeline["items"]]
    assert types[0] == "created" and types.count("submitted") == 1
    assert "consent_given" in types and "document_accepted" in types
    assert all(e["at"].endswith("+08:00") for e in timeline["items"])

    status, mine = call(client, "GET", "/v1/me/applications", main.headers())
    assert status == 200 and mine["items"][0]["application_id"] == app["application_id"]

    # the citizen was told, in zh-CN, through the city's channel (recorded locally), once
    stack.drain()
    from chalicelib.notify import RECORDED

    sent = [n for n in RECORDED if n["application_id"] == app["application_id"]]
    assert [n["template"] for n in sent].count("application_submitted") == 1
    assert all(main.id_number not in n["text"] for n in sent) and "已提交" in sent[-1]["text"]


def test_stale_version_and_illegal_transition(client: Any, stack: Any, family: dict[str, Any]) -> None:
    main = family["main"]
    app = new_application(client, main)
    path = f"/v1/applications/{app['application_id']}"
    status, body = call(client, "PATCH", path, main.headers(), {"version": app["version"] + 5, "declared": {}})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    status, withdrawn = call(client, "POST", f"{path}/withdraw", main.headers(), {"version": app["version"]})
    assert status == 200 and withdrawn["status"] == "withdrawn"
    status, body = call(client, "POST", f"{path}/submit", main.headers(), {"version": withdrawn["version"]})
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"


def test_a_patch_changes_only_what_it_sends(client: Any, stack: Any, family: dict[str, Any]) -> None:
    main = family["main"]
    app = new_application(client, main)
    path = f"/v1/applications/{app['application_id']}"
    status, answered = call(client, "PATCH", path, main.headers(), {"version": app["version"],
                                                                    "declared": {"household_size": 3}})
    assert status == 200 and answered["declared"] == {"household_size": 3}, answered
    status, refreshed = call(client, "PATCH", path, main.headers(), {"version": answered["version"],
                                                                     "refresh_household": True})
    assert status == 200 and refreshed["declared"] == {"household_size": 3}, refreshed  # the answers stay
    status, cleared = call(client, "PATCH", path, main.headers(), {"version": refreshed["version"], "declared": None})
    assert status == 200 and cleared["declared"] == {}, cleared  # sent as null: cleared on purpose


def test_one_active_application_per_person(client: Any, stack: Any, family: dict[str, Any]) -> None:
    app = new_application(client, family["main"])
    fresh = complete(client, stack, family, app)
    status, _ = call(client, "POST", f"/v1/applications/{app['application_id']}/submit", family["main"].headers(),
                     {"version": fresh["version"]})
    assert status == 200
    # the spouse builds a household of their own and tries to apply as well
    spouse = family["spouse"]
    status, _ = call(client, "PUT", "/v1/me/household", spouse.headers(), {"members": [spouse.member()]})
    assert status == 200
    status, body = call(client, "POST", "/v1/applications", spouse.headers(), {"kind": "individual"})
    assert status == 409 and body["error"]["code"] == "PERSON_ALREADY_APPLYING"
    assert spouse.id_number not in str(body)  # masked in the answer


def test_documents_that_lie_are_rejected_and_the_citizen_told(client: Any, stack: Any,
                                                               family: dict[str, Any]) -> None:
    main = family["main"]
    app = new_application(client, main)
    bad = upload(client, main.headers(), app["application_id"], "id_card", EXE, "image/jpeg")
    wrong = upload(client, main.headers(), app["application_id"], "hukou", PNG, "application/pdf")
    good = upload(client, main.headers(), app["application_id"], "commitment", PDF, "application/pdf")
    stack.drain()
    path = f"/v1/applications/{app['application_id']}/documents"
    status, got = call(client, "GET", f"{path}/{bad['document_id']}", main.headers())
    assert status == 200 and got["document"]["status"] == "rejected" and got["download"] is None
    assert "可执行" in got["document"]["reason"]
    status, got = call(client, "GET", f"{path}/{wrong['document_id']}", main.headers())
    assert got["document"]["status"] == "rejected"
    status, got = call(client, "GET", f"{path}/{good['document_id']}", main.headers())
    assert got["document"]["status"] == "accepted" and got["download"]["url"].startswith("http")
    import requests

    assert requests.get(got["download"]["url"], timeout=10).content == PDF


def test_strangers_cannot_see_or_touch(client: Any, stack: Any, family: dict[str, Any], tokens: Any) -> None:
    app = new_application(client, family["main"])
    stranger = Citizen(stack, "王五")
    path = f"/v1/applications/{app['application_id']}"
    for method, suffix, data in (("GET", "", None), ("GET", "/timeline", None),
                                 ("POST", "/documents", {"type": "id_card", "content_type": "image/jpeg"}),
                                 ("POST", "/submit", {"version": 1})):
        status, body = call(client, method, path + suffix, stranger.headers(), data)
        # a stranger learns nothing, not even that the application exists: 404, as for a made-up id
        assert (status, body["error"]["code"]) == (404, "APPLICATION_NOT_FOUND"), (suffix, body)
    status, body = call(client, "GET", path, {})
    assert status == 401
    # staff may read, but only saying why; the read is audited
    status, body = call(client, "GET", path, tokens.headers("staff"))
    assert status == 400 and body["error"]["field"] == "reason"
    status, body = call(client, "GET", path + "?reason=%E5%AE%A1%E6%A0%B8", tokens.headers("staff"))
    assert status == 200 and body["as"] == "staff"
    status, trail = call(client, "GET", f"/v1/audit/application/{app['application_id']}", tokens.headers("auditor"))
    assert status == 200 and trail["items"][0]["reason"] == "审核" and len(trail["items"][0]["digest"]) == 64


def test_two_drafts_sharing_a_member_only_one_submits(client: Any, stack: Any, family: dict[str, Any]) -> None:
    """Both drafts pass the early check; the submit transaction lets exactly one through."""
    main, spouse = family["main"], family["spouse"]
    first = new_application(client, main)
    status, _ = call(client, "PUT", "/v1/me/household", spouse.headers(), {"members": [spouse.member()]})
    assert status == 200
    status, second = call(client, "POST", "/v1/applications", spouse.headers(), {"kind": "individual"})
    assert status == 201, second
    fresh_first = complete(client, stack, family, first)
    for doc_type in ("id_card", "hukou", "commitment", "application_form"):
        upload(client, spouse.headers(), second["application_id"], doc_type)
    stack.drain()
    call(client, "POST", f"/v1/applications/{second['application_id']}/consent", spouse.headers(),
         {"text_version": "2026-01", "agree": True})
    status, fresh_second = call(client, "GET", f"/v1/applications/{second['application_id']}", spouse.headers())
    status, ok = call(client, "POST", f"/v1/applications/{first['application_id']}/submit", main.headers(),
                      {"version": fresh_first["version"]})
    assert status == 200, ok
    status, refused = call(client, "POST", f"/v1/applications/{second['application_id']}/submit", spouse.headers(),
                           {"version": fresh_second["version"]})
    assert status == 409 and refused["error"]["code"] == "PERSON_ALREADY_APPLYING", refused
    status, still = call(client, "GET", f"/v1/applications/{second['application_id']}", spouse.headers())
    assert still["status"] == "draft" and still["version"] == fresh_second["version"]  # nothing half-written
    status, timeline = call(client, "GET", f"/v1/applications/{second['application_id']}/timeline", spouse.headers())
    assert "submitted" not in [e["type"] for e in timeline["items"]]


def test_document_bad_input(client: Any, stack: Any, family: dict[str, Any]) -> None:
    main = family["main"]
    app = new_application(client, main)
    path = f"/v1/applications/{app['application_id']}/documents"
    cases = [
        ({"type": "id_card", "content_type": "application/x-msdownload"}, 400, "INVALID_PARAMETER"),
        ({"type": "passport", "content_type": "image/jpeg"}, 400, "INVALID_PARAMETER"),
        ({"type": "id_card", "content_type": "image/jpeg", "size": 10 * 1024 * 1024 + 1}, 413, "BODY_TOO_LARGE"),
        ({"type": "id_card", "content_type": "image/jpeg", "member_id": "mem_nobody"}, 400, "INVALID_PARAMETER"),
        ({"type": "consent_form", "content_type": "image/jpeg"}, 403, "FORBIDDEN"),  # signed forms: staff only
    ]
    for data, status_code, code in cases:
        status, body = call(client, "POST", path, main.headers(), data)
        assert (status, body["error"]["code"]) == (status_code, code), (data, body)
    status, fresh = call(client, "GET", f"/v1/applications/{app['application_id']}", main.headers())
    assert fresh["documents"] == [] and fresh["version"] == app["version"]  # nothing reserved


def test_an_oversized_object_is_rejected_after_upload(client: Any, stack: Any, family: dict[str, Any]) -> None:
    """moto (and a client that ignores the POST policy) can put more than 10 MB: the checker refuses it."""
    from chalicelib.domain.documents import record_check

    main = family["main"]
    app = new_application(client, main)
    doc = upload(client, main.headers(), app["application_id"], "id_card")
    stack.drain()
    key = f"applications/{app['application_id']}/{doc['document_id']}"
    record_check(key, 10 * 1024 * 1024 + 1, b"\xff\xd8\xff\xe0")
    status, got = call(client, "GET", f"/v1/applications/{app['application_id']}/documents/{doc['document_id']}",
                       main.headers())
    assert got["document"]["status"] == "rejected" and "10 MB" in got["document"]["reason"]


def test_documents_of_someone_else_are_not_found(client: Any, stack: Any, family: dict[str, Any]) -> None:
    main = family["main"]
    app = new_application(client, main)
    doc = upload(client, main.headers(), app["application_id"], "id_card")
    stack.drain()
    stranger = Citizen(stack, "赵六")
    status, body = call(client, "GET", f"/v1/applications/{app['application_id']}/documents/{doc['document_id']}",
                        stranger.headers())
    assert status == 404 and body["error"]["code"] == "APPLICATION_NOT_FOUND"
    status, body = call(client, "GET", f"/v1/applications/{app['application_id']}/documents/doc_unknown",
                        main.headers())
    assert status == 404 and body["error"]["code"] == "DOCUMENT_NOT_FOUND"
