"""Payments (缴费): their records, the settlement transaction, the sweep's index and the voucher files
(docs/decisions/0028).

``settle`` is ONE TransactWriteItems: the payment created -> paid (on the status and version it was
read with) and every bill unpaid -> paid (on ``status = unpaid``) with the payment's id, the time and
its owner_sort moved to the history. A counter payment (``create_paid``) puts the payment, paid, in
the same kind of transaction. Either all of it is written or nothing: a bill is never paid twice,
and a payment is never paid without its bills.
"""
from __future__ import annotations

from typing import Any, Callable

from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import PAID as BILL_PAID, UNPAID, Bill, BillKind
from chalicelib.domain.payments import BillLine, Payment, PaymentMethod, PaymentStatus, Task
from chalicelib.repositories.bills import owner_sort
from chalicelib.repositories.common import is_condition_failure, transact, plain, put_new
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import BillRecord, PaymentRecord

FIELDS = ("owner", "payer", "payer_role", "payer_masked", "grant_id", "provider", "method", "amount", "description",
          "status", "merchant_id", "transaction_id", "prepay", "expires_at", "paid_at", "closed_at", "counter",
          "refund", "receipt", "task", "task_at", "created_at", "updated_at", "version")


class PaymentRepository:
    def __init__(self, settings: Settings, *, storage: Callable[[], Any]) -> None:
        """``storage`` gives the document storage (the voucher goes to the private bucket)."""
        self.settings = settings
        self._storage = storage

    def create(self, payment: Payment) -> None:
        put_new(payment_record(payment), PaymentRecord.payment_id.does_not_exist(),
                errors.AlreadyExists(payment.payment_id, field="payment_id"))

    def get(self, payment_id: str) -> Payment:
        try:
            return to_payment(PaymentRecord.get(payment_id, consistent_read=True))
        except PaymentRecord.DoesNotExist:
            raise errors.PaymentNotFound(payment_id, field="payment_id") from None

    def of_owner(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Payment], str | None]:
        records, next_cursor = query_page(PaymentRecord.by_owner, owner, key_names=("payment_id", "owner", "list_sort"),
                                          scope=f"payments:{owner}", limit=limit, cursor=cursor, forward=False)
        return [to_payment(r) for r in records], next_cursor

    def change(self, before: Payment, after: Payment) -> bool:
        """Replace the payment if nobody changed it since ``before`` was read (its version); False if
        somebody did (nothing written)."""
        try:
            payment_record(after).save(condition=(PaymentRecord.version == before.version)
                                       & (PaymentRecord.status == before.status.value))
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- the settlement transaction ---------------------------------------------------------------------
    def settle(self, before: Payment, paid: Payment) -> bool:
        """The payment ``before`` -> ``paid`` and each of its bills unpaid -> paid, at once; False when
        any condition failed (the payment moved, or a bill is no longer unpaid): nothing written."""
        return self._transact(lambda tx: self._write(tx, paid, payment_condition=(
            (PaymentRecord.version == before.version) & (PaymentRecord.status == before.status.value))))

    def create_paid(self, payment: Payment) -> bool:
        """A counter payment: the payment (new, paid) and its bills, at once."""
        return self._transact(lambda tx: self._write(tx, payment,
                                                     payment_condition=PaymentRecord.payment_id.does_not_exist()))

    def _write(self, tx: TransactWrite, payment: Payment, payment_condition: Any) -> None:
        tx.save(payment_record(payment), condition=payment_condition)
        for line in payment.bills:
            sort = owner_sort(_paid_bill(line, payment))
            tx.update(BillRecord(line.bill_id), actions=[
                BillRecord.status.set(BILL_PAID.value), BillRecord.payment_id.set(payment.payment_id),
                BillRecord.paid_at.set(payment.paid_at), BillRecord.owner_sort.set(sort),
                BillRecord.updated_at.set(payment.updated_at), BillRecord.version.add(1)],
                condition=(BillRecord.status == UNPAID.value) & (BillRecord.amount == line.amount))

    def _transact(self, build: Any) -> bool:
        return transact(self.settings, build)

    # --- the sweep ------------------------------------------------------------------------------------------
    def due(self, now: str, limit: int) -> list[Payment]:
        """Payments whose task is due (task_at <= now): one Query per task on the sparse, keys-only
        by_task index, then one BatchGetItem (strongly consistent) for the items themselves."""
        ids: list[str] = []
        for task in Task:
            ids += [r.payment_id for r in PaymentRecord.by_task.query(
                task.value, PaymentRecord.task_at <= now, limit=limit)]
        if not ids:
            return []
        found = [to_payment(r) for r in PaymentRecord.batch_get(list(dict.fromkeys(ids)), consistent_read=True)]
        return [p for p in found if p.task is not None and p.task_at is not None and p.task_at <= now]

    # --- the voucher's file ---------------------------------------------------------------------------------
    def put_receipt(self, key: str, pdf: bytes) -> None:
        """Private (the bucket blocks public access), SSE-KMS with the city's key, like the contract."""
        extra: dict[str, str] = {}
        if self.settings.document_kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.settings.document_kms_key}
        self._storage().s3.put_object(Bucket=self.settings.document_bucket, Key=key, Body=pdf,
                                     ContentType="application/pdf", **extra)

    def has_receipt(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._storage().s3.head_object(Bucket=self.settings.document_bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def _paid_bill(line: BillLine, payment: Payment) -> Bill:
    """Enough of the bill, paid, to compute its place in the owner's list (repositories/bills.owner_sort)."""
    return Bill(bill_id=line.bill_id, lease_id=line.lease_id, owner=payment.owner, kind=line.kind, month=line.month,
                period_start=None, period_end=None, base_amount=line.amount, amount=line.amount,
                due_date=line.due_date, estate_id="", unit_id="", unit_label=line.unit_label, status=BILL_PAID,
                payment_id=payment.payment_id, paid_at=payment.paid_at)


# --- records ----------------------------------------------------------------------------------------------
#: Online payments by provider and China day, in this many shards (reconciliation's indexes).
DAY_SHARDS = 64
_ONLINE = frozenset({"wechat", "alipay"})


def day_shard(payment_id: str) -> int:
    import zlib

    return zlib.crc32(payment_id.encode()) % DAY_SHARDS


def day_keys(payment_id: str, provider: str, status: PaymentStatus, paid_at: str | None,
             refund: dict[str, Any] | None) -> dict[str, str | None]:
    """Where reconciliation finds an online payment (docs/decisions/0029): ``paid_day`` once paid
    (its money came in, whatever happened after), ``refund_day`` once refunded; each
    "{provider}#{China day}#{shard}" (times here are written +08:00: the day is the first ten
    characters). Counter payments and open orders are in neither."""
    paid = provider in _ONLINE and paid_at is not None and status in (
        PaymentStatus.PAID, PaymentStatus.REFUNDING, PaymentStatus.REFUNDED)
    refunded_at = (refund or {}).get("refunded_at") if status == PaymentStatus.REFUNDED else None
    shard = day_shard(payment_id)
    return {"paid_day": f"{provider}#{paid_at[:10]}#{shard:02d}" if paid and paid_at else None,
            "refund_day": f"{provider}#{refunded_at[:10]}#{shard:02d}" if paid and refunded_at else None}


def payment_record(p: Payment) -> PaymentRecord:
    values = {f: getattr(p, f) for f in FIELDS}
    values["method"] = p.method.value
    values["status"] = p.status.value
    values["task"] = p.task.value if p.task is not None else None
    if values["task"] is None:
        values["task_at"] = None  # out of the sparse index
    bills = [{"bill_id": b.bill_id, "lease_id": b.lease_id, "kind": b.kind.value, "month": b.month,
              "unit_label": b.unit_label, "amount": b.amount, "due_date": b.due_date} for b in p.bills]
    return PaymentRecord(p.payment_id, list_sort=f"{p.created_at}#{p.payment_id}", bills=bills,
                         **day_keys(p.payment_id, p.provider, p.status, p.paid_at, p.refund), **values)


def to_payment(r: PaymentRecord) -> Payment:
    values = {f: plain(getattr(r, f)) for f in FIELDS}
    values["amount"] = int(values["amount"])
    values["version"] = int(values["version"])
    values["method"] = PaymentMethod(values["method"])
    values["status"] = PaymentStatus(values["status"])
    values["task"] = Task(values["task"]) if values["task"] else None
    lines = [BillLine(str(b["bill_id"]), str(b["lease_id"]), BillKind(b["kind"]), b.get("month"), str(b["unit_label"]),
                      int(b["amount"]), str(b["due_date"])) for b in plain(r.bills) or []]
    return Payment(payment_id=r.payment_id, bills=lines, **values)
