"""The breach sweep of the service desk (工单超期督办, docs/decisions/0034); the deadlines themselves
are computed in domain/tickets.py (``deadlines``, ``next_deadline``) when a ticket is filed or reopened.

The ticket's *next deadline* is the first reply's until staff reply, then the resolution's until it is
resolved; none after. The repository keeps it in the sparse ``by_due`` index while there is one, so
the sweep reads only ``due_key <= now``: the open tickets past a deadline, never a closed one, however
many the table holds. A breach escalates to the team lead, and ``bureau_after_hours`` later (still
breached) to the bureau, each once: the write is conditional on the escalation level read.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.tickets import Ticket, next_deadline

#: Escalation levels (each reached once): the team lead, then the bureau.
LEAD, BUREAU = 1, 2
LEVEL_NAMES = {0: "未升级", LEAD: "团队负责人督办", BUREAU: "住房保障局督办"}
#: Tickets one sweep request reads (a page of the by_due index).
SWEEP_PAGE = 200


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass over the open tickets past a deadline (the by_due index up to now): escalate each
    that is due (the lead once; the bureau once, ``bureau_after_hours`` after the lead), count them
    all, and emit both counts as metrics. Safe to run again at any time: a ticket escalated by another
    run meanwhile is left as that run left it."""
    from chalicelib.domain import tickets as desk
    from chalicelib.metric_names import TICKETS_ESCALATED, TICKETS_PAST_DEADLINE
    from chalicelib.observability import daily_count

    at = now or common.now()
    rules = desk.rules()
    past, escalated, cursor = 0, 0, None
    while True:
        page, cursor = deps().tickets.past_due(at.isoformat(timespec="milliseconds"), cursor, SWEEP_PAGE)
        for t in page:
            past += 1
            level = _due_level(t, at, rules.bureau_after_hours)
            if level and _escalate(t, level, at):
                escalated += 1
        if not cursor:
            break
    daily_count(TICKETS_PAST_DEADLINE, past)
    daily_count(TICKETS_ESCALATED, escalated)
    return {"past_deadline": past, "escalated": escalated}


def _due_level(t: Ticket, at: datetime, bureau_after_hours: int) -> int:
    """The level this ticket should reach now (0: nothing to do)."""
    if t.escalation == 0:
        return LEAD
    if t.escalation == LEAD and t.escalations:
        lead_at = datetime.fromisoformat(t.escalations[-1]["at"])
        if at >= lead_at + timedelta(hours=bureau_after_hours):
            return BUREAU
    return 0


def _escalate(t: Ticket, level: int, at: datetime) -> bool:
    """Write the escalation if the ticket is still at the level read (False: another run did it)."""
    from chalicelib.domain import tickets as desk

    which = next_deadline(t)
    what = "首次答复" if which and which[0] == "first_reply" else "办结"
    due = t.first_reply_due if which and which[0] == "first_reply" else t.resolution_due
    to = t.team_name if level == LEAD else desk.rules().bureau_name
    when = at.isoformat(timespec="milliseconds")
    note = f"已超过{what}期限（{due}），升级至{to}{'负责人' if level == LEAD else ''}督办"
    entry: dict[str, Any] = {"level": level, "at": when, "deadline": which[0] if which else "resolution", "to": to}
    after = replace(t, escalation=level, escalations=[*t.escalations, entry], updated_at=when, version=t.version + 1,
                    events=[*t.events, desk.event("escalated", "system", note, at=when, status=t.status.value)])
    if not deps().tickets.escalate(t, after):
        return False
    desk.tell_team(after, note)
    return True
