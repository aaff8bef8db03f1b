"""Imports' storage (docs/decisions/0036): the job and its progress (one item collection in the
``imports`` table), the file, its chunks and reports (the document bucket's ``imports/`` prefix), the
imports queue, the reads a chunk needs (BatchGetItem, 100 keys a request) and its writes: one
TransactWriteItems per group, with the group's progress item put in it on condition that it was not
written before (by this run or an earlier one that failed), so a redelivered chunk writes and counts
each group once; at the chunk's end the counters its groups move, each group's once (``applied``),
then the chunk's own progress in this run."""
from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.imports import Import, ImportStatus, Phase, Progress
from chalicelib.repositories.common import plain, transact
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import (
    AreaRecord, BillRecord, EstateRecord, HouseholdRecord, ImportRecord, LeaseRecord, ReviewRecord, UnitRecord)

if TYPE_CHECKING:
    from chalicelib.domain.import_plans import Entry, Outcome

R = ImportRecord
JOB = "import"


@dataclass(frozen=True)
class ChunkState:
    done: bool
    groups: frozenset[int]


class ImportRepository:
    def __init__(self, settings: Settings, *, storage: Any) -> None:
        """``storage`` gives the document storage (its S3 client and bucket)."""
        self.settings = settings
        self._storage = storage

    # --- the job ------------------------------------------------------------------------------------
    def create(self, imp: Import) -> None:
        R(imp.import_id, JOB, kind=imp.kind, fmt=imp.fmt, file_name=imp.file_name, status=imp.status.value,
          created_by=imp.created_by, created_at=imp.created_at, updated_at=imp.updated_at, list_key=JOB,
          created_sort=f"{imp.created_at}#{imp.import_id}").save(condition=R.import_id.does_not_exist())

    def get(self, import_id: str) -> Import:
        items = list(R.query(import_id, consistent_read=True))  # the job and its phases
        job = next((r for r in items if r.item == JOB), None)
        if job is None:
            raise errors.ImportNotFound(import_id, field="import_id")
        phases = {Phase(r.item[2:]): _progress(r) for r in items if r.item.startswith("p#")}
        return _import(job, phases)

    def page(self, cursor: str | None, limit: int) -> Page[Import]:
        records, next_cursor = query_page(R.by_created, JOB, key_names=("import_id", "item", "list_key", "created_sort"),
                                          scope="imports", limit=limit, cursor=cursor, forward=False)
        return Page([_import(r, {}) for r in records], next_cursor)

    def begin(self, imp: Import, target: ImportStatus, phase: Phase, chunks: int | None, at: str) -> Import:
        """The status moved (on condition: unchanged since read) and the phase's counts started afresh,
        under a new run (a chunk's progress is the run's: a second dry run counts every chunk again)."""
        import secrets

        fresh = R(imp.import_id, f"p#{phase.value}", rows_read=0, created=0, updated=0, unchanged=0, refused=0,
                  chunks=chunks, chunks_done=0, started_at=at, run=secrets.token_hex(6))
        ok = transact(self.settings, lambda tx: (
            tx.update(R(imp.import_id, JOB), actions=[R.status.set(target.value), R.updated_at.set(at), R.reason.remove()],
                      condition=R.status == imp.status.value),
            tx.save(fresh)))
        if not ok:
            raise errors.ImportRunning(field="import_id")
        return self.get(imp.import_id)

    def settle(self, imp: Import, status: ImportStatus, at: str, reason: str | None, *, phase: Phase | None = None,
               report: str | None = None) -> None:
        """The phase's end (or the import's failure), once: only while the status is still ``imp``'s."""
        actions = [R.status.set(status.value), R.updated_at.set(at)]
        if reason:
            actions.append(R.reason.set(reason))

        def build(tx: Any) -> None:
            tx.update(R(imp.import_id, JOB), actions=actions, condition=R.status == imp.status.value)
            if phase is not None:
                tx.update(R(imp.import_id, f"p#{phase.value}"), actions=[R.finished_at.set(at), R.report_key.set(report)])
        transact(self.settings, build)

    def split_done(self, import_id: str, phase: Phase, chunks: int, refused: int) -> None:
        R(import_id, f"p#{phase.value}").update(actions=[
            R.chunks.set(chunks), R.rows_read.add(refused), R.refused.add(refused)])

    def chunk_state(self, import_id: str, phase: Phase, run: str, split: str, n: int) -> ChunkState:
        """Whether the chunk is done in this run, and (the real run) which of its groups are written:
        by this run or an earlier one that failed, whose writes are kept."""
        try:
            done = bool(R.get(_chunk(import_id, n), f"c#{phase.value}#{run}", consistent_read=True).done)
        except R.DoesNotExist:
            done = False
        groups = self._groups(import_id, split, n) if phase is Phase.APPLY else []
        return ChunkState(done, frozenset(int(r.item.rsplit("#", 1)[1]) for r in groups))

    def _groups(self, import_id: str, split: str, n: int) -> list[ImportRecord]:
        return list(R.query(_chunk(import_id, n), R.item.startswith(f"g#{split}#"), consistent_read=True))

    def finish_chunk(self, import_id: str, phase: Phase, run: str, split: str, n: int, rows: int,
                     local: Outcome) -> bool:
        """The chunk done in this run, its counts added to the phase's (its groups' recorded counts +
        ``local``), once; first the counters its groups move, each group's once (``applied``, in
        transactions of at most 98 items: the groups marked with the counter updates they sum to)."""
        groups = self._groups(import_id, split, n) if phase is Phase.APPLY else []
        for _ in range(10):
            pending = [g for g in groups if not g.applied]
            if not pending:
                break
            if not self._move_counters(import_id, pending):
                groups = self._groups(import_id, split, n)  # another delivery moved some: read them again
        else:
            raise errors.ServiceUnavailable("import counters kept conflicting")
        recorded = [sum(int(getattr(g, f) or 0) for g in groups) for f in ("created", "updated", "unchanged", "refused")]
        mine = [local.created, local.updated, local.unchanged, local.refused_rows]
        totals = [a + b for a, b in zip(recorded, mine)]
        return transact(self.settings, lambda tx: (
            tx.save(R(_chunk(import_id, n), f"c#{phase.value}#{run}", done=1, rows_read=rows, created=totals[0],
                      updated=totals[1], unchanged=totals[2], refused=totals[3]), condition=R.item.does_not_exist()),
            tx.update(R(import_id, f"p#{phase.value}"), actions=[
                R.rows_read.add(rows), R.created.add(totals[0]), R.updated.add(totals[1]), R.unchanged.add(totals[2]),
                R.refused.add(totals[3]), R.chunks_done.add(1)], condition=R.run == run)))

    def _move_counters(self, import_id: str, pending: list[ImportRecord]) -> bool:
        """The counters of the first groups of ``pending`` that fit one transaction, with those groups
        marked applied (on condition they were not): False when another delivery marked one first."""
        from chalicelib.repositories.import_writes import Counters

        city = self.settings.city_code
        batch: list[ImportRecord] = []
        counters = Counters()
        for g in pending:
            trial = Counters()
            for x in batch + [g]:
                trial.add(x.deltas)
            if batch and len(batch) + 1 + len(trial.writes(city)) > 98:
                break
            batch.append(g)
            counters = trial

        def build(tx: Any) -> None:
            for g in batch:
                tx.update(R(g.import_id, g.item), actions=[R.applied.set(1)], condition=R.applied.does_not_exist())
            for write in counters.writes(city):
                write(tx)
        return transact(self.settings, build)

    # --- the file, chunks, reports ------------------------------------------------------------------
    @property
    def s3(self) -> Any:
        return self._storage().s3

    @property
    def bucket(self) -> str:
        return self.settings.document_bucket

    def upload_form(self, key: str, content_type: str) -> dict[str, Any]:
        """A presigned POST of the import file (this key, this type, up to the import size limit)."""
        return self._storage().presigned_post(key, content_type, max_bytes=self.settings.max_import_bytes)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True

    @contextmanager
    def open(self, key: str) -> Iterator[Any]:
        """The object as a stream (read as it is consumed, never whole)."""
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            yield body
        finally:
            body.close()

    def put_text(self, key: str, text: str) -> None:
        extra: dict[str, str] = {}
        if self.settings.document_kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.settings.document_kms_key}
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=text.encode("utf-8"), **extra)

    def reads(self, key: str) -> dict[str, Any]:
        """A JSON object kept by an earlier step ({} when there is none)."""
        try:
            return dict(json.loads(self.get_text(key)))
        except self.s3.exceptions.NoSuchKey:
            return {}

    def get_text(self, key: str) -> str:
        return str(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8"))

    def join_report(self, key: str, header: list[str], first: str | None, parts: list[str]) -> None:
        """The report: the header, then every part's rows (sorted by row number), as one CSV object
        (UTF-8 with BOM, so Excel opens it in Chinese). Parts are read one by one."""
        found: list[list[str]] = []
        for part in ([first] if first else []) + parts:
            try:
                found += list(csv.reader(io.StringIO(self.get_text(part))))
            except self.s3.exceptions.NoSuchKey:
                continue
        found.sort(key=lambda row: int(row[0]) if row and row[0].isdigit() else 0)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(found)
        self.put_text(key, "\ufeff" + out.getvalue())

    def report_head(self, key: str, limit: int) -> list[dict[str, Any]]:
        rows = list(csv.reader(io.StringIO(self.get_text(key).lstrip("\ufeff"))))[1:limit + 1]
        return [{"row": int(r[0]), "column": r[1], "code": r[2], "message": r[3]} for r in rows if len(r) == 4]

    # --- the queue ----------------------------------------------------------------------------------
    def send(self, messages: list[dict[str, Any]]) -> None:
        from chalicelib.repositories.fanout import send_batches

        url = self.settings.imports_queue_url
        if not url:
            raise errors.ServiceUnavailable("no queue configured (IMPORTS_QUEUE_URL)")
        send_batches(self.settings, url, [json.dumps(m, separators=(",", ":")) for m in messages], "imports_queue_url")

    # --- a chunk's reads --------------------------------------------------------------------------
    def read(self, kind: str, group: list[Entry], known: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """What the group's plan compares with, as plain dicts keyed ``unit:{id}``, ``estate:{id}``...
        (an estate already read for this chunk, ``known``, is not read again: an import's groups move
        its counters only at the chunk's end; but a buildings import's groups each change it)."""
        keys: dict[str, set[str]] = {"estate": set(), "unit": set(), "household": set(), "lease": set(), "street": set()}
        for e in group:
            d = e.data
            if kind == "estates":
                keys["estate"].add(d["estate_id"])
                keys["street"].add(f"{d['area_id']}/{d['street_id']}")
            elif kind in ("buildings", "units"):
                keys["estate"].add(d["estate_id"])
                if kind == "units":
                    keys["unit"].add(d["unit_id"])
            else:
                keys["household"].add(d["household_id"])
                if d["lease"]:
                    keys["unit"].add(d["lease"]["unit_id"])
                    keys["lease"].add(d["lease"]["lease_id"])
        found: dict[str, dict[str, Any]] = {}
        found.update(_get(UnitRecord, "unit", keys["unit"]))
        found.update(_get(HouseholdRecord, "household", keys["household"]))
        found.update(_get(LeaseRecord, "lease", keys["lease"]))
        keys["estate"] |= {u["estate_id"] for k, u in found.items() if k.startswith("unit:")}
        if kind != "buildings":  # the one kind whose writes change the estates it reads
            keys["estate"] -= {e for e in keys["estate"] if f"estate:{e}" in known}
        found.update(_get(EstateRecord, "estate", keys["estate"]))
        city = self.settings.city_code
        for pair in keys["street"]:
            area, street = pair.split("/", 1)
            try:
                rec = AreaRecord.get(city, f"S#{street}")
            except AreaRecord.DoesNotExist:
                continue
            if rec.area_id == area:
                found[f"street:{pair}"] = {"area_id": area}
        return found

    # --- a group's writes -----------------------------------------------------------------------------
    def write_group(self, imp: Import, split: str, n: int, g: int, ops: list[tuple[str, Any]], outcome: Outcome) -> None:
        """One transaction: the group's records and its progress item (its counts and the counters its
        records move, which the chunk's end moves: ``finish_chunk``), on condition it was not written."""
        from chalicelib.repositories.import_writes import build_group

        chunk, item = _chunk(imp.import_id, n), f"g#{split}#{g:03d}"

        def marker(tx: Any) -> Any:
            return lambda counters: tx.save(R(chunk, item, created=outcome.created, updated=outcome.updated,
                                              unchanged=outcome.unchanged, refused=outcome.refused_rows,
                                              deltas=counters.dumps()), condition=R.item.does_not_exist())
        if transact(self.settings, lambda tx: build_group(tx, self.settings, imp, ops, marker(tx))):
            return
        if g in self.chunk_state(imp.import_id, Phase.APPLY, "", split, n).groups:
            return  # another delivery of this chunk wrote the group
        raise errors.StaleVersion(f"import {imp.import_id} chunk {n} group {g}: a record changed meanwhile")

    # --- claiming -------------------------------------------------------------------------------------
    def claim(self, household_id: str, person_key: str, subject: str) -> int:
        """The household's imported leases (and their bills and reviews with no owner) become
        ``subject``'s, in one transaction per lease (up to 99 of them with it: an imported lease has the
        bills since its import), each write conditional on no owner yet."""
        try:
            household = HouseholdRecord.get(household_id, consistent_read=True)
        except HouseholdRecord.DoesNotExist:
            return 0
        claimed = 0
        for lease_id in list(household.leases or []):
            bills = [b.bill_id for b in BillRecord.by_lease.query(lease_id) if not b.owner]
            reviews = [r.review_id for r in ReviewRecord.by_lease.query(lease_id) if not r.owner]
            owned = [(BillRecord, b) for b in bills] + [(ReviewRecord, r) for r in reviews]

            def build(tx: Any, lease_id: str = lease_id, owned: list[Any] = owned[:99]) -> None:
                tx.update(LeaseRecord(lease_id), actions=[LeaseRecord.owner.set(subject)],
                          condition=LeaseRecord.owner.does_not_exist() & (LeaseRecord.owner_key == person_key))
                for model, key in owned:  # the bills and reviews made while nobody had claimed the lease
                    tx.update(model(key), actions=[model.owner.set(subject)], condition=model.owner.does_not_exist())
            if transact(self.settings, build):
                claimed += 1
        return claimed


def _get(model: Any, prefix: str, keys: set[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    hash_name = model._hash_keyname
    return {f"{prefix}:{getattr(r, hash_name)}": plain(r.attribute_values)
            for r in model.batch_get(sorted(keys))}


def _chunk(import_id: str, n: int) -> str:
    """A chunk's own item collection (its progress in each run, its groups): apart from the job's, so
    reading the job or a chunk never reads the other chunks' items."""
    return f"{import_id}#{n:06d}"


def _progress(r: ImportRecord) -> Progress:
    return Progress(rows_read=int(r.rows_read or 0), created=int(r.created or 0), updated=int(r.updated or 0),
                    unchanged=int(r.unchanged or 0), refused=int(r.refused or 0),
                    chunks=int(r.chunks) if r.chunks is not None else None, chunks_done=int(r.chunks_done or 0),
                    started_at=r.started_at, finished_at=r.finished_at, report_key=r.report_key, run=r.run)


def _import(r: ImportRecord, phases: dict[Phase, Progress]) -> Import:
    return Import(import_id=r.import_id, kind=r.kind or "", fmt=r.fmt or "csv", file_name=r.file_name,
                  status=ImportStatus(r.status), created_by=r.created_by or "", created_at=r.created_at or "",
                  updated_at=r.updated_at or "", reason=r.reason, phases=phases)

