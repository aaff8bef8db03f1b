"""The service desk (投诉建议、报修, issue 13; docs/decisions/0034) through the routes with real tokens on
the local AWS: filing (a citizen, an act delegate) with photos checked by the S3-event worker, routing
by the city's tickets.json, staff's queue, replies (canned), status moves, reassigning, the contact
revealed with a reason (audited), deadlines in working days, the breach sweep escalating each level
once (and reading only the open tickets past a deadline), rating once, reopening within the window;
every bad input and abuse of the issue's list answered with a clear 4xx, nothing lost."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import requests

from tests.applying import EXE, JPEG, Citizen, call, register

REPAIR, COMPLAINT_STAFF, SUGGESTION = "repair_water_electric", "complaint_staff", "suggestion"


@pytest.fixture(scope="module")
def city(stack: Any, catalogue: dict[str, Any]) -> dict[str, Any]:
    return catalogue


def citizen(stack: Any, client: Any, name: str = "陈晓东") -> Citizen:
    person = Citizen(stack, name)
    register(client, person)
    return person


def file(client: Any, person: Citizen, category: str = REPAIR, estate_id: str = "fuzeyuan", **extra: Any) -> dict[str, Any]:
    status, body = call(client, "POST", "/v1/tickets", person.headers(), {
        "category": category, "title": "卫生间水管漏水", "text": "卫生间洗手盆下水管漏水，地面积水。",
        "estate_id": estate_id, "contact_allowed": True, **extra})
    assert status == 201, body
    return dict(body)


def staff_post(client: Any, tokens: Any, ticket: dict[str, Any], what: str, body: dict[str, Any]) -> tuple[int, Any]:
    return call(client, "POST", f"/v1/staff/tickets/{ticket['ticket_id']}/{what}", tokens.headers("staff"), body)


def upload_photo(client: Any, person: Citizen, ticket_id: str, content: bytes = JPEG) -> dict[str, Any]:
    status, body = call(client, "POST", f"/v1/tickets/{ticket_id}/photos", person.headers(), {"content_type": "image/jpeg"})
    assert status == 201, body
    form = body["upload"]
    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", content, "image/jpeg")}, timeout=10)
    assert r.status_code == 204, r.text
    return dict(body)


def closed_ticket(client: Any, tokens: Any, person: Citizen) -> dict[str, Any]:
    t = file(client, person)
    status, t = staff_post(client, tokens, t, "replies", {"canned_reply": "repair_scheduled"})
    assert status == 200, t
    status, t = staff_post(client, tokens, t, "status", {"version": t["version"], "status": "resolved"})
    assert status == 200, t
    status, t = staff_post(client, tokens, t, "status", {"version": t["version"], "status": "closed"})
    assert status == 200, t
    return dict(t)


# --- the journey ---------------------------------------------------------------------------------------------
def test_a_tenant_files_a_repair_with_a_photo_staff_answer_close_and_it_is_rated(
        client: Any, stack: Any, tokens: Any, city: dict[str, Any]) -> None:
    from chalicelib.domain.working_days import add_working_days, is_working_day

    tenant = citizen(stack, client)
    unit = next(u for u in city["units"] if u.estate_id == "fuzeyuan")
    t = file(client, tenant, unit_id=unit.unit_id)
    assert (t["status"], t["kind"], t["team"]) == ("filed", "repair", "pm-fuzeyuan")
    assert "福泽园物业服务中心" in t["team_name"]
    filed = date.fromisoformat(t["filed_at"][:10])
    assert t["deadlines"]["first_reply_due"] == add_working_days(filed, 1).isoformat()
    assert t["deadlines"]["resolution_due"] == add_working_days(filed, 5).isoformat()
    assert is_working_day(date.fromisoformat(t["deadlines"]["resolution_due"]))
    assert t["deadlines"]["next"] == "first_reply"

    upload_photo(client, tenant, t["ticket_id"])
    stack.drain()  # the S3-event worker checks what arrived
    status, mine = call(client, "GET", f"/v1/tickets/{t['ticket_id']}", tenant.headers())
    assert status == 200, mine
    assert [p["checked"] for p in mine["photos"]] == [True] and mine["photos"][0]["download"]["url"]

    status, queue = call(client, "GET", "/v1/staff/tickets?team=pm-fuzeyuan", tokens.headers("staff"))
    assert status == 200, queue
    row = next(i for i in queue["items"] if i["ticket_id"] == t["ticket_id"])
    assert row["contact"]["allowed"] is True and "****" in row["contact"]["mobile"]
    assert tenant.mobile not in str(queue)

    status, t = staff_post(client, tokens, t, "replies", {"canned_reply": "received"})
    assert status == 200, t
    assert t["status"] == "accepted" and t["deadlines"]["first_reply_met"] is True
    assert t["deadlines"]["next"] == "resolution"
    status, t = staff_post(client, tokens, t, "replies", {"text": "已联系物业，明早上门。", "internal": True})
    assert status == 200 and t["timeline"][-1]["internal"] is True
    status, t = staff_post(client, tokens, t, "status", {"version": t["version"], "status": "in_progress"})
    assert status == 200, t
    status, t = staff_post(client, tokens, t, "status", {"version": t["version"], "status": "resolved",
                                                         "note": "已更换下水管，经试水无渗漏。"})
    assert status == 200 and t["deadlines"]["resolution_met"] is True and t["deadlines"]["next"] is None
    status, t = staff_post(client, tokens, t, "status", {"version": t["version"], "status": "closed"})
    assert status == 200, t

    status, seen = call(client, "GET", f"/v1/tickets/{t['ticket_id']}", tenant.headers())
    actions = [e["action"] for e in seen["timeline"]]
    assert actions == ["filed", "reply", "status", "status", "status"], actions  # the internal note is not there
    assert "明早上门" not in str(seen)

    status, rated = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/rating", tenant.headers(),
                         {"score": 5, "comment": "维修及时，态度很好"})
    assert status == 200 and rated["rating"]["score"] == 5, rated
    status, again = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/rating", tenant.headers(), {"score": 1})
    assert (status, again["error"]["code"]) == (409, "TICKET_ALREADY_RATED")
    status, by_team = call(client, "GET", "/v1/admin/ticket-ratings?by=team", tokens.headers("admin"))
    assert status == 200, by_team
    team = next(i for i in by_team["items"] if i["id"] == "pm-fuzeyuan")
    assert team["count"] >= 1 and team["scores"]["5"] >= 1
    status, by_estate = call(client, "GET", "/v1/admin/ticket-ratings?by=estate", tokens.headers("admin"))
    assert any(i["id"] == "fuzeyuan" for i in by_estate["items"]), by_estate

    from chalicelib.repositories.tables import TicketRecord

    stored = TicketRecord.get(t["ticket_id"])
    assert (stored.kind, stored.filed_month, stored.rating_score, stored.first_reply_met, stored.resolution_met) == \
        ("repair", t["filed_at"][:7], 5, True, True)
    assert stored.closed_at and stored.due_part is None  # out of the sweep's index once resolved


def test_routing_follows_the_city_file(client: Any, stack: Any, city: dict[str, Any]) -> None:
    person = citizen(stack, client, "林志强")
    assert file(client, person, COMPLAINT_STAFF)["team"] == "bureau"
    street = file(client, person, SUGGESTION, estate_id="huizeyuan")
    assert (street["team"], street["team_name"]) == ("street-huanshi", "环市街道办事处")
    status, cats = call(client, "GET", "/v1/ticket-categories", {})
    assert status == 200 and {c["kind"] for c in cats["items"]} == {"complaint", "suggestion", "repair"}


def test_deadlines_count_working_days_past_a_public_holiday() -> None:
    from chalicelib.city_files import city_file
    from chalicelib.domain.tickets import deadlines
    from chalicelib.domain.working_days import is_working_day

    cat = next(c for c in city_file("jiangmen", "tickets.json").categories if c.code == COMPLAINT_STAFF)
    first, resolution = deadlines(date(2026, 9, 30), cat)  # the National Day holiday starts the next day
    assert first > date(2026, 10, 7) and is_working_day(first)
    assert resolution > first and is_working_day(resolution)
    assert (first - date(2026, 9, 30)).days > cat.first_reply_days  # not three calendar days


def test_a_delegate_with_act_files_for_the_grantor_and_a_view_grant_cannot(client: Any, stack: Any,
                                                                            city: dict[str, Any]) -> None:
    from chalicelib.domain.common import now

    grantor, helper, viewer = (citizen(stack, client, n) for n in ("黄美玲", "黄志明", "黄小红"))
    grants = {}
    for who, scopes in ((helper, ["act"]), (viewer, ["view"])):
        status, g = call(client, "POST", "/v1/me/grants", grantor.headers(), {
            "delegate_mobile": who.mobile, "scopes": scopes, "expires_at": (now() + timedelta(days=30)).isoformat()})
        assert status == 201, g
        grants[who.mobile] = g["grant_id"]
    t = file(client, helper, grant_id=grants[helper.mobile])
    assert t["filed_role"] == "delegate"
    status, mine = call(client, "GET", "/v1/me/tickets", grantor.headers())
    assert status == 200 and [i["ticket_id"] for i in mine["items"]] == [t["ticket_id"]]
    status, seen = call(client, "GET", f"/v1/tickets/{t['ticket_id']}", viewer.headers())
    assert status == 200, seen
    status, refused = call(client, "POST", "/v1/tickets", viewer.headers(), {
        "category": REPAIR, "title": "代为报修", "text": "代为报修：门锁损坏。", "estate_id": "fuzeyuan",
        "contact_allowed": False, "grant_id": grants[viewer.mobile]})
    assert status == 403, refused
    status, refused = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/replies", viewer.headers(), {"text": "补充"})
    assert status == 403, refused


def test_the_contact_is_masked_and_revealed_only_with_a_reason_audited(client: Any, stack: Any, tokens: Any,
                                                                      city: dict[str, Any]) -> None:
    person = citizen(stack, client, "郑美华")
    t = file(client, person)
    path = f"/v1/staff/tickets/{t['ticket_id']}/contact"
    status, refused = call(client, "GET", path, tokens.headers("staff"))
    assert status == 400 and refused["error"]["field"] == "reason", refused
    status, shown = call(client, "GET", path + "?reason=%E4%B8%8A%E9%97%A8%E7%BB%B4%E4%BF%AE%E9%A2%84%E7%BA%A6",
                         tokens.headers("staff"))
    assert status == 200 and shown["mobile"] == person.mobile, shown
    from chalicelib.domain import audit

    assert [e["action"] for e in audit.trail(f"ticket#{t['ticket_id']}")] == ["read_ticket_contact"]
    quiet = file(client, citizen(stack, client, "郑国华"), contact_allowed=False)
    status, refused = call(client, "GET", f"/v1/staff/tickets/{quiet['ticket_id']}/contact?reason=x1",
                           tokens.headers("staff"))
    assert (status, refused["error"]["code"]) == (409, "TICKET_CONTACT_NOT_ALLOWED")


def test_queue_sorted_by_deadline_with_filters(client: Any, stack: Any, tokens: Any, city: dict[str, Any]) -> None:
    person = citizen(stack, client, "何丽萍")
    made = [file(client, person, c, estate_id="haiyuan") for c in (SUGGESTION, REPAIR, COMPLAINT_STAFF)]
    status, page = call(client, "GET", "/v1/staff/tickets?estate_id=haiyuan&limit=50", tokens.headers("staff"))
    assert status == 200, page
    dues = [i["deadlines"]["next_at"] for i in page["items"]]
    assert dues == sorted(dues) and {m["ticket_id"] for m in made} <= {i["ticket_id"] for i in page["items"]}
    status, page = call(client, "GET", f"/v1/staff/tickets?estate_id=haiyuan&category={REPAIR}&status=filed",
                        tokens.headers("staff"))
    assert status == 200 and {i["category"] for i in page["items"]} == {REPAIR}, page
    status, page = call(client, "GET", "/v1/staff/tickets?category=no_such", tokens.headers("staff"))
    assert status == 400 and page["error"]["field"] == "category"
    status, replies = call(client, "GET", "/v1/staff/ticket-replies", tokens.headers("staff"))
    assert status == 200 and "received" in {r["code"] for r in replies["items"]}


def test_reassign_one_and_many_with_a_reason(client: Any, stack: Any, tokens: Any, city: dict[str, Any]) -> None:
    person = citizen(stack, client, "吴建平")
    a, b = file(client, person), file(client, person, SUGGESTION)
    status, moved = staff_post(client, tokens, a, "assign", {"version": a["version"], "team": "bureau",
                                                             "team_name": "江门市住房保障局", "reason": "涉及多部门协调"})
    assert status == 200 and moved["team"] == "bureau" and "涉及多部门协调" in moved["timeline"][-1]["note"]
    status, refused = staff_post(client, tokens, a, "assign", {"version": a["version"], "team": "x1", "reason": "再改"})
    assert (status, refused["error"]["code"]) == (409, "STALE_VERSION")
    status, bulk = call(client, "POST", "/v1/staff/ticket-assignments", tokens.headers("staff"), {
        "items": [{"ticket_id": b["ticket_id"], "version": b["version"]}, {"ticket_id": a["ticket_id"], "version": 1}],
        "assignee": "王工", "reason": "统一派单"})
    assert status == 200 and [i["ok"] for i in bulk["items"]] == [True, False] and bulk["assigned"] == 1, bulk
    assert bulk["items"][1]["error"]["code"] == "STALE_VERSION"


# --- the breach sweep ----------------------------------------------------------------------------------------
def _past_due(ticket_id: str, day: str) -> None:
    """Move a ticket's first-reply deadline into the past (no route does: tests and the demo only)."""
    from dataclasses import replace

    from chalicelib.deps import deps

    t = deps().tickets.get(ticket_id)
    assert deps().tickets.replace(t, replace(t, first_reply_due=day, version=t.version + 1))


def test_a_breach_escalates_to_the_lead_then_the_bureau_each_once(client: Any, stack: Any, tokens: Any,
                                                                  city: dict[str, Any]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import common
    from chalicelib.domain.ticket_sla import sweep

    t = file(client, citizen(stack, client, "冯志刚"))
    _past_due(t["ticket_id"], (common.now().date() - timedelta(days=2)).isoformat())
    now = common.now()

    def levels() -> list[int]:
        return [e["level"] for e in deps().tickets.get(t["ticket_id"]).escalations]

    first = sweep(now)
    assert first["past_deadline"] >= 1 and first["escalated"] >= 1 and levels() == [1]
    sweep(now)
    assert levels() == [1]  # each level once, however often the job runs
    assert sweep(now + timedelta(hours=25))["escalated"] >= 1 and levels() == [1, 2]
    sweep(now + timedelta(hours=50))
    assert levels() == [1, 2]
    status, seen = call(client, "GET", f"/v1/staff/tickets/{t['ticket_id']}", tokens.headers("staff"))
    assert status == 200 and [e["level"] for e in seen["escalations"]] == [1, 2], seen
    assert seen["escalation_name"] == "住房保障局督办"
    status, mine = call(client, "GET", f"/v1/tickets/{t['ticket_id']}", tokens.headers("staff"))
    assert status == 403  # the citizen's route is the citizen's


def test_the_sweep_reads_only_open_tickets_past_a_deadline(client: Any, stack: Any, tokens: Any,
                                                           city: dict[str, Any], no_scans: list[str]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import common

    done = closed_ticket(client, tokens, citizen(stack, client, "邓丽君"))
    found, _ = deps().tickets.past_due((common.now() + timedelta(days=400)).isoformat(), None, 200)
    assert done["ticket_id"] not in {t.ticket_id for t in found}
    assert found and all(t.status.value not in ("resolved", "closed") for t in found)


# --- rating, reopening ----------------------------------------------------------------------------------------
def test_rating_only_a_closed_ticket_only_ones_own_and_reopening_within_the_window(
        client: Any, stack: Any, tokens: Any, city: dict[str, Any]) -> None:
    owner, stranger = citizen(stack, client, "谢玉兰"), citizen(stack, client, "谢国明")
    open_one = file(client, owner)
    status, refused = call(client, "POST", f"/v1/tickets/{open_one['ticket_id']}/rating", owner.headers(), {"score": 4})
    assert (status, refused["error"]["code"]) == (409, "TICKET_NOT_RATEABLE")
    t = closed_ticket(client, tokens, owner)
    status, refused = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/rating", stranger.headers(), {"score": 1})
    assert (status, refused["error"]["code"]) == (404, "TICKET_NOT_FOUND")
    status, refused = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/rating", owner.headers(), {"score": 6})
    assert status == 400 and refused["error"]["field"] == "score"
    status, refused = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/replies", owner.headers(), {"text": "还有问题"})
    assert (status, refused["error"]["code"]) == (409, "TICKET_CLOSED")
    status, refused = staff_post(client, tokens, t, "replies", {"text": "补充答复"})
    assert (status, refused["error"]["code"]) == (409, "TICKET_CLOSED")
    status, again = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/reopen", owner.headers(), {"reason": "又漏水了"})
    assert status == 200 and again["status"] == "reopened" and again["deadlines"]["next"] == "resolution", again

    from dataclasses import replace

    from chalicelib.deps import deps

    late_owner = citizen(stack, client, "谢志华")
    late = closed_ticket(client, tokens, late_owner)
    stored = deps().tickets.get(late["ticket_id"])
    assert deps().tickets.replace(stored, replace(stored, resolved_at="2020-01-01T10:00:00.000+08:00",
                                                  version=stored.version + 1))
    status, refused = call(client, "POST", f"/v1/tickets/{late['ticket_id']}/reopen", late_owner.headers(),
                           {"reason": "还是不行"})
    assert (status, refused["error"]["code"]) == (409, "TICKET_REOPEN_EXPIRED")


# --- bad input and abuse ---------------------------------------------------------------------------------------
def test_bad_input_and_abuse_each_a_clear_4xx_nothing_lost(client: Any, stack: Any, tokens: Any,
                                                          city: dict[str, Any]) -> None:
    person = citizen(stack, client, "罗志勇")
    base = {"category": REPAIR, "title": "门锁坏了", "text": "入户门锁损坏无法反锁。", "estate_id": "fuzeyuan",
            "contact_allowed": True}
    for bad, field in (({"text": "有控制字符\x07在这里"}, "text"), ({"title": "两行\n标题"}, "title"),
                       ({"category": "no_such"}, "category"), ({"contact_allowed": "yes"}, "contact_allowed"),
                       ({"text": "长" * 1001}, "text")):
        status, refused = call(client, "POST", "/v1/tickets", person.headers(), {**base, **bad})
        assert status == 400 and refused["error"]["field"] == field, (bad, refused)
    status, refused = call(client, "POST", "/v1/tickets", person.headers(), {**base, "estate_id": "nowhere"})
    assert (status, refused["error"]["code"]) == (404, "ESTATE_NOT_FOUND")
    status, refused = call(client, "POST", "/v1/tickets", {"Content-Type": "application/json"}, base)
    assert status == 401

    t = file(client, person)
    status, refused = call(client, "POST", f"/v1/tickets/{t['ticket_id']}/photos", person.headers(),
                           {"content_type": "application/pdf"})
    assert status == 400 and refused["error"]["field"] == "content_type"
    upload_photo(client, person, t["ticket_id"], EXE)  # declared a JPEG, really a program
    stack.drain()
    status, seen = call(client, "GET", f"/v1/tickets/{t['ticket_id']}", person.headers())
    assert seen["photos"] == [] and seen["timeline"][-1]["action"] == "photo_rejected", seen
    assert seen["status"] == "filed"  # the ticket itself is kept

    status, other = call(client, "GET", f"/v1/tickets/{t['ticket_id']}", citizen(stack, client, "罗小梅").headers())
    assert (status, other["error"]["code"]) == (404, "TICKET_NOT_FOUND")

    burst = citizen(stack, client, "罗国强")
    from chalicelib.city_files import city_file

    limit = city_file("jiangmen", "tickets.json").filings_per_minute
    answers = [call(client, "POST", "/v1/tickets", burst.headers(), base) for _ in range(limit + 2)]
    codes = [s for s, _ in answers]
    assert codes.count(201) <= limit and 429 in codes, codes
    refused = next(b for s, b in answers if s == 429)
    assert refused["error"]["code"] == "TICKETS_RATE_LIMITED" and "频繁" in refused["error"]["message"]
    status, mine = call(client, "GET", "/v1/me/tickets", burst.headers())
    assert len(mine["items"]) == codes.count(201)  # every accepted ticket is there, none half-written
