"""Applications (申请): creating, editing, submit and withdraw, consent, supplements, reading. The
types are in application_types.py, who may act and the one change path in access.py, 代办 in
intake.py, documents in documents.py.

One application item carries what a decision needs (household snapshot, documents, consents), so
reading or submitting it costs one read and one transactional write. Every change writes a
timeline event in the same transaction; a status change also notifies the citizen (best effort:
the notification queue never blocks the change).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import households as hh
from chalicelib.domain.access import authorize, get, mutate, notify_citizen
from chalicelib.domain.application_types import Access, Application, Event, Skip, _RevisionMoved
from chalicelib.domain.common import CHINA_TZ, Page, expect_version, new_id, now, now_iso
from chalicelib.domain.idnumbers import mask_id, mask_name
from chalicelib.domain.application_status import (ACTIVE, CONSENTS, EDITABLE, STATUS_NAMES, ConsentStatus, DocumentStatus,
                                                   S, check_transition)
from chalicelib.identity import Actor
from chalicelib.metric_names import APPLICATIONS_SUBMITTED
from chalicelib.observability import count

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import ApplicationIn, ApplicationPatch, ConsentIn, SupplementIn


# --- creating and editing ---------------------------------------------------------------------------
def create(actor: Actor, body: ApplicationIn) -> Application:
    """A draft from the caller's household (a snapshot: later household edits need a refresh)."""
    kind = body.kind
    if kind not in ("individual", "graduate"):
        raise errors.InvalidInput("individual or graduate (group applications come from employers)", field="kind",
                                  message="申请类别应为 individual（个人）或 graduate（新就业人员），团租由单位申请")
    person = hh.me(actor)
    if not person.household_id:
        raise errors.HouseholdNotFound("build the household first")
    household = hh.get_household(person.household_id)
    app = _new(kind, household.main_key, actor.subject, household.household_id, household.members,
               person.mobile, _declared(kind, body.declared))
    return _create(app, Access("applicant"), actor, "created", one_draft_of=household.household_id)


def _new(kind: str, owner_key: str, owner: str | None, household_id: str, members: list[dict[str, Any]],
         mobile: str | None, declared: dict[str, Any]) -> Application:
    at = now_iso()
    consents = {m["member_id"]: {"status": CONSENTS.initial.value, "name": mask_name(m["name"])} for m in members if m["adult"]}
    return Application(new_id("app"), kind, S.DRAFT, owner_key, owner, household_id, members, mobile,
                       consents=consents, data={"declared": declared}, created_at=at, updated_at=at)


def _create(app: Application, access: Access, actor: Actor, event_type: str, note: str | None = None,
            one_draft_of: str | None = None) -> Application:
    _refuse_active_members(app)
    deps().applications.create(app, access.event(actor, event_type, to_status=S.DRAFT.value, note=note),
                               one_draft_of=one_draft_of)
    return app


def _refuse_active_members(app: Application) -> None:
    """Early, friendly refusal; submit enforces it with conditional writes."""
    locks = deps().applications.locks_of([m["person_key"] for m in app.members])
    for m in app.members:
        other = locks.get(m["person_key"])
        if other and other != app.application_id:
            raise errors.PersonAlreadyApplying(f"{mask_name(m['name'])} ({mask_id(m['id_number'])})",
                                               field="members")


def _declared(kind: str, answers: Any) -> dict[str, Any]:
    if answers is None:
        return {}
    from chalicelib.domain import self_assessment
    from chalicelib.domain.rule_versions import rules_in_force

    city = deps().settings.city_code
    try:
        self_assessment.assess(city, kind, answers, rules_in_force(city))
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(exc.detail, field=f"declared.{(exc.field or '').removeprefix('answers.')}",
                                  message=exc.message) from None
    return dict(answers)


def update(application_id: str, actor: Actor, body: ApplicationPatch) -> Application:
    """Change the declared answers or refresh the household snapshot (draft or 补正 only)."""
    def change(app: Application, access: Access) -> tuple[Application, list[Event]]:
        require_editable(app)
        expect_version(app.version, body.version)
        changes: dict[str, Any] = {}
        updated = app
        if "declared" in body.model_fields_set:  # only what was sent: a refresh keeps the answers
            updated = replace(updated, data={**app.data, "declared": _declared(app.kind, body.declared)})
            changes["declared"] = True
        if body.refresh_household:
            if not app.household_id:
                raise errors.HouseholdNotFound()
            members = hh.get_household(app.household_id).members
            consents = {m["member_id"]: app.consents.get(m["member_id"]) or
                        {"status": CONSENTS.initial.value, "name": mask_name(m["name"])} for m in members if m["adult"]}
            updated = replace(updated, members=members, consents=consents)
            changes["household"] = len(members)
        updated = replace(updated, version=app.version + 1)
        return updated, [access.event(actor, "updated", changes=changes)]

    return mutate(application_id, actor, change, act=True, new_consents=True)


def require_editable(app: Application) -> None:
    if app.status not in EDITABLE:
        raise errors.IllegalTransition(f"cannot change an application in status {app.status.value}",
                                       field="status")


# --- submit, withdraw ---------------------------------------------------------------------------------
def submit(application_id: str, actor: Actor, version: int) -> Application:
    """Submit (or resubmit after 补正). A repeat of the same submit (double tap) answers the same
    result without a second submission; a submit from an older version is a 409."""
    app = deps().applications.get(application_id)
    access = authorize(app, actor, act=True)
    if app.status == S.SUBMITTED and app.submitted_from == version:
        return app  # the same request again
    expect_version(app.version, version)
    check_transition(app.status, S.SUBMITTED)
    if app.status == S.SUPPLEMENT_REQUESTED:
        _check_supplement(app)
    _check_consents(app)
    _check_documents(app)
    at = now_iso()
    resubmit = app.status == S.SUPPLEMENT_REQUESTED
    supplement = {**app.supplement, "answered_at": at} if app.supplement else None
    from chalicelib.domain.verification import launch, new_run

    updated = replace(app, status=S.SUBMITTED, submitted_at=app.submitted_at or at, submitted_from=version,
                      rules_version=app.rules_version or rules_version_now(), verification=new_run(app),
                      supplement=supplement, updated_at=at, version=app.version + 1, rev=app.rev + 1)
    event = access.event(actor, "resubmitted" if resubmit else "submitted", from_status=app.status.value,
                         to_status=S.SUBMITTED.value)
    try:
        deps().applications.save(updated, app.rev, [event], lock=[m["person_key"] for m in app.members])
    except _RevisionMoved:
        again = deps().applications.get(application_id)
        if again.status == S.SUBMITTED and again.submitted_from == version:
            return again  # a double tap raced us and won: the same submit
        raise errors.StaleVersion("changed while submitting", field="version") from None
    count(APPLICATIONS_SUBMITTED)
    notify_citizen(updated, "application_submitted", {})
    return launch(updated)  # the joint verification (联合审查) starts now


def rules_version_now() -> str:
    """The eligibility rules version in force now: the one this application will be judged by."""
    from chalicelib.domain.rule_versions import rules_in_force

    return rules_in_force(deps().settings.city_code)[1].version


def withdraw(application_id: str, actor: Actor, version: int, note: str | None) -> Application:
    app = deps().applications.get(application_id)
    access = authorize(app, actor, act=True)
    expect_version(app.version, version)
    check_transition(app.status, S.WITHDRAWN)
    updated = replace(app, status=S.WITHDRAWN, updated_at=now_iso(), version=app.version + 1, rev=app.rev + 1)
    event = access.event(actor, "withdrawn", from_status=app.status.value, to_status=S.WITHDRAWN.value, note=note)
    held = [m["person_key"] for m in app.members] if app.status in ACTIVE else []
    deps().applications.save(updated, app.rev, [event], unlock=held)
    notify_citizen(updated, "status_changed", {"status_name": STATUS_NAMES[S.WITHDRAWN]})
    return updated


def _check_consents(app: Application) -> None:
    missing = [c.get("name") for c in app.consents.values() if c.get("status") != ConsentStatus.GIVEN]
    if missing:
        raise errors.ConsentMissing("、".join(str(n) for n in missing), field="consents")


def _check_documents(app: Application) -> None:
    required = hh.config().required_documents.get(app.kind, [])
    accepted = {d["type"] for d in app.documents.values() if d.get("status") == DocumentStatus.ACCEPTED}
    missing = [t for t in required if t not in accepted]
    if missing:
        names = hh.config().document_types
        raise errors.DocumentsIncomplete("、".join(names[t] for t in missing), field="documents")


def _check_supplement(app: Application) -> None:
    sup = app.supplement or {}
    if sup.get("deadline") and datetime.fromisoformat(sup["deadline"]) < now():
        raise errors.SupplementExpired(sup["deadline"], field="deadline")
    since = sup.get("requested_at", "")
    fresh = {d["type"] for d in app.documents.values()
             if d.get("status") == DocumentStatus.ACCEPTED and d.get("created_at", "") >= since}
    missing = [t for t in sup.get("documents", []) if t not in fresh]
    if missing:
        names = hh.config().document_types
        raise errors.DocumentsIncomplete("补正材料：" + "、".join(names.get(t, t) for t in missing),
                                         field="documents")


# --- staff: supplements, paper consent and confirmation ---------------------------------------------
def request_supplement(application_id: str, actor: Actor, body: SupplementIn) -> Application:
    cfg = hh.config()
    unknown = [t for t in body.documents if t not in cfg.document_types]
    if unknown:
        raise errors.InvalidInput(f"unknown document types {unknown}", field="documents",
                                  message=f"补正材料中有不存在的材料类型：{'、'.join(unknown)}")
    deadline = _deadline(body.deadline, cfg.supplement_days_default)
    app = deps().applications.get(application_id)
    expect_version(app.version, body.version)
    check_transition(app.status, S.SUPPLEMENT_REQUESTED)
    at = now_iso()
    supplement = {"documents": list(body.documents), "note": body.note, "deadline": deadline,
                  "requested_at": at, "requested_by": actor.subject, "reminded_at": None, "answered_at": None}
    updated = replace(app, status=S.SUPPLEMENT_REQUESTED, supplement=supplement, updated_at=at,
                      version=app.version + 1, rev=app.rev + 1)
    event = Event("supplement_requested", actor.subject, "staff", app.status.value, S.SUPPLEMENT_REQUESTED.value,
                  note=body.note, changes={"documents": list(body.documents), "deadline": deadline})
    deps().applications.save(updated, app.rev, [event])
    notify_citizen(updated, "supplement_requested", {"deadline": deadline[:10], "note": body.note})
    return updated


def _deadline(raw: str | None, default_days: int) -> str:
    if raw is None:
        day = (now() + timedelta(days=default_days)).date()
        return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CHINA_TZ).isoformat()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise errors.InvalidInput("ISO 8601 date-time with offset", field="deadline",
                                  message="补正期限应为带时区的 ISO 8601 时间，如 2027-01-01T17:00:00+08:00") from None
    if value.tzinfo is None:
        raise errors.InvalidInput("with a UTC offset, e.g. +08:00", field="deadline", message="补正期限应带时区，如 +08:00")
    if value <= now() or value > now() + timedelta(days=90):
        raise errors.InvalidInput("in the future, within 90 days", field="deadline", message="补正期限应在今后 90 天之内")
    return value.astimezone(CHINA_TZ).isoformat()


def remind_supplements() -> int:
    """Remind citizens whose 补正 deadline is near (run on a schedule); each once."""
    days = hh.config().supplement_reminder_days
    horizon = (now() + timedelta(days=days)).isoformat()
    sent = 0
    for app in deps().applications.in_status(S.SUPPLEMENT_REQUESTED.value):
        sup = app.supplement or {}
        if sup.get("reminded_at") or not sup.get("deadline") or sup["deadline"] > horizon:
            continue

        def mark(current: Application, _: Access) -> tuple[Application, list[Event]]:
            if current.supplement is None or current.supplement.get("reminded_at"):
                raise Skip()
            return replace(current, supplement={**current.supplement, "reminded_at": now_iso()}), [
                Event("supplement_reminded", "system", "system", note=current.supplement["deadline"])]

        try:
            updated = mutate(app.application_id, None, mark)
        except Skip:
            continue
        notify_citizen(updated, "supplement_reminder", {"deadline": sup["deadline"][:10]})
        sent += 1
    return sent


def _consent(current: dict[str, Any], method: str, by: str, document_id: str | None) -> dict[str, Any]:
    given = CONSENTS.move(ConsentStatus(current.get("status") or CONSENTS.initial), ConsentStatus.GIVEN)
    return {**current, "status": given.value, "method": method, "at": now_iso(), "by": by,
            "text_version": hh.config().consent_version, "document_id": document_id}


def give_consent(application_id: str, actor: Actor, body: ConsentIn) -> Application:
    """An adult member consents in the app under their own login (text version must be current)."""
    cfg = hh.config()
    if body.text_version != cfg.consent_version:
        raise errors.InvalidInput(f"the current text is {cfg.consent_version}", field="text_version",
                                  message=f"授权书版本应为当前版本 {cfg.consent_version}，请阅读最新的授权书")
    person = hh.me(actor)
    app = deps().applications.get(application_id)
    member = next((m for m in app.members if m["person_key"] == person.person_key), None)
    if member is None or member["member_id"] not in app.consents:
        raise errors.ApplicationNotFound(application_id)  # not a member: nothing to see here
    member_id = member["member_id"]

    def change(current: Application, _: Access) -> tuple[Application, list[Event]]:
        consent = _consent(current.consents[member_id], "app", actor.subject, None)
        return replace(current, consents={**current.consents, member_id: consent}), [
            Event("consent_given", actor.subject, "member", note=f"{consent['name']} 在线授权",
                  changes={"member_id": member_id, "method": "app", "text_version": cfg.consent_version})]

    return mutate(application_id, None, change, consent_of=member_id)


# --- reading -------------------------------------------------------------------------------------------
def mine(actor: Actor, cursor: str | None, limit: int) -> Page[Application]:
    person = hh.me(actor)
    return deps().applications.by_owner(person.person_key, cursor, limit)  # type: ignore[arg-type]


def timeline(application_id: str, actor: Actor, reason: str | None) -> list[Event]:
    get(application_id, actor, reason)
    return deps().applications.events(f"app#{application_id}")


def staff_list(status: str, cursor: str | None, limit: int) -> Page[Application]:
    return deps().applications.by_status(status, cursor, limit)


# --- group rental (团租): one application per employee, made by the employer ------------------------
def create_group_member(actor: Actor, employer: dict[str, Any], group_id: str, member: dict[str, Any],
                        contact_mobile: str | None, declared: dict[str, Any] | None = None) -> Application:
    """An employee's application inside an employer's group. ``member`` is one normalised member
    (chalicelib.domain.households.normalise_members) with relation "self"; the employee consents
    under their own login, the employer uploads documents and submits for them."""
    owner = deps().households.by_person_key(member["person_key"])
    app = _new("group", member["person_key"], owner, None, [member], contact_mobile, _declared("individual", declared))
    app = replace(app, group_id=group_id, employer=employer)
    created = _create(app, Access("employer"), actor, "created", note=f"单位 {employer.get('name', '')} 团租申请")
    notify_citizen(created, "group_member_added", {"employer_name": str(employer.get("name", ""))})
    return created
