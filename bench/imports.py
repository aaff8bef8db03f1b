"""Importing the national system's export into the local stack (issue 14 §1, docs/decisions/0036).

- ``import_314k_units_s``: seconds from starting the dry run of a 314,000-unit export (the ten pilot
  cities' figure; a CSV in the document bucket, as the admin's presigned POST leaves it) until the
  real run is finished: the split, every chunk checked (dry run), then every chunk written (real
  run). ``imports.start`` as the routes call it, in this process; the split and the chunks worked on
  by the local stack's queue pump (``stack.drain``, the event source mapping's part: two invocations
  at once here, up to the queue's concurrency on AWS), each in a warm runtime process of its own as
  on AWS (``processes=True``); DynamoDB, S3 and SQS being moto's server in a process of its own on
  loopback (docs/decisions/0042; its CPU per row is reported).
- ``import_write_requests_ratio``: DynamoDB write requests of the real run (PutItem, UpdateItem,
  BatchWriteItem, TransactWriteItems, DeleteItem; the job's own progress items included) / (rows /
  25). A group of up to 96 units with the counters they move is one TransactWriteItems.
- ``reimport_changes``: write requests to the data tables (everything but the imports' own progress
  items) when the same file is imported again: the content hashes match, nothing is written.
"""
from __future__ import annotations

import io
import os
import time
from contextlib import contextmanager
from typing import Any, Iterator

from bench.common import DynamoRecorder, Result

UNITS = 314_000
ESTATES = 40
TARGET_S, TARGET_RATIO = 300.0, 1.1
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
WORKERS_AT_ONCE = 2  # the imports function's invocations at once (its queue's concurrency on AWS is higher)
LAYOUTS = ("一房一厅", "两房一厅", "三房一厅", "单间")


def export_csv(n: int, estates: int = ESTATES) -> bytes:
    """``n`` units of the national system's export (jiangmen's columns), spread over ``estates``."""
    out = io.StringIO()
    out.write("房源编码,项目编码,楼栋编码,房号,户型,建筑面积（㎡）,所在楼层,月租金（元）,朝向,房源状态\r\n")
    per = -(-n // estates)
    for i in range(n):
        estate, k = divmod(i, per)
        building, room = divmod(k, 2000)
        out.write(f"BENCH-FY-{i:07d},BENCH-XM-{estate:03d},B{building + 1},{room + 100},{LAYOUTS[i % 4]},"
                  f"{40 + i % 50}.50,{1 + room % 30},{300 + i % 500}.00,南,空置\r\n")
    return out.getvalue().encode("utf-8")


def seed_estates(estates: int = ESTATES, buildings: int = 4) -> None:
    """The estates the units belong to (imported too: the estates' and buildings' exports)."""
    from chalicelib.bodies import AreaIn, StreetIn
    from chalicelib.domain import areas

    areas.create_area(AreaIn.model_validate({"area_id": "jianghai", "name": "江海片区", "district": "江海区"}))
    areas.create_street("jianghai", StreetIn.model_validate({"street_id": "lile", "name": "礼乐街道"}))
    e = io.StringIO("项目编码,项目名称,所属片区,所属街道,项目地址,经度,纬度\r\n" + "".join(
        f"BENCH-XM-{k:03d},基准园{k},江海片区,礼乐街道,江门市江海区礼乐大道{k}号,113.13,22.54\r\n" for k in range(estates)))
    b = io.StringIO("项目编码,楼栋编码,楼栋名称,总层数,有无电梯\r\n" + "".join(
        f"BENCH-XM-{k:03d},B{j + 1},{j + 1}栋,30,有\r\n" for k in range(estates) for j in range(buildings)))
    for kind, text in (("estates", e.getvalue()), ("buildings", b.getvalue())):
        run_import(None, kind, text.encode())


def run_import(stack: Any, kind: str, content: bytes,
               recorder: DynamoRecorder | None = None) -> tuple[str, dict[str, float], dict[str, list[Any]]]:
    """Create, upload (straight to the bucket, as the presigned POST does), dry run, apply: the seconds
    and the DynamoDB write requests of each run."""
    from chalicelib.deps import deps
    from chalicelib.domain import imports
    from chalicelib.identity import Actor, Role

    stack = stack or _STACK[0]
    admin = Actor("bench-admin", frozenset({Role.ADMIN}), deps().settings.city_code, {})
    imp, _ = imports.create(admin, imports_body(kind))
    deps().storage.s3.put_object(Bucket=deps().settings.document_bucket, Key=imports.source_key(imp), Body=content)
    took: dict[str, float] = {}
    writes: dict[str, list[Any]] = {}
    for phase in (imports.Phase.DRY_RUN, imports.Phase.APPLY):
        started = time.perf_counter()
        if recorder is None:
            imports.start(admin, imp.import_id, phase)
            _drain(stack)
        else:
            with recorder.window() as calls:
                imports.start(admin, imp.import_id, phase)
                _drain(stack)
                writes[phase.value] = [c for c in calls if c.operation in WRITES]
        took[phase.value] = time.perf_counter() - started
    done = imports.get(imp.import_id)
    assert done.status is imports.APPLIED, (done.status, done.reason)
    return imp.import_id, took, writes


def imports_body(kind: str) -> Any:
    from chalicelib.bodies import ImportIn

    return ImportIn(kind=kind, format="csv", file_name=f"{kind}.csv")


def _drain(stack: Any) -> None:
    for _ in range(100_000):
        counts = stack.drain(rounds=50, only=("imports",), workers=WORKERS_AT_ONCE, processes=True)
        if not counts["imports"] and not counts["failed"]:
            return
        if counts["failed"]:
            raise RuntimeError(f"import messages failed: {counts}")
    raise RuntimeError("the imports queue did not drain")


_STACK: list[Any] = []


def import_314k(outer: Any, recorder: DynamoRecorder, n: int = UNITS) -> list[Result]:
    """On a stack of its own whose moto runs in its own process (DynamoDB is a service of its own on
    AWS: here it must not share the workers' interpreter); the outer stack's settings are put back."""
    from devstack.runtimes import REPORT_CALLS
    from devstack.stack import LocalStack

    os.environ[REPORT_CALLS] = "1"  # the runtime processes report their requests to the recorders
    try:
        with LocalStack(own_process=True) as stack:
            return _import_314k(stack, recorder, n)
    finally:
        os.environ.pop(REPORT_CALLS, None)
        outer._apply_environment()


def _import_314k(stack: Any, recorder: DynamoRecorder, n: int) -> list[Result]:
    from chalicelib.deps import deps
    from chalicelib.domain import imports

    _STACK[:] = [stack]
    seed_estates()
    content = export_csv(n)
    moto_cpu = stack.server_cpu_seconds()
    started = time.perf_counter()
    import_id, took, writes = run_import(stack, "units", content, recorder)
    total = time.perf_counter() - started
    moto_cpu = stack.server_cpu_seconds() - moto_cpu
    done = imports.get(import_id).phases[imports.Phase.APPLY]
    ratio = len(writes["apply"]) / (n / 25)
    with data_writes() as changed:
        again_id, again_took, _ = run_import(stack, "units", content)
    again = imports.get(again_id).phases[imports.Phase.APPLY]
    estate = deps().estates.get("bench-xm-000")
    detail = {"rows": n, "created": done.created, "refused": done.refused, "chunks": done.chunks,
              "dry_run_s": round(took["dry_run"], 1), "apply_s": round(took["apply"], 1),
              "path": (f"imports.start as the routes call it; the local stack's queue pump, {WORKERS_AT_ONCE} "
                       "invocations at once, each in a warm runtime process of its own (devstack/runtimes.py); "
                       "moto's server in its own process on loopback"),
              "moto_cpu_s": round(moto_cpu, 1), "moto_cpu_ms_per_row": round(moto_cpu / n * 1000, 3),
              "estate_units_total": estate.units_total}
    return [
        Result("import_314k_units_s", round(total, 1), "s", f"<= {TARGET_S:g}", total <= TARGET_S, detail),
        Result("import_write_requests_ratio", round(ratio, 3), "x", f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO,
               {"write_requests_apply": len(writes["apply"]), "write_requests_dry_run": len(writes["dry_run"]),
                "rows": n}),
        Result("reimport_changes", len(changed), "writes", "0", not changed and again.unchanged == n,
               {"unchanged": again.unchanged, "created": again.created, "updated": again.updated,
                "seconds": round(sum(again_took.values()), 1)}),
    ]


@contextmanager
def data_writes() -> Iterator[list[str]]:
    """Write requests touching a table other than the imports' own (a transaction: any of its items)."""
    import botocore.client

    from devstack import runtimes

    original = botocore.client.BaseClient._make_api_call
    found: list[str] = []

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb" and operation in WRITES:
            tables = {params.get("TableName")} | set(params.get("RequestItems", {})) | {
                t for item in params.get("TransactItems", []) for t in (v.get("TableName") for v in item.values())}
            if any(t and not t.endswith("-imports") for t in tables):
                found.append(operation)
        return original(client, operation, params)

    def reported(calls: list[dict[str, Any]]) -> None:  # the runtime processes' requests
        found.extend(c["operation"] for c in calls if c["operation"] in WRITES
                     and any(not t.endswith("-imports") for t in c["tables"]))

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    runtimes.SINKS.append(reported)
    try:
        yield found
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
        runtimes.SINKS.remove(reported)
