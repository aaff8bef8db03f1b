"""The audit trail: insert-only (the deployed role may PutItem with a condition, never update)."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.repositories.common import put_new
from chalicelib.repositories.tables import AuditRecord

FIELDS = ("target", "at", "actor", "actor_role", "action", "reason", "day", "digest")


class AuditRepository:
    def append(self, entry: dict[str, Any]) -> None:
        put_new(AuditRecord(**entry), AuditRecord.at.does_not_exist(), errors.AlreadyExists())

    def of_target(self, target: str, limit: int = 100) -> list[dict[str, Any]]:
        return [{f: getattr(r, f) for f in FIELDS} for r in AuditRecord.query(target, limit=limit)]
