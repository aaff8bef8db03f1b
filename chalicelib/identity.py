"""Who is calling: roles and the verified caller (no token handling here: see chalicelib/auth.py)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Actor:
    """The verified caller."""

    subject: str
    roles: frozenset[Role]
    city: str | None
    claims: dict[str, Any]

    def has(self, *roles: Role | str) -> bool:
        return any(Role(r) in self.roles for r in roles)
