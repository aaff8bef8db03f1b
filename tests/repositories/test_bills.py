"""The bills repository's contract, on the twin and on DynamoDB: a bill is written once, a page of
bills reports those that existed with the run that issued them, and a tenant's bills come unpaid
first (the oldest due first), then the history (the newest first), a full page or the last."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.bills import Bill, BillKind, BillStatus, bill_key
from chalicelib.domain.common import new_id, now_iso


def bill(owner: str, month: str | None, due: str, status: BillStatus = BillStatus.UNPAID, run_id: str | None = "brun_a",
         lease_id: str | None = None) -> Bill:
    lease_id = lease_id or new_id("lse")
    kind = BillKind.RENT if month else BillKind.DEPOSIT
    return Bill(bill_id=bill_key(lease_id, kind, month), lease_id=lease_id, owner=owner, kind=kind, month=month,
                period_start=None, period_end=None, base_amount=30000, amount=30000, due_date=due, estate_id="e",
                unit_id="u", unit_label="福泽园1栋101", reduction={"key": "subsistence", "percent": 50, "note": "减半",
                                                               "amount": 30000},
                status=status, run_id=run_id if month else None, created_at=now_iso(), updated_at=now_iso())


def test_a_bill_is_written_once(container: Any) -> None:
    repo = container.bills
    first = bill(new_id("sub"), "2027-01", "2027-01-10")
    assert repo.create(first) is True
    assert repo.create(replace(first, amount=1, run_id="brun_b")) is False
    assert repo.get(first.bill_id) == first
    with pytest.raises(errors.BillNotFound):
        repo.get(bill_key("lse_none", BillKind.RENT, "2027-01"))


def test_a_page_reports_the_bills_that_existed_with_their_run(container: Any) -> None:
    repo = container.bills
    owner = new_id("sub")
    page = [bill(owner, "2027-02", "2027-02-10") for _ in range(30)]  # two transactions' worth
    assert repo.create_many(page[:5]) == {}
    again = [replace(b, run_id="brun_b") for b in page]
    assert repo.create_many(again) == {b.bill_id: "brun_a" for b in page[:5]}
    assert repo.get(page[29].bill_id).run_id == "brun_b" and repo.get(page[0].bill_id).run_id == "brun_a"
    assert repo.create_many(again) == {b.bill_id: (b.run_id if n < 5 else "brun_b") for n, b in enumerate(page)}
    assert repo.create_many([]) == {}


def test_a_tenants_bills_unpaid_first_then_the_history_in_full_pages(container: Any) -> None:
    repo = container.bills
    owner, lease_id = new_id("sub"), new_id("lse")
    made = [bill(owner, "2026-11", "2026-11-10", lease_id=lease_id),
            bill(owner, "2026-12", "2026-12-10", lease_id=lease_id),
            bill(owner, None, "2026-10-15", lease_id=lease_id),
            bill(owner, "2026-09", "2026-09-10", BillStatus.PAID, lease_id=lease_id),
            bill(owner, "2026-10", "2026-10-10", BillStatus.CANCELLED, lease_id=lease_id)]
    for b in made:
        assert repo.create(b)
    repo.create(bill(new_id("sub"), "2026-12", "2026-12-10"))  # someone else's
    expected = [made[2].bill_id, made[0].bill_id, made[1].bill_id, made[4].bill_id, made[3].bill_id]
    assert [b.bill_id for b in repo.of_owner(owner, None, 10).items] == expected
    seen, cursor = [], None
    while True:
        page = repo.of_owner(owner, cursor, 2)
        assert len(page.items) == 2 or page.next_cursor is None
        seen += [b.bill_id for b in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    with pytest.raises(errors.InvalidCursor):
        repo.of_owner(new_id("sub"), repo.of_owner(owner, None, 1).next_cursor, 1)
    assert [b.month for b in repo.of_lease(lease_id)] == [None, "2026-09", "2026-10", "2026-11", "2026-12"]
