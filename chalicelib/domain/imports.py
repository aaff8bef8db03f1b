"""Imports (数据导入, issue 14 §1, docs/decisions/0036): a city going live brings the estates, buildings,
units, tenants and their active leases it keeps in the national public rental housing information
system (全国公租房信息系统), from that system's export, with nothing typed by hand.

An admin creates an import (its kind and format) and gets a presigned POST for the file (the
``imports/`` prefix of the document bucket: never the citizens' uploads prefix, whose worker checks
photos). A dry run comes first: the file is split into chunks (streamed; a household's rows never
cut), each chunk read, checked and compared with what is stored, and the report written (rows read,
created, updated, unchanged, refused; each refused row with its column, code and zh-CN message),
nothing else. The real run works through the same chunks and writes. Both run on the imports
queue, one message per chunk, so no Lambda runs long whatever the file's size.

Idempotent: each record stores the hash of the rows it came from; an equal hash writes nothing, a
different one updates the record by the national system's id, and nothing is ever deleted. A
chunk's writes are transactions of at most 100 items (a unit with the counters it moves; a household
with its members, its lease and its unit), each recorded once on the chunk's progress item.

Imported tenants are households awaiting real-name registration: their lease has no owner until the
person registers and is verified (domain/real_name.py); ``claim`` then gives them the household
(already claimed by the binding, by the ID number's keyed hash), the lease and its bills.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Callable, Iterator

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import import_plans as plans
from chalicelib.domain import import_rows as rows_
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import ImportIn
    from chalicelib.domain.households import Person


class ImportStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"  # created: the file is POSTed to S3 with the form
    DRY_RUNNING = "dry_running"  # checking every row, writing nothing but the report
    DRY_RUN_DONE = "dry_run_done"  # the report is ready: read it, then apply
    APPLYING = "applying"  # the real run: writing
    APPLIED = "applied"  # done (refused rows are in the report)
    FAILED = "failed"  # the file could not be read, or a chunk gave up: the reason is kept; run again


class Phase(StrEnum):
    DRY_RUN = "dry_run"
    APPLY = "apply"


AWAITING, DRY_RUNNING, DRY_RUN_DONE = ImportStatus.AWAITING_UPLOAD, ImportStatus.DRY_RUNNING, ImportStatus.DRY_RUN_DONE
APPLYING, APPLIED, FAILED = ImportStatus.APPLYING, ImportStatus.APPLIED, ImportStatus.FAILED
STATUS_NAMES = {AWAITING: "待上传", DRY_RUNNING: "试运行中", DRY_RUN_DONE: "试运行完成", APPLYING: "导入中",
                APPLIED: "已导入", FAILED: "失败"}
IMPORTS: Lifecycle[ImportStatus] = Lifecycle(
    "import", AWAITING,
    {AWAITING: {DRY_RUNNING}, DRY_RUNNING: {DRY_RUN_DONE, FAILED}, DRY_RUN_DONE: {DRY_RUNNING, APPLYING},
     APPLYING: {APPLIED, FAILED}, APPLIED: set(), FAILED: {DRY_RUNNING, APPLYING}},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({AWAITING}), frozenset({APPLYING}), errors.ImportDryRunRequired, "import_id"),
              Refusal(frozenset({DRY_RUNNING, APPLYING}), frozenset({DRY_RUNNING, APPLYING}), errors.ImportRunning,
                      "import_id"),
              Refusal(frozenset({APPLIED}), frozenset({DRY_RUNNING, APPLYING}), errors.ImportAlreadyApplied,
                      "import_id")])
FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
#: Rows a chunk takes (one queue message; a household's rows are never cut, so a chunk may be larger).
CHUNK_ROWS = 1000
#: The split sends the chunks' messages this many at a time, as it writes them (the first are checked
#: while it reads on).
SEND_EVERY = 10
#: Refused rows shown in the progress answer (all are in the downloadable report).
PREVIEW = 20
REPORT_HEADER = ["行号", "列", "错误代码", "说明"]
REPORT_TYPE = "text/csv"


@dataclass(frozen=True)
class Progress:
    """One phase's counts: rows read, and what their records became."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    chunks: int | None = None  # known once the file is split
    chunks_done: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    report_key: str | None = None
    run: str | None = None  # each start of the phase is a new run


@dataclass(frozen=True)
class Import:
    import_id: str
    kind: str
    fmt: str
    file_name: str | None
    status: ImportStatus
    created_by: str
    created_at: str
    updated_at: str
    reason: str | None = None
    phases: dict[Phase, Progress] = field(default_factory=dict)


# --- keys of the file, its chunks and reports (the document bucket, ``imports/`` prefix) ------------
PREFIX = "imports/"


def source_key(imp: Import) -> str:
    return f"{PREFIX}{imp.import_id}/source.{imp.fmt}"


def chunk_key(import_id: str, n: int) -> str:
    return f"{PREFIX}{import_id}/chunks/{n:06d}.jsonl"


def reads_key(import_id: str, n: int) -> str:
    """What the dry run read for a chunk's groups (the real run plans from it)."""
    return f"{PREFIX}{import_id}/chunks/{n:06d}.reads.json"


def errors_key(import_id: str, phase: Phase, part: str) -> str:
    return f"{PREFIX}{import_id}/{phase.value}/errors/{part}.csv"


def report_key(import_id: str, phase: Phase) -> str:
    return f"{PREFIX}{import_id}/{phase.value}/report.csv"


@cache
def mapping(city: str) -> Any:
    """The city's column mapping (``imports.json``, validated by its model in city_files.py)."""
    from chalicelib.city_files import city_file

    return city_file(city, "imports.json")


def columns(kind: str) -> dict[str, str]:
    spec = mapping(deps().settings.city_code).kinds.get(kind)
    if spec is None:
        raise errors.InvalidInput(f"no mapping for {kind}", field="kind", message="本市的导入格式未定义该类数据")
    return dict(spec.columns)


def labels(kind: str) -> dict[str, str]:
    """Our field -> the export's Chinese column header (what the report names)."""
    return {f: h for h, f in columns(kind).items()}


# --- the admin's side ------------------------------------------------------------------------------
def create(actor: Actor, body: ImportIn) -> tuple[Import, dict[str, Any]]:
    columns(body.kind)  # a kind the city has no mapping for is a 400 now, not a failed job later
    at = now_iso()
    imp = Import(new_id("imp"), body.kind, body.format, body.file_name, AWAITING, actor.subject, at, at)
    deps().imports.create(imp)
    return imp, deps().imports.upload_form(source_key(imp), FORMATS[imp.fmt])


def get(import_id: str) -> Import:
    return deps().imports.get(import_id)


def page(cursor: str | None, limit: int) -> Any:
    return deps().imports.page(cursor, limit)


def start(actor: Actor, import_id: str, phase: Phase) -> Import:
    """The dry run (any time after the upload; again after a new upload) or the real run (after a
    finished dry run). The header is checked now for a CSV: a wrong file is a 400 at once."""
    repo = deps().imports
    imp = repo.get(import_id)
    target = DRY_RUNNING if phase is Phase.DRY_RUN else APPLYING
    if phase is Phase.APPLY and imp.status is FAILED and (imp.phases.get(Phase.DRY_RUN) or Progress()).finished_at is None:
        raise errors.ImportDryRunRequired(field="import_id")
    if phase is Phase.APPLY and imp.status is DRY_RUNNING:
        raise errors.ImportRunning(field="import_id")
    IMPORTS.move(imp.status, target)
    if not repo.exists(source_key(imp)):
        raise errors.ImportNotUploaded(field="import_id")
    if phase is Phase.DRY_RUN and imp.fmt == "csv":
        with repo.open(source_key(imp)) as stream:
            next(rows_.rows(stream, "csv", imp.kind, columns(imp.kind)), None)
    chunks = (imp.phases.get(Phase.DRY_RUN) or Progress()).chunks if phase is Phase.APPLY else None
    started = repo.begin(imp, target, phase, chunks, now_iso())
    repo.send([{"step": "split" if phase is Phase.DRY_RUN else "fan", "import_id": import_id, "phase": phase.value}])
    return started


def report_link(import_id: str) -> tuple[Import, Phase, dict[str, Any]]:
    """A short-lived link to the latest finished run's report (CSV, UTF-8 with BOM for Excel): row
    numbers, columns, codes and messages, no personal data (never a value of the row); the route is
    the admin's."""
    imp = get(import_id)
    for phase in (Phase.APPLY, Phase.DRY_RUN):
        progress = imp.phases.get(phase)
        if progress is not None and progress.report_key:
            return imp, phase, deps().storage.presigned_get(progress.report_key, REPORT_TYPE)
    raise errors.ImportReportNotReady(field="import_id")


def preview(imp: Import) -> list[dict[str, Any]]:
    """The first refused rows of the latest finished run's report."""
    for phase in (Phase.APPLY, Phase.DRY_RUN):
        progress = imp.phases.get(phase)
        if progress is not None and progress.report_key:
            return deps().imports.report_head(progress.report_key, PREVIEW)
    return []


# --- the worker's side (the imports queue: handlers/workers.py run_imports) --------------------------
def process(message: dict[str, Any], time_left: Callable[[], int] | None = None) -> str:
    step, import_id, phase = message["step"], message["import_id"], Phase(message["phase"])
    if step == "split":
        return split(import_id)
    if step == "fan":
        return fan(import_id, phase)
    return chunk(import_id, phase, int(message["chunk"]))


def give_up(message: dict[str, Any], reason: str) -> None:
    """A message failed its last delivery: the import fails with the reason (run it again)."""
    imp = deps().imports.get(message["import_id"])
    if imp.status in (DRY_RUNNING, APPLYING):
        deps().imports.settle(imp, FAILED, now_iso(), reason[:500])


def split(import_id: str) -> str:
    """Stream the file once: rows refused for their shape (bad row, encoding, an id seen before in the
    file) go to the report; the others into chunks of ~CHUNK_ROWS rows (a household whole), each an S3
    object with its message (sent SEND_EVERY at a time, as the split goes on); the number of chunks
    last, so the run finishes only once it is known."""
    repo = deps().imports
    imp = repo.get(import_id)
    if imp.status is not DRY_RUNNING:
        return "not running"
    refused: list[rows_.RowError] = []
    chunks, read, sent = 0, 0, 0

    def send_up_to(end: int) -> int:  # the chunks written so far are checked while the split goes on
        repo.send([{"step": "chunk", "import_id": import_id, "phase": Phase.DRY_RUN.value, "chunk": k}
                   for k in range(sent, end)])
        return end
    try:
        with repo.open(source_key(imp)) as stream:
            for n, lines in enumerate(_chunks(rows_.rows(stream, imp.fmt, imp.kind, columns(imp.kind)), imp.kind,
                                              refused)):
                repo.put_text(chunk_key(import_id, n), "\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
                chunks, read = n + 1, read + len(lines)
                if chunks - sent >= SEND_EVERY:
                    sent = send_up_to(chunks)
    except (errors.ImportBadHeader, errors.ImportUnreadable) as exc:
        repo.settle(imp, FAILED, now_iso(), exc.message or exc.detail)  # chunks sent already find it failed
        return "failed"
    repo.put_text(errors_key(import_id, Phase.DRY_RUN, "split"), _csv(refused))
    repo.split_done(import_id, Phase.DRY_RUN, chunks, len(refused))
    send_up_to(chunks)
    _maybe_finish(import_id, Phase.DRY_RUN)  # the chunks may all be done before their number is known
    return f"{chunks} chunks, {read + len(refused)} rows"


def _identity(kind: str, values: dict[str, str]) -> list[str]:
    """The national ids a row claims (each may appear once in a file)."""
    if kind == "buildings":
        return [f"b|{values.get('estate_national_id', '').lower()}|{values.get('building_id', '').lower()}"]
    if kind == "tenants":
        out = [f"p|{values.get('id_number', '').strip().upper()}"]
        if values.get("lease_national_id"):
            out.append(f"l|{values['lease_national_id'].lower()}")
        return out
    return [f"n|{values.get('national_id', '').lower()}"]


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _chunks(source: Iterator[tuple[int, Any]], kind: str, refused: list[rows_.RowError]) -> Iterator[list[Any]]:
    """Rows into chunks. Seen ids are kept as 8-byte digests (a million rows: a few tens of MB), the
    rows themselves never: a chunk is written before the next is read."""
    seen: set[int] = set()
    households: set[int] = set()
    chunk: list[Any] = []
    household: list[tuple[int, dict[str, str]]] = []
    label = labels(kind)

    def admit(batch: list[tuple[int, dict[str, str]]]) -> None:
        keys = [_digest(k) for _, v in batch for k in _identity(kind, v) if not k.endswith("|")]
        dup = len(set(keys)) != len(keys) or any(k in seen for k in keys)
        if kind == "tenants" and batch:
            hh = _digest(batch[0][1].get("household_national_id", "").lower())
            dup = dup or hh in households
            households.add(hh)
        if dup:
            column = label.get("id_number" if kind == "tenants" else "national_id", "")
            refused.extend(rows_.RowError(n, column, "IMPORT_DUPLICATE_ID", rows_.CODES["IMPORT_DUPLICATE_ID"])
                           for n, _ in batch)
            return
        seen.update(keys)
        chunk.extend([n, v] for n, v in batch)

    for n, values in source:
        if isinstance(values, rows_.RowError):
            refused.append(values)
            continue
        if kind == "tenants":
            if household and values.get("household_national_id") != household[0][1].get("household_national_id"):
                admit(household)
                household = []
            household.append((n, values))
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
            continue
        admit([(n, values)])
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    admit(household)
    if chunk:
        yield chunk


def fan(import_id: str, phase: Phase) -> str:
    """The real run: one message per chunk the dry run made."""
    imp = deps().imports.get(import_id)
    chunks = (imp.phases.get(Phase.DRY_RUN) or Progress()).chunks or 0
    split_refused = len(deps().imports.get_text(errors_key(import_id, Phase.DRY_RUN, "split")).splitlines())
    deps().imports.split_done(import_id, phase, chunks, split_refused)  # the rows the split refused count again
    deps().imports.send([{"step": "chunk", "import_id": import_id, "phase": phase.value, "chunk": n}
                         for n in range(chunks)])
    if chunks == 0:
        _maybe_finish(import_id, phase)
    return f"{chunks} chunks"


def chunk(import_id: str, phase: Phase, n: int) -> str:
    """A chunk's rows parsed, compared and (the real run) written, group by group, each group once."""
    repo = deps().imports
    imp = repo.get(import_id)
    if imp.status not in (DRY_RUNNING, APPLYING):
        return "not running"
    run = (imp.phases.get(phase) or Progress()).run or ""
    split = (imp.phases.get(Phase.DRY_RUN) or Progress()).run or ""  # the run that cut the chunks
    state = repo.chunk_state(import_id, phase, run, split, n)
    if state.done:
        return "done already"
    lines = [json.loads(x) for x in repo.get_text(chunk_key(import_id, n)).splitlines() if x]
    label = labels(imp.kind)
    tables = dict(mapping(deps().settings.city_code).values)
    entries, refused = plans.parse(imp.kind, [(int(r), v) for r, v in lines], label, tables)
    local = plans.Outcome(refused_rows=len(refused), errors=list(refused))
    stored: dict[str, dict[str, Any]] = {}
    at = now_iso()
    # the real run plans from what the dry run read (its conditions catch a record changed since; a
    # buildings import's groups each change the estate they read, so it reads afresh)
    saved = repo.reads(reads_key(import_id, n)) if phase is Phase.APPLY and imp.kind != "buildings" else {}
    reads: dict[str, Any] = {}
    for g, group in enumerate(plans.groups(entries)):
        before = dict(stored) if str(g) in saved else None  # to plan again, should what the dry run read be stale
        outcome = _plan(imp, group, stored, saved.get(str(g)), reads, g, at)
        if phase is Phase.APPLY and g in state.groups:
            local.errors += outcome.errors
            continue  # written by an earlier delivery: its counts are on the chunk already
        if phase is Phase.APPLY and outcome.ops:
            try:
                repo.write_group(imp, split, n, g, _objects(imp, outcome.ops), outcome)
            except errors.StaleVersion:
                if before is None:
                    raise
                stored.clear()
                stored.update(before)  # planned from what the dry run read: plan again from what is stored now
                outcome = _plan(imp, group, stored, None, reads, g, at)
                if outcome.ops:
                    repo.write_group(imp, split, n, g, _objects(imp, outcome.ops), outcome)
            local.errors += outcome.errors
            if outcome.ops:
                continue
        local.errors += outcome.errors
        local.created += outcome.created
        local.updated += outcome.updated
        local.unchanged += outcome.unchanged
        local.refused_rows += outcome.refused_rows
    if phase is Phase.DRY_RUN:
        repo.put_text(reads_key(import_id, n), json.dumps(reads, ensure_ascii=False, separators=(",", ":"),
                                                            default=_listed))
    repo.put_text(errors_key(import_id, phase, f"{n:06d}"), _csv(local.errors))
    repo.finish_chunk(import_id, phase, run, split, n, len(lines), local)
    _maybe_finish(import_id, phase)
    return f"chunk {n}: {len(lines)} rows"


def _plan(imp: Import, group: list[plans.Entry], stored: dict[str, dict[str, Any]], saved: dict[str, Any] | None,
          reads: dict[str, Any], g: int, at: str) -> plans.Outcome:
    """The group's plan: from what the dry run read (``saved``), else from what is read now (kept in
    ``reads`` for the real run). A plan from what the dry run read that refuses a row is made again
    from what is stored now: a refusal writes nothing, so no condition would catch that it is stale."""
    repo, label = deps().imports, labels(imp.kind)
    before = dict(stored) if saved is not None else None
    found = saved if saved is not None else repo.read(imp.kind, group, stored)
    reads[str(g)] = found
    stored.update(found)
    outcome = plans.plan(imp.kind, group, stored, label, at)
    if before is not None and outcome.refused_rows:
        stored.clear()
        stored.update(before)
        return _plan(imp, group, stored, None, reads, g, at)
    return outcome


def _listed(value: Any) -> Any:
    """What JSON has no type for in a stored record: a set, as a sorted list."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(type(value).__name__)


def _objects(imp: Import, ops: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The domain objects the repository writes (an estate with its nearby facilities, a unit, a
    household with its lease)."""
    from chalicelib.domain.estates import Estate
    from chalicelib.domain.units import Layout, Unit, UnitStatus

    out: list[tuple[str, Any]] = []
    for kind, d in ops:
        if kind == "new_estate":
            estate = Estate(estate_id=d["estate_id"], name=d["name"], area_id=d["area_id"], street_id=d["street_id"],
                            address=d["address"], lat=d["lat"], lng=d["lng"], description=d["description"],
                            manager=d["manager"], created_at=d["at"], updated_at=d["at"])
            out.append((kind, (replace(estate, nearby=deps().facilities.nearest(estate.lat, estate.lng)), d)))
        elif kind in ("new_unit", "unit_change"):
            unit = Unit(unit_id=d["unit_id"], estate_id=d["estate_id"], building_id=d["building_id"],
                        area_id=d["area_id"], street_id=d["street_id"], number=d["number"], layout=Layout(d["layout"]),
                        floor_area=d["floor_area"], floor=d["floor"], rent=d["rent"], status=UnitStatus(d["status"]),
                        orientation=d["orientation"], created_at=d["at"], updated_at=d["at"])
            out.append((kind, (unit, d)))
        elif kind in ("new_household", "household_change"):
            lease = plans.lease_of(d, d["at"], imp.import_id) if d["lease"] else None
            out.append((kind, (lease, d)))
        else:
            out.append((kind, (None, d)))
    return out


def _maybe_finish(import_id: str, phase: Phase) -> None:
    """When every chunk of the phase is done: the report (the parts joined), and the status, once."""
    repo = deps().imports
    imp = repo.get(import_id)
    progress = imp.phases.get(phase)
    running = DRY_RUNNING if phase is Phase.DRY_RUN else APPLYING
    if progress is None or progress.chunks is None or progress.chunks_done < progress.chunks or imp.status is not running:
        return
    key = report_key(import_id, phase)
    repo.join_report(key, REPORT_HEADER, errors_key(import_id, Phase.DRY_RUN, "split"), [errors_key(import_id, phase, f"{n:06d}") for n in range(progress.chunks)])
    repo.settle(imp, DRY_RUN_DONE if phase is Phase.DRY_RUN else APPLIED, now_iso(), None, phase=phase, report=key)


def _csv(found: list[rows_.RowError]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for e in found:
        writer.writerow(e.as_list())
    return out.getvalue()


# --- claiming (real-name registration) ------------------------------------------------------------------
def claim(person: Person) -> int:
    """After the binding (domain/real_name.py): the imported household the person heads is theirs by
    then (claimed by the ID number's keyed hash); its leases and their bills become theirs too. Safe to
    run again (each write is conditional on having no owner yet). The number of leases claimed."""
    if not person.household_id or not person.person_key:
        return 0
    return deps().imports.claim(person.household_id, person.person_key, person.subject)
