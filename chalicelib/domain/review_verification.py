"""An annual review's run on the departments (年审核查): the SAME verification workflow as an
application's (infra/workflows/verification.asl.json, with the review as its subject: ``subject_id``
"rev-..."), the same department facts (``verification.assemble``) and the same rules engine
(``eligibility.evaluate``) with the city's review rules (``review_versions`` of eligibility.json);
the recommendation is domain/review_outcomes.py. Households the city exempts (reviews.json
``exempt``) are reviewed on the departments' answers alone. Decisions: docs/decisions/0031.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.application_status import RUNS, ConsentStatus, RunStatus
from chalicelib.domain.application_types import Skip
from chalicelib.domain.common import new_id, now, now_iso
from chalicelib.domain.reviews import OPEN, RECOMMENDED, REVIEWS, VERIFYING, Review, adults, mutate, save
from chalicelib.observability import logger


@dataclass(frozen=True)
class Subject:
    """What ``verification.assemble`` reads of an application, for a reviewed household."""

    members: list[dict[str, Any]]
    data: dict[str, Any] = field(default_factory=dict)

    def main(self) -> dict[str, Any]:
        return next(m for m in self.members if m["relation"] == "self")


def begin(review: Review, exempt: str | None = None) -> Review:
    """Record a new run on the review (verifying) and start the workflow; a failure to start is
    recorded for staff to re-run, never lost."""
    run_id = new_id("run")
    previous = review.verification or {}
    history = (previous.get("history") or [])[-4:] + (
        [{k: previous.get(k) for k in ("run_id", "status", "error")}] if previous else [])
    run = {"run_id": run_id, "status": RUNS.initial.value, "queued_at": now_iso(), "history": history}
    started = save(replace(review, status=REVIEWS.move(review.status, VERIFYING), verification=run,
                           exempt=exempt if exempt is not None else review.exempt), review)
    try:
        deps().workflow.start_verification(review.review_id, run_id)
    except errors.ServiceUnavailable as exc:
        reason = str(exc)[:200]

        def not_started(current: Review) -> Review:
            _same_run(current, run_id)
            return replace(current, verification={**(current.verification or {}), "error": reason,
                                                  "status": _run_move(current, RunStatus.NOT_STARTED)})

        return mutate(review.review_id, not_started)
    return started


def begin_exempt(review_id: str) -> bool:
    """An open review whose household the city may exempt (every member old enough, by the ID
    numbers): the departments are asked at once, with the consents on the lease's application, and
    their answers alone complete it; if they do not confirm the exemption, the review goes back to
    the household (open). False when the household is not a candidate (nothing changes)."""
    from chalicelib.domain import reviews

    review = deps().reviews.get(review_id)
    if review.status != OPEN or review.answer is not None:
        return False
    held = reviews.holding(review)
    exemption = next((e for e in reviews.rules().exempt if _ages_fit(e, held.members)), None)
    if exemption is None:
        return False
    if reviews.imported_household(held.lease):
        return False  # an imported household has no consents on record yet: it answers itself
    app = deps().applications.get(held.lease.application_id)
    on_record = {m["person_key"]: app.consents.get(m["member_id"]) for m in app.members}
    consents = {}
    for m in adults(held.members):
        given = on_record.get(m["person_key"]) or {}
        if given.get("status") != ConsentStatus.GIVEN:
            return False  # nobody is asked about without a recorded consent: the household answers
        consents[m["member_id"]] = {**given, "member_id": m["member_id"]}
    answer = {"change": "none", "members": held.members, "declared": {}, "note": None, "role": "exempt",
              "exemption": exemption.id}
    opened = save(replace(review, answer=answer, answered_at=now_iso(), answered_by="system", consents=consents),
                  review)
    begin(opened, exempt=exemption.id)
    return True


def _ages_fit(exemption: Any, members: list[dict[str, Any]]) -> bool:
    from chalicelib.domain.reviews import age

    limit = exemption.min_age_all_members
    return limit is None or all(age(m) >= limit for m in members)


# --- the workflow's steps (called through domain/verification.py for "rev-..." subjects) -------------------
def start(review_id: str, run_id: str) -> dict[str, Any]:
    """Mark the run running; hand the workflow every member with a renewed consent (minors travel
    with the tenant's)."""
    def change(review: Review) -> Review:
        _same_run(review, run_id)
        if review.status != VERIFYING:
            raise Skip()
        return replace(review, verification={**(review.verification or {}), "started_at": now_iso(),
                                             "status": _run_move(review, RunStatus.RUNNING)})

    review = mutate(review_id, change)
    members = (review.answer or {}).get("members") or []
    main = next((m for m in members if m["relation"] == "self"), {})
    grown = {m["member_id"] for m in adults(members)}
    persons = []
    for m in members:
        consent = review.consents.get(m["member_id"] if m["member_id"] in grown else main.get("member_id", ""))
        if not consent or consent.get("status") != ConsentStatus.GIVEN:
            continue
        persons.append({"member_id": m["member_id"], "id_number": m["id_number"], "name": m["name"],
                        "relation": m["relation"], "minor": m["member_id"] not in grown,
                        "consent": {k: consent.get(k) for k in ("method", "at", "text_version", "document_id")}})
    return {"subject_id": review_id, "run_id": run_id, "persons": persons}


def record_department(review_id: str, run_id: str, answer: dict[str, Any]) -> None:
    """A department answered: the facts wait for the decision (one write per run, not eight)."""
    logger.info("review department answered", extra={"department": answer.get("department"), "run_id": run_id})


def decide(review_id: str, run_id: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The review rules on the departments' facts (and the rent ledger's arrears): the
    recommendation with every rule explained; an exemption they do not confirm reopens the review."""
    from chalicelib.domain import arrears, eligibility, review_outcomes, verification

    city = deps().settings.city_code
    outcome: dict[str, Any] = {}
    lease_arrears = arrears.of_lease(deps().reviews.get(review_id).lease_id)
    book = eligibility.rule_book(city)

    def change(review: Review) -> Review:
        _same_run(review, run_id)
        if review.status != VERIFYING:
            raise Skip()
        answer = review.answer or {}
        declared = dict(answer.get("declared") or {})
        if answer.get("change") == "changed":  # the incomes the household reports, checked against the fund's
            declared.setdefault("household_monthly_income", sum(int(m.get("monthly_income") or 0)
                                                                for m in answer.get("members") or []))
        subject = Subject(answer.get("members") or [], {"declared": declared})
        facts, sources, flags, departments = verification.assemble(subject, answers, city, book.no_record)  # type: ignore[arg-type]
        facts["arrears_months"], sources["arrears_months"] = lease_arrears.months, "arrears"
        version = book.review_in_force(now())
        assessment = eligibility.evaluate(book, version, "review", facts, sources)
        run = {**(review.verification or {}), "status": _run_move(review, RunStatus.DECIDED), "decided_at": now_iso(),
               "rules_version": version.version, "facts": facts, "sources": sources, "flags": flags,
               "departments": departments, "arrears": {"months": lease_arrears.months, "amount": lease_arrears.amount,
                                                       "since": lease_arrears.since}}
        if review.exempt and answer.get("role") == "exempt" and not _exemption_holds(review.exempt, facts, sources,
                                                                                     flags):
            outcome.update(recommendation=None, exemption="not_confirmed")
            return replace(review, status=REVIEWS.move(review.status, OPEN), answer=None, answered_at=None,
                           answered_by=None, consents={}, verification={**run, "exemption": "not_confirmed"})
        recommendation = review_outcomes.recommend(review, version, assessment, flags, facts)
        outcome.update(recommendation=recommendation["outcome"])
        return replace(review, status=REVIEWS.move(review.status, RECOMMENDED), verification=run,
                       recommendation=recommendation)

    try:
        review = mutate(review_id, change)
    except Skip:
        return {"subject_id": review_id, "run_id": run_id, "skipped": True}
    if outcome.get("exemption") == "not_confirmed":
        review_outcomes.tell(review, "review_exemption_not_confirmed", {"deadline": review.deadline})
    return {"subject_id": review_id, "run_id": run_id, **outcome}


def record_failure(review_id: str, run_id: str, error: dict[str, Any]) -> None:
    """A run that ended without a decision: staff see it (run status ``failed``) and re-run it."""
    def change(review: Review) -> Review:
        _same_run(review, run_id)
        detail = str(error.get("Error") or error.get("error") or "unknown")[:200]
        return replace(review, verification={**(review.verification or {}), "failed_at": now_iso(), "error": detail,
                                             "status": _run_move(review, RunStatus.FAILED)})

    try:
        mutate(review_id, change)
    except Skip:
        pass


def rerun(review_id: str, version: int, reason: str, actor: Any) -> Review:
    """Staff start a new run (a department was down, the run failed, an objection upheld)."""
    from chalicelib.domain import audit
    from chalicelib.domain.common import expect_version

    review = deps().reviews.get(review_id)
    expect_version(review.version, version)
    audit.record(actor, f"review#{review_id}", "rerun_verification", reason)
    if review.status == VERIFYING:  # a run failed or stalled: a new run, the same status
        return _restart(review)
    return begin(review)  # recommended (or decided, an objection upheld): verifying again


def _restart(review: Review) -> Review:
    run_id = new_id("run")
    previous = review.verification or {}
    run = {"run_id": run_id, "status": RUNS.initial.value, "queued_at": now_iso(),
           "history": (previous.get("history") or [])[-4:] + [{k: previous.get(k) for k in ("run_id", "status", "error")}]}
    saved = save(replace(review, verification=run), review)
    deps().workflow.start_verification(review.review_id, run_id)
    return saved


def _exemption_holds(exemption_id: str, facts: dict[str, Any], sources: dict[str, str],
                     flags: list[dict[str, Any]]) -> bool:
    """The departments (not a declaration) confirm every fact the exemption names, and nothing is flagged."""
    from chalicelib.domain import reviews

    exemption = next((e for e in reviews.rules().exempt if e.id == exemption_id), None)
    if exemption is None or flags:
        return False
    return all(facts.get(f) == v and sources.get(f) not in (None, "declared") for f, v in exemption.facts.items())


def _run_move(review: Review, target: RunStatus) -> str:
    return RUNS.move(RunStatus((review.verification or {}).get("status") or RUNS.initial), target).value


def _same_run(review: Review, run_id: str) -> None:
    if (review.verification or {}).get("run_id") != run_id:
        raise Skip()  # a newer run owns the review now
