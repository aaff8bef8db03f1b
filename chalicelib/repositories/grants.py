"""Delegation grants, by grantor (the table's key) and by delegate (an index)."""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.repositories.common import is_condition_failure, transaction
from chalicelib.repositories.tables import GrantRecord, PersonLockRecord

FIELDS = ("grant_id", "grantor", "delegate", "delegate_name", "grantor_name", "scopes", "expires_at",
          "revoked_at", "created_at")


def live_key(grantor: str, delegate: str) -> str:
    """The lock item (person_locks table) held by the one live grant from grantor to delegate."""
    return f"grant#{grantor}#{delegate}"


class GrantRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def create(self, grant: dict[str, Any], now: str) -> None:
        """The grant and its live-lock in one transaction: a live (unrevoked, unexpired) grant from
        the same grantor to the same delegate cancels it (409 GRANT_EXISTS), however many race."""
        lock = PersonLockRecord(live_key(grant["grantor"], grant["delegate"]), application_id=grant["grant_id"],
                                since=grant["created_at"], expires_at=grant["expires_at"])
        with transaction(self.settings, errors.GrantExists(field="delegate_mobile")) as tx:
            tx.save(GrantRecord(**grant), condition=GrantRecord.grant_id.does_not_exist())
            tx.save(lock, condition=PersonLockRecord.person_key.does_not_exist()
                    | (PersonLockRecord.expires_at < now))

    def get(self, grantor: str, grant_id: str) -> dict[str, Any] | None:
        try:
            return to_dict(GrantRecord.get(grantor, grant_id))
        except GrantRecord.DoesNotExist:
            return None

    def revoke(self, grantor: str, grant_id: str, at: str) -> dict[str, Any]:
        """Revoke once: of parallel revokes one wins, the others are told it is already revoked.
        The live-lock goes with it (if this grant holds it), so a new grant may be given."""
        record = GrantRecord(grantor, grant_id)
        try:
            record.update(actions=[GrantRecord.revoked_at.set(at)],
                          condition=GrantRecord.grant_id.exists() & GrantRecord.revoked_at.does_not_exist())
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise errors.IllegalTransition("already revoked", field="grant_id") from None
            raise
        try:
            PersonLockRecord(live_key(grantor, record.delegate)).delete(
                condition=PersonLockRecord.application_id == grant_id)
        except Exception as exc:  # held by another grant, or none (grants from before the lock): fine
            if not is_condition_failure(exc):
                raise
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
