"""Objections (异议) to a publicity entry: anyone logged in files one during the period; staff uphold
it (the application goes back to review and leaves the batch) or dismiss it (with a reason), and the
filer is told. A tenant's objection to an annual review's outcome (its entry is the review,
"rev-...") takes the same record, queue and route; upheld, the review is verified again
(domain/review_objections.py). The types and lifecycle are publicity's (domain/publicity.py), which settles a batch
whose objections are done. Decisions: docs/decisions/0012."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import audit
from chalicelib.domain.access import mutate, notify_citizen
from chalicelib.domain.application_types import Access, Application, Event
from chalicelib.domain.common import Page, expect_version, new_id
from chalicelib.domain.publicity import (
    _DECIDED,
    DECISIONS,
    LISTED,
    OBJECTIONS,
    BatchStatus,
    Objection,
    ObjectionStatus,
    _now_iso,
    _send_back,
    settle,
)
from chalicelib.identity import Actor, Role

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import ObjectionIn, ResolveIn


def by_status(status: ObjectionStatus, cursor: str | None, limit: int) -> Page[Objection]:
    return deps().publicity.objections_by_status(status, cursor, limit)


def file_objection(batch_id: str, actor: Actor, body: ObjectionIn) -> Objection:
    """An objection to a listed entry, during the period only (409 OUTSIDE_PUBLICITY_PERIOD)."""
    repo = deps().publicity
    batch = repo.get_batch(batch_id)
    if not batch.in_period():
        raise errors.OutsidePublicityPeriod(f"{batch.starts_at[:16]} - {batch.ends_at[:16]}", field="batch_id")
    entry_id, application_id = body.entry_id, body.application_id
    if bool(entry_id) == bool(application_id):
        raise errors.InvalidInput("entry_id or application_id, one of them", field="entry_id",
                                  message="请填写公示对象编号或申请编号（二选一）")
    if application_id:
        try:
            app = deps().applications.get(application_id)
        except errors.ApplicationNotFound:
            raise errors.PublicityNotFound(application_id, field="application_id") from None
        pub = app.data.get("publicity") or {}
        if pub.get("batch_id") != batch_id:
            raise errors.PublicityNotFound(application_id, field="application_id")
        entry_id = pub["entry_id"]
    entry = repo.get_entry(batch_id, entry_id)
    if entry.status != LISTED:
        raise errors.OutsidePublicityPeriod("no longer listed", field="entry_id")
    reason = body.reason.strip()
    if not 10 <= len(reason) <= 500:
        raise errors.InvalidInput("10-500 characters", field="reason", message="异议理由应为 10-500 个字")
    at = _now_iso()
    role = "applicant" if actor.has(Role.APPLICANT) else sorted(r.value for r in actor.roles)[0]
    objection = Objection(new_id("obj"), batch_id, entry.entry_id, entry.application_id, actor.subject, role, reason,
                          (body.contact or "").strip() or None, OBJECTIONS.initial, _mobile_of(actor), created_at=at,
                          updated_at=at)
    repo.file_objection(objection)

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        return app, [Event("objection_filed", f"objection:{objection.objection_id}", "system",
                           note="公示期间收到异议，正在核查", changes={"objection_id": objection.objection_id})]

    mutate(entry.application_id, None, change)
    return objection


def resolve(objection_id: str, actor: Actor, body: ResolveIn) -> Objection:
    """Staff decide: upheld sends the application back to review (it leaves the batch); dismissed
    keeps it, and after the period's end qualifies it at once if nothing else is open."""
    decision, reason = body.decision, body.reason.strip()
    if decision not in _DECIDED:
        raise errors.InvalidInput(f"one of {', '.join(DECISIONS)}", field="decision",
                                  message="处理结果应为 upheld（异议成立）或 dismissed（异议不成立）")
    if len(reason) < 5:
        raise errors.InvalidInput("a written reason (at least 5 characters)", field="reason", message="处理理由至少 5 个字")
    repo = deps().publicity
    current = repo.get_objection(objection_id)
    expect_version(current.version, body.version)
    to = OBJECTIONS.move(current.status, decision)  # decided already: 409 OBJECTION_ALREADY_RESOLVED
    at = _now_iso()
    note = f"{DECISIONS[to]}：{reason}"
    audit.record(actor, f"objection#{objection_id}", f"objection_{decision}", note)
    audit.record(actor, f"application#{current.application_id}", f"objection_{decision}", note)
    resolved = replace(current, status=to, decision_reason=reason, resolved_by=actor.subject, resolved_at=at,
                       updated_at=at, version=current.version + 1)
    if current.entry_id.startswith("rev-"):  # an objection to an annual review's outcome (复核)
        from chalicelib.domain import review_objections

        repo.resolve_review_objection(resolved, current.version)
        review_objections.resolved(resolved, actor)
        return resolved
    repo.resolve_objection(resolved, current.version)
    if to == ObjectionStatus.UPHELD:
        app = _send_back(resolved, actor)
    else:
        def change(a: Application, _: Access) -> tuple[Application, list[Event]]:
            return a, [Event("objection_dismissed", actor.subject, "staff", note=note,
                             changes={"objection_id": objection_id})]

        app = mutate(current.application_id, actor, change, staff_only=True)
    notify_citizen(app, f"publicity_objection_{decision}", {"reason": reason})
    _notify_filer(resolved)
    batch = repo.get_batch(current.batch_id)
    if batch.status == BatchStatus.OPEN and batch.ended():
        settle(batch, actor)  # after the end: a dismissal qualifies at once, and the batch may close
    return resolved


def _mobile_of(actor: Actor) -> str | None:
    """The mobile the identity provider verified for this login, if any."""
    from chalicelib.domain.idnumbers import parse_mobile

    claimed = actor.claims.get(deps().settings.identity.mobile_claim)
    try:
        return parse_mobile(str(claimed)) if claimed else None
    except errors.DomainError:
        return None


def _notify_filer(objection: Objection) -> None:
    """The filer learns the result: at the login's verified mobile, else the registered one, else
    the contact they gave if it is a mobile number."""
    from chalicelib.domain.idnumbers import parse_mobile
    from chalicelib.notify import Notice

    mobile = objection.filer_mobile
    if mobile is None:
        person = deps().households.get(objection.filer)
        mobile = person.mobile if person else None
    if mobile is None and objection.contact:
        try:
            mobile = parse_mobile(objection.contact, "contact")
        except errors.DomainError:
            mobile = None
    deps().notifier.notify(Notice(template="objection_result", recipient=objection.filer, mobile=mobile, application_id=None,
                  params={"objection_id": objection.objection_id, "decision_name": DECISIONS[objection.status],
                          "reason": objection.decision_reason or ""}))
