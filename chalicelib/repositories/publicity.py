"""Publicity batches with their entries, and objections (docs/decisions/0012).

A batch and its entries are one item collection (``PublicityRecord``): the batch page is one Query.
Filing and resolving an objection are each one TransactWrite with the entry's counters, so the
close step (which claims an entry only while it has no open and no upheld objection) and an
objection can never both win.
"""
from __future__ import annotations


from pynamodb.exceptions import PutError, UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.application_types import Application
from chalicelib.domain.common import Page
from chalicelib.domain.publicity import (
    ENTRIES,
    Batch,
    BatchStatus,
    Entry,
    EntryStatus,
    Objection,
    ObjectionStatus,
)
from chalicelib.repositories.common import is_condition_failure, put_new, transaction
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import ApplicationRecord, ObjectionRecord, PublicityRecord

BATCH = "batch"


def entry_key(entry_id: str) -> str:
    return f"e#{entry_id}"


class PublicityRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- batches -------------------------------------------------------------------------------
    def create_batch(self, batch: Batch) -> None:
        put_new(batch_record(batch), PublicityRecord.batch_id.does_not_exist(), errors.AlreadyExists(field="batch_id"))

    def get_batch(self, batch_id: str) -> Batch:
        try:
            return to_batch(PublicityRecord.get(batch_id, BATCH))
        except PublicityRecord.DoesNotExist:
            raise errors.PublicityNotFound(batch_id, field="batch_id") from None

    def batch_with_entries(self, batch_id: str) -> tuple[Batch, list[Entry]]:
        """The batch and every entry: one Query on the item collection (paged by DynamoDB only
        past 1 MB, i.e. thousands of entries; a batch holds at most a few hundred)."""
        batch, entries = None, []
        for r in PublicityRecord.query(batch_id):
            if r.item == BATCH:
                batch = to_batch(r)
            else:
                entries.append(to_entry(r))
        if batch is None:
            raise errors.PublicityNotFound(batch_id, field="batch_id")
        entries.sort(key=lambda e: (e.created_at, e.entry_id))
        return batch, entries

    def batches(self, status: BatchStatus) -> list[Batch]:
        """Batches in a status, oldest first (the sparse ``by_status`` index: batch items only)."""
        return [to_batch(r) for r in PublicityRecord.by_status.query(status, limit=500)]

    def delete_batch(self, batch_id: str) -> None:
        PublicityRecord(batch_id, BATCH).delete()

    def update_batch(self, batch: Batch, expected_version: int,
                     expected_status: BatchStatus = BatchStatus.OPEN) -> Batch:
        """Replace the batch item if nobody changed it since (version and status as read)."""
        try:
            batch_record(batch).save(condition=(PublicityRecord.version == expected_version)
                                     & (PublicityRecord.status == expected_status.value))
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion("the batch changed", field="version") from None
            raise
        return batch

    # --- entries --------------------------------------------------------------------------------
    def put_entry(self, entry: Entry) -> None:
        put_new(entry_record(entry), PublicityRecord.item.does_not_exist(), errors.AlreadyExists(field="entry_id"))

    def delete_entry(self, batch_id: str, entry_id: str) -> None:
        PublicityRecord(batch_id, entry_key(entry_id)).delete()

    def get_entry(self, batch_id: str, entry_id: str) -> Entry:
        try:
            return to_entry(PublicityRecord.get(batch_id, entry_key(entry_id)))
        except PublicityRecord.DoesNotExist:
            raise errors.PublicityNotFound(entry_id, field="entry_id") from None

    def move_entry(self, entry: Entry, to: EntryStatus, at: str, *, unobjected: bool = False) -> bool:
        """Move an entry from its current status to ``to``; False if someone moved it first (or,
        with ``unobjected``, if it has an open or upheld objection)."""
        condition = PublicityRecord.entry_status == entry.status.value
        if unobjected:
            condition &= (PublicityRecord.objections_open == 0) & (PublicityRecord.objections_upheld == 0)
        try:
            PublicityRecord(entry.batch_id, entry_key(entry.entry_id)).update(
                actions=[PublicityRecord.entry_status.set(to.value), PublicityRecord.settled_at.set(at),
                         PublicityRecord.updated_at.set(at)], condition=condition)
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- objections -----------------------------------------------------------------------------
    def file_objection(self, objection: Objection) -> None:
        """The objection and the entry's counters in one transaction, only while the batch is open
        and the entry still listed (else 409 OUTSIDE_PUBLICITY_PERIOD: nothing is written)."""
        entry = PublicityRecord(objection.batch_id, entry_key(objection.entry_id))
        with transaction(self.settings, errors.OutsidePublicityPeriod("no longer listed", field="entry_id")) as tx:
            tx.condition_check(PublicityRecord, objection.batch_id, BATCH, condition=PublicityRecord.status == BatchStatus.OPEN.value)
            tx.update(entry, actions=[PublicityRecord.objections_open.add(1), PublicityRecord.objections_total.add(1),
                                      PublicityRecord.updated_at.set(objection.created_at)],
                      condition=PublicityRecord.entry_status == EntryStatus.LISTED.value)
            tx.save(objection_record(objection), condition=ObjectionRecord.objection_id.does_not_exist())

    def resolve_objection(self, resolved: Objection, expected_version: int) -> None:
        """Record the decision and move the entry's counters; an upheld objection takes a listed
        entry off the list ("removing": the application is sent back to review next)."""
        upheld = resolved.status == ObjectionStatus.UPHELD
        actions = [PublicityRecord.objections_open.add(-1), PublicityRecord.updated_at.set(resolved.updated_at)]
        if upheld:
            actions.append(PublicityRecord.objections_upheld.add(1))
        entry = PublicityRecord(resolved.batch_id, entry_key(resolved.entry_id))
        with transaction(self.settings, errors.StaleVersion("the objection changed", field="version")) as tx:
            tx.save(objection_record(resolved), condition=(ObjectionRecord.version == expected_version)
                    & (ObjectionRecord.status == ObjectionStatus.OPEN.value))
            tx.update(entry, actions=actions, condition=PublicityRecord.entry_id.exists())
        if upheld:
            try:
                removing = ENTRIES.move(EntryStatus.LISTED, EntryStatus.REMOVING)
                entry.update(actions=[PublicityRecord.entry_status.set(removing.value)],
                             condition=PublicityRecord.entry_status == EntryStatus.LISTED.value)
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise  # already off the list (an earlier objection upheld): nothing to move

    def file_review_objection(self, objection: Objection) -> None:
        """An objection to an annual review's outcome: no publicity entry to count it on."""
        put_new(objection_record(objection), ObjectionRecord.objection_id.does_not_exist(),
                errors.AlreadyExists("objection", field="objection_id"))

    def resolve_review_objection(self, resolved: Objection, expected_version: int) -> None:
        try:
            objection_record(resolved).save(condition=(ObjectionRecord.version == expected_version)
                                            & (ObjectionRecord.status == ObjectionStatus.OPEN.value))
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion("the objection changed", field="version") from None
            raise

    def get_objection(self, objection_id: str) -> Objection:
        try:
            return to_objection(ObjectionRecord.get(objection_id))
        except ObjectionRecord.DoesNotExist:
            raise errors.ObjectionNotFound(objection_id, field="objection_id") from None

    def objections_by_status(self, status: ObjectionStatus, cursor: str | None, limit: int) -> Page[Objection]:
        records, next_cursor = query_page(
            ObjectionRecord.by_status, status, key_names=("objection_id", "status", "list_sort"),
            scope=f"objections|status|{status}", limit=limit, cursor=cursor)
        return Page([to_objection(r) for r in records], next_cursor)

    def objections_of_batch(self, batch_id: str) -> list[Objection]:
        return [to_objection(r) for r in ObjectionRecord.by_batch.query(batch_id, limit=1000)]

    # --- applications of a batch (the staff view) -------------------------------------------------
    def applications(self, application_ids: list[str]) -> dict[str, Application]:
        from chalicelib.repositories.applications import to_application

        if not application_ids:
            return {}
        return {r.application_id: to_application(r) for r in ApplicationRecord.batch_get(list(set(application_ids)))}


# --- records ------------------------------------------------------------------------------------
def batch_record(b: Batch) -> PublicityRecord:
    return PublicityRecord(
        b.batch_id, BATCH, status=b.status.value, list_sort=f"{b.starts_at}#{b.batch_id}", title=b.title,
        starts_at=b.starts_at, ends_at=b.ends_at, days=b.days, demo=1 if b.demo else 0, size=b.size,
        created_by=b.created_by, closed_at=b.closed_at, created_at=b.created_at, updated_at=b.updated_at,
        version=b.version)


def to_batch(r: PublicityRecord) -> Batch:
    return Batch(r.batch_id, r.title, BatchStatus(r.status or BatchStatus.OPEN), r.starts_at or "", r.ends_at or "",
                 int(r.days) if r.days is not None else None, bool(r.demo), int(r.size or 0), r.created_by or "",
                 r.created_at, r.updated_at, r.closed_at, int(r.version or 1))


def entry_record(e: Entry) -> PublicityRecord:
    return PublicityRecord(
        e.batch_id, entry_key(e.entry_id), entry_id=e.entry_id, application_id=e.application_id,
        entry_status=e.status.value, masked_name=e.masked_name, masked_id=e.masked_id, household_size=e.household_size,
        kind=e.kind, street_id=e.street_id, street_name=e.street_name, objections_open=e.objections_open,
        objections_upheld=e.objections_upheld, objections_total=e.objections_total, settled_at=e.settled_at,
        created_at=e.created_at, updated_at=e.updated_at)


def to_entry(r: PublicityRecord) -> Entry:
    return Entry(r.batch_id, r.entry_id or "", r.application_id or "", EntryStatus(r.entry_status or EntryStatus.LISTED),
                 r.masked_name or "", r.masked_id or "", int(r.household_size or 0), r.kind or "", r.street_id,
                 r.street_name, int(r.objections_open or 0), int(r.objections_upheld or 0),
                 int(r.objections_total or 0), r.settled_at, r.created_at, r.updated_at)


def objection_record(o: Objection) -> ObjectionRecord:
    return ObjectionRecord(
        o.objection_id, batch_id=o.batch_id, entry_id=o.entry_id, application_id=o.application_id, filer=o.filer,
        filer_role=o.filer_role, reason=o.reason, contact=o.contact, filer_mobile=o.filer_mobile, status=o.status.value,
        decision_reason=o.decision_reason, resolved_by=o.resolved_by, resolved_at=o.resolved_at,
        list_sort=f"{o.created_at}#{o.objection_id}", created_at=o.created_at, updated_at=o.updated_at,
        version=o.version)


def to_objection(r: ObjectionRecord) -> Objection:
    return Objection(r.objection_id, r.batch_id, r.entry_id, r.application_id, r.filer, r.filer_role, r.reason,
                     r.contact, ObjectionStatus(r.status), r.filer_mobile, r.decision_reason, r.resolved_by, r.resolved_at,
                     r.created_at, r.updated_at, int(r.version or 1))
