"""What every payment provider adapter speaks (docs/decisions/0026-payment-providers.md): the
answers (:class:`Prepay`, :class:`ProviderPayment`, :class:`StatementLine`), the errors, the
:class:`PaymentProvider` protocol, and exact money and time conversions. Standard library only at
import: it costs nothing (cryptography is imported inside the one function here that needs it, and
by the adapters when used)."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from chalicelib import errors

PROVIDERS = ("wechat", "alipay")


class PaymentState(StrEnum):
    """ProviderPayment.state: what the provider says of the order (its value, not a lifecycle of ours)."""

    PAID = "paid"
    NOT_PAID = "not_paid"
    CLOSED = "closed"
    REFUNDED = "refunded"


class LineKind(StrEnum):
    """StatementLine.kind: which way the money went."""

    PAYMENT = "payment"
    REFUND = "refund"


STATES = tuple(PaymentState)
KINDS = tuple(LineKind)
#: NotificationRefused.code: why a notification was not believed.
REFUSALS = ("BAD_SIGNATURE", "STALE_TIMESTAMP", "BAD_PAYLOAD", "UNKNOWN_MERCHANT", "UNKNOWN_CERTIFICATE")
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Prepay:
    """What the app's payment SDK needs to open the provider's cashier for one order."""

    provider: str  # "wechat" | "alipay"
    # wechat (App): appid, partnerid, prepayid, package ("Sign=WXPay"), noncestr, timestamp, sign
    # alipay (App): {"order_string": the signed query string the App SDK takes}
    params: dict[str, str]


@dataclass(frozen=True)
class ProviderPayment:
    """A VERIFIED notification or the provider's answer to a query, about one of our orders.

    ``amount`` is in fen. ``state`` is one of :data:`STATES`; ``not_paid`` with ``amount == 0`` and no
    ``transaction_id``: the provider knows no such trade (an Alipay order string never opened).
    """

    provider: str
    merchant_id: str  # WeChat mchid / Alipay app_id
    order_id: str  # our out_trade_no
    transaction_id: str | None
    amount: int
    state: PaymentState  # a StrEnum: equal to "paid", "not_paid", "closed", "refunded"
    paid_at: str | None  # ISO 8601 UTC ("2026-11-30T02:00:05Z")


@dataclass(frozen=True)
class StatementLine:
    """One line of a provider's daily statement (trade bill). Amounts are positive fen: ``kind``
    says which way the money went. ``refund_id`` is OUR refund number (out_refund_no /
    out_request_no), the one reconciliation matches on."""

    provider: str
    order_id: str
    transaction_id: str
    amount: int
    kind: LineKind  # a StrEnum: equal to "payment" | "refund"
    at: str  # ISO 8601 UTC
    refund_id: str | None = None


class NotificationRefused(Exception):
    """A notification that is not believed; ``code`` is one of :data:`REFUSALS`. The notify route
    answers ``provider.failure_answer(code)`` and logs the code (never the body)."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in REFUSALS:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class ProviderUnavailable(errors.ServiceUnavailable):
    """Timeout, 5xx, network, an unverifiable answer or an unreadable key: nothing changed that we
    know of; callers answer 503 (the web table's ServiceUnavailable) and retry later."""


class ProviderRejected(errors.Conflict):
    """The provider refused the request itself (a 4xx business error such as an order already paid
    or closed); retrying the same request will not help. ``code`` is the provider's own code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class ProviderNotConfigured(errors.InvalidInput):
    """The city offers no such provider (no merchant secret configured for it)."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"no payment provider {provider!r} configured for this city", field="provider",
                         message="本市暂未开通该支付方式")
        self.provider = provider


class PaymentProvider(Protocol):
    """One merchant account at one provider (docs/decisions/0026)."""

    name: str
    merchant_id: str

    def prepay(self, order_id: str, amount: int, description: str, expires_at: str) -> Prepay: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment: ...

    def success_answer(self) -> tuple[int, dict[str, str], bytes]: ...

    def failure_answer(self, code: str) -> tuple[int, dict[str, str], bytes]: ...

    def query(self, order_id: str) -> ProviderPayment: ...

    def close(self, order_id: str) -> None: ...

    def refund(self, order_id: str, refund_id: str, amount: int, total: int) -> str: ...

    def statement(self, day: date) -> Iterator[StatementLine]: ...


# --- what we send ---------------------------------------------------------------------------------
#: Our order and refund numbers as both providers accept them (WeChat: 6-32 of [A-Za-z0-9_-|*];
#: Alipay: up to 64 of letters, digits, underscores): ``new_id("pay")`` fits.
ORDER_ID = re.compile(r"[A-Za-z0-9_]{6,32}")


def check_order(order_id: str, amount: int, description: str) -> None:
    """A prepay's arguments (a caller's bug otherwise: ValueError)."""
    if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
        raise ValueError("order_id: 6-32 letters, digits or underscores")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("amount: a positive number of fen")
    if not description or len(description) > 127:
        raise ValueError("description: 1-127 characters")


def check_refund(refund_id: str, amount: int, total: int) -> None:
    if not isinstance(refund_id, str) or not ORDER_ID.fullmatch(refund_id):
        raise ValueError("refund_id: 6-32 letters, digits or underscores")
    for value in (amount, total):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError("amount and total: positive numbers of fen")
    if amount > total:
        raise ValueError("a refund cannot exceed the order's total")


def is_loopback(url: str) -> bool:
    """The local simulator's address (never reached through an HTTP(S)_PROXY of the environment)."""
    import ipaddress
    import urllib.parse

    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def valid_certificates(pems: tuple[str, ...] | list[str]) -> list[Any]:
    """The PEM certificates that parse and are valid now (as wechatpayv3 itself keeps them)."""
    from cryptography import x509

    now = datetime.now(timezone.utc)
    out = []
    for pem in pems:
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            continue
        if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            out.append(certificate)
    return out


# --- money and time --------------------------------------------------------------------------------
_YUAN = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?")


def yuan_to_fen(text: str) -> int:
    """``"0.01"`` -> 1, ``"1"`` -> 100, ``"1234.50"`` -> 123450, exactly (Decimal, never float).
    Anything else (a sign, a third decimal, an exponent, spaces, ``"01"``) is a ValueError."""
    if not isinstance(text, str) or not _YUAN.fullmatch(text):
        raise ValueError("not an amount in yuan")
    fen = Decimal(text) * 100
    if fen != fen.to_integral_value():  # cannot happen with two decimals at most; kept as the proof
        raise ValueError("not a whole number of fen")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """1 -> ``"0.01"``, 123450 -> ``"1234.50"`` (the providers' two-decimal yuan strings)."""
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise ValueError("an amount in fen is a non-negative int")
    return f"{fen // 100}.{fen % 100:02d}"


def utc_iso(moment: datetime) -> str:
    """An aware datetime as ISO 8601 UTC to the second (``2026-11-30T02:00:05Z``)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def china_iso(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in China time (``2026-11-30T10:00:05+08:00``: WeChat's form)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime")
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an offset (``Z`` too) -> aware datetime; a naive or malformed one is a ValueError."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a time without an offset")
    return moment


def china_wall_time(text: str) -> datetime:
    """``"2026-11-30 10:00:05"`` (China time, as Alipay and both bills write it) -> aware datetime."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


def aware(now: datetime) -> datetime:
    """A clock reading as an aware datetime (a naive one is taken as UTC)."""
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
