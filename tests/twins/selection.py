"""In-memory twin of chalicelib/repositories/selection.py: ``choose`` and ``confirm`` check every
condition of their DynamoDB transaction first and write only when all hold."""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Callable

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import Bill
from chalicelib.domain.common import now_iso
from chalicelib.domain.leases import Lease
from chalicelib.domain.selection import CHOSEN, CONFIRMED, INVITED, PASSED, SELECTION, Household, Meta
from chalicelib.domain.units import UNITS, StatusChange, Unit, UnitStatus
from chalicelib.identity import Actor
from tests.twins.common import clone


class SelectionTwin:
    def __init__(self, settings: Settings, *, units: Callable[[], Any], storage: Callable[[], Any],
                 bills: Callable[[], Any] | None = None) -> None:
        self.settings = settings
        self._units = units
        self._storage = storage
        self._bills = bills  # the confirm writes the deposit's bill in the same transaction
        self.metas: dict[str, Meta] = {}
        self.households_by_round: dict[str, dict[int, Household]] = {}
        self.leases: dict[str, Lease] = {}  # written by the transactions, read by tests/twins/leases.py
        self._own = threading.RLock()

    def _lock(self) -> Any:
        return self._units().lock  # one lock over units and selection: a choice is one transaction

    # --- meta ---------------------------------------------------------------------------------------------
    def create_meta(self, meta: Meta) -> None:
        with self._lock():
            if meta.round_id in self.metas:
                raise errors.IllegalTransition("the selection has started already", field="status")
            self.metas[meta.round_id] = clone(meta)

    def get_meta(self, round_id: str) -> Meta | None:
        with self._lock():
            return clone(self.metas.get(round_id))

    def update_meta(self, meta: Meta, expected_version: int) -> Meta:
        with self._lock():
            current = self.metas.get(meta.round_id)
            if current is None or current.version != expected_version:
                raise errors.StaleVersion("the selection changed", field="version")
            self.metas[meta.round_id] = clone(meta)
            return meta

    def delete_meta(self, round_id: str) -> None:
        with self._lock():
            self.metas.pop(round_id, None)

    def running_rounds(self) -> list[str]:
        with self._lock():
            return [m.round_id for phase in ("starting", "first", "reinvite")
                    for m in self.metas.values() if m.phase == phase]

    # --- households -----------------------------------------------------------------------------------------
    def put_households(self, households: list[Household]) -> None:
        with self._lock():
            for h in households:
                self.households_by_round.setdefault(h.round_id, {})[h.rank] = clone(h)

    def households(self, round_id: str) -> list[Household]:
        with self._lock():
            found = self.households_by_round.get(round_id, {})
            return [clone(found[rank]) for rank in sorted(found)]

    def get_household(self, round_id: str, rank: int) -> Household:
        with self._lock():
            h = self.households_by_round.get(round_id, {}).get(rank)
            if h is None:
                raise errors.SelectionNotFound(round_id, field="round_id")
            return clone(h)

    def mine(self, round_id: str, owner: str) -> Household | None:
        with self._lock():
            found = [h for h in self.households_by_round.get(round_id, {}).values() if h.owner == owner]
            return clone(found[0]) if found else None

    def pass_over(self, h: Household) -> bool:
        with self._lock():
            current = self.households_by_round.get(h.round_id, {}).get(h.rank)
            if (current is None or current.status != INVITED or current.unit_id is not None
                    or current.slot_end != h.slot_end):
                return False
            self._put(replace(current, status=PASSED, passed_once=current.passed_once or not h.reinvited,
                              updated_at=now_iso(), version=current.version + 1))
            return True

    def reinvite(self, h: Household) -> bool:
        with self._lock():
            current = self.households_by_round.get(h.round_id, {}).get(h.rank)
            if current is None or current.status != PASSED or current.reinvited:
                return False
            self._put(replace(current, status=INVITED, reinvited=True, slot=h.slot, slot_start=h.slot_start,
                              slot_end=h.slot_end, updated_at=now_iso(), version=current.version + 1))
            return True

    def _put(self, h: Household) -> None:
        self.households_by_round.setdefault(h.round_id, {})[h.rank] = h

    # --- the two allocation transactions ----------------------------------------------------------------------
    def choose(self, h: Household, unit: Unit, lease: Lease, actor: Actor) -> str:
        """"ok", or "conflict" when any condition failed (nothing is written then)."""
        units = self._units()
        UNITS.move(unit.status, UnitStatus.RESERVED)  # as the DynamoDB repository: the caller's view first
        SELECTION.move(h.status, CHOSEN)
        with self._lock():
            stored_unit = units.units.get(unit.unit_id)
            current = self.households_by_round.get(h.round_id, {}).get(h.rank)
            if (stored_unit is None or stored_unit.status is not UnitStatus.VACANT or current is None
                    or current.status != INVITED or current.unit_id is not None or current.slot_end != h.slot_end
                    or lease.lease_id in self.leases):
                return "conflict"
            units.set_status(unit.unit_id, StatusChange(unit.unit_id, lease.created_at, stored_unit.status,
                                                        UnitStatus.RESERVED, actor.subject, "applicant",
                                                        f"选房：{lease.round_id}"))
            self._put(replace(current, status=CHOSEN, unit_id=unit.unit_id, lease_id=lease.lease_id,
                              chosen_at=lease.created_at, updated_at=lease.created_at, version=current.version + 1))
            self.leases[lease.lease_id] = clone(lease)
            return "ok"

    def confirm(self, confirmed: Lease, draft: Lease, actor: Actor, deposit: Bill | None = None) -> None:
        units = self._units()
        bills = self._bills() if self._bills is not None and deposit is not None else None
        with self._lock():
            unit = units.units.get(draft.unit_id)
            if unit is None:
                raise errors.UnitNotFound(draft.unit_id)
            if unit.status is not UnitStatus.RESERVED:
                raise errors.IllegalTransition(f"unit {unit.status.value}", field="unit_id")
            current = self.leases.get(draft.lease_id)
            if current is None:
                raise errors.LeaseNotFound(draft.lease_id, field="lease_id")
            if current.version != draft.version or current.status != "draft":
                raise errors.StaleVersion("the lease changed", field="version")
            if bills is not None and deposit is not None and deposit.bill_id in bills.bills:
                raise errors.ServiceUnavailable("the deposit's bill exists: the transaction is cancelled")
            h = next((x for x in self.households_by_round.get(draft.round_id, {}).values()
                      if x.owner == draft.owner), None)
            if h is not None and h.lease_id == draft.lease_id:
                SELECTION.move(h.status, CONFIRMED)
            at = confirmed.confirmed_at or confirmed.updated_at
            units.set_status(unit.unit_id, StatusChange(unit.unit_id, at, unit.status, UnitStatus.LEASED,
                                                        actor.subject, "applicant", f"签约：{draft.lease_id}"))
            self.leases[draft.lease_id] = clone(confirmed)
            if h is not None and h.lease_id == draft.lease_id:
                self._put(replace(h, status=CONFIRMED, confirmed_at=at, updated_at=at, version=h.version + 1))
            if bills is not None and deposit is not None:
                bills.create(deposit)

    def units(self, unit_ids: list[str]) -> list[dict[str, Any]]:
        units = self._units()
        with self._lock():
            return [units.fields(u) for u in dict.fromkeys(unit_ids) if u in units.units]
