"""The decision step and staff review, driven directly (the workflow that calls them is tested in
tests/test_workflow.py): facts from departments, the same rules engine, the queue, one-click approve."""
from __future__ import annotations

from typing import Any


from chalicelib.departments import DEPARTMENTS
from devstack.departments import default_facts
from tests.applying import Citizen, call, register, upload

DEPTS = DEPARTMENTS
CLEAN = default_facts("jiangmen")  # a clean local citizen, as the department simulator answers


def answers(app: dict[str, Any], down: tuple[str, ...] = (), **facts: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for dept in DEPTS:
        if dept in down:
            out.append({"department": dept, "status": "unavailable", "error": "DepartmentUnavailable: 503"})
            continue
        persons = [{"member_id": m["member_id"], "found": True, "facts": {**CLEAN[dept], **facts.get(dept, {})}}
                   for m in app["members"]]
        out.append({"department": dept, "status": "answered", "answered_at": "2026-11-24T10:00:00+08:00",
                    "persons": persons})
    return out


def submitted(client: Any, stack: Any, declared: dict[str, Any] | None = None,
              person: Citizen | None = None) -> tuple[Citizen, dict[str, Any]]:
    person = person or Citizen(stack, "审核测")
    h = person.headers()
    register(client, person)
    assert call(client, "PUT", "/v1/me/household", h, {"members": [person.member()]})[0] == 200
    status, app = call(client, "POST", "/v1/applications", h, {"kind": "individual", "declared": declared})
    assert status == 201, app
    for doc_type in ("id_card", "hukou", "commitment", "application_form"):
        upload(client, h, app["application_id"], doc_type)
    stack.drain()
    call(client, "POST", f"/v1/applications/{app['application_id']}/consent", h,
         {"text_version": "2026-01", "agree": True})
    status, fresh = call(client, "GET", f"/v1/applications/{app['application_id']}", h)
    status, app = call(client, "POST", f"/v1/applications/{app['application_id']}/submit", h,
                       {"version": fresh["version"]})
    assert status == 200, app
    return person, app


def verify(app: dict[str, Any], down: tuple[str, ...] = (), **facts: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.deps import deps
    from chalicelib.domain import verification

    run_id = deps().applications.get(app["application_id"]).verification["run_id"]
    started = verification.start(app["application_id"], run_id)
    assert [p["member_id"] for p in started["persons"]] == [m["member_id"] for m in app["members"]]
    assert started["persons"][0]["consent"]["method"] == "app"  # the consent travels with the query
    for answer in answers(app, down, **facts):
        if answer["status"] == "answered":
            verification.record_department(app["application_id"], run_id, answer)
    return verification.decide(app["application_id"], run_id, answers(app, down, **facts))


def review(client: Any, tokens: Any, app: dict[str, Any]) -> dict[str, Any]:
    status, page = call(client, "GET", f"/v1/staff/applications/{app['application_id']}/review?reason=review",
                        tokens.headers("staff"))
    assert status == 200, page
    return page


def test_a_clean_case_is_a_pass_and_one_click(client: Any, stack: Any, tokens: Any) -> None:
    person, app = submitted(client, stack)
    assert verify(app)["recommendation"] == "pass"
    page = review(client, tokens, app)
    v = page["verification"]
    assert page["status"] == "under_review" and v["recommendation"] == "pass" and v["flags"] == []
    assert {o["rule_id"] for o in v["outcomes"]} >= {"residence", "housing", "income", "vehicles", "business"}
    housing = next(o for o in v["outcomes"] if o["rule_id"] == "housing")
    assert housing["result"] == "passed" and "real_estate" in housing["sources"].values()
    assert len(v["departments"]) == 8 and all(d["status"] == "answered" for d in v["departments"])
    status, timeline = call(client, "GET", f"/v1/applications/{app['application_id']}/timeline", person.headers())
    types = [e["type"] for e in timeline["items"]]
    assert types.count("department_answered") == 8 and "recommendation" in types

    status, approved = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/approve",
                            tokens.headers("staff"), {"version": page["version"]})
    assert status == 200 and approved["status"] == "approved"


def test_two_staff_approving_at_once_one_wins(client: Any, stack: Any, tokens: Any, monkeypatch: Any) -> None:
    """The second clerk approves between the first clerk's read and write (interleaved on purpose:
    moto's tables are not thread-safe, so real threads would test moto, not us)."""
    from chalicelib.deps import deps

    _, app = submitted(client, stack)
    verify(app)
    version = review(client, tokens, app)["version"]
    url = f"/v1/staff/applications/{app['application_id']}/approve"
    repo = deps().applications
    real_get = repo.get
    inner: list[int] = []

    def get_then_race(application_id: str) -> Any:
        read = real_get(application_id)
        if not inner:
            inner.append(0)
            inner[0] = call(client, "POST", url, tokens.headers("staff"), {"version": version})[0]
        return read

    monkeypatch.setattr(repo, "get", get_then_race)
    outer = call(client, "POST", url, tokens.headers("staff"), {"version": version})
    assert inner == [200]
    assert outer[0] == 409 and outer[1]["error"]["code"] == "STALE_VERSION", outer
    monkeypatch.undo()
    events = [e.type for e in deps().applications.events(f"app#{app['application_id']}")]
    assert events.count("approved") == 1, events


def test_a_home_in_the_city_fails_with_the_reason(client: Any, stack: Any, tokens: Any) -> None:
    _, app = submitted(client, stack, declared={"homes_owned_in_city": 0})
    outcome = verify(app, real_estate={"properties": [{"city": "jiangmen", "floor_area": 89.5}]})
    assert outcome["recommendation"] == "fail"
    v = review(client, tokens, app)["verification"]
    housing = next(o for o in v["outcomes"] if o["rule_id"] == "housing")
    assert housing["result"] == "failed" and housing["explanation"]
    assert any(f["fact"] == "homes_owned_in_city" and f["department"] == "real_estate" for f in v["flags"])
    status, body = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/approve",
                        tokens.headers("staff"), {"version": review(client, tokens, app)["version"]})
    assert status == 409 and body["error"]["field"] == "recommendation"  # not one click


def test_a_department_down_means_manual_review_then_override_and_reject(client: Any, stack: Any,
                                                                        tokens: Any) -> None:
    person, app = submitted(client, stack)
    assert verify(app, down=("real_estate",))["recommendation"] == "manual_review"
    page = review(client, tokens, app)
    assert any(f["department"] == "real_estate" for f in page["verification"]["flags"])
    path = f"/v1/staff/applications/{app['application_id']}"
    status, body = call(client, "POST", f"{path}/override", tokens.headers("staff"),
                        {"version": page["version"], "recommendation": "pass", "reason": "短"})
    assert status == 400 and body["error"]["field"] == "reason"
    status, overridden = call(client, "POST", f"{path}/override", tokens.headers("staff"), {
        "version": page["version"], "recommendation": "fail", "reason": "不动产登记系统故障，经电话核实名下有房"})
    assert status == 200
    status, body = call(client, "POST", f"{path}/reject", tokens.headers("staff"),
                        {"version": overridden["version"], "reason_code": "nonsense", "note": "x"})
    assert status == 400
    status, rejected = call(client, "POST", f"{path}/reject", tokens.headers("staff"),
                            {"version": overridden["version"], "reason_code": "housing", "note": "名下在本市有住房"})
    assert status == 200 and rejected["status"] == "rejected"
    status, trail = call(client, "GET", f"/v1/audit/application/{app['application_id']}", tokens.headers("auditor"))
    assert {"override_recommendation", "reject", "read_review"} <= {e["action"] for e in trail["items"]}
    # rejected: the person may apply again
    status, again = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, again


def test_the_queue_puts_passes_first_and_pages_within_two_requests(client: Any, stack: Any, tokens: Any,
                                                                   no_scans: list[str]) -> None:
    made = []
    for facts in ({}, {"real_estate": {"properties": [{"city": "jiangmen", "floor_area": 120}]}}, {}):
        _, app = submitted(client, stack)
        verify(app, **facts)
        made.append(app["application_id"])
    seen, cursor, recs = [], None, []
    while True:
        no_scans.clear()
        status, page = call(client, "GET", "/v1/staff/review?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                            tokens.headers("staff"))
        assert status == 200, page
        assert len([c for c in no_scans if c in ("Query", "GetItem", "Scan")]) <= 2
        seen += [i["application_id"] for i in page["items"]]
        recs += [i["recommendation"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    order = {"pass": 0, "manual_review": 1, "fail": 2}
    assert [order[r] for r in recs] == sorted(order[r] for r in recs)  # clean passes first
    # a filter that leaves whole recommendations empty: every page is full or the last one (tests/documented.py
    # fails a short page with a cursor), and walking on finds exactly what the filter keeps
    for query, expected in (("kind=graduate", set()), ("kind=individual", set(made)), ("street=nowhere", set())):
        walked, cursor = [], None
        while True:
            status, page = call(client, "GET", f"/v1/staff/review?{query}&limit=1" + (f"&cursor={cursor}" if cursor else ""),
                                tokens.headers("staff"))
            assert status == 200, page
            walked += [i["application_id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert set(made) & set(walked) == expected and len(walked) == len(set(walked)), (query, walked)
    status, fails = call(client, "GET", "/v1/staff/review?recommendation=fail", tokens.headers("staff"))
    assert made[1] in [i["application_id"] for i in fails["items"]]
    assert "审核测" not in str(fails)  # names masked in the queue
    status, body = call(client, "GET", "/v1/staff/review?cursor=bogus", tokens.headers("staff"))
    assert status == 400 and body["error"]["code"] == "INVALID_CURSOR"
    assert call(client, "GET", "/v1/staff/review", tokens.headers("applicant"))[0] == 403


def test_bulk_approve_each_on_its_own(client: Any, stack: Any, tokens: Any) -> None:
    apps = []
    for _ in range(2):
        _, app = submitted(client, stack)
        verify(app)
        apps.append(review(client, tokens, app))
    status, result = call(client, "POST", "/v1/staff/review/approve", tokens.headers("staff"), {"items": [
        {"application_id": apps[0]["application_id"], "version": apps[0]["version"]},
        {"application_id": apps[1]["application_id"], "version": apps[1]["version"] - 1}]})
    assert status == 200
    assert [r["ok"] for r in result["items"]] == [True, False]
    assert result["items"][1]["error"]["code"] == "STALE_VERSION"


def test_steps_of_an_older_run_change_nothing(client: Any, stack: Any, tokens: Any) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import verification

    _, app = submitted(client, stack)
    old_run = deps().applications.get(app["application_id"]).verification["run_id"]
    verification.record_failure(app["application_id"], old_run, {"Error": "States.Timeout"})
    page = review(client, tokens, app)
    assert page["verification"]["status"] == "failed" and page["verification"]["error"] == "States.Timeout"
    status, rerun = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/verification",
                         tokens.headers("staff"), {"version": page["version"], "reason": "部门恢复后重新核查"})
    assert status == 200, rerun
    assert verification.decide(app["application_id"], old_run, answers(app))["skipped"] is True
    assert verify(app)["recommendation"] == "pass"  # the new run decides


def test_submitting_and_deciding_are_counted_once_each(client: Any, stack: Any, monkeypatch: Any) -> None:
    """The business events behind the dashboard (chalicelib/metric_names.py, docs/decisions/0038)."""
    from chalicelib.metric_names import APPLICATIONS_SUBMITTED, VERIFICATIONS_DECIDED
    from chalicelib.observability import metrics

    seen: list[str] = []
    real = metrics.add_metric

    def spy(**kwargs: Any) -> None:
        seen.append(kwargs["name"])
        real(**kwargs)

    monkeypatch.setattr(metrics, "add_metric", spy)
    _, app = submitted(client, stack)
    assert seen.count(APPLICATIONS_SUBMITTED) == 1
    assert verify(app)["recommendation"] == "pass"
    assert seen.count(VERIFICATIONS_DECIDED) == 1
