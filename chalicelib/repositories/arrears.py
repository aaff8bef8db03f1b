"""Arrears (欠租): the record per lease in arrears and each estate's totals (one table, two kinds of
item), and the bill reads the reminders and the daily recompute need (docs/decisions/0029).

A lease's record and its estate's totals change together: every write of a lease record is one
transaction with an ADD of the difference on the totals, conditioned on the lease record being as
it was read, so the totals never need recomputing and two writers never both apply a difference.
"""
from __future__ import annotations

from typing import Iterator

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.arrears import Arrears, EstateArrears
from chalicelib.domain.bills import Bill
from chalicelib.domain.common import Page
from chalicelib.repositories import bills as bill_reads
from chalicelib.repositories.common import plain, transaction
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import ArrearsRecord

LEASE, ESTATE, SUMMARY_KEY = "lease", "estate", "estates"


class _Moved(errors.Conflict):
    """The lease record is not as it was read (internal: the caller recomputes)."""


def estate_key(estate_id: str) -> str:
    return f"estate#{estate_id}"


def estate_sort(a: Arrears) -> str:
    """Most months first, then the oldest debt first."""
    return f"{999 - min(a.months, 999):03d}#{a.since}#{a.lease_id}"


class ArrearsRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- bills (reads and the reminder marker live with the bills: repositories/bills.py) ----------
    def unpaid_due_between(self, estate_id: str, first: str, last: str) -> Iterator[Bill]:
        return bill_reads.unpaid_due_between(estate_id, first, last)

    def mark_reminded(self, bill_id: str, offset: int, at: str) -> bool:
        return bill_reads.mark_reminded(bill_id, offset, at)

    # --- leases -------------------------------------------------------------------------------------
    def get(self, lease_id: str) -> Arrears | None:
        try:
            record = ArrearsRecord.get(lease_id, consistent_read=True)
        except ArrearsRecord.DoesNotExist:
            return None
        return to_arrears(record) if record.kind == LEASE else None

    def of_estate(self, estate_id: str) -> list[Arrears]:
        return [to_arrears(r) for r in ArrearsRecord.by_estate.query(estate_id)]

    def page_of_estate(self, estate_id: str, min_months: int, cursor: str | None, limit: int) -> Page[Arrears]:
        records, next_cursor = query_page(
            ArrearsRecord.by_estate, estate_id, key_names=("lease_id", "estate_id", "estate_sort"),
            scope=f"arrears|{estate_id}|{min_months}",
            range_condition=ArrearsRecord.estate_sort <= f"{999 - min(min_months, 999):03d}#~",
            limit=limit, cursor=cursor)
        return Page([to_arrears(r) for r in records], next_cursor)

    def save(self, current: Arrears | None, updated: Arrears | None, at: str) -> bool:
        """Replace ``current`` by ``updated`` (either may be None: a lease falling into arrears, or
        paying it all), moving the estate's totals by the difference; False if the record moved."""
        before, after = current or updated, updated or current
        assert before is not None and after is not None
        delta = {"leases": (updated is not None) - (current is not None),
                 "flagged": int(bool(updated and updated.flagged)) - int(bool(current and current.flagged)),
                 "months": (updated.months if updated else 0) - (current.months if current else 0),
                 "amount": (updated.amount if updated else 0) - (current.amount if current else 0)}
        totals = ArrearsRecord(estate_key(after.estate_id))
        actions = [ArrearsRecord.kind.set(ESTATE), ArrearsRecord.estate_id.set(after.estate_id),
                   ArrearsRecord.summary_key.set(SUMMARY_KEY), ArrearsRecord.updated_at.set(at),
                   ArrearsRecord.version.add(1)]
        actions += [getattr(ArrearsRecord, name).add(value) for name, value in delta.items()]
        try:
            with transaction(self.settings, _Moved()) as tx:
                if updated is None:
                    tx.delete(ArrearsRecord(before.lease_id), condition=ArrearsRecord.version == before.version)
                elif current is None:
                    tx.save(arrears_record(updated), condition=ArrearsRecord.lease_id.does_not_exist())
                else:
                    tx.save(arrears_record(updated), condition=ArrearsRecord.version == current.version)
                tx.update(totals, actions=actions)
        except _Moved:
            return False
        return True

    # --- estates' totals ----------------------------------------------------------------------------
    def summary(self, estate_id: str) -> EstateArrears | None:
        try:
            return to_summary(ArrearsRecord.get(estate_key(estate_id), consistent_read=True))
        except ArrearsRecord.DoesNotExist:
            return None

    def name_estate(self, estate_id: str, name: str) -> None:
        """The estate's name on its totals (for the staff's overview), if they exist."""
        from pynamodb.exceptions import UpdateError

        from chalicelib.repositories.common import is_condition_failure

        try:
            ArrearsRecord(estate_key(estate_id)).update(
                actions=[ArrearsRecord.estate_name.set(name)],
                condition=ArrearsRecord.lease_id.exists()
                & (ArrearsRecord.estate_name.does_not_exist() | (ArrearsRecord.estate_name != name)))
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise

    def summaries(self, cursor: str | None, limit: int) -> Page[EstateArrears]:
        records, next_cursor = query_page(
            ArrearsRecord.by_summary, SUMMARY_KEY, key_names=("lease_id", "summary_key", "estate_id"),
            scope="arrears|summary", limit=limit, cursor=cursor)
        return Page([to_summary(r) for r in records], next_cursor)


# --- records ------------------------------------------------------------------------------------------
def arrears_record(a: Arrears) -> ArrearsRecord:
    return ArrearsRecord(
        a.lease_id, kind=LEASE, estate_id=a.estate_id, estate_sort=estate_sort(a), owner=a.owner,
        unit_label=a.unit_label, tenant=a.tenant, months=a.months, amount=a.amount, since=a.since,
        bill_ids=list(a.bill_ids), flagged_at=a.flagged_at, updated_at=a.updated_at, version=a.version)


def to_arrears(r: ArrearsRecord) -> Arrears:
    return Arrears(r.lease_id, r.estate_id, r.owner, r.unit_label or "", r.tenant, int(r.months), int(r.amount),
                   r.since or "", tuple(plain(r.bill_ids) or ()), r.flagged_at, r.updated_at, int(r.version))


def to_summary(r: ArrearsRecord) -> EstateArrears:
    return EstateArrears(r.estate_id, r.estate_name, int(r.leases or 0), int(r.flagged or 0), int(r.months or 0),
                         int(r.amount or 0), r.updated_at, int(r.version))
