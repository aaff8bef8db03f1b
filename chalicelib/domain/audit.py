"""The audit trail (等级保护 2.0): every staff read of personal data, who, what, when and why; kept the
city's ``audit_retention_days`` (privacy.json, at least 180) and tamper-evident (docs/decisions/0040).

Each record carries the SHA-256 of its own content. After each China day the daily job (``seal_due``)
seals it: the count of the day's records and one SHA-256 over their digests in order, chained to the
previous day's seal. Writes stay independent (no record reads another: no hot key); ``verify`` then
finds an edited record (its digest), a deleted or inserted one (the day's count and root) and an
edited or removed seal (the chain).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.idnumbers import mask_free_text
from chalicelib.identity import Actor

MAX_REASON = 200
#: What a record's digest covers (``expires_at`` is not content: a record from before it verifies).
CONTENT = ("target", "at", "actor", "actor_role", "action", "reason", "day")
#: The scheduled jobs' actor (sealing, retention): written as actor "system", role "system".
SYSTEM = Actor("system", frozenset(), None, {})
#: Days one verification covers at most; days one run of the daily job seals at most (it catches up).
MAX_DAYS = 31


def retention_days() -> int:
    """The city's audit retention (privacy.json ``audit_retention_days``, validated >= 180)."""
    from chalicelib.city_files import city_file

    return int(city_file(deps().settings.city_code, "privacy.json").audit_retention_days)


def digest_of(entry: dict[str, Any]) -> str:
    content = {f: entry.get(f) for f in CONTENT}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def entry(actor: Actor, target: str, action: str, reason: str | None) -> dict[str, Any]:
    """One record as it is written (for a repository that writes it in its own transaction)."""
    if not reason or not reason.strip():
        raise errors.InvalidInput("staff must say why they read personal data", field="reason",
                                  message="工作人员查看个人信息须填写查看事由")
    when = common.now()
    at = f"{when.isoformat(timespec='milliseconds')}#{common.new_id('aud')}"
    if actor.subject == SYSTEM.subject and not actor.roles:
        role = "system"
    else:
        role = sorted(r.value for r in actor.roles)[0] if actor.roles else "unknown"
    record: dict[str, Any] = {"target": target, "at": at, "actor": actor.subject, "actor_role": role, "action": action,
                              "reason": mask_free_text(reason.strip())[:MAX_REASON], "day": at[:10]}
    record["digest"] = digest_of(record)
    record["expires_at"] = when + timedelta(days=retention_days())
    return record


def record(actor: Actor, target: str, action: str, reason: str | None) -> None:
    """Write before the data is served: no reason, no read (a 400 naming ``reason``). The reason is
    free text (often a query parameter): personal numbers in it are masked before it is stored."""
    deps().audit.append(entry(actor, target, action, reason))


def trail(target: str) -> list[dict[str, object]]:
    return deps().audit.of_target(target)


# --- the daily seals -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seal:
    day: str
    count: int
    root: str
    previous: str
    hash: str
    sealed_at: str


def root_of(records: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: (r["at"], r["target"])):
        h.update(f"{r['at']}|{r['target']}|{r['digest']}\n".encode())
    return h.hexdigest()


def seal_hash(day: str, count: int, root: str, previous: str) -> str:
    return hashlib.sha256(f"{day}|{count}|{root}|{previous}".encode()).hexdigest()


def seal_day(day: date) -> Seal:
    """Seal one past day (after the last sealed one). Twice, or two jobs at once: one seal, the first."""
    repo, iso = deps().audit, day.isoformat()
    existing = repo.seal(iso)
    if existing is not None:
        return existing
    before = repo.seal_before(iso)
    records = repo.of_day(iso)
    root = root_of(records)
    previous = before.hash if before else ""
    seal = repo.put_seal(Seal(iso, len(records), root, previous, seal_hash(iso, len(records), root, previous), common.now_iso()))
    from chalicelib.observability import logger

    # a second copy of the chain outside the table: the log group (KMS, kept the city's log retention)
    logger.info("audit day sealed", extra={"day": seal.day, "count": seal.count, "seal": seal.hash})
    return seal


def seal_due() -> dict[str, Any]:
    """The daily job (00:30 China time): every unsealed day up to yesterday, in order, at most
    ``MAX_DAYS`` a run (a later run carries on). Safe to re-run: a sealed day is left as it is."""
    yesterday = common.now().date() - timedelta(days=1)
    last = deps().audit.last_seal()
    # the first run seals the month before it too (days without records are sealed empty)
    start = date.fromisoformat(last.day) + timedelta(days=1) if last else yesterday - timedelta(days=MAX_DAYS - 1)
    sealed = []
    day = start
    while day <= yesterday and len(sealed) < MAX_DAYS:
        sealed.append(seal_day(day))
        day += timedelta(days=1)
    return {"sealed": [s.day for s in sealed], "records": sum(s.count for s in sealed),
            "last": sealed[-1].day if sealed else (last.day if last else None)}


# --- the verifier ----------------------------------------------------------------------------------
def verify(first: date, last: date) -> dict[str, Any]:
    """Check days ``first``..``last`` (at most MAX_DAYS): each record against its digest, each sealed
    day's records against its seal (count and root: a deleted or inserted record), each seal against
    its hash and the one before it (the chain). Days past the retention period are checked as a chain
    only (their records are gone by design); days not yet sealed record by record only."""
    if last < first:
        raise errors.InvalidInput("to before from", field="to", message="结束日期不能早于开始日期")
    if (last - first).days >= MAX_DAYS:
        raise errors.InvalidInput(f"at most {MAX_DAYS} days", field="to", message=f"一次最多核验 {MAX_DAYS} 天")
    repo, today = deps().audit, common.now().date()
    horizon = today - timedelta(days=retention_days())
    previous = repo.seal_before(first.isoformat())
    seals = {s.day: s for s in repo.seals_between(first.isoformat(), last.isoformat())}
    chain_started = previous is not None
    days, problems = [], []

    def problem(day: str, kind: str, detail: str, at: str | None = None) -> None:
        problems.append({"day": day, "kind": kind, "detail": detail, **({"at": at} if at else {})})

    day = first
    while day <= last:
        iso = day.isoformat()
        seal = seals.get(iso)
        status = "sealed" if seal else "unsealed"
        if seal is not None:
            chain_started = True
            if seal.hash != seal_hash(seal.day, seal.count, seal.root, seal.previous):
                problem(iso, "seal_altered", "封存记录的哈希与其内容不符")
            expected = previous.hash if previous else ""
            if seal.previous != expected:
                problem(iso, "chain_broken", "封存记录未接续前一日的封存（前一日的封存被改动或删除）")
            previous = seal
        elif chain_started and day < today - timedelta(days=1):  # yesterday's is sealed at 00:30
            problem(iso, "seal_missing", "该日未封存或封存记录被删除")
        count = None
        if day <= horizon:
            status = "expired"
        else:
            records = repo.of_day(iso)
            count = len(records)
            for r in records:
                if digest_of(r) != r.get("digest"):
                    problem(iso, "record_altered", f"记录内容与其摘要不符（{r.get('target')}）", r.get("at"))
            if seal is not None and (seal.count != count or seal.root != root_of(records)):
                problem(iso, "records_changed",
                        f"当日记录与封存不一致：封存 {seal.count} 条，现有 {count} 条（记录被删除、插入或改动）")
        days.append({"day": iso, "status": status, "records": count, "seal": seal.hash if seal else None})
        day += timedelta(days=1)
    return {"from": first.isoformat(), "to": last.isoformat(), "ok": not problems, "days": days,
            "problems": problems, "checked_at": common.now_iso()}


def verify_recent(days: int = 7) -> dict[str, Any]:
    """The last ``days`` days up to today (what the verifier tool runs by default)."""
    today = common.now().date()
    return verify(today - timedelta(days=days - 1), today)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidInput("YYYY-MM-DD", field=field, message="日期格式应为 YYYY-MM-DD") from None


def verify_range(first: str | None, last: str | None) -> dict[str, Any]:
    """The route's entry: ``from``/``to`` as YYYY-MM-DD (default: the last 7 days)."""
    today = common.now().date()
    end = _date(last, "to") if last else today
    start = _date(first, "from") if first else end - timedelta(days=6)
    return verify(start, end)

