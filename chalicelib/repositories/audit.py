"""The audit trail: insert-only (the deployed role may PutItem with a condition, never update), and
its daily seals (one item a day, append-only too; docs/decisions/0040)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.repositories.common import put_new
from chalicelib.repositories.tables import AuditRecord, AuditSealRecord

if TYPE_CHECKING:
    from chalicelib.domain.audit import Seal

FIELDS = ("target", "at", "actor", "actor_role", "action", "reason", "day", "digest")
CHAIN = "audit"
#: A day's records are read in pages of this size (the by_day index; no scan).
PAGE = 500


class AuditRepository:
    def append(self, entry: dict[str, Any]) -> None:
        put_new(AuditRecord(**entry), AuditRecord.at.does_not_exist(), errors.AlreadyExists())

    def of_target(self, target: str, limit: int = 100) -> list[dict[str, Any]]:
        return [{f: getattr(r, f) for f in FIELDS} for r in AuditRecord.query(target, limit=limit)]

    def of_day(self, day: str) -> list[dict[str, Any]]:
        """Every record of a China day, in ``at`` order (the by_day index, paged)."""
        return [{f: getattr(r, f) for f in FIELDS} for r in AuditRecord.by_day.query(day, page_size=PAGE)]

    # --- seals ---------------------------------------------------------------------------------
    def seal(self, day: str) -> Seal | None:
        try:
            return _seal(AuditSealRecord.get(CHAIN, day, consistent_read=True))
        except AuditSealRecord.DoesNotExist:
            return None

    def seal_before(self, day: str) -> Seal | None:
        found = list(AuditSealRecord.query(CHAIN, AuditSealRecord.day < day, scan_index_forward=False, limit=1))
        return _seal(found[0]) if found else None

    def last_seal(self) -> Seal | None:
        found = list(AuditSealRecord.query(CHAIN, scan_index_forward=False, limit=1, consistent_read=True))
        return _seal(found[0]) if found else None

    def seals_between(self, first: str, last: str) -> list[Seal]:
        return [_seal(r) for r in AuditSealRecord.query(CHAIN, AuditSealRecord.day.between(first, last))]

    def put_seal(self, seal: Seal) -> Seal:
        """Written once: of two jobs sealing the same day, the second gets the first's seal."""
        record = AuditSealRecord(CHAIN, seal.day, count=seal.count, root=seal.root, previous=seal.previous,
                                 hash=seal.hash, sealed_at=seal.sealed_at)
        try:
            put_new(record, AuditSealRecord.day.does_not_exist(), errors.AlreadyExists())
        except errors.AlreadyExists:
            existing = self.seal(seal.day)
            assert existing is not None
            return existing
        return seal


def _seal(r: AuditSealRecord) -> Seal:
    from chalicelib.domain.audit import Seal

    return Seal(r.day, int(r.count), r.root, r.previous, r.hash, r.sealed_at)
