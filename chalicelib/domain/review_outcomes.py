"""An annual review's outcome (年审结果): the recommendation the review rules call for, staff
confirming it (one review, version-checked; clean continues in bulk), its effects (a higher rent on
the lease from the next bill, the must-leave date with the city's grace period), the tenant told
with the reasons, and the objection path (复核: the publicity objections' record, queue and staff
route, in domain/review_objections.py). Decisions: docs/decisions/0031.

Contract other modules rely on: a decided ``higher_rent`` review carries ``recommendation["rent"] =
{"monthly_rent": fen, "from_month": "YYYY-MM", "basis": zh-CN}``; a ``must_leave`` one carries
``recommendation["leave_by"] = "YYYY-MM-DD"``.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import audit
from chalicelib.domain.common import expect_version, now_iso
from chalicelib.domain.eligibility import Result
from chalicelib.domain.reviews import (DECIDED, OUTCOME_NAMES, RECOMMENDED, REVIEWS, Outcome, Review, ReviewKind,
                                       reach, rules, save, today)
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import ReviewBulkConfirmIn, ReviewConfirmIn
    from chalicelib.domain.eligibility import Assessment, RuleVersion

#: Flags that make a recommendation a person's call whatever the rules say (as for applications).
SEVERITY = {Outcome.CONTINUE: 0, Outcome.HIGHER_RENT: 1, Outcome.MUST_LEAVE: 2}
SOURCE_NAMES = {"arrears": "租金台账", "declared": "本人申报", "household": "家庭档案", "id_number": "身份证号码"}


# --- the recommendation ------------------------------------------------------------------------------------
def recommend(review: Review, version: RuleVersion, assessment: Assessment, flags: list[dict[str, Any]],
              facts: dict[str, Any]) -> dict[str, Any]:
    """Continue, continue at a higher rent, must leave, or manual review; every rule explained with
    its source. A definite must-leave stands; otherwise anything unknown or flagged (a department
    down, a declaration it contradicts, an identity it cannot confirm) is a person's call."""
    from chalicelib.domain.verification import DEPARTMENT_NAMES

    on_fail = {r.id: r.on_fail for r in version.rules}
    failed = [o for o in assessment.outcomes if o.result == Result.FAILED]
    unknown = [o for o in assessment.outcomes if o.result == Result.UNKNOWN]
    worst = max((Outcome(on_fail[o.rule_id]) for o in failed), key=SEVERITY.__getitem__, default=Outcome.CONTINUE)
    if worst == Outcome.MUST_LEAVE and not any(f.get("reason") in ("unconfirmed", "identity_invalid") for f in flags):
        outcome = Outcome.MUST_LEAVE
    elif flags or unknown:
        outcome = Outcome.MANUAL
    else:
        outcome = worst
    names = {**DEPARTMENT_NAMES, **SOURCE_NAMES}
    explained = [{"rule_id": o.rule_id, "title": o.title, "result": o.result.value, "explanation": o.explanation,
                  "clause": o.clause, "on_fail": on_fail[o.rule_id],
                  "sources": {fact: {"source": s, "source_name": names.get(s, s)} for fact, s in o.sources.items()}}
                 for o in assessment.outcomes]
    recommendation: dict[str, Any] = {
        "outcome": outcome.value, "outcome_name": OUTCOME_NAMES[outcome], "rules_version": assessment.rules_version,
        "policy": assessment.policy, "rules": explained, "flags": flags,
        "reasons": [o.explanation for o in failed] or ([f["note"] for f in flags] if flags else
                                                       [o.explanation for o in unknown]),
        "clean": outcome == Outcome.CONTINUE and not flags and not unknown, "made_at": now_iso()}
    lease = deps().leases.get(review.lease_id)
    if outcome == Outcome.HIGHER_RENT:
        recommendation["rent"] = higher_rent(lease, _percent_over(version, assessment, failed, facts), today())
    if outcome == Outcome.MUST_LEAVE:
        recommendation.update(leave_by(today()))
    return recommendation


def higher_rent(lease: Any, percent_over: float, decided: date) -> dict[str, Any]:
    """The city's tier for how far over the limit the household is: the base rent times its
    multiplier, or the market rent for the floor area; from the month the city says, or the next bill
    if that month was billed already (an admin may bill next month ahead of its schedule)."""
    from chalicelib.domain.bills import rent_for

    cfg = rules().higher_rent
    tier = next((t for t in cfg.tiers if t.up_to_percent_over is None or percent_over <= t.up_to_percent_over),
                cfg.tiers[-1])
    y, m = divmod(decided.month - 1 + cfg.months_after_decision, 12)
    from_month = _next_bill(lease, f"{decided.year + y:04d}-{m + 1:02d}")
    if tier.multiplier is not None:
        monthly = round(lease.base_rent * tier.multiplier)
    else:
        monthly = round(float(lease.floor_area) * int(tier.market_rent_per_m2 or 0))
    monthly = max(monthly, rent_for(lease, from_month)[0])  # never lower than what the lease pays already
    basis = f"{tier.basis}（超出 {percent_over:.0f}%），自 {from_month} 起每月 {monthly / 100:.2f} 元"
    return {"monthly_rent": monthly, "from_month": from_month, "basis": basis, "percent_over": round(percent_over, 1)}


def _next_bill(lease: Any, month: str) -> str:
    """``month``, or the month after the lease's latest rent bill when that bill is issued already (an
    issued bill keeps its amount: the change starts on the first bill not issued yet)."""
    from chalicelib.domain.bills import CANCELLED, BillKind

    billed = max((b.month for b in deps().bills.of_lease(lease.lease_id)
                  if b.kind == BillKind.RENT and b.month and b.status != CANCELLED), default="")
    if billed < month:
        return month
    y, m = divmod(int(billed[:4]) * 12 + int(billed[5:7]), 12)  # the month after ``billed``
    return f"{y:04d}-{m + 1:02d}"


def leave_by(decided: date) -> dict[str, Any]:
    grace = rules().must_leave.grace_days
    return {"leave_by": (decided + timedelta(days=grace)).isoformat(), "grace_days": grace}


def _percent_over(version: RuleVersion, assessment: Assessment, failed: list[Any], facts: dict[str, Any]) -> float:
    """How far over its limit the household is, by the failed higher-rent rules that compare a fact
    with a limit (percent; 0 when none does)."""
    from chalicelib.domain.eligibility import rule_book

    book = rule_book(deps().settings.city_code)
    values = dict(facts)
    for fact in book.facts.values():
        if fact.derived:
            a, b = (values.get(n) for n in fact.derived["divide"])
            values[fact.id] = (a / b) if a is not None and b else None
    by_id = {r.id: r for r in version.rules}
    over = [0.0]
    for o in failed:
        when = by_id[o.rule_id].when
        if by_id[o.rule_id].on_fail == "higher_rent" and "param" in when and values.get(when["fact"]):
            limit = version.params[when["param"]]
            if limit:
                over.append((float(values[when["fact"]]) / limit - 1) * 100)
    return max(over)


# --- staff confirm ----------------------------------------------------------------------------------------------
def confirm(review_id: str, actor: Actor, body: ReviewConfirmIn) -> Review:
    """Staff confirm the recommendation (or decide another outcome with a reason): version-checked,
    audited; the higher rent goes on the lease from its month, the tenant is told with the reasons."""
    review = deps().reviews.get(review_id)
    reach(review, actor, act=True, reason=body.reason or "确认年审结果")
    return _decide(review, actor, body.version, Outcome(body.outcome) if body.outcome else None, body.reason)


def _decide(review: Review, actor: Actor, version: int, chosen: Outcome | None, reason: str | None) -> Review:
    expect_version(review.version, version)
    to = REVIEWS.move(review.status, DECIDED)  # decided already / not recommended yet: 409 with its code
    recommendation = dict(review.recommendation or {})
    recommended = Outcome(recommendation.get("outcome") or Outcome.MANUAL)
    outcome = chosen or recommended
    if outcome == Outcome.MANUAL or (outcome != recommended and not reason):
        raise errors.OutcomeNeeded("choose the outcome and give a reason", field="outcome",
                                   message="请选择年审结果（continue、higher_rent 或 must_leave）并填写理由")
    decided = today()
    lease = deps().leases.get(review.lease_id)
    recommendation.pop("rent", None)
    recommendation.pop("leave_by", None)
    recommendation.pop("grace_days", None)
    if outcome == Outcome.HIGHER_RENT:
        percent = float(((review.recommendation or {}).get("rent") or {}).get("percent_over") or 0)
        recommendation["rent"] = higher_rent(lease, percent, decided)
        _put_rent(lease, review, recommendation["rent"])  # before the decision: a retry finds it there
    if outcome == Outcome.MUST_LEAVE:
        recommendation.update(leave_by(decided))
    if outcome != recommended:
        recommendation["decided_otherwise"] = {"recommended": recommended.value, "reason": reason}
    audit.record(actor, f"review#{review.review_id}", f"review_decided_{outcome.value}", reason or "确认核查建议")
    done = save(replace(review, status=to, outcome=outcome, recommendation=recommendation, decided_at=now_iso(),
                        decided_by=actor.subject), review)
    _after_decision(done)
    return done


def _put_rent(lease: Any, review: Review, rent: dict[str, Any]) -> None:
    if any(c.get("review_id") == review.review_id for c in lease.rent_changes):
        return
    deps().leases.add_rent_change(lease, {**{k: rent[k] for k in ("monthly_rent", "from_month", "basis")},
                                          "review_id": review.review_id, "at": now_iso()})


def _after_decision(review: Review) -> None:
    """The household record takes a reported change; the tenant is told; a renewal waiting for
    this review goes on (domain/renewals.review_decided, when that module exists)."""
    answer = review.answer or {}
    if answer.get("change") == "changed":
        from chalicelib.domain import reviews

        held = reviews.holding(review)
        if held.household_id is not None:
            household = deps().households.get_household(held.household_id)
            if household is not None:
                deps().households.save_household(replace(household, members=answer["members"], updated_at=now_iso(),
                                                         version=household.version + 1), household.version)
    rec = review.recommendation or {}
    params = {"outcome_name": OUTCOME_NAMES[review.outcome] if review.outcome else "",
              "reasons": "；".join(rec.get("reasons") or []) or "经核查，家庭情况符合继续承租条件",
              "unit_label": review.unit_label}
    if review.outcome == Outcome.HIGHER_RENT:
        params.update(monthly_rent=f"{rec['rent']['monthly_rent'] / 100:.2f}", from_month=rec["rent"]["from_month"])
    if review.outcome == Outcome.MUST_LEAVE:
        params.update(leave_by=rec["leave_by"])
    tell(review, f"review_{review.outcome.value}" if review.outcome else "review_continue", params)
    if review.kind == ReviewKind.RENEWAL:  # a renewal was waiting for this fresh verification (§2)
        from chalicelib.domain import renewals  # renewals opens reviews: imported here, not at the top

        renewals.review_decided(review)


def tell(review: Review, template: str, params: dict[str, Any]) -> None:
    """Notify the tenant (the login's channel; an unclaimed lease has nobody to tell in the app)."""
    from chalicelib.notify import Notice

    if review.owner is None:
        return
    person = deps().households.get(review.owner)
    deps().notifier.notify(Notice(template=template, recipient=review.owner, mobile=person.mobile if person else None,
                                  params={"review_id": review.review_id, "deadline": review.deadline,
                                          **{k: str(v) for k, v in params.items()}}))


def confirm_continues(actor: Actor, body: ReviewBulkConfirmIn) -> dict[str, Any]:
    """One click: every clean continue of a campaign (up to ``limit``), or of the given reviews;
    each confirmed on the version read, anything else named with why it was left."""
    if bool(body.campaign_id) == bool(body.review_ids):
        raise errors.InvalidInput("campaign_id or review_ids, one of them", field="campaign_id",
                                  message="请填写年审批次编号或年审编号列表（二选一）")
    reason = "批量确认：核查无异常，继续承租"
    confirmed: list[str] = []
    left: list[dict[str, str]] = []
    if body.campaign_id:
        audit.record(actor, f"review_campaign#{body.campaign_id}", "confirm_continues", reason)
        cursor = None
        while len(confirmed) < body.limit:
            page = deps().reviews.of_campaign_in(body.campaign_id, RECOMMENDED, cursor, 100)
            for review in page.items:
                if _clean(review) and len(confirmed) < body.limit:
                    _try(review, actor, confirmed, left)
            cursor = page.next_cursor
            if not cursor:
                break
    else:
        for review_id in dict.fromkeys(body.review_ids or []):
            try:
                review = deps().reviews.get(review_id)
            except errors.ReviewNotFound:
                left.append({"review_id": review_id, "code": "REVIEW_NOT_FOUND"})
                continue
            if not _clean(review):
                left.append({"review_id": review_id, "code": "REVIEW_NOT_CONFIRMABLE"})
                continue
            audit.record(actor, f"review#{review_id}", "confirm_continues", reason)
            _try(review, actor, confirmed, left)
    return {"confirmed": len(confirmed), "review_ids": confirmed, "left": left}


def _clean(review: Review) -> bool:
    rec = review.recommendation or {}
    return review.status == RECOMMENDED and rec.get("outcome") == Outcome.CONTINUE.value and bool(rec.get("clean"))


def _try(review: Review, actor: Actor, confirmed: list[str], left: list[dict[str, str]]) -> None:
    from chalicelib.error_table import ERRORS

    try:
        _decide(review, actor, review.version, None, None)
        confirmed.append(review.review_id)
    except errors.Conflict as exc:  # someone else decided it meanwhile: named, the rest go on
        code = next((ERRORS[c][1] for c in type(exc).__mro__ if c in ERRORS), "CONFLICT")
        left.append({"review_id": review.review_id, "code": code})
