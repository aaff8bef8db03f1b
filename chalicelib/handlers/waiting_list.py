"""The waiting list (轮候): the citizen's places, each with how many households are ahead.
Decisions: docs/decisions/0012."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.domain.application_status import KINDS
from chalicelib.handlers.roles import CITIZEN
from chalicelib.web import Api, Call

waiting_list = lazy.module("chalicelib.domain.waiting_list")

bp = Blueprint(__name__)
api = Api(bp, "waiting_list")


@api.route("/v1/me/waiting-list", summary="我的轮候位次（前面还有多少户）", roles=CITIZEN, response="WaitingList", operation_id="getMyWaitingList")
def my_waiting_list(call: Call) -> dict[str, Any]:
    items = []
    for place in waiting_list.mine(call.actor):
        w = place["waiting"]
        items.append({"application_id": w.application_id, "queue": w.queue, "kind_name": KINDS.get(w.queue, w.queue),
                      "position": place["position"], "ahead": place["ahead"], "priority_points": w.priority_points,
                      "household_size": w.household_size, "batch_id": w.batch_id, "period_end": w.period_end,
                      "qualified_at": w.qualified_at})
    return {"items": items}
