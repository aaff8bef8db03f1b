"""The selection repository's contract, on the twin and on DynamoDB: the two allocation transactions
(and what they wrote, read through the lease repository)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.leases import Lease
from chalicelib.domain.selection import CHOSEN, CONFIRMED, INVITED, PASSED, Household, Meta
from chalicelib.domain.units import Unit, UnitStatus
from chalicelib.identity import Actor, Role

SLOT_END = "2039-01-01T10:30:00+08:00"


def household(round_id: str, rank: int) -> Household:
    return Household(round_id=round_id, rank=rank, registration_no=f"{rank:05d}", application_id=new_id("app"),
                     owner=new_id("sub"), owner_key=new_id("pk"), household_size=2, allowed_layouts=["2b1l"],
                     masked_name="刘*", status=INVITED, slot=1, slot_start="2039-01-01T10:00:00+08:00",
                     slot_end=SLOT_END, created_at=now_iso(), updated_at=now_iso())


def lease(h: Household, unit: Unit) -> Lease:
    at = now_iso()
    return Lease(lease_id=new_id("lease"), round_id=h.round_id, application_id=h.application_id, owner=h.owner or "",
                 owner_key=h.owner_key, tenant_name="刘思雨", tenant_id_masked="4407**********0249",
                 household_size=2, unit_id=unit.unit_id, estate_id=unit.estate_id, estate_name="孪生测试苑",
                 address="测试路1号", building_id="b1", building_name="1栋", number=unit.number, layout="2b1l",
                 floor_area=unit.floor_area, base_rent=unit.rent, monthly_rent=unit.rent, reduction=None,
                 deposit=2 * unit.rent, term_months=36, start_date="2039-02-01", end_date="2042-01-31",
                 manager=None, landlord="江门市住房保障中心", clauses=["按时缴纳租金"], created_at=at, updated_at=at)


def actor(h: Household) -> Actor:
    return Actor(subject=h.owner or "", roles=frozenset({Role.APPLICANT}), city="jiangmen", claims={})


def test_a_unit_goes_to_one_household(container: Any, vacant_unit: Any) -> None:
    repo = container.selection
    round_id = new_id("round")
    first, second = household(round_id, 1), household(round_id, 2)
    repo.put_households([second, first])
    assert [h.rank for h in repo.households(round_id)] == [1, 2]
    assert repo.mine(round_id, second.owner) == second
    won = lease(first, vacant_unit)
    assert repo.choose(first, vacant_unit, won, actor(first)) == "ok"
    assert repo.choose(second, vacant_unit, lease(second, vacant_unit), actor(second)) == "conflict"
    # the loser's transaction wrote nothing: still invited, no unit, no lease
    assert repo.get_household(round_id, 2) == second
    assert container.leases.of_owner(second.owner) == []
    assert container.units.get(vacant_unit.unit_id).status is UnitStatus.RESERVED
    chosen = repo.get_household(round_id, 1)
    assert (chosen.status, chosen.unit_id, chosen.lease_id) == (CHOSEN, vacant_unit.unit_id, won.lease_id)
    assert container.leases.get(won.lease_id) == won
    with pytest.raises(errors.AlreadyChosen):  # one unit each: the selection lifecycle refuses
        repo.choose(chosen, vacant_unit, lease(first, vacant_unit), actor(first))
    assert [u["status"] for u in repo.units([vacant_unit.unit_id])] == ["reserved"]

    confirmed = replace(won, status="confirmed", confirmed_at=now_iso(), version=2)
    with pytest.raises(errors.StaleVersion):
        repo.confirm(confirmed, replace(won, version=5), actor(first))
    repo.confirm(confirmed, won, actor(first))
    assert container.leases.get(won.lease_id) == confirmed
    assert repo.get_household(round_id, 1).status == CONFIRMED
    assert container.units.get(vacant_unit.unit_id).status is UnitStatus.LEASED
    assert [x.lease_id for x in container.leases.of_round(round_id)] == [won.lease_id]
    with pytest.raises(errors.IllegalTransition):
        repo.confirm(replace(confirmed, version=3), confirmed, actor(first))
    with pytest.raises(errors.LeaseNotFound):
        container.leases.get(new_id("lease"))


def test_pass_over_and_reinvite_are_conditional(container: Any) -> None:
    repo = container.selection
    round_id = new_id("round")
    h = household(round_id, 1)
    repo.put_households([h])
    assert not repo.pass_over(replace(h, slot_end="2039-01-01T11:00:00+08:00"))  # another slot: not this one
    assert not repo.reinvite(h)  # not passed
    assert repo.pass_over(h)
    assert not repo.pass_over(h)
    passed = repo.get_household(round_id, 1)
    assert (passed.status, passed.passed_once, passed.version) == (PASSED, True, 2)
    later = replace(passed, slot=9, slot_start="2039-01-01T15:00:00+08:00", slot_end="2039-01-01T15:30:00+08:00")
    assert repo.reinvite(later)
    assert not repo.reinvite(later)  # once
    again = repo.get_household(round_id, 1)
    assert (again.status, again.reinvited, again.slot, again.version) == (INVITED, True, 9, 3)
    with pytest.raises(errors.SelectionNotFound):
        repo.get_household(round_id, 2)


def test_the_selection_meta(container: Any) -> None:
    repo = container.selection
    round_id = new_id("round")
    meta = Meta(round_id=round_id, phase="starting", starts_at=now_iso(), slot_minutes=30, slot_size=5, slots=2,
                first_ends_at=SLOT_END, created_at=now_iso(), updated_at=now_iso())
    repo.create_meta(meta)
    with pytest.raises(errors.IllegalTransition):
        repo.create_meta(meta)
    assert repo.get_meta(round_id) == meta
    assert round_id in repo.running_rounds()
    moved = replace(meta, phase="first", version=2)
    with pytest.raises(errors.StaleVersion):
        repo.update_meta(moved, 5)
    repo.update_meta(moved, 1)
    assert repo.get_meta(round_id) == moved
    repo.delete_meta(round_id)
    assert repo.get_meta(round_id) is None
