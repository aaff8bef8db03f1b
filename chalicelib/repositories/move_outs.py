"""Move-outs (退租): one item each in the move_outs table, beside its lease's lock while it is open
(docs/decisions/0030). Every step that moves more than the move-out is one TransactWriteItems:
opening (the move-out and the lock), cancelling (the move-out and the lock gone), settling (the
move-out, the bills it takes over cancelled, the balance bill), completing (the move-out, the lock
gone, the lease ended and out of billing's active index, the unit and its counters and history, the
later rent bills cancelled)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import CANCELLED as BILL_CANCELLED, UNPAID, Bill
from chalicelib.domain.common import Page
from chalicelib.domain.leases import ENDED, Lease, LeaseStatus
from chalicelib.domain.move_outs import MoveOut, MoveOutStatus
from chalicelib.domain.units import StatusChange, Unit, UnitStatus
from chalicelib.repositories.common import is_condition_failure, plain, transact
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import BillRecord, LeaseRecord, MoveOutRecord, UnitRecord

FIELDS = ("lease_id", "owner", "unit_id", "estate_id", "unit_label", "tenant_masked", "move_out_date", "started_by",
          "started_role", "grant_id", "reason", "review_id", "appointment", "inspection", "photos", "settlement",
          "events", "created_at", "updated_at", "version")
KIND, LOCK = "move_out", "lock"


def lock_key(lease_id: str) -> str:
    return f"lease#{lease_id}"


class MoveOutRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- reading ------------------------------------------------------------------------------------
    def get(self, move_out_id: str) -> MoveOut:
        try:
            record = MoveOutRecord.get(move_out_id, consistent_read=True)
        except MoveOutRecord.DoesNotExist:
            raise errors.MoveOutNotFound(move_out_id, field="move_out_id") from None
        if record.kind != KIND:
            raise errors.MoveOutNotFound(move_out_id, field="move_out_id")
        return to_move_out(record)

    def of_lease(self, lease_id: str) -> list[MoveOut]:
        """A lease's move-outs, oldest first (a handful: one open at a time, then cancelled or completed)."""
        return [to_move_out(r) for r in MoveOutRecord.by_lease.query(lease_id, limit=50)]

    def by_status(self, status: MoveOutStatus, cursor: str | None, limit: int) -> Page[MoveOut]:
        """Move-outs in one status, oldest first (staff work through them in order)."""
        records, next_cursor = query_page(MoveOutRecord.by_status, status.value,
                                          key_names=("move_out_id", "status", "list_sort"),
                                          scope=f"move_outs:{status.value}", limit=limit, cursor=cursor)
        return Page([to_move_out(r) for r in records], next_cursor)

    # --- writing ------------------------------------------------------------------------------------
    def create(self, mo: MoveOut) -> None:
        """The move-out and its lease's lock at once; the lock held already is 409 MOVE_OUT_EXISTS."""
        def build(tx: Any) -> None:
            tx.save(record(mo), condition=MoveOutRecord.move_out_id.does_not_exist())
            tx.save(MoveOutRecord(lock_key(mo.lease_id), kind=LOCK, lease_id=mo.lease_id, holder=mo.move_out_id,
                                  created_at=mo.created_at, updated_at=mo.created_at),
                    condition=MoveOutRecord.move_out_id.does_not_exist())

        if not transact(self.settings, build):
            raise errors.MoveOutExists(mo.lease_id, field="lease_id")

    def change(self, before: MoveOut, after: MoveOut) -> bool:
        """Replace the move-out if nobody changed it since ``before`` (False: nothing written)."""
        try:
            record(after).save(condition=_unchanged(before))
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def close(self, before: MoveOut, after: MoveOut) -> bool:
        """A cancelled move-out: the move-out and its lock gone, at once."""
        def build(tx: Any) -> None:
            tx.save(record(after), condition=_unchanged(before))
            tx.delete(MoveOutRecord(lock_key(before.lease_id)), condition=MoveOutRecord.holder == before.move_out_id)

        return transact(self.settings, build)

    def settle(self, before: MoveOut, after: MoveOut, cancel: list[Bill], balance: Bill | None) -> bool:
        """The settled move-out, the bills its statement takes over cancelled (each only if still
        unpaid), the balance bill (only if new), at once; False if any condition failed."""
        from chalicelib.repositories.bills import bill_record

        reason = f"并入退租结算 {before.move_out_id}"

        def build(tx: Any) -> None:
            tx.save(record(after), condition=_unchanged(before))
            for bill in cancel:
                _cancel_bill(tx, bill, reason, after.updated_at)
            if balance is not None:
                tx.save(bill_record(balance), condition=BillRecord.bill_id.does_not_exist())

        return transact(self.settings, build)

    def complete(self, before: MoveOut, after: MoveOut, lease: Lease, unit: Unit, target: UnitStatus, actor: str,
                 later: list[Bill]) -> bool:
        """The completed move-out with its lock gone, the lease ended (out of the active index), the unit
        leased -> ``target`` (its counters and history), the later rent bills cancelled; False if any
        condition failed."""
        from chalicelib.repositories.units import UnitRepository, search_key, to_record

        units = UnitRepository(self.settings)
        at = after.updated_at
        change = StatusChange(unit.unit_id, at, unit.status, target, actor, "staff", f"退租：{before.move_out_id}")

        def build(tx: Any) -> None:
            tx.save(record(after), condition=_unchanged(before))
            tx.delete(MoveOutRecord(lock_key(before.lease_id)), condition=MoveOutRecord.holder == before.move_out_id)
            tx.update(LeaseRecord(lease.lease_id), actions=[
                LeaseRecord.status.set(ENDED.value), LeaseRecord.active_shard.remove(),
                LeaseRecord.updated_at.set(at), LeaseRecord.version.add(1)],
                condition=(LeaseRecord.status == LeaseStatus.CONFIRMED.value) & (LeaseRecord.version == lease.version))
            tx.update(to_record(unit, self.settings.city_code), actions=[
                UnitRecord.status.set(target.value),
                UnitRecord.search_key.set(search_key(target, unit.rent, unit.unit_id)),
                UnitRecord.updated_at.set(at)], condition=UnitRecord.status == unit.status.value)
            tx.save(UnitRepository._history(change))
            if target is UnitStatus.VACANT:
                units._count(tx, unit, total=0, vacant=1)
            for bill in later:
                _cancel_bill(tx, bill, f"退租后月份 {before.move_out_id}", at)

        return transact(self.settings, build)


def _unchanged(before: MoveOut) -> Any:
    return (MoveOutRecord.version == before.version) & (MoveOutRecord.status == before.status.value)


def _cancel_bill(tx: Any, bill: Bill, reason: str, at: str) -> None:
    from chalicelib.repositories.bills import owner_sort

    tx.update(BillRecord(bill.bill_id), actions=[
        BillRecord.status.set(BILL_CANCELLED.value), BillRecord.cancel_reason.set(reason),
        BillRecord.owner_sort.set(owner_sort(replace(bill, status=BILL_CANCELLED))),
        BillRecord.updated_at.set(at), BillRecord.version.add(1)],
        condition=BillRecord.status == UNPAID.value)


# --- records ------------------------------------------------------------------------------------------
def record(mo: MoveOut) -> MoveOutRecord:
    values = {f: getattr(mo, f) for f in FIELDS}
    return MoveOutRecord(mo.move_out_id, kind=KIND, status=mo.status.value,
                         list_sort=f"{mo.created_at}#{mo.move_out_id}", **values)


def to_move_out(r: MoveOutRecord) -> MoveOut:
    values = {f: plain(getattr(r, f)) for f in FIELDS}
    values["version"] = int(values["version"])
    values["photos"] = list(values["photos"] or [])
    values["events"] = list(values["events"] or [])
    return MoveOut(move_out_id=r.move_out_id, status=MoveOutStatus(r.status), **values)
