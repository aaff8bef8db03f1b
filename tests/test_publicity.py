"""Publicity (公示) and objections (异议), through the routes with real tokens (the waiting list:
tests/test_waiting_list.py). Time moves by patching ``chalicelib.domain.common.now`` (tokens keep
their own clock)."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Iterator

import pytest

from chalicelib.domain.idnumbers import mask_mobile
from tests.applying import Citizen, call
from tests.test_case_review import review, submitted, verify


@pytest.fixture(scope="module", autouse=True)
def fresh(stack: Any) -> None:
    stack.reset()  # an empty waiting list: positions below are absolute


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, timedelta]]:
    """``clock["offset"] = timedelta(days=8)`` moves the app's time forward."""
    from chalicelib.domain import common

    real = common.now
    state = {"offset": timedelta(0)}
    monkeypatch.setattr(common, "now", lambda: real() + state["offset"])
    yield state


def approved(client: Any, stack: Any, tokens: Any, **facts: Any) -> tuple[Citizen, dict[str, Any]]:
    person, app = submitted(client, stack)
    verify(app, **facts)
    status, done = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/approve",
                        tokens.headers("staff"), {"version": review(client, tokens, app)["version"]})
    assert status == 200 and done["status"] == "approved", done
    return person, done


def publish(client: Any, tokens: Any, ids: list[str], **extra: Any) -> tuple[int, Any]:
    return call(client, "POST", "/v1/staff/publicity", tokens.headers("staff"), {"application_ids": ids, **extra})


def app_of(client: Any, tokens: Any, application_id: str) -> dict[str, Any]:
    status, app = call(client, "GET", f"/v1/applications/{application_id}?reason=check", tokens.headers("staff"))
    assert status == 200, app
    return app


def staff_view(client: Any, tokens: Any, batch_id: str) -> dict[str, Any]:
    status, view = call(client, "GET", f"/v1/staff/publicity/{batch_id}?reason=publicity", tokens.headers("staff"))
    assert status == 200, view
    return view


def close(client: Any, tokens: Any, batch_id: str) -> tuple[int, Any]:
    version = staff_view(client, tokens, batch_id)["version"]
    return call(client, "POST", f"/v1/staff/publicity/{batch_id}/close", tokens.headers("staff"), {"version": version})


REASON = "该户在本市有一套住房，与申报不符，请核查。"


def test_publish_and_the_public_list_shows_masked_data_only(client: Any, stack: Any, tokens: Any) -> None:
    from chalicelib.notify import RECORDED

    person, app = approved(client, stack, tokens)
    _, pending = submitted(client, stack)  # not approved: reported on its own, not published
    status, result = publish(client, tokens, [app["application_id"], pending["application_id"], "app_nosuch"])
    assert status == 201, result
    items = {i["application_id"]: i for i in result["items"]}
    assert items[app["application_id"]]["ok"] and items[app["application_id"]]["status"] == "in_publicity"
    assert items[pending["application_id"]]["error"]["code"] == "ILLEGAL_TRANSITION"
    assert items["app_nosuch"]["status_code"] == 404
    batch = result["batch"]
    assert batch["size"] == 1 and batch["in_period"] and batch["days"] == 7
    assert app_of(client, tokens, app["application_id"])["status"] == "in_publicity"

    # the public: no login, masked only, and nothing that identifies the application itself
    response = client.http.get("/v1/publicity")
    listed = json.loads(response.body)
    assert response.status_code == 200 and batch["batch_id"] in [b["batch_id"] for b in listed["items"]]
    response = client.http.get(f"/v1/publicity/{batch['batch_id']}")
    assert response.status_code == 200
    raw = response.body.decode() if isinstance(response.body, bytes) else response.body
    page = json.loads(raw)
    [entry] = page["items"]
    assert entry["main_applicant"] == "审*测" and entry["household_size"] == 1 and entry["kind"] == "individual"
    assert entry["id_number"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    assert person.id_number not in raw and person.name not in raw and app["application_id"] not in raw
    assert "created_by" not in raw and person.mobile not in raw
    assert client.http.get("/v1/publicity/pub_nosuch").status_code == 404

    # staff: the full view, audited, never without a reason
    assert call(client, "GET", f"/v1/staff/publicity/{batch['batch_id']}", tokens.headers("staff"))[0] == 400
    view = staff_view(client, tokens, batch["batch_id"])
    assert view["items"][0]["application"]["id_number"] == person.id_number
    status, trail = call(client, "GET", f"/v1/audit/publicity/{batch['batch_id']}", tokens.headers("auditor"))
    assert {"publish", "read_publicity"} <= {e["action"] for e in trail["items"]}

    # nothing publishable at all: no batch
    status, body = publish(client, tokens, [pending["application_id"]])
    assert status == 409 and body["error"]["code"] == "NOTHING_TO_PUBLISH"

    stack.drain()
    sent = [n for n in RECORDED if n["application_id"] == app["application_id"]]
    assert "publicity_started" in [n["template"] for n in sent]
    assert all(person.id_number not in n["text"] for n in sent)


def test_period_settings_and_demo_only_overrides(client: Any, stack: Any, tokens: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, app = approved(client, stack, tokens)
    status, body = publish(client, tokens, [app["application_id"]], days=3)
    assert status == 400 and body["error"]["field"] == "days"
    status, body = publish(client, tokens, [app["application_id"]], minutes=5)
    assert status == 400 and body["error"]["field"] == "minutes"  # not in demo mode
    monkeypatch.setenv("PUBLICITY_DEMO_MINUTES_ALLOWED", "1")
    status, result = publish(client, tokens, [app["application_id"]], minutes=5)
    assert status == 201 and result["batch"]["days"] is None, result
    status, body = close(client, tokens, result["batch"]["batch_id"])  # demo: closing early ends the period now
    assert status == 200 and body["counts"] == {"qualified": 1} and body["batch"]["status"] == "closed", body
    assert app_of(client, tokens, app["application_id"])["status"] == "qualified"


def test_objection_during_the_period_and_not_after(client: Any, stack: Any, tokens: Any,
                                                   clock: dict[str, timedelta]) -> None:
    _, app = approved(client, stack, tokens)
    _, result = publish(client, tokens, [app["application_id"]])
    batch_id = result["batch"]["batch_id"]
    neighbour = Citizen(stack, "邻居甲")
    path = f"/v1/publicity/{batch_id}/objections"
    assert call(client, "POST", path, tokens.headers(), {"application_id": app["application_id"],
                                                         "reason": REASON})[0] == 401
    status, body = call(client, "POST", path, neighbour.headers(), {"application_id": app["application_id"],
                                                                    "reason": "太短"})
    assert status == 400 and body["error"]["field"] == "reason"
    status, body = call(client, "POST", path, neighbour.headers(), {"reason": REASON})
    assert status == 400 and body["error"]["field"] == "entry_id"
    entry_id = json.loads(client.http.get(f"/v1/publicity/{batch_id}").body)["items"][0]["entry_id"]
    status, filed = call(client, "POST", path, neighbour.headers(), {"entry_id": entry_id, "reason": REASON,
                                                                     "contact": "13912345678"})
    assert status == 201 and filed["status"] == "open" and filed["entry_id"] == entry_id, filed
    status, body = call(client, "POST", f"/v1/publicity/{batch_id}/objections", neighbour.headers(),
                        {"entry_id": "pe_nosuch", "reason": REASON})
    assert status == 404 and body["error"]["code"] == "PUBLICITY_NOT_FOUND"

    status, page = call(client, "GET", "/v1/staff/objections?status=open", tokens.headers("staff"))
    assert status == 200 and filed["objection_id"] in [o["objection_id"] for o in page["items"]]
    mine = next(o for o in page["items"] if o["objection_id"] == filed["objection_id"])
    assert mine["contact"] == "139****5678"  # masked in the list; in full in the audited batch view
    assert call(client, "GET", "/v1/staff/objections", neighbour.headers())[0] == 403

    clock["offset"] = timedelta(days=9)
    status, body = call(client, "POST", path, neighbour.headers(), {"application_id": app["application_id"],
                                                                    "reason": REASON})
    assert status == 409 and body["error"]["code"] == "OUTSIDE_PUBLICITY_PERIOD", body
    assert batch_id not in [b["batch_id"] for b in json.loads(client.http.get("/v1/publicity").body)["items"]]


def test_upheld_sends_the_application_back_to_review_and_off_the_list(client: Any, stack: Any,
                                                                       tokens: Any) -> None:
    from chalicelib.notify import RECORDED

    person, app = approved(client, stack, tokens)
    _, result = publish(client, tokens, [app["application_id"]])
    batch_id = result["batch"]["batch_id"]
    neighbour = Citizen(stack, "邻居乙")
    _, filed = call(client, "POST", f"/v1/publicity/{batch_id}/objections", neighbour.headers(),
                    {"application_id": app["application_id"], "reason": REASON})
    url = f"/v1/staff/objections/{filed['objection_id']}/resolve"
    status, body = call(client, "POST", url, tokens.headers("staff"),
                        {"decision": "upheld", "reason": "短", "version": 1})
    assert status == 400 and body["error"]["field"] == "reason"
    status, body = call(client, "POST", url, tokens.headers("staff"),
                        {"decision": "maybe", "reason": "经核查属实", "version": 1})
    assert status == 400 and body["error"]["field"] == "decision"
    status, body = call(client, "POST", url, tokens.headers("staff"),
                        {"decision": "upheld", "reason": "经不动产登记核查属实", "version": 7})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    assert call(client, "POST", url, person.headers(), {"decision": "dismissed", "reason": "我说没有",
                                                        "version": 1})[0] == 403
    status, resolved = call(client, "POST", url, tokens.headers("staff"),
                            {"decision": "upheld", "reason": "经不动产登记核查属实", "version": 1})
    assert status == 200 and resolved["status"] == "upheld" and resolved["version"] == 2, resolved
    status, body = call(client, "POST", url, tokens.headers("staff"),
                        {"decision": "dismissed", "reason": "经不动产登记核查属实", "version": 2})
    assert status == 409 and body["error"]["code"] == "OBJECTION_ALREADY_RESOLVED"

    back = app_of(client, tokens, app["application_id"])
    assert back["status"] == "under_review"
    assert review(client, tokens, app)["verification"]["recommendation"] == "manual_review"  # no one-click re-approval
    assert json.loads(client.http.get(f"/v1/publicity/{batch_id}").body)["items"] == []
    status, timeline = call(client, "GET", f"/v1/applications/{app['application_id']}/timeline", person.headers())
    types = [e["type"] for e in timeline["items"]]
    assert {"publicity_started", "objection_filed", "objection_upheld"} <= set(types)
    status, trail = call(client, "GET", f"/v1/audit/application/{app['application_id']}", tokens.headers("auditor"))
    assert "objection_upheld" in {e["action"] for e in trail["items"]}
    stack.drain()
    assert any(n["template"] == "publicity_objection_upheld" and n["application_id"] == app["application_id"]
               for n in RECORDED)
    told = [n for n in RECORDED if n["template"] == "objection_result" and n["mobile"] == mask_mobile(neighbour.mobile)]
    assert told and "异议成立" in told[-1]["text"]


def test_an_open_objection_keeps_the_entry_in_publicity_until_dismissed(client: Any, stack: Any, tokens: Any,
                                                                        clock: dict[str, timedelta]) -> None:
    from chalicelib.notify import RECORDED

    def close_publicity() -> dict[str, int]:  # the scheduled function, as EventBridge invokes it
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "cn-northwest-1")
        return client.lambda_.invoke("close_publicity", event).payload

    objected_person, objected = approved(client, stack, tokens)
    _, clean = approved(client, stack, tokens)
    _, result = publish(client, tokens, [objected["application_id"], clean["application_id"]], days=5)
    batch_id = result["batch"]["batch_id"]
    assert result["batch"]["days"] == 5
    neighbour = Citizen(stack, "邻居丁")
    _, filed = call(client, "POST", f"/v1/publicity/{batch_id}/objections", neighbour.headers(),
                    {"application_id": objected["application_id"], "reason": REASON})

    clock["offset"] = timedelta(days=6, hours=1)
    done = close_publicity()
    assert done["batches"] == 1 and done["qualified"] == 1 and done["waiting"] == 1, done
    assert app_of(client, tokens, clean["application_id"])["status"] == "qualified"
    assert app_of(client, tokens, objected["application_id"])["status"] == "in_publicity"
    view = staff_view(client, tokens, batch_id)
    assert view["status"] == "open"
    assert {i["application_id"]: i["status"] for i in view["items"]} == {
        objected["application_id"]: "in_publicity", clean["application_id"]: "qualified"}
    assert view["objections"][0]["contact"] is None and view["objections"][0]["reason"] == REASON
    assert close_publicity()["qualified"] == 0  # again: nothing changes

    status, resolved = call(client, "POST", f"/v1/staff/objections/{filed['objection_id']}/resolve",
                            tokens.headers("staff"), {"decision": "dismissed", "reason": "经核查该房屋已于申请前出售",
                                                      "version": filed.get("version", 1)})
    assert status == 200 and resolved["status"] == "dismissed" and resolved["decision_reason"], resolved
    # resolved after the end: qualified at once, and the batch closes
    assert app_of(client, tokens, objected["application_id"])["status"] == "qualified"
    assert staff_view(client, tokens, batch_id)["status"] == "closed"
    status, mine = call(client, "GET", "/v1/me/waiting-list", objected_person.headers())
    assert status == 200 and len(mine["items"]) == 1 and mine["items"][0]["batch_id"] == batch_id
    status, timeline = call(client, "GET", f"/v1/applications/{objected['application_id']}/timeline",
                            objected_person.headers())
    assert {"objection_dismissed", "qualified"} <= {e["type"] for e in timeline["items"]}
    status, trail = call(client, "GET", f"/v1/audit/objection/{filed['objection_id']}", tokens.headers("auditor"))
    assert [e["action"] for e in trail["items"]] == ["objection_dismissed"]
    stack.drain()
    told = [n for n in RECORDED if n["template"] == "objection_result" and n["mobile"] == mask_mobile(neighbour.mobile)]
    assert told and "异议不成立" in told[-1]["text"]


def test_routes_refuse_strangers_and_bad_bodies(client: Any, stack: Any, tokens: Any) -> None:
    citizen = Citizen(stack, "市民戊")
    assert call(client, "POST", "/v1/staff/publicity", citizen.headers(), {"application_ids": ["app_x"]})[0] == 403
    assert call(client, "POST", "/v1/staff/publicity", tokens.headers(), {"application_ids": ["app_x"]})[0] == 401
    for payload in ({}, {"application_ids": []}, {"application_ids": ["bad id!"]}, {"application_ids": ["a"] * 201},
                    {"application_ids": ["app_x"], "days": "seven"}, {"application_ids": ["app_x"], "extra": 1}):
        status, body = call(client, "POST", "/v1/staff/publicity", tokens.headers("staff"), payload)
        assert status == 400 and body["error"]["code"] == "INVALID_PARAMETER", (payload, body)
    assert call(client, "GET", "/v1/staff/publicity/pub_x?reason=x", citizen.headers())[0] == 403
    status, body = call(client, "GET", "/v1/staff/publicity/pub_x?reason=x", tokens.headers("staff"))
    assert status == 404 and body["error"]["code"] == "PUBLICITY_NOT_FOUND"
    status, body = call(client, "POST", "/v1/publicity/pub_x/objections", citizen.headers(),
                        {"entry_id": "pe_x", "reason": REASON})
    assert status == 404 and body["error"]["code"] == "PUBLICITY_NOT_FOUND"
    status, body = call(client, "POST", "/v1/staff/objections/obj_x/resolve", tokens.headers("staff"),
                        {"decision": "upheld", "reason": "经核查属实", "version": 1})
    assert status == 404 and body["error"]["code"] == "OBJECTION_NOT_FOUND"
    assert call(client, "GET", "/v1/staff/objections?status=bogus", tokens.headers("staff"))[0] == 400
