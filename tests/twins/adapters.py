"""In-memory fakes of the adapters the composition root serves (docs/decisions/0023): what the
domain handed on is recorded, nothing leaves the process."""
from __future__ import annotations

from typing import Any


class RecordingNotifier:
    """``deps().notifier``: keeps each notice in ``sent`` and answers True (handed on, as notify() does)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def notify(self, notice: Any) -> bool:
        self.sent.append(notice)
        return True

    def notify_many(self, notices: list[Any]) -> int:
        self.sent.extend(notices)
        return len(notices)

    def templates(self) -> list[str]:
        return [n.template for n in self.sent]


class RecordingWorkflow:
    """``deps().workflow``: records each run it is asked to start (``(application_id, run_id)``) and
    answers an execution ARN like Step Functions; ``fail_with`` makes the next starts raise it."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    def start_verification(self, application_id: str, run_id: str) -> str | None:
        if self.fail_with is not None:
            raise self.fail_with
        self.started.append((application_id, run_id))
        return f"arn:twin:execution:{application_id}-{run_id}"


class FakePaymentProvider:
    """One provider of :class:`RecordingPaymentProviders`: no keys, no network, the real answer shapes.

    It records every call (``calls``), answers ``query`` from what the payer did (:meth:`pay`) or
    from ``answers`` a test sets, and reads a notification made by :meth:`notification` (plain
    JSON: the signatures are the real adapters' business, tested in tests/test_payment_providers.py).
    ``refuse_with = "BAD_SIGNATURE"`` makes parse_notification refuse with that code; ``fail_with``
    makes every provider call raise it (e.g. ``ProviderUnavailable("timeout")``). ``lines[day]`` is
    the day's statement."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.merchant_id = f"twin-{name}"
        self.calls: list[tuple[Any, ...]] = []
        self.answers: dict[str, Any] = {}  # order_id -> ProviderPayment that query answers
        self.lines: dict[Any, list[Any]] = {}  # date -> [StatementLine]
        self.refuse_with: str | None = None
        self.fail_with: Exception | None = None

    def _call(self, *call: Any) -> None:
        self.calls.append(call)
        if self.fail_with is not None:
            raise self.fail_with

    def prepay(self, order_id: str, amount: int, description: str, expires_at: str) -> Any:
        from chalicelib.payment_providers import PaymentState, Prepay, ProviderPayment

        self._call("prepay", order_id, amount, description, expires_at)
        self.answers.setdefault(order_id, ProviderPayment(self.name, self.merchant_id, order_id, None, amount,
                                                          PaymentState.NOT_PAID, None))
        return Prepay(self.name, {"order_id": order_id, "amount": str(amount)})

    def pay(self, order_id: str, amount: int | None = None, at: str = "2027-01-05T02:00:00Z") -> Any:
        """What the payer does: the order is paid (``amount`` defaults to the prepaid one)."""
        from chalicelib.payment_providers import PaymentState, ProviderPayment

        known = self.answers.get(order_id)
        paid = ProviderPayment(self.name, self.merchant_id, order_id, f"twin-tx-{order_id}",
                               amount if amount is not None else (known.amount if known else 0), PaymentState.PAID, at)
        self.answers[order_id] = paid
        return paid

    def notification(self, order_id: str) -> tuple[dict[str, str], bytes]:
        """The (headers, body) of the order's current state, as the twin's parse_notification reads it."""
        import json
        from dataclasses import asdict

        return {"Content-Type": "application/json"}, json.dumps(asdict(self.answers[order_id])).encode()

    def parse_notification(self, headers: Any, body: bytes, now: Any) -> Any:
        import json

        from chalicelib.payment_providers import NotificationRefused, PaymentState, ProviderPayment

        self.calls.append(("parse_notification", len(body)))
        if self.refuse_with is not None:
            raise NotificationRefused(self.refuse_with)
        try:
            fields = json.loads(body)
            return ProviderPayment(**{**fields, "state": PaymentState(fields["state"])})
        except (KeyError, TypeError, ValueError):
            raise NotificationRefused("BAD_PAYLOAD") from None

    def success_answer(self) -> tuple[int, dict[str, str], bytes]:
        if self.name == "wechat":
            return 204, {}, b""
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"success"

    def failure_answer(self, code: str) -> tuple[int, dict[str, str], bytes]:
        from chalicelib.payment_providers import REFUSALS

        if self.name == "wechat":
            return ((400 if code in REFUSALS else 500), {"Content-Type": "application/json; charset=utf-8"},
                    '{"code": "FAIL", "message": "失败"}'.encode())
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"failure"

    def query(self, order_id: str) -> Any:
        from chalicelib.payment_providers import PaymentState, ProviderPayment

        self._call("query", order_id)
        return self.answers.get(order_id) or ProviderPayment(self.name, self.merchant_id, order_id, None, 0,
                                                              PaymentState.NOT_PAID, None)

    def close(self, order_id: str) -> None:
        from dataclasses import replace

        from chalicelib.payment_providers import PaymentState, ProviderRejected

        self._call("close", order_id)
        known = self.answers.get(order_id)
        if known is not None and known.state == PaymentState.PAID:
            raise ProviderRejected("ORDERPAID", "paid already")
        if known is not None:
            self.answers[order_id] = replace(known, state=PaymentState.CLOSED)

    def refund(self, order_id: str, refund_id: str, amount: int, total: int) -> str:
        self._call("refund", order_id, refund_id, amount, total)
        return f"twin-refund-{refund_id}"

    def statement(self, day: Any) -> Any:
        self._call("statement", day)
        return iter(self.lines.get(day, []))


class RecordingPaymentProviders:
    """``deps().payment_providers``: the city offers ``offered`` (default both), each a FakePaymentProvider."""

    def __init__(self, offered: tuple[str, ...] = ("wechat", "alipay")) -> None:
        self.providers = {name: FakePaymentProvider(name) for name in offered}

    def configured(self) -> tuple[str, ...]:
        return tuple(self.providers)

    def get(self, name: str) -> FakePaymentProvider:
        from chalicelib.payment_providers import ProviderNotConfigured

        if name not in self.providers:
            raise ProviderNotConfigured(name)
        return self.providers[name]
