"""Intake (代办): staff create an application for a citizen at the counter or on a home visit, record
a member's signed paper consent, and the citizen (or staff, with the signed paper) confirms it."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import households as hh
from chalicelib.domain.access import mutate, notify_citizen
from chalicelib.domain.application_status import DocumentStatus
from chalicelib.domain.application_types import STAFF_ROLES, Access, Application, Event
from chalicelib.domain.applications import _consent, _create, _declared, _new
from chalicelib.domain.common import now_iso
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import AssistedIn, ConfirmIn, PaperConsentIn


def create_assisted(actor: Actor, body: AssistedIn) -> Application:
    """代办: staff create an application for a citizen at the counter or on a home visit."""
    from chalicelib.domain.idnumbers import parse_mobile

    kind = body.kind
    if kind not in ("individual", "graduate"):
        raise errors.InvalidInput("individual or graduate", field="kind",
                                  message="申请类别应为 individual（个人）或 graduate（新就业人员）")
    members = hh.normalise_members([m.model_dump(mode="json") for m in body.members])
    household = hh.create_unowned_household(members, actor.subject)
    owner = deps().households.by_person_key(household.main_key)
    mobile = parse_mobile(body.contact_mobile, "contact_mobile") if body.contact_mobile else None
    app = _new(kind, household.main_key, owner, household.household_id, members, mobile,
               _declared(kind, body.declared))
    app = replace(app, assisted={"staff": actor.subject, "at": app.created_at, "note": body.note,
                                 "confirmed_at": None, "confirmed_by": None, "confirmation": None})
    created = _create(app, Access("staff"), actor, "assisted_created", note=body.note)
    notify_citizen(created, "assisted_created", {})
    return created


def paper_consent(application_id: str, actor: Actor, body: PaperConsentIn) -> Application:
    """Staff record a member's consent given on a signed form they uploaded (type consent_form)."""
    member_id, document_id = body.member_id, body.document_id

    def change(app: Application, access: Access) -> tuple[Application, list[Event]]:
        if member_id not in app.consents:
            raise errors.ConsentNotFound(member_id)
        doc = app.documents.get(document_id)
        if doc is None or doc["type"] != "consent_form":
            raise errors.DocumentNotFound("a consent_form document of this application", field="document_id")
        if doc.get("status") != DocumentStatus.ACCEPTED:
            raise errors.DocumentsIncomplete("the signed form is not accepted yet", field="document_id")
        consent = _consent(app.consents[member_id], "paper", actor.subject, document_id)
        return replace(app, consents={**app.consents, member_id: consent}), [
            Event("consent_recorded", actor.subject, "staff", note=f"{consent['name']} 书面授权",
                  changes={"member_id": member_id, "method": "paper", "document_id": document_id})]

    updated = mutate(application_id, actor, change, staff_only=True, consent_of=member_id)
    return updated


def confirm_assisted(application_id: str, actor: Actor, body: ConfirmIn) -> Application:
    """The citizen confirms an application staff made for them (in the app), or staff record the
    signed paper confirmation (document of type assisted_confirmation)."""
    by_staff = actor.has(*STAFF_ROLES)

    def change(app: Application, access: Access) -> tuple[Application, list[Event]]:
        if not by_staff and access.as_role != "applicant":  # who confirms is decided before the state
            raise errors.OutsideGrant("only the citizen confirms")
        if not app.assisted:
            raise errors.IllegalTransition("not an assisted application", field="assisted")
        if app.assisted.get("confirmed_at"):
            raise errors.AlreadyExists("already confirmed", field="assisted")
        if by_staff:
            doc = app.documents.get(body.document_id or "")
            if doc is None or doc["type"] != "assisted_confirmation" or doc.get("status") != DocumentStatus.ACCEPTED:
                raise errors.DocumentNotFound("an accepted assisted_confirmation document", field="document_id")
            how = "paper"
        else:
            how = "app"
        assisted = {**app.assisted, "confirmed_at": now_iso(), "confirmed_by": actor.subject, "confirmation": how,
                    "document_id": body.document_id}
        owner = app.owner or (None if by_staff else actor.subject)
        return replace(app, assisted=assisted, owner=owner), [access.event(actor, "assisted_confirmed",
                                                                            note="纸质确认" if how == "paper" else "在线确认")]

    return mutate(application_id, actor, change)
