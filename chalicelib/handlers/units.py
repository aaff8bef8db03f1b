"""Units (房源): search, detail, and staff writes with status history."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

from chalicelib.domain import units
from chalicelib.domain.units import LAYOUT_NAMES, STATUS_NAMES, Layout, StatusChange, Unit, UnitSearch, UnitStatus
from chalicelib.handlers.roles import CATALOGUE_STAFF, OVERSIGHT
from chalicelib.web import CURSOR, ID_PATTERN, LIMIT, Api, Call, Param

bp = Blueprint(__name__)
api = Api(bp, "units")


def present(u: Unit) -> dict[str, Any]:
    out = asdict(u)
    out.update(layout=u.layout.value, layout_name=LAYOUT_NAMES[u.layout], status=u.status.value,
               status_name=STATUS_NAMES[u.status])
    out.pop("created_at")
    return out


def present_change(c: StatusChange) -> dict[str, Any]:
    return {"at": c.at, "from_status": c.from_status.value if c.from_status else None,
            "to_status": c.to_status.value, "actor_role": c.actor_role, "reason": c.reason}


@api.route("/v1/units", summary="房源搜索（按租金从低到高）", response="UnitPage", params=[
    Param("area", description="片区 ID", pattern=ID_PATTERN),
    Param("estate", description="项目 ID", pattern=ID_PATTERN),
    Param("layout", "enum", "户型", choices=tuple(x.value for x in Layout)),
    Param("status", "enum", "房源状态", choices=tuple(x.value for x in UnitStatus)),
    Param("min_area", "number", "最小面积（m²）", minimum=0, maximum=1000),
    Param("max_rent", "integer", "最高月租金（分）", minimum=0, maximum=100_000_000),
    CURSOR, LIMIT,
], operation_id="listUnits")
def search_units(call: Call) -> dict[str, Any]:
    p = call.params
    page = units.search(UnitSearch(
        area=p["area"], estate=p["estate"], layout=Layout(p["layout"]) if p["layout"] else None,
        status=UnitStatus(p["status"]) if p["status"] else None, min_area=p["min_area"],
        max_rent=p["max_rent"], limit=p["limit"], cursor=p["cursor"],
    ))
    return {"items": [present(u) for u in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/units/{unit_id}", summary="房源详情", response="Unit")
def get_unit(call: Call, unit_id: str) -> dict[str, Any]:
    return present(units.get(unit_id))


@api.route("/v1/units/{unit_id}/history", summary="房源状态变更记录", roles=OVERSIGHT,
           response="StatusChangePage", params=[CURSOR, LIMIT], operation_id="listUnitHistory")
def unit_history(call: Call, unit_id: str) -> dict[str, Any]:
    page = units.history(unit_id, call.params["cursor"], call.params["limit"])
    return {"items": [present_change(c) for c in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/admin/units", "POST", summary="新增房源", roles=CATALOGUE_STAFF,
           body="chalicelib.bodies:UnitIn", status=201, response="Unit")
def create_unit(call: Call) -> dict[str, Any]:
    return present(units.create(call.model(), call.actor.subject, _role(call)))


@api.route("/v1/admin/units/{unit_id}", "PATCH", summary="修改房源信息", roles=CATALOGUE_STAFF,
           body="chalicelib.bodies:UnitPatch", response="Unit")
def update_unit(call: Call, unit_id: str) -> dict[str, Any]:
    body = call.model()
    return present(units.update(unit_id, body, body.version))


@api.route("/v1/admin/units/{unit_id}/status", "POST", summary="变更房源状态（记录历史）",
           roles=CATALOGUE_STAFF, body="chalicelib.bodies:UnitStatusIn", response="Unit")
def change_unit_status(call: Call, unit_id: str) -> dict[str, Any]:
    body = call.body()
    return present(units.change_status(unit_id, UnitStatus(body["status"]), body["version"], body["reason"],
                                       call.actor.subject, _role(call)))


def _role(call: Call) -> str:
    return "admin" if call.actor.has("admin") else "staff"
