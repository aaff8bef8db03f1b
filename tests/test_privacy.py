"""Personal data over time (PIPL, issue 15 §3, docs/decisions/0040) through the routes: what the bureau
holds about me (JSON and a file), withdrawing a consent (and what it means for the application),
closing an account (refused while something is in progress; afterwards every token of it is refused;
what the law keeps is said, with the period)."""
from __future__ import annotations

import json
from typing import Any

from tests.applying import Citizen, call, register
from tests.test_case_review import submitted


def _household(client: Any, person: Citizen) -> None:
    status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
    assert status == 200, body


def _version(client: Any, person: Citizen) -> int:
    status, me = call(client, "GET", "/v1/me", person.headers())
    assert status == 200, me
    return int(me["version"])


def test_my_data_holds_everything_and_who_read_it(client: Any, stack: Any, tokens: Any) -> None:
    person, app = submitted(client, stack)
    app_id = app["application_id"]
    status, _ = call(client, "GET", f"/v1/staff/applications/{app_id}/review?reason=%E5%AE%A1%E6%A0%B8%E6%9D%90%E6%96%99",
                     tokens.headers("staff"))
    assert status == 200
    status, data = call(client, "GET", "/v1/me/data", person.headers())
    assert status == 200, data
    assert data["person"]["name"] == person.name and data["person"]["id_number"] == person.id_number
    assert [m["id_number"] for m in data["household"]["members"]] == [person.id_number]
    assert [a["application_id"] for a in data["applications"]] == [app_id]
    assert data["applications"][0]["documents"] and data["applications"][0]["consents"][0]["status"] == "given"
    assert [c["application_id"] for c in data["consents"]] == [app_id]
    reads = [r for r in data["audit"] if r["target"] == f"application#{app_id}" and r["action"] == "read_review"]
    assert reads and reads[0]["reason"] == "审核材料" and reads[0]["actor_role"] == "staff"
    assert data["truncated"] == [] and data["leases"] == [] and data["payments"] == []
    assert {k["kind"] for k in data["kept"]} == {"leases", "payments", "audit", "applications"}

    # the same as a file to save
    response = client.http.get("/v1/me/data/file", headers=person.headers())
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert response.headers["Cache-Control"] == "no-store"
    saved = json.loads(response.body)
    assert saved["applications"] == data["applications"] and saved["audit"] == data["audit"]


def test_my_data_is_bounded(client: Any, stack: Any, monkeypatch: Any) -> None:
    from chalicelib.domain import privacy

    person, app = submitted(client, stack)
    real = privacy.config()
    monkeypatch.setattr(privacy, "config", lambda: real.model_copy(update={"export_max_items": 1}))
    monkeypatch.setattr(privacy, "AUDIT_PER_TARGET", 5)
    from chalicelib.domain import audit
    from chalicelib.identity import Actor, Role

    staff = Actor("staff-bound", frozenset({Role.STAFF}), "jiangmen", {})
    for i in range(3):
        audit.record(staff, f"application#{app['application_id']}", "read_review", f"第 {i} 次查看")
    status, data = call(client, "GET", "/v1/me/data", person.headers())
    assert status == 200 and len(data["audit"]) == 1 and data["truncated"] == ["audit"], data["truncated"]


def test_my_data_refuses_who_it_is_not_for(client: Any, stack: Any, tokens: Any) -> None:
    stranger = Citizen(stack, "路人甲")
    status, body = call(client, "GET", "/v1/me/data", stranger.headers())
    assert status == 403 and body["error"]["code"] == "REGISTRATION_REQUIRED"
    for role in ("staff", "auditor", "admin"):
        status, body = call(client, "GET", "/v1/me/data/file", tokens.headers(role))
        assert status == 403, body
    assert call(client, "GET", "/v1/me/data", {})[0] == 401


def test_a_withdrawn_consent_stops_the_verification_and_submission(client: Any, stack: Any, tokens: Any) -> None:
    person, app = submitted(client, stack)
    app_id = app["application_id"]
    path = f"/v1/me/consents/{app_id}/withdraw"
    status, body = call(client, "POST", path, person.headers(), {"version": app["version"] + 100})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    status, fresh = call(client, "GET", f"/v1/applications/{app_id}", person.headers())
    status, body = call(client, "POST", path, person.headers(), {"version": fresh["version"]})
    assert status == 200, body
    assert body["status"] == "withdrawn" and "无法完成联合审查" in body["effect"]
    status, again = call(client, "POST", path, person.headers(), {"version": body["version"]})
    assert status == 409 and again["error"]["code"] == "CONSENT_NOT_GIVEN"
    # staff cannot start the departments' queries again
    status, review = call(client, "GET", f"/v1/staff/applications/{app_id}/review?reason=check", tokens.headers("staff"))
    status, rerun = call(client, "POST", f"/v1/staff/applications/{app_id}/verification", tokens.headers("staff"),
                         {"version": review["version"], "reason": "部门系统恢复，重新核查"})
    assert status == 409 and rerun["error"]["code"] == "CONSENT_WITHDRAWN", rerun
    status, timeline = call(client, "GET", f"/v1/applications/{app_id}/timeline", person.headers())
    assert "consent_withdrawn" in [e["type"] for e in timeline["items"]]
    # someone else, or an application of nobody: nothing to withdraw
    other = Citizen(stack, "旁人乙")
    register(client, other)
    status, body = call(client, "POST", path, other.headers(), {"version": 1})
    assert status == 404 and body["error"]["code"] == "CONSENT_NOT_FOUND"
    status, body = call(client, "POST", "/v1/me/consents/app_nobody/withdraw", person.headers(), {"version": 1})
    assert status == 404
    for bad in ({}, {"version": "1"}, {"version": 1, "why": "x"}):
        status, body = call(client, "POST", path, person.headers(), bad)
        assert status == 400 and body["error"]["code"] == "INVALID_PARAMETER", bad


def test_a_draft_needs_the_consent_again_to_be_submitted(client: Any, stack: Any) -> None:
    person = Citizen(stack, "草稿丙")
    register(client, person)
    _household(client, person)
    status, app = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    app_id = app["application_id"]
    status, consented = call(client, "POST", f"/v1/applications/{app_id}/consent", person.headers(),
                             {"text_version": "2026-01", "agree": True})
    assert status == 200, consented
    status, fresh = call(client, "GET", f"/v1/applications/{app_id}", person.headers())
    status, body = call(client, "POST", f"/v1/me/consents/{app_id}/withdraw", person.headers(), {"version": fresh["version"]})
    assert status == 200 and "不能提交" in body["effect"]
    status, body = call(client, "POST", f"/v1/applications/{app_id}/submit", person.headers(), {"version": body["version"]})
    assert status == 409 and body["error"]["code"] == "CONSENT_MISSING"  # checked before the documents
    status, again = call(client, "POST", f"/v1/applications/{app_id}/consent", person.headers(),
                         {"text_version": "2026-01", "agree": True})
    assert status == 200 and again["status"] == "given"


def test_closing_an_account(client: Any, stack: Any, tokens: Any) -> None:
    person, app = submitted(client, stack)
    status, body = call(client, "POST", "/v1/me/close", person.headers(), {"version": _version(client, person)})
    assert status == 409 and body["error"]["code"] == "ACCOUNT_IN_USE"
    status, fresh = call(client, "GET", f"/v1/applications/{app['application_id']}", person.headers())
    status, _ = call(client, "POST", f"/v1/applications/{app['application_id']}/withdraw", person.headers(),
                     {"version": fresh["version"]})
    assert status == 200
    version = _version(client, person)
    status, body = call(client, "POST", "/v1/me/close", person.headers(), {"version": version + 1})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    status, body = call(client, "POST", "/v1/me/close", person.headers(), {"version": "x"})
    assert status == 400 and body["error"]["field"] == "version"
    status, closed = call(client, "POST", "/v1/me/close", person.headers(), {"version": version})
    assert status == 200, closed
    assert "账号已注销" in closed["message"] and "30 年" in closed["message"] and "180 天" in closed["message"]
    assert {k["kind"] for k in closed["kept"]} >= {"leases", "payments", "audit"}
    # from now on, nothing this login asks is done
    for method, path, data in (("GET", "/v1/me", None), ("GET", "/v1/me/data", None), ("GET", "/v1/me/applications", None),
                               ("POST", "/v1/me", {"name": person.name, "id_number": person.id_number}),
                               ("POST", "/v1/me/close", {"version": version + 1})):
        status, body = call(client, method, path, person.headers(), data)
        assert status == 403 and body["error"]["code"] == "ACCOUNT_CLOSED", (path, body)
    # what the law keeps is kept: staff still read the (withdrawn) application, audited
    status, kept = call(client, "GET", f"/v1/staff/applications/{app['application_id']}/review?reason=check",
                        tokens.headers("staff"))
    assert status == 200 and kept["status"] == "withdrawn"
