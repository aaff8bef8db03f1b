"""Online unit selection (选房), through the routes with real tokens, on a
round brought to `published` by the real lottery flow (qualified households register, the admin
closes, commits, draws and publishes). The round goes through steps (start, choices, a race, the
end, the lease); each test is one step and first plays the steps before it that have not been played,
so each test passes alone as in the whole module. Time moves by patching
``chalicelib.domain.common.now``."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable, Iterator

import pytest

from tests.applying import Citizen, call, register

SLOT = timedelta(minutes=30)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch, world: dict[str, Any]) -> Iterator[dict[str, timedelta]]:
    """The round's clock: where the previous step left it (kept in the round's world)."""
    from chalicelib.domain import common

    real = common.now
    state = {"offset": world.get("offset", timedelta(0))}
    monkeypatch.setattr(common, "now", lambda: real() + state["offset"])
    yield state
    world["offset"] = state["offset"]


def _qualified(client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch,
               facts: list[dict[str, Any]]) -> list[tuple[Citizen, dict[str, Any]]]:
    from tests.test_publicity import approved, close, publish

    made = [approved(client, stack, tokens, **f) for f in facts]
    monkeypatch.setenv("PUBLICITY_DEMO_MINUTES_ALLOWED", "1")
    status, result = publish(client, tokens, [a["application_id"] for _, a in made], minutes=5)
    assert status == 201, result
    status, body = close(client, tokens, result["batch"]["batch_id"])
    assert status == 200 and body["counts"] == {"qualified": len(made)}, body
    return made


def _admin(client: Any, tokens: Any, method: str, path: str, data: Any = None) -> tuple[int, Any]:
    return call(client, method, path, tokens.headers("admin"), data)


def _round_version(client: Any, tokens: Any, round_id: str) -> int:
    status, r = _admin(client, tokens, "GET", f"/v1/admin/rounds/{round_id}")
    assert status == 200, r
    return int(r["version"])


@pytest.fixture(scope="module")
def world(stack: Any, tokens: Any, app: Any) -> dict[str, Any]:
    """A catalogue, four qualified one-person households (the first on subsistence allowance, so
    it ranks first and its rent is halved), a round of four 1b1l units and one 2b1l unit
    (slots of two households, 30 minutes), published by the lottery."""
    from chalice.test import Client

    from chalicelib.domain.common import now
    from tests.conftest import build_catalogue

    stack.reset()
    catalogue = build_catalogue()
    units = catalogue["units"]
    fitting = [units[i].unit_id for i in (3, 6, 9, 15)]  # vacant 一房一厅
    other = units[1].unit_id  # vacant 两房一厅: not for a household of one
    outside = units[18].unit_id  # vacant 1b1l, not in the round
    with Client(app) as client, pytest.MonkeyPatch.context() as mp:
        households = _qualified(client, stack, tokens, mp, [
            {"civil_affairs": {"subsistence_allowance": True}}, {}, {}, {}])
        at = now()
        status, rnd = _admin(client, tokens, "POST", "/v1/admin/rounds", {
            "title": "2026年第4批公租房摇号", "unit_ids": fitting + [other],
            "registration_opens_at": (at - timedelta(minutes=1)).isoformat(),
            "registration_closes_at": (at + timedelta(days=1)).isoformat(),
            "randomness_source": "2026-12-15 中国福利彩票双色球第2026145期开奖号码", "slot_minutes": 30,
            "slot_size": 2})
        assert status == 201, rnd
        round_id = rnd["round_id"]
        for person, _ in households:
            status, reg = call(client, "POST", f"/v1/rounds/{round_id}/registrations", person.headers(), {})
            assert status == 201, reg
        _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/close",
               {"version": _round_version(client, tokens, round_id), "force": True, "reason": "测试提前截止报名"})
        for path, extra in (("commit", {}), ("draw", {"public_value": "03 11 17 22 28 31 + 09"}), ("publish", {})):
            status, body = _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/{path}",
                                  {"version": _round_version(client, tokens, round_id), **extra})
            assert status == 200, (path, body)
    from chalicelib.domain import lottery

    ranked = lottery.ranked(round_id)
    by_app = {a["application_id"]: p for p, a in households}
    order = [by_app[r.application_id] for r in ranked]
    assert order[0] is households[0][0]  # subsistence allowance: the first priority group
    return {"round_id": round_id, "fitting": fitting, "other": other, "outside": outside, "order": order,
            "apps": {p.username: a["application_id"] for p, a in households}}


# --- the steps, in order ------------------------------------------------------------------------
STEPS: list[Callable[..., None]] = []


def step(fn: Callable[..., None]) -> Callable[..., None]:
    STEPS.append(fn)
    return fn


def _through(last: Callable[..., None], **fixtures: Any) -> None:
    """Play every step up to ``last`` that this round has not played yet, then ``last``."""
    played = fixtures["world"].setdefault("played", [])
    for fn in STEPS[:STEPS.index(last) + 1]:
        if fn.__name__ not in played:
            played.append(fn.__name__)  # a failed step is not played twice
            fn(**fixtures)


def _choose(client: Any, person: Any, round_id: str, unit_id: str) -> tuple[int, Any]:
    return call(client, "POST", f"/v1/rounds/{round_id}/choices", person.headers(), {"unit_id": unit_id})


def _mine(client: Any, person: Any, round_id: str) -> dict[str, Any]:
    status, me = call(client, "GET", f"/v1/me/rounds/{round_id}/selection", person.headers())
    assert status == 200, me
    return me


def _free(client: Any, round_id: str) -> dict[str, Any]:
    response = client.http.get(f"/v1/rounds/{round_id}/availability")
    assert response.status_code == 200, response.body
    return json.loads(response.body)


@step
def _start_invites_in_rank_order_with_slots(client: Any, stack: Any, tokens: Any, world: dict[str, Any],
        clock: dict[str, timedelta], no_scans: list[str]) -> None:
    from chalicelib.notify import RECORDED

    round_id, order = world["round_id"], world["order"]
    assert _mine(client, order[0], round_id)["status"] == "waiting"  # published, not started
    path = f"/v1/admin/rounds/{round_id}/selection/start"
    version = _round_version(client, tokens, round_id)
    status, body = _admin(client, tokens, "POST", path, {"version": version + 5})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    assert call(client, "POST", path, order[0].headers(), {"version": version})[0] == 403
    status, meta = _admin(client, tokens, "POST", path, {"version": version})
    assert status == 200 and meta["slots"] == 2 and meta["slot_size"] == 2, meta
    status, body = _admin(client, tokens, "POST", path, {"version": _round_version(client, tokens, round_id)})
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"
    status, rnd = _admin(client, tokens, "GET", f"/v1/admin/rounds/{round_id}")
    assert rnd["status"] == "selection"

    places = [_mine(client, p, round_id) for p in order]
    assert [p["rank"] for p in places] == [1, 2, 3, 4]
    assert [p["slot"] for p in places] == [0, 0, 1, 1]
    assert [p["status"] for p in places] == ["invited", "invited", "waiting", "waiting"]
    assert places[2]["slot_start"] == places[0]["slot_end"]
    assert {u["unit_id"] for u in places[0]["units"]} == set(world["fitting"])  # only what fits a household of one

    no_scans.clear()
    free = _free(client, round_id)
    assert free["units_free"] == 5 and free["units_total"] == 5
    assert {x["layout"]: x["free"] for x in free["by_layout"]} == {"1b1l": 4, "2b1l": 1}
    assert len([c for c in no_scans if c in ("GetItem", "BatchGetItem", "Query")]) <= 2, no_scans
    stack.drain()
    invited = [n for n in RECORDED if n["template"] == "selection_invited"]
    assert {n["application_id"] for n in invited} == set(world["apps"].values())


@step
def _choose_in_turn_and_the_refusals(client: Any, stack: Any, tokens: Any, world: dict[str, Any],
        clock: dict[str, timedelta], no_scans: list[str]) -> None:
    from chalicelib.domain import units

    round_id, order, fitting = world["round_id"], world["order"], world["fitting"]
    first, second, third = order[0], order[1], order[2]
    status, body = _choose(client, third, round_id, fitting[0])
    assert status == 409 and body["error"]["code"] == "NOT_YOUR_TURN", body
    status, body = _choose(client, first, round_id, world["other"])
    assert status == 409 and body["error"]["code"] == "UNIT_NOT_AVAILABLE", body  # 两房一厅 for one person
    status, body = _choose(client, first, round_id, world["outside"])
    assert status == 409 and body["error"]["code"] == "UNIT_NOT_AVAILABLE", body
    stranger = Citizen(stack, "路人甲")
    register(client, stranger)
    status, body = _choose(client, stranger, round_id, fitting[0])
    assert status == 404 and body["error"]["code"] == "SELECTION_NOT_FOUND", body
    assert call(client, "GET", f"/v1/me/rounds/{round_id}/selection", stranger.headers())[0] == 404

    status, chosen = _choose(client, first, round_id, fitting[0])
    assert status == 201, chosen
    lease = chosen["lease"]
    assert chosen["selection"]["status"] == "chosen" and lease["status"] == "draft"
    assert lease["base_rent"] == units.get(fitting[0]).rent
    assert lease["monthly_rent"] == lease["base_rent"] // 2 and lease["reduction"]["key"] == "subsistence"
    assert lease["deposit"] == 2 * lease["monthly_rent"] and lease["term_months"] == 36
    assert lease["start_date"].endswith("-01") and lease["manager"]["phone"] == "0750-3123456"
    assert units.get(fitting[0]).status.value == "reserved"
    history = units.history(fitting[0], None, 10).items
    assert [h.to_status.value for h in history][-1] == "reserved"
    assert _free(client, round_id)["units_free"] == 4

    status, body = _choose(client, first, round_id, fitting[1])
    assert status == 409 and body["error"]["code"] == "ALREADY_CHOSEN", body
    status, body = _choose(client, second, round_id, fitting[0])
    assert status == 409 and body["error"]["code"] == "UNIT_TAKEN", body
    status, mine = call(client, "GET", "/v1/me/lease", first.headers())
    assert status == 200 and [x["lease_id"] for x in mine["items"]] == [lease["lease_id"]]
    world["lease"] = lease


@step
def _two_households_choosing_one_unit_at_once_one_wins(client: Any, stack: Any, tokens: Any, world: dict[str, Any],
        clock: dict[str, timedelta], no_scans: list[str]) -> None:
    """The second slot: the fourth household's choice lands between the third's checks and its
    transaction (interleaved on purpose: moto's tables are not thread-safe, so real threads would
    test moto, not us). The unit goes to one household; the loser is told UNIT_TAKEN."""
    from chalicelib.deps import deps
    from chalicelib.domain import units

    round_id, order, fitting = world["round_id"], world["order"], world["fitting"]
    clock["offset"] = SLOT + timedelta(minutes=1)
    third, fourth = order[2], order[3]
    repo = deps().selection

    def interleaved(first: Any, second: Any) -> tuple[tuple[int, Any], tuple[int, Any]]:
        """``first`` reaches its write only after ``second`` has been made (answers: second, first)."""
        real_choose, inner, started = repo.choose, [], []

        def choose_after_the_other(*args: Any, **kw: Any) -> Any:
            if not started:  # set first: ``second`` comes through here too
                started.append(1)
                inner.append(second())
            return real_choose(*args, **kw)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(repo, "choose", choose_after_the_other)
            outer = first()
        return inner[0], outer

    inner, outer = interleaved(lambda: _choose(client, third, round_id, fitting[1]),
                               lambda: _choose(client, fourth, round_id, fitting[1]))
    assert inner[0] == 201, inner
    assert outer[0] == 409 and outer[1]["error"]["code"] == "UNIT_TAKEN", outer
    leases = deps().leases.of_round(round_id)
    assert [x.application_id for x in leases if x.unit_id == fitting[1]] == [world["apps"][fourth.username]]
    assert units.get(fitting[1]).status.value == "reserved"
    assert _mine(client, third, round_id)["status"] == "invited"  # free to choose another

    # one household, two units at once: only one choice stands
    inner, outer = interleaved(lambda: _choose(client, third, round_id, fitting[2]),
                               lambda: _choose(client, third, round_id, fitting[3]))
    assert inner[0] == 201 and outer[0] == 409 and outer[1]["error"]["code"] == "ALREADY_CHOSEN", outer
    assert units.get(fitting[2]).status.value == "vacant"
    assert len([x for x in deps().leases.of_round(round_id) if x.application_id == world["apps"][third.username]]) == 1
    assert _free(client, round_id)["units_free"] == 2  # fitting[2] and the 两房一厅


@step
def _passed_over_then_reinvited_at_the_end_then_finished(client: Any, stack: Any, tokens: Any, world: dict[str, Any],
        clock: dict[str, timedelta], no_scans: list[str]) -> None:
    from chalicelib.domain import lottery, units
    from chalicelib.notify import RECORDED

    round_id, order, fitting = world["round_id"], world["order"], world["fitting"]
    second = order[1]
    clock["offset"] = SLOT + timedelta(minutes=2)  # the first slot is over
    status, done = _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/selection/advance")
    assert status == 200 and done["passed"] == 1 and not done["finished"], done
    assert _mine(client, second, round_id)["status"] == "passed"
    status, body = _choose(client, second, round_id, fitting[2])
    assert status == 409 and body["error"]["code"] == "NOT_YOUR_TURN"

    clock["offset"] = 2 * SLOT + timedelta(minutes=1)  # every first slot is over: re-invited at the end

    def advance_selection() -> dict[str, Any]:  # the scheduled function, as EventBridge invokes it
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "cn-northwest-1")
        return client.lambda_.invoke("advance_selection", event).payload

    done = advance_selection()
    assert done["reinvited"] == 1 and done["finished"] == 0, done
    assert advance_selection()["reinvited"] == 0  # idempotent
    me = _mine(client, second, round_id)
    assert me["status"] == "invited" and me["reinvited"] and me["slot"] == 2, me
    stack.drain()
    assert any(n["template"] == "selection_reinvited" and n["application_id"] == world["apps"][second.username]
               for n in RECORDED)
    status, chosen = _choose(client, second, round_id, fitting[2])
    assert status == 201, chosen

    # nothing fitting is left; the 两房一厅 stays vacant, released when the round finishes
    clock["offset"] = 3 * SLOT + timedelta(minutes=5)
    done = advance_selection()
    assert done["finished"] == 1, done
    assert lottery.get_round(round_id).status == "finished"
    assert units.get(world["other"]).status.value == "vacant"
    status, body = _choose(client, second, round_id, world["other"])
    assert (status, body["error"]["code"]) == (409, "SELECTION_NOT_OPEN")  # the round has finished


# --- the tests: each one step, after the steps before it -----------------------------------------
@pytest.fixture()
def fixtures(client: Any, stack: Any, tokens: Any, world: dict[str, Any], clock: dict[str, timedelta],
             no_scans: list[str]) -> dict[str, Any]:
    return {"client": client, "stack": stack, "tokens": tokens, "world": world, "clock": clock, "no_scans": no_scans}


def test_start_invites_in_rank_order_with_slots(fixtures: dict[str, Any]) -> None:
    _through(_start_invites_in_rank_order_with_slots, **fixtures)


def test_choose_in_turn_and_the_refusals(fixtures: dict[str, Any]) -> None:
    _through(_choose_in_turn_and_the_refusals, **fixtures)


def test_two_households_choosing_one_unit_at_once_one_wins(fixtures: dict[str, Any]) -> None:
    _through(_two_households_choosing_one_unit_at_once_one_wins, **fixtures)


def test_passed_over_then_reinvited_at_the_end_then_finished(fixtures: dict[str, Any]) -> None:
    _through(_passed_over_then_reinvited_at_the_end_then_finished, **fixtures)
