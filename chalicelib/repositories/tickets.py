"""Tickets (工单) in the tickets table, and the service desk's counters (ratings per team and estate, the
per-user filing limit) in ticket_counters (docs/decisions/0034). The queue, the citizen's list and the
breach sweep are key-range queries on the table's indexes; a rating is one transaction with its
counters; nothing here scans."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page, now
from chalicelib.domain.tickets import Ticket, TicketStatus, next_deadline
from chalicelib.repositories.common import is_condition_failure, plain, transact
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import TicketCounterRecord, TicketRecord

FIELDS = ("owner", "filed_by", "filed_role", "grant_id", "kind", "category", "category_name", "team", "team_name",
          "assignee", "estate_id", "estate_name", "unit_id", "title", "text", "contact_allowed", "contact_name",
          "contact_mobile", "photos", "events", "filed_at", "filed_month", "first_reply_due", "resolution_due",
          "first_reply_at", "resolved_at", "closed_at", "first_reply_met", "resolution_met", "escalation",
          "escalations", "rating", "reopened", "updated_at", "version")
QUEUE_KEYS = ("ticket_id", "queue_sort")
OPEN_STATE, DONE_STATE = "open", "done"
#: A filing counter lives a little over its minute.
LIMIT_TTL_SECONDS = 180


class TicketRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- reading --------------------------------------------------------------------------------------
    def get(self, ticket_id: str) -> Ticket:
        try:
            return to_ticket(TicketRecord.get(ticket_id, consistent_read=True))
        except TicketRecord.DoesNotExist:
            raise errors.TicketNotFound(ticket_id, field="ticket_id") from None

    def of_owner(self, owner: str, cursor: str | None, limit: int) -> Page[Ticket]:
        records, next_cursor = query_page(TicketRecord.by_owner, owner, key_names=("ticket_id", "owner", "owner_sort"),
                                          scope=f"tickets:owner:{owner}", limit=limit, cursor=cursor, forward=False)
        return Page([to_ticket(r) for r in records], next_cursor)

    def queue(self, *, team: str | None, category: str | None, estate_id: str | None, open_queue: bool,
              only: TicketStatus | None, cursor: str | None, limit: int) -> Page[Ticket]:
        """A page of the staff queue: one key-range query on the index of the most selective filter,
        open tickets by their next deadline (soonest first), done ones newest first; ``only`` one status."""
        state = OPEN_STATE if open_queue else DONE_STATE
        prefix = "o#" if open_queue else "d#"
        filters: list[Any] = []
        if team is not None:
            index, hash_key, name = TicketRecord.queue_team, team, "team"
        elif estate_id is not None:
            index, hash_key, name = TicketRecord.queue_estate, estate_id, "estate_id"
        elif category is not None:
            index, hash_key, name = TicketRecord.queue_category, category, "category"
        else:
            index, hash_key, name = TicketRecord.queue_state, state, "state"
        if team is not None and name != "team":
            filters.append(TicketRecord.team == team)
        if estate_id is not None and name != "estate_id":
            filters.append(TicketRecord.estate_id == estate_id)
        if category is not None and name != "category":
            filters.append(TicketRecord.category == category)
        if only is not None:
            filters.append(TicketRecord.status == only.value)
        shown = only.value if only is not None else state
        condition = None
        for f in filters:
            condition = f if condition is None else condition & f
        records, next_cursor = query_page(
            index, hash_key, key_names=(*QUEUE_KEYS, name), scope=f"tickets:queue:{name}:{hash_key}:{shown}:"
            f"{team}:{estate_id}:{category}", range_condition=TicketRecord.queue_sort.startswith(prefix),
            filter_condition=condition, limit=limit, cursor=cursor, forward=open_queue)
        return Page([to_ticket(r) for r in records], next_cursor)

    def past_due(self, at: str, cursor: str | None, limit: int) -> tuple[list[Ticket], str | None]:
        """Open tickets whose next deadline passed by ``at``: the sparse by_due index up to ``at``."""
        records, next_cursor = query_page(TicketRecord.by_due, "due", key_names=("ticket_id", "due_part", "due_key"),
                                          scope="tickets:due", range_condition=TicketRecord.due_key < f"{at}$",
                                          limit=limit, cursor=cursor)
        return [to_ticket(r) for r in records], next_cursor

    def ratings(self, by: str, cursor: str | None, limit: int) -> Page[dict[str, Any]]:
        records, next_cursor = query_page(TicketCounterRecord, "ratings", key_names=("scope", "key"),
                                          scope=f"tickets:ratings:{by}", limit=limit, cursor=cursor,
                                          range_condition=TicketCounterRecord.key.startswith(f"{by}#"))
        out = []
        for r in records:
            count, total = int(r.count or 0), int(r.total or 0)
            out.append({"by": by, "id": r.key.split("#", 1)[1], "name": r.name or "", "count": count,
                        "average": round(total / count, 2) if count else None,
                        "scores": {str(n): int(getattr(r, f"s{n}") or 0) for n in range(1, 6)}})
        return Page(out, next_cursor)

    # --- writing --------------------------------------------------------------------------------------
    def create(self, t: Ticket) -> None:
        record(t).save(condition=TicketRecord.ticket_id.does_not_exist())

    def replace(self, before: Ticket, after: Ticket) -> bool:
        """Write ``after`` if the ticket is still ``before`` (False: someone changed it meanwhile)."""
        try:
            record(after).save(condition=TicketRecord.version == before.version)
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def escalate(self, before: Ticket, after: Ticket) -> bool:
        """The escalation written once: only if the ticket is at the level (and version) read."""
        try:
            record(after).save(condition=(TicketRecord.version == before.version)
                               & (TicketRecord.escalation == before.escalation))
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def rate(self, before: Ticket, after: Ticket) -> None:
        """The rating and its team's and estate's counters, at once; only if not rated yet."""
        score = int((after.rating or {})["score"])

        def build(tx: Any) -> None:
            tx.save(record(after), condition=(TicketRecord.version == before.version)
                    & TicketRecord.rating.does_not_exist() & (TicketRecord.status == TicketStatus.CLOSED.value))
            for key, name in ((f"team#{after.team}", after.team_name), (f"estate#{after.estate_id}", after.estate_name)):
                counter = getattr(TicketCounterRecord, f"s{score}")
                tx.update(TicketCounterRecord("ratings", key), actions=[
                    TicketCounterRecord.count.add(1), TicketCounterRecord.total.add(score), counter.add(1),
                    TicketCounterRecord.name.set(name)])

        if transact(self.settings, build):
            return
        current = self.get(before.ticket_id)
        if current.rating is not None:
            raise errors.TicketAlreadyRated(before.ticket_id, field="ticket_id")
        raise errors.StaleVersion("the ticket changed", field="version")

    def count_filing(self, subject: str, per_minute: int) -> None:
        """One more filing in this minute for ``subject``; beyond ``per_minute`` a 429 (conditional
        update of a counter item that expires with its minute)."""
        minute = now()
        key = minute.strftime("%Y-%m-%dT%H:%M")
        try:
            TicketCounterRecord(f"limit#{subject}", key).update(
                actions=[TicketCounterRecord.count.add(1),
                         TicketCounterRecord.expires.set(minute + timedelta(seconds=LIMIT_TTL_SECONDS))],
                condition=TicketCounterRecord.count.does_not_exist() | (TicketCounterRecord.count < per_minute))
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise errors.TicketsRateLimited(f"{per_minute} a minute", field="ticket") from None
            raise


# --- records ------------------------------------------------------------------------------------------------
def record(t: Ticket) -> TicketRecord:
    values = {f: getattr(t, f) for f in FIELDS}
    due = next_deadline(t)
    done_at = t.closed_at or t.resolved_at or t.updated_at
    r = TicketRecord(t.ticket_id, status=t.status.value, state=OPEN_STATE if due else DONE_STATE,
                     owner_sort=f"{t.filed_at}#{t.ticket_id}",
                     queue_sort=f"o#{due[1]}#{t.ticket_id}" if due else f"d#{done_at}#{t.ticket_id}",
                     due_part="due" if due else None, due_key=f"{due[1]}#{t.ticket_id}" if due else None,
                     rating_score=(t.rating or {}).get("score"), **values)
    return r


def to_ticket(r: TicketRecord) -> Ticket:
    values = {f: plain(getattr(r, f)) for f in FIELDS}
    values["version"] = int(values["version"])
    values["escalation"] = int(values["escalation"] or 0)
    values["reopened"] = int(values["reopened"] or 0)
    for name in ("photos", "events", "escalations"):
        values[name] = list(values[name] or [])
    return Ticket(ticket_id=r.ticket_id, status=TicketStatus(r.status), **values)
