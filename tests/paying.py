"""Helpers for the payment tests: bills written straight to the bills table (billing runs are the bills'
own tests), the caller's login subject, the payer's wallet (the payment simulator, devstack/payments.py)."""
from __future__ import annotations

import itertools
from typing import Any, Iterator

from tests.applying import Citizen

_months = itertools.count(1)


def subject(person: Citizen) -> str:
    import jwt

    return str(jwt.decode(person.token, options={"verify_signature": False})["sub"])


def bill(owner: str | None, amount: int = 45000, *, kind: str = "rent", status: str = "unpaid",
         unit_label: str = "福泽园 1栋 101", lease_id: str | None = None, month: str | None = None) -> Any:
    """An unpaid bill of ``owner`` (a fresh lease and month each time, unless given), stored as a billing
    run stores it."""
    from chalicelib.domain.bills import Bill, BillKind, BillStatus, bill_key
    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.repositories.bills import bill_record

    n = next(_months)
    if kind == "rent" and month is None:
        month = f"{2027 + n // 12:04d}-{n % 12 + 1:02d}"
    month = month if kind == "rent" else None
    lease_id = lease_id or new_id("lse")
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


def open_wallet(stack: Any) -> Iterator[Wallet]:
    """The payment simulator switched on for a test module (the ``wallet`` fixtures of the payments and
    the move-out tests), answering normally."""
    sim = stack.enable_payments()
    sim.set_mode("ok")
    yield Wallet(sim)
    sim.set_mode("ok")


def tenant_and_delegates(stack: Any, app: Any) -> dict[str, Any]:
    """A tenant, a stranger, and two people the tenant trusts: one may see (view), one may pay (act);
    the act delegate also acts for another tenant (``other``). ``sub``: each one's login subject."""
    from datetime import timedelta

    from chalice.test import Client

    from chalicelib.domain.common import now
    from tests.applying import call, register

    made: dict[str, Any] = {}
    with Client(app) as client:
        for key, name in (("tenant", "周明华"), ("stranger", "吴国强"), ("view", "钱卫东"), ("act", "李建国"),
                          ("other", "郑小燕")):
            made[key] = Citizen(stack, name)
            register(client, made[key])
        for key, scopes in (("view", ["view"]), ("act", ["act"])):
            status, grant = call(client, "POST", "/v1/me/grants", made["tenant"].headers(), {
                "delegate_mobile": made[key].mobile, "scopes": scopes,
                "expires_at": (now() + timedelta(days=30)).isoformat()})
            assert status == 201, grant
        # the act delegate also acts for another tenant (two tenants' bills in one order: refused)
        status, grant = call(client, "POST", "/v1/me/grants", made["other"].headers(), {
            "delegate_mobile": made["act"].mobile, "scopes": ["act"], "expires_at": (now() + timedelta(days=30)).isoformat()})
        assert status == 201, grant
    made["sub"] = {k: subject(v) for k, v in made.items() if isinstance(v, Citizen)}
    return made
