"""Staff review (审核): the queue, the review page, one-click approve (one or many), reject,
override and re-running the joint verification. Every action is audited."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.domain.application_status import RECOMMENDATIONS, REJECT_REASONS
from chalicelib.handlers.applications import access, present, summary
from chalicelib.handlers.roles import CASE_STAFF
from chalicelib.web import CURSOR, ID_PATTERN, LIMIT, Api, Call, Param, item_failure

idn = lazy.module("chalicelib.domain.idnumbers")
case_review = lazy.module("chalicelib.domain.case_review")
verification = lazy.module("chalicelib.domain.verification")

bp = Blueprint(__name__)
api = Api(bp, "case_review")

REASON = Param("reason", description="查看事由（记入审计）", max_length=200)


def present_review(app: Any) -> dict[str, Any]:
    """The review page: the application, every department's answer, every rule, the flags."""
    out = present(app, access("staff"))
    v = app.verification or {}
    out["verification"] = {
        "run_id": v.get("run_id"), "execution_name": v.get("execution_name"), "status": v.get("status"), "error": v.get("error"),
        "recommendation": app.recommendation(), "recommendation_name": RECOMMENDATIONS.get(app.recommendation() or ""),
        "verdict": v.get("verdict"), "rules_version": v.get("rules_version"), "policy": v.get("policy"),
        "outcomes": v.get("outcomes", []), "priority_points": v.get("priority_points"),
        "priority_groups": v.get("priority_groups", []), "flags": v.get("flags", []),
        "departments": [{"department": d, "department_name": verification.DEPARTMENT_NAMES.get(d, d), **a}
                        for d, a in (v.get("departments") or {}).items()],
        "override": v.get("override"), "started_at": v.get("started_at"), "decided_at": v.get("decided_at"),
        "failed_at": v.get("failed_at"), "history": v.get("history", []),  # earlier runs: id, outcome, error
    }
    out["reject_reasons"] = [{"code": c, "name": n} for c, n in REJECT_REASONS.items()]
    return out


def queue_item(app: Any) -> dict[str, Any]:
    v = app.verification or {}
    return summary(app) | {"main_applicant": idn.mask_name(app.main()["name"]), "street_id": app.street_id,
                           "recommendation": app.recommendation(), "flags": len(v.get("flags", [])),
                           "priority_points": v.get("priority_points"), "decided_at": v.get("decided_at")}


@api.route("/v1/staff/review", summary="审核队列：建议通过的在前，同类中先到先审（姓名已遮盖）", roles=CASE_STAFF,
           params=[Param("recommendation", "enum", "核查建议", choices=tuple(RECOMMENDATIONS)),
                   Param("street", description="街道", pattern=ID_PATTERN),
                   Param("kind", "enum", "申请类别", choices=("individual", "graduate", "group")),
                   Param("older_than_days", "integer", "只看提交超过若干天的", minimum=0, maximum=365),
                   CURSOR, LIMIT], response="ReviewQueue", operation_id="listReviewQueue")
def review_queue(call: Call) -> dict[str, Any]:
    p = call.params
    page = case_review.queue(p["recommendation"], p["street"], p["kind"], p["older_than_days"], p["cursor"], p["limit"])
    return {"items": [queue_item(a) for a in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/staff/applications/{application_id}/review",
           summary="审核页：家庭、材料、各部门答复、逐条规则、需核对事项（记入审计）", roles=CASE_STAFF,
           params=[REASON], response="ReviewPage", operation_id="getReviewPage")
def review_page(call: Call, application_id: str) -> dict[str, Any]:
    return present_review(case_review.review_page(application_id, call.actor, call.params["reason"]))


@api.route("/v1/staff/applications/{application_id}/approve", "POST", summary="一键审核通过（建议通过的申请）",
           roles=CASE_STAFF, body="chalicelib.bodies:ApproveIn", response="Application", operation_id="approveApplication")
def approve(call: Call, application_id: str) -> dict[str, Any]:
    body = call.body()
    return present(case_review.approve(application_id, call.actor, body["version"], body.get("note")),
                   access("staff"))


@api.route("/v1/staff/review/approve", "POST", summary="批量一键审核通过（每件单独成败）", roles=CASE_STAFF,
           body="chalicelib.bodies:BulkApproveIn", response="BulkApproveResult", operation_id="approveApplications")
def approve_many(call: Call) -> dict[str, Any]:
    items = []
    for outcome in case_review.approve_many(call.actor, call.model()):
        if outcome.error is not None:
            items.append({"application_id": outcome.application_id, **item_failure(outcome.error)})
        else:
            app = outcome.result
            items.append({"application_id": app.application_id, "ok": True, "status": app.status.value,
                          "version": app.version})
    return {"items": items}


@api.route("/v1/staff/applications/{application_id}/reject", "POST", summary="不予通过：原因代码与给申请人的说明",
           roles=CASE_STAFF, body="chalicelib.bodies:RejectIn", response="Application", operation_id="rejectApplication")
def reject(call: Call, application_id: str) -> dict[str, Any]:
    return present(case_review.reject(application_id, call.actor, call.model()), access("staff"))


@api.route("/v1/staff/applications/{application_id}/override", "POST", summary="改变核查建议（必须写明理由）",
           roles=CASE_STAFF, body="chalicelib.bodies:OverrideIn", response="Application", operation_id="overrideRecommendation")
def override(call: Call, application_id: str) -> dict[str, Any]:
    return present(case_review.override(application_id, call.actor, call.model()), access("staff"))


@api.route("/v1/staff/applications/{application_id}/verification", "POST", summary="重新发起联合审查",
           roles=CASE_STAFF, body="chalicelib.bodies:RerunIn", response="Application", operation_id="rerunVerification")
def rerun(call: Call, application_id: str) -> dict[str, Any]:
    body = call.body()
    return present(verification.rerun(application_id, call.actor, body["version"], body["reason"]),
                   access("staff"))
