"""The application's types (申请): the item, a timeline event, how the caller reaches it, and the
two exceptions the service and its repository share. No behaviour: every domain module of the
application's life (applications, access, intake, documents, verification, review, publicity,
grants) may import them without importing each other."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.application_status import Status
from chalicelib.identity import Actor, Role

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


@dataclass(frozen=True)
class Application:
    application_id: str
    kind: str
    status: Status
    owner_key: str
    owner: str | None
    household_id: str | None
    members: list[dict[str, Any]]
    contact_mobile: str | None = None
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    consents: dict[str, dict[str, Any]] = field(default_factory=dict)
    supplement: dict[str, Any] | None = None
    assisted: dict[str, Any] | None = None
    group_id: str | None = None
    employer: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    rules_version: str | None = None
    street_id: str | None = None
    verification: dict[str, Any] | None = None
    submitted_at: str | None = None
    submitted_from: int | None = None  # the version a submit started from: a repeat is the same submit
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    rev: int = 0  # every write bumps it (documents checked, consents): the storage-level lock
    approved_at: str | None = None  # when staff approved it (statistics: days from submit to approval)

    def main(self) -> dict[str, Any]:
        return next(m for m in self.members if m["relation"] == "self")

    def recommendation(self) -> str | None:
        """The verification's recommendation, or the one staff set in its place (with a reason)."""
        v = self.verification or {}
        return (v.get("override") or {}).get("recommendation") or v.get("recommendation")


@dataclass(frozen=True)
class Event:
    type: str
    actor: str
    actor_role: str
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    changes: dict[str, Any] | None = None
    grant_id: str | None = None
    at: str = ""


@dataclass(frozen=True)
class Access:
    """How the caller reaches an application."""

    as_role: str  # applicant | delegate | staff | employer | member
    grant_id: str | None = None

    def event(self, actor: Actor, type_: str, **kw: Any) -> Event:
        return Event(type_, actor.subject, self.as_role, grant_id=self.grant_id, **kw)


class Skip(Exception):
    """A step found nothing to do (already done, or no longer applies)."""


class _RevisionMoved(Exception):
    """Raised by the repository when the revision condition failed (someone wrote in between)."""
