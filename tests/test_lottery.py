"""Lottery rounds (摇号) through the routes with real tokens: create, register, close, commit, draw,
publish, the public files checked with tools/verify_draw.py, and every refusal. Households become
qualified the way publicity does it (approved, published in demo mode, closed); time moves by
patching ``chalicelib.domain.common.now``."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.applying import Citizen, call
from tests.applying import register as register_citizen
from tests.test_publicity import approved

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "2026-12-15 中国福利彩票双色球第2026145期开奖号码"
CHINA = "+08:00"


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, timedelta]]:
    from chalicelib.domain import common

    real = common.now
    state = {"offset": timedelta(0)}
    monkeypatch.setattr(common, "now", lambda: real() + state["offset"])
    yield state


@pytest.fixture(scope="module")
def households(catalogue: dict[str, Any], stack: Any, tokens: Any, app: Any) -> Iterator[dict[str, Any]]:
    """Five qualified one-person households (the first on subsistence allowance), plus the
    catalogue's vacant units by layout. Built once (``catalogue`` resets the stack before); the
    stack is reset after the module, so later modules see an empty waiting list."""
    from chalice.test import Client

    os.environ["PUBLICITY_DEMO_MINUTES_ALLOWED"] = "1"
    try:
        with Client(app) as client:
            people: dict[str, tuple[Citizen, dict[str, Any]]] = {}
            people["poor"] = approved(client, stack, tokens, civil_affairs={"subsistence_allowance": True})
            for name in ("a", "b", "c", "d"):
                people[name] = approved(client, stack, tokens)
            ids = [a["application_id"] for _, a in people.values()]
            status, result = call(client, "POST", "/v1/staff/publicity", tokens.headers("staff"),
                                  {"application_ids": ids, "minutes": 5})
            assert status == 201, result
            batch_id = result["batch"]["batch_id"]
            status, view = call(client, "GET", f"/v1/staff/publicity/{batch_id}?reason=lottery",
                                tokens.headers("staff"))
            status, closed = call(client, "POST", f"/v1/staff/publicity/{batch_id}/close", tokens.headers("staff"),
                                  {"version": view["version"]})
            assert status == 200 and closed["counts"] == {"qualified": 5}, closed
            stack.drain()
    finally:
        os.environ.pop("PUBLICITY_DEMO_MINUTES_ALLOWED", None)
    vacant: dict[str, list[str]] = {}
    from chalicelib.domain import units

    for u in catalogue["units"]:
        current = units.get(u.unit_id)
        if current.status.value == "vacant":
            vacant.setdefault(current.layout.value, []).append(u.unit_id)
    yield {"people": {k: v[0] for k, v in people.items()}, "apps": {k: v[1] for k, v in people.items()},
           "vacant": vacant}
    stack.reset()


def _at(delta: timedelta) -> str:
    from chalicelib.domain import common

    return (common.now() + delta).isoformat(timespec="seconds")


def new_round(client: Any, tokens: Any, unit_ids: list[str], **extra: Any) -> tuple[int, Any]:
    body = {"title": "2026 年第 4 批公租房摇号", "unit_ids": unit_ids,
            "registration_opens_at": _at(timedelta(minutes=-1)), "registration_closes_at": _at(timedelta(hours=2)),
            "randomness_source": SOURCE, **extra}
    return call(client, "POST", "/v1/admin/rounds", tokens.headers("admin"), body)


def register(client: Any, person: Citizen, round_id: str, body: Any = None) -> tuple[int, Any]:
    return call(client, "POST", f"/v1/rounds/{round_id}/registrations", person.headers(), body or {})


def admin(client: Any, tokens: Any, round_id: str, action: str, **body: Any) -> tuple[int, Any]:
    if "version" not in body:
        body["version"] = call(client, "GET", f"/v1/admin/rounds/{round_id}", tokens.headers("admin"))[1]["version"]
    return call(client, "POST", f"/v1/admin/rounds/{round_id}/{action}", tokens.headers("admin"), body)


def raw(client: Any, path: str) -> Any:
    return client.http.get(path)


def test_the_whole_round(client: Any, stack: Any, tokens: Any, households: dict[str, Any],
                         clock: dict[str, timedelta], tmp_path: Path) -> None:
    from chalicelib.domain import lottery
    from chalicelib.notify import RECORDED
    from chalicelib import errors

    people, vacant = households["people"], households["vacant"]
    units = vacant["1b1l"][:2] + vacant["2b1l"][:2]
    status, r = new_round(client, tokens, units)
    assert status == 201, r
    round_id = r["round_id"]
    assert r["status"] == "open" and r["registration_open"] and r["units"] == 4
    assert {k: v["units"] for k, v in r["layout_mix"].items()} == {"1b1l": 2, "2b1l": 2}
    assert [g["id"] for g in r["priority_groups"]][0] == "subsistence"
    assert r["priority_groups"][-1] == {"id": "general", "name": "普通组"}
    assert r["layouts_by_size"]["1"] == ["studio", "1b1l"] and r["slot_minutes"] == 30 and r["slot_size"] == 10

    # registration: numbers in order, the first fitting priority group, the layouts this round has
    numbers = {}
    for name in ("a", "poor", "b", "c", "d"):
        status, reg = register(client, people[name], round_id)
        assert status == 201, reg
        numbers[name] = reg["registration_no"]
        assert reg["allowed_layouts"] == ["1b1l"] and reg["rank"] is None
    assert numbers["a"] == "R000001" and numbers["d"] == "R000005"
    status, mine = call(client, "GET", f"/v1/me/rounds/{round_id}", people["poor"].headers())
    assert status == 200 and mine["priority_group"] == "subsistence" and mine["priority_group_name"] == "低保、特困家庭"
    status, body = register(client, people["a"], round_id)
    assert status == 409 and body["error"]["code"] == "ALREADY_REGISTERED"
    listed = json.loads(raw(client, "/v1/rounds").body)
    assert next(x for x in listed["items"] if x["round_id"] == round_id)["registrants"] == 5
    status, body = call(client, "GET", f"/v1/me/rounds/{round_id}", Citizen(stack, "旁观者").headers())
    assert status == 404

    # nothing public yet
    assert raw(client, f"/v1/rounds/{round_id}/commitment.json").status_code == 409
    assert raw(client, f"/v1/rounds/{round_id}/ranks").status_code == 409

    # closing: not before the window's end unless forced with a reason
    status, body = admin(client, tokens, round_id, "close")
    assert status == 409 and body["error"]["code"] == "REGISTRATION_WINDOW_OPEN"
    status, body = admin(client, tokens, round_id, "close", force=True)
    assert status == 400 and body["error"]["field"] == "reason"
    status, body = admin(client, tokens, round_id, "draw", public_value="01 02 03")
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"
    clock["offset"] = timedelta(hours=3)
    status, closed = admin(client, tokens, round_id, "close")
    assert status == 200 and closed["status"] == "closed", closed
    status, body = register(client, Citizen(stack), round_id)
    assert status == 409 and body["error"]["code"] == "REGISTRATION_CLOSED"

    # commit: the exact bytes, their SHA-256 published with the round
    status, body = admin(client, tokens, round_id, "commit", version=closed["version"] - 1)
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    status, committed = admin(client, tokens, round_id, "commit")
    assert status == 200 and committed["status"] == "committed" and committed["registrants"] == 5, committed
    response = raw(client, f"/v1/rounds/{round_id}/commitment.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    commitment = response.body if isinstance(response.body, bytes) else response.body.encode()
    assert hashlib.sha256(commitment).hexdigest() == committed["commitment_sha256"]
    doc = json.loads(commitment)
    assert [x["registration_no"] for x in doc["registrants"]] == sorted(numbers.values())
    assert people["poor"].id_number not in commitment.decode() and people["poor"].name not in commitment.decode()
    assert doc["randomness_source"] == SOURCE
    status, body = admin(client, tokens, round_id, "commit")
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"

    # the draw: once
    status, drawn = admin(client, tokens, round_id, "draw", public_value=" 03 11 17 22 28 31 + 09 ")
    assert status == 200 and drawn["status"] == "drawn", drawn
    assert drawn["public_value"] == "03 11 17 22 28 31 + 09"
    status, body = admin(client, tokens, round_id, "draw", public_value="01 02 03")
    assert status == 409 and body["error"]["code"] == "ALREADY_DRAWN"
    status, mine = call(client, "GET", f"/v1/me/rounds/{round_id}", people["poor"].headers())
    assert mine["rank"] == 1  # the only household in the first group
    assert raw(client, f"/v1/rounds/{round_id}/result.json").status_code == 409  # drawn, not yet published
    assert json.loads(raw(client, f"/v1/rounds/{round_id}").body)["public_value"] is None

    # publication: ranks in group order, masked, paged; everyone told their rank
    status, published = admin(client, tokens, round_id, "publish")
    assert status == 200 and published["round"]["status"] == "published" and published["notified"] == 5
    first = json.loads(raw(client, f"/v1/rounds/{round_id}/ranks?limit=2").body)
    assert [x["rank"] for x in first["items"]] == [1, 2] and first["next_cursor"]
    assert first["items"][0]["registration_no"] == numbers["poor"]
    assert first["items"][0]["main_applicant"] == "审*测"
    rest = json.loads(raw(client, f"/v1/rounds/{round_id}/ranks?limit=10&cursor={first['next_cursor']}").body)
    page = first["items"] + rest["items"]
    assert [x["rank"] for x in page] == [1, 2, 3, 4, 5] and not rest["next_cursor"]
    assert {x["priority_group"] for x in page[1:]} == {"general"}
    assert all(x["id_number"].count("*") == 10 for x in page)
    assert raw(client, f"/v1/rounds/{round_id}/ranks?cursor=forged").status_code == 400
    response = raw(client, f"/v1/rounds/{round_id}/result.json")
    assert response.status_code == 200
    result_bytes = response.body if isinstance(response.body, bytes) else response.body.encode()
    result = json.loads(result_bytes)
    assert hashlib.sha256(result_bytes).hexdigest() == published["round"]["result_sha256"]
    assert [x["registration_no"] for x in result["ranks"]] == [x["registration_no"] for x in page]

    # anyone can check the published files with the standalone tool
    (tmp_path / "commitment.json").write_bytes(commitment)
    (tmp_path / "result.json").write_bytes(result_bytes)
    checked = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_draw.py"), str(tmp_path / "commitment.json"),
                              str(tmp_path / "result.json")], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tampered = dict(result, ranks=[result["ranks"][1], result["ranks"][0], *result["ranks"][2:]])
    (tmp_path / "result.json").write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    checked = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_draw.py"), str(tmp_path / "commitment.json"),
                              str(tmp_path / "result.json")], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1

    stack.drain()
    poor_app = households["apps"]["poor"]["application_id"]
    sent = [n for n in RECORDED if n["application_id"] == poor_app and n["template"].startswith("lottery_")]
    assert [n["template"] for n in sent] == ["lottery_registered", "lottery_rank"]
    assert "排序第1号" in sent[-1]["text"] and people["poor"].id_number not in sent[-1]["text"]

    # what selection uses
    ranked = lottery.ranked(round_id)
    assert [g.rank for g in ranked] == [1, 2, 3, 4, 5] and ranked[0].allowed_layouts == ["1b1l"]
    me = lottery.registrant_of(round_id, ranked[0].owner)
    assert me is not None and me.registration_no == numbers["poor"] and me.owner_key
    assert lottery.registrant_of(round_id, "nobody") is None
    with pytest.raises(errors.IllegalTransition):
        lottery.set_status(round_id, "published", "finished")
    with pytest.raises(errors.IllegalTransition):
        lottery.set_status(round_id, "selection", "finished")  # not in selection yet
    assert lottery.set_status(round_id, "published", "selection").status == "selection"
    assert lottery.get_round(round_id).status.value == "selection"
    assert lottery.set_status(round_id, "selection", "finished").status == "finished"

    # every admin step is in the audit trail
    status, trail = call(client, "GET", f"/v1/audit/round/{round_id}", tokens.headers("auditor"))
    assert status == 200, trail
    assert {"create_round", "close_round", "commit_round", "draw_round", "publish_round"} <= \
        {e["action"] for e in trail["items"]}


def test_registration_refusals(client: Any, stack: Any, tokens: Any, households: dict[str, Any],
                               clock: dict[str, timedelta]) -> None:
    people, vacant = households["people"], households["vacant"]
    # not yet open
    status, later = new_round(client, tokens, vacant["1b1l"][:1], registration_opens_at=_at(timedelta(days=1)),
                              registration_closes_at=_at(timedelta(days=2)))
    assert status == 201, later
    status, body = register(client, people["a"], later["round_id"])
    assert status == 409 and body["error"]["code"] == "REGISTRATION_CLOSED"
    assert later["registration_open"] is False

    # no layout for a household of one among 3-bedroom units
    status, big = new_round(client, tokens, vacant["3b1l"][:2])
    assert status == 201, big
    status, body = register(client, people["a"], big["round_id"])
    assert status == 409 and body["error"]["code"] == "NO_FITTING_LAYOUT"
    # ... unless the round says otherwise
    status, custom = new_round(client, tokens, vacant["3b1l"][:2], layouts_by_size={"1": ["3b1l"], "2+": ["3b1l"]})
    assert status == 201 and custom["layouts_by_size"] == {"1": ["3b1l"], "2+": ["3b1l"]}, custom
    status, reg = register(client, people["b"], custom["round_id"])
    assert status == 201 and reg["allowed_layouts"] == ["3b1l"]

    # not qualified: registered but no application; not registered at all
    status, r = new_round(client, tokens, vacant["1b1l"][:1])
    stranger = Citizen(stack, "未申请")
    register_citizen(client, stranger)
    status, body = register(client, stranger, r["round_id"])
    assert status == 409 and body["error"]["code"] == "NOT_QUALIFIED"
    status, body = register(client, Citizen(stack), r["round_id"])
    assert status == 403 and body["error"]["code"] == "REGISTRATION_REQUIRED"
    status, body = register(client, people["a"], r["round_id"], {"application_id": "app_nosuch"})
    assert status == 409 and body["error"]["code"] == "NOT_QUALIFIED"
    status, body = register(client, people["a"], "rnd_nosuch")
    assert status == 404 and body["error"]["code"] == "ROUND_NOT_FOUND"
    status, body = register(client, people["a"], r["round_id"], {"unknown": 1})
    assert status == 400

    # after the commit the list is frozen
    status, reg = register(client, people["a"], r["round_id"])
    assert status == 201, reg
    status, body = admin(client, tokens, r["round_id"], "close", force=True, reason="房源需提前分配，提前截止")
    assert status == 200 and body["close_reason"] == "房源需提前分配，提前截止", body
    status, committed = admin(client, tokens, r["round_id"], "commit")
    assert status == 200 and committed["registrants"] == 1
    status, body = register(client, people["c"], r["round_id"])
    assert status == 409 and body["error"]["code"] == "REGISTRATION_CLOSED"
    status, body = admin(client, tokens, r["round_id"], "cancel", reason="测试取消批次")
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"

    # cancelling before the commit
    status, body = admin(client, tokens, later["round_id"], "cancel", reason="房源调整，取消本批次")
    assert status == 200 and body["status"] == "cancelled" and body["cancel_reason"] == "房源调整，取消本批次"
    status, body = admin(client, tokens, later["round_id"], "close", force=True, reason="已取消的批次")
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"


def test_inconsistent_round_data_is_a_409_never_a_500(client: Any, tokens: Any, households: dict[str, Any],
                                                      no_scans: list[str]) -> None:
    """A registration number held twice (written past the number's claim, as no route can) or a
    stored file that is not the committed bytes: commit, draw and the public files answer 409 with
    a code and a zh-CN message, and nothing moves."""
    from dataclasses import replace

    from chalicelib.deps import deps

    people, one = households["people"], households["vacant"]["1b1l"][:1]
    status, r = new_round(client, tokens, one)
    assert status == 201, r
    round_id = r["round_id"]
    for name in ("a", "b"):
        no_scans.clear()
        assert register(client, people[name], round_id)[0] == 201
        # as many requests as before the number's claim: the registration's put is now a transaction of two
        assert [c for c in no_scans if c not in ("GetItem", "Query")] == ["UpdateItem", "TransactWriteItems"]
        assert len(no_scans) <= 7, no_scans
    a, b = sorted(deps().lottery.registrations(round_id), key=lambda g: g.registration_no)
    deps().lottery.write_ranks([replace(b, registration_no=a.registration_no)])  # around the claim
    status, body = admin(client, tokens, round_id, "close", force=True, reason="测试数据不一致的批次")
    assert status == 200, body
    status, body = admin(client, tokens, round_id, "commit")
    assert status == 409 and body["error"]["code"] == "ROUND_DATA_INCONSISTENT", body
    assert "摇号批次数据不一致" in body["error"]["message"] and body["error"]["field"] == "round_id"
    assert call(client, "GET", f"/v1/admin/rounds/{round_id}", tokens.headers("admin"))[1]["status"] == "closed"

    # the data mended, the commit goes through; a stored file changed behind the round's back is refused
    deps().lottery.write_ranks([b])
    status, committed = admin(client, tokens, round_id, "commit")
    assert status == 200 and committed["registrants"] == 2, committed
    key = deps().lottery.get_round(round_id).commitment_key or ""
    deps().lottery.put_file(key, deps().lottery.get_file(key).replace(b"R0", b"R9"))
    response = raw(client, f"/v1/rounds/{round_id}/commitment.json")
    assert response.status_code == 409 and json.loads(response.body)["error"]["code"] == "ROUND_FILE_MISMATCH"
    status, body = admin(client, tokens, round_id, "draw", public_value="03 11 17 22 28 31 + 09")
    assert status == 409 and body["error"]["code"] == "ROUND_FILE_MISMATCH", body
    assert call(client, "GET", f"/v1/admin/rounds/{round_id}", tokens.headers("admin"))[1]["status"] == "committed"


def test_bad_rounds_are_refused(client: Any, tokens: Any, households: dict[str, Any], catalogue: dict[str, Any]) -> None:
    vacant = households["vacant"]
    one = vacant["1b1l"][:1]
    cases = [
        ({"registration_closes_at": _at(timedelta(minutes=-30))}, 400, "registration_closes_at"),
        ({"registration_opens_at": "2026-12-01T09:00:00"}, 400, "registration_opens_at"),
        ({"registration_opens_at": "tomorrow"}, 400, "registration_opens_at"),
        ({"randomness_source": "彩票"}, 400, "randomness_source"),
        ({"priority_groups": ["subsistence", "nosuch"]}, 400, "priority_groups"),
        ({"priority_groups": ["general", "elderly"]}, 400, "priority_groups"),
        ({"layouts_by_size": {"0": ["studio"]}}, 400, None),
        ({"layouts_by_size": {"1": ["castle"]}}, 400, None),
        ({"slot_minutes": 0}, 400, "slot_minutes"),
        ({"unit_ids": []}, 400, "unit_ids"),
        ({"unit_ids": ["fuzeyuan.b1.999"]}, 404, "unit_ids"),
    ]
    for extra, want, field in cases:
        extra = dict(extra)
        status, body = new_round(client, tokens, extra.pop("unit_ids", one), **extra)
        assert status == want, (extra, body)
        if field:
            assert body["error"]["field"].startswith(field), (extra, body)
    busy = catalogue["units"][0].unit_id  # leased
    status, body = new_round(client, tokens, [busy])
    assert status == 409 and body["error"]["code"] == "UNIT_NOT_VACANT"
    status, r = new_round(client, tokens, one, priority_groups=["elderly", "subsistence"])
    assert status == 201 and [g["id"] for g in r["priority_groups"]] == ["elderly", "subsistence", "general"]
    status, body = call(client, "POST", f"/v1/admin/rounds/{r['round_id']}/draw", tokens.headers("admin"),
                        {"version": r["version"]})
    assert status == 400 and body["error"]["field"] == "public_value"
    assert raw(client, "/v1/rounds/rnd_nosuch").status_code == 404
    assert raw(client, f"/v1/rounds/{r['round_id']}").status_code == 200


def test_roles(client: Any, tokens: Any, households: dict[str, Any]) -> None:
    one = households["vacant"]["1b1l"][:1]
    body = {"title": "x", "unit_ids": one, "registration_opens_at": _at(timedelta(0)),
            "registration_closes_at": _at(timedelta(hours=1)), "randomness_source": SOURCE}
    assert call(client, "POST", "/v1/admin/rounds", tokens.headers(), body)[0] == 401
    for role in ("applicant", "staff", "auditor"):
        assert call(client, "POST", "/v1/admin/rounds", tokens.headers(role), body)[0] == 403
    status, r = call(client, "POST", "/v1/admin/rounds", tokens.headers("admin"), body)
    assert status == 201
    assert call(client, "POST", f"/v1/rounds/{r['round_id']}/registrations", tokens.headers("admin"), {})[0] == 403
    assert call(client, "GET", f"/v1/me/rounds/{r['round_id']}", tokens.headers())[0] == 401
    assert call(client, "GET", f"/v1/admin/rounds/{r['round_id']}", tokens.headers("applicant"))[0] == 403


def test_layouts_for_size_and_the_state_machine() -> None:
    from chalicelib import errors
    from chalicelib.domain.lottery import layouts_for_size
    from chalicelib.domain.round_status import check_transition

    table = {"1": ["studio"], "2": ["1b1l"], "5+": ["3b1l"], "3+": ["2b1l"]}
    assert layouts_for_size(table, 1) == ["studio"]
    assert layouts_for_size(table, 4) == ["2b1l"] and layouts_for_size(table, 7) == ["3b1l"]
    assert layouts_for_size({"1": ["studio"]}, 2) == []
    check_transition("open", "closed")
    check_transition("closed", "cancelled")
    for a, b in [("committed", "cancelled"), ("open", "committed"), ("published", "drawn"), ("finished", "open")]:
        with pytest.raises(errors.IllegalTransition):
            check_transition(a, b)
    with pytest.raises(errors.AlreadyDrawn):
        check_transition("published", "drawn")
    assert datetime.fromisoformat(_at(timedelta(0))).utcoffset() == timedelta(hours=8)
    assert CHINA == "+08:00"
