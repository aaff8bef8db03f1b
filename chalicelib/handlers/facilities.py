"""The map (estates in a box, facilities near a point) and facility writes."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

from chalicelib.domain import estates, facilities
from chalicelib.domain.facilities import TYPE_NAMES, Facility, FacilityType
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import Api, Call, Param

bp = Blueprint(__name__)
api = Api(bp, "facilities")


def present(f: Facility) -> dict[str, Any]:
    out = asdict(f)
    out.update(type=f.type.value, type_name=TYPE_NAMES[f.type])
    out.pop("created_at")
    return out


@api.route("/v1/map/estates", summary="地图：范围内的项目及空置房源数", response="MapEstates", params=[
    Param("bbox", "bbox", "minLng,minLat,maxLng,maxLat（WGS84）", required=True, label="地图范围"),
    Param("limit", "integer", "最多返回条数", minimum=1, maximum=200, default=200),
])
def map_estates(call: Call) -> dict[str, Any]:
    pins, truncated = estates.in_box(call.params["bbox"], call.params["limit"])
    return {"items": [asdict(p) for p in pins], "truncated": truncated}


@api.route("/v1/map/facilities", summary="地图：某点附近的配套设施，由近及远", response="MapFacilities", params=[
    Param("lat", "number", "纬度", required=True, minimum=-90, maximum=90),
    Param("lng", "number", "经度", required=True, minimum=-180, maximum=180),
    Param("radius", "integer", "半径（米）", minimum=1, maximum=5000, default=1000),
    Param("type", "enum", "设施类型", choices=tuple(t.value for t in FacilityType)),
    Param("limit", "integer", "最多返回条数", minimum=1, maximum=200, default=50),
])
def map_facilities(call: Call) -> dict[str, Any]:
    p = call.params
    found = facilities.near(p["lat"], p["lng"], p["radius"], FacilityType(p["type"]) if p["type"] else None,
                            p["limit"])
    return {"items": [{**present(n.facility), "distance_m": n.distance_m} for n in found]}


@api.route("/v1/admin/facilities", "POST", summary="新增配套设施", roles=ADMIN,
           body="chalicelib.bodies:FacilityIn", status=201, response="Facility")
def create_facility(call: Call) -> dict[str, Any]:
    return present(facilities.create(call.model()))


@api.route("/v1/admin/facilities/{facility_id}", "PATCH", summary="修改配套设施", roles=ADMIN,
           body="chalicelib.bodies:FacilityPatch", response="Facility")
def update_facility(call: Call, facility_id: str) -> dict[str, Any]:
    body = call.model()
    return present(facilities.update(facility_id, body, body.version))
