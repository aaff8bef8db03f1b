"""Estates (项目/小区): list by area and street, detail with buildings, unit mix and nearby."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

from chalicelib.domain import estates
from chalicelib.domain.estates import Estate
from chalicelib.domain.units import LAYOUT_NAMES, Layout
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import CURSOR, ID_PATTERN, LIMIT, Api, Call, Param

bp = Blueprint(__name__)
api = Api(bp, "estates")


def present(e: Estate) -> dict[str, Any]:
    out = asdict(e)
    out["unit_mix"] = {
        layout: {"layout_name": LAYOUT_NAMES[Layout(layout)], **counts}
        for layout, counts in e.unit_mix.items()
        if counts.get("total")
    }
    out.pop("created_at")
    return out


@api.route("/v1/estates", summary="项目（小区）列表，可按片区、街道筛选", response="EstatePage", params=[
    Param("area", description="片区 ID", pattern=ID_PATTERN),
    Param("street", description="街道 ID", pattern=ID_PATTERN),
    CURSOR, LIMIT,
])
def list_estates(call: Call) -> dict[str, Any]:
    p = call.params
    page = estates.list_estates(p["area"], p["street"], p["cursor"], p["limit"])
    return {"items": [present(e) for e in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/estates/{estate_id}", summary="项目详情：楼栋、户型、周边配套、物业联系方式", response="Estate")
def get_estate(call: Call, estate_id: str) -> dict[str, Any]:
    return present(estates.get(estate_id))


@api.route("/v1/admin/estates", "POST", summary="新建项目", roles=ADMIN,
           body="chalicelib.bodies:EstateIn", status=201, response="Estate")
def create_estate(call: Call) -> dict[str, Any]:
    return present(estates.create(call.model()))


@api.route("/v1/admin/estates/{estate_id}", "PATCH", summary="修改项目信息", roles=ADMIN,
           body="chalicelib.bodies:EstatePatch", response="Estate")
def update_estate(call: Call, estate_id: str) -> dict[str, Any]:
    body = call.model()
    return present(estates.update(estate_id, body, body.version))


@api.route("/v1/admin/estates/{estate_id}/buildings/{building_id}", "PUT", summary="新增或修改楼栋",
           roles=ADMIN, body="chalicelib.bodies:BuildingIn", response="Estate")
def put_building(call: Call, estate_id: str, building_id: str) -> dict[str, Any]:
    body = call.body()
    version = body.pop("version")
    return present(estates.put_building(estate_id, {"building_id": building_id, **body}, version))
