"""Paying (缴费, issue 11 §2), through the routes with real tokens on the local AWS: orders, the providers'
notifications, settlement once whatever the deliveries, duplicates refunded, closing, the sweep,
counter payments; every bad input of the issue's list. The providers are the real adapters
(chalicelib/payment_providers) talking to the payment simulator (devstack/payments.py), whose
notifications are signed with its own keys as WeChat Pay and Alipay sign theirs."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Iterator

import pytest

from tests.applying import Citizen, call
from tests.paying import Wallet, bill, open_wallet, tenant_and_delegates


@pytest.fixture(scope="module")
def wallet(stack: Any, catalogue: dict[str, Any]) -> Iterator[Wallet]:
    yield from open_wallet(stack)


@pytest.fixture(scope="module")
def people(stack: Any, wallet: Wallet, app: Any) -> dict[str, Any]:
    """A tenant, a stranger, and two people the tenant trusts: one may see (view), one may pay (act)."""
    return tenant_and_delegates(stack, app)


def order(client: Any, person: Citizen, bill_ids: list[str], provider: str = "wechat", **extra: Any) -> tuple[int, Any]:
    return call(client, "POST", "/v1/me/payments", person.headers(), {"bill_ids": bill_ids, "provider": provider, **extra})


def deliver(client: Any, provider: str, notification: tuple[dict[str, str], bytes]) -> Any:
    headers, body = notification
    return client.http.post(f"/v1/payments/{provider}/notify", headers=headers, body=body)


def stored_bill(bill_id: str) -> Any:
    from chalicelib.deps import deps

    return deps().bills.get(bill_id)


def stored(payment_id: str) -> Any:
    from chalicelib.deps import deps

    return deps().payments.get(payment_id)


# --- the journey -------------------------------------------------------------------------------------------------
def test_a_tenant_pays_two_bills_with_wechat_once_whatever_the_deliveries(client: Any, people: dict[str, Any],
                                                                         wallet: Wallet) -> None:
    import hashlib

    import requests

    tenant = people["tenant"]
    a, b = bill(people["sub"]["tenant"], 45000), bill(people["sub"]["tenant"], 12050, kind="deposit")
    status, made = order(client, tenant, [a.bill_id, b.bill_id])
    assert status == 201, made
    assert made["amount"] == 57050 and made["status"] == "created" and made["prepay"]["provider"] == "wechat"
    assert made["prepay"]["params"]["prepayid"] and made["prepay"]["params"]["sign"] and len(made["payment_id"]) <= 32
    assert [x["bill_id"] for x in made["bills"]] == [a.bill_id, b.bill_id] and made["receipt"] is None
    assert wallet.sim.order(made["payment_id"]).amount == 57050  # the provider was asked for the bills' sum

    wallet.pay(made)
    notification = wallet.notification(made["payment_id"])
    for _ in range(3):  # WeChat delivers again until it has its answer; every delivery is answered the same
        response = deliver(client, "wechat", notification)
        assert response.status_code == 204 and not response.body, response.body
    paid = stored(made["payment_id"])
    assert paid.status == "paid" and paid.transaction_id == wallet.sim.order(made["payment_id"]).transaction_id
    for one in (a, b):
        now_ = stored_bill(one.bill_id)
        assert (now_.status, now_.payment_id, now_.version) == ("paid", made["payment_id"], one.version + 1)
    status, shown = call(client, "GET", f"/v1/me/payments/{made['payment_id']}", tenant.headers())
    assert status == 200 and shown["status"] == "paid" and shown["receipt"]["available"], shown
    status, seen = call(client, "GET", f"/v1/me/bills/{a.bill_id}", tenant.headers())  # the bills' own route
    assert status == 200 and (seen["status"], seen["payment_id"]) == ("paid", made["payment_id"]) and seen["paid_at"]
    status, listed = call(client, "GET", "/v1/me/bills?limit=100", tenant.headers())
    statuses = [x["status"] for x in listed["items"]]
    assert statuses == sorted(statuses, key=lambda s: s != "unpaid")  # still unpaid first, paid ones in the history
    assert shown["receipt"]["number"].startswith("SJ") and shown["paid_at"].endswith("+08:00")

    status, link = call(client, "GET", f"/v1/payments/{made['payment_id']}/receipt", tenant.headers())
    assert status == 200, link
    pdf = requests.get(link["download"]["url"], timeout=10).content
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == link["sha256"] == shown["receipt"]["sha256"]
    status, history = call(client, "GET", "/v1/me/payments", tenant.headers())
    assert status == 200 and history["items"][0]["payment_id"] == made["payment_id"]


def test_a_double_tap_with_one_idempotency_key_opens_one_order_and_the_history_pages(
        client: Any, people: dict[str, Any], wallet: Wallet) -> None:
    tenant = people["tenant"]
    a = bill(people["sub"]["tenant"], 15000)
    headers = tenant.headers(**{"Idempotency-Key": "pay-double-tap-0001"})
    before = wallet.orders()
    answers = [call(client, "POST", "/v1/me/payments", headers, {"bill_ids": [a.bill_id], "provider": "wechat"})
               for _ in range(2)]
    assert answers[0][0] == answers[1][0] == 201 and answers[0][1] == answers[1][1]
    assert wallet.orders() == before + 1  # one order at the provider
    status, body = call(client, "POST", "/v1/me/payments", headers, {"bill_ids": [a.bill_id], "provider": "alipay"})
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    status, first = call(client, "GET", "/v1/me/payments?limit=1", tenant.headers())
    assert status == 200 and len(first["items"]) == 1 and first["next_cursor"]
    assert first["items"][0]["payment_id"] == answers[0][1]["payment_id"]  # the newest first
    status, second = call(client, "GET", f"/v1/me/payments?limit=1&cursor={first['next_cursor']}", tenant.headers())
    assert status == 200 and second["items"][0]["payment_id"] != first["items"][0]["payment_id"]
    status, body = call(client, "GET", "/v1/me/payments?cursor=forged.cursor", tenant.headers())
    assert (status, body["error"]["code"]) == (400, "INVALID_CURSOR")


def test_alipay_is_answered_with_the_seven_bytes_success(client: Any, people: dict[str, Any],
                                                         wallet: Wallet) -> None:
    a = bill(people["sub"]["tenant"], 30000)
    status, made = order(client, people["tenant"], [a.bill_id], "alipay")
    assert status == 201, made
    assert made["prepay"]["params"]["order_string"]  # what the Alipay App SDK takes
    wallet.pay(made)
    for _ in range(2):
        response = deliver(client, "alipay", wallet.notification(made["payment_id"]))
        assert (response.status_code, response.body) == (200, b"success")
    assert stored(made["payment_id"]).status == "paid" and stored_bill(a.bill_id).status == "paid"


# --- bad input and abuse -----------------------------------------------------------------------------------------
def test_orders_take_their_amount_from_the_bills_and_refuse_what_cannot_be_paid(client: Any, people: dict[str, Any],
                                                                                wallet: Wallet) -> None:
    tenant, mine = people["tenant"], people["sub"]["tenant"]
    unpaid = bill(mine, 20000)
    before = wallet.orders()

    def refused(bill_ids: Any, expect: tuple[int, str], person: Citizen = tenant, **extra: Any) -> dict[str, Any]:
        status, body = call(client, "POST", "/v1/me/payments", person.headers(),
                            {"bill_ids": bill_ids, "provider": "wechat", **extra})
        assert (status, body["error"]["code"]) == expect, body
        return body["error"]

    assert refused([unpaid.bill_id], (400, "INVALID_PARAMETER"), amount=1)["field"] == "amount"  # never the client's
    assert refused([], (400, "INVALID_PARAMETER"))["field"] == "bill_ids"  # an order for zero bills
    assert refused([unpaid.bill_id] * 2, (400, "INVALID_PARAMETER"))["message"] == "账单不能重复"
    assert refused([f"bil-x{i}" for i in range(25)], (400, "INVALID_PARAMETER"))["field"] == "bill_ids"
    assert refused(["bil-nobody-2027-01"], (404, "BILL_NOT_FOUND"))["field"] == "bill_ids"
    theirs = bill(people["sub"]["stranger"])
    refused([theirs.bill_id], (404, "BILL_NOT_FOUND"))  # someone else's bill: as if it did not exist
    refused([unpaid.bill_id, theirs.bill_id], (404, "BILL_NOT_FOUND"))
    refused([bill(mine, status="paid").bill_id], (409, "BILL_ALREADY_PAID"))
    refused([bill(mine, status="cancelled").bill_id], (409, "BILL_CANCELLED"))
    refused([bill(mine, 0).bill_id], (409, "NOTHING_TO_PAY"))
    status, body = call(client, "POST", "/v1/me/payments", tenant.headers(), {"bill_ids": [unpaid.bill_id],
                                                                              "provider": "unionpay"})
    assert (status, body["error"]["field"]) == (400, "provider")
    # a delegate: with `act` pays the grantor's bills; with `view` may not; two tenants' bills never together
    refused([unpaid.bill_id], (403, "OUTSIDE_GRANT"), person=people["view"])
    refused([unpaid.bill_id, bill(people["sub"]["other"]).bill_id], (400, "BILLS_OF_SEVERAL_OWNERS"),
            person=people["act"])
    assert wallet.orders() == before  # nothing reached the provider
    status, made = order(client, people["act"], [unpaid.bill_id])
    assert status == 201 and made["payer_role"] == "delegate", made
    assert call(client, "GET", f"/v1/me/payments/{made['payment_id']}", tenant.headers())[0] == 200
    assert call(client, "GET", f"/v1/me/payments/{made['payment_id']}", people["view"].headers())[0] == 200
    status, body = call(client, "GET", f"/v1/me/payments/{made['payment_id']}", people["stranger"].headers())
    assert (status, body["error"]["code"]) == (404, "PAYMENT_NOT_FOUND")


def test_every_refused_order_is_logged_without_personal_data(client: Any, people: dict[str, Any],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    theirs = bill(people["sub"]["stranger"])
    with caplog.at_level(logging.INFO):
        assert order(client, people["tenant"], [theirs.bill_id])[0] == 404
    [record] = [r for r in caplog.records if r.getMessage() == "payment order refused"]
    assert (record.__dict__["error"], record.__dict__["field"]) == ("BillNotFound", "bill_ids")
    assert record.__dict__["caller"] == people["sub"]["tenant"]
    assert "周明华" not in caplog.text and people["tenant"].mobile not in caplog.text


def test_a_provider_that_times_out_is_a_503_and_nothing_is_kept(client: Any, people: dict[str, Any],
                                                                wallet: Wallet) -> None:
    a = bill(people["sub"]["tenant"])
    wallet.sim.set_mode("down")  # WeChat Pay's API answers 5xx
    try:
        response = client.http.post("/v1/me/payments", headers=people["tenant"].headers(),
                                    body=json.dumps({"bill_ids": [a.bill_id], "provider": "wechat"}))
    finally:
        wallet.sim.set_mode("ok")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2", response.body
    assert json.loads(response.body)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert stored_bill(a.bill_id).status == "unpaid"
    status, history = call(client, "GET", "/v1/me/payments?limit=100", people["tenant"].headers())
    assert all(a.bill_id not in [x["bill_id"] for x in p["bills"]] for p in history["items"])


def test_notifications_not_believed_change_nothing_and_are_logged_without_personal_data(
        client: Any, people: dict[str, Any], wallet: Wallet, caplog: pytest.LogCaptureFixture) -> None:
    a = bill(people["sub"]["tenant"], 33300)
    status, made = order(client, people["tenant"], [a.bill_id])
    assert status == 201, made
    wallet.pay(made)
    stranger_order = _order_we_never_made(wallet)  # signed by the provider, but not an order of ours
    lies = {
        "BAD_SIGNATURE": wallet.notification(made["payment_id"], "bad_signature"),  # forged
        "STALE_TIMESTAMP": wallet.notification(made["payment_id"], "late"),  # captured and replayed 10 minutes late
        "AMOUNT_MISMATCH": wallet.notification(made["payment_id"], "wrong_amount"),  # signed, not what was asked
        "UNKNOWN_MERCHANT": wallet.notification(made["payment_id"], "wrong_merchant"),
        "UNKNOWN_ORDER": wallet.notification(stranger_order),
        "BAD_PAYLOAD": wallet.notification(made["payment_id"], "tampered_tag"),  # the ciphertext altered
    }
    with caplog.at_level(logging.WARNING):
        for code, lie in lies.items():
            response = deliver(client, "wechat", lie)
            assert response.status_code == 400 and json.loads(response.body) == {"code": "FAIL", "message": "失败"}, code
        response = deliver(client, "wechat", wallet.notification(made["payment_id"], "tampered_body"))
        assert response.status_code == 400  # the body changed after signing
        garbage = client.http.post("/v1/payments/wechat/notify", headers={"Content-Type": "application/json"}, body=b"{}")
        assert garbage.status_code == 400
        alipay = client.http.post("/v1/payments/alipay/notify", body=b"out_trade_no=x&sign=forged",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (alipay.status_code, alipay.body) == (200, b"failure")
    assert stored(made["payment_id"]).status == "created" and stored_bill(a.bill_id).status == "unpaid"
    refusals = [r for r in caplog.records if r.getMessage() == "payment notification refused"]
    assert sorted({r.__dict__["code"] for r in refusals}) == sorted(set(lies) | {"BAD_SIGNATURE"})
    assert not any(name in caplog.text for name in ("周明华", people["tenant"].mobile))
    # the genuine notification still settles it
    assert deliver(client, "wechat", wallet.notification(made["payment_id"])).status_code == 204
    assert stored_bill(a.bill_id).status == "paid"


def _order_we_never_made(wallet: Wallet) -> str:
    """An order opened at WeChat Pay under our merchant, but not by this app (no payment of ours)."""
    from chalicelib.deps import deps
    from chalicelib.domain.common import new_id, now

    order_id = new_id("pay")
    deps().payment_providers.get("wechat").prepay(order_id, 100, "not ours", (now() + timedelta(minutes=30)).isoformat())
    wallet.sim.pay(order_id, deliver="never")
    return order_id


def test_a_notification_we_cannot_handle_now_is_answered_so_that_the_provider_delivers_it_again(
        client: Any, people: dict[str, Any], wallet: Wallet, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import errors
    from chalicelib.deps import deps

    a = bill(people["sub"]["tenant"], 21000)
    made = {p: order(client, people["tenant"], [a.bill_id], p)[1] for p in ("wechat", "alipay")}
    for one in made.values():
        wallet.pay(one)

    def busy(payment_id: str) -> Any:
        raise errors.ServiceUnavailable("ProvisionedThroughputExceededException")

    monkeypatch.setattr(deps().payments, "get", busy)
    response = deliver(client, "wechat", wallet.notification(made["wechat"]["payment_id"]))
    assert response.status_code == 500 and json.loads(response.body)["code"] == "FAIL"  # WeChat delivers again
    response = deliver(client, "alipay", wallet.notification(made["alipay"]["payment_id"]))
    assert (response.status_code, response.body) == (200, b"failure")
    monkeypatch.undo()
    assert stored_bill(a.bill_id).status == "unpaid"
    assert deliver(client, "wechat", wallet.notification(made["wechat"]["payment_id"])).status_code == 204
    assert stored_bill(a.bill_id).payment_id == made["wechat"]["payment_id"]


# --- duplicates, closing, the sweep --------------------------------------------------------------------------------
def test_a_second_payment_of_the_same_bill_is_refunded_and_the_bill_paid_once(client: Any, people: dict[str, Any],
                                                                               wallet: Wallet) -> None:
    a = bill(people["sub"]["tenant"], 41000)
    first = order(client, people["tenant"], [a.bill_id])[1]
    second = order(client, people["act"], [a.bill_id], "alipay")[1]  # the delegate pays it too, meanwhile
    wallet.pay(first)
    wallet.pay(second)
    assert deliver(client, "wechat", wallet.notification(first["payment_id"])).status_code == 204
    for _ in range(2):
        response = deliver(client, "alipay", wallet.notification(second["payment_id"]))
        assert response.body == b"success"  # recorded: the money state is known, refunding is ours to do
    dup = stored(second["payment_id"])
    assert dup.status == "refunded" and dup.refund["duplicate_of"] == [first["payment_id"]], dup
    assert [r.refund_id for r in wallet.refunds(second["payment_id"])] == [dup.refund["refund_id"]]
    assert wallet.state(second["payment_id"]) == "refunded" and wallet.state(first["payment_id"]) == "paid"
    now_ = stored_bill(a.bill_id)
    assert (now_.payment_id, now_.version) == (first["payment_id"], a.version + 1)
    status, shown = call(client, "GET", f"/v1/me/payments/{second['payment_id']}", people["tenant"].headers())
    assert shown["status"] == "refunded" and shown["refund"]["reason"] == "bills_paid" and shown["receipt"] is None
    status, body = call(client, "GET", f"/v1/payments/{second['payment_id']}/receipt", people["tenant"].headers())
    assert (status, body["error"]["code"]) == (409, "RECEIPT_NOT_READY")


def test_closing_an_order(client: Any, people: dict[str, Any], wallet: Wallet) -> None:
    tenant = people["tenant"]
    a = bill(people["sub"]["tenant"], 25000)
    made = order(client, tenant, [a.bill_id])[1]
    url = f"/v1/me/payments/{made['payment_id']}/close"
    assert call(client, "POST", url, people["view"].headers())[0] == 403  # seeing is not acting
    assert call(client, "POST", url, people["stranger"].headers())[0] == 404
    status, closed = call(client, "POST", url, tenant.headers())
    assert status == 200 and closed["status"] == "closed" and wallet.state(made["payment_id"]) == "closed"
    assert call(client, "POST", url, tenant.headers())[1]["status"] == "closed"  # again: the same answer
    # the tenant paid at the last moment: closing finds it paid, settles it and says so
    again = order(client, tenant, [a.bill_id])[1]
    wallet.pay(again)
    status, body = call(client, "POST", f"/v1/me/payments/{again['payment_id']}/close", tenant.headers())
    assert (status, body["error"]["code"]) == (409, "PAYMENT_ALREADY_PAID")
    assert stored(again["payment_id"]).status == "paid" and stored_bill(a.bill_id).payment_id == again["payment_id"]
    assert deliver(client, "wechat", wallet.notification(again["payment_id"])).status_code == 204  # late: answered


def test_the_sweep_settles_or_closes_orders_left_without_news(client: Any, people: dict[str, Any],
                                                              wallet: Wallet, no_scans: list[str]) -> None:
    from chalicelib.domain import common, settlement
    from chalicelib.domain.payments import config

    paid_quietly, abandoned, busy = (order(client, people["tenant"], [bill(people["sub"]["tenant"]).bill_id])[1]
                                     for _ in range(3))
    wallet.pay(paid_quietly)  # paid, but the notification never came
    assert settlement.sweep()["paid"] == 0  # not due yet
    later = common.now() + timedelta(minutes=config().timeout_minutes + 1)
    wallet.sim.set_mode("down")
    try:
        assert settlement.sweep(later)["postponed"] >= 3  # a provider that does not answer: asked again later
    finally:
        wallet.sim.set_mode("ok")
    counts = settlement.sweep(later + timedelta(minutes=10))
    assert stored(paid_quietly["payment_id"]).status == "paid", counts
    assert stored(abandoned["payment_id"]).status == "closed" and wallet.state(abandoned["payment_id"]) == "closed"
    assert stored(busy["payment_id"]).status == "closed"
    calls = len(no_scans)
    assert settlement.sweep(later + timedelta(minutes=20)) == {"paid": 0, "closed": 0, "refunded": 0, "receipts": 0,
                                                                "postponed": 0, "open": 0}
    assert no_scans[calls:] == ["Query", "Query", "Query"]  # nothing left: the settled ones are out of the index


# --- the counter (窗口) ---------------------------------------------------------------------------------------------
def test_staff_record_a_counter_payment_with_a_reason(client: Any, people: dict[str, Any], tokens: Any,
                                                       wallet: Wallet) -> None:
    a, b = bill(people["sub"]["tenant"], 45000), bill(people["sub"]["tenant"], 45000)
    body = {"bill_ids": [a.bill_id, b.bill_id], "method": "cash", "receipt_no": "JM-2027-000123",
            "reason": "承租人到窗口现金缴纳"}
    assert call(client, "POST", "/v1/staff/payments", people["tenant"].headers(), body)[0] == 403
    status, err = call(client, "POST", "/v1/staff/payments", tokens.headers("staff"), {**body, "reason": ""})
    assert status == 400 and err["error"]["field"] == "reason"
    status, err = call(client, "POST", "/v1/staff/payments", tokens.headers("staff"), {**body, "amount": 90000})
    assert (status, err["error"]["field"]) == (400, "amount")
    status, made = call(client, "POST", "/v1/staff/payments", tokens.headers("staff"), body)
    assert status == 201 and made["status"] == "paid" and made["amount"] == 90000, made
    assert made["counter_receipt_no"] == "JM-2027-000123" and made["receipt"]["available"]
    assert stored_bill(a.bill_id).payment_id == made["payment_id"] == stored_bill(b.bill_id).payment_id
    status, err = call(client, "POST", "/v1/staff/payments", tokens.headers("staff"), body)
    assert (status, err["error"]["code"]) == (409, "BILL_ALREADY_PAID")
    status, trail = call(client, "GET", f"/v1/audit/payment/{made['payment_id']}", tokens.headers("auditor"))
    assert status == 200 and [e["action"] for e in trail["items"]] == ["record_counter_payment"], trail
    status, mine = call(client, "GET", f"/v1/me/payments/{made['payment_id']}", people["tenant"].headers())
    assert status == 200 and mine["method"] == "cash" and mine["payer_role"] == "staff"
    # paid at the counter while an online order was open: the online money is a duplicate, refunded
    c = bill(people["sub"]["tenant"], 45000)
    online = order(client, people["tenant"], [c.bill_id])[1]
    status, made = call(client, "POST", "/v1/staff/payments", tokens.headers("staff"), {**body, "bill_ids": [c.bill_id]})
    assert status == 201, made
    wallet.pay(online)
    assert deliver(client, "wechat", wallet.notification(online["payment_id"])).status_code == 204
    assert stored(online["payment_id"]).status == "refunded" and stored_bill(c.bill_id).payment_id == made["payment_id"]


# --- the voucher ----------------------------------------------------------------------------------------------------
def test_the_voucher_is_the_tenants_a_delegates_and_audited_staffs(client: Any, people: dict[str, Any], tokens: Any,
                                                                   wallet: Wallet) -> None:
    import hashlib

    import requests

    from chalicelib.deps import deps

    a = bill(people["sub"]["tenant"], 38800)
    made = order(client, people["tenant"], [a.bill_id])[1]
    url = f"/v1/payments/{made['payment_id']}/receipt"
    status, body = call(client, "GET", url, people["tenant"].headers())
    assert (status, body["error"]["code"]) == (409, "RECEIPT_NOT_READY")  # not paid yet
    wallet.pay(made)
    assert deliver(client, "wechat", wallet.notification(made["payment_id"])).status_code == 204
    assert call(client, "GET", url, people["view"].headers())[0] == 200  # a view grant: no raw personal data in it
    assert call(client, "GET", url, people["stranger"].headers())[1]["error"]["code"] == "PAYMENT_NOT_FOUND"
    assert call(client, "GET", url, tokens.headers("staff"))[0] == 400  # staff say why
    status, link = call(client, "GET", url + "?reason=%E6%A0%B8%E5%AF%B9%E7%BC%B4%E8%B4%B9", tokens.headers("staff"))
    assert status == 200
    status, trail = call(client, "GET", f"/v1/audit/payment/{made['payment_id']}", tokens.headers("auditor"))
    assert [e["action"] for e in trail["items"]] == ["read_receipt"]
    # the file lost after the settlement: made again, the same bytes as recorded
    key = stored(made["payment_id"]).receipt["key"]
    deps().storage.s3.delete_object(Bucket=deps().settings.document_bucket, Key=key)
    status, link = call(client, "GET", url, people["tenant"].headers())
    pdf = requests.get(link["download"]["url"], timeout=10).content
    assert hashlib.sha256(pdf).hexdigest() == stored(made["payment_id"]).receipt["sha256"]
    s3 = deps().storage.s3
    assert s3.head_object(Bucket=deps().settings.document_bucket, Key=key)["ServerSideEncryption"] == "aws:kms"


# --- a race: the same notification twenty times at once ---------------------------------------------------------------
def test_twenty_deliveries_at_once_pay_the_bills_once_and_make_one_voucher(client: Any, people: dict[str, Any],
                                                                         wallet: Wallet, local_server: str) -> None:
    """Over real HTTP (the app behind Chalice's threaded local server), released together by a barrier:
    exactly one payment paid, one voucher, each bill paid once; every delivery answered 204."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from chalicelib.deps import deps

    a, b = bill(people["sub"]["tenant"], 45000), bill(people["sub"]["tenant"], 45000)
    made = order(client, people["tenant"], [a.bill_id, b.bill_id])[1]
    wallet.pay(made)
    headers, body = wallet.notification(made["payment_id"])
    barrier = threading.Barrier(20)

    def deliver_once(_: int) -> tuple[int, bytes]:
        session = requests.Session()
        barrier.wait(timeout=30)
        r = session.post(f"{local_server}/v1/payments/wechat/notify", headers=headers, data=body, timeout=120)
        return r.status_code, r.content

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(deliver_once, range(20)))
    assert answers == [(204, b"")] * 20
    paid = stored(made["payment_id"])
    assert paid.status == "paid" and paid.receipt["number"]
    for one in (a, b):
        now_ = stored_bill(one.bill_id)
        assert (now_.status, now_.payment_id, now_.version) == ("paid", made["payment_id"], one.version + 1)
    listed = deps().storage.s3.list_objects_v2(Bucket=deps().settings.document_bucket,
                                               Prefix=f"payments/{made['payment_id']}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [paid.receipt["key"]]  # one voucher
    status, history = call(client, "GET", "/v1/me/payments?limit=100", people["tenant"].headers())
    assert [p["payment_id"] for p in history["items"] if a.bill_id in [x["bill_id"] for x in p["bills"]]] == [
        made["payment_id"]]
    assert wallet.refunds(made["payment_id"]) == [] and wallet.state(made["payment_id"]) == "paid"  # no duplicate


def test_a_payment_is_counted_settled_once_with_its_amount(client: Any, people: dict[str, Any], wallet: Wallet,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's payments (chalicelib/metric_names.py, docs/decisions/0038): WeChat's repeated
    notifications settle one payment, counted once."""
    from chalicelib.metric_names import PAYMENTS_SETTLED, PAYMENTS_SETTLED_FEN
    from chalicelib.observability import metrics

    counted: dict[str, float] = {}
    real = metrics.add_metric

    def spy(**kwargs: Any) -> None:
        counted[kwargs["name"]] = counted.get(kwargs["name"], 0) + kwargs["value"]
        real(**kwargs)

    monkeypatch.setattr(metrics, "add_metric", spy)
    one = bill(people["sub"]["tenant"], 31000)
    status, made = order(client, people["tenant"], [one.bill_id])
    assert status == 201, made
    wallet.pay(made)
    notification = wallet.notification(made["payment_id"])
    for _ in range(3):
        assert deliver(client, "wechat", notification).status_code == 204
    assert (counted[PAYMENTS_SETTLED], counted[PAYMENTS_SETTLED_FEN]) == (1, 31000)
