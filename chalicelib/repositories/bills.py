"""Bills (账单): reading them (by id, a tenant's unpaid first, a lease's) and writing a new one
only if it does not exist (the key is the lease and the month: docs/decisions/0027).

``create_many`` writes a billing run's page: TransactWriteItems of up to 100 conditional puts
(``attribute_not_exists(bill_id)``, the existing item returned on failure). A transaction cancelled
because some bills exist already is sent again without them, and those bills are reported with the
run that issued them (so a run counts "created" and "already existing" exactly, whoever wrote first).
"""
from __future__ import annotations

from typing import Any, Iterator

from pynamodb.exceptions import PutError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import Bill, BillKind, BillStatus
from chalicelib.domain.common import Page
from chalicelib.repositories.common import is_condition_failure, plain, put_many_new
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import BillRecord


BILL_FIELDS = (
    "lease_id", "owner", "kind", "month", "period_start", "period_end", "base_amount", "amount", "due_date",
    "estate_id", "unit_id", "unit_label", "reduction", "proration", "status", "run_id", "payment_id", "paid_at",
    "cancel_reason", "extra", "created_at", "updated_at", "version")


class BillRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, bill_id: str) -> Bill:
        try:
            return to_bill(BillRecord.get(bill_id, consistent_read=True))
        except BillRecord.DoesNotExist:
            raise errors.BillNotFound(bill_id, field="bill_id") from None

    def of_lease(self, lease_id: str) -> list[Bill]:
        return [to_bill(r) for r in BillRecord.by_lease.query(lease_id)]

    def of_owner(self, owner: str, cursor: str | None, limit: int) -> Page[Bill]:
        """A tenant's bills: unpaid first (oldest due first), then the history (newest first)."""
        records, next_cursor = query_page(BillRecord.by_owner, owner, key_names=("bill_id", "owner", "owner_sort"),
                                          scope=f"bills:{owner}", limit=limit, cursor=cursor)
        return Page([to_bill(r) for r in records], next_cursor)

    def create(self, bill: Bill) -> bool:
        """Write a bill unless it exists (False then)."""
        try:
            bill_record(bill).save(condition=BillRecord.bill_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def create_many(self, bills: list[Bill]) -> dict[str, str | None]:
        """Write each bill unless it exists; the ones that existed, with the run that issued them."""
        existing = put_many_new(self.settings, [bill_record(b) for b in bills], "bill_id")
        return {bill_id: _issuer(raw) for bill_id, raw in existing.items()}


# --- records ----------------------------------------------------------------------------------------
def owner_sort(bill: Bill) -> str:
    """Unpaid first (oldest due first), then the history newest first (by_owner, by_estate)."""
    if bill.status == BillStatus.UNPAID:
        return f"0#{bill.due_date}#{bill.bill_id}"
    inverted = 99_999_999 - int(bill.due_date.replace("-", ""))
    return f"1#{inverted:08d}#{bill.bill_id}"


def bill_record(bill: Bill) -> BillRecord:
    values = {f: getattr(bill, f) for f in BILL_FIELDS}
    return BillRecord(bill.bill_id, owner_sort=owner_sort(bill), lease_sort=f"{bill.month or '0000-00'}#{bill.kind}",
                      **values)


def _issuer(raw: dict[str, Any] | None) -> str | None:
    """The run id of an existing bill as a cancellation reason returns it (None: a deposit, or unknown)."""
    value = (raw or {}).get("run_id") or {}
    return value.get("S") if isinstance(value, dict) else None


def to_bill(r: BillRecord) -> Bill:
    values = {f: plain(getattr(r, f)) for f in BILL_FIELDS}
    for f in ("base_amount", "amount", "version"):
        values[f] = int(values[f])
    values["kind"] = BillKind(values["kind"])
    values["status"] = BillStatus(values["status"])
    values["extra"] = dict(values["extra"] or {})
    return Bill(bill_id=r.bill_id, **values)


# --- for payments (issue 11 §2): several bills at once --------------------------------------------------
def many(bill_ids: list[str]) -> list[Bill]:
    """The bills that exist among ``bill_ids`` (BatchGetItem, strongly consistent: a payment checks
    what it takes against the latest state), in no particular order."""
    if not bill_ids:
        return []
    return [to_bill(r) for r in BillRecord.batch_get(list(dict.fromkeys(bill_ids)), consistent_read=True)]


BillRepository.many = staticmethod(many)  # type: ignore[attr-defined]


# --- arrears and reminders (domain/arrears.py, docs/decisions/0029) -----------------------------------
def unpaid_due_between(estate_id: str, first: str, last: str) -> Iterator[Bill]:
    """An estate's unpaid bills due from ``first`` to ``last`` (YYYY-MM-DD, both included), oldest
    due first: one key range of ``by_estate`` ("0#{due_date}#{bill_id}" while unpaid), read a page
    at a time."""
    condition = BillRecord.owner_sort.between(f"0#{first}#", f"0#{last}#~")
    for record in BillRecord.by_estate.query(estate_id, range_key_condition=condition):
        yield to_bill(record)


def mark_reminded(bill_id: str, offset: int, at: str) -> bool:
    """Mark the reminder at ``offset`` days as sent (``extra.reminded_<offset>``), only if it was not
    and the bill is still unpaid: False otherwise (a rerun, a concurrent run, paid meanwhile). The
    bill's version is not moved: a reminder must not make a payment's write stale."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.repositories.common import is_condition_failure

    marker = BillRecord.extra[f"reminded_{offset}"]
    try:
        BillRecord(bill_id).update(actions=[marker.set(at)], condition=BillRecord.bill_id.exists()
                                   & (BillRecord.status == BillStatus.UNPAID.value) & marker.does_not_exist())
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
