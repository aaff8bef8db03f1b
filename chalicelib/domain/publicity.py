"""Publicity (公示) and objections (异议). Decisions: docs/decisions/0012.

Here: the batch, entry and objection types and lifecycles, publishing, reading and closing; filing
and resolving an objection are in domain/objections.py.

Staff publish approved applications in a batch for the city's publicity period; the public list
shows masked names and ID numbers only. Anyone logged in may object during the period; staff
uphold (the application goes back to review and leaves the batch) or dismiss (with a reason).
When the period has ended, every entry without an open or upheld objection qualifies (取得资格)
and joins the waiting list (domain/waiting_list.py); an entry with an open objection waits for its
resolution.

Every change of an application goes through ``applications.mutate``; each step is idempotent,
so the scheduled close (``close_due``) repairs whatever an interrupted step left behind.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import audit, common, waiting_list
from chalicelib.domain.application_status import S, check_transition
from chalicelib.domain.access import mutate, notify_citizen
from chalicelib.domain.application_types import Access, Application, Event
from chalicelib.domain.common import CHINA_TZ, Outcome, expect_version, new_id
from chalicelib.domain.idnumbers import mask_id, mask_mobile, mask_name
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.domain.waiting_list import Waiting, waiting_sort_key
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import PublishIn

MAX_BATCH = 200
DEMO_ENV = "PUBLICITY_DEMO_MINUTES_ALLOWED"
MAX_DEMO_MINUTES = 24 * 60


# --- the three lifecycles: a batch, an entry in it, an objection to an entry ----------------------------
class BatchStatus(StrEnum):
    OPEN = "open"  # the period runs, or has ended with an entry waiting for an objection's resolution
    CLOSED = "closed"  # every entry settled


BATCHES: Lifecycle[BatchStatus] = Lifecycle(
    "publicity_batch", BatchStatus.OPEN, {BatchStatus.OPEN: {BatchStatus.CLOSED}, BatchStatus.CLOSED: set()},
    names={BatchStatus.OPEN: "公示中", BatchStatus.CLOSED: "公示结束"})


class EntryStatus(StrEnum):
    """An application listed in a batch. Listed publicly: in_publicity only."""

    LISTED = "in_publicity"
    QUALIFYING = "qualifying"  # the period ended unobjected: the application is being qualified
    QUALIFIED = "qualified"
    REMOVING = "removing"  # an objection was upheld: the application is being sent back to review
    REMOVED = "removed"
    DROPPED = "dropped"  # the application never moved into the batch (its move failed)


LISTED, QUALIFYING, QUALIFIED, REMOVING, REMOVED, DROPPED = EntryStatus
ENTRY_STATUS_NAMES = {LISTED: "公示中", QUALIFYING: "公示期满，资格确认中", QUALIFIED: "已取得资格",
                      REMOVING: "异议成立，退回审核", REMOVED: "异议成立，已退回审核", DROPPED: "未进入公示"}
ENTRIES: Lifecycle[EntryStatus] = Lifecycle(
    "publicity_entry", LISTED,
    {LISTED: {QUALIFYING, REMOVING, REMOVED}, QUALIFYING: {QUALIFIED, DROPPED}, REMOVING: {REMOVED},
     QUALIFIED: set(), REMOVED: set(), DROPPED: set()},
    names=ENTRY_STATUS_NAMES)


class ObjectionStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # 异议成立: the application goes back to review
    DISMISSED = "dismissed"  # 异议不成立


DECISIONS = {ObjectionStatus.UPHELD: "异议成立", ObjectionStatus.DISMISSED: "异议不成立"}
OBJECTION_STATUS_NAMES = {ObjectionStatus.OPEN: "待处理", **DECISIONS}
_DECIDED = frozenset(DECISIONS)
OBJECTIONS: Lifecycle[ObjectionStatus] = Lifecycle(
    "objection", ObjectionStatus.OPEN,
    {ObjectionStatus.OPEN: _DECIDED, ObjectionStatus.UPHELD: set(), ObjectionStatus.DISMISSED: set()},
    names=OBJECTION_STATUS_NAMES,
    refusals=[Refusal(_DECIDED, _DECIDED, errors.ObjectionAlreadyResolved, "objection_id")])


# --- the city's settings --------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicityConfig:
    days: int
    min_days: int
    max_days: int


@cache
def publicity_config(city: str) -> PublicityConfig:
    """The ``publicity`` part of the city's applications.json (validated by its model)."""
    from chalicelib.city_files import city_file

    data = city_file(city, "applications.json").publicity
    return PublicityConfig(data.days, data.min_days, data.max_days)


def config() -> PublicityConfig:
    return publicity_config(deps().settings.city_code)


def demo_mode() -> bool:
    """The demo may shorten the period (``minutes`` / ``ends_at``) and close early; never in production."""
    return os.environ.get(DEMO_ENV, "").strip().lower() in ("1", "true", "yes")


def _iso(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).isoformat(timespec="milliseconds")


def _now_iso() -> str:
    return _iso(common.now())


# --- what is stored ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Batch:
    batch_id: str
    title: str | None
    status: BatchStatus
    starts_at: str
    ends_at: str
    days: int | None
    demo: bool
    size: int
    created_by: str
    created_at: str
    updated_at: str
    closed_at: str | None = None
    version: int = 1

    def ended(self) -> bool:
        return datetime.fromisoformat(self.ends_at) <= common.now()

    def in_period(self) -> bool:
        return self.status == BatchStatus.OPEN and datetime.fromisoformat(self.starts_at) <= common.now() and not self.ended()


@dataclass(frozen=True)
class Entry:
    """One application listed in a batch, with what the public may see (masked) and its objections."""

    batch_id: str
    entry_id: str
    application_id: str
    status: EntryStatus
    masked_name: str
    masked_id: str
    household_size: int
    kind: str
    street_id: str | None
    street_name: str | None
    objections_open: int = 0
    objections_upheld: int = 0
    objections_total: int = 0
    settled_at: str | None = None
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Objection:
    objection_id: str
    batch_id: str
    entry_id: str
    application_id: str
    filer: str
    filer_role: str
    reason: str
    contact: str | None
    status: ObjectionStatus
    filer_mobile: str | None = None
    decision_reason: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


# --- staff: publishing a batch -----------------------------------------------------------------------
def publish(actor: Actor, body: PublishIn) -> tuple[Batch, list[Outcome[Entry]]]:
    """A batch of approved applications; each application succeeds or fails on its own (reported
    per item, like the bulk approve). Nothing publishable: 409 NOTHING_TO_PUBLISH (``failures``
    says why for each), no batch."""
    ids = list(dict.fromkeys(body.application_ids))
    if len(ids) > MAX_BATCH:
        raise errors.InvalidInput(f"at most {MAX_BATCH} at once", field="application_ids",
                                  message=f"一次最多公示 {MAX_BATCH} 个申请")
    starts, ends, days, demo = _period(body)
    at = _iso(starts)
    batch = Batch(new_id("pub"), body.title, BATCHES.initial, at, _iso(ends), days, demo, 0, actor.subject, at, at)
    repo = deps().publicity
    repo.create_batch(batch)
    results: list[Outcome[Entry]] = []
    for application_id in ids:
        try:
            results.append(Outcome(application_id, _publish_one(batch, application_id, actor)))
        except errors.DomainError as exc:
            results.append(Outcome(application_id, error=exc))
    published = sum(1 for r in results if r.ok)
    if not published:
        repo.delete_batch(batch.batch_id)
        raise errors.NothingToPublish("; ".join(f"{r.application_id}: {type(r.error).__name__}" for r in results),
                                      field="application_ids",
                                      failures=[(r.application_id, r.error) for r in results if r.error is not None])
    batch = repo.update_batch(replace(batch, size=published, updated_at=_now_iso(), version=batch.version + 1),
                              batch.version)
    audit.record(actor, f"publicity#{batch.batch_id}", "publish", f"公示 {published} 件，至 {batch.ends_at[:16]}")
    return batch, results


def _period(body: PublishIn) -> tuple[datetime, datetime, int | None, bool]:
    """From now to the end of the day ``days`` days later (so never shorter than ``days`` full
    days); in demo mode a staff-given ``minutes`` or ``ends_at`` instead."""
    cfg = config()
    start = common.now()
    minutes, ends_raw, days = body.minutes, body.ends_at, body.days
    if minutes is not None or ends_raw is not None:
        name = "minutes" if minutes is not None else "ends_at"
        if not demo_mode():
            raise errors.InvalidInput("a shortened period only in demo mode", field=name,
                                      message=f"{'公示分钟数' if name == 'minutes' else '公示截止时间'}仅在演示模式下可用")
        if minutes is not None and ends_raw is not None:
            raise errors.InvalidInput("minutes or ends_at, not both", field="ends_at", message="公示分钟数和公示截止时间只能填写一项")
        if minutes is not None:
            if not 1 <= int(minutes) <= MAX_DEMO_MINUTES:
                raise errors.InvalidInput(f"1-{MAX_DEMO_MINUTES}", field="minutes",
                                          message=f"公示分钟数应为 1-{MAX_DEMO_MINUTES}")
            return start, start + timedelta(minutes=int(minutes)), None, True
        try:
            end = datetime.fromisoformat(str(ends_raw))
        except ValueError:
            raise errors.InvalidInput("ISO 8601 date-time with offset", field="ends_at",
                                      message="公示截止时间应为带时区的 ISO 8601 时间，如 2027-01-01T17:00:00+08:00") from None
        if end.tzinfo is None:
            raise errors.InvalidInput("with a UTC offset, e.g. +08:00", field="ends_at", message="公示截止时间应带时区，如 +08:00")
        if end <= start or end > start + timedelta(days=cfg.max_days + 1):
            raise errors.InvalidInput(f"in the future, within {cfg.max_days} days", field="ends_at",
                                      message=f"公示截止时间应在今后 {cfg.max_days} 天之内")
        return start, end, None, True
    d = cfg.days if days is None else int(days)
    if not cfg.min_days <= d <= cfg.max_days:
        raise errors.InvalidInput(f"{cfg.min_days}-{cfg.max_days} days", field="days",
                                  message=f"公示天数应为 {cfg.min_days}-{cfg.max_days} 天")
    last = (start + timedelta(days=d)).date()
    return start, datetime(last.year, last.month, last.day, 23, 59, 59, 999000, tzinfo=CHINA_TZ), d, False


def _publish_one(batch: Batch, application_id: str, actor: Actor) -> Entry:
    app = deps().applications.get(application_id)
    check_transition(app.status, S.IN_PUBLICITY)  # only approved applications are published
    main = app.main()
    at = _now_iso()
    entry = Entry(batch.batch_id, new_id("pe"), app.application_id, LISTED, mask_name(main["name"]) or "",
                  mask_id(main["id_number"]) or "", len(app.members), app.kind, app.street_id,
                  _street_name(app.street_id), created_at=at, updated_at=at)
    deps().publicity.put_entry(entry)  # listed first: a failed move below takes it off again

    def change(current: Application, _: Access) -> tuple[Application, list[Event]]:
        check_transition(current.status, S.IN_PUBLICITY)
        publicity = {"batch_id": batch.batch_id, "entry_id": entry.entry_id, "starts_at": batch.starts_at,
                     "ends_at": batch.ends_at}
        return replace(current, status=S.IN_PUBLICITY, version=current.version + 1,
                       data={**current.data, "publicity": publicity}), [
            Event("publicity_started", actor.subject, "staff", current.status.value, S.IN_PUBLICITY.value,
                  note=f"进入公示，公示期至{batch.ends_at[:10]}", changes={"batch_id": batch.batch_id,
                                                                    "ends_at": batch.ends_at})]

    try:
        audit.record(actor, f"application#{application_id}", "publish", f"公示批次 {batch.batch_id}")
        updated = mutate(application_id, actor, change, staff_only=True)
    except errors.DomainError:
        deps().publicity.delete_entry(batch.batch_id, entry.entry_id)
        raise
    notify_citizen(updated, "publicity_started", {"ends_at": batch.ends_at[:16].replace("T", " ")})
    return entry


def _street_name(street_id: str | None) -> str | None:
    if not street_id:
        return None
    try:
        return deps().areas.get_street(street_id).name
    except errors.DomainError:
        return None


# --- reading -------------------------------------------------------------------------------------------
def open_batches() -> list[Batch]:
    """Batches whose period is running (one key query on the open batches)."""
    return [b for b in deps().publicity.batches(BatchStatus.OPEN) if b.in_period()]


def public_batch(batch_id: str) -> tuple[Batch, list[Entry]]:
    """A batch as the public sees it: the entries still listed (masked data only)."""
    batch, entries = deps().publicity.batch_with_entries(batch_id)
    return batch, [e for e in entries if e.status == LISTED]


def staff_batch(batch_id: str, actor: Actor, reason: str | None) -> tuple[Batch, list[Entry], dict[str, Application],
                                                                           list[Objection]]:
    """The full view: entries with the applications behind them and every objection (audited)."""
    audit.record(actor, f"publicity#{batch_id}", "read_publicity", reason)
    repo = deps().publicity
    batch, entries = repo.batch_with_entries(batch_id)
    return batch, entries, repo.applications([e.application_id for e in entries]), repo.objections_of_batch(batch_id)


def _send_back(objection: Objection, actor: Actor | None) -> Application:
    """Back to review, off the list, with the recommendation set to manual review (no one-click
    re-approval of a case an objection was upheld against). Idempotent: repairs a half-done step."""
    reason = objection.decision_reason or ""

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        pub = app.data.get("publicity") or {}
        by = actor.subject if actor else "system"
        role = "staff" if actor else "system"
        if app.status != S.IN_PUBLICITY or pub.get("entry_id") != objection.entry_id:
            return app, [Event("objection_upheld", by, role, note=f"异议成立：{reason}",
                               changes={"objection_id": objection.objection_id})]
        check_transition(app.status, S.UNDER_REVIEW)
        at = _now_iso()
        verification = {**(app.verification or {}), "override": {
            "recommendation": "manual_review", "from": app.recommendation(), "reason": f"公示异议成立：{reason}",
            "by": by, "at": at}}
        data = {**app.data, "publicity": {**pub, "removed_at": at, "objection_id": objection.objection_id}}
        return replace(app, status=S.UNDER_REVIEW, verification=verification, data=data, version=app.version + 1), [
            Event("objection_upheld", by, role, S.IN_PUBLICITY.value, S.UNDER_REVIEW.value,
                  note=f"公示异议成立，退回审核：{reason}", changes={"objection_id": objection.objection_id,
                                                          "batch_id": objection.batch_id})]

    app = mutate(objection.application_id, None, change)
    entry = deps().publicity.get_entry(objection.batch_id, objection.entry_id)
    if ENTRIES.allows(entry.status, REMOVED):
        deps().publicity.move_entry(entry, ENTRIES.move(entry.status, REMOVED), _now_iso())
    return app


# --- closing ------------------------------------------------------------------------------------------
def close(batch_id: str, actor: Actor, version: int) -> tuple[Batch, dict[str, int]]:
    """Staff close a batch whose period has ended (before the end only in demo mode, which ends
    the period now). Entries with an open objection stay in publicity until it is resolved."""
    repo = deps().publicity
    batch = repo.get_batch(batch_id)
    expect_version(batch.version, version)
    BATCHES.move(batch.status, BatchStatus.CLOSED)  # closed already: 409 ILLEGAL_TRANSITION
    if not batch.ended():
        if not demo_mode():
            raise errors.PublicityNotEnded(f"公示期至 {batch.ends_at[:16]}", field="batch_id")
        at = _now_iso()
        batch = repo.update_batch(replace(batch, ends_at=at, demo=True, updated_at=at, version=batch.version + 1),
                                  batch.version)
    audit.record(actor, f"publicity#{batch_id}", "close_publicity", "公示期满，结束公示")
    batch, counts, _ = settle(batch, actor)
    return batch, counts


def close_due() -> dict[str, int]:
    """The scheduled job: settle every open batch whose period has ended."""
    done = {"batches": 0, "qualified": 0, "waiting": 0}
    for batch in deps().publicity.batches(BatchStatus.OPEN):
        if not batch.ended():
            continue
        batch, counts, newly = settle(batch, None)
        done["batches"] += 1
        done["qualified"] += newly
        done["waiting"] += counts.get(LISTED, 0)
    return done


def settle(batch: Batch, actor: Actor | None) -> tuple[Batch, dict[str, int], int]:
    """Bring every entry of an ended batch to its outcome; close the batch when none is left
    waiting for an objection. Safe to repeat: every step checks before it acts. Returns the
    batch, the entries by outcome, and how many qualified in this run."""
    repo = deps().publicity
    batch, entries = repo.batch_with_entries(batch.batch_id)
    counts: dict[str, int] = {}
    newly = 0
    for entry in entries:
        state = _settle_entry(batch, entry, actor)
        counts[state] = counts.get(state, 0) + 1
        newly += state == QUALIFIED and entry.status != QUALIFIED
    if batch.status == BatchStatus.OPEN and not counts.get(LISTED):
        at = _now_iso()
        try:
            batch = repo.update_batch(replace(batch, status=BATCHES.move(batch.status, BatchStatus.CLOSED), closed_at=at, updated_at=at,
                                              version=batch.version + 1), batch.version)
        except errors.StaleVersion:
            batch = repo.get_batch(batch.batch_id)  # closed by a concurrent run
    return batch, counts, newly


def _settle_entry(batch: Batch, entry: Entry, actor: Actor | None) -> str:
    repo = deps().publicity
    at = _now_iso()
    if entry.status == LISTED:
        if entry.objections_open:
            return LISTED  # waits for staff to resolve the objection
        if entry.objections_upheld:  # upheld, but the move off the list was interrupted
            to = ENTRIES.move(entry.status, REMOVING)
            entry = replace(entry, status=to) if repo.move_entry(entry, to, at) else entry
        elif repo.move_entry(entry, to := ENTRIES.move(entry.status, QUALIFYING), at, unobjected=True):
            entry = replace(entry, status=to)
        else:  # an objection came in (or a concurrent run moved it): decide on what is stored now
            entry = repo.get_entry(entry.batch_id, entry.entry_id)
            if entry.status == LISTED:
                return LISTED
    if entry.status == QUALIFYING:
        return _qualify(batch, entry, actor)
    if entry.status == REMOVING:
        objection = next((o for o in repo.objections_of_batch(batch.batch_id)
                          if o.entry_id == entry.entry_id and o.status == ObjectionStatus.UPHELD), None)
        if objection is not None:
            _send_back(objection, None)
        else:
            repo.move_entry(entry, ENTRIES.move(entry.status, REMOVED), at)
        return REMOVED
    return entry.status


def _qualify(batch: Batch, entry: Entry, actor: Actor | None) -> str:
    """取得资格: the application becomes qualified and joins the waiting list (each step once)."""
    repo = deps().publicity
    app = deps().applications.get(entry.application_id)
    pub = app.data.get("publicity") or {}
    if pub.get("entry_id") != entry.entry_id:  # the application never moved into this batch
        repo.move_entry(entry, ENTRIES.move(entry.status, DROPPED), _now_iso())
        return DROPPED
    if app.status == S.IN_PUBLICITY:
        qualified_at = _now_iso()
        points = int((app.verification or {}).get("priority_points") or 0)
        key = waiting_sort_key(batch.ends_at, points, app.submitted_at, app.application_id)
        qualification = {"qualified_at": qualified_at, "batch_id": batch.batch_id, "period_end": batch.ends_at,
                         "queue": app.kind, "sort_key": key, "priority_points": points}

        def change(current: Application, _: Access) -> tuple[Application, list[Event]]:
            if current.status != S.IN_PUBLICITY:
                raise _Done()
            check_transition(current.status, S.QUALIFIED)
            return replace(current, status=S.QUALIFIED, data={**current.data, "qualification": qualification}), [
                Event("qualified", actor.subject if actor else "system", "staff" if actor else "system",
                      S.IN_PUBLICITY.value, S.QUALIFIED.value, note="公示期满无异议，取得公租房轮候资格",
                      changes={"batch_id": batch.batch_id, "queue": app.kind})]

        try:
            app = mutate(app.application_id, None, change)
            notify_citizen(app, "qualified", {})
        except _Done:
            app = deps().applications.get(entry.application_id)
    if app.status != S.QUALIFIED:
        return entry.status
    q = app.data.get("qualification") or {}
    waiting_list.join(Waiting(
        app.application_id, q.get("queue", app.kind), q["sort_key"], app.owner_key, app.owner, len(app.members),
        int(q.get("priority_points") or 0), batch.batch_id, q.get("period_end", batch.ends_at),
        q.get("qualified_at", app.updated_at)))
    if entry.status != QUALIFIED:
        repo.move_entry(entry, ENTRIES.move(entry.status, QUALIFIED), _now_iso())
    return QUALIFIED


class _Done(Exception):
    """The application was qualified by a concurrent run."""


# --- presenting (masked for the public) -------------------------------------------------------------
def mask_contact(value: str | None) -> str | None:
    if not value:
        return value
    return mask_mobile(value) if value.isdigit() and len(value) == 11 else value[:1] + "*" * (len(value) - 1)
