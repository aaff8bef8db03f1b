"""Staff review (审核): the queue with clean passes first, one-click approve (one or many), reject
with a reason code, override a recommendation only with a written reason. Everything audited."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import audit
from chalicelib.domain.application_status import RECOMMENDATIONS, REJECT_REASONS, STATUS_NAMES, S, check_transition
from chalicelib.domain.access import mutate, notify_citizen
from chalicelib.domain.application_types import Access, Application, Event
from chalicelib.domain.common import Outcome, Page, expect_version, now_iso
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import BulkApproveIn, OverrideIn, RejectIn

MAX_BULK = 50


def queue(recommendation: str | None, street: str | None, kind: str | None, older_than_days: int | None,
          cursor: str | None, limit: int) -> Page[Application]:
    return deps().applications.review_queue(recommendation, street, kind, older_than_days, cursor, limit)


def review_page(application_id: str, actor: Actor, reason: str | None) -> Application:
    """Everything staff decide on: household, documents, every department's answer, every rule."""
    audit.record(actor, f"application#{application_id}", "read_review", reason)
    return deps().applications.get(application_id)


def approve(application_id: str, actor: Actor, version: int, note: str | None = None) -> Application:
    """One click for a pass recommendation (or one staff overrode to pass, with a reason)."""
    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        expect_version(app.version, version)
        check_transition(app.status, S.APPROVED)
        if app.recommendation() != "pass":
            raise errors.IllegalTransition("only a pass recommendation is approved in one click; override it "
                                           "with a written reason first", field="recommendation")
        return replace(app, status=S.APPROVED, version=app.version + 1, approved_at=now_iso()), [
            Event("approved", actor.subject, "staff", S.UNDER_REVIEW.value, S.APPROVED.value, note=note)]

    audit.record(actor, f"application#{application_id}", "approve", note or "一键审核通过")
    app = mutate(application_id, actor, change, staff_only=True)
    notify_citizen(app, "status_changed", {"status_name": STATUS_NAMES[S.APPROVED]})
    return app


def approve_many(actor: Actor, body: BulkApproveIn) -> list[Outcome[Application]]:
    """Bulk approve: each item on its own (one stale or illegal item does not stop the others)."""
    if len(body.items) > MAX_BULK:
        raise errors.InvalidInput(f"at most {MAX_BULK} at once", field="items", message=f"一次最多审核 {MAX_BULK} 个申请")
    results: list[Outcome[Application]] = []
    for item in body.items:
        try:
            results.append(Outcome(item.application_id, approve(item.application_id, actor, item.version, item.note)))
        except errors.DomainError as exc:
            results.append(Outcome(item.application_id, error=exc))
    return results


def reject(application_id: str, actor: Actor, body: RejectIn) -> Application:
    code = body.reason_code
    if code not in REJECT_REASONS:
        raise errors.InvalidInput(f"one of {', '.join(REJECT_REASONS)}", field="reason_code",
                                  message=f"不通过原因应为以下之一：{'、'.join(REJECT_REASONS)}")

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        expect_version(app.version, body.version)
        check_transition(app.status, S.REJECTED)
        return replace(app, status=S.REJECTED, version=app.version + 1, data={
            **app.data, "rejection": {"reason_code": code, "reason": REJECT_REASONS[code], "note": body.note,
                                      "at": now_iso()}}), [
            Event("rejected", actor.subject, "staff", app.status.value, S.REJECTED.value,
                  note=f"{REJECT_REASONS[code]}：{body.note}", changes={"reason_code": code})]

    audit.record(actor, f"application#{application_id}", "reject", f"{code}: {body.note}")
    app = mutate(application_id, actor, change, staff_only=True, unlock=True)  # they may apply again
    notify_citizen(app, "status_changed", {"status_name": f"{STATUS_NAMES[S.REJECTED]}（{REJECT_REASONS[code]}）"})
    return app


def override(application_id: str, actor: Actor, body: OverrideIn) -> Application:
    """Staff replace the recommendation; never without a written reason (audited, on the timeline)."""
    target, reason = body.recommendation, body.reason.strip()
    if target not in RECOMMENDATIONS:
        raise errors.InvalidInput(f"one of {', '.join(RECOMMENDATIONS)}", field="recommendation",
                                  message="核查建议应为 pass、fail 或 manual_review")
    if len(reason) < 5:
        raise errors.InvalidInput("a written reason (at least 5 characters)", field="reason", message="改变建议的理由至少 5 个字")

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        expect_version(app.version, body.version)
        if app.status != S.UNDER_REVIEW:
            raise errors.IllegalTransition("only an application under review", field="status")
        before = app.recommendation()
        verification = {**(app.verification or {}), "override": {
            "recommendation": target, "from": before, "reason": reason, "by": actor.subject, "at": now_iso()}}
        return replace(app, verification=verification, version=app.version + 1), [
            Event("recommendation_overridden", actor.subject, "staff", note=reason,
                  changes={"from": before, "to": target})]

    audit.record(actor, f"application#{application_id}", "override_recommendation", reason)
    return mutate(application_id, actor, change, staff_only=True)
