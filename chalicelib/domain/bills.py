"""Bills (账单): one per active lease and month (rent), and one deposit bill per lease at its
confirmation. A bill's amount is fixed when it is issued (rent in fen from the lease, the city's
reduction, proration of a partial first or last month); it is paid by a payment (domain/payments.py,
online through a provider or at the counter) and never changes after. Decisions: docs/decisions/0027.

Keys make a bill once: ``bill_id`` is derived from the lease and the month (``bill_key``), so a
rerun, a retry or two runs at once can only write the same bill, and only if it does not exist.
"""
from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import Page, now
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the city file's model; pydantic stays off the read path
    from chalicelib.city_files import RentFile


class BillStatus(StrEnum):
    UNPAID = "unpaid"  # issued, waiting for the tenant (overdue after due_date: still unpaid)
    PAID = "paid"  # settled by a payment (online or at the counter)
    CANCELLED = "cancelled"  # withdrawn by staff (issued in error, lease ended before the month)


class BillKind(StrEnum):
    RENT = "rent"  # 租金: one month
    DEPOSIT = "deposit"  # 押金: once, at the lease's confirmation
    SETTLEMENT = "settlement"  # 退租结算: what the deposit did not cover at a move-out (domain/move_outs.py)


UNPAID, PAID, CANCELLED = BillStatus.UNPAID, BillStatus.PAID, BillStatus.CANCELLED
STATUS_NAMES = {UNPAID: "待缴费", PAID: "已缴费", CANCELLED: "已作废"}
KIND_NAMES = {BillKind.RENT: "租金", BillKind.DEPOSIT: "押金", BillKind.SETTLEMENT: "退租结算"}
BILLS: Lifecycle[BillStatus] = Lifecycle(
    "bill", UNPAID, {UNPAID: {PAID, CANCELLED}, PAID: set(), CANCELLED: set()}, names=STATUS_NAMES,
    refusals=[Refusal(frozenset({PAID}), frozenset({PAID, CANCELLED}), errors.BillAlreadyPaid, "bill_ids"),
              Refusal(frozenset({CANCELLED}), frozenset({PAID}), errors.BillCancelled, "bill_ids")])


def bill_key(lease_id: str, kind: BillKind, month: str | None = None) -> str:
    """The one id a lease's bill for ``month`` (YYYY-MM), its deposit or its move-out balance can have."""
    if kind in (BillKind.DEPOSIT, BillKind.SETTLEMENT):
        return f"bil-{lease_id}-{kind.value}"
    return f"bil-{lease_id}-{month}"


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


# --- issuing: a month's rent for an active lease, a lease's deposit ----------------------------------
#: Confirmed leases are spread over this many shards of the leases' sparse ``active_leases`` index
#: ("00".."31", from the lease id), so a billing run reads them in parallel, one Query page at a time
#: (docs/decisions/0027). Changing it re-shards nothing already stored: keep it.
BILLING_SHARDS = 32
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def shard_of(lease_id: str) -> str:
    """The shard of the active-leases index a lease is in (stable: a hash of its id)."""
    return f"{int(hashlib.sha256(lease_id.encode()).hexdigest()[:8], 16) % BILLING_SHARDS:02d}"


class Skipped(StrEnum):
    """Why a lease of the index gets no bill for a month."""

    NOT_ACTIVE = "not_active"  # the month is outside the lease's term, or the lease is not confirmed
    EXEMPT = "exempt"  # the rent after the reduction is 0 fen (免租): nothing to pay, no bill


@dataclass(frozen=True)
class ActiveLease:
    """What billing reads of a confirmed lease (the active_leases index's projection)."""

    lease_id: str
    owner: str | None
    confirmed: bool  # the lease's status is confirmed (the index holds only those; checked anyway)
    monthly_rent: int  # fen, after the reduction
    base_rent: int  # fen, the unit's rent before it
    reduction: dict[str, Any] | None
    start_date: str
    end_date: str
    estate_id: str
    unit_id: str
    unit_label: str
    rent_changes: tuple[dict[str, Any], ...] = ()  # a review's higher rent from a month on


def rent_for(lease: Any, month: str) -> tuple[int, int, dict[str, Any] | None]:
    """The one place that says a lease's rent for ``month``: (rent due, rent before the reduction,
    the reduction). A change from a month on (an annual review's higher rent, ``rent_changes``)
    replaces the rent and its reduction from that month; earlier months keep the old rent, even on a
    bill issued later."""
    current = [c for c in (getattr(lease, "rent_changes", None) or ()) if str(c.get("from_month")) <= month]
    if not current:
        return lease.monthly_rent, lease.base_rent, lease.reduction
    change = max(current, key=lambda c: str(c["from_month"]))
    return int(change["monthly_rent"]), int(change["monthly_rent"]), None


def rent_rules(city: str | None = None) -> RentFile:
    """The city's rent.json (validated once per process)."""
    from chalicelib.city_files import city_file

    return city_file(city or deps().settings.city_code, "rent.json")


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM`` (ValueError if it is not one)."""
    found = MONTH.match(month)
    if not found:
        raise ValueError(f"not a month: {month!r}")
    year, number = int(found.group(1)), int(found.group(2))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def prorate(amount: int, days: int, days_in_month: int) -> int:
    """``amount`` for ``days`` of a month of ``days_in_month`` days, in fen, half up."""
    return (amount * days * 2 + days_in_month) // (2 * days_in_month)


def due_date(rules: RentFile, period_start: date) -> date:
    """The city's due day of the billed month (never before the period starts), or a number of
    days after the period starts (the bill's nominal issue date)."""
    if rules.due.day_of_month is not None:
        return max(period_start.replace(day=rules.due.day_of_month), period_start)
    return period_start + timedelta(days=rules.due.days_after_issue or 0)


def rent_bill(lease: ActiveLease, month: str, run_id: str, rules: RentFile, at: str) -> Bill | Skipped:
    """The rent bill of ``lease`` for ``month``: the lease's rent (after its reduction), prorated by
    days for a partial first or last month; or why there is none."""
    first, last = month_bounds(month)
    start, end = date.fromisoformat(lease.start_date), date.fromisoformat(lease.end_date)
    period_start, period_end = max(first, start), min(last, end)
    if not lease.confirmed or period_start > period_end:
        return Skipped.NOT_ACTIVE
    days, in_month = (period_end - period_start).days + 1, last.day
    partial = days < in_month and rules.proration == "days_in_month"
    monthly, base, lease_reduction = rent_for(lease, month)
    amount = prorate(monthly, days, in_month) if partial else monthly
    if amount <= 0:
        return Skipped.EXEMPT
    reduction = None
    if lease_reduction:
        full = prorate(base, days, in_month) if partial else base
        reduction = {**lease_reduction, "amount": max(0, full - amount)}
    return Bill(
        bill_id=bill_key(lease.lease_id, BillKind.RENT, month), lease_id=lease.lease_id, owner=lease.owner,
        kind=BillKind.RENT, month=month, period_start=period_start.isoformat(), period_end=period_end.isoformat(),
        base_amount=monthly, amount=amount, due_date=due_date(rules, period_start).isoformat(),
        estate_id=lease.estate_id, unit_id=lease.unit_id, unit_label=lease.unit_label, reduction=reduction,
        proration={"days": days, "days_in_month": in_month} if partial else None, run_id=run_id,
        created_at=at, updated_at=at)


def deposit_bill(lease: Any, at: str) -> Bill | None:
    """The deposit (押金) of a lease being confirmed, due when the lease starts (or today, if it
    started already); None when the lease asks for no deposit."""
    if lease.deposit <= 0:
        return None
    due = max(date.fromisoformat(lease.start_date), date.fromisoformat(at[:10]))
    return Bill(
        bill_id=bill_key(lease.lease_id, BillKind.DEPOSIT), lease_id=lease.lease_id, owner=lease.owner,
        kind=BillKind.DEPOSIT, month=None, period_start=None, period_end=None, base_amount=lease.deposit,
        amount=lease.deposit, due_date=due.isoformat(), estate_id=lease.estate_id, unit_id=lease.unit_id,
        unit_label=unit_label(lease.estate_name, lease.building_name, lease.number), created_at=at, updated_at=at)


def unit_label(estate_name: str, building_name: str, number: str) -> str:
    return f"{estate_name}{building_name}{number}"


# --- the tenant and their delegates ----------------------------------------------------------------
def mine(actor: Actor, cursor: str | None, limit: int) -> Page[Bill]:
    """My bills: unpaid first (the oldest due first), then the history (the newest first)."""
    return deps().bills.of_owner(actor.subject, cursor, limit)


def get(bill_id: str, actor: Actor) -> Bill:
    """One bill: its tenant, or a delegate whose live grant from the tenant lets them see; anyone
    else is told it does not exist."""
    bill = deps().bills.get(bill_id)
    if bill.owner is not None and bill.owner != actor.subject:
        grant = deps().grants.between(bill.owner, actor.subject)
        if grant is None:
            raise errors.BillNotFound(bill_id, field="bill_id")
        from chalicelib.domain.grants import check

        check(grant, "view")
    elif bill.owner is None:
        raise errors.BillNotFound(bill_id, field="bill_id")
    return bill


def delegated(actor: Actor, grant_id: str, cursor: str | None, limit: int) -> Page[Bill]:
    """The grantor's bills, for the delegate holding ``grant_id`` (as /v1/me/bills shows them)."""
    from chalicelib.domain.grants import usable

    grant = usable(actor, grant_id, "view")
    return deps().bills.of_owner(grant["grantor"], cursor, limit)


def overdue(bill: Bill) -> bool:
    return bill.status == UNPAID and bill.due_date < now().date().isoformat()
