"""In-memory twin of chalicelib/repositories/bills.py: a bill is written once (its key is the lease
and the month), a tenant's bills come unpaid first (the DynamoDB index's order), and a page's
bills that existed are reported with the run that issued them."""
from __future__ import annotations

import threading

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import Bill
from chalicelib.domain.common import Page
from chalicelib.repositories.bills import owner_sort
from tests.twins.common import clone, page


class BillTwin:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()  # the selection twin's confirm writes the deposit under it too
        self.bills: dict[str, Bill] = {}

    def get(self, bill_id: str) -> Bill:
        with self.lock:
            if bill_id not in self.bills:
                raise errors.BillNotFound(bill_id, field="bill_id")
            return clone(self.bills[bill_id])

    def of_lease(self, lease_id: str) -> list[Bill]:
        with self.lock:
            found = [clone(b) for b in self.bills.values() if b.lease_id == lease_id]
        return sorted(found, key=lambda b: (f"{b.month or '0000-00'}#{b.kind}", b.bill_id))

    def of_owner(self, owner: str, cursor: str | None, limit: int) -> Page[Bill]:
        with self.lock:
            found = sorted((clone(b) for b in self.bills.values() if b.owner == owner), key=lambda b: owner_sort(b) or "")
        return page(found, lambda b: owner_sort(b) or "", f"bills:{owner}", cursor, limit)

    def create(self, bill: Bill) -> bool:
        with self.lock:
            if bill.bill_id in self.bills:
                return False
            self.bills[bill.bill_id] = clone(bill)
            return True

    def create_many(self, bills: list[Bill]) -> dict[str, str | None]:
        existing: dict[str, str | None] = {}
        with self.lock:
            for bill in bills:
                if bill.bill_id in self.bills:
                    existing[bill.bill_id] = self.bills[bill.bill_id].run_id
                else:
                    self.bills[bill.bill_id] = clone(bill)
        return existing
