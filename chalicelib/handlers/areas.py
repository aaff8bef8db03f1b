"""Areas (片区) with their streets and vacancy counts."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

from chalicelib.domain import areas
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import Api, Call

bp = Blueprint(__name__)
api = Api(bp, "areas")


@api.route("/v1/areas", summary="片区列表（含街道与空置房源数）", response="AreaList")
def list_areas(call: Call) -> dict[str, Any]:
    return {"items": [asdict(a) for a in areas.list_areas()]}


@api.route("/v1/admin/areas", "POST", summary="新建片区", roles=ADMIN,
           body="chalicelib.bodies:AreaIn", status=201, response="Area")
def create_area(call: Call) -> dict[str, Any]:
    return asdict(areas.create_area(call.model()))


@api.route("/v1/admin/areas/{area_id}/streets", "POST", summary="新建街道", roles=ADMIN,
           body="chalicelib.bodies:StreetIn", status=201, response="Street")
def create_street(call: Call, area_id: str) -> dict[str, Any]:
    return asdict(areas.create_street(area_id, call.model()))
