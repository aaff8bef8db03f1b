"""Move-out (退租, issue 12 §3; docs/decisions/0030) through the routes with real tokens on the local AWS:
notice from the app (the tenant or an act delegate) or by staff, appointment, inspection with photos,
the final statement (prorated rent by the billing's own proration, arrears, damages, the deposit), the
refund through the provider the deposit was paid with (once, however often settle is retried) or at the
counter, a balance bill paid like any bill, the lease ended (out of billing's index) and the unit freed in
one transaction; every bad input and abuse of the issue's list answered with a code, nothing changed."""
from __future__ import annotations

import calendar
from datetime import timedelta
from typing import Any, Iterator

import pytest
import requests

from tests.applying import JPEG, call
from tests.moving import drive, lease, leased_unit, move_out_date, today
from tests.paying import Wallet, bill
from tests.paying import open_wallet, tenant_and_delegates
from tests.test_payments import deliver, order


@pytest.fixture(scope="module")
def wallet(stack: Any, catalogue: dict[str, Any]) -> Iterator[Wallet]:
    yield from open_wallet(stack)


@pytest.fixture(scope="module")
def people(stack: Any, wallet: Wallet, app: Any) -> dict[str, Any]:
    return tenant_and_delegates(stack, app)


def prorated(amount: int, when: Any) -> int:
    days_in_month = calendar.monthrange(when.year, when.month)[1]
    return (amount * when.day * 2 + days_in_month) // (2 * days_in_month)


def staff(tokens: Any) -> dict[str, str]:
    return tokens.headers("staff")


def pay_online(client: Any, wallet: Wallet, person: Any, bill_ids: list[str]) -> str:
    status, made = order(client, person, bill_ids)
    assert status == 201, made
    wallet.pay(made)
    assert deliver(client, "wechat", wallet.notification(made["payment_id"])).status_code == 204
    return str(made["payment_id"])


def pay_at_counter(client: Any, tokens: Any, bill_ids: list[str]) -> None:
    status, paid = call(client, "POST", "/v1/staff/payments", staff(tokens),
                        {"bill_ids": bill_ids, "method": "cash", "receipt_no": "SJ-1", "reason": "承租人到窗口现金缴纳"})
    assert status == 201, paid


def stored_lease(lease_id: str) -> Any:
    from chalicelib.repositories.tables import LeaseRecord

    return LeaseRecord.get(lease_id, consistent_read=True)


def step(client: Any, tokens: Any, mo: dict[str, Any], what: str, body: dict[str, Any]) -> tuple[int, Any]:
    return call(client, "POST", f"/v1/staff/move-outs/{mo['move_out_id']}/{what}", staff(tokens), body)


def inspected(client: Any, tokens: Any, mo: dict[str, Any], damages: list[dict[str, Any]] | None = None,
              unit_status: str = "vacant") -> dict[str, Any]:
    status, mo = step(client, tokens, mo, "appointment", {"version": mo["version"], "date": today().isoformat(),
                                                          "slot": "14:00-17:30"})
    assert status == 200, mo
    status, mo = step(client, tokens, mo, "inspection", {
        "version": mo["version"], "condition": "damaged" if damages else "normal_wear",
        "meters": {"water": 88.5, "electricity": 2310, "gas": None}, "damages": damages or [], "unit_status": unit_status})
    assert status == 200, mo
    return dict(mo)


# --- the journeys ------------------------------------------------------------------------------------------------
def test_a_tenant_moves_out_and_the_deposit_goes_back_through_wechat_once(client: Any, people: dict[str, Any],
                                                                          wallet: Wallet, tokens: Any,
                                                                          stack: Any) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain.bills import shard_of

    tenant, owner = people["tenant"], people["sub"]["tenant"]
    unit = leased_unit()
    lz = lease(owner, unit)
    when = move_out_date()
    deposit = bill(owner, 60000, kind="deposit", lease_id=lz.lease_id)
    deposit_payment = pay_online(client, wallet, tenant, [deposit.bill_id])
    month_bill = bill(owner, 30000, lease_id=lz.lease_id, month=f"{when:%Y-%m}")  # the month was billed already
    pay_at_counter(client, tokens, [month_bill.bill_id])
    assert lz.lease_id in {a.lease_id for a in deps().leases.active_page(shard_of(lz.lease_id), None, 1000)[0]}

    status, mo = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out", tenant.headers(),
                      {"move_out_date": when.isoformat(), "reason": "购买了自有住房"})
    assert status == 201, mo
    assert (mo["status"], mo["started_role"], mo["move_out_date"]) == ("requested", "tenant", when.isoformat())
    assert mo["timeline"][0]["actor_role"] == "tenant" and when.isoformat() in mo["timeline"][0]["note"]
    status, seen = call(client, "GET", f"/v1/me/lease/{lz.lease_id}/move-out", people["view"].headers())
    assert status == 200 and seen["move_out_id"] == mo["move_out_id"]  # a view delegate follows it
    status, listed = call(client, "GET", "/v1/staff/move-outs?status=requested&limit=100", staff(tokens))
    assert status == 200 and mo["move_out_id"] in {m["move_out_id"] for m in listed["items"]}

    status, mo = step(client, tokens, mo, "appointment", {"version": mo["version"], "date": today().isoformat(),
                                                          "slot": "09:00-12:00", "note": "请提前清空物品"})
    assert status == 200 and mo["status"] == "scheduled" and mo["appointment"]["slot"] == "09:00-12:00", mo
    status, made = step(client, tokens, mo, "photos", {"content_type": "image/jpeg", "caption": "卧室门锁"})
    assert status == 201, made
    form = made["upload"]
    assert requests.post(form["url"], data=form["fields"], files={"file": ("f", JPEG, "image/jpeg")},
                         timeout=10).status_code == 204
    # a photo that is not the image it claims: the upload worker (the same one as every document) drops it
    status, fake = step(client, tokens, made["move_out"], "photos", {"content_type": "image/jpeg", "caption": "伪图"})
    assert status == 201, fake
    assert requests.post(fake["upload"]["url"], data=fake["upload"]["fields"],
                         files={"file": ("f", b"%PDF-1.4 not a photo", "image/jpeg")}, timeout=10).status_code == 204
    stack.drain()
    status, mo = call(client, "GET", f"/v1/staff/move-outs/{made['move_out']['move_out_id']}", staff(tokens))
    assert status == 200 and [p["photo_id"] for p in mo["photos"]] == [made["photo_id"]], mo["photos"]
    status, mo = step(client, tokens, mo, "inspection", {
        "version": mo["version"], "condition": "damaged", "meters": {"water": 1234.5, "electricity": 5678, "gas": 321},
        "damages": [{"item": "卧室门锁", "amount": 20000, "note": "锁芯损坏"}], "unit_status": "under_repair"})
    assert status == 200 and mo["status"] == "inspected" and mo["inspection"]["damages_total"] == 20000, mo
    status, mine = call(client, "GET", f"/v1/me/lease/{lz.lease_id}/move-out", tenant.headers())
    photo = mine["photos"][0]
    assert photo["caption"] == "卧室门锁" and requests.get(photo["download"]["url"], timeout=10).content == JPEG

    settle_version = mo["version"]
    status, mo = step(client, tokens, mo, "settle", {"version": settle_version})
    assert status == 200 and mo["status"] == "settled", mo
    s, p = mo["settlement"], prorated(30000, when)
    assert (s["credits"], s["charges"]) == (60000 + 30000 - p, 20000)
    assert s["refund_amount"] == 70000 - p and s["balance_amount"] == 0 and s["balance_bill_id"] is None
    kinds = sorted((line["kind"], line["direction"], line["amount"]) for line in s["lines"])
    assert kinds == sorted([("deposit", "credit", 60000), ("rent_refund", "credit", 30000 - p), ("damage", "charge", 20000)])
    assert all(line["label"] and not line["label"].isascii() for line in s["lines"])  # each line explained
    assert (s["refund"]["method"], s["refund"]["provider"], s["refund"]["status"]) == ("provider", "wechat", "refunded")
    assert [r.amount for r in wallet.refunds(deposit_payment)] == [70000 - p]

    status, again = step(client, tokens, mo, "settle", {"version": settle_version})  # a retried settle
    assert status == 200 and again["settlement"] == mo["settlement"]
    assert len(wallet.refunds(deposit_payment)) == 1  # refunded once
    status, body = step(client, tokens, mo, "settle", {"version": mo["version"]})
    assert (status, body["error"]["code"]) == (409, "MOVE_OUT_ALREADY_SETTLED")
    status, body = step(client, tokens, mo, "complete", {"version": mo["version"] - 1})
    assert (status, body["error"]["code"]) == (409, "STALE_VERSION")

    status, done = step(client, tokens, mo, "complete", {"version": mo["version"]})
    assert status == 200 and done["status"] == "completed", done
    record = stored_lease(lz.lease_id)
    assert record.status == "ended" and record.active_shard is None
    assert lz.lease_id not in {a.lease_id for a in deps().leases.active_page(shard_of(lz.lease_id), None, 1000)[0]}
    assert deps().units.get(unit.unit_id).status == "under_repair"
    status, history = call(client, "GET", f"/v1/units/{unit.unit_id}/history", staff(tokens))
    assert status == 200 and mo["move_out_id"] in history["items"][-1]["reason"], history
    status, lz_seen = call(client, "GET", "/v1/me/lease", tenant.headers())
    assert any(x["lease_id"] == lz.lease_id and x["status_name"] == "已退租" for x in lz_seen["items"]), lz_seen
    actions = [e["action"] for e in done["timeline"]]
    assert actions == ["tenant_notice", "scheduled", "inspected", "settled", "refunded", "completed"]
    from chalicelib.domain import audit

    trail = {e["action"] for e in audit.trail(f"move_out#{mo['move_out_id']}")}
    assert {"tenant_notice", "schedule_move_out", "inspect_move_out", "settle_move_out",
            "complete_move_out"} <= trail
    status, body = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out", tenant.headers(),
                        {"move_out_date": when.isoformat()})
    assert (status, body["error"]["code"]) == (409, "LEASE_NOT_ACTIVE")  # an ended lease


def test_arrears_and_the_final_month_beyond_the_deposit_make_a_balance_bill_paid_like_any(
        client: Any, people: dict[str, Any], wallet: Wallet, tokens: Any) -> None:
    from chalicelib.deps import deps

    tenant, owner = people["tenant"], people["sub"]["tenant"]
    lz = lease(owner, leased_unit())
    when = move_out_date()
    first = when.replace(day=1)
    before = [(first - timedelta(days=1)).replace(day=1), (first - timedelta(days=40)).replace(day=1)]
    deposit = bill(owner, 60000, kind="deposit", lease_id=lz.lease_id)
    pay_at_counter(client, tokens, [deposit.bill_id])
    owed = [bill(owner, 30000, lease_id=lz.lease_id, month=f"{m:%Y-%m}") for m in before]  # unpaid: arrears
    later = bill(owner, 30000, lease_id=lz.lease_id, month=f"{first + timedelta(days=40):%Y-%m}")  # billed ahead

    status, mo = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out", people["act"].headers(),
                      {"move_out_date": when.isoformat()})
    assert status == 201 and mo["started_role"] == "delegate", mo  # a delegate with an act grant
    mo = inspected(client, tokens, mo)
    status, mo = step(client, tokens, mo, "settle", {"version": mo["version"], "reason": "欠租从押金中抵扣"})
    assert status == 200, mo
    s, p = mo["settlement"], prorated(30000, when)
    assert (s["charges"], s["credits"], s["balance_amount"], s["refund_amount"]) == (60000 + p, 60000, p, 0)
    assert s["refund"] is None and sorted(s["cancelled_bill_ids"]) == sorted([b.bill_id for b in owed] + [later.bill_id])
    for b in [*owed, later]:
        got = deps().bills.get(b.bill_id)
        assert got.status == "cancelled" and mo["move_out_id"] in (got.cancel_reason or "")
    status, balance = call(client, "GET", f"/v1/me/bills/{s['balance_bill_id']}", tenant.headers())
    assert status == 200 and (balance["kind"], balance["amount"], balance["status"]) == ("settlement", p, "unpaid")
    pay_online(client, wallet, tenant, [s["balance_bill_id"]])  # paid like any bill
    assert deps().bills.get(s["balance_bill_id"]).status == "paid"
    status, done = step(client, tokens, mo, "complete", {"version": mo["version"]})
    assert status == 200 and deps().units.get(done["unit_id"]).status == "vacant"
    from chalicelib.domain import arrears

    assert arrears.of_lease(lz.lease_id).months == 0  # the arrears went into the statement


def test_a_deposit_paid_at_the_counter_is_refunded_there_before_the_move_out_completes(
        client: Any, people: dict[str, Any], wallet: Wallet, tokens: Any) -> None:
    tenant, owner = people["tenant"], people["sub"]["tenant"]
    lz = lease(owner, leased_unit())
    when = move_out_date()
    deposit = bill(owner, 60000, kind="deposit", lease_id=lz.lease_id)
    pay_at_counter(client, tokens, [deposit.bill_id])
    status, mo = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out", tenant.headers(),
                      {"move_out_date": when.isoformat()})
    assert status == 201, mo
    mo = inspected(client, tokens, mo)
    status, mo = step(client, tokens, mo, "settle", {"version": mo["version"]})
    refund = mo["settlement"]["refund"]
    assert status == 200 and (refund["method"], refund["status"], refund["amount"]) == (
        "counter", "pending", 60000 - prorated(30000, when))
    status, body = step(client, tokens, mo, "complete", {"version": mo["version"]})
    assert (status, body["error"]["code"]) == (409, "REFUND_PENDING")
    status, body = step(client, tokens, mo, "refund", {"reason": "窗口退款"})
    assert (status, body["error"]["field"]) == (400, "receipt_no")
    status, mo = step(client, tokens, mo, "refund", {"receipt_no": "TK-2027-001", "reason": "押金在窗口以现金退还"})
    assert status == 200 and mo["settlement"]["refund"]["status"] == "refunded", mo
    assert mo["settlement"]["refund"]["receipt_no"] == "TK-2027-001"
    status, same = step(client, tokens, mo, "refund", {"receipt_no": "TK-2027-002", "reason": "重复登记"})
    assert status == 200 and same["settlement"]["refund"]["receipt_no"] == "TK-2027-001"  # recorded once
    status, done = step(client, tokens, mo, "complete", {"version": mo["version"]})
    assert status == 200 and done["status"] == "completed"


def test_a_cancelled_notice_frees_the_lease_for_another_which_drive_takes_to_the_end(
        client: Any, people: dict[str, Any], wallet: Wallet, tokens: Any) -> None:
    tenant, owner = people["tenant"], people["sub"]["tenant"]
    lz = lease(owner, leased_unit())
    headers = tenant.headers(**{"Idempotency-Key": "move-out-double-tap-01"})
    body = {"move_out_date": move_out_date().isoformat()}
    first, second = (call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out", headers, body) for _ in range(2))
    assert first[0] == second[0] == 201 and first[1]["move_out_id"] == second[1]["move_out_id"]  # one notice
    mo = first[1]
    status, answer = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out/cancel", tenant.headers(),
                          {"version": mo["version"] + 5})
    assert (status, answer["error"]["code"]) == (409, "STALE_VERSION")
    status, cancelled = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out/cancel", tenant.headers(),
                             {"version": mo["version"]})
    assert status == 200 and cancelled["status"] == "cancelled", cancelled

    def send(method: str, path: str, h: dict[str, str], data: Any) -> tuple[int, Any]:
        return call(client, method, path, h, data)

    done = drive(send, tenant.headers(), staff(tokens), lz.lease_id)  # no deposit: nothing to refund
    assert done["move_out_id"] != mo["move_out_id"] and done["settlement"]["balance_amount"] == prorated(
        30000, move_out_date())


def test_staff_start_a_move_out_after_a_must_leave_outcome_and_may_withdraw_it(
        client: Any, people: dict[str, Any], tokens: Any) -> None:
    lz = lease(people["sub"]["other"], leased_unit())
    path = f"/v1/staff/leases/{lz.lease_id}/move-out"
    when = today() + timedelta(days=180)  # a grace period beyond the tenant's own window
    status, body = call(client, "POST", path, staff(tokens), {"move_out_date": when.isoformat()})
    assert (status, body["error"]["field"]) == (400, "reason")
    status, mo = call(client, "POST", path, staff(tokens), {"move_out_date": when.isoformat(),
                                                            "reason": "年审结果为须腾退，腾退期满", "review_id": "rev_test1"})
    assert status == 201 and (mo["started_role"], mo["review_id"]) == ("staff", "rev_test1"), mo
    status, seen = call(client, "GET", f"/v1/me/lease/{lz.lease_id}/move-out", people["other"].headers())
    assert status == 200 and seen["move_out_id"] == mo["move_out_id"]  # the tenant sees it
    status, body = call(client, "POST", f"/v1/staff/move-outs/{mo['move_out_id']}/cancel", staff(tokens),
                        {"version": mo["version"]})
    assert (status, body["error"]["field"]) == (400, "reason")
    status, gone = call(client, "POST", f"/v1/staff/move-outs/{mo['move_out_id']}/cancel", staff(tokens),
                        {"version": mo["version"], "reason": "异议成立，撤销腾退"})
    assert status == 200 and gone["status"] == "cancelled"


def test_the_domain_entry_point_for_reviews(people: dict[str, Any], tokens: Any) -> None:
    """The reviews call ``move_outs.start_for_staff`` with a must-leave outcome's grace period."""
    from chalicelib import errors
    from chalicelib.auth import authenticate
    from chalicelib.domain import move_outs

    lz = lease(people["sub"]["other"], leased_unit())
    actor = authenticate(f"Bearer {tokens('staff')}", ("staff",))
    mo = move_outs.start_for_staff(lz.lease_id, actor, (today() + timedelta(days=90)).isoformat(), "年审须腾退",
                                   review_id="rev_domain")
    assert (mo.status, mo.review_id, mo.started_role) == ("requested", "rev_domain", "staff")
    with pytest.raises(errors.MoveOutExists):
        move_outs.start_for_staff(lz.lease_id, actor, (today() + timedelta(days=90)).isoformat(), "再次发起")


# --- bad input and abuse: each a clear 4xx with a code, nothing changed ---------------------------------------------
def test_bad_notices_are_refused_and_change_nothing(client: Any, people: dict[str, Any], wallet: Wallet,
                                                    tokens: Any) -> None:
    from chalicelib.deps import deps

    tenant, owner = people["tenant"], people["sub"]["tenant"]
    lz = lease(owner, leased_unit(), end=(today() + timedelta(days=40)).isoformat())
    path = f"/v1/me/lease/{lz.lease_id}/move-out"
    good = {"move_out_date": (today() + timedelta(days=35)).isoformat()}
    cases = [
        (people["stranger"], good, 404, "LEASE_NOT_FOUND"),  # someone else's lease
        (people["view"], good, 403, "OUTSIDE_GRANT"),  # a delegate who may only see
        (tenant, {"move_out_date": (today() + timedelta(days=5)).isoformat()}, 400, "INVALID_PARAMETER"),  # too soon
        (tenant, {"move_out_date": (today() + timedelta(days=45)).isoformat()}, 400, "INVALID_PARAMETER"),  # after the end
        (tenant, {"move_out_date": "2027-02-30"}, 400, "INVALID_PARAMETER"),
        (tenant, {"move_out_date": "下个月"}, 400, "INVALID_PARAMETER"),
        (tenant, {}, 400, "INVALID_PARAMETER"),
        (tenant, {**good, "amount": 1}, 400, "INVALID_PARAMETER"),
    ]
    for person, body, status_, code in cases:
        status, answer = call(client, "POST", path, person.headers(), body)
        assert (status, answer["error"]["code"]) == (status_, code), (body, answer)
        assert answer["error"]["message"] and not answer["error"]["message"].isascii()
    late = lease(owner, leased_unit())
    status, answer = call(client, "POST", f"/v1/me/lease/{late.lease_id}/move-out", tenant.headers(),
                          {"move_out_date": (today() + timedelta(days=200)).isoformat()})
    assert (status, answer["error"]["field"]) == (400, "move_out_date") and "至" in answer["error"]["message"]
    draft = lease(owner, leased_unit(), status="draft")
    status, answer = call(client, "POST", f"/v1/me/lease/{draft.lease_id}/move-out", tenant.headers(), good)
    assert (status, answer["error"]["code"]) == (409, "LEASE_NOT_ACTIVE")
    for who, route in ((staff(tokens), path), (tenant.headers(), f"/v1/staff/leases/{lz.lease_id}/move-out")):
        status, answer = call(client, "POST", route, who, {**good, "reason": "角色不符"})
        assert status == 403, answer
    assert deps().move_outs.of_lease(lz.lease_id) == [] and deps().move_outs.of_lease(draft.lease_id) == []

    rent = bill(owner, 30000, lease_id=lz.lease_id, month=f"{today():%Y-%m}")
    status, made = order(client, tenant, [rent.bill_id])  # an order open at WeChat Pay
    assert status == 201, made
    status, answer = call(client, "POST", path, tenant.headers(), good)
    assert (status, answer["error"]["code"]) == (409, "PAYMENT_IN_PROGRESS")
    assert deps().move_outs.of_lease(lz.lease_id) == []
    status, closed = call(client, "POST", f"/v1/me/payments/{made['payment_id']}/close", tenant.headers(), {})
    assert status == 200, closed
    status, mo = call(client, "POST", path, tenant.headers(), good)
    assert status == 201, mo
    status, answer = call(client, "POST", path, tenant.headers(), good)
    assert (status, answer["error"]["code"]) == (409, "MOVE_OUT_EXISTS")
    assert len(deps().move_outs.of_lease(lz.lease_id)) == 1


def test_bad_steps_are_refused_and_change_nothing(client: Any, people: dict[str, Any], wallet: Wallet,
                                                  tokens: Any) -> None:
    from chalicelib.deps import deps

    tenant, owner = people["tenant"], people["sub"]["tenant"]
    lz = lease(owner, leased_unit())
    when = move_out_date()
    status, mo = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out", tenant.headers(),
                      {"move_out_date": when.isoformat()})
    assert status == 201, mo
    refusals = [
        ("appointment", {"version": mo["version"], "date": today().isoformat(), "slot": "20:00-21:00"}, 400, "slot"),
        ("appointment", {"version": mo["version"], "date": (when + timedelta(days=3)).isoformat(), "slot": "09:00-12:00"},
         400, "date"),
        ("appointment", {"version": mo["version"] + 1, "date": today().isoformat(), "slot": "09:00-12:00"}, 409,
         "version"),
        ("inspection", {"version": mo["version"], "condition": "good", "meters": {"water": 1, "electricity": 1},
                        "unit_status": "vacant"}, 409, "status"),  # not scheduled yet
        ("settle", {"version": mo["version"]}, 409, "status"),
        ("complete", {"version": mo["version"]}, 409, "status"),
        ("photos", {"content_type": "image/jpeg"}, 409, "status"),
    ]
    for what, body, status_, field in refusals:
        status, answer = step(client, tokens, mo, what, body)
        assert (status, answer["error"].get("field")) == (status_, field), (what, answer)
    assert deps().move_outs.get(mo["move_out_id"]).version == mo["version"]  # nothing changed

    status, mo = step(client, tokens, mo, "appointment", {"version": mo["version"], "date": today().isoformat(),
                                                          "slot": "09:00-12:00"})
    assert status == 200, mo
    bad_inspections = [
        {"version": mo["version"], "condition": "ruined", "meters": {"water": 1, "electricity": 1}, "unit_status": "vacant"},
        {"version": mo["version"], "condition": "damaged", "meters": {"water": 1, "electricity": 1}, "unit_status": "vacant",
         "damages": [{"item": "门", "amount": -100}]},
        {"version": mo["version"], "condition": "good", "meters": {"water": -1, "electricity": 1}, "unit_status": "vacant"},
        {"version": mo["version"], "condition": "good", "meters": {"water": 1, "electricity": 1}, "unit_status": "leased"},
    ]
    for body in bad_inspections:
        status, answer = step(client, tokens, mo, "inspection", body)
        assert (status, answer["error"]["code"]) == (400, "INVALID_PARAMETER"), (body, answer)
    status, answer = step(client, tokens, mo, "photos", {"content_type": "application/pdf"})
    assert status == 400, answer
    mo = inspected(client, tokens, mo, damages=[{"item": "墙面污损", "amount": 5000}])
    status, answer = call(client, "POST", f"/v1/me/lease/{lz.lease_id}/move-out/cancel", tenant.headers(),
                          {"version": mo["version"]})
    assert (status, answer["error"]["code"]) == (409, "MOVE_OUT_NOT_CANCELLABLE")
    rent = bill(owner, 30000, lease_id=lz.lease_id, month=f"{today():%Y-%m}")
    status, made = order(client, tenant, [rent.bill_id])
    assert status == 201, made
    status, answer = step(client, tokens, mo, "settle", {"version": mo["version"]})
    assert (status, answer["error"]["code"]) == (409, "PAYMENT_IN_PROGRESS")
    assert deps().move_outs.get(mo["move_out_id"]).status == "inspected" and deps().bills.get(rent.bill_id).status == "unpaid"
    status, answer = call(client, "GET", f"/v1/staff/move-outs/{mo['move_out_id']}", tenant.headers())
    assert status == 403, answer
    status, answer = call(client, "GET", "/v1/staff/move-outs/mvo_unknown", staff(tokens))
    assert (status, answer["error"]["code"]) == (404, "MOVE_OUT_NOT_FOUND")
    status, answer = call(client, "GET", "/v1/staff/move-outs?status=gone", staff(tokens))
    assert (status, answer["error"]["field"]) == (400, "status")
    status, answer = call(client, "GET", f"/v1/me/lease/{lz.lease_id}/move-out", people["stranger"].headers())
    assert (status, answer["error"]["code"]) == (404, "LEASE_NOT_FOUND")


def test_the_statement_prorates_the_final_month_with_the_billing_s_own_proration(people: dict[str, Any]) -> None:
    """An unpaid bill of the move-out month is replaced by the rent up to the move-out date, as the billing
    would issue it for a lease ending that day (no second proration)."""
    from chalicelib.domain import bills
    from chalicelib.domain.common import now_iso
    from chalicelib.domain.move_out_settlement import final_rent, statement

    owner = people["sub"]["tenant"]
    lz = lease(owner, leased_unit(rent=31000), monthly_rent=31000)
    when = move_out_date()
    month_bill = bill(owner, 31000, lease_id=lz.lease_id, month=f"{when:%Y-%m}")
    final = final_rent(lz, when, now_iso())
    assert final is not None and final.period_end == when.isoformat()
    days_in_month = calendar.monthrange(when.year, when.month)[1]
    assert final.amount == bills.prorate(31000, when.day, days_in_month) == prorated(31000, when)
    made = statement(lz, [month_bill], when, [], now_iso())
    assert made["cancelled_bill_ids"] == [month_bill.bill_id]
    assert [(x["kind"], x["amount"]) for x in made["lines"]] == [("rent", final.amount)]
    assert f"{when.day}/{days_in_month}" in made["lines"][0]["label"] and made["balance_amount"] == final.amount
