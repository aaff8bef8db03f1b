"""Receipts (收据/票据, issue 11 §3): the payment voucher's content and bytes, and the city's external
e-receipt through the ReceiptProvider adapter (issued after settlement, retried by the sweep)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterator

import pytest

from tests.applying import Citizen, call, register
from tests.paying import Wallet, bill, subject


def _paid(**overrides: Any) -> Any:
    from chalicelib.domain import receipts
    from chalicelib.domain.bills import BillKind
    from chalicelib.domain.payments import PAID, BillLine, Payment, PaymentMethod

    lines = [BillLine("bil-lse_1-2027-01", "lse_1", BillKind.RENT, "2027-01", "福泽园1栋101", 45000, "2027-01-10"),
             BillLine("bil-lse_1-deposit", "lse_1", BillKind.DEPOSIT, None, "福泽园1栋101", 90000, "2027-01-01")]
    base = dict(payment_id="pay_3f9c0a7d51e2b846", owner="sub-1", payer="sub-1", payer_role="tenant",
                payer_masked="周*华", provider="wechat", method=PaymentMethod.WECHAT, bills=lines, amount=135000,
                description="江门市公租房租金 2027-01 等2笔 福泽园1栋101", status=PAID,
                transaction_id="4200002027010512345678", paid_at="2027-01-05T10:00:05+08:00",
                created_at="2027-01-05T09:58:00.000+08:00", updated_at="2027-01-05T10:00:05.000+08:00")
    return receipts.issue(Payment(**{**base, **overrides}))


def _text(pdf: bytes) -> str:
    """The PDF's text strings, decoded from their UCS-2 hex."""
    import re

    return "".join(bytes.fromhex(h.decode()).decode("utf-16-be") for h in re.findall(rb"<([0-9A-F]+)> Tj", pdf))


def test_the_voucher_says_what_was_paid_and_is_the_same_bytes_every_time() -> None:
    import hashlib

    from chalicelib import deps
    from chalicelib.domain import receipts
    from tests.twins import memory_container

    with deps.use(memory_container()):
        paid = _paid()
        pdf = receipts.render(paid)
        assert pdf.startswith(b"%PDF-1.4") and pdf == receipts.render(paid)
        assert paid.receipt["number"] == "SJ202701053F9C0A7D51E2B846"
        assert paid.receipt["sha256"] == hashlib.sha256(pdf).hexdigest()
        text = _text(pdf)
        for expected in ("江门市公共租赁住房缴费凭证", "凭证编号：SJ202701053F9C0A7D51E2B846", "缴费人：周*华", "微信支付",
                         "交易单号：4200002027010512345678", "租金（2027-01）", "押金", "人民币450.00元", "人民币900.00元",
                         "合计：人民币1350.00元（大写：壹仟叁佰伍拾元整）", "2027年1月5日 10:00:05"):
            assert expected in text, expected
        counter = _paid(provider="counter", method="cash", transaction_id=None, counter={"receipt_no": "JM-0001"})
        assert "窗口收据编号：JM-0001" in _text(receipts.render(counter)) and "现金" in _text(receipts.render(counter))
        other = _paid(payer_masked="吴*强")
        assert other.receipt["sha256"] != paid.receipt["sha256"]  # the hash is of this voucher's content


# --- the external e-receipt -------------------------------------------------------------------------------------
class FakeReceiptService:
    """``deps().receipt_provider`` for a city with an external e-receipt service; ``down`` makes it fail."""

    name = "external"

    def __init__(self) -> None:
        self.down = False
        self.asked: list[dict[str, Any]] = []

    def issue(self, request: Any) -> Any:
        from chalicelib import errors
        from chalicelib.receipt_provider import IssuedReceipt

        self.asked.append(dict(request))
        if self.down:
            raise errors.ServiceUnavailable("e-receipt service timed out")
        return IssuedReceipt(f"FS44{len(self.asked):08d}", "https://example.invalid/r")


@pytest.fixture(scope="module")
def city(stack: Any, catalogue: dict[str, Any], app: Any) -> Iterator[dict[str, Any]]:
    from chalice.test import Client

    from chalicelib import deps
    from chalicelib.composition import Container
    from chalicelib.config import settings

    wallet, service = Wallet(stack.enable_payments()), FakeReceiptService()
    with deps.use(Container(settings(), receipt_provider=service)):
        tenant = Citizen(stack, "周明华")
        with Client(app) as client:
            register(client, tenant)
        yield {"wallet": wallet, "service": service, "tenant": tenant, "owner": subject(tenant)}


def _pay(client: Any, city: dict[str, Any]) -> str:
    one = bill(city["owner"], 45000)
    status, made = call(client, "POST", "/v1/me/payments", city["tenant"].headers(),
                        {"bill_ids": [one.bill_id], "provider": "wechat"})
    assert status == 201, made
    city["wallet"].pay(made)
    headers, body = city["wallet"].notification(made["payment_id"])
    assert client.http.post("/v1/payments/wechat/notify", headers=headers, body=body).status_code == 204
    return str(made["payment_id"])


def test_an_external_e_receipt_is_issued_after_settlement_and_its_number_stored(client: Any,
                                                                                city: dict[str, Any]) -> None:
    from chalicelib.deps import deps

    payment_id = _pay(client, city)
    paid = deps().payments.get(payment_id)
    asked = city["service"].asked[-1]
    assert asked["request_no"] == paid.receipt["number"] and asked["amount"] == 45000 and asked["payer"] == "周*华"
    assert paid.receipt["external_no"].startswith("FS44") and paid.task is None
    status, shown = call(client, "GET", f"/v1/me/payments/{payment_id}", city["tenant"].headers())
    assert status == 200 and shown["receipt"]["external_no"] == paid.receipt["external_no"]


def test_an_e_receipt_service_that_does_not_answer_is_asked_again_by_the_sweep(client: Any,
                                                                                city: dict[str, Any]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import settlement

    city["service"].down = True
    try:
        payment_id = _pay(client, city)
    finally:
        city["service"].down = False
    waiting = deps().payments.get(payment_id)
    assert waiting.status == "paid" and waiting.task == "receipt" and not waiting.receipt.get("external_no")
    status, link = call(client, "GET", f"/v1/payments/{payment_id}/receipt", city["tenant"].headers())
    assert status == 200  # the voucher is there meanwhile
    assert settlement.sweep()["receipts"] == 1
    done = deps().payments.get(payment_id)
    assert done.receipt["external_no"] and done.task is None


# --- the adapter over HTTPS (a loopback server standing for the province's platform) ---------------------------
def test_the_external_adapter_signs_its_request_and_reads_the_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import errors
    from chalicelib.departments.contract import sign
    from chalicelib.receipt_provider import BuiltinReceipts, ExternalReceipts, receipt_provider
    from tests.twins import memory_settings

    seen: list[tuple[dict[str, str], bytes]] = []
    answers = [(200, {"receipt_no": "FS4400000001", "url": "https://example.invalid/r"}), (200, {"nope": 1}),
               (502, {"error": "busy"})]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers), body))
            status, answer = answers[len(seen) - 1]
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("RECEIPT_SERVICE_KEY", "k-test")
        adapter = ExternalReceipts(f"http://127.0.0.1:{server.server_port}", None, timeout_s=5)
        issued = adapter.issue({"request_no": "SJ1", "amount": 45000})
        assert (issued.number, issued.url) == ("FS4400000001", "https://example.invalid/r")
        headers, body = seen[0]
        assert json.loads(body) == {"amount": 45000, "request_no": "SJ1"}
        assert headers["X-Signature"] == sign("k-test", headers["X-Timestamp"], body)
        for _ in range(2):  # an answer outside the contract, then a 502: unavailable, never a 500
            with pytest.raises(errors.ServiceUnavailable):
                adapter.issue({"request_no": "SJ1", "amount": 45000})
    finally:
        server.shutdown()
    assert isinstance(receipt_provider(memory_settings()), BuiltinReceipts)
    assert isinstance(receipt_provider(memory_settings(RECEIPT_SERVICE_URL="https://fs.example.invalid")),
                      ExternalReceipts)
