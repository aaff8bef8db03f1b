"""The lottery draw and the unit choice, on the twins (no AWS)."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.bodies import DrawIn, VersionIn
from chalicelib.domain import common, draw, lottery, selection
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application, Event
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.estates import Estate
from chalicelib.domain.lottery import Registrant, Round
from chalicelib.domain.round_status import RoundStatus
from chalicelib.domain.selection import CHOSEN, INVITED, Household, Meta
from chalicelib.domain.units import Layout, Unit, UnitStatus
from chalicelib.identity import Role
from tests.domain.conftest import person

SOURCE = "2026-12-15 中国福利彩票双色球第2026145期开奖号码"
PUBLIC_VALUE = "03 11 17 22 28 31 + 09"


def closed_round(twins: Any, unit_ids: list[str], registrants: int) -> Round:
    long_ago = (common.now() - timedelta(days=2)).isoformat()
    r = Round(round_id=new_id("round"), title="2026年第一批", status=RoundStatus.CLOSED, version=3, unit_ids=unit_ids,
              layouts_by_size={"1": ["2b1l"], "2": ["2b1l"]}, priority_groups=["general"], slot_minutes=30, slot_size=5,
              registration_opens_at=long_ago, registration_closes_at=long_ago, created_at=long_ago, updated_at=long_ago,
              randomness_source=SOURCE, seq=registrants, closed_at=long_ago)
    twins.lottery.create_round(r)
    for n in range(1, registrants + 1):
        twins.lottery.put_registration(Registrant(
            round_id=r.round_id, registration_no=f"{n:05d}", application_id=f"app{n}", owner=f"sub{n}",
            owner_key=f"pk{n}", household_size=2, priority_group="general", rank=None, masked_name="刘*",
            masked_id="4407**********0249", allowed_layouts=["2b1l"], mobile=None, created_at=long_ago,
            updated_at=long_ago))
    return r


def test_commit_then_draw_ranks_everyone_once_and_reproducibly(twins: Any) -> None:
    admin = person(Role.ADMIN)
    r = closed_round(twins, [], 7)
    committed = lottery.commit(r.round_id, admin, VersionIn.model_validate({"version": 3}))
    assert committed.status is RoundStatus.COMMITTED and committed.registrants == 7
    drawn = lottery.run_draw(r.round_id, admin,
                             DrawIn.model_validate({"version": committed.version, "public_value": PUBLIC_VALUE}))
    ranks = [g.rank for g in lottery.ranked(r.round_id)]
    assert ranks == list(range(1, 8))
    with pytest.raises(errors.AlreadyDrawn):
        lottery.run_draw(r.round_id, admin, DrawIn.model_validate({"version": drawn.version, "public_value": PUBLIC_VALUE}))
    commitment, _ = lottery.commitment_file(r.round_id)
    # the same commitment and public value give the same ranks anywhere (here: a fresh draw)
    again = draw.draw(json.loads(commitment or b"{}"), PUBLIC_VALUE)
    by_no = {g.registration_no: g.rank for g in lottery.ranked(r.round_id)}
    assert {x["registration_no"]: int(x["rank"]) for x in again["ranks"]} == by_no
    assert [e["action"] for e in twins.audit.of_target(f"round#{r.round_id}")] == ["commit_round", "draw_round"]


def test_two_households_choose_one_unit_one_wins(twins: Any) -> None:
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
    people = [person(), person()]
    for rank, who in enumerate(people, start=1):
        main = {"member_id": new_id("m"), "person_key": new_id("pk"), "name": "刘思雨", "relation": "self",
                "adult": True, "id_number": "440703200103160249"}
        app = Application(new_id("app"), "individual", Status.QUALIFIED,
                          main["person_key"], who.subject, new_id("hh"), [main], created_at=at, updated_at=at)
        twins.applications.create(app, Event("created", who.subject, "applicant"))
        twins.selection.put_households([Household(
            r.round_id, rank, f"{rank:05d}", app.application_id, who.subject, main["person_key"], 2, ["2b1l"], "刘*",
            INVITED, 1, start, end, created_at=at, updated_at=at)])

    chosen, lease = selection.choose(r.round_id, people[0], unit.unit_id)
    assert (chosen.status, lease.unit_id, lease.monthly_rent) == (CHOSEN, unit.unit_id, 65000)
    with pytest.raises(errors.UnitTaken):
        selection.choose(r.round_id, people[1], unit.unit_id)
    with pytest.raises(errors.AlreadyChosen):
        selection.choose(r.round_id, people[0], unit.unit_id)
    assert twins.units.get(unit.unit_id).status is UnitStatus.RESERVED
    assert twins.selection.get_household(r.round_id, 2).status == INVITED  # the loser can still choose another
    assert twins.notifier.templates() == ["unit_chosen"]


def _open_round(twins: Any, seq: int = 0) -> Round:
    r = replace(closed_round(twins, [], 0), round_id=new_id("round"), status=RoundStatus.OPEN, seq=seq, closed_at=None)
    twins.lottery.create_round(r)
    return r


def _unnumbered(round_id: str) -> Registrant:
    at = now_iso()
    return Registrant(round_id=round_id, registration_no="", application_id=new_id("app"), owner=new_id("sub"),
                      owner_key=new_id("pk"), household_size=1, priority_group="general", rank=None, masked_name="刘*",
                      masked_id="4407**********0249", allowed_layouts=["2b1l"], created_at=at, updated_at=at)


def test_a_number_the_counter_hands_out_twice_is_burned_and_the_next_one_taken(
        twins: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r = _open_round(twins, seq=1)
    held = replace(_unnumbered(r.round_id), registration_no="R000001")
    twins.lottery.put_registration(held)  # R000001 is taken; the counter says 1 once more (a stale answer)
    real, answers = twins.lottery.next_number, []

    def stale_once(round_id: str, **kw: Any) -> int:
        n = real(round_id, **kw)
        answers.append(n)
        return n - 1 if len(answers) == 1 else n

    monkeypatch.setattr(twins.lottery, "next_number", stale_once)
    reg = lottery._numbered(twins.lottery, _unnumbered(r.round_id))
    assert reg.registration_no == "R000003" and answers == [2, 3]
    after = twins.lottery.get_round(r.round_id)
    assert (after.seq, after.burned, after.registrants_count) == (3, 1, 2)
    assert sorted(g.registration_no for g in twins.lottery.registrations(r.round_id)) == ["R000001", "R000003"]


def test_numbers_taken_again_and_again_end_in_a_409_with_every_number_burned(
        twins: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r = _open_round(twins)

    def taken(reg: Registrant) -> None:
        raise errors.RegistrationNumberTaken(reg.registration_no, field="round_id")

    monkeypatch.setattr(twins.lottery, "put_registration", taken)
    with pytest.raises(errors.RegistrationNumberTaken):
        lottery._numbered(twins.lottery, _unnumbered(r.round_id))
    after = twins.lottery.get_round(r.round_id)
    assert (after.seq, after.burned, after.registrants_count) == (lottery.NUMBER_ATTEMPTS, lottery.NUMBER_ATTEMPTS, 0)


def test_a_round_closed_while_a_taken_number_is_retried_refuses_and_counts_the_number_burned(
        twins: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r = _open_round(twins)

    def taken_then_closed(reg: Registrant) -> None:
        twins.lottery.update_round(r.round_id, expected_status="open", expected_version=None,
                                   conflict=errors.IllegalTransition("not open"), status="closed")
        raise errors.RegistrationNumberTaken(reg.registration_no, field="round_id")

    monkeypatch.setattr(twins.lottery, "put_registration", taken_then_closed)
    with pytest.raises(errors.RegistrationClosed):
        lottery._numbered(twins.lottery, _unnumbered(r.round_id))
    after = twins.lottery.get_round(r.round_id)
    assert (after.seq, after.burned, after.registrants_count) == (1, 1, 0)


def test_a_commitment_or_draw_over_inconsistent_data_is_a_409_and_nothing_moves(twins: Any) -> None:
    admin = person(Role.ADMIN)
    r = closed_round(twins, [], 3)
    first = sorted(twins.lottery.registrations(r.round_id), key=lambda g: g.registration_no)[0]
    twins.lottery.write_ranks([replace(first, application_id="app-copy")])  # its number twice
    with pytest.raises(errors.RoundDataInconsistent, match="appears more than once"):
        lottery.commit(r.round_id, admin, VersionIn.model_validate({"version": 3}))
    assert twins.lottery.get_round(r.round_id).status is RoundStatus.CLOSED

    r = closed_round(twins, [], 2)
    committed = lottery.commit(r.round_id, admin, VersionIn.model_validate({"version": 3}))
    key = committed.commitment_key or ""
    stored = json.loads(twins.lottery.get_file(key))
    stored["registrants"].append(stored["registrants"][0])  # the file's own list repeats a number
    twins.lottery.put_file(key, draw.canonical_bytes(stored))
    bad = draw.sha256_hex(draw.canonical_bytes(stored))
    with pytest.raises(errors.RoundFileMismatch):
        lottery.commitment_file(r.round_id)
    twins.lottery.rounds_by_id[r.round_id] = replace(committed, commitment_sha256=bad)  # and recorded as such
    with pytest.raises(errors.RoundDataInconsistent, match="appears more than once"):
        lottery.run_draw(r.round_id, admin, DrawIn.model_validate({"version": committed.version,
                                                                   "public_value": PUBLIC_VALUE}))
    assert twins.lottery.get_round(r.round_id).status is RoundStatus.COMMITTED
