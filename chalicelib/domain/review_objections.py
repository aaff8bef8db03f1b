"""Objections to an annual review's outcome (复核): the tenant (or a delegate with ``act``) objects to
a decided outcome; the objection is the publicity objections' record, lifecycle and staff queue
(``GET /v1/staff/objections``), resolved through their route (domain/objections.resolve hands a
review's objection here): upheld, the review is verified again and a fresh recommendation is
confirmed; the tenant is told either way. Decisions: docs/decisions/0031, 0012."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import now_iso
from chalicelib.domain.review_outcomes import tell
from chalicelib.domain.reviews import DECIDED, reach, save
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import ReviewObjectionIn


def file(review_id: str, actor: Actor, body: ReviewObjectionIn) -> Any:
    """The tenant (or a delegate with ``act``) objects to a decided outcome: staff resolve it through
    the objections' queue (``POST /v1/staff/objections/{id}/resolve``); upheld re-verifies the review."""
    from chalicelib.domain.common import new_id
    from chalicelib.domain.publicity import OBJECTIONS, Objection

    review = deps().reviews.get(review_id)
    by = reach(review, actor, act=True)
    if review.status != DECIDED or review.objection is not None:
        raise errors.ReviewNotObjectionable(review.status.value, field="review_id")
    at = now_iso()
    lease = deps().leases.get(review.lease_id)
    objection = Objection(new_id("obj"), review.campaign_id, review.review_id, lease.application_id, actor.subject,
                          "applicant" if by.as_role == "tenant" else by.as_role, body.reason,
                          (body.contact or "").strip() or None, OBJECTIONS.initial, created_at=at, updated_at=at)
    deps().publicity.file_review_objection(objection)
    save(replace(review, objection={"objection_id": objection.objection_id, "status": objection.status.value,
                                    "filed_at": at}), review)
    return objection


def resolved(objection: Any, actor: Actor) -> None:
    """A review objection decided by staff (domain/objections.resolve): upheld, the review is
    verified again (a fresh run, then a fresh recommendation to confirm); the tenant is told."""
    from chalicelib.domain import review_verification
    from chalicelib.domain.publicity import DECISIONS, ObjectionStatus

    review = deps().reviews.get(objection.entry_id)
    noted = replace(review, objection={**(review.objection or {}), "status": objection.status.value,
                                       "resolved_at": objection.resolved_at, "reason": objection.decision_reason})
    review = save(noted, review)
    if objection.status == ObjectionStatus.UPHELD:
        review = review_verification.begin(review)
    tell(review, "review_objection_result", {"decision_name": DECISIONS[objection.status],
                                             "reason": objection.decision_reason or ""})
