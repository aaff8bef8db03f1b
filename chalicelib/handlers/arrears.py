"""Arrears (欠租): staff see each estate's leases in arrears, most months first (tenant names masked),
and every estate's totals; the leases at the city's threshold are flagged for action. The reminders
and the daily recompute are scheduled (handlers/schedules.py). Decisions: docs/decisions/0029."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CASE_STAFF
from chalicelib.web import CURSOR, ID_PATTERN, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.arrears import Arrears, EstateArrears

arrears = lazy.module("chalicelib.domain.arrears")

bp = Blueprint(__name__)
api = Api(bp, "arrears")

ESTATE = Param("estate_id", description="项目（小区）编号", required=True, pattern=ID_PATTERN)
MIN_MONTHS = Param("min_months", "integer", "最少欠租月数（缺省 1；城市规定的月数即需处置的名单）", minimum=1,
                   maximum=120, default=1, label="最少欠租月数")


def present(a: Arrears, threshold: int) -> dict[str, Any]:
    return {"lease_id": a.lease_id, "estate_id": a.estate_id, "unit_label": a.unit_label, "tenant": a.tenant,
            "months": a.months, "amount": a.amount, "since": a.since, "bill_ids": list(a.bill_ids),
            "flagged": a.flagged, "flagged_at": a.flagged_at, "threshold": threshold, "updated_at": a.updated_at}


def present_summary(s: EstateArrears) -> dict[str, Any]:
    return {"estate_id": s.estate_id, "estate_name": s.estate_name, "leases": s.leases, "flagged": s.flagged,
            "months": s.months, "amount": s.amount, "updated_at": s.updated_at}


@api.route("/v1/staff/arrears", summary="项目欠租名单：欠租月数从多到少（租户姓名已遮盖）", roles=CASE_STAFF,
           params=[ESTATE, MIN_MONTHS, CURSOR, LIMIT], response="ArrearsPage", raises=(errors.EstateNotFound,),
           operation_id="listArrears")
def list_arrears(call: Call) -> dict[str, Any]:
    """An estate's leases in arrears of at least min_months months, most months first."""
    p = call.params
    page = arrears.by_estate(p["estate_id"], p["min_months"], p["cursor"], p["limit"])
    threshold = arrears.rent_rules().arrears_months
    return {"items": [present(a, threshold) for a in page.items], "next_cursor": page.next_cursor,
            "threshold": threshold}


@api.route("/v1/staff/arrears/summary", summary="各项目欠租汇总：欠租户数、达到处置月数的户数、欠租月数与金额",
           roles=CASE_STAFF, params=[CURSOR, LIMIT], response="ArrearsSummaryPage", operation_id="listArrearsSummaries")
def list_summaries(call: Call) -> dict[str, Any]:
    """Every estate's totals over its leases in arrears."""
    page = arrears.summaries(call.params["cursor"], call.params["limit"])
    return {"items": [present_summary(s) for s in page.items], "next_cursor": page.next_cursor,
            "threshold": arrears.rent_rules().arrears_months}
