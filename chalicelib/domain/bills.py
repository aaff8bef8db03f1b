"""Bills (账单): one per active lease and month (rent), and one deposit bill per lease at its
confirmation. A bill's amount is fixed when it is issued (rent in fen from the lease, the city's
reduction, proration of a partial first or last month); it is paid by a payment (domain/payments.py,
online through a provider or at the counter) and never changes after. Decisions: docs/decisions/0027.

Keys make a bill once: ``bill_id`` is derived from the lease and the month (``bill_key``), so a
rerun, a retry or two runs at once can only write the same bill, and only if it does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib import errors
from chalicelib.domain.lifecycle import Lifecycle, Refusal


class BillStatus(StrEnum):
    UNPAID = "unpaid"  # issued, waiting for the tenant (overdue after due_date: still unpaid)
    PAID = "paid"  # settled by a payment (online or at the counter)
    CANCELLED = "cancelled"  # withdrawn by staff (issued in error, lease ended before the month)


class BillKind(StrEnum):
    RENT = "rent"  # 租金: one month
    DEPOSIT = "deposit"  # 押金: once, at the lease's confirmation


UNPAID, PAID, CANCELLED = BillStatus.UNPAID, BillStatus.PAID, BillStatus.CANCELLED
STATUS_NAMES = {UNPAID: "待缴费", PAID: "已缴费", CANCELLED: "已作废"}
KIND_NAMES = {BillKind.RENT: "租金", BillKind.DEPOSIT: "押金"}
BILLS: Lifecycle[BillStatus] = Lifecycle(
    "bill", UNPAID, {UNPAID: {PAID, CANCELLED}, PAID: set(), CANCELLED: set()}, names=STATUS_NAMES,
    refusals=[Refusal(frozenset({PAID}), frozenset({PAID, CANCELLED}), errors.BillAlreadyPaid, "bill_ids"),
              Refusal(frozenset({CANCELLED}), frozenset({PAID}), errors.BillCancelled, "bill_ids")])


def bill_key(lease_id: str, kind: BillKind, month: str | None = None) -> str:
    """The one id a lease's bill for ``month`` (YYYY-MM) or its deposit can have."""
    return f"bil-{lease_id}-deposit" if kind == BillKind.DEPOSIT else f"bil-{lease_id}-{month}"


@dataclass(frozen=True)
class Bill:
    bill_id: str
    lease_id: str
    owner: str | None  # the tenant's login subject (None: an imported lease not yet claimed)
    kind: BillKind
    month: str | None  # YYYY-MM for rent; None for the deposit
    period_start: str | None  # the days the rent covers (a partial first/last month is prorated)
    period_end: str | None
    base_amount: int  # fen: the lease's monthly rent (or deposit) before proration
    amount: int  # fen: what is due; the only amount a payment takes
    due_date: str  # YYYY-MM-DD
    estate_id: str
    unit_id: str
    unit_label: str  # e.g. 福泽园 3栋 1201 (no personal data)
    reduction: dict[str, Any] | None = None  # the lease's {key, percent, note}, shown to the tenant
    proration: dict[str, Any] | None = None  # {"days": n, "days_in_month": m} for a partial month
    status: BillStatus = UNPAID
    run_id: str | None = None  # the billing run that issued it (None: the deposit)
    payment_id: str | None = None  # the payment that settled it
    paid_at: str | None = None
    cancel_reason: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # room for later (reminders sent, arrears flags)
