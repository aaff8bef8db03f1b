"""Who is calling: roles and the verified caller (no token handling here: see chalicelib/auth.py)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Role(str, enum.Enum):
    APPLICANT = "applicant"
    EMPLOYER = "employer"
    STAFF = "staff"
    ADMIN = "admin"
    AUDITOR = "auditor"
    #: A reader above the city (province, ministry): aggregates only, never personal data or an
    #: audit trail (docs/decisions/0017).
    MINISTRY = "ministry"


#: Roles whose tokens must carry this stack's city (a citizen's provincial login need not; a
#: ministry reader is above every city and only ever sees aggregates).
CITY_BOUND_ROLES = frozenset({Role.EMPLOYER, Role.STAFF, Role.ADMIN, Role.AUDITOR})

#: ``Actor.registration`` before anything in this request read it.
UNREAD: Any = type("Unread", (), {"__repr__": lambda self: "UNREAD"})()


@dataclass(frozen=True)
class Actor:
    """The verified caller."""

    subject: str
    roles: frozenset[Role]
    city: str | None
    claims: dict[str, Any]
    #: The caller's registration as the real-name gate read it at the start of this request (None:
    #: not registered), so the request does not read it twice (households.me); UNREAD otherwise.
    registration: Any = field(default=UNREAD, compare=False, repr=False)

    def has(self, *roles: Role | str) -> bool:
        return any(Role(r) in self.roles for r in roles)
