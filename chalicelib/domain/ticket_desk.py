"""The staff desk of the service desk (工单处理, issue 13 §2): the queue sorted by deadline with filters
(team, category, estate, status), replies (the city's canned replies or free text; internal notes the
citizen does not see), status changes through the ticket lifecycle, reassigning with a reason (one or
many at once), the contact revealed only with a reason (audited), and the ratings per team and estate.
Decisions: docs/decisions/0034."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import Page
from chalicelib.domain.tickets import (CLOSED, KINDS, OPEN, STATUS_NAMES, TICKETS, Ticket, TicketStatus, change,
                                       rules, step, tell)
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import TicketAssignIn, TicketBulkAssignIn, TicketStaffReplyIn, TicketStatusIn

#: The queue's groups besides one status: every open ticket (default), every done one.
QUEUE_GROUPS = ("open", "done")


def queue(team: str | None, category: str | None, estate_id: str | None, shown: str, cursor: str | None,
          limit: int) -> Page[Ticket]:
    """Tickets by their next deadline (the most urgent first; done ones by when they were done, newest
    first), on the index of the most selective filter given (team, estate, category, else all): a page
    is one key-range query, the other filters applied to it. ``shown``: open, done, or one status."""
    if category is not None:
        from chalicelib.domain.tickets import category as known

        known(category)
    only = None if shown in QUEUE_GROUPS else TicketStatus(shown)
    open_queue = (shown == QUEUE_GROUPS[0]) if only is None else only in OPEN
    return deps().tickets.queue(team=team, category=category, estate_id=estate_id,  # type: ignore[no-any-return]
                                open_queue=open_queue, only=only, cursor=cursor, limit=limit)


def _audit(actor: Actor, t: Ticket, action: str, reason: str) -> None:
    from chalicelib.domain import audit

    audit.record(actor, f"ticket#{t.ticket_id}", action, reason)


def canned(code: str) -> str:
    found = next((c for c in rules().canned_replies if c.code == code), None)
    if found is None:
        codes = "、".join(c.code for c in rules().canned_replies)
        raise errors.InvalidInput("one of the city's canned replies", field="canned_reply",
                                  message=f"常用答复应为以下之一：{codes}")
    return found.text


def reply(ticket_id: str, actor: Actor, body: TicketStaffReplyIn) -> Ticket:
    """Staff answer the citizen (free text, or a canned reply by its code), or add an internal note.
    The first answer to the citizen records the first reply (met or not); a ticket still filed is
    accepted by it; ``status`` moves it on in the same step (e.g. waiting for the citizen)."""
    if bool(body.text) == bool(body.canned_reply):
        raise errors.InvalidInput("text or canned_reply", field="text", message="请填写答复内容，或选择一条常用答复（二选一）")
    text = body.text or canned(body.canned_reply or "")
    from chalicelib.domain.tickets import met

    def work(t: Ticket) -> Ticket:
        if t.status is CLOSED:
            raise errors.TicketClosed(t.ticket_id, field="ticket_id")
        if body.internal:
            return step(t, None, "note", "staff", text, internal=True)
        to = TicketStatus(body.status) if body.status else (TicketStatus.ACCEPTED if t.status in
                                                            (TicketStatus.FILED, TicketStatus.REOPENED) else None)
        first: dict[str, Any] = {}
        if t.first_reply_at is None:
            from chalicelib.domain.common import now_iso

            at = now_iso()
            first = {"first_reply_at": at, "first_reply_met": met(t.first_reply_due, at)}
        after = step(t, to, "reply", "staff", text, **first)
        return after

    after = change(ticket_id, work)
    if not body.internal:
        tell(after, "工作人员已答复")
    return after


def change_status(ticket_id: str, actor: Actor, body: TicketStatusIn) -> Ticket:
    """Staff move the ticket through its lifecycle (accepted, in progress, waiting for the citizen,
    resolved, closed), with a note the citizen sees; an illegal move is a 409."""
    target = TicketStatus(body.status)
    note = body.note or f"状态变更为：{STATUS_NAMES[target]}"

    def work(t: Ticket) -> Ticket:
        TICKETS.move(t.status, target)
        return step(t, target, "status", "staff", note)

    after = change(ticket_id, work, body.version)
    tell(after, STATUS_NAMES[target])
    return after


def assign(ticket_id: str, actor: Actor, body: TicketAssignIn) -> Ticket:
    """Reassign to another team (and/or a person in it) with a reason (on the timeline, audited). The
    deadlines stay: they are the citizen's, not the team's."""
    return _assign(ticket_id, actor, body.team, body.team_name, body.assignee, body.reason, body.version)


def _assign(ticket_id: str, actor: Actor, team: str | None, team_name: str | None, assignee: str | None,
            reason: str, version: int | None) -> Ticket:
    if not team and not assignee:
        raise errors.InvalidInput("team or assignee", field="team", message="请填写改派的团队或经办人")

    def work(t: Ticket) -> Ticket:
        if t.status not in OPEN:
            raise errors.TicketClosed(t.ticket_id, field="ticket_id") if t.status is CLOSED else \
                errors.IllegalTransition(f"ticket {t.status.value}", field="status", message="已办结的工单不能改派")
        new_team, new_name = (team, team_name or team) if team else (t.team, t.team_name)
        who = f"，经办人 {assignee}" if assignee else ""
        note = f"改派至{new_name}{who}：{reason}"
        return step(t, None, "assigned", "staff", note, team=new_team, team_name=new_name,
                    assignee=assignee or (None if team else t.assignee))

    t = change(ticket_id, work, version)
    _audit(actor, t, "assign_ticket", reason)
    return t


def bulk_assign(actor: Actor, body: TicketBulkAssignIn) -> list[tuple[str, Ticket | errors.DomainError]]:
    """Many tickets to one team or person at once: each on its own (its version checked), each
    answered with the ticket or its error; one failing stops none of the others."""
    out: list[tuple[str, Ticket | errors.DomainError]] = []
    for item in body.items:
        try:
            out.append((item.ticket_id, _assign(item.ticket_id, actor, body.team, body.team_name, body.assignee,
                                                body.reason, item.version)))
        except errors.DomainError as exc:
            out.append((item.ticket_id, exc))
    return out


def contact(ticket_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """The citizen's contact in clear, for staff who say why (audited before it is served)."""
    t = get_ticket(ticket_id)
    if not t.contact_allowed:
        raise errors.TicketContactNotAllowed(t.ticket_id, field="ticket_id")
    _audit(actor, t, "read_ticket_contact", reason)
    return {"ticket_id": t.ticket_id, "name": t.contact_name, "mobile": t.contact_mobile}


def get_ticket(ticket_id: str) -> Ticket:
    return deps().tickets.get(ticket_id)  # type: ignore[no-any-return]


def masked_contact(t: Ticket) -> dict[str, Any]:
    from chalicelib.domain.idnumbers import mask_mobile, mask_name

    return {"allowed": t.contact_allowed, "name": mask_name(t.contact_name) if t.contact_name else None,
            "mobile": mask_mobile(t.contact_mobile) if t.contact_mobile else None}


def ratings(by: str, cursor: str | None, limit: int) -> Page[dict[str, Any]]:
    """Ratings per team or per estate: count, average and each score's count (atomic counters)."""
    return deps().tickets.ratings(by, cursor, limit)  # type: ignore[no-any-return]


def kind_name(kind: str) -> str:
    return KINDS.get(kind, kind)
