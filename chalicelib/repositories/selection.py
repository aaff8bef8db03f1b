"""Selection records and the two transactions that allocate a unit (docs/decisions/0015).

The transactions stay here, not in repositories/leases.py: each writes the unit, the household's
selection record and the lease at once, and the allocation (选房) is what they do; the lease's own
reads and its contract file are the lease repository's (docs/decisions/0025).

``choose`` is ONE TransactWrite: the unit vacant -> reserved (on its status and version, with the
vacancy counters and its history), the household's record invited -> chosen (on "invited, no unit,
this slot"), and the draft lease. ``confirm`` is another: the lease draft -> confirmed (on its
version; the record now in billing's active index), the unit reserved -> leased (history), the
record chosen -> confirmed, and the deposit's bill (once: its key is the lease's).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import Bill
from chalicelib.domain.leases import Lease
from chalicelib.domain.selection import (CHOSEN, CONFIRMED, INVITED, OPEN_PHASES, PASSED, SELECTION, Household, Meta,
                                         SelectionStatus)
from chalicelib.domain.units import UNITS, StatusChange, Unit, UnitStatus
from chalicelib.identity import Actor
from chalicelib.repositories.common import TRANSIENT, _connection, is_condition_failure, put_new
from chalicelib.repositories.leases import get_lease, lease_record
from chalicelib.repositories.tables import LeaseRecord, SelectionRecord, UnitRecord

META = "meta"
UNIT_FIELDS = ("unit_id", "estate_id", "building_id", "number", "layout", "floor_area", "floor", "rent", "status")


def item_key(rank: int) -> str:
    return f"r#{rank:07d}"


class SelectionRepository:
    def __init__(self, settings: Settings, *, units: Callable[[], Any], storage: Callable[[], Any]) -> None:
        """``units`` and ``storage`` give the unit repository (a choice reserves the unit in the same
        transaction) and the document storage (the contract PDF), built by the composition root."""
        self.settings = settings
        self._units = units
        self._storage = storage

    # --- meta -----------------------------------------------------------------------------------
    def create_meta(self, meta: Meta) -> None:
        put_new(meta_record(meta), SelectionRecord.item.does_not_exist(),
                errors.IllegalTransition("the selection has started already", field="status"))

    def get_meta(self, round_id: str) -> Meta | None:
        try:
            return to_meta(SelectionRecord.get(round_id, META))
        except SelectionRecord.DoesNotExist:
            return None

    def update_meta(self, meta: Meta, expected_version: int) -> Meta:
        try:
            meta_record(meta).save(condition=SelectionRecord.version == expected_version)
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion("the selection changed", field="version") from None
            raise
        return meta

    def delete_meta(self, round_id: str) -> None:
        SelectionRecord(round_id, META).delete()

    def running_rounds(self) -> list[str]:
        out: list[str] = []
        for phase in OPEN_PHASES:
            out += [r.round_id for r in SelectionRecord.by_phase.query(phase)]
        return out

    # --- households -------------------------------------------------------------------------------
    def put_households(self, households: list[Household]) -> None:
        """BatchWriteItem, 25 a request (written only while the selection is "starting")."""
        with SelectionRecord.batch_write() as batch:
            for h in households:
                batch.save(household_record(h))

    def households(self, round_id: str) -> list[Household]:
        """Every household of the round in rank order: one Query (paged past 1 MB)."""
        return [to_household(r) for r in SelectionRecord.query(
            round_id, SelectionRecord.item.startswith("r#"), consistent_read=True)]

    def get_household(self, round_id: str, rank: int) -> Household:
        try:
            return to_household(SelectionRecord.get(round_id, item_key(rank), consistent_read=True))
        except SelectionRecord.DoesNotExist:
            raise errors.SelectionNotFound(round_id, field="round_id") from None

    def mine(self, round_id: str, owner: str) -> Household | None:
        found = list(SelectionRecord.by_owner.query(owner, SelectionRecord.round_id == round_id, limit=1))
        if not found:
            return None
        return self.get_household(round_id, int(found[0].rank))  # the index lags: read the item itself

    def pass_over(self, h: Household) -> bool:
        """invited -> passed, only if still invited in this slot with no unit (a choice at the last
        moment wins or loses cleanly against this)."""
        actions = [SelectionRecord.status.set(SELECTION.move(h.status, PASSED).value), SelectionRecord.updated_at.set(_now()),
                   SelectionRecord.version.add(1)]
        if not h.reinvited:
            actions.append(SelectionRecord.passed_once.set(1))
        return self._update(h, actions, (SelectionRecord.status == INVITED) & SelectionRecord.unit_id.does_not_exist()
                            & (SelectionRecord.slot_end == h.slot_end))

    def reinvite(self, h: Household) -> bool:
        """passed -> invited with one more slot at the end (once)."""
        actions = [SelectionRecord.status.set(INVITED.value), SelectionRecord.reinvited.set(1),
                   SelectionRecord.slot.set(h.slot), SelectionRecord.slot_start.set(h.slot_start),
                   SelectionRecord.slot_end.set(h.slot_end), SelectionRecord.updated_at.set(_now()),
                   SelectionRecord.version.add(1)]
        return self._update(h, actions, (SelectionRecord.status == PASSED) & SelectionRecord.reinvited.does_not_exist())

    @staticmethod
    def _update(h: Household, actions: list[Any], condition: Any) -> bool:
        try:
            SelectionRecord(h.round_id, item_key(h.rank)).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- the two allocation transactions -----------------------------------------------------------
    def choose(self, h: Household, unit: Unit, lease: Lease, actor: Actor) -> str:
        """"ok", or "conflict" when any condition failed (nothing is written then)."""
        from chalicelib.repositories.units import UnitRepository, search_key, to_record

        units = self._units()
        change = StatusChange(unit.unit_id, lease.created_at, unit.status, UNITS.move(unit.status, UnitStatus.RESERVED),
                              actor.subject, "applicant", f"选房：{lease.round_id}")
        chosen = SELECTION.move(h.status, CHOSEN)

        def build(tx: TransactWrite) -> None:
            tx.update(to_record(unit, self.settings.city_code), actions=[
                UnitRecord.status.set(UnitStatus.RESERVED.value),
                UnitRecord.search_key.set(search_key(UnitStatus.RESERVED, unit.rent, unit.unit_id)),
                UnitRecord.updated_at.set(change.at)], condition=UnitRecord.status == UnitStatus.VACANT.value)
            units._count(tx, unit, total=0, vacant=-1)
            tx.save(UnitRepository._history(change))
            tx.update(SelectionRecord(h.round_id, item_key(h.rank)), actions=[
                SelectionRecord.status.set(chosen.value), SelectionRecord.unit_id.set(unit.unit_id),
                SelectionRecord.lease_id.set(lease.lease_id), SelectionRecord.chosen_at.set(lease.created_at),
                SelectionRecord.updated_at.set(lease.created_at), SelectionRecord.version.add(1)],
                condition=(SelectionRecord.status == INVITED) & SelectionRecord.unit_id.does_not_exist()
                & (SelectionRecord.slot_end == h.slot_end))
            tx.save(lease_record(lease), condition=LeaseRecord.lease_id.does_not_exist())

        return self._transact(build)

    def confirm(self, confirmed: Lease, draft: Lease, actor: Actor, deposit: Bill | None = None) -> None:
        from chalicelib.repositories.bills import bill_record
        from chalicelib.repositories.tables import BillRecord
        from chalicelib.repositories.units import UnitRepository, search_key, to_record

        h = self.mine(draft.round_id, draft.owner)
        for _ in range(3):
            unit = self._units().get(draft.unit_id)
            change = StatusChange(unit.unit_id, confirmed.confirmed_at or confirmed.updated_at, unit.status,
                                  UNITS.move(unit.status, UnitStatus.LEASED), actor.subject, "applicant",
                                  f"签约：{draft.lease_id}")
            mine = h is not None and h.lease_id == draft.lease_id
            h_to = SELECTION.move(h.status, CONFIRMED) if h is not None and mine else None

            def build(tx: TransactWrite, unit: Unit = unit, change: StatusChange = change) -> None:
                tx.save(lease_record(confirmed), condition=(LeaseRecord.version == draft.version)
                        & (LeaseRecord.status == draft.status.value))
                tx.update(to_record(unit, self.settings.city_code), actions=[
                    UnitRecord.status.set(UnitStatus.LEASED.value),
                    UnitRecord.search_key.set(search_key(UnitStatus.LEASED, unit.rent, unit.unit_id)),
                    UnitRecord.updated_at.set(change.at)], condition=UnitRecord.status == UnitStatus.RESERVED.value)
                tx.save(UnitRepository._history(change))
                if h is not None and h_to is not None:
                    tx.update(SelectionRecord(h.round_id, item_key(h.rank)), actions=[
                        SelectionRecord.status.set(h_to.value), SelectionRecord.confirmed_at.set(change.at),
                        SelectionRecord.updated_at.set(change.at), SelectionRecord.version.add(1)],
                        condition=SelectionRecord.status == CHOSEN)
                if deposit is not None:
                    tx.save(bill_record(deposit), condition=BillRecord.bill_id.does_not_exist())

            if self._transact(build) == "ok":
                return
            current = get_lease(draft.lease_id)
            if current.version != draft.version or current.status != draft.status:
                raise errors.StaleVersion("the lease changed", field="version")
        raise errors.ServiceUnavailable("busy, try again")

    def _transact(self, build: Any) -> str:
        """Run a transaction; DynamoDB's TransactionConflict (another transaction on the same item
        in flight, e.g. an estate's counters) is retried with jitter, a failed condition reported."""
        connection = _connection(self.settings.region, self.settings.endpoint_url)
        for attempt in range(5):
            try:
                with TransactWrite(connection=connection) as tx:
                    build(tx)
                return "ok"
            except TransactWriteError as exc:
                reasons = [r.code for r in (exc.cancellation_reasons or []) if r]
                if "ConditionalCheckFailed" in reasons:
                    return "conflict"
                if exc.cause_response_code in TRANSIENT or set(reasons) & TRANSIENT:
                    time.sleep(0.02 * (attempt + 1) * (1 + (time.monotonic_ns() % 7) / 7))
                    continue
                raise
        raise errors.ServiceUnavailable("TransactionConflict")

    # --- units of a round --------------------------------------------------------------------------
    def units(self, unit_ids: list[str]) -> list[dict[str, Any]]:
        """The round's units (BatchGetItem, 100 keys a request; only the fields a list shows)."""
        if not unit_ids:
            return []
        out = []
        for r in UnitRecord.batch_get(list(dict.fromkeys(unit_ids)), attributes_to_get=list(UNIT_FIELDS)):
            out.append({"unit_id": r.unit_id, "estate_id": r.estate_id, "building_id": r.building_id,
                        "number": r.number, "layout": r.layout, "floor_area": round(float(r.floor_area), 2),
                        "floor": int(r.floor), "rent": int(r.rent), "status": r.status})
        return out


def _now() -> str:
    from chalicelib.domain.common import now_iso

    return now_iso()


# --- records ----------------------------------------------------------------------------------------
def meta_record(m: Meta) -> SelectionRecord:
    return SelectionRecord(
        m.round_id, META, phase=m.phase, starts_at=m.starts_at, slot_minutes=m.slot_minutes, slot_size=m.slot_size,
        slots=m.slots, first_ends_at=m.first_ends_at, reinvite_base=m.reinvite_base, finished_at=m.finished_at,
        released=m.released, created_at=m.created_at, updated_at=m.updated_at, version=m.version)


def to_meta(r: SelectionRecord) -> Meta:
    return Meta(r.round_id, r.phase or "", r.starts_at or "", int(r.slot_minutes or 0), int(r.slot_size or 1),
                int(r.slots or 0), r.first_ends_at or "", r.reinvite_base, r.finished_at,
                list(r.released) if r.released is not None else None, r.created_at, r.updated_at, int(r.version or 1))


def household_record(h: Household) -> SelectionRecord:
    return SelectionRecord(
        h.round_id, item_key(h.rank), rank=h.rank, registration_no=h.registration_no, application_id=h.application_id,
        owner=h.owner, owner_key=h.owner_key, mobile=h.mobile, household_size=h.household_size,
        allowed_layouts=list(h.allowed_layouts), masked_name=h.masked_name, status=h.status, slot=h.slot,
        slot_start=h.slot_start, slot_end=h.slot_end, reinvited=1 if h.reinvited else None,
        passed_once=1 if h.passed_once else None, unit_id=h.unit_id, lease_id=h.lease_id, chosen_at=h.chosen_at,
        confirmed_at=h.confirmed_at, created_at=h.created_at, updated_at=h.updated_at, version=h.version)


def to_household(r: SelectionRecord) -> Household:
    return Household(
        r.round_id, int(r.rank), r.registration_no or "", r.application_id or "", r.owner, r.owner_key or "",
        int(r.household_size or 0), list(r.allowed_layouts or []), r.masked_name or "", SelectionStatus(r.status or INVITED),
        int(r.slot or 0), r.slot_start or "", r.slot_end or "", r.mobile, bool(r.reinvited), bool(r.passed_once),
        r.unit_id, r.lease_id, r.chosen_at, r.confirmed_at, r.created_at, r.updated_at, int(r.version or 1))
