"""Helpers for the payment tests: bills written straight to the bills table (billing runs are the bills'
own tests), the caller's login subject, a city's providers handed to the domain."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Any, Iterator

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


@contextmanager
def providers(fakes: Any) -> Iterator[Any]:
    """The domain (and the app in this process) uses ``fakes`` as ``deps().payment_providers``."""
    from chalicelib import deps
    from chalicelib.composition import Container
    from chalicelib.config import settings

    with deps.use(Container(settings(), payment_providers=fakes)) as container:
        yield container
