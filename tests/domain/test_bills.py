"""Bills on the twins (no AWS): the deposit's bill comes with the lease's confirmation, once however
often the tenant taps confirm; the tenant and a delegate read it; a page of rent bills written twice
reports the first writer (docs/decisions/0027)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain import bills, common, leases, selection
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application, Event
from chalicelib.domain.bills import BillKind, BillStatus
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.estates import Estate
from chalicelib.domain.round_status import RoundStatus
from chalicelib.domain.selection import INVITED, Household, Meta
from chalicelib.domain.units import Layout, Unit, UnitStatus
from tests.domain.conftest import person
from tests.domain.test_allocation import closed_round


class WaitingList:
    def __init__(self) -> None:
        self.left: list[str] = []

    def leave(self, application_id: str) -> None:
        self.left.append(application_id)


@pytest.fixture()
def chosen(twins: Any) -> tuple[Any, Any]:
    """A household that chose a unit in a round's selection: (the tenant, the draft lease)."""
    twins.__dict__["waiting_list"] = WaitingList()  # the container's lazy attribute, handed in
    at = now_iso()
    estate = Estate(estate_id=new_id("est"), name="福泽园", area_id="pengjiang", street_id="st1", address="江门市福泽路1号",
                    lat=22.6, lng=113.08, buildings=[{"building_id": "b1", "name": "1栋"}])
    twins.estates.estates[estate.estate_id] = estate
    unit = twins.units.create(Unit(unit_id=new_id("unit"), estate_id=estate.estate_id, building_id="b1",
                                   area_id="pengjiang", street_id="st1", number="0301", layout=Layout.TWO_BED,
                                   floor_area=58.2, floor=3, rent=65000, status=UnitStatus.VACANT, created_at=at,
                                   updated_at=at), "admin", "admin")
    r = replace(closed_round(twins, [unit.unit_id], 0), round_id=new_id("round"), status=RoundStatus.SELECTION)
    twins.lottery.create_round(r)
    start, end = (common.now() - timedelta(minutes=5)).isoformat(), (common.now() + timedelta(minutes=25)).isoformat()
    twins.selection.create_meta(Meta(r.round_id, "first", start, 30, 5, 1, end, created_at=at, updated_at=at))
    tenant = person()
    main = {"member_id": new_id("m"), "person_key": new_id("pk"), "name": "刘思雨", "relation": "self",
            "adult": True, "id_number": "440703200103160249"}
    app = Application(new_id("app"), "individual", Status.QUALIFIED, main["person_key"], tenant.subject, new_id("hh"),
                      [main], created_at=at, updated_at=at)
    twins.applications.create(app, Event("created", tenant.subject, "applicant"))
    twins.selection.put_households([Household(r.round_id, 1, "00001", app.application_id, tenant.subject,
                                              main["person_key"], 2, ["2b1l"], "刘*", INVITED, 1, start, end,
                                              created_at=at, updated_at=at)])
    _, lease = selection.choose(r.round_id, tenant, unit.unit_id)
    return tenant, lease


def test_the_deposit_is_a_bill_once_however_often_confirm_is_tapped(twins: Any, chosen: tuple[Any, Any]) -> None:
    tenant, lease = chosen
    assert twins.bills.bills == {}  # a draft lease has no bill
    confirmed = leases.confirm(lease.lease_id, tenant, lease.version, "iPhone")
    again = leases.confirm(lease.lease_id, tenant, lease.version, "iPhone")  # a double tap: the same answer
    assert again.version == confirmed.version
    with pytest.raises(errors.LeaseAlreadyConfirmed):
        leases.confirm(lease.lease_id, tenant, confirmed.version, "iPhone")
    (deposit,) = twins.bills.of_lease(lease.lease_id)
    assert deposit.bill_id == bills.bill_key(lease.lease_id, BillKind.DEPOSIT)
    assert (deposit.kind, deposit.amount, deposit.status, deposit.owner) == (
        BillKind.DEPOSIT, lease.deposit, BillStatus.UNPAID, tenant.subject)
    assert deposit.due_date == max(lease.start_date, now_iso()[:10]) and deposit.unit_label == "福泽园1栋0301"
    assert [b.bill_id for b in bills.mine(tenant, None, 20).items] == [deposit.bill_id]
    assert bills.get(deposit.bill_id, tenant) == deposit
    with pytest.raises(errors.BillNotFound):
        bills.get(deposit.bill_id, person())  # a stranger


def test_a_page_written_twice_reports_the_first_writer(twins: Any) -> None:
    lse = bills.ActiveLease(lease_id="lse_x", owner="sub_a", confirmed=True, monthly_rent=30000, base_rent=30000,
                            reduction=None, start_date="2026-01-01", end_date="2029-12-31", estate_id="e",
                            unit_id="u", unit_label="福泽园1栋101")
    rules = bills.rent_rules("jiangmen")
    first = [bills.rent_bill(replace(lse, lease_id=f"lse_{n}"), "2027-01", "brun_a", rules, now_iso()) for n in range(3)]
    assert twins.bills.create_many(first[:2]) == {}
    second = [replace(b, run_id="brun_b") for b in first]
    assert twins.bills.create_many(second) == {first[0].bill_id: "brun_a", first[1].bill_id: "brun_a"}
    assert twins.bills.get(first[2].bill_id).run_id == "brun_b"
