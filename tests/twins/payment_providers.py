"""A recording fake of ``deps().payment_providers`` (chalicelib.payment_providers: one PaymentProvider
per provider), for the payments' domain tests: it keeps the orders it opened like the provider
would, "signs" the notifications it sends with a key only it and the test hold (an HMAC over
timestamp, nonce and body, as WeChat Pay signs with RSA), refuses a forged or stale one like the real
adapter does, and records every call. ``unavailable`` makes its calls time out (ProviderUnavailable).
The real adapters and their simulator (devstack/payments.py) are tested by the providers' own tests."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from chalicelib.payment_providers import (REFUSALS, NotificationRefused, Prepay, ProviderNotConfigured,
                                          ProviderPayment, ProviderRejected, ProviderUnavailable, StatementLine)

FAIL = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()


class FakeProvider:
    def __init__(self, name: str, merchant_id: str) -> None:
        self.name = name
        self.merchant_id = merchant_id
        self._key = secrets.token_bytes(32)
        self.orders: dict[str, dict[str, Any]] = {}  # order id -> amount, state, transaction_id, paid_at
        self.refunds: dict[str, dict[str, Any]] = {}  # refund id -> order id, amount, provider refund id
        self.calls: list[tuple[str, str]] = []  # (method, order id)
        self.unavailable = False
        self._lock = threading.Lock()

    # --- what the app calls -----------------------------------------------------------------------------
    def prepay(self, order_id: str, amount: int, description: str, expires_at: str) -> Prepay:
        self._call("prepay", order_id)
        assert 6 <= len(order_id) <= 32 and order_id.replace("_", "").isalnum(), order_id
        assert isinstance(amount, int) and amount > 0 and 0 < len(description) <= 127
        with self._lock:
            self.orders.setdefault(order_id, {"amount": amount, "state": "not_paid", "transaction_id": None,
                                              "paid_at": None, "expires_at": expires_at})
        return Prepay(self.name, {"prepayid": f"wx{order_id[-10:]}", "noncestr": "N" * 8, "sign": "fake"})

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        h = {k.lower(): v for k, v in headers.items()}
        timestamp, nonce, signature = h.get("x-fake-timestamp", ""), h.get("x-fake-nonce", ""), h.get("x-fake-signature", "")
        if not (timestamp.isdigit() and nonce and signature):
            raise NotificationRefused("BAD_SIGNATURE", "signature headers missing")
        if not hmac.compare_digest(signature, self._sign(timestamp, nonce, body)):
            raise NotificationRefused("BAD_SIGNATURE", "does not verify")
        if abs(now.timestamp() - int(timestamp)) > 300:
            raise NotificationRefused("STALE_TIMESTAMP", "outside ±5 minutes")
        try:
            data = json.loads(body)
            return ProviderPayment(self.name, data["merchant_id"], data["order_id"], data["transaction_id"],
                                   int(data["amount"]), data["state"], data["paid_at"])
        except (ValueError, KeyError, TypeError):
            raise NotificationRefused("BAD_PAYLOAD", "unreadable") from None

    def success_answer(self) -> tuple[int, dict[str, str], bytes]:
        return (204, {}, b"") if self.name == "wechat" else (200, {"Content-Type": "text/plain; charset=utf-8"}, b"success")

    def failure_answer(self, code: str) -> tuple[int, dict[str, str], bytes]:
        if self.name == "wechat":
            return (400 if code in REFUSALS else 500, {"Content-Type": "application/json; charset=utf-8"}, FAIL)
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"failure"

    def query(self, order_id: str) -> ProviderPayment:
        self._call("query", order_id)
        order = self.orders.get(order_id)
        if order is None:
            return ProviderPayment(self.name, self.merchant_id, order_id, None, 0, "not_paid", None)
        return ProviderPayment(self.name, self.merchant_id, order_id, order["transaction_id"], order["amount"],
                               order["state"], order["paid_at"])

    def close(self, order_id: str) -> None:
        self._call("close", order_id)
        with self._lock:
            order = self.orders.get(order_id)
            if order and order["state"] == "paid":
                raise ProviderRejected("ORDERPAID", "the order is paid")
            if order:
                order["state"] = "closed"

    def refund(self, order_id: str, refund_id: str, amount: int, total: int) -> str:
        self._call("refund", order_id)
        with self._lock:
            order = self.orders[order_id]
            assert order["state"] in ("paid", "refunded") and amount <= total == order["amount"]
            done = self.refunds.setdefault(refund_id, {"order_id": order_id, "amount": amount,
                                                       "provider_refund_id": f"50{secrets.token_hex(8)}"})
            order["state"] = "refunded"
        return str(done["provider_refund_id"])

    def statement(self, day: Any) -> Iterator[StatementLine]:
        return iter(())

    # --- what the test does (the tenant paying, the provider notifying) ---------------------------------
    def pay(self, order_id: str) -> ProviderPayment:
        """The tenant pays the order in the wallet: the provider records the trade."""
        with self._lock:
            order = self.orders[order_id]
            if order["state"] == "not_paid":
                order.update(state="paid", transaction_id=f"4200{secrets.token_hex(10)}",
                             paid_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return self.query(order_id)

    def notification(self, order_id: str, *, amount: int | None = None, merchant_id: str | None = None,
                     at: datetime | None = None, forge: bool = False, state: str | None = None) -> tuple[dict[str, str], bytes]:
        """The provider's signed notification about the order as it stands (fields overridable, to lie)."""
        order = self.orders.get(order_id) or {"amount": 1, "state": "paid", "transaction_id": "4200x", "paid_at": None}
        body = json.dumps({"merchant_id": merchant_id or self.merchant_id, "order_id": order_id,
                           "transaction_id": order["transaction_id"], "amount": order["amount"] if amount is None else amount,
                           "state": state or order["state"], "paid_at": order["paid_at"]}).encode()
        timestamp = str(int((at or datetime.now(timezone.utc)).timestamp()))
        nonce = secrets.token_hex(8)
        signature = self._sign(timestamp, nonce, body)
        if forge:
            signature = hmac.new(b"someone else's key", signature.encode(), hashlib.sha256).hexdigest()
        return ({"Content-Type": "application/json", "X-Fake-Timestamp": timestamp, "X-Fake-Nonce": nonce,
                 "X-Fake-Signature": signature}, body)

    def _sign(self, timestamp: str, nonce: str, body: bytes) -> str:
        return hmac.new(self._key, f"{timestamp}\n{nonce}\n".encode() + body + b"\n", hashlib.sha256).hexdigest()

    def _call(self, method: str, order_id: str) -> None:
        if self.unavailable:
            raise ProviderUnavailable(f"{self.name}: timed out")
        with self._lock:
            self.calls.append((method, order_id))

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)


class FakeProviders:
    """``deps().payment_providers``: ``get(name)`` as the real one (not configured: ProviderNotConfigured)."""

    def __init__(self, *names: str) -> None:
        self.providers = {n: FakeProvider(n, {"wechat": "1900000109", "alipay": "2021000000000001"}[n])
                          for n in (names or ("wechat", "alipay"))}

    def configured(self) -> tuple[str, ...]:
        return tuple(self.providers)

    def get(self, name: str) -> FakeProvider:
        if name not in self.providers:
            raise ProviderNotConfigured(name)
        return self.providers[name]
