"""Arrears (欠租): rent reminders, and what each lease owes past its due dates (docs/decisions/0029).

Reminders. A daily job reminds the tenant of each unpaid bill at the due date and then at the
city's further offsets (``reminders_days``, [0, 7, 30] by default; counted in working days where the
city says so: domain/working_days.py). It reads only the bills due on the days that remind today:
for each estate, one key-range Query of the bills' ``by_estate`` index (unpaid first, by due date).
Each reminder is marked on the bill (``extra.reminded_<offset>``, written only if absent and the
bill still unpaid) before it is sent, so a rerun of the day sends nothing twice.

Arrears. A lease owes the rent bills still unpaid after their due date: ``months`` is how many, and
``amount`` their sum in fen. ``months >= arrears_months`` (the city's rule; the national rule is 6
cumulative months) flags the lease for action. An arrears record per lease in arrears keeps this,
with the estate's totals beside it; the daily job recomputes every estate from its overdue bills
(cost: the overdue bills, not all bills) and a payment refreshes its lease at once
(:func:`refresh_lease`). The annual review asks :func:`of_lease`, computed from the lease's bills
on every call, so it is exact whatever the job last saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from typing import Any, Iterable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.bills import Bill, BillKind, BillStatus
from chalicelib.domain.common import Page, now, now_iso
from chalicelib.domain.working_days import due_dates_reminded_on


# --- the city's rules ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RentRules:
    reminders_days: tuple[int, ...] = (0, 7, 30)
    arrears_months: int = 6  # 《公共租赁住房管理办法》: 累计6个月以上拖欠租金
    working_days: bool = False


@cache
def rent_rules(city: str | None = None) -> RentRules:
    """The city's reminder and arrears settings, from its rent file (``chalicelib/cities/<city>/rent.json``:
    ``reminders_days``, ``working_days``, ``arrears_months``), as bills.rent_rules reads it."""
    from chalicelib.domain import bills

    data = bills.rent_rules(city)
    return RentRules(tuple(data.reminders_days), int(data.arrears_months), bool(data.working_days))


def today() -> date:
    return now().date()


# --- reminders ----------------------------------------------------------------------------------------
@dataclass
class ReminderRun:
    day: str
    sent: dict[int, int] = field(default_factory=dict)  # offset -> reminders sent
    skipped: int = 0  # already reminded (a rerun), or no tenant to tell (an imported lease not claimed)
    estates: int = 0


def send_reminders(day: date | None = None) -> ReminderRun:
    """The daily job: every unpaid bill whose reminder at one of the city's offsets falls on ``day``
    (default today) is reminded once."""
    rules, day = rent_rules(), day or today()
    run = ReminderRun(day.isoformat(), {offset: 0 for offset in rules.reminders_days})
    ranges = {o: r for o in rules.reminders_days if (r := due_dates_reminded_on(day, o, rules.working_days))}
    repo, stamp = deps().arrears, now_iso()
    for estate_id, _ in _estates():
        run.estates += 1
        for offset, (first, last) in ranges.items():
            for bill in repo.unpaid_due_between(estate_id, first.isoformat(), last.isoformat()):
                if bill.owner is None or f"reminded_{offset}" in bill.extra:
                    run.skipped += 1
                elif repo.mark_reminded(bill.bill_id, offset, stamp):  # False: a concurrent run marked it
                    _remind(bill, offset, day, rules.working_days)
                    run.sent[offset] += 1
                else:
                    run.skipped += 1
    return run


def _estates() -> Iterable[tuple[str, str]]:
    """Every estate of the city (id, name), a page at a time."""
    cursor: str | None = None
    while True:
        page = deps().estates.list(None, None, cursor, 100)
        yield from ((e.estate_id, e.name) for e in page.items)
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _remind(bill: Bill, offset: int, day: date, working_days: bool) -> None:
    from chalicelib.notify import Notice

    person = deps().households.get(bill.owner) if bill.owner else None
    from chalicelib.domain.bills import KIND_NAMES

    what = f"{bill.month[:4]}年{int(bill.month[5:7])}月租金" if bill.month else KIND_NAMES.get(bill.kind, "押金")
    params = {"what": what, "amount": yuan(bill.amount), "unit": bill.unit_label, "due_date": bill.due_date,
              "overdue": f"{offset}个工作日" if working_days else f"{(day - date.fromisoformat(bill.due_date)).days}天"}
    deps().notifier.notify(Notice(template="rent_due" if offset == 0 else "rent_overdue", params=params,
                                  recipient=bill.owner, mobile=person.mobile if person else None))


# --- arrears ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Owed:
    """What a lease owes on a day: its rent bills unpaid after their due date."""

    lease_id: str
    months: int = 0
    amount: int = 0  # fen
    since: str | None = None  # the oldest unpaid due date
    bill_ids: tuple[str, ...] = ()
    owner: str | None = None
    estate_id: str | None = None
    unit_label: str | None = None


@dataclass(frozen=True)
class Arrears:
    """The stored arrears of one lease (kept while it owes anything)."""

    lease_id: str
    estate_id: str
    owner: str | None
    unit_label: str
    tenant: str | None  # the tenant's name, masked (张*明)
    months: int
    amount: int
    since: str
    bill_ids: tuple[str, ...]
    flagged_at: str | None  # when months reached the city's arrears_months (None below it)
    updated_at: str
    version: int = 1

    @property
    def flagged(self) -> bool:
        return self.flagged_at is not None


@dataclass(frozen=True)
class EstateArrears:
    """An estate's totals over its leases in arrears."""

    estate_id: str
    estate_name: str | None
    leases: int
    flagged: int
    months: int
    amount: int
    updated_at: str
    version: int = 0


@dataclass(frozen=True)
class LeaseArrears:
    """What the annual review reads (:func:`of_lease`)."""

    lease_id: str
    months: int
    amount: int
    since: str | None
    flagged: bool
    threshold: int


def owed(bills: Iterable[Bill], day: date) -> dict[str, Owed]:
    """Per lease, the rent bills unpaid after their due date (before ``day``). Pure."""
    out: dict[str, Owed] = {}
    cutoff = day.isoformat()
    for b in sorted(bills, key=lambda b: (b.due_date, b.bill_id)):
        if b.status != BillStatus.UNPAID or b.kind != BillKind.RENT or b.due_date >= cutoff:
            continue
        o = out.get(b.lease_id) or Owed(b.lease_id, since=b.due_date, owner=b.owner, estate_id=b.estate_id,
                                        unit_label=b.unit_label)
        out[b.lease_id] = replace(o, months=o.months + 1, amount=o.amount + b.amount, bill_ids=(*o.bill_ids, b.bill_id))
    return out


def of_lease(lease_id: str, day: date | None = None) -> LeaseArrears:
    """A lease's arrears now, from its bills (the annual review's input)."""
    threshold = rent_rules().arrears_months
    o = owed(deps().bills.of_lease(lease_id), day or today()).get(lease_id) or Owed(lease_id)
    return LeaseArrears(lease_id, o.months, o.amount, o.since, o.months >= threshold, threshold)


def _updated(current: Arrears | None, o: Owed, at: str, tenant: str | None) -> Arrears | None:
    """The record a lease should have (None: owes nothing), or ``current`` if nothing changed."""
    if o.months == 0:
        return None
    flagged = o.months >= rent_rules().arrears_months
    flagged_at = (current.flagged_at if current and current.flagged_at else at) if flagged else None
    if current and (current.months, current.amount, current.since, current.bill_ids, current.flagged_at) == (
            o.months, o.amount, o.since, o.bill_ids, flagged_at):
        return current
    return Arrears(o.lease_id, o.estate_id or (current.estate_id if current else ""), o.owner,
                   o.unit_label or (current.unit_label if current else ""),
                   current.tenant if current else tenant, o.months, o.amount, o.since or "", o.bill_ids, flagged_at,
                   at, (current.version + 1) if current else 1)


def _tenant(lease_id: str) -> str | None:
    from chalicelib.domain.idnumbers import mask_name

    try:
        return mask_name(deps().leases.get(lease_id).tenant_name)
    except errors.NotFound:
        return None


def _save(current: Arrears | None, o: Owed, at: str) -> tuple[bool, Arrears | None]:
    """Write the lease's new state, its estate's totals moved by the difference in the same
    transaction: (False, current) if the record moved since ``current`` was read."""
    tenant = None if current else (_tenant(o.lease_id) if o.months else None)
    updated = _updated(current, o, at, tenant)
    if updated is current:
        return True, current
    return deps().arrears.save(current, updated, at), updated


def refresh_lease(lease_id: str, day: date | None = None, settled: frozenset[str] = frozenset()) -> Arrears | None:
    """Recompute one lease from its bills and store it (a payment calls this for each lease it paid
    bills of; the daily job for a lease whose record moved under it). ``settled``: bills just paid or
    cancelled, counted as such even if the index read does not show it yet (it lags the table)."""
    repo, day = deps().arrears, day or today()
    for _ in range(5):
        current = repo.get(lease_id)
        bills = [b for b in deps().bills.of_lease(lease_id) if b.bill_id not in settled]
        o = owed(bills, day).get(lease_id) or Owed(lease_id)
        saved, result = _save(current, o, now_iso())
        if saved:
            return result
    raise errors.WriteConflict(f"arrears of {lease_id} kept moving", field="lease_id")


def bills_settled(bills: Iterable[Any], day: date | None = None) -> None:
    """The leases of bills just paid (or cancelled) owe what is left. ``bills``: anything with
    ``bill_id``, ``lease_id``, ``kind`` and ``due_date`` (a Bill, a payment's bill line)."""
    day = day or today()
    rent = [b for b in bills if b.kind == BillKind.RENT]
    settled = frozenset(b.bill_id for b in rent)
    for lease_id in sorted({b.lease_id for b in rent}):
        refresh_lease(lease_id, day, settled)


def after_payment(bills: Iterable[Any], day: date | None = None) -> None:
    """The payments' hook, after a payment settled its bills: only a rent bill paid after its due
    date can change what a lease owes, so a payment on time costs nothing here. Never raises (the
    payment is done whatever happens here; the daily job recomputes every estate anyway)."""
    day = day or today()
    late = [b for b in bills if b.kind == BillKind.RENT and b.due_date < day.isoformat()]
    if not late:
        return
    try:
        bills_settled(late, day)
    except Exception as exc:  # noqa: BLE001 - a payment must not fail because its arrears could not be refreshed
        from chalicelib.observability import logger

        logger.warning("arrears not refreshed after a payment: the daily job will",
                       extra={"leases": sorted({b.lease_id for b in late}), "error": type(exc).__name__})


@dataclass
class ArrearsRun:
    day: str
    estates: int = 0
    leases: int = 0  # in arrears after the run
    flagged: int = 0
    changed: int = 0  # leases whose months or amount moved (or that fell into arrears)
    cleared: int = 0  # leases that owe nothing any more


def refresh_all(day: date | None = None) -> ArrearsRun:
    """The daily job: every estate's arrears recomputed from its overdue bills."""
    day = day or today()
    run = ArrearsRun(day.isoformat())
    for estate_id, name in _estates():
        refresh_estate(estate_id, name, day, run)
    return run


def refresh_estate(estate_id: str, name: str | None, day: date, run: ArrearsRun | None = None) -> ArrearsRun:
    """One estate: its overdue unpaid bills grouped by lease, against the stored records. Every
    write moves the estate's totals with it (one transaction), so the totals are never recomputed:
    a record that moved meanwhile (a payment) is recomputed from its lease's own bills."""
    run = run or ArrearsRun(day.isoformat())
    repo = deps().arrears
    overdue = repo.unpaid_due_between(estate_id, "0000-01-01", (day - timedelta(days=1)).isoformat())
    fresh = owed(overdue, day)
    stored = {a.lease_id: a for a in repo.of_estate(estate_id)}
    at = now_iso()
    for lease_id in sorted(set(fresh) | set(stored)):
        o, current = fresh.get(lease_id) or Owed(lease_id), stored.get(lease_id)
        saved, result = _save(current, o, at)
        if not saved:
            result = refresh_lease(lease_id, day)
        run.changed += result is not None and (current is None or (current.months, current.amount)
                                               != (result.months, result.amount))
        run.cleared += current is not None and result is None
        run.leases += result is not None
        run.flagged += result is not None and result.flagged
    run.estates += 1
    if name and (fresh or stored):
        repo.name_estate(estate_id, name)
    return run


# --- reading ------------------------------------------------------------------------------------------
def by_estate(estate_id: str, min_months: int, cursor: str | None, limit: int) -> Page[Arrears]:
    """An estate's leases in arrears of at least ``min_months`` months, most months first."""
    deps().estates.get(estate_id)  # 404 ESTATE_NOT_FOUND for an unknown estate
    return deps().arrears.page_of_estate(estate_id, min_months, cursor, limit)


def summaries(cursor: str | None, limit: int) -> Page[EstateArrears]:
    return deps().arrears.summaries(cursor, limit)


def as_dict(run: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: ({str(o): n for o, n in v.items()} if isinstance(v, dict) else v) for k, v in asdict(run).items()}
