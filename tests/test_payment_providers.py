"""The payment provider adapters against the provider simulator (issue 11 §2, docs/decisions/0026):
notifications verified both ways (the simulator's signatures accepted, forged and tampered ones
refused with their code), timestamps, keys and serials, merchants, GCM, exact yuan -> fen, the
statements and their hash, and a provider that times out. No AWS here but the one test that reads
the merchant secrets from the local stack's Secrets Manager."""
from __future__ import annotations

import inspect
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.payment_providers import (
    PaymentProvider,
    ProviderNotConfigured,
    ProviderPayment,
    ProviderRejected,
    ProviderUnavailable,
    NotificationRefused,
    StatementLine,
    fen_to_yuan,
    yuan_to_fen,
)
from chalicelib.payment_providers.alipay import AlipayProvider
from chalicelib.payment_providers.wechat import WeChatPayProvider
from devstack.payments import PaymentSimulator

CHINA = timezone(timedelta(hours=8))
NOTIFY = "http://127.0.0.1:9/v1/payments/{}/notify"
_seq = iter(range(10**6))


def new_order() -> str:
    return f"pay_t{next(_seq):08d}"


def in_30_min() -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()


def now() -> datetime:
    return datetime.now(timezone.utc)


def wechat_of(sim: PaymentSimulator, timeout_s: float = 3.0, **changes: Any) -> WeChatPayProvider:
    return WeChatPayProvider.from_secret({**sim.secrets()["wechat"], **changes}, base_url=sim.base_url,
                                         notify_url=NOTIFY.format("wechat"), timeout_s=timeout_s)


def alipay_of(sim: PaymentSimulator, timeout_s: float = 3.0, **changes: Any) -> AlipayProvider:
    return AlipayProvider.from_secret({**sim.secrets()["alipay"], **changes}, gateway_url=f"{sim.base_url}/gateway.do",
                                      notify_url=NOTIFY.format("alipay"), timeout_s=timeout_s)


@pytest.fixture(scope="module")
def sim() -> Iterator[PaymentSimulator]:
    with PaymentSimulator(slow_s=1.0) as simulator:
        yield simulator


@pytest.fixture()
def calm(sim: PaymentSimulator) -> Iterator[PaymentSimulator]:
    """The simulator, back to answering normally after the test whatever it set."""
    yield sim
    sim.set_mode("ok")


@pytest.fixture(scope="module")
def wechat(sim: PaymentSimulator) -> WeChatPayProvider:
    return wechat_of(sim)


@pytest.fixture(scope="module")
def alipay(sim: PaymentSimulator) -> AlipayProvider:
    return alipay_of(sim)


def paid_wechat(wechat: WeChatPayProvider, sim: PaymentSimulator, amount: int = 123450, **pay: Any) -> str:
    order_id = new_order()
    wechat.prepay(order_id, amount, "房租 2027年1月", in_30_min())
    sim.pay(order_id, deliver="never", **pay)
    return order_id


def paid_alipay(alipay: AlipayProvider, sim: PaymentSimulator, amount: int = 123450, **pay: Any) -> str:
    order_id = new_order()
    sim.open_alipay(alipay.prepay(order_id, amount, "房租 2027年1月", in_30_min()).params["order_string"])
    sim.pay(order_id, deliver="never", **pay)
    return order_id


def refused(provider: PaymentProvider, headers: dict[str, str], body: bytes, at: datetime | None = None) -> str:
    with pytest.raises(NotificationRefused) as caught:
        provider.parse_notification(headers, body, at or now())
    return caught.value.code


# --- money ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, fen", [("0.01", 1), ("1", 100), ("1234.50", 123450), ("0.1", 10), ("0", 0),
                                       ("1234.5", 123450), ("0.09", 9), ("999999999999.99", 99999999999999)])
def test_yuan_to_fen_is_exact(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("text", ["", "-1", "-0.01", "1.001", "1e3", " 1", "1 ", "01", "1.", ".5", "１", "NaN",
                                  "Infinity", "0x10", "1,000.00", "+1"])
def test_yuan_to_fen_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        yuan_to_fen(text)


def test_fen_to_yuan_writes_two_decimals() -> None:
    assert [fen_to_yuan(f) for f in (0, 1, 10, 100, 123450)] == ["0.00", "0.01", "0.10", "1.00", "1234.50"]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            fen_to_yuan(bad)  # type: ignore[arg-type]


# --- WeChat Pay notifications ------------------------------------------------------------------------------
def test_a_wechat_notification_signed_by_the_provider_is_believed(wechat: WeChatPayProvider,
                                                                   sim: PaymentSimulator) -> None:
    order_id = paid_wechat(wechat, sim, at=datetime(2027, 1, 5, 10, 0, 5, tzinfo=CHINA))
    headers, body = sim.notification(order_id)
    payment = wechat.parse_notification(headers, body, now())
    assert payment == ProviderPayment("wechat", sim.mchid, order_id, sim.order(order_id).transaction_id, 123450,
                                      "paid", "2027-01-05T02:00:05Z")
    # API Gateway hands headers lowercased: the same notification is the same payment
    assert wechat.parse_notification({k.lower(): v for k, v in headers.items()}, body, now()) == payment


def test_a_redelivered_wechat_notification_is_the_same_body_and_payment(wechat: WeChatPayProvider,
                                                                        sim: PaymentSimulator) -> None:
    order_id = paid_wechat(wechat, sim)
    (h1, b1), (h2, b2) = sim.notification(order_id), sim.notification(order_id)
    assert b1 == b2 and h1["Wechatpay-Nonce"] != h2["Wechatpay-Nonce"]
    assert wechat.parse_notification(h1, b1, now()) == wechat.parse_notification(h2, b2, now())


@pytest.mark.parametrize("kind, code", [("bad_signature", "BAD_SIGNATURE"), ("tampered_body", "BAD_SIGNATURE"),
                                        ("late", "STALE_TIMESTAMP"), ("future", "STALE_TIMESTAMP"),
                                        ("unknown_serial", "UNKNOWN_CERTIFICATE"),
                                        ("wrong_merchant", "UNKNOWN_MERCHANT"), ("tampered_tag", "BAD_PAYLOAD")])
def test_a_forged_replayed_or_tampered_wechat_notification_is_refused(wechat: WeChatPayProvider, sim: PaymentSimulator,
                                                                      kind: str, code: str) -> None:
    order_id = paid_wechat(wechat, sim)
    assert refused(wechat, *sim.notification(order_id, kind=kind)) == code


def test_the_wechat_timestamp_window_is_five_minutes_either_way(wechat: WeChatPayProvider, sim: PaymentSimulator) -> None:
    order_id = paid_wechat(wechat, sim)
    sent = datetime(2027, 1, 5, 2, 0, 0, tzinfo=timezone.utc)
    headers, body = sim.notification(order_id, now=sent)
    for seconds in (-300, 0, 300):
        assert wechat.parse_notification(headers, body, sent + timedelta(seconds=seconds)).state == "paid"
    for seconds in (-301, 301, 3600):
        assert refused(wechat, headers, body, sent + timedelta(seconds=seconds)) == "STALE_TIMESTAMP"


def test_a_wechat_notification_without_its_headers_or_with_another_scheme_is_refused(
        wechat: WeChatPayProvider, sim: PaymentSimulator) -> None:
    headers, body = sim.notification(paid_wechat(wechat, sim))
    for missing in ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"):
        assert refused(wechat, {k: v for k, v in headers.items() if k != missing}, body) == "BAD_SIGNATURE"
    assert refused(wechat, {**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body) == "BAD_SIGNATURE"
    assert refused(wechat, {**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 20}, body) == "BAD_SIGNATURE"
    assert refused(wechat, headers, b"\xff" + body) == "BAD_PAYLOAD"


def test_a_wechat_notification_is_refused_under_the_wrong_platform_key_or_api_v3_key(sim: PaymentSimulator) -> None:
    from devstack.payment_formats import new_rsa_key, public_pem

    order_id = paid_wechat(wechat_of(sim), sim)
    headers, body = sim.notification(order_id)
    impostor_key = wechat_of(sim, platform_public_key=public_pem(new_rsa_key()))  # same id, another key
    assert refused(impostor_key, headers, body) == "BAD_SIGNATURE"
    other_api_key = wechat_of(sim, apiv3_key="0" * 32)
    assert refused(other_api_key, headers, body) == "BAD_PAYLOAD"
    other_merchant = wechat_of(sim, mchid="1900000999")
    assert refused(other_merchant, headers, body) == "UNKNOWN_MERCHANT"


def test_a_wrong_amount_is_reported_as_signed_for_the_caller_to_match(wechat: WeChatPayProvider,
                                                                      sim: PaymentSimulator) -> None:
    order_id = paid_wechat(wechat, sim, amount=5000)
    assert wechat.parse_notification(*sim.notification(order_id, kind="wrong_amount"), now()).amount == 5001
    # the payer paid another amount than ordered: every report of the payment says so
    other = new_order()
    wechat.prepay(other, 5000, "房租", in_30_min())
    [delivery] = sim.pay(other, deliver="wrong_amount", amount_delta=-1)
    assert delivery.status is None and delivery.error == "ConnectionRefusedError"  # nothing serves 127.0.0.1:9
    assert wechat.parse_notification(*sim.notification(other), now()).amount == 4999
    assert wechat.query(other).amount == 4999


def test_certificate_mode_verifies_by_serial_and_downloads_a_rotated_certificate_once() -> None:
    from devstack.payment_formats import certificate_pem, new_rsa_key, self_signed

    with PaymentSimulator(platform_mode="certificate") as sim:
        wechat = wechat_of(sim)
        order_id = paid_wechat(wechat, sim)
        assert wechat.parse_notification(*sim.notification(order_id), now()).state == "paid"
        assert "wechat GET /v3/certificates" not in sim.calls
        # the secret still holds last year's certificate: the current serial is unknown until downloaded
        old = certificate_pem(self_signed(new_rsa_key(), "old platform", 12345))
        rotated = wechat_of(sim, platform_certificates=[old])
        assert rotated.parse_notification(*sim.notification(order_id), now()).state == "paid"
        assert sim.calls.count("wechat GET /v3/certificates") == 1
        # an unknown serial (anyone can send one) does not download again within the minute
        assert refused(rotated, *sim.notification(order_id, kind="unknown_serial")) == "UNKNOWN_CERTIFICATE"
        assert sim.calls.count("wechat GET /v3/certificates") == 1


# --- Alipay notifications -------------------------------------------------------------------------------
def test_an_alipay_notification_signed_by_alipay_is_believed(alipay: AlipayProvider, sim: PaymentSimulator) -> None:
    order_id = paid_alipay(alipay, sim, amount=1, at=datetime(2027, 1, 5, 23, 59, 59, tzinfo=CHINA))
    headers, body = sim.notification(order_id)
    assert alipay.parse_notification(headers, body, now()) == ProviderPayment(
        "alipay", sim.alipay_app_id, order_id, sim.order(order_id).transaction_id, 1, "paid", "2027-01-05T15:59:59Z")
    # Alipay re-sends for 25 hours: a late one is still the same genuine payment (settling is idempotent)
    assert alipay.parse_notification(*sim.notification(order_id, kind="late"), now()).amount == 1


@pytest.mark.parametrize("kind, code", [("bad_signature", "BAD_SIGNATURE"), ("tampered_body", "BAD_SIGNATURE"),
                                        ("wrong_merchant", "UNKNOWN_MERCHANT")])
def test_a_forged_or_tampered_alipay_notification_is_refused(alipay: AlipayProvider, sim: PaymentSimulator,
                                                             kind: str, code: str) -> None:
    assert refused(alipay, *sim.notification(paid_alipay(alipay, sim), kind=kind)) == code


def test_alipay_checks_the_seller_the_sign_type_and_the_form(alipay: AlipayProvider, sim: PaymentSimulator) -> None:
    headers, body = sim.notification(paid_alipay(alipay, sim))
    assert refused(alipay_of(sim, seller_id="2088000000000999"), headers, body) == "UNKNOWN_MERCHANT"
    assert refused(alipay_of(sim, app_id="2021000000000999"), headers, body) == "UNKNOWN_MERCHANT"
    assert refused(alipay, headers, body.replace(b"sign_type=RSA2", b"sign_type=RSA")) == "BAD_SIGNATURE"
    assert refused(alipay, headers, body + b"&out_trade_no=pay_other0001") == "BAD_PAYLOAD"  # a parameter twice
    assert refused(alipay, headers, b"") == "BAD_PAYLOAD"
    without_sign = "&".join(p for p in body.decode().split("&") if not p.startswith("sign="))
    assert refused(alipay, headers, without_sign.encode()) == "BAD_SIGNATURE"


def test_an_alipay_notification_in_gbk_is_read_in_its_charset(alipay: AlipayProvider, sim: PaymentSimulator) -> None:
    from devstack.payment_formats import alipay_content, rsa_sign

    order_id = paid_alipay(alipay, sim, amount=123450)
    params = dict(urllib.parse.parse_qsl(sim.notification(order_id)[1].decode()))
    params |= {"charset": "gbk", "subject": "房租 江门市"}
    params["sign"] = rsa_sign(sim.keys.alipay_platform, alipay_content(params, ("sign", "sign_type")))
    body = urllib.parse.urlencode(params, encoding="gbk").encode()
    assert alipay.parse_notification({}, body, now()).amount == 123450


@pytest.mark.parametrize("total, fen", [("0.01", 1), ("1", 100), ("1234.50", 123450)])
def test_alipay_amounts_in_yuan_become_exact_fen(alipay: AlipayProvider, sim: PaymentSimulator, total: str,
                                                 fen: int) -> None:
    from devstack.payment_formats import alipay_content, rsa_sign

    params = dict(urllib.parse.parse_qsl(sim.notification(paid_alipay(alipay, sim))[1].decode()))
    params["total_amount"] = total
    params["sign"] = rsa_sign(sim.keys.alipay_platform, alipay_content(params, ("sign", "sign_type")))
    assert alipay.parse_notification({}, urllib.parse.urlencode(params).encode(), now()).amount == fen
    for bad in ("1.001", "-1.00", "1e2"):
        params["total_amount"] = bad
        params["sign"] = rsa_sign(sim.keys.alipay_platform, alipay_content(params, ("sign", "sign_type")))
        assert refused(alipay, {}, urllib.parse.urlencode(params).encode()) == "BAD_PAYLOAD"


def test_the_answers_are_what_each_provider_expects(wechat: WeChatPayProvider, alipay: AlipayProvider) -> None:
    assert wechat.success_answer() == (204, {}, b"")
    status, headers, body = wechat.failure_answer("BAD_SIGNATURE")
    assert (status, json.loads(body)) == (400, {"code": "FAIL", "message": "失败"})
    assert headers["Content-Type"].startswith("application/json")
    assert wechat.failure_answer("UNAVAILABLE")[0] == 500  # our own failure: WeChat retries
    assert alipay.success_answer() == (200, {"Content-Type": "text/plain; charset=utf-8"}, b"success")
    assert alipay.failure_answer("BAD_SIGNATURE")[2] == b"failure"


# --- prepay, query, close, refund ---------------------------------------------------------------------
def test_the_wechat_prepay_is_signed_for_the_app_with_the_merchant_key(wechat: WeChatPayProvider,
                                                                       sim: PaymentSimulator) -> None:
    from devstack.payment_formats import rsa_verify

    order_id = new_order()
    prepay = wechat.prepay(order_id, 88800, "房租 2027年1月", in_30_min())
    p = prepay.params
    assert prepay.provider == "wechat" and p["prepayid"] == sim.order(order_id).prepay_id
    assert (p["appid"], p["partnerid"], p["package"]) == (sim.appid, sim.mchid, "Sign=WXPay")
    message = f"{p['appid']}\n{p['timestamp']}\n{p['noncestr']}\n{p['prepayid']}\n"
    assert rsa_verify(sim.keys.wechat_merchant.public_key(), message, p["sign"])
    assert sim.order(order_id).amount == 88800
    assert wechat.prepay(order_id, 88800, "房租 2027年1月", in_30_min()).params["prepayid"] == p["prepayid"]
    with pytest.raises(ProviderRejected):
        wechat.prepay(order_id, 1, "房租 2027年1月", in_30_min())  # the same order number, another amount


def test_the_alipay_order_string_is_what_alipay_verifies(alipay: AlipayProvider, sim: PaymentSimulator) -> None:
    order_id = new_order()
    order_string = alipay.prepay(order_id, 123450, "房租 2027年1月", in_30_min()).params["order_string"]
    params = dict(urllib.parse.parse_qsl(order_string))
    assert json.loads(params["biz_content"])["total_amount"] == "1234.50"
    assert params["notify_url"] == NOTIFY.format("alipay")
    assert sim.open_alipay(order_string) == order_id
    with pytest.raises(ValueError):
        sim.open_alipay(order_string.replace("1234.50", "0.01"))


@pytest.mark.parametrize("order_id, amount, description", [("short", 100, "房租"), ("pay-with-dash", 100, "房租"),
                                                           ("pay_000000001", 0, "房租"), ("pay_000000001", 1.5, "房租"),
                                                           ("pay_000000001", 100, ""), ("pay_000000001", 100, "x" * 128)])
def test_a_prepay_with_bad_arguments_is_a_bug_not_a_call(wechat: WeChatPayProvider, alipay: AlipayProvider,
                                                         order_id: str, amount: Any, description: str) -> None:
    for provider in (wechat, alipay):
        with pytest.raises(ValueError):
            provider.prepay(order_id, amount, description, in_30_min())


def test_query_close_and_refund_at_wechat(wechat: WeChatPayProvider, sim: PaymentSimulator) -> None:
    assert wechat.query("pay_never000001") == ProviderPayment("wechat", sim.mchid, "pay_never000001", None, 0,
                                                              "not_paid", None)
    unpaid = new_order()
    wechat.prepay(unpaid, 500, "房租", in_30_min())
    assert wechat.query(unpaid).state == "not_paid"
    wechat.close(unpaid)
    wechat.close(unpaid)  # closing twice is done
    assert wechat.query(unpaid).state == "closed"
    paid = paid_wechat(wechat, sim, amount=500)  # the payer paid, WeChat never notified: the query job finds it
    assert wechat.query(paid) == ProviderPayment("wechat", sim.mchid, paid, sim.order(paid).transaction_id, 500,
                                                 "paid", sim.order(paid).paid_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with pytest.raises(ProviderRejected) as caught:
        wechat.close(paid)
    assert caught.value.code == "ORDERPAID"
    refund_id = wechat.refund(paid, "ref_t00000001", 200, 500)
    assert refund_id == sim.order(paid).refunds[0].provider_refund_id
    assert wechat.refund(paid, "ref_t00000001", 200, 500) == refund_id  # the same refund again: the same one
    with pytest.raises(ProviderRejected):
        wechat.refund(paid, "ref_t00000002", 301, 500)  # more than is left
    assert wechat.query(paid).state == "refunded"


def test_query_close_and_refund_at_alipay(alipay: AlipayProvider, sim: PaymentSimulator) -> None:
    never_opened = new_order()
    alipay.prepay(never_opened, 500, "房租", in_30_min())
    assert alipay.query(never_opened) == ProviderPayment("alipay", sim.alipay_app_id, never_opened, None, 0,
                                                         "not_paid", None)
    alipay.close(never_opened)  # nothing to close at Alipay: the order string expires by itself
    opened = new_order()
    sim.open_alipay(alipay.prepay(opened, 500, "房租", in_30_min()).params["order_string"])
    assert alipay.query(opened).amount == 500
    alipay.close(opened)
    assert alipay.query(opened).state == "closed"
    paid = paid_alipay(alipay, sim, amount=500)
    assert alipay.query(paid).state == "paid"
    with pytest.raises(ProviderRejected) as caught:
        alipay.close(paid)
    assert caught.value.code == "ACQ.TRADE_STATUS_ERROR"
    trade_no = sim.order(paid).transaction_id
    assert alipay.refund(paid, "ref_t00000003", 500, 500) == f"{trade_no}:ref_t00000003"
    assert alipay.refund(paid, "ref_t00000003", 500, 500) == f"{trade_no}:ref_t00000003"
    with pytest.raises(ProviderRejected):
        alipay.refund(paid, "ref_t00000004", 1, 500)
    assert alipay.parse_notification(*sim.notification(paid), now()).state == "refunded"


# --- statements --------------------------------------------------------------------------------------------
def day_lines(provider: PaymentProvider, day: date, orders: set[str]) -> list[StatementLine]:
    return [line for line in provider.statement(day) if line.order_id in orders or line.order_id.startswith("sim_extra_")]


@pytest.mark.parametrize("provider_name", ["wechat", "alipay"])
def test_the_statement_holds_the_days_payments_and_refunds_in_china_time(
        wechat: WeChatPayProvider, alipay: AlipayProvider, sim: PaymentSimulator, provider_name: str) -> None:
    provider, paid = (wechat, paid_wechat) if provider_name == "wechat" else (alipay, paid_alipay)
    day = date(2026, 3, 2)
    before_midnight = paid(provider, sim, amount=1, at=datetime(2026, 3, 2, 23, 59, 59, tzinfo=CHINA))
    after_midnight = paid(provider, sim, amount=100, at=datetime(2026, 3, 3, 0, 0, 1, tzinfo=CHINA))
    refunded = paid(provider, sim, amount=123450, at=datetime(2026, 3, 2, 8, 0, 0, tzinfo=CHINA))
    provider.refund(refunded, "ref_s" + provider_name[:3] + "0001", 50, 123450)
    lines = day_lines(provider, day, {before_midnight, after_midnight, refunded})
    payments = {(x.order_id, x.amount, x.at) for x in lines if x.kind == "payment"}
    assert payments == {(before_midnight, 1, "2026-03-02T15:59:59Z"), (refunded, 123450, "2026-03-02T00:00:00Z")}
    assert all(x.transaction_id == sim.order(x.order_id).transaction_id for x in lines)
    assert day_lines(provider, date(2026, 3, 3), {after_midnight})[0].amount == 100
    today = datetime.now(CHINA).date()  # the refund was made now
    refund_lines = [x for x in day_lines(provider, today, {refunded}) if x.kind == "refund"]
    assert [(x.amount, x.refund_id) for x in refund_lines] == [(50, "ref_s" + provider_name[:3] + "0001")]
    assert list(provider.statement(date(2020, 1, 1))) == []  # no trades that day: nothing to reconcile


@pytest.mark.parametrize("provider_name", ["wechat", "alipay"])
def test_planted_mismatches_show_in_the_statement(wechat: WeChatPayProvider, alipay: AlipayProvider,
                                                  sim: PaymentSimulator, provider_name: str) -> None:
    provider, paid = (wechat, paid_wechat) if provider_name == "wechat" else (alipay, paid_alipay)
    day = date(2026, 4, 1) if provider_name == "wechat" else date(2026, 4, 2)
    at = datetime.combine(day, datetime.min.time(), CHINA) + timedelta(hours=9)
    kept, dropped, changed = (paid(provider, sim, amount=1000, at=at) for _ in range(3))
    extra = sim.plant(provider_name, day, "extra", amount_delta=777)
    sim.plant(provider_name, day, "missing", order_id=dropped)
    sim.plant(provider_name, day, "wrong_amount", order_id=changed, amount_delta=1)
    amounts = {x.order_id: x.amount for x in provider.statement(day)}
    assert amounts == {kept: 1000, changed: 1001, extra["order_id"]: 777}


def test_a_wechat_statement_whose_hash_does_not_match_is_not_read(wechat: WeChatPayProvider,
                                                                  sim: PaymentSimulator) -> None:
    day = date(2026, 5, 1)
    paid_wechat(wechat, sim, at=datetime(2026, 5, 1, 9, tzinfo=CHINA))
    assert len(list(wechat.statement(day))) == 1
    sim.plant("wechat", day, "bad_hash")
    with pytest.raises(ProviderUnavailable, match="SHA-1"):
        wechat.statement(day)


def test_statement_files_that_cannot_be_read_are_refused_whole() -> None:
    import gzip
    import io
    import zipfile

    from chalicelib.payment_providers.statements import alipay_lines, gunzip, wechat_lines
    from devstack.payment_formats import WECHAT_HEADER

    row = ",".join("`" + f for f in ["2026-03-02 10:00:00", "wx", "1900000109", "0", "", "4200", "pay_t0000001", "o",
                                      "APP", "SUCCESS", "OTHERS", "CNY", "1.001", "0.00", "0", "0", "0.00", "0.00",
                                      "", "", "房租", "", "0", "0.60%", "1.001", "0.00", ""])
    with pytest.raises(ProviderUnavailable, match="line 2"):
        wechat_lines(f"{WECHAT_HEADER}\r\n{row}\r\n".encode())
    with pytest.raises(ProviderUnavailable, match="header"):
        wechat_lines(b"a,b,c\r\n1,2,3\r\n")
    bomb = gzip.compress(b"0" * 2_000_000)
    with pytest.raises(ProviderUnavailable, match="larger"):
        gunzip(bomb, 1_000_000)
    with pytest.raises(ProviderUnavailable, match="truncated"):
        gunzip(bomb[: len(bomb) // 2], 10_000_000)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.txt", b"not a bill")
    with pytest.raises(ProviderUnavailable, match="业务明细"):
        alipay_lines(archive.getvalue())
    with pytest.raises(ProviderUnavailable, match="zip"):
        alipay_lines(b"PK not really")


# --- a provider in trouble ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["slow", "down", "garbage"])
def test_a_provider_that_times_out_fails_or_answers_garbage_is_unavailable(calm: PaymentSimulator, mode: str) -> None:
    wechat, alipay = wechat_of(calm, timeout_s=0.2), alipay_of(calm, timeout_s=0.2)
    order_id = paid_wechat(wechat, calm)
    calm.set_mode(mode)
    for call in (lambda: wechat.query(order_id), lambda: wechat.close(order_id),
                 lambda: wechat.refund(order_id, "ref_t00000099", 1, 123450), lambda: wechat.statement(date(2026, 1, 1)),
                 lambda: wechat.prepay(new_order(), 1, "房租", in_30_min()),
                 lambda: alipay.query(order_id), lambda: alipay.statement(date(2026, 1, 1))):
        with pytest.raises(ProviderUnavailable):
            call()


def test_a_provider_nobody_answers_at_is_unavailable(sim: PaymentSimulator) -> None:
    nobody = "http://127.0.0.1:9"  # the discard port: refused at once
    wechat = WeChatPayProvider.from_secret(sim.secrets()["wechat"], base_url=nobody, timeout_s=0.5)
    alipay = AlipayProvider.from_secret(sim.secrets()["alipay"], gateway_url=f"{nobody}/gateway.do", timeout_s=0.5)
    for call in (lambda: wechat.query("pay_gone000001"), lambda: alipay.query("pay_gone000001")):
        with pytest.raises(ProviderUnavailable):
            call()


def test_an_answer_not_signed_by_the_provider_is_not_believed(sim: PaymentSimulator) -> None:
    from devstack.payment_formats import new_rsa_key, public_pem

    with pytest.raises(ProviderUnavailable, match="signature"):
        wechat_of(sim, platform_public_key=public_pem(new_rsa_key())).query(paid_wechat(wechat_of(sim), sim))
    with pytest.raises(ProviderUnavailable, match="signature"):
        alipay_of(sim, alipay_public_key=public_pem(new_rsa_key())).query(paid_alipay(alipay_of(sim), sim))


def test_merchant_secrets_missing_fields_or_unusable_keys_are_unavailable(sim: PaymentSimulator) -> None:
    for changes in ({"mchid": ""}, {"apiv3_key": "short"}, {"platform_public_key": None}):
        with pytest.raises(ProviderUnavailable):
            wechat_of(sim, **changes)
    with pytest.raises(ProviderUnavailable, match="keys"):
        wechat_of(sim, merchant_private_key="not a key").query("pay_anything01")
    with pytest.raises(ProviderUnavailable):
        alipay_of(sim, app_id="")
    with pytest.raises(ProviderUnavailable, match="keys"):
        alipay_of(sim, app_private_key="bm90IGEga2V5").query("pay_anything01")


# --- the simulator's deliveries and its control API -------------------------------------------------------
class Receiver:
    """A notify URL on loopback that records what arrives and answers as the app would (204)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []  # type: list[tuple[dict[str, str], bytes]]
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    received.append((dict(self.headers), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def control(sim: PaymentSimulator, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{sim.base_url}/control/{name}", data=json.dumps(body).encode(), method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_simulator_delivers_duplicates_late_and_out_of_order_notifications() -> None:
    receiver = Receiver()
    try:
        with PaymentSimulator(notify_base_url=receiver.url) as sim:
            wechat, alipay = wechat_of(sim), alipay_of(sim)
            first, second = new_order(), new_order()
            wechat.prepay(first, 100, "房租", in_30_min())
            status, answer = control(sim, "pay", {"order_id": first, "deliver": "duplicate", "times": 4, "concurrency": 4})
            assert status == 200 and [d["status"] for d in answer["deliveries"]] == [204] * 4
            bodies = {body for _, body in receiver.received}
            assert len(receiver.received) == 4 and len(bodies) == 1  # the same notification, four times
            assert wechat.parse_notification(*receiver.received[0], now()).order_id == first
            order_string = alipay.prepay(second, 100, "房租", in_30_min()).params["order_string"]
            assert control(sim, "pay", {"order_string": order_string, "deliver": "hold"})[1]["deliveries"] == []
            third = new_order()
            wechat.prepay(third, 300, "房租", in_30_min())
            sim.pay(third, deliver="hold")
            released = sim.release(order="reverse")
            assert [d.order_id for d in released] == [third, second]
            assert urllib.parse.urlsplit(released[1].url).path == "/v1/payments/alipay/notify"
            late = new_order()
            wechat.prepay(late, 300, "房租", in_30_min())
            sim.pay(late, deliver="late")
            assert refused(wechat, *receiver.received[-1]) == "STALE_TIMESTAMP"
            never = new_order()
            wechat.prepay(never, 300, "房租", in_30_min())
            assert sim.pay(never, deliver="never") == [] and wechat.query(never).state == "paid"
            assert len(receiver.received) == 7
            status, made = control(sim, "notification", {"order_id": first, "kind": "bad_signature"})
            assert status == 200 and refused(wechat, made["headers"], made["body"].encode()) == "BAD_SIGNATURE"
            assert control(sim, "plant", {"provider": "wechat", "day": "2026-06-01", "kind": "extra"})[0] == 200
            assert control(sim, "mode", {"mode": "sideways"})[0] == 400
            assert control(sim, "pay", {"order_id": "pay_unknown0001"})[0] == 400
    finally:
        receiver.close()


# --- the adapter the app gets ----------------------------------------------------------------------------
def test_the_city_gets_its_providers_from_the_merchant_secrets(stack: Any) -> None:
    from chalicelib.config import load_settings
    from chalicelib.deps import deps
    from chalicelib.payment_providers import Providers

    sim = stack.enable_payments()
    providers = deps().payment_providers
    assert providers.configured() == ("wechat", "alipay")
    wechat = providers.get("wechat")
    assert wechat is providers.get("wechat")  # built once, keys read once
    order_id = new_order()
    wechat.prepay(order_id, 100, "房租", in_30_min())
    assert sim.order(order_id).notify_url == "http://127.0.0.1:9/v1/payments/wechat/notify"
    sim.pay(order_id, deliver="never")
    assert wechat.parse_notification(*sim.notification(order_id), now()).state == "paid"
    assert providers.get("alipay").query(order_id).state == "not_paid"  # Alipay never saw it
    nowhere = Providers(load_settings({"CITY_CODE": "xining", "AWS_DEFAULT_REGION": "cn-northwest-1"}))
    assert nowhere.configured() == ()
    for name in ("wechat", "alipay", "unionpay"):
        with pytest.raises(ProviderNotConfigured):
            nowhere.get(name)
    missing = Providers(load_settings({**stack.environment, "WECHAT_PAY_SECRET_ARN": "jiangmen/payments/none"}))
    with pytest.raises(ProviderUnavailable, match="secret"):
        missing.get("wechat")


def test_a_city_without_a_provider_is_told_so_in_chinese() -> None:
    from chalicelib import errors, web

    exc = ProviderNotConfigured("alipay")
    assert isinstance(exc, errors.InvalidInput) and exc.field == "provider" and exc.message == "本市暂未开通该支付方式"
    assert web.error_body(exc, "r1")[0] == 400
    assert web.error_body(ProviderUnavailable("timeout"), "r1")[0] == 503
    assert web.error_body(ProviderRejected("ORDERPAID"), "r1")[0] == 409


def test_importing_the_package_costs_no_crypto_http_or_aws() -> None:
    code = ("import sys; import chalicelib.payment_providers; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('cryptography', 'requests', 'wechatpayv3', 'boto3', 'botocore', 'urllib3')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_twin_has_the_protocols_methods_and_the_real_answers(wechat: WeChatPayProvider,
                                                                 alipay: AlipayProvider) -> None:
    from tests.twins.adapters import FakePaymentProvider

    methods = [n for n, v in vars(PaymentProvider).items() if callable(v) and not n.startswith("_")]
    assert len(methods) == 8
    for real in (wechat, alipay):
        fake = FakePaymentProvider(real.name)
        for name in methods:
            assert list(inspect.signature(getattr(fake, name)).parameters) == \
                   list(inspect.signature(getattr(real, name)).parameters), name
        assert fake.success_answer() == real.success_answer()
        for code in ("BAD_SIGNATURE", "INTERNAL"):
            fake_answer, real_answer = fake.failure_answer(code), real.failure_answer(code)
            assert fake_answer[:2] == real_answer[:2]
            if real.name == "wechat":
                assert json.loads(fake_answer[2]) == json.loads(real_answer[2])
            else:
                assert fake_answer[2] == real_answer[2]


def test_the_twin_plays_a_payment_for_domain_tests() -> None:
    from tests.twins.adapters import RecordingPaymentProviders

    twins = RecordingPaymentProviders(offered=("wechat",))
    wechat = twins.get("wechat")
    wechat.prepay("pay_twin000001", 500, "房租", in_30_min())
    assert wechat.query("pay_twin000001").state == "not_paid"
    paid = wechat.pay("pay_twin000001")
    assert wechat.parse_notification(*wechat.notification("pay_twin000001"), now()) == paid
    with pytest.raises(ProviderRejected):
        wechat.close("pay_twin000001")
    wechat.refuse_with = "STALE_TIMESTAMP"
    assert refused(wechat, *wechat.notification("pay_twin000001")) == "STALE_TIMESTAMP"
    wechat.fail_with = ProviderUnavailable("timeout")
    with pytest.raises(ProviderUnavailable):
        wechat.query("pay_twin000001")
    with pytest.raises(ProviderNotConfigured):
        twins.get("alipay")
    assert [c[0] for c in wechat.calls] == ["prepay", "query", "parse_notification", "close", "parse_notification",
                                            "query"]
