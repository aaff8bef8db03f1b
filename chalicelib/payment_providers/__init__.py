"""Payment providers (WeChat Pay API v3, Alipay): one adapter per provider behind
:class:`PaymentProvider` (docs/decisions/0026-payment-providers.md).

The composition root serves ``deps().payment_providers``, a :class:`Providers`::

    provider = deps().payment_providers.get("wechat")     # ProviderNotConfigured (400) if the city has none
    prepay = provider.prepay(order_id, amount_fen, "房租 2027年1月", expires_at)   # -> Prepay for the app's SDK
    payment = provider.parse_notification(headers, body, now)   # NotificationRefused(code) unless verified
    status, headers, body = provider.success_answer()           # exactly what the provider expects
    provider.query(order_id); provider.close(order_id); provider.refund(order_id, refund_id, amount, total)
    for line in provider.statement(day): ...                    # the day's trade bill (China time)

Cheap to import: the types and errors only. The adapters (``wechat``, ``alipay``) and their
cryptography, ``requests`` and ``wechatpayv3`` are imported when a provider is first used; the
merchant keys are read from Secrets Manager then (``keys``). Failures talking to a provider are
:class:`ProviderUnavailable` (503, retry later), refusals of a request :class:`ProviderRejected` (409).
The local stack and the tests run a simulator of both providers: devstack/payments.py.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from chalicelib.payment_providers.types import (
    CHINA_TZ,
    KINDS,
    PROVIDERS,
    REFUSALS,
    STATES,
    LineKind,
    NotificationRefused,
    PaymentProvider,
    PaymentState,
    Prepay,
    ProviderNotConfigured,
    ProviderPayment,
    ProviderRejected,
    ProviderUnavailable,
    StatementLine,
    fen_to_yuan,
    yuan_to_fen,
)

if TYPE_CHECKING:
    from chalicelib.config import Settings

__all__ = [
    "CHINA_TZ", "KINDS", "PROVIDERS", "REFUSALS", "STATES", "LineKind", "NotificationRefused", "PaymentProvider",
    "PaymentState", "Prepay",
    "ProviderNotConfigured", "ProviderPayment", "ProviderRejected", "ProviderUnavailable", "Providers",
    "StatementLine", "fen_to_yuan", "providers", "yuan_to_fen",
]

KEY_TTL_S = 3600.0  # a rotated merchant key is picked up within the hour
NOTIFY_PATH = "/v1/payments/{provider}/notify"


class Providers:
    """The city's providers, each built on first use from its merchant secret and kept for
    ``KEY_TTL_S`` (then rebuilt: a rotated key is read again). ``read_secret`` is Secrets Manager
    unless handed in."""

    def __init__(self, config: Settings, read_secret: Callable[[Settings, str], dict[str, Any]] | None = None) -> None:
        self.settings = config
        self._read_secret = read_secret
        self._built: dict[str, tuple[float, PaymentProvider]] = {}
        self._lock = threading.Lock()

    def configured(self) -> tuple[str, ...]:
        """The providers this city offers (those with a merchant secret configured)."""
        return tuple(p for p in PROVIDERS if self._secret_id(p))

    def get(self, name: str) -> PaymentProvider:
        secret_id = self._secret_id(name)
        if not secret_id:
            raise ProviderNotConfigured(name)
        with self._lock:
            built = self._built.get(name)
            if built and time.monotonic() - built[0] < KEY_TTL_S:
                return built[1]
        provider = self._build(name, secret_id)
        with self._lock:
            self._built[name] = (time.monotonic(), provider)
        return provider

    def notify_url(self, name: str) -> str | None:
        """Where the provider posts its notifications: the stack's public API + the notify route."""
        base = self.settings.payment_notify_base_url
        return base.rstrip("/") + NOTIFY_PATH.format(provider=name) if base else None

    def _secret_id(self, name: str) -> str | None:
        if name == "wechat":
            return self.settings.wechat_pay_secret_arn
        if name == "alipay":
            return self.settings.alipay_secret_arn
        return None

    def _build(self, name: str, secret_id: str) -> PaymentProvider:
        from chalicelib.payment_providers.keys import read_secret

        secret = (self._read_secret or read_secret)(self.settings, secret_id)
        timeout = self.settings.payment_timeout_s
        if name == "wechat":
            from chalicelib.payment_providers.wechat import WeChatPayProvider

            return WeChatPayProvider.from_secret(secret, base_url=self.settings.wechat_pay_base_url,
                                                 notify_url=self.notify_url(name), timeout_s=timeout)
        from chalicelib.payment_providers.alipay import AlipayProvider

        return AlipayProvider.from_secret(secret, gateway_url=self.settings.alipay_gateway_url,
                                          notify_url=self.notify_url(name), timeout_s=timeout)


def providers(config: Settings) -> Providers:
    """The adapter the composition root serves as ``payment_providers`` (nothing read until used)."""
    return Providers(config)
