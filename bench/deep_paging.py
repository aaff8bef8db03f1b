"""Items DynamoDB reads per item returned, paging deep into the unit search of a 300,000-unit city.

The city's areas, streets and estates are created through the domain services; the 300,000 units
are built as the app builds them (``to_record(Unit(...), city).serialize()``) and written straight
into the moto server's store (in this process), because 12,000 BatchWriteItem calls through moto's
HTTP server take ~8 minutes here. The app then runs unchanged through chalice.test.Client against
the moto server over HTTP; every Query response's ScannedCount is summed per request.
"""
from __future__ import annotations

import json
import random
import time
from typing import Any, Iterator
from urllib.parse import quote

from bench import moto_fast
from bench.common import DynamoRecorder, Result, at_most

AREAS = ["pengjiang", "jianghai", "xinhui", "heshan", "taishan"]
ESTATES_PER_AREA = 20
BUILDINGS, FLOORS, PER_FLOOR = 10, 30, 10  # 3,000 units an estate; 100 estates -> 300,000 units
LAYOUT_RENT = {"studio": 50_000, "1b1l": 80_000, "2b1l": 110_000, "2b2l": 130_000, "3b1l": 150_000,
               "3b2l": 180_000}  # fen a month, +-40%
LAYOUT_AREA = {"studio": 25, "1b1l": 40, "2b1l": 55, "2b2l": 65, "3b1l": 75, "3b2l": 90}
STATUSES = ["vacant", "reserved", "leased", "under_repair"]

MAIN_SEARCH = "/v1/units?area=pengjiang&status=vacant&layout=2b1l&max_rent=140000&limit=20"
MAIN_PAGES = 50
DEEP = range(41, 51)  # the pages the metric is taken on
OTHER_SEARCHES = {  # reported, no target: filters DynamoDB applies after reading
    # label: (path, pages to walk, (index, partition, sort key prefix, what the filter keeps))
    "area+min_area": ("/v1/units?area=jianghai&min_area=60&limit=20", 10,
                      ("by_area", "jianghai", "", lambda a: float(a["floor_area"]) >= 60)),
    "area+status+min_area": ("/v1/units?area=jianghai&status=vacant&min_area=60&limit=20", 10,
                             ("by_area", "jianghai", "vacant#", lambda a: float(a["floor_area"]) >= 60)),
    "estate": ("/v1/units?estate=xinhui-e03&limit=20", 10, ("by_estate", "xinhui-e03", "", lambda a: True)),
    "estate+layout": ("/v1/units?estate=xinhui-e03&layout=3b1l&limit=20", 30,
                      ("by_estate", "xinhui-e03", "", lambda a: a["layout"] == "3b1l")),
}


def seed_places() -> list[tuple[str, str, str]]:
    from chalicelib.bodies import AreaIn, EstateIn, StreetIn
    from chalicelib.domain import areas, estates

    out = []
    for a, area in enumerate(AREAS):
        areas.create_area(AreaIn.model_validate({"area_id": area, "name": f"{area}片区"}))
        for s in range(2):
            areas.create_street(area, StreetIn.model_validate({"street_id": f"{area}-s{s + 1}",
                                                               "name": f"{area}第{s + 1}街道"}))
        for k in range(ESTATES_PER_AREA):
            estate_id, street = f"{area}-e{k + 1:02d}", f"{area}-s{k % 2 + 1}"
            estates.create(EstateIn.model_validate({"estate_id": estate_id, "name": f"{estate_id}园", "area_id": area,
                                                    "street_id": street, "address": f"{street}路{k + 1}号",
                                                    "lat": 22.4 + a * 0.05 + k * 0.002,
                                                    "lng": 112.9 + a * 0.05 + k * 0.002}))
            out.append((estate_id, area, street))
    return out


def units(places: list[tuple[str, str, str]], rng: random.Random) -> Iterator[Any]:
    from chalicelib.domain.units import Layout, Unit, UnitStatus, unit_id_for

    stamp = "2026-11-01T09:00:00.000+08:00"
    layouts = list(LAYOUT_RENT)
    for estate_id, area, street in places:
        for b in range(BUILDINGS):
            building = f"b{b + 1:02d}"
            for floor in range(1, FLOORS + 1):
                for k in range(PER_FLOOR):
                    layout = layouts[(floor + k) % 6]
                    number = f"{floor:02d}{k + 1:02d}"
                    yield Unit(
                        unit_id=unit_id_for(estate_id, building, number), estate_id=estate_id, building_id=building,
                        area_id=area, street_id=street, number=number, layout=Layout(layout),
                        floor_area=round(LAYOUT_AREA[layout] * rng.uniform(0.85, 1.15), 2), floor=floor,
                        rent=int(LAYOUT_RENT[layout] * rng.uniform(0.6, 1.4)) // 100 * 100,
                        status=UnitStatus(rng.choice(STATUSES)), version=1, created_at=stamp, updated_at=stamp)


def load_units(table_name: str, region: str, places: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Serialise every unit with the app's own record code and store it in moto's backend."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from chalicelib.repositories.units import to_record

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name)
    city = "jiangmen"
    started = time.perf_counter()
    n = 0
    for unit in units(places, random.Random(20261123)):
        raw = to_record(unit, city).serialize()
        if n % 3000 == 0:  # one unit an estate through moto's full validating put
            table.put_item(raw)
        else:  # what moto's Item() does, minus its O(n^2) per-attribute size re-check
            item = Item.__new__(Item)
            item.hash_key, item.range_key = DynamoType(raw["unit_id"]), None
            attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(attrs)
            for name, value in raw.items():
                dict.__setitem__(attrs, name, DynamoType(value))
            item.attrs = attrs
            table.items[item.hash_key] = item
        n += 1
    loaded = time.perf_counter() - started
    parts = moto_fast.partition(table)
    return {"units": n, "table_items": len(table.items), "load_s": round(loaded, 1),
            "partitions": {name: len(b) for name, b in parts.buckets.items()}, "_parts": parts}


def walk(client: Any, recorder: DynamoRecorder, path: str, pages: int) -> list[dict[str, Any]]:
    """Follow next_cursor from page 1; per page: items returned, items read, requests, the cursor used."""
    out, cursor = [], None
    for page in range(1, pages + 1):
        url = path + (f"&cursor={quote(cursor)}" if cursor else "")
        with recorder.window() as calls:
            r = client.http.get(url)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url} -> {r.status_code}: {r.body[:300]!r}")
        body = json.loads(r.body)
        ops = [c.operation for c in calls]
        out.append({"page": page, "url": url, "returned": len(body["items"]),
                    "read": sum(c.scanned or 0 for c in calls if c.operation == "Query"),
                    "requests": len(calls), "scans": ops.count("Scan"), "items": body["items"], "body": r.body,
                    "dynamo": [(c.operation, c.count, c.scanned) for c in calls]})
        cursor = body["next_cursor"]
        if not cursor:
            break
    return out


def ratio(pages: list[dict[str, Any]]) -> float | None:
    returned = sum(p["returned"] for p in pages)
    return round(sum(p["read"] for p in pages) / returned, 3) if returned else None


def key_range_stats(parts: Any, index: str, partition: str, prefix: str, keep: Any) -> dict[str, Any]:
    """From the emulator's store (not through the API): how many items the whole key range holds,
    how many the filter keeps, and how many DynamoDB reads before the first kept one (index order)."""
    items = parts.buckets[index].get(("S", partition), [])
    in_range = [it for it in items if str(it.attrs["search_key"].value).startswith(prefix)]
    kept = [i for i, it in enumerate(in_range) if keep({k: v.value for k, v in it.attrs.items()})]
    return {"items_in_key_range": len(in_range), "items_kept_by_filter": len(kept),
            "items_read_before_first_match": kept[0] if kept else len(in_range),
            "ratio_to_the_end": round(len(in_range) / len(kept), 3) if kept else None}


def verify_equivalence(client: Any, recorder: DynamoRecorder, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """Re-run page 1 and the last page with moto's own full-table query: same bodies, same counts."""
    checked = []
    with moto_fast.disabled():
        for p in (pages[0], pages[-1]):
            started = time.perf_counter()
            with recorder.window() as calls:
                r = client.http.get(p["url"])
            same = r.body == p["body"] and [(c.operation, c.count, c.scanned) for c in calls] == p["dynamo"]
            checked.append({"page": p["page"], "identical": same,
                            "unaccelerated_s": round(time.perf_counter() - started, 1)})
    return {"pages": checked, "identical": all(c["identical"] for c in checked)}


def sanity(items: list[dict[str, Any]]) -> list[str]:
    problems = []
    rents = [u["rent"] for u in items]
    if rents != sorted(rents):
        problems.append("not cheapest first")
    if len({u["unit_id"] for u in items}) != len(items):
        problems.append("duplicates across pages")
    if not all(u["area_id"] == "pengjiang" and u["status"] == "vacant" and u["layout"] == "2b1l"
               and u["rent"] <= 140000 for u in items):
        problems.append("item outside the filter")
    return problems


def units_deep_page(stack: Any, recorder: DynamoRecorder, target: float = 2.0) -> list[Result]:
    from chalicelib.config import settings

    started = time.perf_counter()
    places = seed_places()
    load = load_units(settings().table("units"), settings().region, places)
    try:
        return _measure(recorder, places, load, started, target)
    finally:
        moto_fast.forget()  # moto's own query again for anything after the read-only walk


def _measure(recorder: DynamoRecorder, places: list[tuple[str, str, str]], load: dict[str, Any], started: float,
             target: float) -> list[Result]:
    from chalice.test import Client

    from app import app

    parts = load.pop("_parts")
    results = []
    with Client(app) as client:
        # the data really is there, as the app reads it
        sample = client.http.get(f"/v1/units/{places[-1][0]}.b10.3010")
        if sample.status_code != 200:
            raise RuntimeError(f"a loaded unit is not readable: {sample.status_code} {sample.body[:300]!r}")
        t = time.perf_counter()
        pages = walk(client, recorder, MAIN_SEARCH, MAIN_PAGES)
        walk_s = time.perf_counter() - t
        deep = [p for p in pages if p["page"] in DEEP]
        per_page = {p["page"]: round(p["read"] / p["returned"], 3) if p["returned"] else None for p in deep}
        worst = max((v for v in per_page.values() if v is not None), default=None)
        problems = sanity([u for p in pages for u in p["items"]])
        if len(pages) < MAIN_PAGES or any(p["returned"] == 0 for p in deep):
            problems.append(f"the walk ended at page {len(pages)}")
        equivalence = verify_equivalence(client, recorder, pages)
        scans = sum(p["scans"] for p in pages)
        ok = at_most(worst, target) and not problems and equivalence["identical"] and scans == 0
        results.append(Result(
            "units_deep_page_items_read_ratio", worst, "items read / item returned", f"<= {target}", ok,
            {
                "search": MAIN_SEARCH,
                "value_is": f"worst single page among pages {DEEP.start}-{DEEP.stop - 1}",
                "deep_pages_ratio": ratio(deep),
                "page_50_ratio": per_page.get(MAIN_PAGES),
                "whole_walk_ratio": ratio(pages),
                "pages_walked": len(pages),
                "items_returned": sum(p["returned"] for p in pages),
                "items_read": sum(p["read"] for p in pages),
                "max_requests_per_page": max(p["requests"] for p in pages),
                "scans": scans,
                "sanity_problems": problems,
                "moto_equivalence_check": equivalence,
                "walk_s": round(walk_s, 1),
                "city": {**load, "areas": len(AREAS), "estates": len(places), "layouts": 6, "statuses": 4},
                "loading": "areas/streets/estates via domain services; units serialised with "
                           "chalicelib.repositories.units.to_record(...).serialize() and stored directly in the "
                           "in-process moto server's backend; app queries go over HTTP to that server",
            },
        ))
        for label, (path, n, index_query) in OTHER_SEARCHES.items():
            t = time.perf_counter()
            other = walk(client, recorder, path, n)
            scans = sum(p["scans"] for p in other)
            results.append(Result(
                f"units_items_read_ratio[{label}]", ratio(other), "items read / item returned",
                "none (reported; ok = no Scan)", scans == 0,
                {"search": path, "pages_walked": len(other), "items_read": sum(p["read"] for p in other),
                 "items_returned": sum(p["returned"] for p in other),
                 "pages_with_no_items": sum(1 for p in other if p["returned"] == 0),
                 "max_requests_per_page": max(p["requests"] for p in other),
                 "note": "value is null when no item came back at all",
                 "whole_key_range": key_range_stats(parts, *index_query), "per_page": [
                    {"page": p["page"], "returned": p["returned"], "read": p["read"], "requests": p["requests"]}
                    for p in other], "walk_s": round(time.perf_counter() - t, 1)},
            ))
    for r in results:
        r.detail.setdefault("moto_partition_shortcut", {"served": parts.served, "fallbacks": parts.fallbacks})
    results[0].detail["phase_s"] = round(time.perf_counter() - started, 1)
    return results
