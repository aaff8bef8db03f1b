"""Arrears (欠租, issue 11 §4; docs/decisions/0029) on the local stack: reminders at the due date and
the city's offsets, once each, reading only the bills due on those days; working days; the arrears
per lease and estate kept by the daily job and by payments; the staff's lists; bad input."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.domain import arrears
from chalicelib.domain.arrears import RentRules
from chalicelib.domain.bills import Bill, BillKind, BillStatus, bill_key
from chalicelib.domain.working_days import due_dates_reminded_on, is_working_day, reminder_day
from tests.applying import Citizen, call, register

TODAY = date(2026, 10, 12)  # a Monday; the National Day holiday was 1-7 October (10 October worked: 调休)


def _subject(token: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def _lease(owner: Citizen | None, estate_id: str, unit: Any, name: str) -> str:
    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.domain.leases import Lease
    from chalicelib.repositories.leases import lease_record

    lease_id = new_id("lse")
    lease_record(Lease(lease_id=lease_id, round_id="rnd_arrears", application_id=new_id("app"),
                       owner=_subject(owner.token) if owner else "nobody", owner_key="x", tenant_name=name,
                       tenant_id_masked="4407**********1234", household_size=1, unit_id=unit.unit_id,
                       estate_id=estate_id, estate_name="福泽园", address="福泽园路1号", building_id="b1",
                       building_name="1栋", number=unit.number, layout="1b1l", floor_area=40.0, base_rent=30000,
                       monthly_rent=30000, reduction=None, deposit=60000, term_months=24, start_date="2025-10-01",
                       end_date="2027-09-30", manager=None, landlord="江门市", status="confirmed",
                       created_at=now_iso(), updated_at=now_iso())).save()
    return lease_id


def _bill(lease_id: str, owner: str | None, estate_id: str, due: date, amount: int = 30000,
          status: BillStatus = BillStatus.UNPAID, kind: BillKind = BillKind.RENT, month: str | None = None) -> Bill:
    from chalicelib.domain.common import now_iso
    from chalicelib.repositories.bills import bill_record

    month = month or f"{due:%Y-%m}"
    bill = Bill(bill_key(lease_id, kind, month), lease_id, owner, kind, month if kind == BillKind.RENT else None,
                None, None, amount, amount, due.isoformat(), estate_id, "unit", "福泽园 1栋 101", status=status,
                created_at=now_iso(), updated_at=now_iso())
    bill_record(bill).save()
    return bill


def _pay(bill: Bill) -> Bill:
    """What a payment does to a bill (the payments' settlement; here written directly)."""
    from chalicelib.domain.common import now_iso
    from chalicelib.repositories.bills import bill_record

    paid = replace(bill, status=BillStatus.PAID, paid_at=now_iso(), version=bill.version + 1)
    bill_record(paid).save()
    return paid


def _summed(items: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    return len(items), sum(i["flagged"] for i in items), sum(i["months"] for i in items), sum(i["amount"] for i in items)


@pytest.fixture(scope="module")
def world(stack: Any, catalogue: dict[str, Any]) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        tenant, other = Citizen(stack, "张三明"), Citizen(stack, "李四海")
        register(client, tenant)
        register(client, other)
    units = catalogue["units"]
    return {"tenant": tenant, "other": other, "units": units,
            "owner": _subject(tenant.token), "other_owner": _subject(other.token)}


@pytest.fixture()
def rules(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The city's rent rules for one test."""
    def use(**kw: Any) -> RentRules:
        chosen = RentRules(**kw)
        monkeypatch.setattr(arrears, "rent_rules", lambda city=None: chosen)
        return chosen
    use()
    return use


def _sent(stack: Any, owner: str) -> list[dict[str, Any]]:
    from chalicelib.notify import RECORDED

    stack.drain()
    return [n for n in RECORDED if n["recipient"] == owner]


# --- working days ------------------------------------------------------------------------------------------
def test_working_days_follow_the_holiday_arrangement(stack: Any) -> None:  # the city's overrides: none
    assert not is_working_day(date(2026, 10, 5))  # National Day holiday, a Monday
    assert is_working_day(date(2026, 10, 8)) and is_working_day(date(2026, 10, 10))  # a Saturday worked (调休)
    assert reminder_day(date(2026, 10, 3), 0, True) == date(2026, 10, 8)  # due in the holiday: first working day
    assert reminder_day(date(2026, 10, 3), 0, False) == date(2026, 10, 3)
    assert reminder_day(date(2026, 9, 30), 7, True) > date(2026, 9, 30) + timedelta(days=7)  # the holiday is skipped
    assert due_dates_reminded_on(date(2026, 10, 5), 0, True) is None  # nothing goes out on a day off
    first, last = due_dates_reminded_on(date(2026, 10, 8), 0, True)  # the days off before it remind on it
    assert (first, last) == (date(2026, 10, 1), date(2026, 10, 8))
    assert due_dates_reminded_on(date(2026, 10, 8), 0, False) == (date(2026, 10, 8), date(2026, 10, 8))


def test_a_year_the_calendar_does_not_know_falls_back_to_monday_to_friday(stack: Any,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    from chalicelib.domain import working_days

    working_days._warned.discard(2031)
    assert is_working_day(date(2031, 1, 3)) and not is_working_day(date(2031, 1, 4))  # a Friday, a Saturday
    assert reminder_day(date(2031, 1, 3), 1, True) == date(2031, 1, 6)


# --- reminders ---------------------------------------------------------------------------------------------
def test_reminders_go_out_at_the_due_date_and_the_offsets_once_each(
        stack: Any, world: dict[str, Any], rules: Any, no_scans: list[str]) -> None:
    from chalicelib.deps import deps

    owner, unit = world["owner"], world["units"][3]
    lease = _lease(world["tenant"], unit.estate_id, unit, "张三明")
    due_today = _bill(lease, owner, unit.estate_id, TODAY, month="2026-10")
    week = _bill(lease, owner, unit.estate_id, TODAY - timedelta(days=7), 31000, month="2026-09")
    month = _bill(lease, owner, unit.estate_id, TODAY - timedelta(days=30), month="2026-08")
    _bill(lease, owner, unit.estate_id, TODAY - timedelta(days=3), month="2026-07")  # between offsets: nothing today
    _bill(lease, owner, unit.estate_id, TODAY - timedelta(days=60), status=BillStatus.PAID, month="2026-06")
    before = len(_sent(stack, owner))
    estates = len(deps().estates.list(None, None, None, 100).items)
    no_scans.clear()

    run = arrears.send_reminders(TODAY)
    assert run.sent == {0: 1, 7: 1, 30: 1} and run.skipped == 0
    # one page of estates, then one key range per estate and offset; a write per reminder, a read of the tenant
    assert no_scans.count("Query") == 1 + 3 * estates
    assert no_scans.count("UpdateItem") == 3 and no_scans.count("GetItem") == 3
    sent = _sent(stack, owner)[before:]
    assert sorted(n["template"] for n in sent) == ["rent_due", "rent_overdue", "rent_overdue"]
    assert all(n["mobile"] and "*" in n["mobile"] for n in sent)  # to the tenant's mobile (masked in the outbox)
    texts = " ".join(n["text"] for n in sent)
    assert "300.00元" in texts and "310.00元" in texts and "逾期7天" in texts and "逾期30天" in texts
    assert set(deps().bills.get(week.bill_id).extra) == {"reminded_7"}
    assert set(deps().bills.get(due_today.bill_id).extra) == {"reminded_0"}

    again = arrears.send_reminders(TODAY)  # a rerun of the day sends nothing twice
    assert again.sent == {0: 0, 7: 0, 30: 0} and again.skipped == 3
    assert len(_sent(stack, owner)) == before + 3
    assert set(deps().bills.get(month.bill_id).extra) == {"reminded_30"}


def test_reminders_count_working_days_where_the_city_says_so(stack: Any, world: dict[str, Any], rules: Any) -> None:
    from chalicelib.deps import deps

    rules(working_days=True)
    owner, unit = world["other_owner"], world["units"][4]
    lease = _lease(world["other"], unit.estate_id, unit, "李四海")
    holiday = _bill(lease, owner, unit.estate_id, date(2026, 10, 3))  # due in the National Day holiday
    before = len(_sent(stack, owner))
    assert arrears.send_reminders(date(2026, 10, 5)).sent == {0: 0, 7: 0, 30: 0}  # a day off: nothing goes out
    arrears.send_reminders(date(2026, 10, 8))  # the first working day after it
    assert "reminded_0" in deps().bills.get(holiday.bill_id).extra
    assert [n["template"] for n in _sent(stack, owner)[before:]] == ["rent_due"]
    seventh = reminder_day(date(2026, 10, 3), 7, True)
    assert seventh == date(2026, 10, 15)  # the 8th, 9th, 10th (a Saturday worked), 12th, 13th, 14th, 15th
    arrears.send_reminders(seventh - timedelta(days=1))
    assert "reminded_7" not in deps().bills.get(holiday.bill_id).extra
    arrears.send_reminders(seventh)
    assert "reminded_7" in deps().bills.get(holiday.bill_id).extra
    sent = _sent(stack, owner)[before:]
    assert [n["template"] for n in sent] == ["rent_due", "rent_overdue"] and "逾期7个工作日" in sent[-1]["text"]


def test_a_bill_without_a_tenant_to_tell_is_not_marked(world: dict[str, Any], rules: Any) -> None:
    """An imported lease nobody claimed yet has no owner: nothing is sent, nothing marked."""
    from chalicelib.deps import deps

    unit = world["units"][5]
    lease = _lease(None, unit.estate_id, unit, "王五")
    unclaimed = _bill(lease, None, unit.estate_id, date(2026, 9, 1))
    run = arrears.send_reminders(date(2026, 9, 1))
    assert run.skipped >= 1 and deps().bills.get(unclaimed.bill_id).extra == {}


# --- arrears -----------------------------------------------------------------------------------------------
def test_arrears_by_estate_flagged_at_the_citys_months_and_kept_current_by_payments(
        client: Any, world: dict[str, Any], tokens: Any, rules: Any) -> None:
    from chalicelib.deps import deps

    rules(arrears_months=6)
    estate = world["units"][6].estate_id
    owner, other = world["owner"], world["other_owner"]
    long_lease = _lease(world["tenant"], estate, world["units"][6], "张三明")
    short_lease = _lease(world["other"], estate, world["units"][9], "李四海")
    months = [date(2026, m, 5) for m in range(3, 11)]  # March to October: 8 due dates, all before TODAY
    long_bills = [_bill(long_lease, owner, estate, d) for d in months[1:]]  # 7 months unpaid
    short_bills = [_bill(short_lease, other, estate, d, 20000) for d in months[-2:]]  # 2 months
    _bill(short_lease, other, estate, months[0], 20000, status=BillStatus.PAID)
    _bill(short_lease, other, estate, date(2026, 10, 20), 20000, month="2026-11")  # not due yet: not arrears
    _bill(short_lease, other, estate, date(2026, 4, 1), 40000, kind=BillKind.DEPOSIT)  # a deposit is not rent

    run = arrears.refresh_all(TODAY)
    assert run.changed >= 2 and run.flagged >= 1
    staff = tokens.headers("staff")
    status, page = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}", staff)
    assert status == 200 and page["threshold"] == 6, page
    mine = [i for i in page["items"] if i["lease_id"] in (long_lease, short_lease)]
    assert [(i["lease_id"], i["months"], i["amount"], i["flagged"]) for i in mine] == [
        (long_lease, 7, 210000, True), (short_lease, 2, 40000, False)]  # most months first
    assert mine[0]["tenant"] == "张*明" and mine[0]["since"] == "2026-04-05" and mine[0]["flagged_at"]
    assert len(mine[0]["bill_ids"]) == 7 and mine[1]["flagged_at"] is None
    status, flagged = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}&min_months=6", staff)
    assert [i["lease_id"] for i in flagged["items"]] == [long_lease]
    status, summary = call(client, "GET", "/v1/staff/arrears/summary", staff)
    [totals] = [s for s in summary["items"] if s["estate_id"] == estate]
    assert (totals["leases"], totals["flagged"], totals["months"], totals["amount"]) == _summed(page["items"])
    assert totals["estate_name"] == "福泽园"
    before = _summed(page["items"])

    # the annual review's question, from the bills themselves
    assert arrears.of_lease(long_lease, TODAY) == arrears.LeaseArrears(long_lease, 7, 210000, "2026-04-05", True, 6)

    # a payment refreshes its lease at once (and the estate's totals in the same transaction)
    arrears.bills_settled([_pay(long_bills[0])], TODAY)
    got = deps().arrears.get(long_lease)
    assert (got.months, got.flagged) == (6, True) and got.since == "2026-05-05"
    arrears.bills_settled([_pay(long_bills[1])], TODAY)
    assert deps().arrears.get(long_lease).flagged_at is None  # below the city's months: no longer flagged
    arrears.bills_settled([_pay(b) for b in short_bills], TODAY)
    assert deps().arrears.get(short_lease) is None  # owes nothing: no record
    totals = deps().arrears.summary(estate)
    # one lease left arrears, one is no longer flagged; 2 + 2 months paid, 60000 + 40000 fen
    assert (totals.leases, totals.flagged, totals.months, totals.amount) == (
        before[0] - 1, before[1] - 1, before[2] - 4, before[3] - 100000)
    status, page = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}", staff)
    assert (totals.leases, totals.flagged, totals.months, totals.amount) == _summed(page["items"])

    again = arrears.refresh_all(TODAY)  # the daily job agrees with what the payments left: nothing moves
    assert again.changed == 0 and again.cleared == 0
    assert deps().arrears.summary(estate).version == totals.version


def test_the_daily_job_picks_up_what_a_payment_did_not_tell(world: dict[str, Any], rules: Any) -> None:
    """A bill paid without the hook (say, before the payments called it) is cleared by the next day's job."""
    from chalicelib.deps import deps

    estate, unit = world["units"][12].estate_id, world["units"][12]
    lease = _lease(world["tenant"], estate, unit, "张三明")
    bill = _bill(lease, world["owner"], estate, date(2026, 9, 10))
    arrears.refresh_estate(estate, None, TODAY)
    assert deps().arrears.get(lease).months == 1
    _pay(bill)
    run = arrears.refresh_estate(estate, None, TODAY)
    assert deps().arrears.get(lease) is None and run.cleared == 1


def test_staff_lists_page_and_refuse_bad_input(client: Any, world: dict[str, Any], tokens: Any, rules: Any) -> None:
    estate = world["units"][15].estate_id
    for i in range(3):
        unit = world["units"][15 + i * 3] if 15 + i * 3 < len(world["units"]) else world["units"][15]
        lease = _lease(world["tenant"], estate, unit, "张三明")
        for m in range(1, 2 + i):
            _bill(lease, world["owner"], estate, date(2026, m, 15))
    arrears.refresh_estate(estate, "福泽园", TODAY)
    staff = tokens.headers("staff")
    status, first = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}&limit=1", staff)
    assert status == 200 and len(first["items"]) == 1 and first["next_cursor"]
    status, second = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}&limit=1&cursor={first['next_cursor']}",
                          staff)
    assert status == 200 and second["items"][0]["months"] <= first["items"][0]["months"]
    assert second["items"][0]["lease_id"] != first["items"][0]["lease_id"]
    status, body = call(client, "GET", "/v1/staff/arrears", staff)
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "INVALID_PARAMETER", "estate_id")
    status, body = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}&min_months=0", staff)
    assert (status, body["error"]["field"]) == (400, "min_months")
    status, body = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}&min_months=two", staff)
    assert (status, body["error"]["field"]) == (400, "min_months")
    status, body = call(client, "GET", "/v1/staff/arrears?estate_id=nowhere", staff)
    assert (status, body["error"]["code"]) == (404, "ESTATE_NOT_FOUND")
    status, body = call(client, "GET", f"/v1/staff/arrears?estate_id={estate}&cursor=forged.cursor", staff)
    assert (status, body["error"]["code"]) == (400, "INVALID_CURSOR")
    assert call(client, "GET", f"/v1/staff/arrears?estate_id={estate}", world["tenant"].headers())[0] == 403
    assert call(client, "GET", "/v1/staff/arrears/summary", {})[0] == 401


def test_the_scheduled_jobs_run(app: Any, world: dict[str, Any], rules: Any) -> None:
    from devstack.__main__ import _scheduled_event
    from devstack.stack import FakeLambdaContext

    for name in ("refresh_arrears", "rent_reminders"):
        result = app.handler_map[name](_scheduled_event(name), FakeLambdaContext(name))
        assert result["day"] == arrears.today().isoformat() and result["estates"] >= 3, result


def test_a_payment_on_time_costs_the_arrears_nothing_and_a_failure_never_reaches_the_payment(
        world: dict[str, Any], rules: Any, no_scans: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import errors
    from chalicelib.deps import deps

    unit = world["units"][20]
    lease = _lease(world["tenant"], unit.estate_id, unit, "张三明")
    on_time = _bill(lease, world["owner"], unit.estate_id, TODAY + timedelta(days=5), month="2026-12")
    no_scans.clear()
    arrears.after_payment([on_time], TODAY)
    assert no_scans == []  # paid before its due date: it never counted, nothing is read
    late = _bill(lease, world["owner"], unit.estate_id, TODAY - timedelta(days=5), month="2026-11")

    def down(lease_id: str) -> None:
        raise errors.ServiceUnavailable("ThrottlingException")

    with monkeypatch.context() as patched:
        patched.setattr(deps().arrears, "get", down)
        arrears.after_payment([late], TODAY)  # the payment is done whatever happens here: no exception
    arrears.refresh_lease(lease, TODAY)
    assert deps().arrears.get(lease).bill_ids == (late.bill_id,)  # still unpaid in the table: owed
    # the hook counts the bills it is told about as paid, even while the index still shows them unpaid
    arrears.after_payment([late], TODAY)
    assert deps().arrears.get(lease) is None


def test_a_deadline_in_working_days_skips_the_holiday_and_counts_the_make_up_day(stack: Any) -> None:
    from chalicelib.domain.working_days import add_working_days

    # Filed on Monday 2026-09-28: the 29th and 30th count, 1-7 October is the National Day holiday,
    # 8 October is a Thursday; Saturday 10 October is a make-up working day (调休).
    assert add_working_days(date(2026, 9, 28), 3) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 28), 5) == date(2026, 10, 10)
    assert add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 8)
