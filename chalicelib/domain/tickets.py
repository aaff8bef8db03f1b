"""The service desk (投诉建议、报修, issue 13): tickets filed by a citizen (or a delegate with an
``act`` grant) about an estate or a unit, routed by the city's tickets.json, answered by staff
(domain/ticket_desk.py), held to deadlines in working days (escalated by domain/ticket_sla.py), rated once after
closure. Every reply and change is on the ticket's timeline, which the citizen sees (staff's internal
notes excepted). Decisions: docs/decisions/0034.

No anonymous filing: a ticket is a verified citizen's. Staff see the contact masked unless they give
a reason (audited). A person files at most the city's ``filings_per_minute`` (429 beyond).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.common import CHINA_TZ, Page, new_id
from chalicelib.domain.filetypes import UPLOADS
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request models and the city file's; pydantic stays off the read path
    from chalicelib.bodies import TicketIn, TicketPhotoIn, TicketRatingIn, TicketReopenIn, TicketReplyIn
    from chalicelib.city_files import TicketCategory, TicketsFile


class TicketStatus(StrEnum):
    FILED = "filed"  # filed by the citizen, routed to a team
    ACCEPTED = "accepted"  # the team took it on
    IN_PROGRESS = "in_progress"  # being worked on
    WAITING_CITIZEN = "waiting_citizen"  # staff asked the citizen something; their reply moves it on
    RESOLVED = "resolved"  # staff say it is done
    CLOSED = "closed"  # finished; rated once; reopened within the city's days
    REOPENED = "reopened"  # the citizen says it is not done


FILED, ACCEPTED, IN_PROGRESS = TicketStatus.FILED, TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS
WAITING, RESOLVED, CLOSED, REOPENED = (TicketStatus.WAITING_CITIZEN, TicketStatus.RESOLVED, TicketStatus.CLOSED,
                                       TicketStatus.REOPENED)
STATUS_NAMES = {FILED: "已提交", ACCEPTED: "已受理", IN_PROGRESS: "处理中", WAITING: "待补充情况", RESOLVED: "已办结",
                CLOSED: "已关闭", REOPENED: "已重新打开"}
_WORK = {IN_PROGRESS, WAITING, RESOLVED}
TICKETS: Lifecycle[TicketStatus] = Lifecycle(
    "ticket", FILED,
    {FILED: {ACCEPTED, *_WORK}, ACCEPTED: _WORK, IN_PROGRESS: {WAITING, RESOLVED}, WAITING: {IN_PROGRESS, RESOLVED},
     RESOLVED: {CLOSED, REOPENED}, CLOSED: {REOPENED}, REOPENED: {ACCEPTED, *_WORK}},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({CLOSED}), frozenset(set(TicketStatus) - {REOPENED}), errors.TicketClosed, "ticket_id")])
#: Statuses in which the ticket waits for someone (its deadlines run); the rest are done.
OPEN = frozenset({FILED, ACCEPTED, IN_PROGRESS, WAITING, REOPENED})
KINDS = {"complaint": "投诉", "suggestion": "建议", "repair": "报修"}
PHOTO_TYPES = ("image/jpeg", "image/png")


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    owner: str  # the citizen's login subject
    filed_by: str
    filed_role: str  # citizen | delegate
    kind: str
    category: str
    category_name: str
    team: str
    team_name: str
    estate_id: str
    estate_name: str
    title: str
    text: str
    contact_allowed: bool
    filed_at: str
    filed_month: str
    first_reply_due: str  # YYYY-MM-DD (by the end of that day, China time)
    resolution_due: str
    grant_id: str | None = None
    unit_id: str | None = None
    assignee: str | None = None
    contact_name: str | None = None  # the citizen's name, as registered
    contact_mobile: str | None = None  # as registered; shown masked unless staff give a reason
    status: TicketStatus = FILED
    photos: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    first_reply_at: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    first_reply_met: bool | None = None
    resolution_met: bool | None = None
    escalation: int = 0
    escalations: list[dict[str, Any]] = field(default_factory=list)
    rating: dict[str, Any] | None = None
    reopened: int = 0
    updated_at: str = ""
    version: int = 1


@cache
def city_rules(city: str) -> TicketsFile:
    from chalicelib.city_files import city_file

    return city_file(city, "tickets.json")  # type: ignore[no-any-return]


def rules() -> TicketsFile:
    return city_rules(deps().settings.city_code)


def category(code: str) -> TicketCategory:
    found = next((c for c in rules().categories if c.code == code), None)
    if found is None:
        names = "、".join(f"{c.code}（{c.name}）" for c in rules().categories)
        raise errors.InvalidInput("one of the city's categories", field="category", message=f"类别应为以下之一：{names}")
    return found


def event(action: str, actor_role: str, note: str, *, at: str | None = None, internal: bool = False,
          **extra: Any) -> dict[str, Any]:
    return {"at": at or common.now_iso(), "action": action, "actor_role": actor_role, "note": note,
            "internal": internal, **extra}


def visible_events(t: Ticket) -> list[dict[str, Any]]:
    """The timeline as the citizen sees it: everything but staff's internal notes."""
    return [e for e in t.events if not e.get("internal")]


# --- deadlines (working days, China time) ------------------------------------------------------------------
# A ticket's deadlines are computed once, when it is filed (the resolution's again when it is reopened): due by
# the end of the n-th working day after the day of filing (working_days.add_working_days: weekends, public
# holidays and make-up working days as the State Council arranged them, the city's overrides).


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
    if t.status not in OPEN:
        return None
    if t.first_reply_at is None:
        return "first_reply", end_of(t.first_reply_due)
    return "resolution", end_of(t.resolution_due)


# --- who reaches a ticket -----------------------------------------------------------------------------------
def reach(t: Ticket, actor: Actor, need: str) -> str:
    """"citizen" for the owner, "delegate" for a delegate whose live grant has ``need``; anyone else
    is told the ticket does not exist (404)."""
    if t.owner == actor.subject:
        return "citizen"
    grant = deps().grants.between(t.owner, actor.subject)
    if grant is None:
        raise errors.TicketNotFound(t.ticket_id, field="ticket_id")
    from chalicelib.domain.grants import check

    check(grant, need)
    return "delegate"


def get(ticket_id: str) -> Ticket:
    return deps().tickets.get(ticket_id)  # type: ignore[no-any-return]


def of_citizen(ticket_id: str, actor: Actor) -> Ticket:
    t = get(ticket_id)
    reach(t, actor, "view")
    return t


def mine(actor: Actor, cursor: str | None, limit: int) -> Page[Ticket]:
    """The caller's tickets, newest first."""
    return deps().tickets.of_owner(actor.subject, cursor, limit)  # type: ignore[no-any-return]


# --- filing -------------------------------------------------------------------------------------------------
def file(actor: Actor, body: TicketIn) -> Ticket:
    """A citizen (or a delegate with an ``act`` grant: ``grant_id``) files a ticket about an estate
    (and a unit of it): routed by its category, its deadlines computed now in working days."""
    owner, role, grant_id = actor.subject, "citizen", None
    if body.grant_id:
        from chalicelib.domain.grants import usable

        grant = usable(actor, body.grant_id, "act")
        owner, role, grant_id = str(grant["grantor"]), "delegate", str(grant["grant_id"])
    cat = category(body.category)
    estate = deps().estates.get(body.estate_id)  # 404 ESTATE_NOT_FOUND
    if body.unit_id:
        unit = deps().units.get(body.unit_id)
        if unit.estate_id != estate.estate_id:
            raise errors.InvalidInput("the unit is not in the estate", field="unit_id", message="房屋不在所选小区内")
    team, team_name = route(cat, estate)
    person = deps().households.get(owner)
    deps().tickets.count_filing(actor.subject, rules().filings_per_minute)  # 429 beyond the city's limit
    at = common.now_iso()
    filed = common.now().date()
    first, resolution = deadlines(filed, cat)
    who = "受托人代为提交" if role == "delegate" else "市民提交"
    note = f"{who}{KINDS[cat.kind]}（{cat.name}），转{team_name}办理；首次答复期限 {first.isoformat()}，办结期限 {resolution.isoformat()}"
    t = Ticket(
        ticket_id=new_id("tkt"), owner=owner, filed_by=actor.subject, filed_role=role, grant_id=grant_id,
        kind=cat.kind, category=cat.code, category_name=cat.name, team=team, team_name=team_name,
        estate_id=estate.estate_id, estate_name=estate.name, unit_id=body.unit_id, title=body.title, text=body.text,
        contact_allowed=body.contact_allowed, contact_name=getattr(person, "name", None) if body.contact_allowed else None,
        contact_mobile=getattr(person, "mobile", None) if body.contact_allowed else None,
        filed_at=at, filed_month=at[:7], first_reply_due=first.isoformat(), resolution_due=resolution.isoformat(),
        events=[event("filed", role, note, at=at, status=FILED.value)], updated_at=at)
    deps().tickets.create(t)
    return t


def route(cat: TicketCategory, estate: Any) -> tuple[str, str]:
    """The team a category's ticket about ``estate`` goes to: its property manager, the bureau, or
    its street office (the city's tickets.json names the route of each category)."""
    if cat.route == "property_manager":
        company = (estate.manager or {}).get("company")
        return f"pm-{estate.estate_id}", f"{estate.name}物业服务中心" + (f"（{company}）" if company else "")
    if cat.route == "bureau":
        return rules().bureau_team, rules().bureau_name
    try:
        street = deps().areas.get_street(estate.street_id).name
    except errors.NotFound:
        street = estate.street_id
    return f"street-{estate.street_id}", f"{street}办事处" if street.endswith("街道") else f"{street}街道办事处"


# --- changing a ticket ---------------------------------------------------------------------------------------
def change(ticket_id: str, work: Callable[[Ticket], Ticket], version: int | None = None) -> Ticket:
    """Read, change, write if nobody changed it meanwhile. With ``version`` (the client's), a stale read
    is a 409; without (a reply, a check), the change is made again on a fresh read."""
    for _ in range(3):
        t = get(ticket_id)
        if version is not None:
            common.expect_version(t.version, version)
        after = work(t)
        if after is t:
            return t
        if deps().tickets.replace(t, after):
            return after
        if version is not None:
            break
    raise errors.StaleVersion("the ticket changed", field="version")


def step(t: Ticket, to: TicketStatus | None, action: str, actor_role: str, note: str, *, internal: bool = False,
         **changes: Any) -> Ticket:
    """The ticket after one step: its status moved (through the lifecycle), the timeline entry added, the
    deadline bookkeeping (first reply, resolution, closing) done."""
    at = common.now_iso()
    status = t.status if to is None or to == t.status else TICKETS.move(t.status, to)
    if t.status is CLOSED and status is CLOSED:
        raise errors.TicketClosed(t.ticket_id, field="ticket_id")
    if status is RESOLVED and t.status is not RESOLVED:
        changes.update(resolved_at=at, resolution_met=met(t.resolution_due, at))
        if t.first_reply_at is None:  # resolving answers the citizen too
            changes.update(first_reply_at=at, first_reply_met=met(t.first_reply_due, at))
    if status is CLOSED:
        changes.update(closed_at=at)
    return replace(t, status=status, updated_at=at, version=t.version + 1,
                   events=[*t.events, event(action, actor_role, note, at=at, internal=internal, status=status.value)],
                   **changes)


def tell(t: Ticket, step_name: str) -> None:
    """The citizen hears of a reply or a change (never fails the step: the timeline shows it anyway)."""
    from chalicelib.notify import Notice

    try:
        person = deps().households.get(t.owner)
        deps().notifier.notify(Notice(template="ticket_step", recipient=t.owner, mobile=getattr(person, "mobile", None),
                                      params={"title": t.title, "step": step_name}))
    except Exception as exc:  # noqa: BLE001
        from chalicelib.observability import logger

        logger.warning("ticket notice not sent", extra={"ticket_id": t.ticket_id, "error": type(exc).__name__})


def tell_team(t: Ticket, note: str) -> None:
    """A team (or the bureau) is alerted to a ticket: a structured log line its alarm and console read."""
    from chalicelib.observability import logger

    logger.info("ticket escalated", extra={"ticket_id": t.ticket_id, "team": t.team, "level": t.escalation})


# --- the citizen's steps -------------------------------------------------------------------------------------
def citizen_reply(ticket_id: str, actor: Actor, body: TicketReplyIn) -> Ticket:
    """The citizen (or an ``act`` delegate) adds to the ticket; one waiting for them goes back to staff."""
    def work(t: Ticket) -> Ticket:
        role = reach(t, actor, "act")
        if t.status is CLOSED:
            raise errors.TicketClosed(t.ticket_id, field="ticket_id")
        to = IN_PROGRESS if t.status is WAITING else None
        return step(t, to, "citizen_reply", role, body.text)

    return change(ticket_id, work)


def reopen(ticket_id: str, actor: Actor, body: TicketReopenIn) -> Ticket:
    """Not solved after all: within the city's days after it was resolved, the citizen reopens it; the
    resolution's deadline runs again from today."""
    def work(t: Ticket) -> Ticket:
        role = reach(t, actor, "act")
        TICKETS.move(t.status, REOPENED)
        done = date.fromisoformat((t.resolved_at or t.closed_at or t.updated_at)[:10])
        if common.now().date() > done + timedelta(days=rules().reopen_days):
            raise errors.TicketReopenExpired(t.ticket_id, field="ticket_id")
        due = resolution_after(common.now().date(), category(t.category))
        return step(t, REOPENED, "reopened", role, f"重新打开：{body.reason}；新的办结期限 {due.isoformat()}",
                    resolution_due=due.isoformat(), resolved_at=None, resolution_met=None, closed_at=None,
                    reopened=t.reopened + 1)

    after = change(ticket_id, work)
    tell(after, "已重新打开，工作人员将继续办理")
    return after


def rate(ticket_id: str, actor: Actor, body: TicketRatingIn) -> Ticket:
    """A closed ticket rated 1-5 with a comment, once (conditional write), counted into its team's and
    its estate's ratings in the same transaction."""
    t = get(ticket_id)
    role = reach(t, actor, "act")
    if t.rating is not None:
        raise errors.TicketAlreadyRated(t.ticket_id, field="ticket_id")
    if t.status is not CLOSED:
        raise errors.TicketNotRateable(t.ticket_id, field="ticket_id")
    at = common.now_iso()
    rating = {"score": body.score, "comment": body.comment, "at": at, "by_role": role}
    after = replace(t, rating=rating, updated_at=at, version=t.version + 1,
                    events=[*t.events, event("rated", role, f"服务评价 {body.score} 星" + (f"：{body.comment}" if body.comment
                                                                                       else ""), at=at,
                                             status=t.status.value)])
    deps().tickets.rate(t, after)  # a second rating (even at once) is 409 TICKET_ALREADY_RATED
    return after


# --- photos --------------------------------------------------------------------------------------------------
def photo_upload(ticket_id: str, actor: Actor, body: TicketPhotoIn) -> tuple[Ticket, dict[str, Any], dict[str, Any]]:
    """Reserve a photo of an open ticket and hand back a presigned POST straight to S3 (JPEG/PNG); the
    S3-event worker checks what arrives (``record_check``)."""
    if body.content_type not in PHOTO_TYPES:
        raise errors.InvalidInput("image/jpeg or image/png", field="content_type", message="照片格式应为 image/jpeg 或 image/png")
    if body.size is not None and body.size > deps().settings.max_document_bytes:
        raise errors.BodyTooLarge(f"at most {deps().settings.max_document_bytes} bytes")
    photo: dict[str, Any] = {}

    def work(t: Ticket) -> Ticket:
        reach(t, actor, "act")
        if t.status is CLOSED:
            raise errors.TicketClosed(t.ticket_id, field="ticket_id")
        if len(t.photos) >= rules().max_photos:
            raise errors.TooManyDocuments(str(rules().max_photos), message=f"每件工单最多 {rules().max_photos} 张照片")
        photo_id = new_id("pho") + new_id("")  # 128 random bits: keys are not guessable
        photo.clear()
        photo.update(photo_id=photo_id, key=f"{UPLOADS}{t.ticket_id}/{photo_id}", content_type=body.content_type,
                     uploaded_at=common.now_iso())
        return replace(t, photos=[*t.photos, dict(photo)], updated_at=common.now_iso(), version=t.version + 1)

    after = change(ticket_id, work)
    return after, photo, deps().storage.presigned_post(photo["key"], body.content_type)


def record_check(ticket_id: str, photo_id: str, size: int, head: bytes) -> None:
    """The S3-event worker's verdict on a ticket's photo (real size and magic bytes): a photo that is
    empty, too large or not the image it claimed is dropped (its object deleted, a line on the timeline
    says why); a good one is marked checked. The ticket itself is never touched otherwise."""
    from chalicelib.domain.filetypes import describe_unknown, sniff

    dropped: dict[str, Any] = {}

    def work(t: Ticket) -> Ticket:
        photo = next((p for p in t.photos if p["photo_id"] == photo_id), None)
        if photo is None or photo.get("checked_at"):
            return t
        actual = sniff(head)
        ok = 0 < size <= deps().settings.max_document_bytes and actual == photo["content_type"]
        at = common.now_iso()
        if ok:
            kept = [{**p, "checked_at": at, "size": size} if p is photo else p for p in t.photos]
            return replace(t, photos=kept, updated_at=at, version=t.version + 1)
        dropped.update(photo)
        why = "文件为空" if size == 0 else ("文件过大" if size > deps().settings.max_document_bytes else
                                          describe_unknown(head) if actual is None else f"文件实际类型为 {actual}")
        return replace(t, photos=[p for p in t.photos if p is not photo], updated_at=at, version=t.version + 1,
                       events=[*t.events, event("photo_rejected", "system", f"照片未通过检查，已删除：{why}", at=at,
                                                status=t.status.value)])

    try:
        change(ticket_id, work)
    except errors.TicketNotFound:
        return
    if dropped:
        from chalicelib.observability import logger

        logger.warning("ticket photo rejected", extra={"ticket_id": ticket_id, "size": size})
        deps().storage.delete(dropped["key"])


def photo_links(t: Ticket, actor: Actor) -> list[dict[str, Any]]:
    """The checked photos with short-lived links, for the owner, a delegate with a live grant, or staff
    (a photo of a broken pipe carries no personal data: a view grant suffices, as for a move-out's)."""
    from chalicelib.identity import Role

    if not actor.has(Role.STAFF, Role.ADMIN):
        reach(t, actor, "view")
    storage = deps().storage
    return [{"photo_id": p["photo_id"], "content_type": p["content_type"], "uploaded_at": p["uploaded_at"],
             "checked": bool(p.get("checked_at")),
             "download": storage.presigned_get(p["key"], p["content_type"]) if p.get("checked_at") else None}
            for p in t.photos]
