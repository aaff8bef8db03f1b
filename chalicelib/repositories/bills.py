"""Bills (账单): reading them (by id, a tenant's unpaid first, a lease's) and writing a new one
only if it does not exist (the key is the lease and the month: docs/decisions/0027)."""
from __future__ import annotations

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import Bill, BillKind, BillStatus
from chalicelib.repositories.common import plain
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


def to_bill(r: BillRecord) -> Bill:
    values = {f: plain(getattr(r, f)) for f in BILL_FIELDS}
    for f in ("base_amount", "amount", "version"):
        values[f] = int(values[f])
    values["kind"] = BillKind(values["kind"])
    values["status"] = BillStatus(values["status"])
    values["extra"] = dict(values["extra"] or {})
    return Bill(bill_id=r.bill_id, **values)
