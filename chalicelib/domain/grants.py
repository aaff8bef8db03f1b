"""Delegation (授权委托): a citizen lets another registered person view or act for them until a
date; revocable at any time; everything the delegate does is shown to the grantor."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import households as hh
from chalicelib.domain.common import CHINA_TZ, new_id, now, now_iso
from chalicelib.domain.idnumbers import mask_name
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import GrantIn

#: ``documents``: the delegate may also open the raw files (ID cards, household registers, the
#: lease contract); without it a delegate sees the document list and statuses, never a file.
SCOPES = {"view": "查看", "act": "代为办理", "documents": "查看证件材料原件"}
MAX_DAYS = 366


def check(grant: dict[str, Any], need: str) -> None:
    """A grant is usable while not revoked, not expired, and its scopes include ``need``."""
    if grant.get("revoked_at"):
        raise errors.GrantRevoked(grant["grant_id"])
    if datetime.fromisoformat(grant["expires_at"]) <= now():
        raise errors.GrantExpired(grant["grant_id"])
    if need not in grant["scopes"]:
        raise errors.OutsideGrant(f"grant allows {', '.join(grant['scopes'])}")


def create(actor: Actor, body: GrantIn) -> dict[str, Any]:
    grantor = hh.me(actor)
    delegate = hh.find_by_mobile(body.delegate_mobile)
    if delegate.subject == actor.subject:
        raise errors.InvalidInput("you cannot delegate to yourself", field="delegate_mobile", message="不能授权给自己")
    if delegate.kind != "citizen":
        raise errors.InvalidInput("delegates are citizens", field="delegate_mobile", message="受托人应为个人用户（不能是单位）")
    scopes = sorted(set(body.scopes))
    if not scopes or any(s not in SCOPES for s in scopes):
        raise errors.InvalidInput("view, act and/or documents", field="scopes",
                                  message="授权范围应为 view（查看）、act（代办）和/或 documents（查看证件材料原件）")
    scopes = sorted(set(scopes) | {"view"})  # acting or opening files needs seeing
    expires = _expiry(body.expires_at)
    grant = {"grant_id": new_id("grt"), "grantor": actor.subject, "delegate": delegate.subject,
             "delegate_name": mask_name(delegate.name), "grantor_name": mask_name(grantor.name), "scopes": scopes,
             "expires_at": expires, "revoked_at": None, "created_at": now_iso()}
    deps().grants.create(grant, now=grant["created_at"])
    _notify(delegate.subject, delegate.mobile, "grant_created", {"grantor_name": grant["grantor_name"] or ""})
    return grant


def _expiry(raw: str) -> str:
    try:
        value = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise errors.InvalidInput("ISO 8601 date-time with offset", field="expires_at",
                                  message="授权截止时间应为带时区的 ISO 8601 时间，如 2027-01-01T00:00:00+08:00") from None
    if value.tzinfo is None:
        raise errors.InvalidInput("with a UTC offset, e.g. +08:00", field="expires_at", message="授权截止时间应带时区，如 +08:00")
    if value <= now() or value > now() + timedelta(days=MAX_DAYS):
        raise errors.InvalidInput(f"in the future, within {MAX_DAYS} days", field="expires_at",
                                  message=f"授权截止时间应在今后 {MAX_DAYS} 天之内")
    return value.astimezone(CHINA_TZ).isoformat()


def revoke(actor: Actor, grant_id: str) -> dict[str, Any]:
    grant = deps().grants.get(actor.subject, grant_id)
    if grant is None:
        raise errors.GrantNotFound(grant_id)
    if grant.get("revoked_at"):
        raise errors.IllegalTransition("already revoked", field="grant_id")
    revoked = deps().grants.revoke(actor.subject, grant_id, now_iso())
    _notify(grant["delegate"], None, "grant_revoked", {"grantor_name": grant.get("grantor_name") or ""})
    return revoked


def given(actor: Actor) -> list[dict[str, Any]]:
    return deps().grants.by_grantor(actor.subject)


def held(actor: Actor) -> list[dict[str, Any]]:
    return deps().grants.by_delegate(actor.subject)


def check_files(grant: dict[str, Any]) -> None:
    """A raw file (document, contract) needs the explicit ``documents`` scope on a live grant."""
    check(grant, "view")
    if "documents" not in grant["scopes"]:
        raise errors.FilesOutsideGrant(f"grant allows {', '.join(grant['scopes'])}")


def usable(actor: Actor, grant_id: str, need: str) -> dict[str, Any]:
    """A grant the caller holds, checked for ``need`` (view/act)."""
    grant = next((g for g in deps().grants.by_delegate(actor.subject) if g["grant_id"] == grant_id), None)
    if grant is None:
        raise errors.GrantNotFound(grant_id)
    check(grant, need)
    return grant


def activity(actor: Actor, grant_id: str) -> list[dict[str, Any]]:
    """What the delegate did under this grant (the grantor's view)."""
    if deps().grants.get(actor.subject, grant_id) is None:
        raise errors.GrantNotFound(grant_id)
    return deps().applications.events_of_grant(grant_id)


def status(grant: dict[str, Any]) -> str:
    if grant.get("revoked_at"):
        return "revoked"
    return "expired" if datetime.fromisoformat(grant["expires_at"]) <= now() else "active"


def _notify(subject: str, mobile: str | None, template: str, params: dict[str, str]) -> None:
    from chalicelib.notify import Notice

    if mobile is None:
        person = deps().households.get(subject)
        mobile = person.mobile if person else None
    deps().notifier.notify(Notice(template=template, params=params, recipient=subject, mobile=mobile, application_id=None))


def record_action(grant: dict[str, Any], actor: Actor, type_: str, household_id: str) -> None:
    """A delegate's change outside an application (the household): on the grantor's record too."""
    from chalicelib.domain.application_types import Event

    deps().applications.append_event(f"household#{household_id}", Event(
        type_, actor.subject, "delegate", grant_id=grant["grant_id"], note="受托人代为修改家庭成员"))
