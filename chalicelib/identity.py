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


#: Roles whose tokens must carry this stack's city (a citizen's provincial login need not).
CITY_BOUND_ROLES = frozenset({Role.EMPLOYER, Role.STAFF, Role.ADMIN})


@dataclass(frozen=True)
class Actor:
    """The verified caller."""

    subject: str
    roles: frozenset[Role]
    city: str | None
    claims: dict[str, Any]

    def has(self, *roles: Role | str) -> bool:
        return any(Role(r) in self.roles for r in roles)
