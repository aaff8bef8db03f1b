"""In-memory twin of chalicelib/repositories/grants.py."""
from __future__ import annotations

import threading
from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.repositories.grants import FIELDS, live_key
from tests.twins.common import clone


class GrantTwin:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self.grants: dict[tuple[str, str], dict[str, Any]] = {}  # (grantor, grant_id) -> grant
        self.live: dict[str, dict[str, Any]] = {}  # live_key -> {"grant_id", "expires_at"}

    def create(self, grant: dict[str, Any], now: str) -> None:
        with self._lock:
            key = live_key(grant["grantor"], grant["delegate"])
            held = self.live.get(key)
            if (grant["grantor"], grant["grant_id"]) in self.grants or (held and not held["expires_at"] < now):
                raise errors.GrantExists(field="delegate_mobile")
            stored = {f: grant.get(f) for f in FIELDS}
            stored["scopes"] = list(stored["scopes"] or [])
            self.grants[(grant["grantor"], grant["grant_id"])] = stored
            self.live[key] = {"grant_id": grant["grant_id"], "expires_at": grant["expires_at"]}

    def get(self, grantor: str, grant_id: str) -> dict[str, Any] | None:
        with self._lock:
            return clone(self.grants.get((grantor, grant_id)))

    def revoke(self, grantor: str, grant_id: str, at: str) -> dict[str, Any]:
        with self._lock:
            grant = self.grants.get((grantor, grant_id))
            if grant is None or grant["revoked_at"] is not None:
                raise errors.IllegalTransition("already revoked", field="grant_id")
            grant["revoked_at"] = at
            key = live_key(grantor, grant["delegate"])
            if (self.live.get(key) or {}).get("grant_id") == grant_id:
                del self.live[key]
            return clone(grant)

    def by_grantor(self, grantor: str) -> list[dict[str, Any]]:
        with self._lock:
            found = [clone(g) for (who, _), g in self.grants.items() if who == grantor]
        return sorted(found, key=lambda g: g["grant_id"], reverse=True)[:100]

    def by_delegate(self, delegate: str) -> list[dict[str, Any]]:
        with self._lock:
            found = [clone(g) for g in self.grants.values() if g["delegate"] == delegate]
        return sorted(found, key=lambda g: g["grant_id"], reverse=True)[:100]

    def between(self, grantor: str, delegate: str) -> dict[str, Any] | None:
        found = [g for g in self.by_delegate(delegate) if g["grantor"] == grantor]
        live = [g for g in found if not g["revoked_at"]]
        return (sorted(live, key=lambda g: g["expires_at"])[-1] if live else (found[0] if found else None))
