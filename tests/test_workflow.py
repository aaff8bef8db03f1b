"""The verification workflow end to end: submit, moto runs the state machine from
infra/workflows/verification.asl.json, the app's functions run in-process, the department
simulator answers through the real adapter. Failures included: a department down, slow or talking
garbage, a decision step that raises, a run that never reports back, the same submit twice."""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from tests.applying import Citizen, call
from tests.test_case_review import review, submitted


@pytest.fixture(scope="module")
def workflow(stack: Any) -> Iterator[Any]:
    stack.reset()
    stack.enable_verification()
    stack.departments.reset_modes()
    yield stack
    stack.departments.reset_modes()
    stack.disable_verification()


@pytest.fixture(autouse=True)
def modes(workflow: Any) -> Iterator[None]:
    yield
    workflow.departments.reset_modes()


def applicant(stack: Any, name: str = "流程测", **overrides: dict[str, Any]) -> Citizen:
    person = Citizen(stack, name)
    stack.departments.add_default(person.id_number, **overrides)
    return person


def decided(client: Any, stack: Any, tokens: Any, app: dict[str, Any], timeout_s: float = 30) -> dict[str, Any]:
    """The staff review page once the run has ended (the recommendation, or the failure)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page = review(client, tokens, app)
        v = page.get("verification") or {}
        if v.get("status") in ("decided", "failed", "not_started") or time.monotonic() > deadline:
            return page
        time.sleep(0.05)


def by_department(v: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["department"]: d for d in v["departments"]}


def test_a_clean_case_gets_a_pass_within_seconds(client: Any, workflow: Any, tokens: Any) -> None:
    started = time.monotonic()
    person, app = submitted(client, workflow, person=applicant(workflow))
    page = decided(client, workflow, tokens, app)
    took = time.monotonic() - started
    v = page["verification"]
    assert page["status"] == "under_review" and v["recommendation"] == "pass", v
    assert took < 15, took
    assert {d["status"] for d in v["departments"]} == {"answered"}
    assert len(v["departments"]) == 8
    assert all(o["result"] == "passed" for o in v["outcomes"] if o["rule_id"] in ("hukou", "housing")), v["outcomes"]
    housing = next(o for o in v["outcomes"] if o["rule_id"] == "housing")
    assert "real_estate" in str(housing["sources"])
    # the timeline shows each department's answer as it landed, then the recommendation
    status, timeline = call(client, "GET", f"/v1/applications/{app['application_id']}/timeline", person.headers())
    kinds = [e.get("type") for e in timeline["items"]]
    assert kinds.count("department_answered") == 8 and "recommendation" in kinds, kinds
    # the execution is kept with the application, named after the run
    run = workflow.wait_for_runs()
    names = {r["name"] for r in run}
    assert v["execution_name"] in names
    # one click
    status, approved = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/approve",
                            tokens.headers("staff"), {"version": page["version"]})
    assert status == 200 and approved["status"] == "approved", approved


def test_a_home_in_the_city_is_a_fail_with_the_department_named(client: Any, workflow: Any, tokens: Any) -> None:
    person = applicant(workflow, real_estate={"properties": [{"city": "jiangmen", "floor_area": 88.0}]})
    _, app = submitted(client, workflow, person=person)
    v = decided(client, workflow, tokens, app)["verification"]
    assert v["recommendation"] == "fail", v
    housing = next(o for o in v["outcomes"] if o["rule_id"] == "housing")
    assert housing["result"] == "failed" and "real_estate" in str(housing["sources"])


def test_a_declaration_the_department_contradicts_is_flagged(client: Any, workflow: Any, tokens: Any) -> None:
    person = applicant(workflow, social_insurance={"months_in_city": 3, "employer_in_city": True})
    _, app = submitted(client, workflow, declared={"social_insurance_months": 48}, person=person)
    v = decided(client, workflow, tokens, app)["verification"]
    assert v["recommendation"] == "manual_review", v  # a contradiction is for a person to weigh
    assert any(f["fact"] == "social_insurance_months" and f["department"] == "social_insurance" for f in v["flags"])


def test_a_department_down_for_the_whole_run_then_a_rerun_completes(client: Any, workflow: Any,
                                                                    tokens: Any) -> None:
    workflow.departments.set_mode("vehicles", "down")
    _, app = submitted(client, workflow, person=applicant(workflow))
    page = decided(client, workflow, tokens, app)
    v = page["verification"]
    assert v["recommendation"] == "manual_review", v
    assert by_department(v)["vehicles"]["status"] == "unavailable"
    assert "DepartmentUnavailable" in by_department(v)["vehicles"]["error"]
    assert any(f["department"] == "vehicles" and f["fact"] is None for f in v["flags"])
    # later the department is back: staff re-run, the new run completes
    workflow.departments.reset_modes()
    status, rerun = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/verification",
                         tokens.headers("staff"), {"version": page["version"], "reason": "车管所已恢复，重新核查"})
    assert status == 200, rerun
    new_run = review(client, tokens, app)["verification"]["run_id"]
    deadline = time.monotonic() + 30
    while True:
        page = review(client, tokens, app)
        v = page["verification"]
        if (v.get("status") == "decided" and v.get("run_id") == new_run) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert v["recommendation"] == "pass" and by_department(v)["vehicles"]["status"] == "answered", v
    assert [h["run_id"] for h in v["history"]][-1] != v["run_id"]


def test_a_slow_department_past_its_timeout_is_unavailable(client: Any, workflow: Any, tokens: Any,
                                                           monkeypatch: Any) -> None:
    monkeypatch.setenv("DEPARTMENT_TIMEOUT_S", "0.3")
    from chalicelib import deps

    deps.reset()
    workflow.departments.set_mode("provident_fund", "slow", delay_s=1.0)
    _, app = submitted(client, workflow, person=applicant(workflow))
    v = decided(client, workflow, tokens, app)["verification"]
    assert by_department(v)["provident_fund"]["status"] == "unavailable", by_department(v)["provident_fund"]
    assert "DepartmentTimeout" in by_department(v)["provident_fund"]["error"]
    assert v["recommendation"] == "manual_review"
    monkeypatch.delenv("DEPARTMENT_TIMEOUT_S")
    deps.reset()


def test_garbage_from_a_department_is_unavailable_not_believed(client: Any, workflow: Any, tokens: Any) -> None:
    workflow.departments.set_mode("real_estate", "garbage")
    _, app = submitted(client, workflow, person=applicant(workflow))
    v = decided(client, workflow, tokens, app)["verification"]
    assert by_department(v)["real_estate"]["status"] == "unavailable"
    assert "DepartmentGarbage" in by_department(v)["real_estate"]["error"]
    housing = next(o for o in v["outcomes"] if o["rule_id"] == "housing")
    assert "real_estate" not in str(housing["sources"])
    assert v["recommendation"] == "manual_review"


def test_a_decision_step_that_raises_leaves_a_failed_run_staff_can_see(client: Any, workflow: Any, tokens: Any,
                                                                       monkeypatch: Any) -> None:
    from chalicelib.domain import verification

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("bug in the decision step")

    monkeypatch.setattr(verification, "assemble", broken)
    _, app = submitted(client, workflow, person=applicant(workflow))
    page = decided(client, workflow, tokens, app)
    v = page["verification"]
    assert v["status"] == "failed" and "RuntimeError" in v["error"], v
    assert page["status"] == "verifying"  # visible in the queue by status, re-runnable
    monkeypatch.undo()
    status, rerun = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/verification",
                         tokens.headers("staff"), {"version": page["version"], "reason": "修复后重新核查"})
    assert status == 200, rerun
    page = decided(client, workflow, tokens, {**app}, timeout_s=30)
    deadline = time.monotonic() + 30
    while page["verification"].get("status") != "decided" and time.monotonic() < deadline:
        time.sleep(0.05)
        page = review(client, tokens, app)
    assert page["verification"]["recommendation"] == "pass"


def test_a_run_that_never_reports_back_is_swept(client: Any, workflow: Any, tokens: Any, monkeypatch: Any) -> None:
    from datetime import timedelta

    from chalicelib.domain import common, verification

    monkeypatch.setattr("chalicelib.workflow.start_verification", lambda *_: "arn:lost")  # never runs
    _, app = submitted(client, workflow, person=applicant(workflow))
    assert review(client, tokens, app)["verification"]["status"] == "queued"
    assert verification.sweep() == {"marked_failed": 0}  # not stalled yet
    later = common.now() + timedelta(minutes=20)
    monkeypatch.setattr(verification, "now", lambda: later)
    assert verification.sweep()["marked_failed"] >= 1
    v = review(client, tokens, app)["verification"]
    assert v["status"] == "failed" and "RunStalled" in v["error"]


def test_the_same_application_submitted_twice_runs_once(client: Any, workflow: Any, tokens: Any) -> None:
    person = applicant(workflow)
    _, app = submitted(client, workflow, person=person)
    status, again = call(client, "POST", f"/v1/applications/{app['application_id']}/submit", person.headers(),
                         {"version": app["version"]})
    assert status == 409, again
    decided(client, workflow, tokens, app)
    runs = [r for r in workflow.wait_for_runs() if r["name"].startswith(app["application_id"])]
    assert len(runs) == 1, runs


def test_an_identity_public_security_does_not_vouch_for_is_never_a_clean_pass(client: Any, workflow: Any,
                                                                             tokens: Any) -> None:
    person = applicant(workflow, public_security={"identity_valid": False, "hukou_city": "jiangmen",
                                                  "residence_permit_city": None})
    _, app = submitted(client, workflow, person=person)
    v = decided(client, workflow, tokens, app)["verification"]
    assert v["recommendation"] != "pass"
    assert any(f["fact"] == "identity_valid" for f in v["flags"]), v["flags"]


# --- issue 9 §6: a department's "no record" means what the city's rules say ----------------------------
def test_public_security_no_record_is_manual_review_flagged_not_a_non_local_fail(client: Any, workflow: Any,
                                                                               tokens: Any) -> None:
    person = applicant(workflow, public_security=None)  # public security has no record of this person
    _, app = submitted(client, workflow, declared={"hukou_local": True}, person=person)
    v = decided(client, workflow, tokens, app)["verification"]
    assert v["status"] == "decided" and v["recommendation"] == "manual_review", v
    residence = next(o for o in v["outcomes"] if o["rule_id"] == "residence")
    assert residence["result"] == "unknown", residence  # not "failed as non-local"
    reasons = {(f["fact"], f["department"], f["reason"]) for f in v["flags"]}
    assert ("identity", "public_security", "unconfirmed") in reasons, v["flags"]
    assert ("hukou_local", "public_security", "no_record") in reasons, v["flags"]
    ps = by_department(v)["public_security"]
    assert ps["status"] == "answered" and ps["no_record"]["means"] == "unconfirmed", ps


def test_social_insurance_no_record_is_unknown_not_zero_months(client: Any, workflow: Any, tokens: Any) -> None:
    person = applicant(workflow, social_insurance=None,  # non-local with a permit: residence rests on the months
                       public_security={"hukou_city": "maoming", "residence_permit_city": "jiangmen"})
    _, app = submitted(client, workflow, declared={"social_insurance_months": 24}, person=person)
    v = decided(client, workflow, tokens, app)["verification"]
    assert v["status"] == "decided" and v["recommendation"] == "manual_review", v
    residence = next(o for o in v["outcomes"] if o["rule_id"] == "residence")
    assert residence["result"] == "unknown", residence  # not "0 months: failed"
    assert "social_insurance" not in residence["sources"].values(), residence  # it gave no value
    flag = next(f for f in v["flags"] if f["fact"] == "social_insurance_months")
    assert (flag["department"], flag["reason"], flag["declared"]) == ("social_insurance", "no_record", 24)
    assert "社保" in flag["note"] and "无记录" in flag["note"]
