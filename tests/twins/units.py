"""In-memory units, as far as the unit choice and the lottery need them (get, create, status).

Not one of the contracted twins: the selection contract covers what a choice does to a unit."""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.units import StatusChange, Unit, UnitStatus
from tests.twins.common import clone


class UnitTwin:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()  # the selection twin's transactions take it too
        self.units: dict[str, Unit] = {}
        self.changes: list[StatusChange] = []

    def get(self, unit_id: str) -> Unit:
        with self.lock:
            if unit_id not in self.units:
                raise errors.UnitNotFound(unit_id)
            return clone(self.units[unit_id])

    def create(self, unit: Unit, actor_id: str, actor_role: str) -> Unit:
        with self.lock:
            if unit.unit_id in self.units:
                raise errors.AlreadyExists(unit.unit_id, field="number")
            created = replace(unit, version=1)
            self.units[unit.unit_id] = created
            self.changes.append(StatusChange(unit.unit_id, unit.created_at, None, unit.status, actor_id, actor_role,
                                             "created"))
            return clone(created)

    def change_status(self, current: Unit, change: StatusChange) -> Unit:
        with self.lock:
            if self.units[current.unit_id].version != current.version:
                raise errors.StaleVersion(field="version")
            return self.set_status(current.unit_id, change)

    def set_status(self, unit_id: str, change: StatusChange) -> Unit:
        unit = self.units[unit_id]
        self.units[unit_id] = replace(unit, status=change.to_status, updated_at=change.at, version=unit.version + 1)
        self.changes.append(change)
        return clone(self.units[unit_id])

    def status_of(self, unit_id: str) -> UnitStatus:
        return self.units[unit_id].status

    def fields(self, unit_id: str) -> dict[str, Any]:
        u = self.units[unit_id]
        return {"unit_id": u.unit_id, "estate_id": u.estate_id, "building_id": u.building_id, "number": u.number,
                "layout": u.layout.value, "floor_area": round(float(u.floor_area), 2), "floor": int(u.floor),
                "rent": int(u.rent), "status": u.status.value}
