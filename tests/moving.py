"""Helpers for the move-out tests (退租, docs/decisions/0030): a leased unit and a confirmed lease written as
the selection writes them, the move-out dates the city allows, and :func:`drive`, one move-out end to end
through the API (notice, appointment, inspection, settlement, counter refund if any, completion): the
tests use it with the Chalice test client, the demo with HTTP (it lives in devstack/tenancy.py, one copy)."""
from __future__ import annotations

import itertools
from typing import Any

from devstack.tenancy import Send, drive, move_out_date, today

__all__ = ["Send", "drive", "lease", "leased_unit", "move_out_date", "today"]

_numbers = itertools.count(1)


def leased_unit(estate_id: str = "fuzeyuan", rent: int = 30000) -> Any:
    """A new unit of ``estate_id``'s building b1, taken through vacant -> reserved -> leased (with its
    counters), as a confirmed lease leaves it."""
    from chalicelib.bodies import UnitIn
    from chalicelib.domain import units
    from chalicelib.domain.units import UnitStatus

    unit = units.create(UnitIn.model_validate({"estate_id": estate_id, "building_id": "b1",
                                               "number": f"9{next(_numbers):03d}", "layout": "1b1l",
                                               "floor_area": 45.5, "floor": 9, "rent": rent}, strict=False),
                        "test", "admin")
    unit = units.change_status(unit.unit_id, UnitStatus.RESERVED, unit.version, "选房", "test", "admin")
    return units.change_status(unit.unit_id, UnitStatus.LEASED, unit.version, "签约", "test", "admin")


def lease(owner: str, unit: Any, *, status: str = "confirmed", monthly_rent: int = 30000, deposit: int = 60000,
          start: str = "2026-06-01", end: str = "2029-05-31", name: str = "周明华") -> Any:
    """A lease of ``unit`` for the login subject ``owner``, stored as the confirmation stores it (a
    confirmed one is in billing's active index)."""
    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.domain.leases import Lease, LeaseStatus
    from chalicelib.repositories.leases import lease_record

    made = Lease(lease_id=new_id("lse"), round_id="rnd_moveout", application_id=new_id("app"), owner=owner,
                 owner_key="x", tenant_name=name, tenant_id_masked="4407**********1234", household_size=2,
                 unit_id=unit.unit_id, estate_id=unit.estate_id, estate_name="福泽园", address="福泽园路1号",
                 building_id="b1", building_name="1栋", number=unit.number, layout="1b1l", floor_area=45.5,
                 base_rent=monthly_rent, monthly_rent=monthly_rent, reduction=None, deposit=deposit, term_months=36,
                 start_date=start, end_date=end, manager=None, landlord="江门市住房保障中心",
                 status=LeaseStatus(status), confirmed_at=now_iso() if status == "confirmed" else None,
                 contract_key="leases/x/contract.pdf" if status == "confirmed" else None, created_at=now_iso(),
                 updated_at=now_iso())
    lease_record(made).save()
    return made
