"""The annual review (年审), issue 12 §1: the tenant's review (what the bureau holds about the
household, the deadline, the two ways to answer), answering it (the tenant, a delegate with ``act``,
staff at the counter or at home with a reason), adults' renewed consents, a changed household's
documents, staff reading and confirming outcomes (one, or clean continues in bulk), re-running the
departments, and the tenant's objection. Decisions: docs/decisions/0031. A campaign's own routes
(opening it, its progress) are handlers/review_campaigns.py."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CASE_STAFF, CITIZEN
from chalicelib.web import Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.reviews import Reach, Review

reviews = lazy.module("chalicelib.domain.reviews")
outcomes = lazy.module("chalicelib.domain.review_outcomes")
review_verification = lazy.module("chalicelib.domain.review_verification")
review_answers = lazy.module("chalicelib.domain.review_answers")
review_objections = lazy.module("chalicelib.domain.review_objections")

bp = Blueprint(__name__)
api = Api(bp, "reviews")

ANSWERERS = CITIZEN + CASE_STAFF
REASON = Param("reason", description="查看事由（必填，记入审计）", max_length=200)
WAYS = [{"change": "none", "title": "家庭情况无变化",
         "description": "一键确认：住建部门将重新向各部门核查，无需提交证明材料"},
        {"change": "changed", "title": "家庭情况有变化",
         "description": "填写现在的家庭成员、收入和情况，并按要求上传材料"}]


def present(review: Review, by: Reach, *, staff: bool = False) -> dict[str, Any]:
    from chalicelib.domain.eligibility import rule_book
    from chalicelib.domain.households import config, present_member
    from chalicelib.domain.idnumbers import mask_name
    from chalicelib.domain.review_outcomes import SOURCE_NAMES
    from chalicelib.domain.verification import DEPARTMENT_NAMES

    held = reviews.holding(review)
    book = rule_book(reviews.deps().settings.city_code)
    names = {**DEPARTMENT_NAMES, **SOURCE_NAMES}
    facts = [{"fact": f, "label": book.facts[f].label if f in book.facts else f, "value": v,
              "source": held.sources.get(f, "unknown"), "source_name": names.get(held.sources.get(f, ""), "未知")}
             for f, v in sorted(held.facts.items()) if isinstance(v, (bool, int, float)) or v is None]
    answer = review.answer or None
    members = (answer or {}).get("members") or held.members
    cfg = config()
    doc_names = cfg.document_types
    rules = reviews.rules()
    rec = review.recommendation
    return {
        "review_id": review.review_id, "campaign_id": review.campaign_id, "lease_id": review.lease_id,
        "kind": review.kind, "status": review.status, "status_name": reviews.STATUS_NAMES[review.status],
        "deadline": review.deadline, "deadline_passed": reviews.deadline_passed(review), "unit_label": review.unit_label,
        "estate_id": review.estate_id, "as": by.as_role,
        "household": {"members": [present_member(m, full=by.full) for m in held.members], "facts": facts,
                      "verified_at": held.verified_at},
        "ways": [{**w, "documents": [{"type": t, "type_name": doc_names.get(t, t)} for t in
                                     (rules.documents_when_changed if w["change"] == "changed" else [])]}
                 for w in WAYS],
        "answer": None if answer is None else {
            "change": answer["change"], "role": answer.get("role"), "answered_at": review.answered_at,
            "declared": dict(answer.get("declared") or {}), "note": answer.get("note"),
            "members": [present_member(m, full=by.full) for m in answer["members"]]},
        "consents": [{"member_id": m["member_id"], "name": m["name"] if by.full else mask_name(m["name"]),
                      "given": m["member_id"] in review.consents,
                      "method": (review.consents.get(m["member_id"]) or {}).get("method")}
                     for m in reviews.adults(members)],
        "consent_text_version": cfg.consent_version,
        "documents": [{"document_id": d["document_id"], "type": d["type"], "type_name": doc_names.get(d["type"], d["type"]),
                       "status": d["status"], "reason": d.get("reason"), "created_at": d["created_at"]}
                      for d in review.documents.values()],
        "assisted": None if review.assisted is None else {"where": review.assisted["where"], "at": review.assisted["at"],
                                                          "reason": review.assisted["reason"] if staff else None},
        "verification": _run(review.verification, staff),
        "recommendation": _recommendation(rec) if rec else None,
        "outcome": review.outcome, "outcome_name": reviews.OUTCOME_NAMES[review.outcome] if review.outcome else None,
        "decided_at": review.decided_at,
        "objection": None if review.objection is None else {k: review.objection.get(k) for k in (
            "objection_id", "status", "filed_at")},
        "created_at": review.created_at, "updated_at": review.updated_at, "version": review.version}


def _run(run: dict[str, Any] | None, staff: bool) -> dict[str, Any] | None:
    if not run:
        return None
    from chalicelib.domain.verification import DEPARTMENT_NAMES

    out = {"run_id": run.get("run_id"), "status": run.get("status"), "queued_at": run.get("queued_at"),
           "decided_at": run.get("decided_at"), "error": run.get("error"), "exemption": run.get("exemption")}
    if staff:
        departments = run.get("departments") or {}
        out.update(
            flags=list(run.get("flags") or []),
            departments=[{"department": d, "department_name": DEPARTMENT_NAMES.get(d, d), **v} for d, v in departments.items()],
            arrears=run.get("arrears"))
    return out


def _recommendation(rec: dict[str, Any]) -> dict[str, Any]:
    keys = ("outcome", "outcome_name", "rules_version", "policy", "rules", "flags", "reasons", "clean", "made_at")
    out = {k: rec.get(k) for k in keys}
    out["rent"] = rec.get("rent")
    out["leave_by"] = rec.get("leave_by")
    out["grace_days"] = rec.get("grace_days")
    out["decided_otherwise"] = rec.get("decided_otherwise")
    return out


# --- the tenant, a delegate --------------------------------------------------------------------------------
@api.route("/v1/me/reviews/current", summary="我的年审：住建部门掌握的家庭情况、申报期限、两种申报方式、进度与结果",
           roles=CITIZEN, response="AnnualReview", raises=(errors.ReviewNotFound,), operation_id="getMyCurrentReview")
def my_review(call: Call) -> dict[str, Any]:
    """The caller's open review (or the latest), with what the bureau holds about the household now."""
    review, by = reviews.mine(call.actor)
    return present(review, by)


@api.route("/v1/delegations/{grant_id}/reviews/current", summary="受托人：委托人的年审（个人信息已遮盖）",
           roles=CITIZEN, response="AnnualReview", raises=(errors.ReviewNotFound,),
           operation_id="getDelegatedCurrentReview")
def delegated_review(call: Call, grant_id: str) -> dict[str, Any]:
    """The grantor's open (or latest) review, for the delegate holding the grant (masked)."""
    review, by = reviews.delegated(call.actor, grant_id)
    return present(review, by)


@api.route("/v1/reviews/{review_id}/answer", "POST",
           summary="年审申报：家庭情况无变化（一键确认，附本人授权），或填写变化后的家庭情况；受托人（办理权限）、工作人员代办（须填写事由）",
           roles=ANSWERERS, body="chalicelib.bodies:ReviewAnswerIn", response="AnnualReview",
           raises=(errors.ReviewNotFound, errors.ReviewAlreadyAnswered, errors.ReviewDeadlinePassed,
                   errors.DocumentsIncomplete), operation_id="answerReview")
def answer(call: Call, review_id: str) -> dict[str, Any]:
    """Answers the review once; the departments are asked as soon as every adult has consented."""
    review = review_answers.answer(review_id, call.actor, call.model())
    staff = call.actor.has(*reviews.STAFF_ROLES)  # audited with the answer's reason already
    return present(review, reviews.Reach("staff") if staff else reviews.reach(review, call.actor, act=False), staff=staff)


@api.route("/v1/reviews/{review_id}/consent", "POST", summary="年审：成年家庭成员本人重新授权查询个人信息",
           roles=CITIZEN, body="chalicelib.bodies:ReviewConsentIn", response="AnnualReviewConsent",
           raises=(errors.ReviewNotFound, errors.ReviewConsentNotNeeded), operation_id="consentToReview")
def consent(call: Call, review_id: str) -> dict[str, Any]:
    """An adult member's renewed consent under their own login (before or after the answer)."""
    review = review_answers.consent(review_id, call.actor, call.model())
    return {"review_id": review.review_id, "status": review.status, "status_name": reviews.STATUS_NAMES[review.status],
            "missing": len(review_answers.missing_consents(review)) if review.answer else None,
            "version": review.version}


@api.route("/v1/reviews/{review_id}/documents", "POST", summary="年审：家庭情况有变化时上传证明材料（返回直传 S3 的表单）",
           roles=ANSWERERS, body="chalicelib.bodies:ReviewDocumentIn", status=201,
           response="AnnualReviewDocumentUpload",
           raises=(errors.ReviewNotFound, errors.ReviewAlreadyAnswered, errors.TooManyDocuments),
           operation_id="addReviewDocument")
def add_document(call: Call, review_id: str) -> dict[str, Any]:
    body = call.model()
    review, doc, upload = reviews.add_document(review_id, call.actor, body.type, body.content_type, body.reason)
    return {"review_id": review.review_id, "document_id": doc["document_id"], "type": doc["type"],
            "status": doc["status"], "version": review.version, "upload": upload}


@api.route("/v1/reviews/{review_id}/objections", "POST", summary="对年审结果申请复核（承租人或办理权限受托人）",
           roles=CITIZEN, body="chalicelib.bodies:ReviewObjectionIn", status=201, response="Objection",
           raises=(errors.ReviewNotFound, errors.ReviewNotObjectionable), operation_id="objectToReview")
def object_to(call: Call, review_id: str) -> dict[str, Any]:
    """An objection to a decided outcome; staff resolve it in the objections' queue."""
    from chalicelib.handlers.publicity import present_objection

    return present_objection(review_objections.file(review_id, call.actor, call.model()))


# --- staff ----------------------------------------------------------------------------------------------------
@api.route("/v1/staff/reviews/{review_id}", summary="工作人员：查看一件年审（核查结果、各部门答复、规则说明；须填写事由，记入审计）",
           roles=CASE_STAFF, params=[REASON], response="AnnualReview", raises=(errors.ReviewNotFound,),
           operation_id="getReviewForStaff")
def staff_review(call: Call, review_id: str) -> dict[str, Any]:
    review, by = reviews.for_staff(review_id, call.actor, call.params["reason"])
    return present(review, by, staff=True)


@api.route("/v1/staff/reviews/{review_id}/confirm", "POST",
           summary="工作人员：确认年审结果（须读取时的版本号；改变建议或人工审核时须选择结果并填写理由）",
           roles=CASE_STAFF, body="chalicelib.bodies:ReviewConfirmIn", response="AnnualReview",
           raises=(errors.ReviewNotFound, errors.ReviewAlreadyDecided, errors.ReviewNotRecommended,
                   errors.OutcomeNeeded), operation_id="confirmReview")
def confirm(call: Call, review_id: str) -> dict[str, Any]:
    """Confirms the outcome: a higher rent goes on the lease from its month; the tenant is told why."""
    review = outcomes.confirm(review_id, call.actor, call.model())
    return present(review, reviews.Reach("staff"), staff=True)


@api.route("/v1/staff/reviews/confirm-continues", "POST",
           summary="工作人员：一键确认核查无异常的“继续承租”（按年审批次或指定年审）",
           roles=CASE_STAFF, body="chalicelib.bodies:ReviewBulkConfirmIn", response="AnnualReviewBulkResult",
           operation_id="confirmReviewContinues")
def confirm_continues(call: Call) -> dict[str, Any]:
    """Every clean continue confirmed in one click; anything else named with why it was left."""
    return outcomes.confirm_continues(call.actor, call.model())  # type: ignore[no-any-return]


@api.route("/v1/staff/reviews/{review_id}/verification", "POST", summary="工作人员：重新发起年审核查（须填写理由）",
           roles=CASE_STAFF, body="chalicelib.bodies:RerunIn", response="AnnualReview",
           raises=(errors.ReviewNotFound, errors.ReviewAlreadyDecided), operation_id="rerunReviewVerification")
def rerun(call: Call, review_id: str) -> dict[str, Any]:
    body = call.model()
    review = review_verification.rerun(review_id, body.version, body.reason, call.actor)
    return present(review, reviews.Reach("staff"), staff=True)
