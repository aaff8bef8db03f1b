"""Helpers for the payment tests: bills written straight to the bills table (billing runs are the bills'
own tests), the caller's login subject, the payer's wallet (the payment simulator, devstack/payments.py)."""
from __future__ import annotations

import itertools
from typing import Any

from tests.applying import Citizen

_months = itertools.count(1)


def subject(person: Citizen) -> str:
    import jwt

    return str(jwt.decode(person.token, options={"verify_signature": False})["sub"])


def bill(owner: str | None, amount: int = 45000, *, kind: str = "rent", status: str = "unpaid",
         unit_label: str = "福泽园 1栋 101") -> Any:
    """An unpaid bill of ``owner`` (a fresh lease and month each time), stored as a billing run stores it."""
    from chalicelib.domain.bills import Bill, BillKind, BillStatus, bill_key
    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.repositories.bills import bill_record

    n = next(_months)
    month = f"{2027 + n // 12:04d}-{n % 12 + 1:02d}" if kind == "rent" else None
    lease_id = new_id("lse")
    b = Bill(bill_id=bill_key(lease_id, BillKind(kind), month), lease_id=lease_id, owner=owner, kind=BillKind(kind),
             month=month, period_start=None, period_end=None, base_amount=amount, amount=amount,
             due_date=f"{month or '2027-01'}-10", estate_id="fuzeyuan", unit_id="unt_test", unit_label=unit_label,
             status=BillStatus(status), created_at=now_iso(), updated_at=now_iso())
    bill_record(b).save()
    return b


class Wallet:
    """The payer's wallet and the providers, played by the payment simulator (devstack/payments.py,
    WeChat Pay and Alipay on loopback) that the app's real adapters talk to: it pays an order, and
    hands the notification a provider would post (signed with its own keys, or forged on purpose)."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def pay(self, made: dict[str, Any]) -> None:
        """The tenant pays the order in the wallet (Alipay: the App opens the order string first); no
        notification is posted: the test delivers it (``notification``)."""
        if made["provider"] == "alipay":
            self.sim.open_alipay(made["prepay"]["params"]["order_string"])
        self.sim.pay(made["payment_id"], deliver="never")

    def notification(self, payment_id: str, kind: str = "normal") -> tuple[dict[str, str], bytes]:
        return self.sim.notification(payment_id, kind=kind)  # type: ignore[no-any-return]

    def state(self, payment_id: str) -> str:
        return str(self.sim.order(payment_id).state)

    def refunds(self, payment_id: str) -> list[Any]:
        return list(self.sim.order(payment_id).refunds)

    def orders(self) -> int:
        return len(self.sim.orders)
