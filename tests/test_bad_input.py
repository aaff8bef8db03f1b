"""Every endpoint answers bad input with a clear 4xx (status, stable code, zh-CN message)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import body, post

pytestmark = pytest.mark.usefixtures("catalogue")


def _error(r: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.body)
    err = body(r)["error"]
    assert err["code"] == code
    assert err["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])  # zh-CN for citizens
    if field:
        assert err.get("field") == field
    return err


@pytest.mark.parametrize("path,field", [
    ("/v1/units?limit=0", "limit"),
    ("/v1/units?limit=101", "limit"),
    ("/v1/units?limit=abc", "limit"),
    ("/v1/units?limit=1e3", "limit"),
    ("/v1/units?max_rent=-1", "max_rent"),
    ("/v1/units?max_rent=12.5", "max_rent"),
    ("/v1/units?min_area=nan", "min_area"),
    ("/v1/units?min_area=inf", "min_area"),
    ("/v1/units?layout=castle", "layout"),
    ("/v1/units?status=sold", "status"),
    ("/v1/units?area=PENG JIANG", "area"),
    ("/v1/units?area=" + "a" * 200, "area"),
    ("/v1/units?colour=red", "colour"),
    ("/v1/estates?street=../../etc", "street"),
    ("/v1/map/estates", "bbox"),
    ("/v1/map/estates?bbox=1,2,3", "bbox"),
    ("/v1/map/estates?bbox=a,b,c,d", "bbox"),
    ("/v1/map/estates?bbox=113.2,22.5,113.0,22.7", "bbox"),  # inverted longitude
    ("/v1/map/estates?bbox=113.0,22.7,113.2,22.5", "bbox"),  # inverted latitude
    ("/v1/map/estates?bbox=-74.1,40.6,-73.8,40.9", "bbox"),  # New York, not China
    ("/v1/map/estates?bbox=113.0,22.5,113.2,22.7&limit=500", "limit"),
    ("/v1/map/facilities?lat=22.6", "lng"),
    ("/v1/map/facilities?lat=22.6&lng=113.07&radius=50000", "radius"),
    ("/v1/map/facilities?lat=22.6&lng=113.07&type=castle", "type"),
    ("/v1/map/facilities?lat=48.85&lng=2.35", "lat,lng"),  # Paris
    ("/v1/map/facilities?lat=95&lng=113", "lat"),
    ("/v1/policies?category=gossip", "category"),
    ("/v1/policies?q=" + "长" * 51, "q"),
])
def test_malformed_query_is_400_naming_the_field(client: Any, path: str, field: str) -> None:
    _error(client.http.get(path), 400, "INVALID_PARAMETER", field)


@pytest.mark.parametrize("cursor", ["not-base64!!", "eyJrIjp7fX0", "e30", "W10"])
def test_forged_cursor_is_400(client: Any, cursor: str) -> None:
    _error(client.http.get(f"/v1/units?cursor={cursor}"), 400, "INVALID_CURSOR", "cursor")


def test_cursor_from_another_query_is_400(client: Any) -> None:
    cursor = body(client.http.get("/v1/units?status=vacant&limit=1"))["next_cursor"]
    assert cursor
    _error(client.http.get(f"/v1/units?status=leased&cursor={cursor}"), 400, "INVALID_CURSOR")
    _error(client.http.get(f"/v1/estates?cursor={cursor}"), 400, "INVALID_CURSOR")


@pytest.mark.parametrize("path,code", [
    ("/v1/units/nowhere.b1.101", "UNIT_NOT_FOUND"),
    ("/v1/estates/nowhere", "ESTATE_NOT_FOUND"),
    ("/v1/policies/pol_0000000000000000", "POLICY_NOT_FOUND"),
    ("/v1/units?estate=nowhere", "ESTATE_NOT_FOUND"),
    ("/v1/estates?area=nowhere", "AREA_NOT_FOUND"),
    ("/v1/estates?street=nowhere", "STREET_NOT_FOUND"),
])
def test_unknown_ids_are_404(client: Any, path: str, code: str) -> None:
    _error(client.http.get(path), 404, code)


def test_malformed_path_id_is_400(client: Any) -> None:
    _error(client.http.get("/v1/units/" + "x" * 300), 400, "INVALID_PARAMETER", "unit_id")
    _error(client.http.get("/v1/estates/%E7%A6%8F"), 400, "INVALID_PARAMETER", "estate_id")


def test_body_that_is_not_json(client: Any, tokens: Any) -> None:
    _error(post(client, "/v1/admin/policies", "{not json", tokens.headers("admin")), 400, "INVALID_JSON")
    _error(post(client, "/v1/admin/policies", "[1, 2]", tokens.headers("admin")), 400, "INVALID_JSON")
    _error(post(client, "/v1/admin/policies", b"\xff\xfe", tokens.headers("admin")), 400, "INVALID_JSON")


def test_body_over_one_megabyte_is_413(client: Any, tokens: Any) -> None:
    big = json.dumps({"title": "大文件", "body": "字" * 400_000, "category": "notice"})
    assert len(big.encode()) > 1_048_576
    _error(post(client, "/v1/admin/policies", big, tokens.headers("admin")), 413, "BODY_TOO_LARGE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(client: Any, tokens: Any, content_type: str) -> None:
    headers = tokens.headers("admin")
    headers["Content-Type"] = content_type
    r = client.http.post("/v1/admin/policies", headers=headers,
                         body=json.dumps({"title": "t", "body": "b", "category": "notice"}))
    _error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("payload,field", [
    ({"body": "b", "category": "notice"}, "title"),
    ({"title": "t", "body": "b", "category": "gossip"}, "category"),
    ({"title": "t", "body": "b", "category": "notice", "sneaky": 1}, "sneaky"),
    ({"title": "", "body": "b", "category": "notice"}, "title"),
    ({"title": "t", "body": "b", "category": "notice", "attachments": [{"name": "a", "url": "ftp://x"}]},
     "attachments.0.url"),
])
def test_invalid_policy_body_is_400_naming_the_field(client: Any, tokens: Any, payload: dict, field: str) -> None:
    _error(post(client, "/v1/admin/policies", payload, tokens.headers("admin")), 400, "INVALID_PARAMETER", field)


@pytest.mark.parametrize("payload,field", [
    ({"layout": "2b1l", "floor_area": 50, "floor": 3, "rent": 50000}, "estate_id"),
    ({"estate_id": "fuzeyuan", "building_id": "b1", "number": "9/9", "layout": "2b1l", "floor_area": 50,
      "floor": 3, "rent": 50000}, "number"),
    ({"estate_id": "fuzeyuan", "building_id": "b1", "number": "901", "layout": "2b1l", "floor_area": 5000,
      "floor": 3, "rent": 50000}, "floor_area"),
    ({"estate_id": "fuzeyuan", "building_id": "b1", "number": "901", "layout": "2b1l", "floor_area": 50,
      "floor": 3, "rent": -5}, "rent"),
    ({"estate_id": "fuzeyuan", "building_id": "b1", "number": "901", "layout": "2b1l", "floor_area": 50,
      "floor": 3, "rent": 50000, "status": "leased"}, "status"),
])
def test_invalid_unit_body_is_400(client: Any, tokens: Any, payload: dict, field: str) -> None:
    _error(post(client, "/v1/admin/units", payload, tokens.headers("admin")), 400, "INVALID_PARAMETER", field)


def test_estate_outside_china_or_with_bad_phone_is_400(client: Any, tokens: Any) -> None:
    base = {"estate_id": "newyork", "name": "纽约", "area_id": "pengjiang", "street_id": "baisha",
            "address": "x", "lat": 40.7, "lng": -74.0}
    _error(post(client, "/v1/admin/estates", base, tokens.headers("admin")), 400, "INVALID_PARAMETER", "lng")
    bad_phone = {**base, "estate_id": "ok", "lat": 22.6, "lng": 113.07,
                 "manager": {"company": "物业", "phone": "12345"}}
    _error(post(client, "/v1/admin/estates", bad_phone, tokens.headers("admin")), 400, "INVALID_PARAMETER",
           "manager.phone")


def test_refused_writes_leave_nothing_behind(client: Any, tokens: Any) -> None:
    before = body(client.http.get("/v1/areas"))
    estate_before = body(client.http.get("/v1/estates/fuzeyuan"))
    h = tokens.headers("admin")
    dup = {"estate_id": "fuzeyuan", "building_id": "b1", "number": "100", "layout": "1b1l", "floor_area": 40,
           "floor": 1, "rent": 30000}
    for _ in range(3):  # repeated writes of an existing unit
        _error(post(client, "/v1/admin/units", dup, h), 409, "ALREADY_EXISTS")
    _error(post(client, "/v1/admin/units", {**dup, "estate_id": "nowhere", "number": "777"}, h), 404,
           "ESTATE_NOT_FOUND")
    assert body(client.http.get("/v1/areas")) == before
    after = body(client.http.get("/v1/estates/fuzeyuan"))
    assert (after["units_total"], after["unit_mix"]) == (estate_before["units_total"], estate_before["unit_mix"])
    assert client.http.get("/v1/units/nowhere.b1.777").status_code == 404


def test_unexpected_error_is_500_with_request_id_and_no_internals(client: Any, monkeypatch: Any) -> None:
    from chalicelib.domain import units

    def broken(unit_id: str) -> Any:
        raise RuntimeError("secret internals: table jiangmen-units at 10.0.0.1")

    monkeypatch.setattr(units, "get", broken)
    r = client.http.get("/v1/units/fuzeyuan.b1.100")
    err = _error(r, 500, "INTERNAL_ERROR")
    assert err["request_id"] == r.headers["X-Request-Id"]
    assert "secret" not in r.body.decode()


def test_absurdly_nested_json_is_400_not_500(client: Any) -> None:
    payload = '{"kind": "individual", "answers": ' + "[" * 5000 + "]" * 5000 + "}"
    r = client.http.post("/v1/self-assessment", headers={"Content-Type": "application/json"}, body=payload)
    assert r.status_code == 400 and json.loads(r.body)["error"]["code"] == "INVALID_JSON"
