"""The retention job's storage (docs/decisions/0040): the applications past their period (the
by_status index, one key range per status: no scan), and the deletion of one application's data with
the audit record of it, all or nothing."""
from __future__ import annotations

import json
from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.application_status import S
from chalicelib.domain.application_types import Application
from chalicelib.repositories.applications import to_application
from chalicelib.repositories.common import transaction
from chalicelib.repositories.tables import (ApplicationRecord, AuditRecord, ConsentRecord, EventRecord,
                                            PersonLockRecord, StatsRecord)
from chalicelib.domain.stats import KEPT

#: Events deleted per batch (BatchWriteItem takes 25).
BATCH = 25


class RetentionRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def past(self, status: S, cutoff: str, limit: int) -> list[Application]:
        """Applications in ``status`` last changed before ``cutoff``, oldest first. The index sorts by
        creation (``{created_at}#{id}``): nothing created after the cutoff can have changed before it."""
        found = ApplicationRecord.by_status.query(
            status.value, ApplicationRecord.sort_key < cutoff, filter_condition=ApplicationRecord.updated_at < cutoff,
            page_size=100)
        out = []
        for record in found:
            out.append(to_application(ApplicationRecord.get(record.application_id)))
            if len(out) >= limit:
                break
        return out

    def delete_timeline(self, application_id: str) -> int:
        keys = [r.at for r in EventRecord.query(f"app#{application_id}", attributes_to_get=["stream", "at"])]
        with EventRecord.batch_write() as batch:
            for at in keys:
                batch.delete(EventRecord(f"app#{application_id}", at))
        return len(keys)

    def delete_application(self, app: Application, record: dict[str, Any], kept: dict[str, Any]) -> bool:
        """The application, its consent records and its draft lock, with the audit record of the
        deletion and what the statistics keep of it (``kept``: its figures' dates, nothing personal),
        in one transaction, if the application is still as read (False if it changed or is gone)."""
        lock_key = f"draft#{app.household_id}#{app.kind}"
        lock: PersonLockRecord | None = None
        if app.status == S.DRAFT and app.household_id:
            try:
                lock = PersonLockRecord.get(lock_key, consistent_read=True)
            except PersonLockRecord.DoesNotExist:
                lock = None
        try:
            with transaction(self.settings, errors.Conflict("changed")) as tx:
                tx.delete(ApplicationRecord(app.application_id), condition=ApplicationRecord.rev == app.rev)
                for member in app.members:
                    if member["member_id"] in app.consents:
                        tx.delete(ConsentRecord(member["person_key"], app.application_id))
                if lock is not None and lock.application_id == app.application_id:
                    tx.delete(PersonLockRecord(lock_key), condition=PersonLockRecord.application_id == app.application_id)
                tx.save(AuditRecord(**record), condition=AuditRecord.at.does_not_exist())
                if kept:
                    tx.save(StatsRecord(f"{KEPT}applications", app.application_id, kept=json.dumps(kept)))
        except errors.Conflict:
            return False
        return True
