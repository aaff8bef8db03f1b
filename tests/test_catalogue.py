"""The public catalogue and the admin/staff writes behind it, through the routes."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import body, post

pytestmark = pytest.mark.usefixtures("catalogue")


def _all_pages(client: Any, path: str) -> list[dict[str, Any]]:
    items, cursor, sep = [], None, "&" if "?" in path else "?"
    for _ in range(50):
        r = client.http.get(path + (f"{sep}cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.body
        page = body(r)
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("too many pages")


def test_health_and_request_id(client: Any) -> None:
    r = client.http.get("/v1/health")
    assert r.status_code == 200 and body(r) == {"status": "ok", "city": "jiangmen"}
    assert r.headers["X-Request-Id"]


def test_areas_with_streets_and_vacancy_counts(client: Any, no_scans: list[str]) -> None:
    r = client.http.get("/v1/areas")
    assert r.status_code == 200
    areas = {a["area_id"]: a for a in body(r)["items"]}
    assert set(areas) == {"pengjiang", "jianghai"}
    assert {s["street_id"] for s in areas["pengjiang"]["streets"]} == {"baisha", "huanshi"}
    vacant = _all_pages(client, "/v1/units?area=pengjiang&status=vacant&limit=5")
    assert areas["pengjiang"]["units_vacant"] == len(vacant)
    assert areas["pengjiang"]["units_total"] == 16
    assert sum(s["units_vacant"] for s in areas["pengjiang"]["streets"]) == len(vacant)
    assert no_scans.count("Query") >= 1


def test_estates_filter_by_area_and_street_and_paginate(client: Any) -> None:
    assert {e["estate_id"] for e in _all_pages(client, "/v1/estates?limit=1")} == {"fuzeyuan", "huizeyuan", "haiyuan"}
    assert {e["estate_id"] for e in _all_pages(client, "/v1/estates?area=pengjiang")} == {"fuzeyuan", "huizeyuan"}
    assert [e["estate_id"] for e in _all_pages(client, "/v1/estates?street=huanshi")] == ["huizeyuan"]
    assert [e["estate_id"] for e in _all_pages(client, "/v1/estates?area=pengjiang&street=baisha")] == ["fuzeyuan"]


def test_street_outside_area_is_400(client: Any) -> None:
    r = client.http.get("/v1/estates?area=jianghai&street=baisha")
    assert r.status_code == 400 and body(r)["error"]["field"] == "street"


def test_estate_detail(client: Any) -> None:
    r = client.http.get("/v1/estates/fuzeyuan")
    assert r.status_code == 200
    e = body(r)
    assert e["name"] == "福泽园" and e["manager"]["phone"] == "0750-3123456"
    assert e["buildings"] == [{"building_id": "b1", "name": "1栋", "floors": 18, "elevator": False}]
    assert e["unit_mix"]["1b1l"]["layout_name"] == "一房一厅" and e["units_total"] == 8
    nearby = e["nearby"]
    assert [n["facility_id"] for n in nearby][:2] == ["bus-fuze", "school-1"]
    assert nearby[0]["distance_m"] < nearby[1]["distance_m"] <= 2000
    assert all(n["distance_m"] <= 2000 for n in nearby)


def test_units_main_search_is_cheapest_first_and_filtered(client: Any) -> None:
    items = _all_pages(client, "/v1/units?area=pengjiang&status=vacant&layout=2b1l&max_rent=60000&limit=2")
    rents = [u["rent"] for u in items]
    assert rents == sorted(rents) and items
    assert all(u["area_id"] == "pengjiang" and u["status"] == "vacant" and u["layout"] == "2b1l"
               and u["rent"] <= 60000 for u in items)


@pytest.mark.parametrize("query", [
    "", "status=vacant", "layout=3b1l", "area=jianghai", "estate=huizeyuan", "estate=huizeyuan&status=reserved",
    "min_area=50", "max_rent=45000", "area=pengjiang&min_area=40&max_rent=60000", "estate=fuzeyuan&layout=1b1l",
])
def test_every_filter_combination_agrees_with_a_plain_filter(client: Any, query: str, catalogue: Any) -> None:
    from chalicelib.domain.units import get

    everything = [get(u.unit_id) for u in catalogue["units"]]
    params = dict(p.split("=") for p in query.split("&") if p)
    expected = {
        u.unit_id for u in everything
        if (not params.get("area") or u.area_id == params["area"])
        and (not params.get("estate") or u.estate_id == params["estate"])
        and (not params.get("layout") or u.layout.value == params["layout"])
        and (not params.get("status") or u.status.value == params["status"])
        and (not params.get("min_area") or u.floor_area >= float(params["min_area"]))
        and (not params.get("max_rent") or u.rent <= int(params["max_rent"]))
    }
    found = _all_pages(client, "/v1/units?" + query + ("&" if query else "") + "limit=3")
    assert [u["unit_id"] for u in found if u["unit_id"] in expected] == [u["unit_id"] for u in found]
    assert {u["unit_id"] for u in found} == expected
    assert len(found) == len(expected)  # no duplicates across pages


def test_unit_detail(client: Any, catalogue: Any) -> None:
    unit_id = catalogue["units"][1].unit_id
    u = body(client.http.get(f"/v1/units/{unit_id}"))
    assert u["unit_id"] == unit_id and u["layout_name"] == "两房一厅" and isinstance(u["rent"], int)


def test_map_estates_in_box(client: Any) -> None:
    r = client.http.get("/v1/map/estates?bbox=113.05,22.58,113.08,22.61")
    assert r.status_code == 200
    pins = body(r)
    assert {p["estate_id"] for p in pins["items"]} == {"fuzeyuan", "huizeyuan"} and pins["truncated"] is False
    assert all("units_vacant" in p for p in pins["items"])
    cut = body(client.http.get("/v1/map/estates?bbox=113.0,22.5,113.2,22.7&limit=1"))
    assert len(cut["items"]) == 1 and cut["truncated"] is True


def test_map_facilities_nearest_first(client: Any) -> None:
    r = client.http.get("/v1/map/facilities?lat=22.6010&lng=113.0710&radius=5000")
    items = body(r)["items"]
    assert [f["facility_id"] for f in items] == ["bus-fuze", "school-1", "park-far"]
    assert [f["distance_m"] for f in items] == sorted(f["distance_m"] for f in items)
    near = body(client.http.get("/v1/map/facilities?lat=22.6010&lng=113.0710&radius=300"))["items"]
    assert [f["facility_id"] for f in near] == ["bus-fuze"]
    typed = body(client.http.get("/v1/map/facilities?lat=22.6010&lng=113.0710&radius=5000&type=park"))["items"]
    assert [f["facility_id"] for f in typed] == ["park-far"]


def test_policies_public_only_published(client: Any, catalogue: Any) -> None:
    items = _all_pages(client, "/v1/policies?limit=2")
    assert len(items) == 4 and all("body" not in p for p in items)
    assert [p["published_at"] for p in items] == sorted((p["published_at"] for p in items), reverse=True)
    assert len(_all_pages(client, "/v1/policies?category=admission")) == 2
    assert [p["title"] for p in _all_pages(client, "/v1/policies?q=政策2号")] == ["江门市公租房政策2号"]
    one = body(client.http.get(f"/v1/policies/{items[0]['policy_id']}"))
    assert one["body"] and one["category_name"]
    draft = client.http.get(f"/v1/policies/{catalogue['draft'].policy_id}")
    assert draft.status_code == 404 and body(draft)["error"]["code"] == "POLICY_NOT_FOUND"


def test_policy_lifecycle(client: Any, tokens: Any) -> None:
    h = tokens.headers("admin")
    r = post(client, "/v1/admin/policies", {"title": "关于公租房年审的通知", "body": "每年一次。",
                                            "category": "management"}, h)
    assert r.status_code == 201
    p = body(r)
    assert p["status"] == "draft"
    assert client.http.get(f"/v1/policies/{p['policy_id']}").status_code == 404
    r = post(client, f"/v1/admin/policies/{p['policy_id']}/status", {"status": "published", "version": p["version"]}, h)
    assert r.status_code == 200 and body(r)["published_at"]
    assert client.http.get(f"/v1/policies/{p['policy_id']}").status_code == 200
    stale = post(client, f"/v1/admin/policies/{p['policy_id']}", {"version": p["version"], "title": "x"}, h, "PATCH")
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "STALE_VERSION"
    again = post(client, f"/v1/admin/policies/{p['policy_id']}/status",
                 {"status": "published", "version": body(r)["version"]}, h)
    assert again.status_code == 409 and body(again)["error"]["code"] == "ILLEGAL_TRANSITION"
    r = post(client, f"/v1/admin/policies/{p['policy_id']}/status", {"status": "withdrawn", "version": body(r)["version"]}, h)
    assert r.status_code == 200
    assert client.http.get(f"/v1/policies/{p['policy_id']}").status_code == 404
    withdrawn = body(client.http.get("/v1/admin/policies?status=withdrawn", headers=h))["items"]
    assert p["policy_id"] in [x["policy_id"] for x in withdrawn]


def _vacancy(client: Any) -> tuple[int, int, int]:
    estate = body(client.http.get("/v1/estates/huizeyuan"))
    area = next(a for a in body(client.http.get("/v1/areas"))["items"] if a["area_id"] == "pengjiang")
    street = next(s for s in area["streets"] if s["street_id"] == "huanshi")
    return estate["units_vacant"], area["units_vacant"], street["units_vacant"]


def test_unit_status_change_moves_counters_and_records_history(client: Any, tokens: Any, catalogue: Any) -> None:
    unit = catalogue["units"][7]  # vacant, in huizeyuan (pengjiang / huanshi)
    assert body(client.http.get(f"/v1/units/{unit.unit_id}"))["status"] == "vacant"
    before = _vacancy(client)
    h = tokens.headers("staff")
    illegal = post(client, f"/v1/admin/units/{unit.unit_id}/status", {"status": "leased", "version": unit.version}, h)
    assert illegal.status_code == 409 and body(illegal)["error"]["code"] == "ILLEGAL_TRANSITION"
    r = post(client, f"/v1/admin/units/{unit.unit_id}/status",
             {"status": "under_repair", "version": unit.version, "reason": "漏水维修"}, h)
    assert r.status_code == 200 and body(r)["status"] == "under_repair"
    assert _vacancy(client) == tuple(n - 1 for n in before)
    stale = post(client, f"/v1/admin/units/{unit.unit_id}/status", {"status": "vacant", "version": unit.version}, h)
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "STALE_VERSION"
    assert _vacancy(client) == tuple(n - 1 for n in before)  # a refused write moves nothing
    history = body(client.http.get(f"/v1/units/{unit.unit_id}/history", headers=h))["items"]
    assert [(c["from_status"], c["to_status"]) for c in history] == [(None, "vacant"), ("vacant", "under_repair")]
    assert history[-1]["reason"] == "漏水维修" and history[-1]["actor_role"] == "staff"
    search = _all_pages(client, "/v1/units?estate=huizeyuan&status=under_repair")
    assert unit.unit_id in [u["unit_id"] for u in search]


def test_admin_builds_an_estate_and_units(client: Any, tokens: Any) -> None:
    h = tokens.headers("admin")
    estate = {"estate_id": "xinyuan", "name": "馨苑", "area_id": "jianghai", "street_id": "waihai",
              "address": "外海街道1号", "lat": 22.5610, "lng": 113.1310,
              "manager": {"company": "江海物业", "phone": "0750-3888888"}}
    r = post(client, "/v1/admin/estates", estate, h)
    assert r.status_code == 201, r.body
    assert post(client, "/v1/admin/estates", estate, h).status_code == 409  # a repeated create
    assert post(client, "/v1/admin/estates", estate, tokens.headers("staff")).status_code == 403
    e = body(r)
    r = post(client, "/v1/admin/estates/xinyuan/buildings/b2", {"version": e["version"], "name": "2栋", "floors": 6}, h,
             "PUT")
    assert r.status_code == 200 and body(r)["buildings"][0]["building_id"] == "b2"
    unit = {"estate_id": "xinyuan", "building_id": "b2", "number": "301", "layout": "2b1l", "floor_area": 55.5,
            "floor": 3, "rent": 52000}
    no_building = post(client, "/v1/admin/units", {**unit, "building_id": "b9"}, h)
    assert no_building.status_code == 404 and body(no_building)["error"]["code"] == "BUILDING_NOT_FOUND"
    r = post(client, "/v1/admin/units", unit, tokens.headers("staff"))
    assert r.status_code == 201 and body(r)["unit_id"] == "xinyuan.b2.301"
    dup = post(client, "/v1/admin/units", unit, h)
    assert dup.status_code == 409 and body(dup)["error"]["code"] == "ALREADY_EXISTS"
    e = body(client.http.get("/v1/estates/xinyuan"))
    assert (e["units_total"], e["units_vacant"], e["unit_mix"]["2b1l"]["total"]) == (1, 1, 1)  # not doubled
    r = post(client, "/v1/admin/units/xinyuan.b2.301", {"version": 1, "layout": "3b1l", "rent": 60000}, h, "PATCH")
    assert r.status_code == 200 and body(r)["layout"] == "3b1l"
    mix = body(client.http.get("/v1/estates/xinyuan"))["unit_mix"]
    assert "2b1l" not in mix and mix["3b1l"]["vacant"] == 1
    moved = post(client, "/v1/admin/estates/xinyuan", {"version": e["version"], "lat": 22.6011, "lng": 113.0712},
                 h, "PATCH")
    assert moved.status_code == 200
    assert body(moved)["nearby"][0]["facility_id"] == "bus-fuze"  # nearby follows the estate


def test_new_facility_appears_near_estates(client: Any, tokens: Any) -> None:
    r = post(client, "/v1/admin/facilities", {"type": "hospital", "name": "江门市中心医院", "lat": 22.5855,
                                              "lng": 113.0605}, tokens.headers("admin"))
    assert r.status_code == 201
    nearby = body(client.http.get("/v1/estates/huizeyuan"))["nearby"]
    assert nearby[0]["name"] == "江门市中心医院" and nearby[0]["type_name"] == "医院"


def test_idempotency_key_makes_a_double_tap_create_once(client: Any, tokens: Any) -> None:
    h = tokens.headers("admin", **{"Idempotency-Key": "tap-0001-abcdef"})
    doc = {"title": "关于开展公租房年审工作的通知", "body": "请于十二月前完成年审。", "category": "notice"}
    first = post(client, "/v1/admin/policies", doc, h)
    second = post(client, "/v1/admin/policies", doc, h)
    assert first.status_code == second.status_code == 201
    assert body(first)["policy_id"] == body(second)["policy_id"]
    drafts = body(client.http.get("/v1/admin/policies?status=draft&q=年审工作", headers=h))["items"]
    assert len(drafts) == 1
    reused = post(client, "/v1/admin/policies", {**doc, "title": "另一份文件"}, h)
    assert reused.status_code == 409 and body(reused)["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    bad = post(client, "/v1/admin/policies", doc, tokens.headers("admin", **{"Idempotency-Key": "x"}))
    assert bad.status_code == 400 and body(bad)["error"]["field"] == "Idempotency-Key"
    # without a key, a repeat is a new document (ids are the server's)
    assert post(client, "/v1/admin/policies", doc, tokens.headers("admin")).status_code == 201


@pytest.mark.parametrize("path", [
    "/v1/areas", "/v1/estates", "/v1/estates?area=pengjiang", "/v1/estates?street=baisha",
    "/v1/estates?area=pengjiang&street=baisha&limit=1", "/v1/estates/fuzeyuan", "/v1/units",
    "/v1/units?estate=fuzeyuan&layout=2b1l&limit=1", "/v1/units?estate=fuzeyuan&min_area=99&limit=1",
    "/v1/units?area=pengjiang&min_area=99&limit=2", "/v1/units?area=pengjiang&status=vacant&layout=2b1l",
    "/v1/units/fuzeyuan.b1.100", "/v1/map/estates?bbox=113.0,22.5,113.2,22.7",
    "/v1/map/facilities?lat=22.60&lng=113.07&radius=5000", "/v1/policies?q=不存在的词&limit=1",
    "/v1/policies?category=rent",
])
def test_a_catalogue_request_makes_at_most_two_dynamodb_requests(client: Any, no_scans: list[str], path: str) -> None:
    no_scans.clear()
    assert client.http.get(path).status_code == 200
    assert len(no_scans) <= 2, no_scans
