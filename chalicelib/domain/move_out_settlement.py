"""A move-out's settlement (退租结算, docs/decisions/0030): the final statement and the deposit.

The statement is money in integer fen, each line explained in zh-CN, from the lease's bills:
- the deposit paid is a credit (an unpaid deposit bill is cancelled: nothing was held);
- rent bills of months before the move-out still unpaid are charged (and cancelled: the statement
  takes them over, so nothing is owed twice);
- the move-out month's rent runs to the move-out date, prorated by ``bills.rent_bill`` itself (the
  billing's one proration): charged if its bill is unpaid or not issued, and the part after the date
  credited if it was paid already;
- rent of months after it is cancelled if unpaid, credited if paid;
- each damage of the inspection is charged.
Credits minus charges is refunded; a shortfall is one balance bill (``settlement`` kind) the tenant
pays like any bill. The move-out (inspected -> settled), the cancelled bills (each conditional on
being unpaid) and the balance bill are one transaction (repositories/move_outs.py).

The refund goes back through the provider the deposit was paid with (its payment's order, under a
refund number derived from the move-out: asking twice refunds once), or at the counter when the
deposit was paid there or the provider cannot take it (staff record the receipt number).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.bills import (CANCELLED as BILL_CANCELLED, PAID as BILL_PAID, UNPAID, ActiveLease, Bill,
                                     BillKind, Skipped, bill_key, rent_bill, rent_rules)
from chalicelib.domain.move_outs import (COMPLETED, MOVE_OUTS, SETTLED, MoveOut, RefundState, _audit, _event,
                                         _refresh_arrears, _tell, _yuan, get, no_open_payment, rules)
from chalicelib.identity import Actor
from chalicelib.observability import logger

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import MoveOutRefundIn

CHARGE, CREDIT = "charge", "credit"


def _month_name(month: str) -> str:
    return f"{month[:4]}年{int(month[5:7])}月"


def _line(kind: str, direction: str, amount: int, label: str, bill_id: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "direction": direction, "amount": amount, "label": label, "bill_id": bill_id}


def final_rent(lease: Any, move_out_date: date, at: str) -> Bill | None:
    """The move-out month's rent up to the move-out date, as the billing would issue it for a lease
    ending that day (None: nothing is due that month, e.g. an exempt lease)."""
    end = min(move_out_date, date.fromisoformat(lease.end_date))
    active = ActiveLease(
        lease_id=lease.lease_id, owner=lease.owner, confirmed=True, monthly_rent=lease.monthly_rent,
        base_rent=lease.base_rent, reduction=lease.reduction, start_date=lease.start_date, end_date=end.isoformat(),
        estate_id=lease.estate_id, unit_id=lease.unit_id, unit_label="")
    made = rent_bill(active, f"{end:%Y-%m}", "move_out", rent_rules(), at)
    return None if isinstance(made, Skipped) else made


def statement(lease: Any, bills: list[Bill], move_out_date: date, damages: list[dict[str, Any]],
              at: str) -> dict[str, Any]:
    """The final statement (pure: the lease, its bills, the date, the damages): lines, totals, the
    bills it cancels, what is refunded or left to pay."""
    month = f"{move_out_date:%Y-%m}"
    lines: list[dict[str, Any]] = []
    cancel: list[str] = []
    final = final_rent(lease, move_out_date, at)
    due_final = final.amount if final else 0
    final_bill = None
    for b in sorted(bills, key=lambda x: (x.kind.value, x.month or "")):
        if b.status == BILL_CANCELLED or b.kind == BillKind.SETTLEMENT:
            continue
        if b.kind == BillKind.DEPOSIT:
            if b.status == BILL_PAID:
                lines.append(_line("deposit", CREDIT, b.amount, f"押金（已缴 {_yuan(b.amount)} 元）", b.bill_id))
            else:
                cancel.append(b.bill_id)  # never paid: nothing held, nothing owed
            continue
        m = b.month or ""
        if m < month:
            if b.status == UNPAID:
                lines.append(_line("rent", CHARGE, b.amount, f"{_month_name(m)}租金（未缴，并入结算）", b.bill_id))
                cancel.append(b.bill_id)
        elif m == month:
            final_bill = b
        elif b.status == UNPAID:
            cancel.append(b.bill_id)  # a month after the move-out: not owed
        else:
            lines.append(_line("rent_refund", CREDIT, b.amount, f"{_month_name(m)}租金（退租后月份，已缴退还）", b.bill_id))
    period = ""
    if final is not None:
        period = f"{final.period_start} 至 {final.period_end}"
        if final.proration:
            period += f"，按 {final.proration['days']}/{final.proration['days_in_month']} 天折算"
    if final_bill is not None and final_bill.status == BILL_PAID:
        over = final_bill.amount - due_final
        if over > 0:
            lines.append(_line("rent_refund", CREDIT, over, f"{_month_name(month)}租金已缴 {_yuan(final_bill.amount)} 元，"
                               f"应缴 {_yuan(due_final)} 元（{period or '退租日前无租期'}），多缴部分退还", final_bill.bill_id))
        elif over < 0:
            lines.append(_line("rent", CHARGE, -over, f"{_month_name(month)}租金差额（{period}）", final_bill.bill_id))
    else:
        if final_bill is not None:
            cancel.append(final_bill.bill_id)  # replaced by the prorated line
        if due_final > 0:
            lines.append(_line("rent", CHARGE, due_final, f"{_month_name(month)}租金（{period}）",
                               final_bill.bill_id if final_bill else None))
    for d in damages:
        note = f"（{d['note']}）" if d.get("note") else ""
        lines.append(_line("damage", CHARGE, int(d["amount"]), f"损坏赔偿：{d['item']}{note}"))
    charges = sum(x["amount"] for x in lines if x["direction"] == CHARGE)
    credits = sum(x["amount"] for x in lines if x["direction"] == CREDIT)
    return {"move_out_date": move_out_date.isoformat(), "lines": lines, "charges": charges, "credits": credits,
            "refund_amount": max(credits - charges, 0), "balance_amount": max(charges - credits, 0),
            "cancelled_bill_ids": cancel, "summary": _summary(charges, credits)}


def _summary(charges: int, credits: int) -> str:
    if credits > charges:
        return f"应收 {_yuan(charges)} 元，应退 {_yuan(credits)} 元，抵扣后退还 {_yuan(credits - charges)} 元"
    if charges > credits:
        return f"应收 {_yuan(charges)} 元，押金等抵扣 {_yuan(credits)} 元，尚需缴纳 {_yuan(charges - credits)} 元"
    return f"应收 {_yuan(charges)} 元与押金等抵扣 {_yuan(credits)} 元相抵，无需退补"


def refund_way(mo: MoveOut, bills: list[Bill], amount: int) -> dict[str, Any] | None:
    """How ``amount`` goes back: through the provider whose payment paid the deposit (its order, a
    refund number derived from the move-out), or at the counter."""
    if amount <= 0:
        return None
    base = {"amount": amount, "status": RefundState.PENDING.value,
            "refund_id": "rmo_" + mo.move_out_id.removeprefix("mvo_")}
    deposit = next((b for b in bills if b.kind == BillKind.DEPOSIT and b.status == BILL_PAID), None)
    if deposit is not None and deposit.payment_id:
        from chalicelib.domain.payments import ONLINE, PAID

        try:
            payment = deps().payments.get(deposit.payment_id)
        except errors.PaymentNotFound:
            payment = None
        if payment is not None and payment.provider in ONLINE and payment.status == PAID and amount <= payment.amount:
            return {**base, "method": "provider", "provider": payment.provider, "payment_id": payment.payment_id,
                    "payment_amount": payment.amount}
    return {**base, "method": "counter", "provider": None, "payment_id": None, "payment_amount": None}


def settle(move_out_id: str, actor: Actor, version: int, reason: str | None = None) -> MoveOut:
    """Staff settle an inspected move-out once. A retry of the same settle (the version it was sent
    with) answers the settled move-out and asks for a refund not confirmed yet, under the same refund
    number (refunded once)."""
    mo = get(move_out_id)
    if _retry_of(mo, version):
        return refund(mo)  # a retry: the refund (if not confirmed) asked again under the same number
    to = MOVE_OUTS.move(mo.status, SETTLED)  # settled already: 409 MOVE_OUT_ALREADY_SETTLED
    common.expect_version(mo.version, version)
    lease = deps().leases.get(mo.lease_id)
    no_open_payment(lease)
    at = common.now_iso()
    bills = deps().bills.of_lease(lease.lease_id)
    st = statement(lease, bills, date.fromisoformat(mo.move_out_date), list((mo.inspection or {}).get("damages") or []),
                   at)
    balance = _balance_bill(lease, mo, st["balance_amount"], at) if st["balance_amount"] else None
    settlement = {**st, "balance_bill_id": balance.bill_id if balance else None, "settled_at": at,
                  "from_version": version,
                  "refund": refund_way(mo, bills, st["refund_amount"])}
    note = f"退租结算：{st['summary']}"
    after = replace(mo, status=to, settlement=settlement, updated_at=at, version=mo.version + 1,
                    events=[*mo.events, _event("settled", "staff", note, at, status=to.value)])
    _audit(actor, mo, "settle_move_out", reason or note)
    by_id = {b.bill_id: b for b in bills}
    if not deps().move_outs.settle(mo, after, [by_id[i] for i in st["cancelled_bill_ids"]], balance):
        current = deps().move_outs.get(mo.move_out_id)
        if _retry_of(current, version):
            return refund(current)  # a double tap that won: the same settlement
        raise errors.WriteConflict("the move-out or one of its bills changed: settle again", field="version")
    _refresh_arrears(lease.lease_id, frozenset(st["cancelled_bill_ids"]))
    detail = f"{st['summary']}。" + ("请在APP中缴纳退租结算账单。" if balance else "")
    _tell(after, "退租已结算", detail)
    return refund(after)


def _retry_of(mo: MoveOut, version: int) -> bool:
    """The move-out was settled by a settle sent with ``version`` (this one, again)."""
    return mo.status == SETTLED and (mo.settlement or {}).get("from_version") == version


def _balance_bill(lease: Any, mo: MoveOut, amount: int, at: str) -> Bill:
    due = (common.now().date() + timedelta(days=rules().balance_due_days)).isoformat()
    return Bill(bill_id=bill_key(lease.lease_id, BillKind.SETTLEMENT), lease_id=lease.lease_id, owner=lease.owner,
                kind=BillKind.SETTLEMENT, month=None, period_start=None, period_end=mo.move_out_date,
                base_amount=amount, amount=amount, due_date=due, estate_id=lease.estate_id, unit_id=lease.unit_id,
                unit_label=mo.unit_label, created_at=at, updated_at=at, extra={"move_out_id": mo.move_out_id})


def refund(mo: MoveOut) -> MoveOut:
    """Ask the provider to refund (once, whatever the retries: the refund number is the move-out's); a
    provider that does not answer or refuses leaves it pending (settle again, or staff retry)."""
    from chalicelib.payment_providers import ProviderRejected

    way = dict((mo.settlement or {}).get("refund") or {})
    if not way or way.get("status") == RefundState.REFUNDED or way.get("method") != "provider":
        return mo
    try:
        provider = deps().payment_providers.get(way["provider"])
        provider_refund_id = provider.refund(way["payment_id"], way["refund_id"], int(way["amount"]),
                                             int(way["payment_amount"]))
    except (errors.DomainError, ProviderRejected) as exc:
        logger.warning("move-out refund not confirmed", extra={"move_out_id": mo.move_out_id,
                                                               "error": type(exc).__name__})
        return mo
    return _refunded(mo, {**way, "provider_refund_id": provider_refund_id},
                     f"押金等 {_yuan(int(way['amount']))} 元已原路退回")


def _refunded(mo: MoveOut, way: dict[str, Any], note: str) -> MoveOut:
    at = common.now_iso()
    done = {**way, "status": RefundState.REFUNDED.value, "refunded_at": at}
    after = replace(mo, settlement={**(mo.settlement or {}), "refund": done}, updated_at=at, version=mo.version + 1,
                    events=[*mo.events, _event("refunded", "staff" if way["method"] == "counter" else "system",
                                               note, at, status=mo.status.value)])
    if not deps().move_outs.change(mo, after):
        return deps().move_outs.get(mo.move_out_id)  # another attempt recorded it
    _tell(after, "押金已退还", note + "。")
    return after


def record_refund(move_out_id: str, actor: Actor, body: MoveOutRefundIn) -> MoveOut:
    """Staff finish the refund: a counter refund with its receipt number (cash or transfer at the 窗口),
    or the provider's asked again. A refund done already answers the move-out as it is."""
    mo, receipt_no, reason = get(move_out_id), body.receipt_no, body.reason
    if mo.status not in (SETTLED, COMPLETED):
        raise errors.IllegalTransition("not settled yet", field="status", message="退租尚未结算，暂无退款")
    way = dict((mo.settlement or {}).get("refund") or {})
    if not way or way.get("status") == RefundState.REFUNDED:
        return mo
    if way["method"] == "provider":
        _audit(actor, mo, "retry_move_out_refund", reason)
        return refund(mo)
    if not receipt_no:
        raise errors.InvalidInput("the counter's receipt number", field="receipt_no", message="窗口退款须填写收据编号")
    _audit(actor, mo, "record_move_out_refund", reason)
    return _refunded(mo, {**way, "receipt_no": receipt_no, "recorded_by": actor.subject},
                     f"押金等 {_yuan(int(way['amount']))} 元已在窗口退还（收据编号 {receipt_no}）")
