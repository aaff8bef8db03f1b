"""Reconciliation (对账): runs, mismatches and the pending pool, and our side of a day: the online
payments paid (and refunded) on a China day, read through sparse indexes of the payments table
(docs/decisions/0029)."""
from __future__ import annotations

import heapq
from datetime import date
from typing import Any, Iterator

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.reconciliation import (
    COMPLETED,
    RUNNING,
    RUNS,
    Mismatch,
    MismatchStatus,
    ResolveAction,
    Run,
    ReconciliationStatus,
    as_waiting,
    pooled,
    run_id,
)
from chalicelib.domain.reconciliation_matching import REFUND, MismatchKind, Ours, Waiting, key_of
from chalicelib.repositories.common import is_condition_failure, plain
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import MismatchRecord, PendingRecord, ReconciliationRecord


class ReconciliationRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- runs ---------------------------------------------------------------------------------------
    def get_run(self, run_id_: str) -> Run | None:
        try:
            return to_run(ReconciliationRecord.get(run_id_, consistent_read=True))
        except ReconciliationRecord.DoesNotExist:
            return None

    def is_done(self, provider: str, day: date) -> bool:
        run = self.get_run(run_id(provider, day))
        return run is not None and run.status == COMPLETED

    def begin(self, provider: str, day: date, by: str, *, stale_before: str) -> Run:
        """The run of ``provider`` and ``day`` as running: created, or started again if it is not
        running (or its heartbeat stopped before ``stale_before``). Two starts at once: one wins,
        the other is 409 RECONCILIATION_RUNNING."""
        from chalicelib.domain.common import now_iso

        rid, at = run_id(provider, day), now_iso()
        current = self.get_run(rid)
        if current is not None and current.status == RUNNING and current.heartbeat_at >= stale_before:
            RUNS.move(current.status, RUNNING)  # raises ReconciliationRunning
        record = ReconciliationRecord(
            rid, provider=provider, day=day.isoformat(), status=RUNNING.value, counts={},
            runs=(current.runs + 1) if current else 1, started_at=at, heartbeat_at=at, finished_at=None,
            started_by=by, error=None, created_at=current.created_at if current else at, updated_at=at,
            version=(current.version + 1) if current else 1)
        condition = (ReconciliationRecord.run_id.does_not_exist() if current is None
                     else ReconciliationRecord.version == current.version)
        try:
            record.save(condition=condition)
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.ReconciliationRunning(f"{provider} {day}", field="day") from None
            raise
        return to_run(record)

    def heartbeat(self, run_id_: str, counts: dict[str, Any]) -> None:
        from chalicelib.domain.common import now_iso

        ReconciliationRecord(run_id_).update(actions=[
            ReconciliationRecord.counts.set(counts), ReconciliationRecord.heartbeat_at.set(now_iso())])

    def finish(self, run: Run) -> None:
        ReconciliationRecord(run.run_id).update(actions=[
            ReconciliationRecord.status.set(run.status.value), ReconciliationRecord.counts.set(run.counts),
            ReconciliationRecord.finished_at.set(run.finished_at), ReconciliationRecord.error.set(run.error),
            ReconciliationRecord.updated_at.set(run.finished_at or run.updated_at)])

    # --- mismatches ---------------------------------------------------------------------------------
    def add_mismatch(self, m: Mismatch) -> bool:
        """Record a mismatch unless it is known already (a rerun): False then, and it is left as it is."""
        try:
            mismatch_record(m).save(condition=MismatchRecord.mismatch_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def get_mismatch(self, mismatch_id: str) -> Mismatch:
        try:
            return to_mismatch(MismatchRecord.get(mismatch_id, consistent_read=True))
        except MismatchRecord.DoesNotExist:
            raise errors.MismatchNotFound(mismatch_id, field="mismatch_id") from None

    def mismatches(self, status: MismatchStatus, cursor: str | None, limit: int) -> Page[Mismatch]:
        records, next_cursor = query_page(
            MismatchRecord.by_status, status.value, key_names=("mismatch_id", "status", "list_sort"),
            scope=f"mismatches|{status.value}", limit=limit, cursor=cursor)
        return Page([to_mismatch(r) for r in records], next_cursor)

    def count_open(self) -> int:
        return int(MismatchRecord.by_status.count(MismatchStatus.OPEN.value))

    def resolve(self, m: Mismatch, expected_version: int) -> None:
        try:
            mismatch_record(m).save(condition=(MismatchRecord.version == expected_version)
                                    & (MismatchRecord.status == MismatchStatus.OPEN.value))
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.MismatchAlreadyResolved(m.mismatch_id, field="mismatch_id") from None
            raise

    # --- the pending pool ---------------------------------------------------------------------------
    def pool(self, provider: str, pending_id: str, side: str, item: Any, from_day: str, await_day: str,
             at: str) -> None:
        """Put an item in the pool for ``await_day``'s run (again: a rerun writes the same item)."""
        PendingRecord(pending_id, provider=provider, side=side, from_day=from_day, await_day=await_day,
                      await_key=f"{provider}#{await_day}", from_key=f"{provider}#{from_day}", item=pooled(side, item),
                      outcome=None, decided_by=None, created_at=at, updated_at=at).save()

    def awaiting(self, provider: str, day: str, deciding_run: str) -> list[Waiting]:
        """The adjacent days' items waiting for ``day``: undecided, or decided by this day's run
        before (a rerun decides them again, the same way)."""
        return [to_waiting(r) for r in PendingRecord.by_await.query(f"{provider}#{day}")
                if r.outcome is None or r.decided_by == deciding_run]

    def pooled_by(self, provider: str, day: str) -> list[Waiting]:
        """The items ``day``'s runs put in the pool, decided or not."""
        return [to_waiting(r) for r in PendingRecord.by_origin.query(f"{provider}#{day}")]

    def decide_pending(self, pending_id: str, outcome: str, run_id_: str, at: str) -> None:
        try:
            PendingRecord(pending_id).update(actions=[
                PendingRecord.outcome.set(outcome), PendingRecord.decided_by.set(run_id_),
                PendingRecord.updated_at.set(at)], condition=PendingRecord.pending_id.exists())
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise

    # --- our side -----------------------------------------------------------------------------------
    def payments_of_day(self, provider: str, day: date) -> Iterator[Ours]:
        """Our online payments of ``provider`` paid on ``day`` (China time), and the refunds made that
        day, sorted by (payment id, kind): the day's shards of the payments' ``by_paid_day`` and
        ``by_refund_day`` indexes, each read a page at a time and merged."""
        from chalicelib.repositories.payments import DAY_SHARDS
        from chalicelib.repositories.tables import PaymentRecord

        streams: list[Iterator[Ours]] = []
        for shard in range(DAY_SHARDS):
            key = f"{provider}#{day.isoformat()}#{shard:02d}"
            streams.append(_paid(_raw(PaymentRecord.by_paid_day, key)))
            streams.append(_refunded(_raw(PaymentRecord.by_refund_day, key)))
        return heapq.merge(*streams, key=key_of)

    def payment(self, order_id: str) -> Ours | None:
        """Our payment of an order id, whatever its day (None: no such order here)."""
        from chalicelib.repositories.tables import PaymentRecord

        try:
            r = PaymentRecord.get(order_id, consistent_read=True)
        except PaymentRecord.DoesNotExist:
            return None
        return Ours(r.payment_id, int(r.amount), r.status, r.paid_at or r.created_at, transaction_id=r.transaction_id)


def _raw(index: Any, key: str) -> Iterator[dict[str, Any]]:
    """An index partition's items as DynamoDB JSON, a page at a time (100,000 payments a day are not
    100,000 model objects: only the few fields reconciliation reads are taken from each)."""
    for page in index.query(key).page_iter:
        yield from page.get("Items", [])


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if value else None


def _paid(items: Iterator[dict[str, Any]]) -> Iterator[Ours]:
    for i in items:
        yield Ours(i["payment_id"]["S"], int(i["amount"]["N"]), i["status"]["S"], i["paid_at"]["S"],
                   transaction_id=_s(i, "transaction_id"))


def _refunded(items: Iterator[dict[str, Any]]) -> Iterator[Ours]:
    from pynamodb.attributes import MapAttribute

    for i in items:
        refund = plain(MapAttribute().deserialize(i["refund"]["M"])) if "refund" in i else {}
        yield Ours(i["payment_id"]["S"], int(refund.get("amount") or 0), i["status"]["S"], str(refund.get("refunded_at")),
                   kind=REFUND, refund_id=refund.get("refund_id"), transaction_id=_s(i, "transaction_id"))


# --- records ------------------------------------------------------------------------------------------
def to_run(r: ReconciliationRecord) -> Run:
    return Run(r.run_id, r.provider, r.day, ReconciliationStatus(r.status), plain(r.counts) or {}, int(r.runs),
               r.started_at, r.heartbeat_at, r.finished_at, r.started_by, r.error, r.created_at, r.updated_at,
               int(r.version))


def mismatch_record(m: Mismatch) -> MismatchRecord:
    return MismatchRecord(
        m.mismatch_id, run_id=m.run_id, provider=m.provider, day=m.day, kind=m.kind.value, order_id=m.order_id,
        refund_id=m.refund_id, transaction_id=m.transaction_id, here=m.here, there=m.there, detail=m.detail,
        status=m.status.value, list_sort=f"{m.day}#{m.mismatch_id}", reason=m.reason,
        action=m.action.value if m.action else None, resolved_by=m.resolved_by, resolved_at=m.resolved_at,
        created_at=m.created_at, updated_at=m.updated_at, version=m.version)


def to_mismatch(r: MismatchRecord) -> Mismatch:
    return Mismatch(r.mismatch_id, r.run_id, r.provider, r.day, MismatchKind(r.kind), r.order_id, r.refund_id,
                    r.transaction_id, plain(r.here), plain(r.there), r.detail, MismatchStatus(r.status), r.reason,
                    ResolveAction(r.action) if r.action else None, r.resolved_by, r.resolved_at, r.created_at,
                    r.updated_at, int(r.version))


def to_waiting(r: PendingRecord) -> Waiting:
    return as_waiting(r.pending_id, r.side, plain(r.item), r.from_day, r.outcome)
