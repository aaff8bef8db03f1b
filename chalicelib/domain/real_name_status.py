"""The lifecycles of real-name identity (docs/decisions/0016): a registration's real-name status and
an identity conflict case, with their zh-CN names and transition tables (light to import: the
household service and the repositories name statuses from here; the service is real_name.py)."""
from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.domain.lifecycle import Lifecycle, Refusal

if TYPE_CHECKING:
    from chalicelib.domain.households import Person


class RealNameStatus(StrEnum):
    PENDING = "pending"  # claimed, waiting for the check: binds nothing
    VERIFIED = "verified"  # vouched for: holds the ID number
    DISPUTED = "disputed"  # verified, but another verified login holds the ID number: staff decide
    UNVERIFIED = "unverified"  # registered before the check existed (legacy): holds until displaced


#: What may follow what. A verified login goes back to pending only when staff decide against it.
TRANSITIONS: dict[RealNameStatus, set[RealNameStatus]] = {
    RealNameStatus.PENDING: {RealNameStatus.PENDING, RealNameStatus.VERIFIED, RealNameStatus.DISPUTED},
    RealNameStatus.DISPUTED: {RealNameStatus.VERIFIED, RealNameStatus.PENDING},
    RealNameStatus.UNVERIFIED: {RealNameStatus.PENDING},
    RealNameStatus.VERIFIED: {RealNameStatus.PENDING},
}


class ConflictStatus(StrEnum):
    """An identity conflict case (身份争议) for staff."""

    OPEN = "open"
    RESOLVED = "resolved"


CONFLICTS: Lifecycle[ConflictStatus] = Lifecycle(
    "identity_conflict", ConflictStatus.OPEN, {ConflictStatus.OPEN: {ConflictStatus.RESOLVED},
                                               ConflictStatus.RESOLVED: set()},
    names={ConflictStatus.OPEN: "待处理", ConflictStatus.RESOLVED: "已处理"},
    refusals=[Refusal(frozenset({ConflictStatus.RESOLVED}), frozenset({ConflictStatus.RESOLVED}),
                      errors.IdentityConflictResolved, "conflict_id")])
BLOCKED = frozenset({RealNameStatus.PENDING, RealNameStatus.DISPUTED})
STATUS_NAMES = {RealNameStatus.PENDING: "待实名核验", RealNameStatus.VERIFIED: "已实名核验",
                RealNameStatus.DISPUTED: "身份争议处理中", RealNameStatus.UNVERIFIED: "未核验（旧登记）"}
#: Legacy registrations start unverified; a new one is pending at once (a claim is a move to pending).
REAL_NAME: Lifecycle[RealNameStatus] = Lifecycle("real_name", RealNameStatus.UNVERIFIED, TRANSITIONS,
                                                 names=STATUS_NAMES)


def status_of(person: Person) -> RealNameStatus:  # a registration (households.Person)
    return RealNameStatus(person.real_name) if person.real_name else RealNameStatus.UNVERIFIED
