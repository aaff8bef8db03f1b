"""Conditional writes raced for real: N threads, released at once by a barrier, each send the same
write over HTTP to the app behind Chalice's local (threaded) server, as `make run` serves it.

moto's DynamoDB is made atomic per item operation by devstack/moto_speed.py (as DynamoDB is), so a
double win here is the app's fault, not moto's. For every path: exactly one winner, every loser a
409 with the path's code (never a 500), and nothing half-written.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from tests.applying import Citizen, call, register

pytestmark = pytest.mark.usefixtures("catalogue")


def race(base: str, n: int, method: str, path: str, headers: dict[str, str], data: Any) -> list[tuple[int, Any]]:
    """``n`` identical requests released together; their (status, body), in no particular order."""
    barrier = threading.Barrier(n)

    def one(_: int) -> tuple[int, Any]:
        session = requests.Session()
        barrier.wait(timeout=30)
        r = session.request(method, base + path, headers=headers, data=json.dumps(data, ensure_ascii=False),
                            timeout=120)
        return r.status_code, (r.json() if r.content else None)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def one_winner(results: list[tuple[int, Any]], won: int, codes: set[str]) -> Any:
    """Exactly one ``won`` answer; every other one a 409 whose code is in ``codes``."""
    statuses = sorted(s for s, _ in results)
    winners = [b for s, b in results if s == won]
    assert len(winners) == 1, statuses
    losers = [(s, b["error"]["code"]) for s, b in results if s != won]
    assert all(s == 409 and code in codes for s, code in losers), losers
    return winners[0]


def in_days(days: int) -> str:
    return (datetime.now(timezone(timedelta(hours=8))) + timedelta(days=days)).isoformat(timespec="seconds")


def _household(client: Any, stack: Any, name: str) -> Citizen:
    person = Citizen(stack, name)
    register(client, person)
    status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
    assert status == 200, body
    return person


def test_twenty_parallel_drafts_make_one(client: Any, stack: Any, local_server: str) -> None:
    person = _household(client, stack, "草稿并")
    results = race(local_server, 20, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    draft = one_winner(results, 201, {"DRAFT_EXISTS"})
    status, mine = call(client, "GET", "/v1/me/applications", person.headers())
    assert status == 200 and [a["application_id"] for a in mine["items"]] == [draft["application_id"]]
    # another kind is another draft; the same kind again is refused until this one moves on
    assert call(client, "POST", "/v1/applications", person.headers(), {"kind": "graduate"})[0] == 201
    status, body = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 409 and body["error"]["code"] == "DRAFT_EXISTS"
    status, body = call(client, "POST", f"/v1/applications/{draft['application_id']}/withdraw", person.headers(),
                        {"version": draft["version"]})
    assert status == 200, body
    assert call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})[0] == 201


def test_twenty_parallel_grants_leave_one_live_and_parallel_revokes_one_win(client: Any, stack: Any,
                                                                            local_server: str) -> None:
    grantor, delegate = Citizen(stack, "委托甲"), Citizen(stack, "受托乙")
    register(client, grantor)
    register(client, delegate)
    data = {"delegate_mobile": delegate.mobile, "scopes": ["view"], "expires_at": in_days(30)}
    grant = one_winner(race(local_server, 20, "POST", "/v1/me/grants", grantor.headers(), data), 201,
                       {"GRANT_EXISTS"})
    status, given = call(client, "GET", "/v1/me/grants", grantor.headers())
    assert status == 200 and [g["grant_id"] for g in given["items"]] == [grant["grant_id"]]

    path = f"/v1/me/grants/{grant['grant_id']}/revoke"
    revoked = one_winner(race(local_server, 10, "POST", path, grantor.headers(), {}), 200, {"ILLEGAL_TRANSITION"})
    assert revoked["status"] == "revoked"
    # revoked, the grant no longer holds the delegate: a new one may be given
    status, again = call(client, "POST", "/v1/me/grants", grantor.headers(), data)
    assert status == 201, again


def _ready_to_submit(client: Any, stack: Any) -> tuple[Citizen, dict[str, Any]]:
    from tests.applying import upload

    person = _household(client, stack, "提交并")
    h = person.headers()
    status, app = call(client, "POST", "/v1/applications", h, {"kind": "individual"})
    assert status == 201, app
    for doc_type in ("id_card", "hukou", "commitment", "application_form"):
        upload(client, h, app["application_id"], doc_type)
    stack.drain()
    call(client, "POST", f"/v1/applications/{app['application_id']}/consent", h,
         {"text_version": "2026-01", "agree": True})
    status, fresh = call(client, "GET", f"/v1/applications/{app['application_id']}", h)
    assert status == 200
    return person, fresh


def _events(application_id: str, kind: str) -> int:
    from chalicelib.deps import deps

    return [e.type for e in deps().applications.events(f"app#{application_id}")].count(kind)


def test_parallel_submits_submit_once(client: Any, stack: Any, local_server: str) -> None:
    person, app = _ready_to_submit(client, stack)
    path = f"/v1/applications/{app['application_id']}/submit"
    results = race(local_server, 10, "POST", path, person.headers(), {"version": app["version"]})
    # a repeated submit of the same version is the same request (a double tap): every one of them
    # answers the one submitted application; only one submission is written
    assert sorted(s for s, _ in results) == [200] * 10, results
    assert {(b["status"], b["version"]) for _, b in results} == {("submitted", app["version"] + 1)}
    assert _events(app["application_id"], "submitted") == 1
    # a submit from a version the application has left is a 409, never a second submission
    later = race(local_server, 5, "POST", path, person.headers(), {"version": app["version"] - 1})
    assert {(s, b["error"]["code"]) for s, b in later} == {(409, "STALE_VERSION")}, later
    assert _events(app["application_id"], "submitted") == 1


def test_parallel_approvals_approve_once(client: Any, stack: Any, tokens: Any, local_server: str) -> None:
    from tests.test_case_review import review, submitted, verify

    _, app = submitted(client, stack)
    verify(app)
    version = review(client, tokens, app)["version"]
    path = f"/v1/staff/applications/{app['application_id']}/approve"
    done = one_winner(race(local_server, 10, "POST", path, tokens.headers("staff"), {"version": version}), 200,
                      {"STALE_VERSION", "ILLEGAL_TRANSITION", "WRITE_CONFLICT"})
    assert done["status"] == "approved"
    assert _events(app["application_id"], "approved") == 1


def test_parallel_resolutions_of_one_objection_resolve_it_once(client: Any, stack: Any, tokens: Any,
                                                               local_server: str) -> None:
    from tests.test_publicity import REASON, approved, publish

    _, app = approved(client, stack, tokens)
    status, result = publish(client, tokens, [app["application_id"]])
    assert status == 201, result
    batch_id = result["batch"]["batch_id"]
    entry_id = json.loads(client.http.get(f"/v1/publicity/{batch_id}").body)["items"][0]["entry_id"]
    status, filed = call(client, "POST", f"/v1/publicity/{batch_id}/objections", Citizen(stack, "邻居丙").headers(),
                         {"entry_id": entry_id, "reason": REASON})
    assert status == 201, filed
    path = f"/v1/staff/objections/{filed['objection_id']}/resolve"
    data = {"version": 1, "decision": "dismissed", "reason": "经核查，该户无其他住房。"}
    done = one_winner(race(local_server, 10, "POST", path, tokens.headers("staff"), data), 200,
                      {"STALE_VERSION", "OBJECTION_ALREADY_RESOLVED", "WRITE_CONFLICT"})
    assert done["status"] == "dismissed"
    status, view = call(client, "GET", f"/v1/staff/publicity/{batch_id}?reason=check", tokens.headers("staff"))
    assert status == 200
    entry = next(e for e in view["items"] if e["entry_id"] == entry_id)
    assert entry["objections_open"] == 0, entry  # decremented once, not ten times


# --- allocation: register for a round, choose a unit, confirm the lease ---------------------------
def _admin(client: Any, tokens: Any, method: str, path: str, data: Any = None) -> tuple[int, Any]:
    return call(client, method, path, tokens.headers("admin"), data)


def _round_version(client: Any, tokens: Any, round_id: str) -> int:
    status, r = _admin(client, tokens, "GET", f"/v1/admin/rounds/{round_id}")
    assert status == 200, r
    return int(r["version"])


def _vacant_one_room(catalogue: dict[str, Any]) -> str:
    """A 一房一厅 of this module's catalogue that is vacant now (a choice elsewhere may have reserved one)."""
    from chalicelib.domain import units

    found = [u.unit_id for u in catalogue["units"]
             if u.layout.value == "1b1l" and units.get(u.unit_id).status.value == "vacant"]
    assert found, "no vacant 1b1l left in the catalogue"
    return found[0]


def _qualified_round(stack: Any, tokens: Any, app: Any, catalogue: dict[str, Any], households: int) -> dict[str, Any]:
    """``households`` qualified one-person households (approved, published, publicity closed) and an
    open round of one vacant 一房一厅 that nobody has registered for. Built from scratch by each
    fixture: no test depends on what another test did (they run alone and in any order)."""
    from chalice.test import Client

    from chalicelib.domain.common import now
    from tests.test_publicity import approved, close, publish

    with Client(app) as client, pytest.MonkeyPatch.context() as mp:
        made = [approved(client, stack, tokens) for _ in range(households)]
        mp.setenv("PUBLICITY_DEMO_MINUTES_ALLOWED", "1")
        status, result = publish(client, tokens, [a["application_id"] for _, a in made], minutes=5)
        assert status == 201, result
        status, body = close(client, tokens, result["batch"]["batch_id"])
        assert status == 200, body
        unit_id = _vacant_one_room(catalogue)
        at = now()
        status, rnd = _admin(client, tokens, "POST", "/v1/admin/rounds", {
            "title": "2026年第5批公租房摇号", "unit_ids": [unit_id],
            "registration_opens_at": (at - timedelta(minutes=1)).isoformat(),
            "registration_closes_at": (at + timedelta(days=1)).isoformat(),
            "randomness_source": "2026-12-15 中国福利彩票双色球第2026145期开奖号码", "slot_minutes": 30,
            "slot_size": households})
        assert status == 201, rnd
    return {"people": [p for p, _ in made], "round_id": rnd["round_id"], "unit_id": unit_id}


@pytest.fixture(scope="module")
def crowd(stack: Any, tokens: Any, app: Any, catalogue: dict[str, Any]) -> dict[str, Any]:
    """Ten qualified households and an open round nobody has registered for yet."""
    return _qualified_round(stack, tokens, app, catalogue, 10)


@pytest.fixture(scope="module")
def allocation(stack: Any, tokens: Any, app: Any, catalogue: dict[str, Any]) -> dict[str, Any]:
    """Four qualified one-person households, all four registered for a round of one 一房一厅 (here,
    not by another test: the choosing test runs alone too)."""
    from chalice.test import Client

    world = _qualified_round(stack, tokens, app, catalogue, 4)
    with Client(app) as client:
        for person in world["people"]:
            status, body = call(client, "POST", f"/v1/rounds/{world['round_id']}/registrations", person.headers(), {})
            assert status == 201, body
    return world


def _counter_answers_read_late(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interleaving CI once saw, made certain: moto answers an UpdateItem (``ALL_NEW``) from the
    live item after its lock is released, so a thread switch right there hands two ADDs of the
    round's ``seq`` the same number. (DynamoDB's ADD cannot; a registration's number must be unique
    either way.)"""
    import time

    from moto.dynamodb import models

    locked = models.DynamoDBBackend.update_item

    def update_item(*args: Any, **kwargs: Any) -> Any:
        item = locked(*args, **kwargs)
        time.sleep(0.003)
        return item

    monkeypatch.setattr(models.DynamoDBBackend, "update_item", update_item)


def test_parallel_registrations_of_one_round_hold_distinct_numbers_and_the_round_commits(
        client: Any, tokens: Any, local_server: str, crowd: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every household of the crowd registers at the same moment, the first one with five taps at
    once, while the counter hands out repeated numbers: one registration per household, no number
    held twice, every number handed out either a registration or counted as burned, and the round
    commits and draws (no 500 from a repeated number)."""
    from chalicelib.deps import deps

    round_id, people = crowd["round_id"], crowd["people"]
    path = f"/v1/rounds/{round_id}/registrations"
    senders = [people[0]] * 5 + people[1:]
    barrier = threading.Barrier(len(senders))

    def register_one(person: Citizen) -> tuple[int, Any]:
        session = requests.Session()
        barrier.wait(timeout=30)
        r = session.post(local_server + path, headers=person.headers(), data="{}", timeout=120)
        return r.status_code, r.json()

    with monkeypatch.context() as patch, ThreadPoolExecutor(len(senders)) as pool:
        _counter_answers_read_late(patch)
        results = list(pool.map(register_one, senders))
    one_winner(results[:5], 201, {"ALREADY_REGISTERED"})
    assert [s for s, _ in results[5:]] == [201] * (len(people) - 1), results[5:]
    answered = [b["registration_no"] for s, b in results if s == 201]
    stored = deps().lottery.registrations(round_id)
    assert sorted(g.registration_no for g in stored) == sorted(answered)
    assert len(set(answered)) == len(answered) == len(people), answered
    assert len({g.application_id for g in stored}) == len(people)
    r = deps().lottery.get_round(round_id)
    assert r.seq - r.burned == len(people), (r.seq, r.burned)  # a lost tap or a taken number: burned

    status, closed = _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/close",
                            {"version": r.version, "force": True, "reason": "测试提前截止报名"})
    assert status == 200, closed
    status, committed = _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/commit",
                               {"version": closed["version"]})
    assert status == 200 and committed["registrants"] == len(people), committed
    status, drawn = _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/draw",
                           {"version": committed["version"], "public_value": "03 11 17 22 28 31 + 09"})
    assert status == 200, drawn
    assert sorted(g.rank or 0 for g in deps().lottery.ranked(round_id)) == list(range(1, len(people) + 1))


def test_four_households_choosing_one_unit_at_once_one_wins_then_confirms_once(
        client: Any, tokens: Any, local_server: str, allocation: dict[str, Any]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import units

    round_id, unit_id, people = allocation["round_id"], allocation["unit_id"], allocation["people"]
    _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/close",
           {"version": _round_version(client, tokens, round_id), "force": True, "reason": "测试提前截止报名"})
    for step, extra in (("commit", {}), ("draw", {"public_value": "03 11 17 22 28 31 + 09"}), ("publish", {}),
                        ("selection/start", {})):
        status, body = _admin(client, tokens, "POST", f"/v1/admin/rounds/{round_id}/{step}",
                              {"version": _round_version(client, tokens, round_id), **extra})
        assert status == 200, (step, body)

    barrier = threading.Barrier(len(people))

    def choose(person: Citizen) -> tuple[int, Any]:
        barrier.wait(timeout=30)
        r = requests.post(f"{local_server}/v1/rounds/{round_id}/choices", headers=person.headers(),
                          data=json.dumps({"unit_id": unit_id}), timeout=120)
        return r.status_code, r.json()

    with ThreadPoolExecutor(len(people)) as pool:
        results = list(pool.map(choose, people))
    chosen = one_winner(results, 201, {"UNIT_TAKEN"})
    leases = deps().leases.of_round(round_id)
    assert [x.unit_id for x in leases] == [unit_id]  # one lease, nothing half-written
    assert units.get(unit_id).status.value == "reserved"

    winner = next(p for p, (s, _) in zip(people, results) if s == 201)
    lease = chosen["lease"]
    path = f"/v1/me/lease/{lease['lease_id']}/confirm"
    answers = race(local_server, 8, "POST", path, winner.headers(), {"version": lease["version"]})
    # a repeated confirm of the same version is the same request (a double tap): one confirmation
    assert sorted(s for s, _ in answers) == [200] * 8, answers
    assert {(b["status"], b["version"]) for _, b in answers} == {("confirmed", lease["version"] + 1)}, answers
    stale = race(local_server, 4, "POST", path, winner.headers(), {"version": lease["version"] + 1})
    assert {(s, b["error"]["code"]) for s, b in stale} == {(409, "LEASE_ALREADY_CONFIRMED")}, stale
