"""Alipay (支付宝开放平台, App pay), RSA2 directly on ``cryptography`` (docs/decisions/0026).

RSA2 is SHA256withRSA, PKCS#1 v1.5, base64, over the parameters sorted by name and joined as
``k=v&k=v`` with their raw (decoded) values, empty values left out: a request is signed without
``sign``; a notification is verified without ``sign`` and ``sign_type``; an answer is verified over
the exact JSON text of its ``<method>_response`` member. python-alipay-sdk was not taken: sdist
only, with pycryptodomex and pyOpenSSL for what ``cryptography`` (already shipped for JWTs) does.

Notifications carry no signed freshness we may enforce (Alipay re-sends the same notification for
25 hours): a replay is a genuine notification again, and settling is idempotent.
"""
from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.payment_providers.keys import ALIPAY_FIELDS, require
from chalicelib.payment_providers.types import (
    CHINA_TZ,
    NotificationRefused,
    PaymentState,
    Prepay,
    ProviderPayment,
    ProviderRejected,
    ProviderUnavailable,
    StatementLine,
    ORDER_ID,
    check_order,
    check_refund,
    china_wall_time,
    fen_to_yuan,
    is_loopback,
    parse_instant,
    utc_iso,
    yuan_to_fen,
)

GATEWAY = "https://openapi.alipay.com/gateway.do"
TRADE_STATES = {"WAIT_BUYER_PAY": PaymentState.NOT_PAID, "TRADE_CLOSED": PaymentState.CLOSED,
                "TRADE_SUCCESS": PaymentState.PAID, "TRADE_FINISHED": PaymentState.PAID}
ANSWER_HEADERS = {"Content-Type": "text/plain; charset=utf-8"}
MAX_NOTIFICATION = 64 * 1024
MAX_ANSWER = 1024 * 1024
MAX_STATEMENT = 64 * 1024 * 1024  # the zip as downloaded
GBK = ("gbk", "gb2312", "gb18030")


@dataclass(frozen=True)
class AlipayMerchant:
    """The merchant secret's content (keys.py describes the JSON)."""

    app_id: str
    app_private_key: str
    alipay_public_key: str
    seller_id: str | None = None

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> AlipayMerchant:
        require(secret, ALIPAY_FIELDS, "alipay")
        return cls(secret["app_id"], secret["app_private_key"], secret["alipay_public_key"],
                   secret.get("seller_id") or None)


# --- RSA2 ----------------------------------------------------------------------------------------
def signing_content(params: Mapping[str, str], leave_out: tuple[str, ...] = ("sign",)) -> str:
    """``k=v&...`` sorted by key, raw values, empty ones and ``leave_out`` left out."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in leave_out and params[k] not in ("", None))


def load_private_key(text: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

    if "-----BEGIN" in text:
        return load_pem_private_key(text.encode(), password=None)
    return load_der_private_key(base64.b64decode("".join(text.split())), password=None)  # Alipay's bare base64


def load_public_key(text: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    if "-----BEGIN" in text:
        return load_pem_public_key(text.encode())
    return load_der_public_key(base64.b64decode("".join(text.split())))


def rsa2_sign(private_key: Any, content: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import SHA256

    return base64.b64encode(private_key.sign(content.encode("utf-8"), PKCS1v15(), SHA256())).decode()


def rsa2_verify(public_key: Any, content: str, sign: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import SHA256

    try:
        public_key.verify(base64.b64decode(sign, validate=True), content.encode("utf-8"), PKCS1v15(), SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def response_text(text: str, member: str) -> str | None:
    """The exact JSON text of ``member``'s value in ``text`` (what Alipay signed), or None."""
    at = text.find(f'"{member}"')
    if at < 0:
        return None
    colon = text.find(":", at + len(member) + 2)
    start = colon + 1
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return text[start:end]


class AlipayProvider:
    name = "alipay"

    def __init__(self, merchant: AlipayMerchant, *, gateway_url: str | None = None, notify_url: str | None = None,
                 timeout_s: float = 5.0) -> None:
        self.merchant = merchant
        self.merchant_id = merchant.app_id
        self.gateway_url = gateway_url or GATEWAY
        self.notify_url = notify_url
        self.timeout_s = timeout_s
        self._keys: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any], **kwargs: Any) -> AlipayProvider:
        return cls(AlipayMerchant.from_secret(secret), **kwargs)

    # --- paying ------------------------------------------------------------------------------------
    def prepay(self, order_id: str, amount: int, description: str, expires_at: str) -> Prepay:
        """The signed order string the Alipay App SDK takes (no call to Alipay: the trade exists there
        once the payer opens it; ``time_expire`` bounds when that may happen)."""
        check_order(order_id, amount, description)
        if not self.notify_url:
            raise ProviderUnavailable("no notify URL configured (PAYMENT_NOTIFY_BASE_URL)")
        expire = parse_instant(expires_at).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
        params = self._common("alipay.trade.app.pay", {
            "out_trade_no": order_id, "total_amount": fen_to_yuan(amount), "subject": description,
            "product_code": "QUICK_MSECURITY_PAY", "time_expire": expire})
        params["notify_url"] = self.notify_url
        params["sign"] = rsa2_sign(self._private_key(), signing_content(params))
        return Prepay(self.name, {"order_string": urllib.parse.urlencode(params)})

    # --- notifications -------------------------------------------------------------------------------
    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        params = _form(body)
        sign, sign_type = params.pop("sign", ""), params.pop("sign_type", "RSA2")
        if not sign or sign_type != "RSA2":
            raise NotificationRefused("BAD_SIGNATURE", "no RSA2 signature")
        if not rsa2_verify(self._public_key(), signing_content(params), sign):
            raise NotificationRefused("BAD_SIGNATURE", "signature does not verify")
        if params.get("app_id") != self.merchant.app_id:
            raise NotificationRefused("UNKNOWN_MERCHANT", "another app_id")
        if self.merchant.seller_id and params.get("seller_id") != self.merchant.seller_id:
            raise NotificationRefused("UNKNOWN_MERCHANT", "another seller_id")
        try:
            return self._payment(params, refund_fee=params.get("refund_fee"))
        except (KeyError, ValueError) as exc:
            raise NotificationRefused("BAD_PAYLOAD", str(exc)) from None

    def success_answer(self) -> tuple[int, dict[str, str], bytes]:
        return 200, dict(ANSWER_HEADERS), b"success"

    def failure_answer(self, code: str) -> tuple[int, dict[str, str], bytes]:
        """Anything but ``success`` makes Alipay deliver again (8 times over 25 hours)."""
        return 200, dict(ANSWER_HEADERS), b"failure"

    def _payment(self, r: Mapping[str, Any], refund_fee: str | None = None) -> ProviderPayment:
        order_id = r["out_trade_no"]
        if not ORDER_ID.fullmatch(order_id or ""):
            raise ValueError("out_trade_no is not one of our order ids")
        state = TRADE_STATES[r["trade_status"]]
        if state == PaymentState.CLOSED and refund_fee and yuan_to_fen(refund_fee) > 0:
            state = PaymentState.REFUNDED  # a fully refunded trade closes
        amount = yuan_to_fen(r["total_amount"])
        paid = state in (PaymentState.PAID, PaymentState.REFUNDED)
        when = (r.get("gmt_payment") or r.get("send_pay_date")) if paid else None
        return ProviderPayment(self.name, self.merchant.app_id, order_id, r.get("trade_no") or None, amount,
                               state, utc_iso(china_wall_time(when)) if when else None)

    # --- asking -------------------------------------------------------------------------------------
    def query(self, order_id: str) -> ProviderPayment:
        answer = self._call("alipay.trade.query", {"out_trade_no": order_id})
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return ProviderPayment(self.name, self.merchant.app_id, order_id, None, 0, PaymentState.NOT_PAID, None)
        _succeeded(answer)
        if answer.get("out_trade_no") != order_id:
            raise ProviderUnavailable("alipay: the answer is about another order")
        try:
            return self._payment(answer)
        except (KeyError, ValueError) as exc:
            raise ProviderUnavailable(f"alipay: answer outside the contract ({exc})") from None

    def close(self, order_id: str) -> None:
        """Close an unpaid trade; one never opened (TRADE_NOT_EXIST) needs nothing."""
        answer = self._call("alipay.trade.close", {"out_trade_no": order_id})
        if answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            _succeeded(answer)

    def refund(self, order_id: str, refund_id: str, amount: int, total: int) -> str:
        """Refund under our ``refund_id`` (out_request_no). Alipay numbers no refund of its own: the
        answer is ``"{trade_no}:{refund_id}"``, what identifies the refund there."""
        check_refund(refund_id, amount, total)
        answer = self._call("alipay.trade.refund", {"out_trade_no": order_id, "refund_amount": fen_to_yuan(amount),
                                                    "out_request_no": refund_id})
        _succeeded(answer)
        trade_no = answer.get("trade_no")
        if not isinstance(trade_no, str) or not trade_no:
            raise ProviderUnavailable("alipay: refund answer without trade_no")
        return f"{trade_no}:{refund_id}"

    def statement(self, day: date) -> Iterator[StatementLine]:
        """The day's trade bill: a signed answer names the file, the zip is downloaded and parsed."""
        from chalicelib.payment_providers.statements import alipay_lines

        answer = self._call("alipay.data.dataservice.bill.downloadurl.query",
                            {"bill_type": "trade", "bill_date": day.isoformat()})
        if answer.get("sub_code") == "isp.bill_not_exist":
            return iter(())
        _succeeded(answer)
        url = answer.get("bill_download_url")
        if not isinstance(url, str) or not (url.startswith("https://") or is_loopback(url)):
            raise ProviderUnavailable("alipay: no usable bill_download_url")
        return iter(alipay_lines(self._get(url, MAX_STATEMENT), self.name))

    # --- the wire -------------------------------------------------------------------------------------
    def _common(self, method: str, biz: dict[str, Any]) -> dict[str, str]:
        return {"app_id": self.merchant.app_id, "method": method, "format": "JSON", "charset": "utf-8",
                "sign_type": "RSA2", "timestamp": datetime.now(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                "version": "1.0", "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":"))}

    def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        """One gateway call; the answer's ``<method>_response`` once its signature verifies."""
        params = self._common(method, biz)
        params["sign"] = rsa2_sign(self._private_key(), signing_content(params))
        raw = self._post(urllib.parse.urlencode(params).encode())
        try:
            text = raw.decode("utf-8")
            data = json.loads(text)
        except ValueError:
            raise ProviderUnavailable("alipay: the answer is not JSON") from None
        member = method.replace(".", "_") + "_response"
        signed = response_text(text, member) if isinstance(data, dict) else None
        if signed is None or not isinstance(data.get(member), dict):
            raise ProviderUnavailable(f"alipay: no {member} in the answer")
        if not rsa2_verify(self._public_key(), signed, str(data.get("sign") or "")):
            raise ProviderUnavailable("alipay: the answer's signature does not verify")
        answer: dict[str, Any] = data[member]
        return answer

    def _post(self, body: bytes) -> bytes:
        return self._open(self.gateway_url, body, MAX_ANSWER)

    def _get(self, url: str, limit: int) -> bytes:
        return self._open(url, None, limit)

    def _open(self, url: str, body: bytes | None, limit: int) -> bytes:
        import http.client
        import urllib.error
        import urllib.request

        request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET", headers={
            "Content-Type": "application/x-www-form-urlencoded;charset=utf-8"} if body is not None else {})
        handlers: list[Any] = [urllib.request.ProxyHandler({})] if is_loopback(url) else []
        try:
            with urllib.request.build_opener(*handlers).open(request, timeout=self.timeout_s) as response:
                raw: bytes = response.read(limit + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ProviderUnavailable(f"alipay: HTTP {exc.code}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:  # timeout, refused, reset, bad status
            raise ProviderUnavailable(f"alipay: {type(exc).__name__}") from None
        if len(raw) > limit:
            raise ProviderUnavailable("alipay: answer too large")
        return raw

    def _private_key(self) -> Any:
        return self._load()[0]

    def _public_key(self) -> Any:
        return self._load()[1]

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._keys is None:
                try:
                    self._keys = (load_private_key(self.merchant.app_private_key),
                                  load_public_key(self.merchant.alipay_public_key))
                except (ValueError, TypeError) as exc:
                    raise ProviderUnavailable(f"alipay: merchant keys unusable ({type(exc).__name__})") from None
            return self._keys


def _succeeded(answer: Mapping[str, Any]) -> None:
    """Code 10000, else: Alipay busy (20000, ``*.SYSTEM_ERROR``, ``isp.*``) is ProviderUnavailable,
    anything else the provider refusing (ProviderRejected with its sub_code)."""
    if answer.get("code") == "10000":
        return
    code, sub_code = str(answer.get("code") or ""), str(answer.get("sub_code") or "")
    if code == "20000" or sub_code.startswith("isp.") or sub_code.endswith("SYSTEM_ERROR"):
        raise ProviderUnavailable(f"alipay: busy ({sub_code or code})")
    raise ProviderRejected(sub_code or code, str(answer.get("sub_msg") or answer.get("msg") or ""))


def _form(body: bytes) -> dict[str, str]:
    """A form-encoded notification; its ``charset`` parameter says how to read the values."""
    if len(body) > MAX_NOTIFICATION:
        raise NotificationRefused("BAD_PAYLOAD", "too large")
    try:
        text = body.decode("utf-8")  # the form itself is ASCII (percent-encoded); the values are in ``charset``
        charset = dict(urllib.parse.parse_qsl(text, errors="replace")).get("charset", "utf-8").lower()
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict",
                                       encoding="gb18030" if charset in GBK else "utf-8")
    except (UnicodeDecodeError, ValueError):
        raise NotificationRefused("BAD_PAYLOAD", "not a form") from None
    params = dict(pairs)
    if len(params) != len(pairs) or not params:
        raise NotificationRefused("BAD_PAYLOAD", "empty, or a parameter given twice")
    return params
