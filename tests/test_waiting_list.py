"""The waiting list (轮候), through the routes with real tokens: qualified households queue in order,
each sees its place and how many are ahead; strangers and staff are refused. (Leaving it when
housed: tests/test_leases.py.) Time moves by patching ``chalicelib.domain.common.now``."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests import test_publicity as publicity
from tests.applying import Citizen, call
from tests.test_publicity import app_of, approved, close, publish

clock = publicity.clock  # the app's clock, moved forward by the test


def test_close_before_the_end_is_refused_after_it_qualifies_and_queues(client: Any, stack: Any, tokens: Any,
                                                                       clock: dict[str, timedelta]) -> None:
    from chalicelib.notify import RECORDED

    stack.reset()  # an empty waiting list
    first, a = approved(client, stack, tokens)
    second, b = approved(client, stack, tokens)
    _, result = publish(client, tokens, [a["application_id"], b["application_id"]])
    batch_id = result["batch"]["batch_id"]
    status, body = close(client, tokens, batch_id)
    assert status == 409 and body["error"]["code"] == "PUBLICITY_NOT_ENDED", body
    status, body = call(client, "POST", f"/v1/staff/publicity/{batch_id}/close", tokens.headers("staff"),
                        {"version": 99})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"

    clock["offset"] = timedelta(days=8, hours=1)
    status, body = close(client, tokens, batch_id)
    assert status == 200 and body["counts"] == {"qualified": 2} and body["batch"]["status"] == "closed", body
    assert app_of(client, tokens, a["application_id"])["status"] == "qualified"
    status, body = close(client, tokens, batch_id)
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"

    places = []
    for person, app in ((first, a), (second, b)):
        status, mine = call(client, "GET", "/v1/me/waiting-list", person.headers())
        assert status == 200, mine
        [place] = mine["items"]
        assert place["application_id"] == app["application_id"] and place["queue"] == "individual"
        places.append((place["position"], place["ahead"]))
    assert sorted(places) == [(1, 0), (2, 1)]  # same period end and points: the earlier submission first
    assert places[0] == (1, 0)
    assert call(client, "GET", "/v1/me/waiting-list", tokens.headers("staff"))[0] == 403
    stranger = Citizen(stack, "路人丙")
    status, body = call(client, "GET", "/v1/me/waiting-list", stranger.headers())
    assert status == 403 and body["error"]["code"] == "REGISTRATION_REQUIRED"

    status, timeline = call(client, "GET", f"/v1/applications/{a['application_id']}/timeline", first.headers())
    assert "qualified" in [e["type"] for e in timeline["items"]]
    stack.drain()
    assert {a["application_id"], b["application_id"]} <= {
        n["application_id"] for n in RECORDED if n["template"] == "qualified"}
