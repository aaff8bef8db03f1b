"""The lottery repository's contract, on the twin and on DynamoDB (+ S3 for the published files)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.lottery import Registrant, Round
from chalicelib.domain.round_status import RoundStatus


def a_round(unit_ids: list[str]) -> Round:
    at = now_iso()
    return Round(round_id=new_id("round"), title="孪生测试批次", status=RoundStatus.OPEN, version=1, unit_ids=unit_ids,
                 layouts_by_size={"1": ["2b1l"]}, priority_groups=["general"], slot_minutes=30, slot_size=5,
                 registration_opens_at=at, registration_closes_at="2039-01-01T00:00:00+08:00", created_at=at,
                 updated_at=at, layout_mix={"2b1l": 1}, randomness_source="某期福利彩票开奖号码", created_by="admin-x")


def registrant(round_id: str, n: int) -> Registrant:
    return Registrant(round_id=round_id, registration_no=f"{n:05d}", application_id=new_id("app"),
                      owner=new_id("sub"), owner_key=new_id("pk"), household_size=1, priority_group="general", rank=None,
                      allowed_layouts=["2b1l"], masked_name="刘*", masked_id="4407**********0249", mobile=None,
                      created_at=now_iso(), updated_at=now_iso())


def test_a_round_changes_only_from_the_status_and_version_read(container: Any, vacant_unit: Any) -> None:
    repo = container.lottery
    r = a_round([vacant_unit.unit_id])
    repo.create_round(r)
    with pytest.raises(errors.AlreadyExists):
        repo.create_round(r)
    assert repo.get_round(r.round_id) == r
    with pytest.raises(errors.RoundNotFound):
        repo.get_round(new_id("round"))
    assert [u.unit_id for u in repo.units([vacant_unit.unit_id])] == [vacant_unit.unit_id]
    assert repo.next_number(r.round_id) == 1
    assert repo.next_number(r.round_id) == 2
    stale = errors.StaleVersion("the round changed", field="version")
    with pytest.raises(errors.StaleVersion):
        repo.update_round(r.round_id, expected_status="open", expected_version=7, conflict=stale, status="closed")
    closed = repo.update_round(r.round_id, expected_status="open", expected_version=1, conflict=stale,
                               status="closed", close_reason=None, closed_at="2029-01-01T00:00:00+08:00")
    assert (closed.status, closed.version, closed.seq, closed.closed_at) == (RoundStatus.CLOSED, 2, 2,
                                                                           "2029-01-01T00:00:00+08:00")
    with pytest.raises(errors.IllegalTransition):
        repo.update_round(r.round_id, expected_status="open", expected_version=None,
                          conflict=errors.IllegalTransition("not open"), status="closed")
    with pytest.raises(errors.RegistrationClosed):
        repo.next_number(r.round_id)
    assert repo.get_round(r.round_id) == closed


def test_registrations_and_ranks(container: Any) -> None:
    repo = container.lottery
    r = a_round([])
    repo.create_round(r)
    regs = [registrant(r.round_id, n) for n in range(1, 5)]
    for reg in regs:
        repo.put_registration(reg)
    with pytest.raises(errors.AlreadyRegisteredForRound):
        repo.put_registration(regs[0])
    assert repo.get_registration(r.round_id, regs[1].application_id) == regs[1]
    assert repo.registration_of_owner(r.round_id, regs[2].owner) == regs[2]
    assert repo.get_registration(r.round_id, new_id("app")) is None
    assert sorted(g.application_id for g in repo.registrations(r.round_id)) == sorted(g.application_id for g in regs)
    assert repo.ranked(r.round_id) == [] and repo.count_ranked(r.round_id) == 0
    ranked = [replace(reg, rank=rank) for rank, reg in zip((3, 1, 4, 2), regs)]
    assert repo.write_ranks(ranked) == 4
    in_order = [g.application_id for g in sorted(ranked, key=lambda g: g.rank or 0)]
    assert [g.application_id for g in repo.ranked(r.round_id)] == in_order
    assert repo.count_ranked(r.round_id) == 4
    seen, cursor = [], None
    while True:
        page = repo.ranks_page(r.round_id, cursor, 3)
        seen += [g.application_id for g in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == in_order


def test_a_registration_number_is_held_by_one_registration(container: Any) -> None:
    """The registration and the claim on its number are one write: a second registration under a
    held number writes nothing; a double tap under a new number leaves that number free."""
    repo = container.lottery
    r = a_round([])
    repo.create_round(r)
    first, second = registrant(r.round_id, 1), registrant(r.round_id, 1)
    repo.put_registration(first)
    with pytest.raises(errors.RegistrationNumberTaken):
        repo.put_registration(second)
    assert repo.get_registration(r.round_id, second.application_id) is None
    with pytest.raises(errors.AlreadyRegisteredForRound):
        repo.put_registration(replace(first, registration_no="00002"))
    repo.put_registration(replace(second, registration_no="00002"))
    assert sorted((g.registration_no, g.application_id) for g in repo.registrations(r.round_id)) == [
        ("00001", first.application_id), ("00002", second.application_id)]
    # a number found taken is burned in the same update that hands out the next one
    assert repo.next_number(r.round_id) == 1
    assert repo.next_number(r.round_id, burned=1) == 2
    after = repo.get_round(r.round_id)
    assert (after.seq, after.burned, after.registrants_count) == (2, 1, 1)


def test_published_files(container: Any) -> None:
    repo = container.lottery
    key = f"rounds/{new_id('round')}/commitment.json"
    repo.put_file(key, b'{"a":1}')
    assert repo.get_file(key) == b'{"a":1}'
    assert repo.size_of(key) == 7
    assert key in repo.file_link(key)
