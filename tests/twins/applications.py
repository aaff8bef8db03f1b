"""In-memory twin of chalicelib/repositories/applications.py."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application, Event, _RevisionMoved
from chalicelib.domain.common import Page, new_id, now, now_iso
from chalicelib.domain.idnumbers import mask_name
from chalicelib.repositories.applications import REVIEW_ORDER
from tests.twins.common import clone, page


class ApplicationTwin:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self.apps: dict[str, Application] = {}
        self.events_by_stream: dict[str, list[tuple[str, Event]]] = {}  # stream -> [(at#id, event)]
        self.locks: dict[str, dict[str, Any]] = {}  # person_key -> {"application_id", "since"}
        self.consents: dict[tuple[str, str], dict[str, Any]] = {}  # (person_key, application_id) -> record

    # --- writing (checked first, then applied: all or nothing) ------------------------------------------
    def get(self, application_id: str) -> Application:
        with self._lock:
            if application_id not in self.apps:
                raise errors.ApplicationNotFound(application_id)
            return clone(self.apps[application_id])

    def create(self, app: Application, event: Event, *, one_draft_of: str | None = None) -> None:
        with self._lock:
            if one_draft_of is not None:
                key = f"draft#{one_draft_of}#{app.kind}"
                previous = (self.locks.get(key) or {}).get("application_id")
                held = previous is not None and previous in self.apps and self.apps[previous].status == Status.DRAFT
                if held or app.application_id in self.apps:
                    raise errors.DraftExists(previous or "", field="kind")
                self.locks[key] = {"application_id": app.application_id, "since": app.created_at}
            elif app.application_id in self.apps:  # as DynamoDB's: a new application has rev 0
                raise errors.AlreadyExists() if app.rev == 0 else _RevisionMoved()
            self._apply(app, [event], consents=[m for m in app.members if m["member_id"] in app.consents])

    def save(self, app: Application, expected_rev: int, events: list[Event], *, lock: list[str] = (),
             unlock: list[str] = (), consents: list[dict[str, Any]] = ()) -> None:
        with self._lock:
            current = self.apps.get(app.application_id)
            if current is None or current.rev != expected_rev:
                raise _RevisionMoved()
            for key in lock:
                holder = (self.locks.get(key) or {}).get("application_id")
                if holder not in (None, app.application_id):
                    who = next((m for m in app.members if m["person_key"] == key), None)
                    raise errors.PersonAlreadyApplying(mask_name(who["name"]) if who else None, field="members")
            for key in unlock:
                if (self.locks.get(key) or {}).get("application_id") not in (None, app.application_id):
                    raise errors.Conflict("state changed")
            at = (events[0].at or now_iso()) if events else ""
            for key in lock:
                self.locks[key] = {"application_id": app.application_id, "since": at}
            for key in unlock:
                self.locks.pop(key, None)
            self._apply(app, events, consents=list(consents))

    def _apply(self, app: Application, events: list[Event], consents: list[dict[str, Any]]) -> None:
        self.apps[app.application_id] = clone(app)
        for e in events:
            self._append(f"app#{app.application_id}", e)
        for member in consents:
            c = app.consents[member["member_id"]]
            self.consents[(member["person_key"], app.application_id)] = {
                "application_id": app.application_id, "member_id": member["member_id"],
                "status": c.get("status", "pending"), "method": c.get("method"),
                "text_version": c.get("text_version"), "given_at": c.get("at"), "requested_at": app.created_at}

    def _append(self, stream: str, e: Event) -> None:
        at = e.at or now_iso()
        self.events_by_stream.setdefault(stream, []).append((f"{at}#{new_id('ev')}", replace(e, at=at)))
        self.events_by_stream[stream].sort(key=lambda pair: pair[0])

    # --- reading ----------------------------------------------------------------------------------------
    @staticmethod
    def _sort_key(a: Application) -> str:
        return f"{a.created_at}#{a.application_id}"

    def _where(self, test: Any, *, newest_first: bool = False) -> list[Application]:
        with self._lock:
            found = [clone(a) for a in self.apps.values() if test(a)]
        return sorted(found, key=self._sort_key, reverse=newest_first)

    def by_owner(self, owner_key: str, cursor: str | None, limit: int) -> Page[Application]:
        items = self._where(lambda a: a.owner_key == owner_key, newest_first=True)
        return page(items, lambda a: a.application_id, f"apps|owner|{owner_key}", cursor, limit)

    def by_status(self, status: str, cursor: str | None, limit: int) -> Page[Application]:
        items = self._where(lambda a: a.status.value == status)
        return page(items, lambda a: a.application_id, f"apps|status|{status}", cursor, limit)

    def by_group(self, group_id: str, cursor: str | None, limit: int) -> Page[Application]:
        items = self._where(lambda a: a.group_id == group_id)
        return page(items, lambda a: a.application_id, f"apps|group|{group_id}", cursor, limit)

    def review_queue(self, recommendation: str | None, street: str | None, kind: str | None,
                     older_than_days: int | None, cursor: str | None, limit: int) -> Page[Application]:
        parts = [recommendation] if recommendation else list(REVIEW_ORDER)
        before = (now() - timedelta(days=older_than_days)).isoformat() if older_than_days else None

        def fits(a: Application) -> bool:
            return (a.status == Status.UNDER_REVIEW and a.recommendation() in parts
                    and (street is None or a.street_id == street) and (kind is None or a.kind == kind)
                    and (before is None or f"{a.submitted_at}#{a.application_id}" < before))

        items = sorted(self._where(fits), key=lambda a: (parts.index(a.recommendation() or ""),
                                                         f"{a.submitted_at}#{a.application_id}"))
        return page(items, lambda a: a.application_id, f"review|{parts}|{street}|{kind}|{older_than_days}",
                    cursor, limit)

    def in_status(self, status: str) -> list[Application]:
        return self._where(lambda a: a.status.value == status)

    def locks_of(self, person_keys: list[str]) -> dict[str, str]:
        with self._lock:
            return {k: self.locks[k]["application_id"] for k in set(person_keys) if k in self.locks}

    def events(self, stream: str) -> list[Event]:
        with self._lock:
            return [clone(e) for _, e in self.events_by_stream.get(stream, [])[:500]]

    def events_of_grant(self, grant_id: str) -> list[dict[str, Any]]:
        with self._lock:
            found = [(key, stream, e) for stream, pairs in self.events_by_stream.items() for key, e in pairs
                     if e.grant_id == grant_id]
        out = []
        for _, stream, e in sorted(found, key=lambda t: t[0], reverse=True)[:200]:
            event = clone(e).__dict__
            event["application_id"] = stream.split("#", 1)[1] if stream.startswith("app#") else None
            out.append(event)
        return out

    def append_event(self, stream: str, event: Event) -> None:
        with self._lock:
            self._append(stream, event)

    def consents_of(self, person_key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [clone(c) for (p, a), c in sorted(self.consents.items()) if p == person_key][:100]
