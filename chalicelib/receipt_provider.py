"""The receipt provider (票据) adapter: the built-in payment voucher by default, or the city's external
non-tax e-receipt (非税电子票据) / e-invoice service (issue 11 §3, docs/decisions/0028).

The composition root serves it as ``deps().receipt_provider``; receipts.issue_external calls
``issue(request)`` after a payment is settled and stores the number it answers on the payment.

- :class:`BuiltinReceipts` (no service configured): the voucher the app makes (domain/receipts.py) is
  the receipt; nothing is asked of anyone.
- :class:`ExternalReceipts` (``RECEIPT_SERVICE_URL``): one signed HTTPS call per payment::

      POST {base}/receipts   {"request_no", "payer", "payee", "amount" (fen), "paid_at", "items": [...]}
          -> {"receipt_no", "url"}

  signed like the other adapters (``X-Timestamp``, ``X-Signature``: hex HMAC-SHA256 of timestamp +
  "\\n" + body) with the key in ``RECEIPT_SECRET_ARN`` (Secrets Manager). ``request_no`` is our
  voucher number: asking again for the same payment answers the receipt issued before (the
  provincial platforms de-duplicate on the payer's request number). Each province's platform has its
  own field names; this is the shape a city's integration maps onto. Any transport failure, 5xx or
  answer outside the contract is ServiceUnavailable: the payment keeps its voucher and the sweep asks
  again.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from chalicelib import errors

if TYPE_CHECKING:
    from chalicelib.config import Settings

MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class IssuedReceipt:
    number: str
    url: str | None = None


class ReceiptProvider(Protocol):
    name: str

    def issue(self, request: Mapping[str, Any]) -> IssuedReceipt: ...


class BuiltinReceipts:
    """No external service: the app's own voucher is the receipt."""

    name = "builtin"

    def issue(self, request: Mapping[str, Any]) -> IssuedReceipt:
        return IssuedReceipt(str(request["request_no"]))


class ExternalReceipts:
    """A province's e-receipt platform over HTTPS (the contract above)."""

    name = "external"

    def __init__(self, base_url: str, secret_arn: str | None, timeout_s: float = 5.0) -> None:
        self.base_url, self.secret_arn, self.timeout_s = base_url.rstrip("/"), secret_arn, timeout_s

    def issue(self, request: Mapping[str, Any]) -> IssuedReceipt:
        import urllib.error
        import urllib.request

        from chalicelib.departments import is_loopback
        from chalicelib.departments.contract import sign

        url = self.base_url + "/receipts"
        body = json.dumps(dict(request), ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        outgoing = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Timestamp": timestamp,
            "X-Signature": sign(self._key(url), timestamp, body)})
        handlers: list[Any] = [urllib.request.ProxyHandler({})] if is_loopback(url) else []
        try:
            with urllib.request.build_opener(*handlers).open(outgoing, timeout=self.timeout_s) as response:
                raw = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            raise errors.ServiceUnavailable(f"receipt service answered {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise errors.ServiceUnavailable(f"receipt service unreachable ({type(exc).__name__})") from None
        try:
            answer = json.loads(raw) if len(raw) <= MAX_ANSWER else None
        except ValueError:
            answer = None
        number = answer.get("receipt_no") if isinstance(answer, dict) else None
        if not isinstance(number, str) or not 0 < len(number) <= 64:
            raise errors.ServiceUnavailable("receipt service answer outside the contract")
        link = answer.get("url") if isinstance(answer, dict) else None
        return IssuedReceipt(number, link if isinstance(link, str) else None)

    def _key(self, url: str) -> str:
        import os

        from chalicelib.departments import is_loopback

        if self.secret_arn:
            from chalicelib.departments import _secret
            from chalicelib.departments.contract import DepartmentError

            try:
                return _secret(self.secret_arn)
            except DepartmentError:
                raise errors.ServiceUnavailable("receipt service key unavailable") from None
        key = os.environ.get("RECEIPT_SERVICE_KEY")
        if key:
            return key
        if is_loopback(url):
            return "local-simulator-key"
        raise errors.ServiceUnavailable("no signing key configured for the receipt service")


def receipt_provider(config: Settings) -> ReceiptProvider:
    """The external service when the stage configures one (``RECEIPT_SERVICE_URL``), else the built-in."""
    if config.receipt_service_url:
        return ExternalReceipts(config.receipt_service_url, config.receipt_secret_arn)
    return BuiltinReceipts()
