"""DynamoDB requests per public catalogue request, on a small city seeded through the domain services.

Every public read route is called through chalice.test.Client (the app's own routing, validation and
middleware), with many filter combinations and cursor pages; every DynamoDB call the process makes is
counted by wrapping botocore's ``BaseClient._make_api_call`` (which PynamoDB's own session goes through).
"""
from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any
from urllib.parse import quote

from bench.common import DynamoRecorder, Result

AREAS = [("pengjiang", "蓬江片区", "蓬江区", ["baisha", "huanshi", "chaolian"]),
         ("jianghai", "江海片区", "江海区", ["waihai", "lihai"]),
         ("xinhui", "新会片区", "新会区", ["huicheng", "daze"])]
LAYOUTS = ["studio", "1b1l", "2b1l", "2b2l", "3b1l", "3b2l"]
FACILITY_TYPES = ["bus_stop", "metro_station", "school", "kindergarten", "supermarket", "market", "hospital",
                  "clinic", "park"]


def seed_city() -> dict[str, Any]:
    """3 areas, 8 streets, 16 estates of 2 buildings, 48 units in every status, 36 facilities on both
    sides of a 0.1° band line, 14 policies (published, withdrawn, draft). Kept small because every
    unit write costs ~0.3 s here (see the detail's note on repositories/common.py)."""
    from chalicelib.bodies import AreaIn, EstateIn, FacilityIn, PolicyIn, StreetIn, UnitIn
    from chalicelib.domain import areas, estates, facilities, policies, units
    from chalicelib.domain.policies import PolicyStatus
    from chalicelib.domain.units import UnitStatus

    for area_id, name, district, streets in AREAS:
        areas.create_area(AreaIn.model_validate({"area_id": area_id, "name": name, "district": district}))
        for street in streets:
            areas.create_street(area_id, StreetIn.model_validate({"street_id": street, "name": f"{street}街道"}))
    for i in range(36):  # lat 22.57..22.63: the 22.6 band line runs through the middle
        facilities.create(FacilityIn.model_validate(
            {"facility_id": f"fac-{i:02d}", "type": FACILITY_TYPES[i % 9], "name": f"设施{i}",
             "lat": round(22.57 + (i % 12) * 0.005, 4), "lng": round(113.05 + (i // 12) * 0.01, 4)}, strict=False))
    estate_ids: list[tuple[str, str, str]] = []
    n = 0
    for area_id, _, _, streets in AREAS:
        for street in streets:
            for k in range(2):
                estate_id = f"{street}-{k + 1}"
                e = estates.create(EstateIn.model_validate({
                    "estate_id": estate_id, "name": f"{street}{k + 1}号园", "area_id": area_id, "street_id": street,
                    "address": f"{street}路{k + 1}号", "lat": round(22.575 + (n % 10) * 0.005, 4),
                    "lng": round(113.045 + (n // 10) * 0.02 + k * 0.003, 4),
                    "manager": {"company": "江门市安居物业管理有限公司", "phone": "0750-3123456"}}))
                for b in ("b1", "b2"):
                    e = estates.put_building(estate_id, {"building_id": b, "name": f"{b[1]}栋", "floors": 18},
                                             e.version)
                estate_ids.append((estate_id, area_id, street))
                n += 1
    created = []
    for i in range(48):
        estate_id = estate_ids[i % len(estate_ids)][0]
        created.append(units.create(UnitIn.model_validate({
            "estate_id": estate_id, "building_id": "b1" if i % 2 else "b2", "number": f"{100 + i}",
            "layout": LAYOUTS[i % 6], "floor_area": round(30 + (i * 37) % 70 + 0.5, 2), "floor": 1 + i % 18,
            "rent": 30000 + (i * 7919) % 90000}, strict=False), "bench", "admin"))
    for j, u in enumerate(created):
        if j % 6 == 1:
            units.change_status(u.unit_id, UnitStatus.RESERVED, u.version, "配租", "bench", "admin")
        elif j % 6 == 2:
            u = units.change_status(u.unit_id, UnitStatus.RESERVED, u.version, "配租", "bench", "admin")
            units.change_status(u.unit_id, UnitStatus.LEASED, u.version, "签约", "bench", "admin")
        elif j % 12 == 3:
            units.change_status(u.unit_id, UnitStatus.UNDER_REPAIR, u.version, "维修", "bench", "admin")
    categories = ["admission", "application", "rent", "allocation", "management", "talent", "notice"]
    published = []
    for i in range(14):
        kind = "申请" if i % 2 else "管理"
        p = policies.create(PolicyIn.model_validate({"title": f"江门市公共租赁住房{kind}办法（第{i}号）",
                                                     "body": f"第{i}号文件正文：准入条件、申请流程与租金标准。",
                                                     "category": categories[i % 7],
                                                     "issuer": "江门市住房和城乡建设局",
                                                     "doc_number": f"江建〔2026〕{i}号"}, strict=False))
        if i % 7 == 6:
            continue  # stays a draft
        p = policies.change_status(p.policy_id, PolicyStatus.PUBLISHED, p.version)
        if i == 5:
            policies.change_status(p.policy_id, PolicyStatus.WITHDRAWN, p.version)
        else:
            published.append(p)
    return {"estates": estate_ids, "units": created, "policies": published}


def _first_pages(client: Any, path: str, pages: int = 3) -> list[str]:
    """The path, then the same path with each next_cursor, up to ``pages`` pages."""
    out, cursor, sep = [path], None, "&" if "?" in path else "?"
    for _ in range(pages - 1):
        r = client.http.get(out[-1])
        cursor = json.loads(r.body).get("next_cursor") if r.status_code == 200 else None
        if not cursor:
            break
        out.append(f"{path}{sep}cursor={quote(cursor)}")
    return out


def catalogue_paths(client: Any, city: dict[str, Any]) -> list[str]:
    estate_id, area_id, street = city["estates"][0]
    unit = city["units"][0]
    paths = ["/v1/health", "/v1/areas"]
    for q in ["limit=4", f"area={area_id}&limit=2", f"street={street}&limit=1",
              f"area={area_id}&street={street}&limit=1", "area=jianghai&limit=1"]:
        paths += _first_pages(client, f"/v1/estates?{q}")
    paths += [f"/v1/estates/{e}" for e, _, _ in city["estates"][:4]]
    filters = {"area": area_id, "estate": estate_id, "layout": "2b1l", "status": "vacant", "min_area": "50",
               "max_rent": "90000"}
    for r in range(len(filters) + 1):
        for combo in itertools.combinations(filters, r):
            q = "&".join(f"{k}={filters[k]}" for k in combo)
            for limit in (1, 3) if "estate" in combo else (3,):  # an estate holds 3 units here
                paths += _first_pages(client, f"/v1/units?{q + '&' if q else ''}limit={limit}")
    paths += _first_pages(client, "/v1/units?estate=huanshi-1&layout=1b1l&limit=1")
    paths += _first_pages(client, "/v1/units?area=xinhui&status=reserved&max_rent=100000&limit=2")
    paths += [f"/v1/units/{u.unit_id}" for u in city["units"][:4]] + [f"/v1/units/{unit.unit_id}"]
    paths += ["/v1/map/estates?bbox=113.0,22.5,113.2,22.7", "/v1/map/estates?bbox=113.04,22.57,113.06,22.6&limit=3",
              "/v1/map/estates?bbox=113.3,22.9,113.4,23.0"]
    for q in ["lat=22.6&lng=113.06&radius=2000", "lat=22.6&lng=113.06&radius=5000",
              "lat=22.61&lng=113.06&radius=1000&type=school", "lat=22.598&lng=113.055&radius=500&type=bus_stop",
              "lat=22.6&lng=113.06&radius=5000&limit=5"]:
        paths.append(f"/v1/map/facilities?{q}")
    nothing = "q=" + quote("不存在的词")
    for q in ["limit=4", "category=admission", "category=rent&limit=1", "q=" + quote("申请") + "&limit=3",
              "q=" + quote("租金") + "&category=application&limit=1", nothing, nothing + "&limit=2"]:
        paths += _first_pages(client, f"/v1/policies?{q}")
    paths += [f"/v1/policies/{p.policy_id}" for p in city["policies"][:3]]
    return paths


def _route_of(path: str) -> str:
    parts = path.split("?")[0].split("/")
    if len(parts) == 4 and parts[2] in ("units", "estates", "policies"):
        parts[3] = "{id}"
    return "/".join(parts)


def _shape(path: str) -> str:
    """A request's route and parameter names, e.g. /v1/units?cursor&estate&layout&limit."""
    route, _, query = path.partition("?")
    names = sorted({kv.split("=")[0] for kv in query.split("&") if kv})
    return _route_of(route) + ("?" + "&".join(names) if names else "")


def catalogue_ddb_requests_max(recorder: DynamoRecorder, city: dict[str, Any], target: int = 2) -> Result:
    from chalice.test import Client

    from app import app

    rows = []
    with Client(app) as client:
        paths = catalogue_paths(client, city)
        for path in paths:
            with recorder.window() as calls:
                r = client.http.get(path)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path} -> {r.status_code}: {r.body[:300]!r}")
            rows.append({"path": path, "requests": len(calls),
                         "operations": [c.operation + (f"({c.index})" if c.index else "") for c in calls]})
    scans = [r for r in rows if any(op.startswith("Scan") for op in r["operations"])]
    worst = max(r["requests"] for r in rows)
    worst_rows = [r for r in rows if r["requests"] == worst]
    by_route: dict[str, int] = {}
    for r in rows:
        by_route[_route_of(r["path"])] = max(by_route.get(_route_of(r["path"]), 0), r["requests"])
    return Result(
        "catalogue_ddb_requests_max", worst, "requests", f"<= {target}", worst <= target and not scans,
        {
            "requests_made": len(rows),
            "scans": len(scans),
            "scan_paths": [r["path"] for r in scans][:10],
            "worst_route": worst_rows[0],
            "all_at_worst": [r["path"] for r in worst_rows][:20],
            "max_by_route": by_route,
            "distribution": dict(sorted(Counter(r["requests"] for r in rows).items())),
            "over_target_count": sum(1 for r in rows if r["requests"] > target),
            "over_target_shapes": sorted({_shape(r["path"]) for r in rows if r["requests"] > target}),
            "over_target": [r for r in rows if r["requests"] > target][:10],
        },
    )
