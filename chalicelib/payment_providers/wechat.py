"""WeChat Pay API v3, App pay, one direct merchant (docs/decisions/0026-payment-providers.md).

Requests go through wechatpayv3 (``wechat_client``: it signs them with the merchant key and verifies
the answers' signatures). Notifications are verified here, in this order, each failure a
:class:`NotificationRefused` code:

1. ``Wechatpay-Serial`` names a key we hold: the WeChat Pay public key (its id) or a platform
   certificate valid now (an unknown serial downloads the certificates again, at most once a
   minute) -> else ``UNKNOWN_CERTIFICATE``;
2. ``Wechatpay-Signature`` (SHA256withRSA) over ``timestamp\\nnonce\\nbody\\n`` -> ``BAD_SIGNATURE``;
3. ``Wechatpay-Timestamp`` within ±5 minutes of ``now`` (the library does not check it: a captured
   notification replayed later is refused) -> ``STALE_TIMESTAMP``;
4. the AES-256-GCM resource decrypts with the API v3 key (the tag authenticates it) -> ``BAD_PAYLOAD``;
5. the resource is for our ``mchid`` (and ``appid``) -> ``UNKNOWN_MERCHANT``; its fields are sane -> ``BAD_PAYLOAD``.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.payment_providers.keys import WECHAT_FIELDS, require
from chalicelib.payment_providers.types import (
    NotificationRefused,
    PaymentState,
    Prepay,
    ProviderPayment,
    ProviderRejected,
    ProviderUnavailable,
    StatementLine,
    aware,
    check_order,
    check_refund,
    china_iso,
    parse_instant,
    utc_iso,
)

GATEWAY = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW_S = 300
MAX_NOTIFICATION = 64 * 1024
MAX_STATEMENT = 256 * 1024 * 1024  # decompressed; a bigger "bill" is refused, not unpacked
CERTIFICATE_REFRESH_S = 60.0  # unknown serials (anyone can send one) download at most this often
TRADE_STATES = {"SUCCESS": PaymentState.PAID, "REFUND": PaymentState.REFUNDED, "NOTPAY": PaymentState.NOT_PAID,
                "USERPAYING": PaymentState.NOT_PAID, "PAYERROR": PaymentState.NOT_PAID,
                "CLOSED": PaymentState.CLOSED, "REVOKED": PaymentState.CLOSED}
FAIL_BODY = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class WeChatMerchant:
    """The merchant secret's content (keys.py describes the JSON)."""

    mchid: str
    appid: str
    serial_no: str
    private_key: str
    apiv3_key: str
    public_key_id: str | None = None
    public_key: str | None = None
    certificates: tuple[str, ...] = ()

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> WeChatMerchant:
        require(secret, WECHAT_FIELDS, "wechat")
        if len(secret["apiv3_key"].encode()) != 32:
            raise ProviderUnavailable("the wechat API v3 key must be 32 bytes")
        certificates = tuple(c for c in secret.get("platform_certificates") or () if isinstance(c, str))
        key_id, key = secret.get("platform_public_key_id"), secret.get("platform_public_key")
        if not (key_id and key) and not certificates:
            raise ProviderUnavailable("the wechat merchant secret has no platform public key nor certificate")
        return cls(secret["mchid"], secret["appid"], secret["merchant_serial_no"], secret["merchant_private_key"],
                   secret["apiv3_key"], key_id or None, key or None, certificates)


class WeChatPayProvider:
    name = "wechat"

    def __init__(self, merchant: WeChatMerchant, *, base_url: str | None = None, notify_url: str | None = None,
                 timeout_s: float = 5.0) -> None:
        self.merchant = merchant
        self.merchant_id = merchant.mchid
        self.base_url = (base_url or GATEWAY).rstrip("/")
        self.notify_url = notify_url
        self.timeout_s = timeout_s
        self._client: Any = None
        self._keys: dict[str, Any] | None = None  # serial (upper hex) or public key id -> public key
        self._refreshed = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any], **kwargs: Any) -> WeChatPayProvider:
        return cls(WeChatMerchant.from_secret(secret), **kwargs)

    # --- paying ------------------------------------------------------------------------------------
    def prepay(self, order_id: str, amount: int, description: str, expires_at: str) -> Prepay:
        """Open the order at WeChat Pay (App) and sign what the app's SDK needs to pay it."""
        check_order(order_id, amount, description)
        if not self.notify_url:
            raise ProviderUnavailable("no notify URL configured (PAYMENT_NOTIFY_BASE_URL)")
        expire = china_iso(parse_instant(expires_at))
        client = self._wechatpay()
        status, message = self._call(lambda: client.pay(
            description=description, out_trade_no=order_id, amount={"total": amount, "currency": "CNY"},
            time_expire=expire, notify_url=self.notify_url))
        if status != 200:
            raise ProviderRejected(*_error(message))
        prepay_id = _json(message).get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ProviderUnavailable("wechat: prepay answer without prepay_id")
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16).upper()
        sign = client.sign([self.merchant.appid, timestamp, nonce, prepay_id])
        return Prepay(self.name, {"appid": self.merchant.appid, "partnerid": self.merchant.mchid,
                                  "prepayid": prepay_id, "package": "Sign=WXPay", "noncestr": nonce,
                                  "timestamp": timestamp, "sign": sign})

    # --- notifications -------------------------------------------------------------------------------
    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        h = {str(k).lower(): str(v) for k, v in headers.items()}
        signature, timestamp = h.get("wechatpay-signature", ""), h.get("wechatpay-timestamp", "")
        nonce, serial = h.get("wechatpay-nonce", ""), h.get("wechatpay-serial", "")
        if not (signature and timestamp and nonce and serial):
            raise NotificationRefused("BAD_SIGNATURE", "signature headers missing")
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise NotificationRefused("BAD_SIGNATURE", "unsupported signature type")
        if len(body) > MAX_NOTIFICATION:
            raise NotificationRefused("BAD_PAYLOAD", "too large")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotificationRefused("BAD_PAYLOAD", "not UTF-8") from None
        key = self._platform_key(serial)
        from wechatpayv3.utils import rsa_verify

        try:
            verified = rsa_verify(timestamp, nonce, text, signature, key)
        except Exception:  # noqa: BLE001 - a key of another type, a malformed signature: not verified
            verified = False
        if not verified:
            raise NotificationRefused("BAD_SIGNATURE", "signature does not verify")
        if not _TIMESTAMP.fullmatch(timestamp) or abs(aware(now).timestamp() - int(timestamp)) > MAX_SKEW_S:
            raise NotificationRefused("STALE_TIMESTAMP", "outside ±5 minutes")
        resource = self._decrypt(text)
        if resource.get("mchid") != self.merchant.mchid or resource.get("appid", self.merchant.appid) != self.merchant.appid:
            raise NotificationRefused("UNKNOWN_MERCHANT", "not for this merchant")
        try:
            return self._payment(resource)
        except (KeyError, TypeError, ValueError) as exc:
            raise NotificationRefused("BAD_PAYLOAD", str(exc)) from None

    def success_answer(self) -> tuple[int, dict[str, str], bytes]:
        return 204, {}, b""

    def failure_answer(self, code: str) -> tuple[int, dict[str, str], bytes]:
        """A refused notification is a 400; anything else (our own failure) a 500: WeChat retries both."""
        from chalicelib.payment_providers.types import REFUSALS

        return (400 if code in REFUSALS else 500), {"Content-Type": "application/json; charset=utf-8"}, FAIL_BODY

    def _platform_key(self, serial: str) -> Any:
        key = self._platform_keys().get(serial) or self._platform_keys().get(_serial(serial))
        if key is None and self._refresh_certificates():
            key = self._platform_keys().get(_serial(serial))
        if key is None:
            raise NotificationRefused("UNKNOWN_CERTIFICATE", "unknown Wechatpay-Serial")
        return key

    def _platform_keys(self) -> dict[str, Any]:
        if self._keys is None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            from chalicelib.payment_providers.types import valid_certificates  # not wechat_client: no requests here

            keys: dict[str, Any] = {}
            if self.merchant.public_key_id and self.merchant.public_key:
                keys[self.merchant.public_key_id] = load_pem_public_key(self.merchant.public_key.encode())
            for certificate in valid_certificates(self.merchant.certificates):
                keys[f"{certificate.serial_number:X}"] = certificate.public_key()
            self._keys = keys
        return self._keys

    def _refresh_certificates(self) -> bool:
        """Download the platform certificates again (a rotation), at most once a CERTIFICATE_REFRESH_S."""
        with self._lock:
            if time.monotonic() - self._refreshed < CERTIFICATE_REFRESH_S:
                return False
            self._refreshed = time.monotonic()
        core = self._wechatpay()._core
        try:
            core._update_certificates()  # GET /v3/certificates, decrypted with the API v3 key
        except Exception:  # noqa: BLE001 - unreachable now: the serial stays unknown, WeChat retries
            return False
        keys = dict(self._platform_keys())
        keys.update({f"{c.serial_number:X}": c.public_key() for c in core._certificates})
        self._keys = keys
        return True

    def _decrypt(self, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
            resource = data["resource"]
            if data.get("resource_type") != "encrypt-resource" or resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise ValueError("not an AEAD_AES_256_GCM resource")
            from wechatpayv3.utils import aes_decrypt

            plain = aes_decrypt(nonce=resource["nonce"], ciphertext=resource["ciphertext"],
                                associated_data=resource.get("associated_data") or "",
                                apiv3_key=self.merchant.apiv3_key)
            if plain is None:
                raise ValueError("the GCM tag does not authenticate")
            decrypted = json.loads(plain)
            if not isinstance(decrypted, dict):
                raise ValueError("the resource is not an object")
            return decrypted
        except Exception as exc:  # noqa: BLE001 - JSON, base64, nonce length, tag: all one answer
            raise NotificationRefused("BAD_PAYLOAD", f"resource not decrypted ({type(exc).__name__})") from None

    def _payment(self, r: Mapping[str, Any]) -> ProviderPayment:
        """A transaction (or refund) resource as a ProviderPayment; KeyError/TypeError/ValueError if insane."""
        order_id = r["out_trade_no"]
        if not isinstance(order_id, str) or not order_id:
            raise ValueError("no out_trade_no")
        if "refund_status" in r:  # a refund's notification: the order's money went back, or it stays
            state = PaymentState.REFUNDED if r["refund_status"] == "SUCCESS" else PaymentState.PAID
        else:
            state = TRADE_STATES[r["trade_state"]]
        amount = (r.get("amount") or {}).get("total", 0 if state in (PaymentState.NOT_PAID, PaymentState.CLOSED) else None)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError("amount.total is not a number of fen")
        transaction_id = r.get("transaction_id") or None
        when = r.get("success_time") if state in (PaymentState.PAID, PaymentState.REFUNDED) else None
        return ProviderPayment(self.name, self.merchant.mchid, order_id,
                               str(transaction_id) if transaction_id else None, amount, state,
                               utc_iso(parse_instant(when)) if when else None)

    # --- asking -------------------------------------------------------------------------------------
    def query(self, order_id: str) -> ProviderPayment:
        client = self._wechatpay()
        status, message = self._call(lambda: client.query(out_trade_no=order_id))
        code, detail = _error(message) if status != 200 else ("", "")
        if status == 404 or code in ("ORDER_NOT_EXIST", "ORDERNOTEXIST"):
            return ProviderPayment(self.name, self.merchant.mchid, order_id, None, 0, PaymentState.NOT_PAID, None)
        if status != 200:
            raise ProviderRejected(code, detail)
        answer = _json(message)
        if answer.get("out_trade_no") != order_id or answer.get("mchid") != self.merchant.mchid:
            raise ProviderUnavailable("wechat: the answer is about another order")
        try:
            return self._payment(answer)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable(f"wechat: answer outside the contract ({exc})") from None

    def close(self, order_id: str) -> None:
        """Close an unpaid order (closed or unknown already: done; paid: ProviderRejected)."""
        client = self._wechatpay()
        status, message = self._call(lambda: client.close(out_trade_no=order_id))
        if status in (200, 204):
            return
        code, detail = _error(message)
        if code not in ("ORDER_CLOSED", "ORDER_NOT_EXIST", "ORDERNOTEXIST"):
            raise ProviderRejected(code, detail)

    def refund(self, order_id: str, refund_id: str, amount: int, total: int) -> str:
        """Refund ``amount`` of the order's ``total`` (fen) under our ``refund_id``; WeChat's refund_id."""
        check_refund(refund_id, amount, total)
        client = self._wechatpay()
        status, message = self._call(lambda: client.refund(
            out_refund_no=refund_id, out_trade_no=order_id,
            amount={"refund": amount, "total": total, "currency": "CNY"}))
        if status != 200:
            raise ProviderRejected(*_error(message))
        provider_refund_id = _json(message).get("refund_id")
        if not isinstance(provider_refund_id, str) or not provider_refund_id:
            raise ProviderUnavailable("wechat: refund answer without refund_id")
        return provider_refund_id

    def statement(self, day: date) -> Iterator[StatementLine]:
        """The day's trade bill (ALL), downloaded, its SHA-1 checked, parsed; no trades that day: empty."""
        from chalicelib.payment_providers.statements import gunzip, wechat_lines

        client = self._wechatpay()
        status, message = self._call(lambda: client.trade_bill(bill_date=day.isoformat(), bill_type="ALL",
                                                               tar_type="GZIP"))
        if status != 200:
            code, detail = _error(message)
            if code == "NO_STATEMENT_EXIST":
                return iter(())
            if code in ("STATEMENT_CREATING", "SYSTEM_ERROR"):
                raise ProviderUnavailable(f"wechat: statement not ready ({code})")
            raise ProviderRejected(code, detail)
        info = _json(message)
        url, hash_type, hash_value = info.get("download_url"), info.get("hash_type"), info.get("hash_value")
        if not isinstance(url, str) or hash_type != "SHA1" or not isinstance(hash_value, str):
            raise ProviderUnavailable("wechat: statement answer outside the contract")
        status, content = self._call(lambda: client.download_bill(url))
        if status != 200 or not isinstance(content, bytes):
            raise ProviderUnavailable(f"wechat: statement download answered {status}")
        raw = gunzip(content, MAX_STATEMENT)
        if not secrets.compare_digest(hashlib.sha1(raw).hexdigest(), hash_value.lower()):  # noqa: S324 - WeChat's choice
            raise ProviderUnavailable("wechat: the statement's SHA-1 does not match its announced hash")
        return iter(wechat_lines(raw, self.name))

    # --- the wire -------------------------------------------------------------------------------------
    def _wechatpay(self) -> Any:
        with self._lock:
            if self._client is None:
                from chalicelib.payment_providers.wechat_client import build

                m = self.merchant
                try:
                    self._client = build(
                        mchid=m.mchid, appid=m.appid, serial_no=m.serial_no, private_key=m.private_key,
                        apiv3_key=m.apiv3_key, base_url=self.base_url, timeout_s=self.timeout_s,
                        public_key_id=m.public_key_id, public_key=m.public_key, certificates=m.certificates)
                except Exception as exc:  # noqa: BLE001 - the library's "failed to load private key."
                    raise ProviderUnavailable(f"wechat: merchant keys unusable ({exc})") from None
            return self._client

    def _call(self, request: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
        """One library call: network trouble, a 5xx or an answer whose signature fails is ProviderUnavailable."""
        import requests

        try:
            status, message = request()
        except requests.RequestException as exc:  # timeout, refused, reset
            raise ProviderUnavailable(f"wechat: {type(exc).__name__}") from None
        except Exception as exc:
            if type(exc) is not Exception:  # the library raises bare Exceptions; anything else is a bug
                raise
            raise ProviderUnavailable(f"wechat: answer refused ({exc})") from None
        if status >= 500 or status in (408, 429):
            raise ProviderUnavailable(f"wechat: HTTP {status}")
        return status, message


def _serial(serial: str) -> str:
    """A certificate serial as WeChat writes it (upper hex, no leading zeros); else as given."""
    try:
        return f"{int(serial, 16):X}"
    except ValueError:
        return serial


def _json(message: Any) -> dict[str, Any]:
    try:
        data = json.loads(message)
    except (TypeError, ValueError):
        raise ProviderUnavailable("wechat: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise ProviderUnavailable("wechat: the answer is not an object")
    return data


def _error(message: Any) -> tuple[str, str]:
    """WeChat's error answer ``{"code", "message"}`` as (code, message)."""
    try:
        data = json.loads(message)
        return str(data.get("code") or "UNKNOWN"), str(data.get("message") or "")
    except (TypeError, ValueError, AttributeError):
        return "UNKNOWN", ""
