"""Who may see and act on an application (the owner, a delegate within a live grant, the employer
of a group member, city staff), and the one path that changes an application (``mutate``: read,
authorize, change, conditional write) and tells the citizen (``notify_citizen``)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.application_types import STAFF_ROLES, Access, Application, Event, _RevisionMoved
from chalicelib.domain.common import now_iso
from chalicelib.domain.grants import check, check_files
from chalicelib.identity import Actor, Role


# --- who may see and act ---------------------------------------------------------------------------
def authorize(app: Application, actor: Actor, act: bool = False, files: bool = False) -> Access:
    """The owner, a delegate within a live grant, the employer of a group member, or city staff.
    Anyone else is told the application does not exist (ids are not confirmed to strangers).
    ``files``: the caller wants a raw file (an ID card, a household register): the owner and staff
    only, and a delegate whose grant has the explicit ``documents`` scope; the employer and any
    other delegate see the document list and statuses, never a file."""
    if app.owner is not None and app.owner == actor.subject:
        return Access("applicant")
    if actor.has(*STAFF_ROLES):
        if act and not app.assisted:
            raise errors.Forbidden("staff act for a citizen only on an assisted application (代办)")
        return Access("staff")
    if actor.has(Role.EMPLOYER):
        if app.employer and app.employer.get("subject") == actor.subject:
            if files:
                raise errors.RawFileForbidden("an employer sees the documents' statuses, not the files")
            return Access("employer")
        raise errors.ApplicationNotFound(app.application_id)
    if app.owner is None:  # 代办 not yet claimed: the citizen registered with the main applicant's ID
        person = deps().households.get(actor.subject)
        if person is not None and person.person_key == app.owner_key:
            return Access("applicant")
        raise errors.ApplicationNotFound(app.application_id)
    grant = deps().grants.between(app.owner, actor.subject)
    if grant is None:
        raise errors.ApplicationNotFound(app.application_id)
    check(grant, "act" if act else "view")
    if files:
        check_files(grant)
    return Access("delegate", grant["grant_id"])


def get(application_id: str, actor: Actor, reason: str | None = None) -> tuple[Application, Access]:
    app = deps().applications.get(application_id)
    access = authorize(app, actor)
    if access.as_role == "staff":
        audit_read(actor, f"application#{application_id}", "read_application", reason)
    return app, access


def audit_read(actor: Actor, target: str, action: str, reason: str | None) -> None:
    from chalicelib.domain import audit

    audit.record(actor, target, action, reason)


# --- one place that changes an application ---------------------------------------------------------------
Change = Callable[[Application, Access], tuple[Application, list[Event]]]


def mutate(application_id: str, actor: Actor | None, change: Change, *, act: bool = False,
            staff_only: bool = False, new_consents: bool = False, consent_of: str | None = None,
            unlock: bool = False) -> Application:
    """Read, authorize, apply ``change`` and write with the item's revision as the condition; a
    concurrent write by the system (a document checked) is retried, never lost."""
    for _ in range(3):
        app = deps().applications.get(application_id)
        if actor is None:
            access = Access("system")
        elif staff_only:
            if not actor.has(*STAFF_ROLES):
                raise errors.Forbidden()
            access = Access("staff")
        else:
            access = authorize(app, actor, act=act)
        updated, events = change(app, access)
        updated = replace(updated, updated_at=now_iso(), rev=app.rev + 1)
        consents = []
        if new_consents:
            consents = [m for m in updated.members if m["adult"] and m["member_id"] not in app.consents]
        if consent_of is not None:
            member = next(m for m in updated.members if m["member_id"] == consent_of)
            consents = [member]
        try:
            deps().applications.save(updated, app.rev, events, consents=consents,
                                     unlock=[m["person_key"] for m in updated.members] if unlock else [])
        except _RevisionMoved:
            continue
        return updated
    raise errors.StaleVersion("busy, try again", field="version")


# --- notifications -------------------------------------------------------------------------------------
def notify_citizen(app: Application, template: str, params: dict[str, str]) -> None:
    from chalicelib.notify import Notice

    deps().notifier.notify(Notice(template=template, params={"application_id": app.application_id, **params},
                  recipient=app.owner, mobile=app.contact_mobile, application_id=app.application_id))
