"""Deadlines of the service desk (工单时限) and the breach sweep (docs/decisions/0034).

A ticket's deadlines are computed once, when it is filed (and the resolution's again when it is
reopened): the first reply and the resolution are due by the end of the n-th working day after the
day of filing (China time; ``working_days.add_working_days``: weekends, public holidays and make-up
working days as the State Council arranged them, the city's overrides where the calendar has them).

The ticket's *next deadline* is the first reply's until staff reply, then the resolution's until it is
resolved; none after. The repository keeps it in the sparse ``by_due`` index while there is one, so
the sweep reads only ``due_key <= now``: the open tickets past a deadline, never a closed one, however
many the table holds. A breach escalates to the team lead, and ``bureau_after_hours`` later (still
breached) to the bureau, each once: the write is conditional on the escalation level read.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.common import CHINA_TZ

if TYPE_CHECKING:
    from chalicelib.city_files import TicketCategory
    from chalicelib.domain.tickets import Ticket

#: Escalation levels (each reached once): the team lead, then the bureau.
LEAD, BUREAU = 1, 2
LEVEL_NAMES = {0: "未升级", LEAD: "团队负责人督办", BUREAU: "住房保障局督办"}
#: Tickets one sweep request reads (a page of the by_due index).
SWEEP_PAGE = 200


def deadlines(filed: date, category: TicketCategory) -> tuple[date, date]:
    """(first reply due, resolution due): the n-th working day after the day of filing."""
    from chalicelib.domain.working_days import add_working_days

    return add_working_days(filed, category.first_reply_days), add_working_days(filed, category.resolution_days)


def resolution_after(day: date, category: TicketCategory) -> date:
    """A reopened ticket's new resolution deadline, counted from the day it was reopened."""
    from chalicelib.domain.working_days import add_working_days

    return add_working_days(day, category.resolution_days)


def end_of(day: str) -> str:
    """The last second of a China day, as the instant a deadline on that day passes."""
    return datetime.combine(date.fromisoformat(day), datetime.max.time().replace(microsecond=0),
                            CHINA_TZ).isoformat(timespec="milliseconds")


def met(day: str, at: str) -> bool:
    """Whether something done at ``at`` (an instant) met the deadline day ``day``."""
    return datetime.fromisoformat(at) <= datetime.fromisoformat(end_of(day))


def next_deadline(t: Ticket) -> tuple[str, str] | None:
    """("first_reply" | "resolution", the instant it passes) while one is ahead or passed; None once resolved."""
    from chalicelib.domain.tickets import OPEN

    if t.status not in OPEN:
        return None
    if t.first_reply_at is None:
        return "first_reply", end_of(t.first_reply_due)
    return "resolution", end_of(t.resolution_due)


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
