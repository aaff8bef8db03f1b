"""Bills (账单): what a month's rent bill says (the lease's rent after its reduction, a partial first
or last month prorated by days, the city's due date), the deposit's bill, and the tenant's routes
(unpaid first, one bill, a delegate's view) with real tokens. Billing runs: tests/test_billing_runs.py."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain import bills
from chalicelib.domain.bills import ActiveLease, Bill, BillKind, BillStatus, Skipped
from chalicelib.domain.common import new_id, now, now_iso
from tests.applying import Citizen, call, register

JIANGMEN = bills.rent_rules("jiangmen")  # due on the 10th, partial months by days
SANDBOX = bills.rent_rules("sandbox")  # due 9 days after the period starts
AT = "2027-01-01T02:00:00.000+08:00"
HALF = {"key": "subsistence", "percent": 50, "note": "低保、特困家庭租金减半"}


def lease(start: str = "2026-01-01", end: str = "2028-12-31", rent: int = 60000, reduction: dict[str, Any] | None = None,
          confirmed: bool = True, owner: str | None = "sub_tenant") -> ActiveLease:
    monthly = rent * (100 - reduction["percent"]) // 100 if reduction else rent
    return ActiveLease(lease_id=new_id("lse"), owner=owner, confirmed=confirmed, monthly_rent=monthly, base_rent=rent,
                       reduction=reduction, start_date=start, end_date=end, estate_id="fuzeyuan", unit_id="unt_1",
                       unit_label="福泽园1栋101")


def rent(lse: ActiveLease, month: str, rules: Any = JIANGMEN) -> Bill:
    bill = bills.rent_bill(lse, month, "brun_test", rules, AT)
    assert isinstance(bill, Bill), bill
    return bill


# --- the domain: amounts, proration, due dates ---------------------------------------------------------
def test_a_whole_month_is_the_lease_rent_due_on_the_citys_day() -> None:
    lse = lease()
    bill = rent(lse, "2027-03")
    assert (bill.amount, bill.base_amount, bill.proration, bill.reduction) == (60000, 60000, None, None)
    assert (bill.period_start, bill.period_end, bill.due_date) == ("2027-03-01", "2027-03-31", "2027-03-10")
    assert bill.bill_id == bills.bill_key(lse.lease_id, BillKind.RENT, "2027-03") == f"bil-{lse.lease_id}-2027-03"
    assert (bill.kind, bill.status, bill.owner, bill.run_id) == (BillKind.RENT, BillStatus.UNPAID, "sub_tenant", "brun_test")


def test_the_reduction_is_shown_on_the_bill_with_what_it_saves() -> None:
    bill = rent(lease(rent=60000, reduction=HALF), "2027-03")
    assert bill.amount == 30000 and bill.base_amount == 30000
    assert bill.reduction == {**HALF, "amount": 30000}


@pytest.mark.parametrize(("start", "end", "month", "days", "in_month", "amount"), [
    ("2027-01-15", "2029-12-31", "2027-01", 17, 31, 32903),  # starts mid-month: 60000 x 17/31 = 32903.2
    ("2026-01-01", "2027-02-14", "2027-02", 14, 28, 30000),  # ends mid-February (28 days)
    ("2028-02-10", "2030-12-31", "2028-02", 20, 29, 41379),  # a leap February: 60000 x 20/29 = 41379.3
    ("2026-01-01", "2028-02-29", "2028-02", 29, 29, 60000),  # ends on the leap day: the whole month
    ("2027-04-11", "2027-04-20", "2027-04", 10, 30, 20000),  # starts and ends in the same month
    ("2027-03-31", "2029-12-31", "2027-03", 1, 31, 1935),  # one day: 60000 / 31 = 1935.48
])
def test_a_partial_first_or_last_month_is_prorated_by_days(start: str, end: str, month: str, days: int,
                                                           in_month: int, amount: int) -> None:
    bill = rent(lease(start=start, end=end), month)
    assert (bill.amount, bill.base_amount) == (amount, 60000)
    if days == in_month:
        assert bill.proration is None
    else:
        assert bill.proration == {"days": days, "days_in_month": in_month}
    assert bill.period_start == max(start, f"{month}-01") and bill.period_end == min(end, bills.month_bounds(month)[1].isoformat())


def test_prorating_rounds_half_up_to_the_fen_and_a_reduced_partial_month_shows_its_saving() -> None:
    assert bills.prorate(100, 1, 2) == 50 and bills.prorate(1, 1, 2) == 1 and bills.prorate(3, 1, 2) == 2
    assert bills.prorate(45000, 31, 31) == 45000
    bill = rent(lease(start="2027-01-15", rent=60000, reduction=HALF), "2027-01")
    assert bill.amount == 16452  # 30000 x 17/31 = 16451.6
    assert bill.reduction == {**HALF, "amount": 32903 - 16452}


def test_a_city_without_proration_charges_any_started_month_whole() -> None:
    rules = JIANGMEN.model_copy(update={"proration": "none"})
    bill = rent(lease(start="2027-01-15"), "2027-01", rules)
    assert bill.amount == 60000 and bill.proration is None and bill.period_start == "2027-01-15"


def test_due_dates_follow_the_city() -> None:
    assert rent(lease(), "2027-02").due_date == "2027-02-10"
    assert rent(lease(start="2027-02-20"), "2027-02").due_date == "2027-02-20"  # never before the period starts
    assert rent(lease(), "2027-02", SANDBOX).due_date == "2027-02-10"  # 9 days after the 1st
    assert rent(lease(start="2027-02-20"), "2027-02", SANDBOX).due_date == "2027-03-01"


def test_no_bill_outside_the_term_for_a_draft_or_when_nothing_is_due() -> None:
    assert bills.rent_bill(lease(start="2027-02-01"), "2027-01", "r", JIANGMEN, AT) is Skipped.NOT_ACTIVE
    assert bills.rent_bill(lease(end="2026-12-31"), "2027-01", "r", JIANGMEN, AT) is Skipped.NOT_ACTIVE
    assert bills.rent_bill(lease(confirmed=False), "2027-01", "r", JIANGMEN, AT) is Skipped.NOT_ACTIVE
    exempt = lease(reduction={"key": "extreme_poverty", "percent": 100, "note": "免租"})
    assert bills.rent_bill(exempt, "2027-01", "r", JIANGMEN, AT) is Skipped.EXEMPT


def test_a_malformed_month_or_date_is_refused_before_anything_is_written() -> None:
    for month in ("2027-13", "2027-1", "27-01", "2027-01-01", ""):
        with pytest.raises(ValueError):
            bills.month_bounds(month)
    with pytest.raises(ValueError):
        bills.rent_bill(lease(start="2027-02-30"), "2027-02", "r", JIANGMEN, AT)


def test_the_deposit_is_due_when_the_lease_starts() -> None:
    confirmed = type("L", (), dict(lease_id="lse_dep", owner="sub_t", deposit=120000, start_date="2027-01-01",
                                   estate_id="fuzeyuan", unit_id="unt_1", estate_name="福泽园", building_name="1栋",
                                   number="101"))()
    bill = bills.deposit_bill(confirmed, "2026-12-05T10:00:00.000+08:00")
    assert bill is not None
    assert (bill.bill_id, bill.kind, bill.month, bill.amount, bill.due_date, bill.unit_label) == (
        "bil-lse_dep-deposit", BillKind.DEPOSIT, None, 120000, "2027-01-01", "福泽园1栋101")
    late = bills.deposit_bill(confirmed, "2027-01-20T10:00:00.000+08:00")
    assert late is not None and late.due_date == "2027-01-20"  # confirmed after the start: due now
    confirmed.deposit = 0
    assert bills.deposit_bill(confirmed, AT) is None


def test_shards_are_stable_and_spread() -> None:
    ids = [new_id("lse") for _ in range(2000)]
    shards = [bills.shard_of(i) for i in ids]
    assert all(len(s) == 2 and 0 <= int(s) < bills.BILLING_SHARDS for s in shards)
    assert [bills.shard_of(i) for i in ids] == shards
    assert len(set(shards)) == bills.BILLING_SHARDS and max(shards.count(s) for s in set(shards)) < 2000 / 32 * 2


# --- the tenant's routes -------------------------------------------------------------------------------
def subject(person: Citizen) -> str:
    import jwt

    return str(jwt.decode(person.token, options={"verify_signature": False})["sub"])


def put_bill(owner: str, month: str | None, due: str, status: BillStatus = BillStatus.UNPAID,
             amount: int = 45000) -> Bill:
    from chalicelib.deps import deps

    lease_id = new_id("lse")
    kind = BillKind.DEPOSIT if month is None else BillKind.RENT
    bill = Bill(bill_id=bills.bill_key(lease_id, kind, month), lease_id=lease_id, owner=owner, kind=kind, month=month,
                period_start=f"{month}-01" if month else None, period_end=f"{month}-28" if month else None,
                base_amount=amount, amount=amount, due_date=due, estate_id="fuzeyuan", unit_id="unt_1",
                unit_label="福泽园1栋101", reduction=HALF | {"amount": amount} if month else None, status=status,
                payment_id="pay_1" if status == BillStatus.PAID else None,
                paid_at=now_iso() if status == BillStatus.PAID else None, created_at=now_iso(), updated_at=now_iso())
    assert deps().bills.create(bill)
    assert not deps().bills.create(replace(bill, amount=1))  # once: a second write of the key changes nothing
    return bill


@pytest.fixture(scope="module")
def tenant(stack: Any, catalogue: Any) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        owner, stranger, child = Citizen(stack, "周明华"), Citizen(stack, "吴国强"), Citizen(stack, "王小明")
        for person in (owner, stranger, child):
            register(client, person)
    sub = subject(owner)
    today = now().date()
    made = {
        "overdue": put_bill(sub, "2026-09", (today - timedelta(days=40)).isoformat()),
        "due": put_bill(sub, "2026-10", (today + timedelta(days=5)).isoformat()),
        "deposit": put_bill(sub, None, (today + timedelta(days=20)).isoformat(), amount=90000),
        "paid_old": put_bill(sub, "2026-07", "2026-07-10", BillStatus.PAID),
        "paid_new": put_bill(sub, "2026-08", "2026-08-10", BillStatus.PAID),
    }
    return {"owner": owner, "stranger": stranger, "child": child, "bills": made}


def test_my_bills_unpaid_first_oldest_due_first_then_the_history_newest_first(client: Any, tenant: dict[str, Any]) -> None:
    made = tenant["bills"]
    status, page = call(client, "GET", "/v1/me/bills", tenant["owner"].headers())
    assert status == 200, page
    order = [b["bill_id"] for b in page["items"]]
    assert order == [made[k].bill_id for k in ("overdue", "due", "deposit", "paid_new", "paid_old")]
    first = page["items"][0]
    assert (first["amount"], first["amount_yuan"], first["status"], first["status_name"]) == (45000, "450.00", "unpaid", "待缴费")
    assert first["overdue"] is True and page["items"][1]["overdue"] is False and page["items"][3]["overdue"] is False
    assert first["reduction"] == {**HALF, "amount": 45000, "amount_yuan": "450.00"}
    assert page["items"][2]["kind"] == "deposit" and page["items"][2]["kind_name"] == "押金" and page["items"][2]["month"] is None
    assert page["items"][3]["paid_at"] and page["items"][3]["payment_id"] == "pay_1"
    # paged: a page is full or the last one
    seen, cursor = [], None
    while True:
        status, part = call(client, "GET", "/v1/me/bills?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                            tenant["owner"].headers())
        assert status == 200, part
        seen += [b["bill_id"] for b in part["items"]]
        cursor = part["next_cursor"]
        if not cursor:
            break
    assert seen == order
    status, page = call(client, "GET", "/v1/me/bills", tenant["stranger"].headers())
    assert (status, page["items"], page["next_cursor"]) == (200, [], None)


def test_one_bill_for_its_tenant_and_delegates_never_a_stranger(client: Any, tenant: dict[str, Any]) -> None:
    owner, stranger, child = tenant["owner"], tenant["stranger"], tenant["child"]
    bill_id = tenant["bills"]["due"].bill_id
    status, bill = call(client, "GET", f"/v1/me/bills/{bill_id}", owner.headers())
    assert status == 200 and bill["bill_id"] == bill_id and bill["unit_label"] == "福泽园1栋101", bill
    for who, path in ((stranger, f"/v1/me/bills/{bill_id}"), (owner, "/v1/me/bills/bil-lse_nothing-2027-01")):
        status, body = call(client, "GET", path, who.headers())
        assert (status, body["error"]["code"]) == (404, "BILL_NOT_FOUND"), body
    status, body = call(client, "GET", f"/v1/me/bills/{bill_id}", child.headers())
    assert status == 404, body  # no grant yet
    status, grant = call(client, "POST", "/v1/me/grants", owner.headers(), {
        "delegate_mobile": child.mobile, "scopes": ["act"], "expires_at": (now() + timedelta(days=30)).isoformat()})
    assert status == 201, grant
    status, seen = call(client, "GET", f"/v1/me/bills/{bill_id}", child.headers())
    assert status == 200 and seen == bill
    status, page = call(client, "GET", f"/v1/delegations/{grant['grant_id']}/bills?limit=10", child.headers())
    assert status == 200 and [b["bill_id"] for b in page["items"]][:2] == [tenant["bills"]["overdue"].bill_id, bill_id]
    status, body = call(client, "GET", f"/v1/delegations/{grant['grant_id']}/bills", stranger.headers())
    assert (status, body["error"]["code"]) == (404, "GRANT_NOT_FOUND")
    assert call(client, "POST", f"/v1/me/grants/{grant['grant_id']}/revoke", owner.headers())[0] == 200
    status, body = call(client, "GET", f"/v1/me/bills/{bill_id}", child.headers())
    assert (status, body["error"]["code"]) == (403, "GRANT_REVOKED"), body
    status, body = call(client, "GET", f"/v1/delegations/{grant['grant_id']}/bills", child.headers())
    assert (status, body["error"]["code"]) == (403, "GRANT_REVOKED"), body


def test_bad_input_on_the_bill_routes(client: Any, tenant: dict[str, Any], tokens: Any) -> None:
    owner = tenant["owner"]
    for query, field in (("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=x", "limit"),
                         ("?cursor=forged.cursor", "cursor"), ("?status=unpaid", "status")):
        status, body = call(client, "GET", f"/v1/me/bills{query}", owner.headers())
        assert status == 400 and body["error"]["field"] == field, (query, body)
    status, body = call(client, "GET", "/v1/me/bills/bil%20x", owner.headers())
    assert status == 400 and body["error"]["field"] == "bill_id", body
    assert call(client, "GET", "/v1/me/bills", {})[0] == 401
    status, body = call(client, "GET", "/v1/me/bills", tokens.headers("staff"))
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    # a cursor of another tenant's list is not this one's
    status, part = call(client, "GET", "/v1/me/bills?limit=1", owner.headers())
    assert part["next_cursor"]
    status, body = call(client, "GET", f"/v1/me/bills?cursor={part['next_cursor']}", tenant["stranger"].headers())
    assert (status, body["error"]["code"]) == (400, "INVALID_CURSOR"), body
