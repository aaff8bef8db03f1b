"""Settlement (入账): what turns an order into paid bills, whichever way the news comes: the provider's
notification (``notify``), the sweep that asks the provider about orders left without one
(``sweep``), closing an order (``close``). Decisions: docs/decisions/0028.

Settling is ONE DynamoDB transaction (repositories/payments.py ``settle``): the payment
created -> paid (on its status and version) with its transaction id and its voucher's number and
SHA-256, and every bill unpaid -> paid (on ``status = unpaid``) with the payment's id. So a duplicate
delivery, a late one or twenty at once mark the bills paid once and make one voucher: the losers of
a race read the payment paid by the same transaction and answer success. A payment whose bills were
meanwhile paid by another (a second order, a counter payment) or that was closed is a duplicate: it
is recorded as such (refunding) and refunded through the provider with a refund number derived from
the payment (so asking twice refunds once), never marking a bill twice.

Nothing here is personal: refusals are logged with the provider, the order number and a code.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.bills import UNPAID
from chalicelib.domain.payments import (CLOSED, COUNTER, CREATED, PAID, PAYMENTS, REFUNDED, REFUNDING, Payment,
                                        PaymentMethod, Task, authorize, describe, lines_of, payable, payer_masked,
                                        refusals_logged, with_changes)
from chalicelib.identity import Actor
from chalicelib.observability import logger

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import CounterPaymentIn

MAX_NOTIFICATION_BYTES = 64 * 1024
RETRY_MINUTES = 5  # a provider that did not answer is asked again after this
SWEEP_LIMIT = 200  # payments one sweep run handles per task (the next run takes the rest)


@dataclass(frozen=True)
class Outcome:
    """What a notification came to: believed and recorded (``ok``), refused with ``code`` (not believed,
    or not ours), or not handled by our fault (``ours``: the provider should deliver it again)."""

    ok: bool
    code: str | None = None
    ours: bool = False


ACCEPTED = Outcome(True)
RETRY_LATER = Outcome(False, "RETRY_LATER", ours=True)


def _refused(code: str, provider: str, order_id: str | None = None) -> Outcome:
    logger.warning("payment notification refused", extra={"provider": provider, "code": code, "order_id": order_id})
    return Outcome(False, code)


# --- notifications ---------------------------------------------------------------------------------------
def notify(provider_name: str, headers: Mapping[str, str], body: bytes) -> Outcome:
    """A provider's notification: verified by the adapter (signature, timestamp, decryption), matched
    here (merchant, order, amount), then settled. Anything not believed changes nothing."""
    from chalicelib.payment_providers import NotificationRefused

    provider = provider_of(provider_name)
    if len(body) > MAX_NOTIFICATION_BYTES:
        return _refused("BAD_PAYLOAD", provider_name)
    try:
        reported = provider.parse_notification(headers, body, common.now())
    except NotificationRefused as exc:
        return _refused(exc.code, provider_name)
    return settle_reported(provider, reported)


def provider_of(name: str) -> Any:
    """The city's provider ``name``; a provider the city does not offer has no notify route here (404)."""
    try:
        return deps().payment_providers.get(name)
    except errors.InvalidInput:
        raise errors.RouteNotFound(f"no {name} merchant in this city") from None


def answer(provider_name: str, outcome: Outcome) -> tuple[int, dict[str, str], bytes]:
    """The answer the provider expects, exactly as its adapter writes it (WeChat: 204 without a body, or
    4xx/5xx with {"code": "FAIL"}; Alipay: the 7 bytes ``success``, or ``failure``)."""
    from chalicelib.payment_providers import REFUSALS

    provider = provider_of(provider_name)
    if outcome.ok:
        return provider.success_answer()
    if outcome.ours:
        return provider.failure_answer(outcome.code or "RETRY_LATER")  # WeChat: a 500, delivered again
    # a refusal: in the adapter's own words (our matching codes, UNKNOWN_ORDER or AMOUNT_MISMATCH, are a
    # payload we do not accept; the log keeps the precise code)
    return provider.failure_answer(outcome.code if outcome.code in REFUSALS else "BAD_PAYLOAD")


def settle_reported(provider: Any, reported: Any) -> Outcome:
    """What the provider says of one of our orders (a verified notification or a query's answer)."""
    if reported.merchant_id != provider.merchant_id:
        return _refused("UNKNOWN_MERCHANT", provider.name, reported.order_id)
    try:
        payment = deps().payments.get(reported.order_id)
    except errors.PaymentNotFound:
        return _refused("UNKNOWN_ORDER", provider.name, reported.order_id)
    if payment.provider != provider.name:
        return _refused("UNKNOWN_ORDER", provider.name, reported.order_id)
    if reported.amount != payment.amount and reported.state in ("paid", "refunded"):
        return _refused("AMOUNT_MISMATCH", provider.name, reported.order_id)
    if reported.state == "paid":
        settle(payment, reported.transaction_id, reported.paid_at or common.now_iso())
    elif reported.state == "closed" and payment.status == CREATED:
        _closed_here(payment)
    return ACCEPTED


def settle(payment: Payment, transaction_id: str | None, paid_at: str) -> Payment:
    """The order is paid at the provider: settle it once (a repeat answers the settled payment)."""
    from chalicelib.domain import receipts

    for _ in range(4):
        if payment.status in (PAID, REFUNDING, REFUNDED):
            if payment.transaction_id != transaction_id:  # one order is one trade at one provider
                logger.error("payment settled by another transaction", extra={"order_id": payment.payment_id})
            if payment.status == REFUNDING:
                return refund(payment)
            return payment
        if payment.status == CLOSED:
            return _duplicate(payment, transaction_id, paid_at, "closed", [])
        paid = receipts.issue(with_changes(payment, status=PAYMENTS.move(payment.status, PAID),
                                           transaction_id=transaction_id, paid_at=_china(paid_at), task=None,
                                           task_at=None))
        if deps().payments.settle(payment, paid):
            return _after_paid(paid)
        payment = deps().payments.get(payment.payment_id)  # what the transaction lost to
        if payment.status == CREATED:
            taken = [b for b in deps().bills.many(payment.bill_ids) if b.status != UNPAID]
            if taken:
                others = sorted({b.payment_id for b in taken if b.payment_id})
                return _duplicate(payment, transaction_id, paid_at, "bills_paid", others)
            time.sleep(0.01)  # a bill changed otherwise (its version): read again and retry
    raise errors.ServiceUnavailable("settlement kept conflicting")


def _after_paid(paid: Payment) -> Payment:
    """The voucher's file and, where the city has one, the external e-receipt (both may be late: the
    receipt link renders the same file again, the sweep asks the e-receipt service again)."""
    from chalicelib.domain import arrears, receipts
    from chalicelib.metric_names import PAYMENTS_SETTLED, PAYMENTS_SETTLED_FEN
    from chalicelib.observability import count

    count(PAYMENTS_SETTLED)  # once per payment: only the transaction that settled it gets here
    count(PAYMENTS_SETTLED_FEN, paid.amount)
    receipts.store(paid)
    arrears.after_payment(paid.bills)  # a late rent bill: what its lease owes now (docs/decisions/0029)
    return receipts.issue_external(paid)


def record_counter(actor: Actor, body: CounterPaymentIn) -> Payment:
    """Staff record money paid at the counter (窗口: cash, bank transfer) with their receipt number:
    audited, then the payment (paid, with its voucher) and its bills in one transaction, as an online
    payment settles; a bill paid meanwhile is 409 BILL_ALREADY_PAID and nothing is written."""
    with refusals_logged("counter payment", actor):
        return _record_counter(actor, body)


def _record_counter(actor: Actor, body: CounterPaymentIn) -> Payment:
    from chalicelib.domain import audit, receipts
    from chalicelib.domain.bills import BILLS, PAID as BILL_PAID

    bills = payable(list(body.bill_ids))
    owners = list(dict.fromkeys(b.owner for b in bills))
    if len(owners) > 1:
        raise errors.BillsOfSeveralOwners("bills of several tenants", field="bill_ids",
                                          message="一次缴费只能包含同一承租人的账单")
    lines = lines_of(bills)
    payment_id = common.new_id("pay")
    audit.record(actor, f"payment#{payment_id}", "record_counter_payment", body.reason)
    owner = owners[0]
    stamp = common.now_iso()
    payment = receipts.issue(Payment(
        payment_id=payment_id, owner=owner, payer=actor.subject, payer_role="staff",
        payer_masked=payer_masked(deps().households.get(owner) if owner else None), provider=COUNTER,
        method=PaymentMethod(body.method), bills=lines, amount=sum(line.amount for line in lines),
        description=describe(lines), status=PAYMENTS.move(CREATED, PAID), paid_at=stamp,
        counter={"receipt_no": body.receipt_no, "recorded_by": actor.subject}, created_at=stamp, updated_at=stamp))
    if not deps().payments.create_paid(payment):
        for bill in deps().bills.many(payment.bill_ids):
            BILLS.move(bill.status, BILL_PAID)  # paid meanwhile: 409 BILL_ALREADY_PAID (cancelled: BILL_CANCELLED)
        raise errors.WriteConflict("a bill changed while the payment was recorded", field="bill_ids")
    return _after_paid(payment)


# --- duplicates and refunds ------------------------------------------------------------------------------
def _duplicate(payment: Payment, transaction_id: str | None, paid_at: str, reason: str, others: list[str]) -> Payment:
    """Money came in for bills another payment settled (or for a closed order): recorded, then refunded."""
    refund_id = "rfd_" + payment.payment_id.removeprefix("pay_")  # the same payment, the same refund
    marked = with_changes(payment, status=PAYMENTS.move(payment.status, REFUNDING), transaction_id=transaction_id,
                          paid_at=_china(paid_at), task=Task.REFUND, task_at=common.now_iso(),
                          refund={"refund_id": refund_id, "amount": payment.amount, "reason": reason,
                                  "duplicate_of": others, "requested_at": common.now_iso()})
    if not deps().payments.change(payment, marked):
        return settle(deps().payments.get(payment.payment_id), transaction_id, paid_at)
    logger.warning("duplicate payment: refunding", extra={"order_id": payment.payment_id, "reason": reason})
    return refund(marked)


def refund(payment: Payment) -> Payment:
    """Ask the provider to refund a duplicate (idempotent: the refund number is the payment's); on
    success refunding -> refunded, else the sweep asks again later."""
    from chalicelib.payment_providers import ProviderRejected

    provider = deps().payment_providers.get(payment.provider)
    refund_ = dict(payment.refund or {})
    try:
        provider_refund_id = provider.refund(payment.payment_id, refund_["refund_id"], payment.amount, payment.amount)
    except (errors.ServiceUnavailable, ProviderRejected) as exc:
        logger.warning("refund not confirmed: retried later", extra={"order_id": payment.payment_id,
                                                                    "error": type(exc).__name__})
        return _postpone(payment)
    done = with_changes(payment, status=PAYMENTS.move(payment.status, REFUNDED), task=None, task_at=None,
                        refund={**refund_, "provider_refund_id": provider_refund_id, "refunded_at": common.now_iso()})
    if not deps().payments.change(payment, done):
        return deps().payments.get(payment.payment_id)  # another run recorded it
    return done


# --- closing ---------------------------------------------------------------------------------------------
def close_order(payment_id: str, actor: Actor) -> Payment:
    """Cancel an unpaid order (the tenant, or a delegate with ``act``): closed at the provider first,
    then here. Closing a closed order answers it again; a paid one is 409 PAYMENT_ALREADY_PAID (an
    order the provider reports paid while we close it is settled first)."""
    with refusals_logged("closing a payment", actor):
        payment = deps().payments.get(payment_id)
        authorize(payment, actor, "act")
        if payment.status == CLOSED:
            return payment
        PAYMENTS.move(payment.status, CLOSED)
        return close(payment)


def close(payment: Payment) -> Payment:
    """Close an open order at the provider, then here. The provider refusing (the tenant paid at the
    last moment) makes us ask it: a paid order is settled, and the caller told it is paid."""
    from chalicelib.payment_providers import ProviderRejected

    provider = deps().payment_providers.get(payment.provider)
    try:
        provider.close(payment.payment_id)
    except ProviderRejected:
        reported = provider.query(payment.payment_id)
        if reported.state == "paid":
            settle_reported(provider, reported)
            raise errors.PaymentAlreadyPaid(payment.payment_id, field="payment_id") from None
        if reported.state != "closed" and not (reported.state == "not_paid" and not reported.amount):
            raise  # a live trade the provider would not close (the payer paying right now): not closed
        # closed there, or no trade at all (an Alipay order string never opened): closed here too
    return _closed_here(payment)


def _closed_here(payment: Payment) -> Payment:
    at = common.now_iso()
    closed = with_changes(payment, status=PAYMENTS.move(payment.status, CLOSED), closed_at=at, task=None, task_at=None)
    if deps().payments.change(payment, closed):
        return closed
    current = deps().payments.get(payment.payment_id)  # settled (or closed) meanwhile
    if current.status == CLOSED:
        return current
    PAYMENTS.move(current.status, CLOSED)  # paid: 409 PAYMENT_ALREADY_PAID
    raise errors.WriteConflict("the payment changed", field="payment_id")


# --- the sweep: orders without news, refunds and e-receipts not confirmed ---------------------------------
def sweep(now: datetime | None = None) -> dict[str, int]:
    """Every 5 minutes (handlers/schedules.py): the payments whose task is due (one Query per task on the
    sparse by_task index, then one BatchGetItem): open orders past their time are asked at the provider
    and settled or closed; refunds and e-receipts are asked again. Safe to run twice at once: every
    write is conditional on what was read."""
    moment = now or common.now()
    counts = {"paid": 0, "closed": 0, "refunded": 0, "receipts": 0, "postponed": 0, "open": 0}
    for payment in deps().payments.due(moment.isoformat(timespec="milliseconds"), SWEEP_LIMIT):
        try:
            outcome = _sweep_one(payment, moment)
        except errors.ServiceUnavailable:
            _postpone(payment)
            outcome = "postponed"
        except errors.DomainError as exc:  # a provider no longer configured, a refusal: look again later
            logger.warning("sweep could not finish a payment", extra={"order_id": payment.payment_id,
                                                                      "error": type(exc).__name__})
            _postpone(payment, minutes=60)
            outcome = "postponed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _sweep_one(payment: Payment, moment: datetime) -> str:
    from chalicelib.domain import receipts

    if payment.status == CREATED:
        provider = deps().payment_providers.get(payment.provider)
        reported = provider.query(payment.payment_id)
        if reported.state == "paid":
            outcome = settle_reported(provider, reported)
            return "paid" if outcome.ok else "postponed"
        if reported.state == "not_paid" and moment < datetime.fromisoformat(payment.expires_at or payment.created_at):
            _postpone(payment, until=payment.expires_at)
            return "open"
        if reported.state == "closed":
            _closed_here(payment)
        else:  # expired unpaid: closed at the provider, then here
            close(payment)
        return "closed"
    if payment.status == REFUNDING:
        return "refunded" if refund(payment).status == REFUNDED else "postponed"
    if payment.status == PAID and payment.task == Task.RECEIPT:
        return "receipts" if receipts.issue_external(payment).task is None else "postponed"
    deps().payments.change(payment, with_changes(payment, task=None, task_at=None))  # nothing left to do
    return "open"


def _postpone(payment: Payment, minutes: int = RETRY_MINUTES, until: str | None = None) -> Payment:
    at = until or (common.now() + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    later = with_changes(payment, task_at=at)
    return later if deps().payments.change(payment, later) else payment


def _china(instant: str) -> str:
    """A provider's instant (``2026-11-30T02:00:05Z``) as this city writes times (+08:00)."""
    try:
        moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        return common.now_iso()
    if moment.tzinfo is None:
        return common.now_iso()
    return moment.astimezone(common.CHINA_TZ).isoformat(timespec="seconds")

