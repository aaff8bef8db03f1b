"""Delegation grants, by grantor (the table's key) and by delegate (an index)."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.repositories.common import put_new
from chalicelib.repositories.tables import GrantRecord

FIELDS = ("grant_id", "grantor", "delegate", "delegate_name", "grantor_name", "scopes", "expires_at",
          "revoked_at", "created_at")


class GrantRepository:
    def create(self, grant: dict[str, Any]) -> None:
        put_new(GrantRecord(**grant), GrantRecord.grant_id.does_not_exist(), errors.AlreadyExists())

    def get(self, grantor: str, grant_id: str) -> dict[str, Any] | None:
        try:
            return to_dict(GrantRecord.get(grantor, grant_id))
        except GrantRecord.DoesNotExist:
            return None

    def revoke(self, grantor: str, grant_id: str, at: str) -> dict[str, Any]:
        record = GrantRecord(grantor, grant_id)
        record.update(actions=[GrantRecord.revoked_at.set(at)],
                      condition=GrantRecord.grant_id.exists() & GrantRecord.revoked_at.does_not_exist())
        return to_dict(record)

    def by_grantor(self, grantor: str) -> list[dict[str, Any]]:
        return [to_dict(r) for r in GrantRecord.query(grantor, scan_index_forward=False, limit=100)]

    def by_delegate(self, delegate: str) -> list[dict[str, Any]]:
        return [to_dict(r) for r in GrantRecord.by_delegate.query(delegate, scan_index_forward=False, limit=100)]

    def between(self, grantor: str, delegate: str) -> dict[str, Any] | None:
        """The newest grant from ``grantor`` to ``delegate`` (one query), usable or not: the caller
        says why it cannot be used (revoked, expired)."""
        found = [to_dict(r) for r in GrantRecord.by_delegate.query(
            delegate, filter_condition=GrantRecord.grantor == grantor, scan_index_forward=False)]
        live = [g for g in found if not g["revoked_at"]]
        return (sorted(live, key=lambda g: g["expires_at"])[-1] if live else
                (found[0] if found else None))


def to_dict(r: GrantRecord) -> dict[str, Any]:
    out = {f: getattr(r, f) for f in FIELDS}
    out["scopes"] = list(out["scopes"] or [])
    return out
