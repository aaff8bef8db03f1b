"""Payments (缴费): an order at the tenant's wallet (WeChat Pay, Alipay) for one or several bills of one
tenant, or a counter payment staff record (cash, bank transfer at the 窗口). The amount is the sum of
the bills, never a number the client sends. Decisions: docs/decisions/0028.

This module holds the types and opens and shows orders; what settles a payment (the providers'
notifications, the query of orders left without one, the refund of a duplicate, closing an order,
recording a counter payment) is settlement.py, and the payment voucher is receipts.py. Every way in
ends in the same transaction: the payment and each of its bills at once (repositories/payments.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Iterator

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.bills import BILLS, KIND_NAMES, PAID as BILL_PAID, Bill, BillKind
from chalicelib.domain.common import Page, new_id
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor, Role
from chalicelib.observability import logger

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import PaymentIn


class PaymentStatus(StrEnum):
    CREATED = "created"  # an order open at the provider, waiting for the tenant to pay
    PAID = "paid"  # settled: its bills are paid by it (a counter payment is recorded paid)
    CLOSED = "closed"  # cancelled by the payer, or expired unpaid; closed at the provider too
    REFUNDING = "refunding"  # money came in but its bills were paid otherwise (a duplicate): refund asked
    REFUNDED = "refunded"  # the duplicate's money went back through the provider's refund


class PaymentMethod(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"


CREATED, PAID, CLOSED = PaymentStatus.CREATED, PaymentStatus.PAID, PaymentStatus.CLOSED
REFUNDING, REFUNDED = PaymentStatus.REFUNDING, PaymentStatus.REFUNDED
STATUS_NAMES = {CREATED: "待支付", PAID: "已支付", CLOSED: "已关闭", REFUNDING: "退款中", REFUNDED: "已退款"}
METHOD_NAMES = {PaymentMethod.WECHAT: "微信支付", PaymentMethod.ALIPAY: "支付宝", PaymentMethod.CASH: "现金（窗口）",
                PaymentMethod.BANK_TRANSFER: "银行转账（窗口）"}
PAYMENTS: Lifecycle[PaymentStatus] = Lifecycle(
    "payment", CREATED,
    {CREATED: {PAID, CLOSED, REFUNDING}, PAID: set(), CLOSED: {REFUNDING}, REFUNDING: {REFUNDED}, REFUNDED: set()},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({PAID}), frozenset({PAID, CLOSED, REFUNDING}), errors.PaymentAlreadyPaid, "payment_id"),
              Refusal(frozenset({CLOSED}), frozenset({PAID, CLOSED}), errors.PaymentClosed, "payment_id")])
ONLINE = ("wechat", "alipay")  # the providers; a counter payment's provider is "counter"
COUNTER = "counter"
#: One settlement is one DynamoDB transaction: the payment and each of its bills (DynamoDB takes 100
#: items in a transaction; 24 is two years of rent). bodies.py says the same in the request's schema.
MAX_BILLS = 24
DEFAULT_TIMEOUT_MINUTES = 30
STAFF_ROLES = (Role.STAFF, Role.ADMIN)


class Task(StrEnum):
    """Work left on a payment for the sweep (settlement.sweep); a payment with none is not in by_task."""

    QUERY = "query"  # an open order: ask the provider after task_at (no notification came)
    REFUND = "refund"  # a duplicate whose refund is not confirmed yet
    RECEIPT = "receipt"  # the city's external e-receipt is not issued yet


@dataclass(frozen=True)
class BillLine:
    """A bill as the payment took it (the bill's amount never changes after it is issued)."""

    bill_id: str
    lease_id: str
    kind: BillKind
    month: str | None
    unit_label: str
    amount: int
    due_date: str


@dataclass(frozen=True)
class Payment:
    payment_id: str  # our order number at the provider (out_trade_no): pay_ + 16 hex, 20 characters
    owner: str | None  # the bills' tenant
    payer: str  # who paid or recorded it (login subject)
    payer_role: str  # tenant | delegate | staff
    payer_masked: str | None
    provider: str  # wechat | alipay | counter
    method: PaymentMethod
    bills: list[BillLine]
    amount: int  # fen: the sum of the bills
    description: str
    status: PaymentStatus = CREATED
    grant_id: str | None = None
    merchant_id: str | None = None
    transaction_id: str | None = None
    prepay: dict[str, str] | None = None
    expires_at: str | None = None
    paid_at: str | None = None
    closed_at: str | None = None
    counter: dict[str, Any] | None = None
    refund: dict[str, Any] | None = None
    receipt: dict[str, Any] | None = None
    task: Task | None = None
    task_at: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bill_ids(self) -> list[str]:
        return [b.bill_id for b in self.bills]


# --- the city's settings ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaymentConfig:
    timeout_minutes: int  # an order is open this long; the sweep asks the provider after it
    providers: tuple[str, ...] | None  # the providers the city accepts (None: whichever is configured)


@cache
def payment_config(city: str) -> PaymentConfig:
    """From the city's rent.json (``order_timeout_minutes``, ``providers``: docs/decisions/0027)."""
    from chalicelib.city_files import CityFileError, city_file

    try:
        rent = city_file(city, "rent.json")
    except CityFileError:  # a city without rent rules yet: the defaults, whichever provider is configured
        return PaymentConfig(DEFAULT_TIMEOUT_MINUTES, None)
    providers = getattr(rent, "providers", None)
    return PaymentConfig(int(getattr(rent, "order_timeout_minutes", None) or DEFAULT_TIMEOUT_MINUTES),
                         tuple(providers) if providers is not None else None)


def config() -> PaymentConfig:
    return payment_config(deps().settings.city_code)


# --- who may see and act on a payment ---------------------------------------------------------------------
def _tenant_or_delegate(owner: str | None, actor: Actor, need: str, hidden: errors.DomainError) -> str | None:
    """The grant id when ``actor`` acts for ``owner`` under a live grant with ``need``; None when
    ``actor`` is the owner; ``hidden`` (a 404) for anyone else: ids are not confirmed to strangers."""
    if owner is not None and owner == actor.subject:
        return None
    grant = deps().grants.between(owner, actor.subject) if owner is not None else None
    if grant is None:
        raise hidden
    from chalicelib.domain.grants import check

    check(grant, need)
    return str(grant["grant_id"])


def authorize(payment: Payment, actor: Actor, need: str = "view") -> str | None:
    """The tenant, the one who paid, or a delegate whose grant from the tenant has ``need``."""
    if payment.payer == actor.subject and need == "view":
        return payment.grant_id
    return _tenant_or_delegate(payment.owner, actor, need, errors.PaymentNotFound(payment.payment_id,
                                                                                   field="payment_id"))


@contextmanager
def refusals_logged(what: str, actor: Actor) -> Iterator[None]:
    """Every refusal of a payment request is logged: what, the error's class and field, the caller's
    login subject (an opaque id), never a name, a number or a body."""
    try:
        yield
    except errors.DomainError as exc:
        logger.info(f"{what} refused", extra={"error": type(exc).__name__, "field": exc.field,
                                              "caller": actor.subject})
        raise


# --- the bills a payment takes ----------------------------------------------------------------------------
def payable(bill_ids: list[str]) -> list[Bill]:
    """The bills, each of them existing and still to pay; one BatchGetItem."""
    if len(set(bill_ids)) != len(bill_ids):
        raise errors.InvalidInput("duplicate bill ids", field="bill_ids", message="账单不能重复")
    if not 1 <= len(bill_ids) <= MAX_BILLS:
        raise errors.InvalidInput(f"1-{MAX_BILLS} bills", field="bill_ids", message=f"一次可缴 1-{MAX_BILLS} 笔账单")
    found = {b.bill_id: b for b in deps().bills.many(bill_ids)}
    missing = [i for i in bill_ids if i not in found]
    if missing:
        raise errors.BillNotFound(missing[0], field="bill_ids")
    return [found[i] for i in bill_ids]


def _one_owner(bills: list[Bill], actor: Actor, need: str) -> tuple[str | None, str | None]:
    """(owner, grant id) of bills that belong to one tenant the caller is, or acts for; a bill of
    anyone else is a 404 (as if it did not exist), bills of two tenants a 400."""
    owners = list(dict.fromkeys(b.owner for b in bills))
    grant_id = None
    for bill, owner in ((next(b for b in bills if b.owner == o), o) for o in owners):
        grant_id = _tenant_or_delegate(owner, actor, need, errors.BillNotFound(bill.bill_id, field="bill_ids"))
    if len(owners) > 1:
        raise errors.BillsOfSeveralOwners("bills of several tenants", field="bill_ids",
                                          message="一次缴费只能包含同一承租人的账单")
    return owners[0], grant_id


def lines_of(bills: list[Bill]) -> list[BillLine]:
    for bill in bills:
        BILLS.move(bill.status, BILL_PAID)  # paid: 409 BILL_ALREADY_PAID; cancelled: 409 BILL_CANCELLED
    return [BillLine(b.bill_id, b.lease_id, b.kind, b.month, b.unit_label, b.amount, b.due_date) for b in bills]


def describe(lines: list[BillLine]) -> str:
    """What the tenant's wallet shows for the order (the provider's description, <= 127 characters)."""
    first = lines[0]
    what = KIND_NAMES.get(first.kind, "") + (f" {first.month}" if first.month else "")
    more = f" 等{len(lines)}笔" if len(lines) > 1 else ""
    return f"{deps().settings.city_name}公租房{what}{more} {first.unit_label}"[:127]


def payer_masked(person: Any) -> str | None:
    from chalicelib.domain.idnumbers import mask_name

    name = getattr(person, "name", None)
    return mask_name(name) if isinstance(name, str) and name else None


# --- orders -----------------------------------------------------------------------------------------------
def create(actor: Actor, body: PaymentIn) -> Payment:
    """An order for ``body.bill_ids`` at ``body.provider``: the tenant, or a delegate with an ``act``
    grant. Requests: the bills (one BatchGetItem), the provider's prepay (HTTPS), the order (one PutItem)."""
    with refusals_logged("payment order", actor):
        return _create(actor, body)


def _create(actor: Actor, body: PaymentIn) -> Payment:
    accepted = config().providers
    if accepted is not None and body.provider not in accepted:
        raise errors.InvalidInput("provider not accepted", field="provider", message="本市暂未开通该支付方式")
    bills = payable(list(body.bill_ids))
    owner, grant_id = _one_owner(bills, actor, "act")
    lines = lines_of(bills)
    amount = sum(line.amount for line in lines)
    if amount <= 0:
        raise errors.NothingToPay("the bills add up to 0", field="bill_ids")
    provider = deps().payment_providers.get(body.provider)  # not configured for the city: 400
    at = common.now()
    payment_id = new_id("pay")  # our out_trade_no: unguessable, [a-z0-9_], 20 characters
    expires = (at + timedelta(minutes=config().timeout_minutes)).isoformat(timespec="seconds")
    description = describe(lines)
    prepay = provider.prepay(payment_id, amount, description, expires)  # ProviderUnavailable: 503, nothing kept
    stamp = at.isoformat(timespec="milliseconds")
    payment = Payment(
        payment_id=payment_id, owner=owner, payer=actor.subject, payer_role="delegate" if grant_id else "tenant",
        payer_masked=payer_masked(actor.registration), grant_id=grant_id, provider=body.provider,
        method=PaymentMethod(body.provider), bills=lines, amount=amount, description=description,
        merchant_id=provider.merchant_id, prepay=dict(prepay.params), expires_at=expires, task=Task.QUERY,
        task_at=expires, created_at=stamp, updated_at=stamp)
    deps().payments.create(payment)
    return payment


def get(payment_id: str, actor: Actor) -> Payment:
    payment = deps().payments.get(payment_id)
    authorize(payment, actor, "view")
    return payment


def mine(actor: Actor, limit: int, cursor: str | None) -> Page[Payment]:
    """The caller's payments as a tenant, newest first."""
    items, next_cursor = deps().payments.of_owner(actor.subject, limit, cursor)
    return Page(items, next_cursor)


def as_dict(payment: Payment) -> dict[str, Any]:
    return asdict(payment)


def with_changes(payment: Payment, **changes: Any) -> Payment:
    """The next version of ``payment`` (status moves go through PAYMENTS before this)."""
    return replace(payment, updated_at=common.now_iso(), version=payment.version + 1, **changes)
