"""selection_double_allocations: 1,000 households all invited at once choose among 100 units from
32 threads (many aimed at the same unit); the value is the number of double allocations (units with
more than one lease, households with more than one). Target 0, and exactly 100 leases.

The round's state is built directly through the repositories (not the lottery's HTTP flow). Each
choice goes through the domain (``selection.choose``: the same code the route runs).

moto's DynamoDB alone does not serialise requests (two conditional writes handled at the same
moment could both pass their condition, which DynamoDB never allows); the local stack runs moto's
item operations one at a time (devstack/moto_speed.py), so the figure is about our code.
"""
from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from bench.common import Result

UNITS, HOUSEHOLDS, THREADS = 100, 1000, 32


def _world(stack: Any, tag: str) -> tuple[str, list[str], list[Any]]:
    """An estate with 100 vacant 1b1l units, an application per household (qualified), and a round
    in selection with every household invited in one open slot."""
    from chalicelib.deps import deps
    from chalicelib.bodies import AreaIn, EstateIn, StreetIn, UnitIn
    from chalicelib.domain import areas, estates, lottery, selection, units
    from chalicelib.domain.application_status import S
    from chalicelib.domain.application_types import Application
    from chalicelib.domain.common import CHINA_TZ, now, now_iso
    from chalicelib.identity import Actor, Role
    from chalicelib.repositories.applications import record_of
    from chalicelib.repositories.tables import ApplicationRecord

    stack.reset()
    areas.create_area(AreaIn.model_validate({"area_id": "pengjiang", "name": "蓬江片区", "district": "蓬江区"}))
    areas.create_street("pengjiang", StreetIn.model_validate({"street_id": "baisha", "name": "白沙街道"}))
    manager = {"company": "江门市安居物业管理有限公司", "contact": "李经理", "phone": "0750-3123456"}
    e = estates.create(EstateIn.model_validate({"estate_id": "fuzeyuan", "name": "福泽园", "area_id": "pengjiang",
                                                "street_id": "baisha", "address": "福泽路1号", "lat": 22.601,
                                                "lng": 113.071, "manager": manager}))
    estates.put_building("fuzeyuan", {"building_id": "b1", "name": "1栋", "floors": 30}, e.version)
    unit_ids = [units.create(UnitIn.model_validate({"estate_id": "fuzeyuan", "building_id": "b1",
                                                    "number": f"{1000 + i}", "layout": "1b1l", "floor_area": 45.5,
                                                    "floor": 1 + i // 10, "rent": 45000}, strict=False),
                             "bench", "admin").unit_id for i in range(UNITS)]
    at = now_iso()
    with ApplicationRecord.batch_write() as batch:
        apps = []
        for i in range(HOUSEHOLDS):
            member = {"member_id": "m1", "relation": "self", "name": f"测试{i}", "id_number": f"44070319900101{i:04d}",
                      "person_key": f"pk{tag}{i}", "adult": True}
            app = Application(f"app_{tag}{i:05d}", "individual", S.QUALIFIED, f"pk{tag}{i}", f"sub-{tag}-{i}", None,
                              [member], created_at=at, updated_at=at)
            apps.append(app)
            batch.save(record_of(app))
    round_id = f"rnd_bench{tag}"
    registrants = [lottery.Registrant(round_id, f"R{i + 1:06d}", a.application_id, a.owner, a.owner_key, 1,
                                      "general", i + 1, f"测*{i}", "4407**********0000", ["1b1l"])
                   for i, a in enumerate(apps)]
    starts = now().astimezone(CHINA_TZ)
    meta = selection.Meta(round_id, selection.FIRST, selection._iso(starts), 60, HOUSEHOLDS, 1,
                          selection._iso(starts + timedelta(minutes=60)), created_at=at, updated_at=at)
    deps().selection.create_meta(meta)
    deps().selection.put_households(selection.households_for(meta, registrants))
    actors = [Actor(a.owner or "", frozenset({Role.APPLICANT}), None, {}) for a in apps]
    return round_id, unit_ids, actors


def _run(stack: Any, tag: str) -> dict[str, Any]:
    from types import SimpleNamespace

    from chalicelib import errors
    from chalicelib.deps import deps
    from chalicelib.domain import lottery, selection

    round_id, unit_ids, actors = _world(stack, tag)
    fake_round = SimpleNamespace(round_id=round_id, unit_ids=unit_ids, status="selection", title="bench", version=2)
    real_get_round = lottery.get_round
    lottery.get_round = lambda rid: fake_round if rid == round_id else real_get_round(rid)  # type: ignore[assignment]
    rng = random.Random(7)
    hot = unit_ids[:10]
    # many aim at the same units (60% first try one of ten hot units); a household told UNIT_TAKEN
    # tries a unit still free, until it holds one or none is left
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def household(actor: Any) -> None:
        target = rng.choice(hot) if rng.random() < 0.6 else rng.choice(unit_ids)
        for _ in range(20):
            try:
                selection.choose(round_id, actor, target)
                code = "ok"
            except errors.DomainError as exc:
                code = type(exc).__name__
            with lock:
                outcomes[code] = outcomes.get(code, 0) + 1
            if code != "UnitTaken":
                return  # a unit, or a refusal that another try would not change
            free = [u["unit_id"] for u in deps().selection.units(unit_ids) if u["status"] == "vacant"]
            if not free:
                return
            target = rng.choice(free)

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(household, actors))
    finally:
        lottery.get_round = real_get_round  # type: ignore[assignment]
    seconds = time.perf_counter() - started
    leases = deps().leases.of_round(round_id)
    per_unit: dict[str, int] = {}
    per_household: dict[str, int] = {}
    for lease in leases:
        per_unit[lease.unit_id] = per_unit.get(lease.unit_id, 0) + 1
        per_household[lease.application_id] = per_household.get(lease.application_id, 0) + 1
    doubles = sum(1 for n in per_unit.values() if n > 1) + sum(1 for n in per_household.values() if n > 1)
    reserved = sum(1 for u in deps().selection.units(unit_ids) if u["status"] == "reserved")
    chosen = sum(1 for h in deps().selection.households(round_id) if h.status == "chosen")
    return {"double_allocations": doubles, "leases": len(leases), "units_reserved": reserved,
            "households_chosen": chosen, "attempts": sum(outcomes.values()), "outcomes": outcomes,
            "seconds": round(seconds, 1)}


def selection_1000_concurrent(stack: Any) -> Result:
    run = _run(stack, "a")
    ok = run["double_allocations"] == 0 and run["leases"] == UNITS and run["units_reserved"] == UNITS \
        and run["households_chosen"] == UNITS
    return Result("selection_1000_concurrent_double_allocations", run["double_allocations"], "double allocations",
                  "0 (exactly 100 leases)", ok, {**run, "units": UNITS, "households": HOUSEHOLDS, "threads": THREADS})
