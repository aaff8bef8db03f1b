"""Exports (数据导出, issue 14 §1, docs/decisions/0036 "Export"): what we hold, written back in the
national public rental housing information system's columns for reporting upward: the city's
``imports.json`` mapping read backwards (our field -> its column header, our value -> the first
national value the city's table maps to it; money in yuan, national codes upper case), so that
importing the exported file changes nothing (tests/test_exports.py).

An admin starts an export of estates, buildings, units or tenants (households with their members and
their active lease; ID numbers and names in clear) with a reason: audited before anything is read. The
job rides the imports queue (messages ``{"step": "export"}``) in parts: each message writes one part
(up to ``PART_ROWS`` rows, or less when the invocation's time runs short) under the private
``exports/`` prefix of the document bucket, keyed by its number, and queues the next part with its
cursor; estates and units page their ``by_city`` indexes, tenants one segment each of a parallel Scan
of the households table (an export reads every household by definition). When every segment is done
the parts are joined into one file (a multipart upload). The job's status is ``exports/{id}/job.json``,
each segment's progress (parts, rows, cursor) beside it: GET shows the rows written while it runs and
a short-lived link when it is done. Nothing of the rows is logged.
"""
from __future__ import annotations

import csv
import io
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
    segments: int = 1  # the streams read in parallel (tenants: the households Scan's segments)


def job_key(export_id: str) -> str:
    return f"{PREFIX}{export_id}/job.json"


def file_key(export: Export) -> str:
    return f"{PREFIX}{export.export_id}/{export.kind}.csv"


def segment_key(export_id: str, segment: int) -> str:
    """A segment's progress: parts written, rows in them, the cursor the next part starts from, done."""
    return f"{PREFIX}{export_id}/segments/{segment:02d}.json"


def part_key(export_id: str, segment: int, part: int) -> str:
    """A part's rows (no header): keyed by its number, so writing it again replaces it."""
    return f"{PREFIX}{export_id}/parts/{segment:02d}-{part:06d}.csv"


def sent_key(export_id: str, segment: int, part: int) -> str:
    """Written once the message of this part is queued."""
    return f"{PREFIX}{export_id}/sent/{segment:02d}-{part:06d}"


def _save(export: Export) -> Export:
    deps().exports.put_json(job_key(export.export_id), asdict(export))
    return export


def _load(export_id: str) -> Export:
    data = None
    if export_id.startswith("exp_") and export_id[4:].isalnum():
        data = deps().exports.get_json(job_key(export_id))
    if data is None:
        raise errors.ExportNotFound(field="export_id")
    return Export(**{**data, "status": ExportStatus(data["status"])})


def _state(export_id: str, segment: int) -> dict[str, Any]:
    return deps().exports.get_json(segment_key(export_id, segment)) or {"parts": 0, "rows": 0, "cursor": None,
                                                                         "done": False}


def get(export_id: str) -> Export:
    """The job; while it runs, the rows written so far (the segments' parts, summed)."""
    export = _load(export_id)
    if export.status is RUNNING:
        export = replace(export, rows=sum(int(_state(export_id, s)["rows"]) for s in range(export.segments)))
    return export


def start(actor: Actor, body: ExportIn) -> Export:
    """Audited first (no reason, no export), then queued: one message per segment (its first part)."""
    from chalicelib.domain import audit

    _reverse(body.kind)  # a kind the city cannot export is a 400 now
    at = now_iso()
    export = Export(new_id("exp"), body.kind, QUEUED, actor.subject, at, at,
                    segments=SEGMENTS if body.kind == "tenants" else 1)
    audit.record(actor, f"export:{export.export_id}", f"export_{body.kind}", body.reason)
    _save(export)
    deps().imports.send([_message(export.export_id, s, 0, None) for s in range(export.segments)])
    return export


def link(export: Export) -> dict[str, Any] | None:
    # audited at start (audit.record with the admin's reason); the route is the admin's
    return deps().storage.presigned_get(file_key(export), FILE_TYPE) if export.status is DONE else None


def _message(export_id: str, segment: int, part: int, cursor: Any) -> dict[str, Any]:
    return {"step": "export", "export_id": export_id, "segment": segment, "part": part, "cursor": cursor}


def process(message: dict[str, Any], time_left: Callable[[], int] | None = None) -> str:
    """The worker's step: one part of one segment. From the cursor, pages of records become rows until
    the part holds ``PART_ROWS`` or the invocation has less than ``MARGIN_MS`` left; the part is written
    (keyed by its number), then the segment's progress, then the next part's message (with its cursor),
    or, the segment done, the join when every segment is. A re-delivered message finds its part done
    and only re-sends what may have been lost (the next message, or the join): no row twice."""
    export_id, s, p = message["export_id"], int(message.get("segment", 0)), int(message.get("part", 0))
    export = _load(export_id)
    if export.status in (DONE, FAILED):
        return export.status.value
    if export.status is QUEUED:
        EXPORTS.move(export.status, RUNNING)
        export = _save(replace(export, status=RUNNING, updated_at=now_iso()))
    state = _state(export_id, s)
    if state["parts"] > p:
        if state["done"]:
            _finish(export)
        elif state["parts"] == p + 1 and deps().exports.get_json(sent_key(export_id, s, p + 1)) is None:
            _send_next(export_id, s, state)  # the last delivery stopped before it sent the next part
        return f"part {s}/{p} written already"
    if state["parts"] < p:
        return f"part {s}/{p} ahead of its segment"
    left = time_left or (lambda: 1 << 30)
    header, tables = _reverse(export.kind)
    fields = list(header)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cursor, written = message.get("cursor"), 0
    while True:
        records, cursor = _page(export.kind, s, export.segments, cursor)
        for values in records:
            writer.writerow([tables.get(f, {}).get(values.get(f, ""), values.get(f, "")) for f in fields])
            written += 1
        if cursor is None or written >= PART_ROWS or left() < MARGIN_MS:
            break
    deps().exports.put_text(part_key(export_id, s, p), out.getvalue())
    if int(_state(export_id, s)["parts"]) > p:  # a duplicate delivery finished this part meanwhile
        return f"part {s}/{p} written already"
    state = {"parts": p + 1, "rows": int(state["rows"]) + written, "cursor": cursor, "done": cursor is None}
    deps().exports.put_json(segment_key(export_id, s), state)
    if cursor is None:
        _finish(export)
    else:
        _send_next(export_id, s, state)
    return f"part {s}/{p}: {written} rows"


def _send_next(export_id: str, segment: int, state: dict[str, Any]) -> None:
    """The segment's next part queued, then marked sent (a re-delivery sends it again only if not: one
    chain of messages per segment, not two)."""
    deps().imports.send([_message(export_id, segment, int(state["parts"]), state["cursor"])])
    deps().exports.put_json(sent_key(export_id, segment, int(state["parts"])), {})


def _finish(export: Export) -> None:
    """Every segment done: the header and the parts in order joined into the file, and the job done. Two
    segments finishing at once may both join: the same parts make the same file."""
    states = [_state(export.export_id, s) for s in range(export.segments)]
    if not all(st["done"] for st in states):
        return
    header, _ = _reverse(export.kind)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(list(header.values()))
    parts = [part_key(export.export_id, s, p) for s, st in enumerate(states) for p in range(int(st["parts"]))]
    deps().exports.join(file_key(export), "\ufeff" + out.getvalue(), parts, FILE_TYPE)
    EXPORTS.move(export.status, DONE)
    _save(replace(export, status=DONE, rows=sum(int(st["rows"]) for st in states), updated_at=now_iso()))


def give_up(message: dict[str, Any], reason: str) -> None:
    export = _load(message["export_id"])
    if export.status in (QUEUED, RUNNING):
        _save(replace(export, status=FAILED, reason=reason[:500], updated_at=now_iso()))


KINDS = ("estates", "buildings", "units", "tenants")
#: Records one query or scan page reads.
PAGE = 100
#: The most rows one part (one message) holds (a page may take it a little over); tests set it small.
PART_ROWS = 20_000
#: A part ends early when the invocation has less time left than this (ms): a part of ``PART_ROWS`` takes
#: seconds, so on AWS (900 s) the time left is the last part's join's; the local pump's 30 s end parts early.
MARGIN_MS = 20_000
#: The households table's parallel Scan segments (a tenants export): each a chain of parts of its own.
SEGMENTS = 4


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


def _estate(e: Any) -> dict[str, str]:
    manager = e.manager or {}
    return {"national_id": e.estate_id.upper(), "name": e.name, "area_id": e.area_id, "street_id": e.street_id,
            "address": e.address, "lng": _number(e.lng), "lat": _number(e.lat), "description": e.description or "",
            "manager_company": manager.get("company") or "", "manager_phone": manager.get("phone") or ""}


def _buildings(e: Any) -> Iterator[dict[str, str]]:
    for b in e.buildings:
        yield {"estate_national_id": e.estate_id.upper(), "building_id": str(b["building_id"]).upper(),
               "name": str(b.get("name") or ""), "floors": _number(b.get("floors")),
               "elevator": "true" if b.get("elevator") else "false"}


def _unit(u: Any) -> dict[str, str]:
    return {"national_id": u.unit_id.upper(), "estate_national_id": u.estate_id.upper(),
            "building_id": u.building_id.upper(), "number": u.number, "layout": u.layout.value,
            "floor_area": f"{u.floor_area:.2f}", "floor": str(u.floor), "rent": _yuan(u.rent),
            "orientation": u.orientation or "", "status": u.status.value}


def _page(kind: str, segment: int, segments: int, cursor: Any) -> tuple[list[dict[str, str]], Any]:
    """One page of the kind's records as our fields' values written the national system's way, and the
    cursor to go on from (None: the segment ends): estates and buildings page the estates' ``by_city``
    index, units the units' ``by_city``; tenants one segment of the households' parallel Scan."""
    if kind == "tenants":
        households, next_key = deps().exports.households(segment, segments, cursor, PAGE)
        return _tenants(households), next_key
    if kind == "units":
        from chalicelib.domain.units import UnitSearch

        page = deps().units.search(UnitSearch(limit=PAGE, cursor=cursor))
        return [_unit(u) for u in page.items], page.next_cursor
    page = deps().estates.list(None, None, cursor, PAGE)
    if kind == "estates":
        return [_estate(e) for e in page.items], page.next_cursor
    return [b for e in page.items for b in _buildings(e)], page.next_cursor


# --- tenants: households with their members and their active lease ----------------------------------
def _tenants(households: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per member (the household's rows consecutive, as the import reads them), the active
    lease on the tenant's own row. A household is exported when the national system gave it (imported)
    or it holds an active lease (a tenant housed through the app); an applicant still waiting is not a
    tenant. The leases: those an import gave the household (one BatchGetItem for the page) and, once
    someone owns it, theirs (one Query each)."""
    held = deps().exports.leases([x for h in households for x in h["leases"]])
    by_id = {lease.lease_id: lease for lease in held}
    out: list[dict[str, str]] = []
    for h in households:
        leases = [by_id[x] for x in h["leases"] if x in by_id]
        if h["owner"]:
            leases += deps().leases.of_owner(h["owner"])
        lease = _active(leases)
        imported = h["import_hash"] is not None or h["household_id"].startswith(IMPORTED)
        if lease is None and not imported:
            continue
        out += _members(h, lease)
    return out


#: An imported household's id: ``hhi_`` and the national system's 家庭编码 (lower case); a lease's ``lsi_``.
IMPORTED, IMPORTED_LEASE = "hhi_", "lsi_"


def _active(leases: list[Any]) -> Any:
    """The confirmed lease not yet renewed (a renewal's successor replaces it), the latest started."""
    from chalicelib.domain.leases import CONFIRMED

    live = [x for x in leases if x.status == CONFIRMED and not x.renewed_by]
    return max(live, key=lambda x: (x.start_date, x.lease_id), default=None)


def _members(h: dict[str, Any], lease: Any) -> list[dict[str, str]]:
    household = h["household_id"].removeprefix(IMPORTED).upper()
    rows = []
    for m in h["members"]:
        row = {"household_national_id": household, "relation": str(m["relation"]), "name": str(m["name"]),
               "id_number": str(m["id_number"]), "mobile": "", "monthly_income": _yuan(int(m.get("monthly_income") or 0)),
               "hukou": str(m.get("hukou") or "local")}
        if lease is not None and m["relation"] == "self":
            row.update(lease_national_id=lease.lease_id.removeprefix(IMPORTED_LEASE).upper(),
                       unit_national_id=lease.unit_id.upper(), monthly_rent=_yuan(lease.monthly_rent),
                       deposit=_yuan(lease.deposit), start_date=lease.start_date, end_date=lease.end_date)
        rows.append(row)
    return rows
