"""A month's billing run over 50,000 active leases in the local stack (issue 11 §1, docs/decisions/0027).

- ``rent_billing_50k_s``: seconds from starting the run (``billing_runs.start``, what the admin's
  route calls) until it is finished, the shards' messages worked on by the local stack's queue pump
  (``stack.drain``, what the event source mapping does: one worker at a time here, 32 shards in
  parallel on AWS).
- ``rent_billing_write_requests_ratio``: DynamoDB write requests of the run (PutItem, UpdateItem,
  BatchWriteItem, TransactWriteItems, DeleteItem) / (bills / 25). A transaction of up to 100
  conditional puts (a page's bills: 1,000 leases are 10) is one request; the rest is the run's
  bookkeeping (its record, a progress write per page, a shard's last page with the run's totals in
  one transaction, the run's end).

The leases are seeded with the app's own record code (``lease_record``: the active shard set as a
confirmation sets it) through boto3's ``batch_writer``. moto answers a query on an index by reading
every item of the table; while the run reads the leases table it does not write, the bench hands
moto one partition at a time (bench/moto_fast.py: the same responses, checked on a shard against
moto's own query).
"""
from __future__ import annotations

import time
from typing import Any

from bench import moto_fast
from bench.common import DynamoRecorder, Result

LEASES = 50_000
TARGET_S, TARGET_RATIO = 120.0, 1.1
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def seed_leases(n: int, not_started_every: int = 50) -> dict[str, Any]:
    """``n`` confirmed leases of a year or more, one in five with the 低保 reduction (50 %), one in
    ``not_started_every`` starting later (0: none)."""
    import boto3

    from chalicelib.deps import deps
    from chalicelib.domain.common import now_iso
    from chalicelib.domain.leases import CONFIRMED, Lease
    from chalicelib.repositories.leases import lease_record

    settings = deps().settings
    table = boto3.resource("dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url) \
        .Table(settings.table("leases"))
    half = {"key": "subsistence", "percent": 50, "note": "低保、特困家庭租金减半"}
    at = now_iso()
    started = time.perf_counter()
    with table.batch_writer() as batch:
        for i in range(n):
            rent = 30000 + (i * 7919) % 40000
            reduced = i % 5 == 0
            monthly = rent // 2 if reduced else rent
            lease = Lease(
                lease_id=f"lse_bench{i:07d}", round_id="rnd_bench", application_id=f"app_bench{i:07d}",
                owner=f"sub_bench{i:07d}", owner_key=f"pk{i}", tenant_name="张*明", tenant_id_masked="4407**********1234",
                household_size=1 + i % 4, unit_id=f"unt_bench{i:07d}", estate_id=f"est{i % 40:02d}",
                estate_name="福泽园", address="福泽园路1号", building_id=f"b{i % 12}", building_name=f"{i % 12 + 1}栋",
                number=f"{100 + i % 1800}", layout="2b1l", floor_area=55.5, base_rent=rent, monthly_rent=monthly,
                reduction=half if reduced else None, deposit=monthly * 2, term_months=36,
                start_date="2025-01-01" if not not_started_every or i % not_started_every else "2026-12-16", end_date="2029-12-31", manager=None,
                landlord="江门市住房保障中心", status=CONFIRMED, created_at=at, updated_at=at)
            batch.put_item(Item=_plain(lease_record(lease).serialize()))
    return {"leases": n, "seed_s": round(time.perf_counter() - started, 1)}


def _plain(raw: dict[str, Any]) -> dict[str, Any]:
    """A record's DynamoDB JSON as the resource API's Python values."""
    from boto3.dynamodb.types import TypeDeserializer

    d = TypeDeserializer()
    return {k: d.deserialize(v) for k, v in raw.items()}


def _partition_leases() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.deps import deps

    settings = deps().settings
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region].get_table(settings.table("leases"))
    return moto_fast.partition(table)


def _check_shortcut() -> bool:
    """One shard's first page is the same with moto's own (whole-table) query."""
    from chalicelib.deps import deps

    fast = deps().leases.active_page("07", None, 1000)
    with moto_fast.disabled():
        slow = deps().leases.active_page("07", None, 1000)
    return fast == slow


def rent_billing_50k(stack: Any, recorder: DynamoRecorder) -> list[Result]:
    from chalicelib.bodies import BillingRunIn
    from chalicelib.domain import billing_runs
    from chalicelib.domain.common import now
    from chalicelib.identity import Actor, Role

    stack.reset()
    seeded = seed_leases(LEASES)
    parts = _partition_leases()
    try:
        same = _check_shortcut()
        today = now().date()
        month = f"{today.year:04d}-{today.month:02d}"
        admin = Actor(subject="sub_bench_admin", roles=frozenset({Role.ADMIN}), city=stack.city, claims={})
        with recorder.window() as calls:
            started = time.perf_counter()
            run = billing_runs.start(admin, BillingRunIn(month=month))
            drains = 0
            while billing_runs.deps().billing_runs.get(run.run_id).status == billing_runs.RUNNING:
                stack.drain(rounds=50)
                drains += 1
                if time.perf_counter() - started > 20 * TARGET_S:
                    raise TimeoutError("the run did not finish")
            elapsed = time.perf_counter() - started
            ops: dict[str, int] = {}
            for c in calls:
                ops[c.operation] = ops.get(c.operation, 0) + 1
        progress = billing_runs.get(run.run_id)
    finally:
        moto_fast.forget()
    counts = progress.counts
    writes = sum(n for op, n in ops.items() if op in WRITES)
    ratio = writes / (counts.created / 25) if counts.created else None
    detail = {
        **seeded, "month": month, "status": progress.run.status.value, "leases_seen": counts.seen,
        "bills_created": counts.created, "already_existing": counts.existing, "skipped_not_active": counts.not_active,
        "failed": counts.failed, "shards": progress.run.shards, "pages": sum(s.seq for s in progress.shards),
        "write_requests": writes, "requests_by_operation": dict(sorted(ops.items())), "drain_calls": drains,
        "moto_partition_shortcut": {"served": parts.served, "fallbacks": parts.fallbacks, "same_page_as_moto": same},
        "note": "one local worker drains the 32 shards in turn; deployed, each shard is its own Lambda invocation",
    }
    ok_run = progress.run.status == billing_runs.FINISHED and counts.created == LEASES and same
    return [
        Result("rent_billing_50k_s", round(elapsed, 1), "s", f"<= {TARGET_S:g}", ok_run and elapsed <= TARGET_S, detail),
        Result("rent_billing_write_requests_ratio", None if ratio is None else round(ratio, 3),
               "write requests / (bills / 25)", f"<= {TARGET_RATIO:g}",
               ok_run and ratio is not None and ratio <= TARGET_RATIO,
               {"write_requests": writes, "bills_created": counts.created,
                "transactions": ops.get("TransactWriteItems", 0), "updates": ops.get("UpdateItem", 0),
                "puts": ops.get("PutItem", 0)}),
    ]
