"""Joint verification (联合审查): what the workflow's steps do to an application. A run about an
annual review (subject id "rev-...") goes to domain/review_verification.py, which uses the same
department facts (``assemble``) and the same rules engine with the city's review rules.

The state machine (infra/workflows/verification.asl.json) calls these through thin Lambda functions
(chalicelib/handlers/verification.py). Every step carries the run id: a step of an older run (a
re-run started since) changes nothing. Department facts become rule facts here, and the SAME rules
engine as the self-assessment judges them (docs/decisions/0010-verification.md).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import eligibility
from chalicelib.domain.application_status import (RECOMMENDATIONS, RUN_OPEN, RUNS, STATUS_NAMES, ConsentStatus,
                                                   DepartmentAnswer, RunStatus, S, check_transition)
from chalicelib.domain.access import mutate, notify_citizen
from chalicelib.domain.application_types import Access, Application, Event, Skip
from chalicelib.domain.common import new_id, now, now_iso
from chalicelib.identity import Actor
from chalicelib.metric_names import VERIFICATIONS_DECIDED
from chalicelib.observability import count

DEPARTMENT_NAMES = {
    "public_security": "公安", "real_estate": "不动产登记", "civil_affairs": "民政", "vehicles": "车管",
    "social_insurance": "人社（社保）", "business": "市场监管", "veterans": "退役军人事务",
    "provident_fund": "住房公积金",
}
#: The rule facts each department gives. When its "no record" means ``unknown`` (or ``unconfirmed``) and
#: the member those facts read has none, they are unknown (None), never a value nor the declaration.
GIVES: dict[str, tuple[str, ...]] = {
    "public_security": ("hukou_local", "residence_permit"), "real_estate": ("homes_owned_in_city", "housing_floor_area"),
    "civil_affairs": ("subsistence_allowance",), "vehicles": ("max_vehicle_value",),
    "social_insurance": ("social_insurance_months", "employed_in_city"), "business": ("max_company_capital",),
    "veterans": ("veteran",), "provident_fund": ("household_monthly_income",),
}
#: Departments whose rule facts read the main applicant's record only (the others add up the household).
MAIN_ONLY = ("public_security", "social_insurance")
#: Declared answers a department can contradict or fail to confirm: every fact a department gives.
CHECKED = {fact: dept for dept, given in GIVES.items() for fact in given}
#: How a flag names a declared fact (zh-CN).
FACT_NAMES = {
    "hukou_local": "本市户籍", "residence_permit": "本市居住证", "homes_owned_in_city": "本市住房套数",
    "housing_floor_area": "本市住房建筑面积", "subsistence_allowance": "低保或特困", "max_vehicle_value": "车辆价值",
    "social_insurance_months": "本市社保缴纳月数", "employed_in_city": "在本市就业", "max_company_capital": "企业注册资本",
    "veteran": "退役军人或优抚对象", "household_monthly_income": "家庭月收入",
}
NO_RECORD_NAMES = {"answer": "无记录即无（按空值计）", "unconfirmed": "无记录即身份未核实（转人工审核）",
                   "unknown": "无记录即情况不明（相关条件无法判断）"}
ADULT_AGE = 18
TOLERANCE = 0.10  # money and areas: a declared figure within 10 % of the department's is not flagged


# --- the workflow's steps ----------------------------------------------------------------------
def new_run(app: Application) -> dict[str, Any]:
    """The verification record a submit (or a staff re-run) writes before the workflow starts."""
    run_id = new_id("run")
    return {"run_id": run_id, "execution_name": f"{app.application_id}-{run_id}",  # kept with the application
            "status": RUNS.initial.value, "queued_at": now_iso(), "departments": {},
            "history": ((app.verification or {}).get("history") or [])[-4:] + (
                [{k: (app.verification or {}).get(k) for k in ("run_id", "status", "recommendation", "error")}]
                if app.verification else [])}


def start(application_id: str, run_id: str) -> dict[str, Any]:
    """Mark the application verifying; hand the workflow every consented member (minors travel
    with the main applicant's consent)."""
    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        _same_run(app, run_id)
        if app.status not in (S.SUBMITTED, S.VERIFYING, S.UNDER_REVIEW):
            raise Skip()  # withdrawn (or decided otherwise) since: nothing to verify
        if app.status != S.VERIFYING:
            check_transition(app.status, S.VERIFYING)
        verification = {**(app.verification or {}), "status": _run_move(app, RunStatus.RUNNING), "started_at": now_iso()}
        return replace(app, status=S.VERIFYING, verification=verification), [
            Event("verification_started", "system", "system", app.status.value, S.VERIFYING.value,
                  note="已向八个部门发起联合审查")]

    app = mutate(application_id, None, change)
    main_consent = app.consents.get(app.main()["member_id"], {})
    persons = []
    for m in app.members:
        consent = app.consents.get(m["member_id"]) if m["adult"] else main_consent
        if not consent or consent.get("status") != ConsentStatus.GIVEN:
            continue  # never asked about without a recorded consent
        persons.append({"member_id": m["member_id"], "id_number": m["id_number"], "name": m["name"],
                        "relation": m["relation"], "minor": not m["adult"],
                        "consent": {k: consent.get(k) for k in ("method", "at", "text_version", "document_id")}})
    return {"application_id": application_id, "run_id": run_id, "persons": persons}


def record_department(application_id: str, run_id: str, answer: dict[str, Any]) -> None:
    """A department's answer lands: on the timeline at once (the facts wait for the decision)."""
    app = deps().applications.get(application_id)
    if (app.verification or {}).get("run_id") != run_id:
        return
    name = DEPARTMENT_NAMES.get(answer.get("department", ""), answer.get("department", ""))
    found = sum(1 for p in answer.get("persons", []) if p.get("found"))
    deps().applications.append_event(f"app#{application_id}", Event(
        "department_answered", "system", "system",
        note=f"{name}：已答复（{found} 人有记录，{len(answer.get('persons', [])) - found} 人无记录）",
        changes={"department": answer.get("department"), "status": DepartmentAnswer.ANSWERED.value, "run_id": run_id}))


def decide(application_id: str, run_id: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The recommendation: the rules engine on the departments' facts, every rule explained."""
    from chalicelib.domain.rule_versions import rules_in_force, rules_version

    city = deps().settings.city_code
    outcome: dict[str, Any] = {}

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        _same_run(app, run_id)
        check_transition(app.status, S.UNDER_REVIEW)
        try:
            book, version = rules_version(city, app.rules_version) if app.rules_version else rules_in_force(city)
        except errors.NotFound:
            book, version = rules_in_force(city)
        facts, sources, flags, departments = assemble(app, answers, city, book.no_record)
        assessment = eligibility.evaluate(book, version, "graduate" if app.kind == "graduate" else "individual",
                                          facts, sources)
        recommendation = recommend(assessment.verdict, flags)
        verification = {
            **(app.verification or {}), "status": _run_move(app, RunStatus.DECIDED), "decided_at": now_iso(),
            "recommendation": recommendation, "verdict": assessment.verdict.value,
            "rules_version": assessment.rules_version, "policy": assessment.policy,
            "outcomes": [{"rule_id": o.rule_id, "title": o.title, "result": o.result.value,
                          "explanation": o.explanation, "clause": o.clause, "sources": o.sources}
                         for o in assessment.outcomes],
            "priority_points": assessment.priority_points, "priority_groups": assessment.priority_groups,
            "flags": flags, "departments": departments, "facts": facts, "sources": sources,
        }
        outcome.update(recommendation=recommendation, flags=len(flags))
        return replace(app, status=S.UNDER_REVIEW, verification=verification), [
            Event("recommendation", "system", "system", S.VERIFYING.value, S.UNDER_REVIEW.value,
                  note=f"{RECOMMENDATIONS[recommendation]}（{len(flags)} 项需核对）" if flags
                  else RECOMMENDATIONS[recommendation], changes={"recommendation": recommendation})]

    try:
        app = mutate(application_id, None, change)
    except Skip:
        return {"application_id": application_id, "run_id": run_id, "skipped": True}
    count(VERIFICATIONS_DECIDED)
    notify_citizen(app, "status_changed", {"status_name": STATUS_NAMES[S.UNDER_REVIEW]})
    return {"application_id": application_id, "run_id": run_id, **outcome}


def record_failure(application_id: str, run_id: str, error: dict[str, Any]) -> None:
    """A run that ended without a decision: staff see it (status ``failed``) and re-run it."""
    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        _same_run(app, run_id)
        detail = str(error.get("Error") or error.get("error") or "unknown")[:200]
        verification = {**(app.verification or {}), "status": _run_move(app, RunStatus.FAILED), "failed_at": now_iso(),
                        "error": detail}
        return replace(app, verification=verification), [
            Event("verification_failed", "system", "system", note=f"联合审查未完成（{detail}），待工作人员重新发起")]

    try:
        mutate(application_id, None, change)
    except Skip:
        pass


STALLED_AFTER = timedelta(minutes=15)  # the state machine's own limit is 10 minutes


def sweep(limit: int = 200) -> dict[str, int]:
    """Runs that never reported back (never started, or the whole run timed out: no Catch sees
    that) are marked failed, so staff see them and re-run; the schedule calls this every 10 minutes."""
    cutoff = (now() - STALLED_AFTER).isoformat()
    marked = 0
    for status in (S.SUBMITTED, S.VERIFYING):
        cursor = None
        while True:
            page = deps().applications.by_status(status.value, cursor, 100)
            for app in page.items:
                v = app.verification or {}
                since = v.get("started_at") or v.get("queued_at") or ""
                if v.get("run_id") and v.get("status") in RUN_OPEN and since and since < cutoff:
                    record_failure(app.application_id, v["run_id"], {"Error": "RunStalled",
                                                                     "Cause": f"no decision since {since}"})
                    marked += 1
            cursor = page.next_cursor
            if not cursor or marked >= limit:
                break
    return {"marked_failed": marked}


def _run_move(app: Application, target: RunStatus) -> str:
    """The run's next status through its lifecycle (docs/decisions/0021), as stored."""
    return RUNS.move(RunStatus((app.verification or {}).get("status") or RUNS.initial), target).value


def _same_run(app: Application, run_id: str) -> None:
    if (app.verification or {}).get("run_id") != run_id:
        raise Skip()  # a newer run owns the application now


def launch(app: Application) -> Application:
    """Start the workflow for the run recorded on ``app``; a failure to start is recorded, never lost."""
    run_id = (app.verification or {}).get("run_id")
    if not run_id:
        return app
    try:
        deps().workflow.start_verification(app.application_id, run_id)
    except errors.ServiceUnavailable as exc:
        reason = str(exc)[:200]

        def not_started(current: Application, _: Access) -> tuple[Application, list[Event]]:
            _same_run(current, run_id)
            return replace(current, verification={**(current.verification or {}), "status": _run_move(current, RunStatus.NOT_STARTED),
                                                  "error": reason}), [
                Event("verification_failed", "system", "system", note="联合审查未能发起，待工作人员重新发起")]

        try:
            return mutate(app.application_id, None, not_started)
        except Skip:
            return app
    return app  # arn None: no workflow in this stack (unit tests); staff can still review by hand


def rerun(application_id: str, actor: Actor, version: int, reason: str) -> Application:
    """Staff start a new run (a department was down, the run failed); older runs' steps are ignored."""
    from chalicelib.domain import audit
    from chalicelib.domain.common import expect_version

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        expect_version(app.version, version)
        if app.status not in (S.SUBMITTED, S.VERIFYING, S.UNDER_REVIEW):
            raise errors.IllegalTransition(f"cannot verify an application in status {app.status.value}",
                                           field="status")
        from chalicelib.domain.privacy import require_consents

        require_consents(app)  # a member withdrew consent: the departments are not asked (0040)
        run = new_run(app)
        return replace(app, verification=run, version=app.version + 1), [
            Event("verification_rerun", actor.subject, "staff", note=reason)]

    audit.record(actor, f"application#{application_id}", "rerun_verification", reason)
    app = mutate(application_id, actor, change, staff_only=True)
    return launch(app)


# --- department facts -> rule facts ---------------------------------------------------------------
def recommend(verdict: eligibility.Verdict, flags: list[dict[str, Any]]) -> str:
    """The engine's verdict as a recommendation: a pass with any flag (a department contradicting or
    unable to confirm the citizen, a department unavailable) is a manual review, and an identity a
    department could not confirm (``unconfirmed``) is a manual review whatever the rules say."""
    if any(f.get("reason") == "unconfirmed" for f in flags):
        return "manual_review"
    recommendation = {"eligible": "pass", "not_eligible": "fail"}.get(verdict.value, "manual_review")
    return "manual_review" if recommendation == "pass" and flags else recommendation


def assemble(app: Application, answers: list[dict[str, Any]], city: str,
             no_record: dict[str, str] | None = None) -> tuple[
        dict[str, Any], dict[str, str], list[dict[str, Any]], dict[str, Any]]:
    """Facts for the rules, where each came from, what the declaration says that a department
    contradicts or cannot confirm, and the departments' answers as staff see them. ``no_record``:
    what each department's "no record" means (the city's rule book; docs/decisions/0019-no-record.md)."""
    if no_record is None:
        no_record = eligibility.rule_book(city).no_record
    by_dept = {a.get("department"): a for a in answers if isinstance(a, dict)}
    departments: dict[str, Any] = {}
    people: dict[str, dict[str, dict[str, Any]]] = {}
    today = now().date()
    adults = {m["member_id"] for m in app.members if _age(m, today) >= ADULT_AGE}
    main_id = app.main()["member_id"]
    unknown_from: dict[str, list[str]] = {}  # department -> members whose missing record makes its facts unknown
    unconfirmed: dict[str, list[str]] = {}  # department -> members whose identity it did not confirm
    for dept in DEPARTMENT_NAMES:
        answer = by_dept.get(dept) or {"status": DepartmentAnswer.UNAVAILABLE, "error": "no answer"}
        if answer.get("status") != DepartmentAnswer.ANSWERED:
            departments[dept] = {"status": DepartmentAnswer.UNAVAILABLE.value, "error": str(answer.get("error") or "")[:300]}
            continue
        people[dept] = {p["member_id"]: p for p in answer.get("persons", [])}
        departments[dept] = {"status": DepartmentAnswer.ANSWERED.value, "answered_at": answer.get("answered_at"),
                             "persons": answer.get("persons", [])}
        means = no_record.get(dept, "answer")
        # Members with no record whose absence matters: under "unknown" a minor's no record is the
        # empty value (children pay no insurance and hold no fund of their own); under
        # "unconfirmed" everyone's identity counts.
        missing = [m["member_id"] for m in app.members
                   if not (people[dept].get(m["member_id"]) or {}).get("found")
                   and (means == "unconfirmed" or (means == "unknown" and m["member_id"] in adults))]
        if missing:
            departments[dept]["no_record"] = {"means": means, "means_name": NO_RECORD_NAMES[means], "members": missing}
            read = [main_id] if dept in MAIN_ONLY else [m["member_id"] for m in app.members]
            if any(member in read for member in missing):
                unknown_from[dept] = missing
            if means == "unconfirmed":
                unconfirmed[dept] = missing
    facts: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def put(fact: str, value: Any, source: str) -> None:
        facts[fact], sources[fact] = value, source

    def each(dept: str) -> list[dict[str, Any]]:
        return [p.get("facts") or {} for p in people.get(dept, {}).values() if p.get("found")]

    put("household_size", len(app.members), "household")
    put("member_over_60", any(_age(m, today) >= 60 for m in app.members), "id_number")
    if "public_security" in people:
        main = people["public_security"].get(main_id) or {}
        ps = main.get("facts") or {}
        put("hukou_local", bool(main.get("found")) and ps.get("identity_valid") is not False
            and _is_city(ps.get("hukou_city"), city), "public_security")
        put("residence_permit", _is_city(ps.get("residence_permit_city"), city), "public_security")
    if "real_estate" in people:
        homes = [h for f in each("real_estate") for h in f.get("properties", []) if _is_city(h.get("city"), city)]
        put("homes_owned_in_city", len(homes), "real_estate")
        put("housing_floor_area", round(sum(float(h.get("floor_area", 0)) for h in homes), 2), "real_estate")
    if "civil_affairs" in people:
        put("subsistence_allowance", any(f.get("subsistence_allowance") or f.get("extreme_poverty")
                                         for f in each("civil_affairs")), "civil_affairs")
    if "vehicles" in people:
        put("max_vehicle_value", max([int(v.get("value", 0)) for f in each("vehicles")
                                      for v in f.get("vehicles", [])] or [0]), "vehicles")
    if "social_insurance" in people:
        main = (people["social_insurance"].get(main_id) or {})
        si = main.get("facts") or {} if main.get("found") else {}
        put("social_insurance_months", int(si.get("months_in_city", 0)), "social_insurance")
        put("employed_in_city", bool(si.get("employer_in_city")), "social_insurance")
    if "business" in people:
        put("max_company_capital", max([int(c.get("registered_capital", 0)) for f in each("business")
                                        for c in f.get("companies", [])] or [0]), "business")
    if "veterans" in people:
        put("veteran", any(f.get("veteran") or f.get("entitled_group") for f in each("veterans")), "veterans")
    if "provident_fund" in people:
        put("household_monthly_income", sum(int(f.get("monthly_deposit_base", 0)) for f in each("provident_fund")),
            "provident_fund")
    for dept in unknown_from:  # no record that is not an answer: unknown, not the empty value
        for fact in GIVES[dept]:
            put(fact, None, dept)
    declared = dict(app.data.get("declared") or {})
    for m in app.members:  # circumstances declared per member count for the household
        for flag in ("disability", "serious_illness", "model_worker", "frontline_worker"):
            if m.get(flag):
                declared.setdefault(flag, True)
    for fact, value in declared.items():
        if fact not in facts and value is not None:
            put(fact, value, "declared")
    flags: list[dict[str, Any]] = []
    for dept, members in unconfirmed.items():  # nobody is judged on an identity a department cannot vouch for
        flags.append({"fact": "identity", "declared": None, "found": None, "department": dept, "members": members,
                      "reason": "unconfirmed",
                      "note": f"{DEPARTMENT_NAMES[dept]}无此人记录，身份未核实：请人工核实身份证件"})
    invalid = [m["member_id"] for m in app.members
               if (people.get("public_security", {}).get(m["member_id"]) or {}).get("found")
               and ((people["public_security"][m["member_id"]].get("facts") or {}).get("identity_valid") is False)]
    if invalid:  # an ID number public security does not vouch for: never a clean pass
        flags.append({"fact": "identity_valid", "declared": True, "found": False, "department": "public_security",
                      "members": invalid, "reason": "identity_invalid", "note": "公安身份核验未通过，请核实身份证件"})
    for fact, dept in CHECKED.items():
        said = declared.get(fact)
        if said is None:
            continue
        name, dept_name = FACT_NAMES[fact], DEPARTMENT_NAMES[dept]
        if departments[dept]["status"] != DepartmentAnswer.ANSWERED:
            flags.append({"fact": fact, "declared": said, "found": None, "department": dept, "reason": "unavailable",
                          "note": f"申报的{name}未能核实：{dept_name}暂时无法核查"})
        elif sources.get(fact) == dept and facts.get(fact) is None:
            flags.append({"fact": fact, "declared": said, "found": None, "department": dept, "reason": "no_record",
                          "note": f"申报的{name}未能核实：{dept_name}无记录"})
        elif sources.get(fact) == dept and not _close(said, facts[fact]):
            flags.append({"fact": fact, "declared": said, "found": facts[fact], "department": dept,
                          "reason": "contradicted", "note": f"申报的{name}与{dept_name}数据不一致"})
    for dept, d in departments.items():
        if d["status"] != DepartmentAnswer.ANSWERED:
            flags.append({"fact": None, "department": dept, "reason": "unavailable",
                          "note": f"{DEPARTMENT_NAMES[dept]}暂时无法核查"})
    return facts, sources, flags, departments


def _close(declared: Any, found: Any) -> bool:
    if isinstance(declared, bool) or isinstance(found, bool):
        return bool(declared) == bool(found)
    try:
        a, b = float(declared), float(found)
    except (TypeError, ValueError):
        return declared == found
    return abs(a - b) <= max(abs(b), abs(a)) * TOLERANCE


def _is_city(value: Any, city: str) -> bool:
    return isinstance(value, str) and value in (city, deps().settings.city_name)


def _age(member: dict[str, Any], today: date) -> int:
    born = date.fromisoformat(member["birth_date"])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
