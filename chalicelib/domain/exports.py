"""Exports (数据导出, issue 14 §1, docs/decisions/0036 "Export"): what we hold, written back in the
national public rental housing information system's columns for reporting upward: the city's
``imports.json`` mapping read backwards (our field -> its column header, our value -> the first
national value the city's table maps to it; money in yuan, national codes upper case), so that
importing the exported file changes nothing (tests/test_exports.py).

An admin starts an export (its kind and a reason: the file holds what the national system holds,
ID numbers in clear once tenants are exported, so it is audited); a job on the imports queue (a message
``{"step": "export"}`` of its own) pages the city-wide indexes (estates ``by_city``, units ``by_city``;
never a Scan), writes the CSV under the private ``exports/`` prefix of the document bucket and keeps
the job's status and rows written in ``exports/{id}/job.json``; GET answers a short-lived link when it
is done. Re-running a message rewrites the same file. Tenants are not exported yet: households have no
city-wide index (see the decision note).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Iterator

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import imports
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.lifecycle import Lifecycle
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import ExportIn


class ExportStatus(StrEnum):
    QUEUED = "queued"  # created, waiting for the worker
    RUNNING = "running"  # writing rows
    DONE = "done"  # the file is ready: GET answers the link
    FAILED = "failed"  # the reason is kept; start a new export


QUEUED, RUNNING, DONE, FAILED = ExportStatus.QUEUED, ExportStatus.RUNNING, ExportStatus.DONE, ExportStatus.FAILED
STATUS_NAMES = {QUEUED: "排队中", RUNNING: "导出中", DONE: "已完成", FAILED: "失败"}
EXPORTS: Lifecycle[ExportStatus] = Lifecycle(
    "export", QUEUED, {QUEUED: {RUNNING, FAILED}, RUNNING: {RUNNING, DONE, FAILED}, DONE: set(), FAILED: set()},
    names=STATUS_NAMES)
PREFIX = "exports/"
FILE_TYPE = "text/csv"


@dataclass(frozen=True)
class Export:
    export_id: str
    kind: str
    status: ExportStatus
    created_by: str
    created_at: str
    updated_at: str
    rows: int = 0
    reason: str | None = None  # why it failed (the admin's reason is in the audit trail)


def job_key(export_id: str) -> str:
    return f"{PREFIX}{export_id}/job.json"


def file_key(export: Export) -> str:
    return f"{PREFIX}{export.export_id}/{export.kind}.csv"


def _save(export: Export) -> Export:
    deps().imports.put_text(job_key(export.export_id), json.dumps(asdict(export), ensure_ascii=False))
    return export


def get(export_id: str) -> Export:
    repo = deps().imports
    if not export_id.startswith("exp_") or not export_id[4:].isalnum() or not repo.exists(job_key(export_id)):
        raise errors.ExportNotFound(field="export_id")
    data = json.loads(repo.get_text(job_key(export_id)))
    return Export(**{**data, "status": ExportStatus(data["status"])})


def start(actor: Actor, body: ExportIn) -> Export:
    """Audited first (no reason, no export), then queued."""
    from chalicelib.domain import audit

    _reverse(body.kind)  # a kind the city cannot export is a 400 now
    at = now_iso()
    export = Export(new_id("exp"), body.kind, QUEUED, actor.subject, at, at)
    audit.record(actor, f"export:{export.export_id}", f"export_{body.kind}", body.reason)
    _save(export)
    deps().imports.send([{"step": "export", "export_id": export.export_id}])
    return export


def link(export: Export) -> dict[str, Any] | None:
    # audited at start (audit.record with the admin's reason); the route is the admin's
    return deps().storage.presigned_get(file_key(export), FILE_TYPE) if export.status is DONE else None


def run(export_id: str, time_left: Callable[[], int] | None = None) -> str:
    """The worker's step: page the kind's index, write the file, count the rows (kept every page)."""
    export = get(export_id)
    if export.status is DONE:
        return "done"
    EXPORTS.move(export.status, RUNNING)
    export = _save(replace(export, status=RUNNING, rows=0, updated_at=now_iso()))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    written = 0
    for n, row in enumerate(rows(export.kind)):
        writer.writerow(row)
        written = n
        if n and n % PAGE == 0:
            export = _save(replace(export, rows=n, updated_at=now_iso()))
    deps().imports.put_text(file_key(export), "\ufeff" + out.getvalue())
    _save(replace(export, status=DONE, rows=written, updated_at=now_iso()))
    return f"{written} rows"


def give_up(export_id: str, reason: str) -> None:
    export = get(export_id)
    if export.status in (QUEUED, RUNNING):
        _save(replace(export, status=FAILED, reason=reason[:500], updated_at=now_iso()))

KINDS = ("estates", "buildings", "units")
PAGE = 100


def _reverse(kind: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Our field -> the column header; per field, our value -> the national value (the first listed)."""
    if kind not in KINDS:
        raise errors.InvalidInput(f"cannot export {kind}", field="kind", message="暂不支持导出该类数据")
    header = imports.labels(kind)
    tables: dict[str, dict[str, str]] = {}
    for f, table in imports.mapping(deps().settings.city_code).values.items():
        for national, ours in table.items():
            tables.setdefault(f, {}).setdefault(ours, national)
    return header, tables


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _number(x: float | int | None) -> str:
    return "" if x is None else (str(int(x)) if float(x).is_integer() else repr(float(x)))


def _estates() -> Iterator[Any]:
    cursor: str | None = None
    while True:
        page = deps().estates.list(None, None, cursor, PAGE)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def _units() -> Iterator[Any]:
    from chalicelib.domain.units import UnitSearch

    cursor: str | None = None
    while True:
        page = deps().units.search(UnitSearch(limit=PAGE, cursor=cursor))
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def records(kind: str) -> Iterator[dict[str, str]]:
    """Our fields' values as the national system writes them, record by record."""
    if kind == "estates":
        for e in _estates():
            manager = e.manager or {}
            yield {"national_id": e.estate_id.upper(), "name": e.name, "area_id": e.area_id, "street_id": e.street_id,
                   "address": e.address, "lng": _number(e.lng), "lat": _number(e.lat),
                   "description": e.description or "", "manager_company": manager.get("company") or "",
                   "manager_phone": manager.get("phone") or ""}
    elif kind == "buildings":
        for e in _estates():
            for b in e.buildings:
                yield {"estate_national_id": e.estate_id.upper(), "building_id": str(b["building_id"]).upper(),
                       "name": str(b.get("name") or ""), "floors": _number(b.get("floors")),
                       "elevator": "true" if b.get("elevator") else "false"}
    else:
        for u in _units():
            yield {"national_id": u.unit_id.upper(), "estate_national_id": u.estate_id.upper(),
                   "building_id": u.building_id.upper(), "number": u.number, "layout": u.layout.value,
                   "floor_area": f"{u.floor_area:.2f}", "floor": str(u.floor), "rent": _yuan(u.rent),
                   "orientation": u.orientation or "", "status": u.status.value}


def rows(kind: str) -> Iterator[list[str]]:
    """The header, then one row per record, in the city's column order."""
    header, tables = _reverse(kind)
    fields = list(header)
    yield [header[f] for f in fields]
    for values in records(kind):
        yield [tables.get(f, {}).get(values.get(f, ""), values.get(f, "")) for f in fields]


def csv_text(kind: str) -> str:
    """The whole file (UTF-8 with BOM, as the reports are, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows(kind):
        writer.writerow(row)
    return "\ufeff" + out.getvalue()
