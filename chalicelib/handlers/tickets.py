"""The service desk (投诉建议、报修, issue 13): citizens (or delegates with an ``act`` grant) file
complaints, suggestions and repair requests with photos, follow and add to them, reopen and rate
them; staff work the queue by deadline, reply (canned replies from the city's tickets.json), move,
reassign and reveal the contact with a reason; admins read the ratings per team and estate. The
breach sweep runs every 15 minutes. Decisions: docs/decisions/0034."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from chalicelib import errors, lazy
from chalicelib.handlers.roles import ADMIN, CASE_STAFF, CITIZEN
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param, item_failure

if TYPE_CHECKING:
    from chalicelib.domain.tickets import Ticket

tickets = lazy.module("chalicelib.domain.tickets")
desk = lazy.module("chalicelib.domain.ticket_desk")

bp = Blueprint(__name__)
api = Api(bp, "tickets")

REF = r"^[A-Za-z0-9_-]{1,80}$"
TEAM = Param("team", description="团队编码（如 bureau、pm-fuzeyuan）", pattern=REF, label="团队")
CATEGORY = Param("category", description="类别编码", pattern=r"^[a-z][a-z0-9_]{1,39}$", label="类别")
ESTATE = Param("estate_id", description="小区", pattern=REF, label="小区")
QUEUE_STATUS = Param("status", "enum", "open（未办结，缺省）、done（已办结）或某一状态", default="open", label="工单状态",
                     choices=("open", "done", "filed", "accepted", "in_progress", "waiting_citizen", "resolved", "closed",
                              "reopened"))
REASON = Param("reason", description="查看联系方式的事由（记入审计）", required=True, max_length=200, label="查看事由")
BY = Param("by", "enum", "按团队（team）或小区（estate）统计", choices=("team", "estate"), default="team", label="统计维度")


def present(t: Ticket, actor: Any, *, staff: bool = False) -> dict[str, Any]:
    """The ticket as the citizen sees it (timeline without internal notes), or as staff do (every note,
    the contact masked, escalations)."""
    from chalicelib.domain.ticket_sla import LEVEL_NAMES
    from chalicelib.domain.tickets import end_of, next_deadline

    names = tickets.STATUS_NAMES
    nxt = next_deadline(t)
    events = t.events if staff else tickets.visible_events(t)
    out = {
        "ticket_id": t.ticket_id, "kind": t.kind, "kind_name": tickets.KINDS[t.kind], "category": t.category,
        "category_name": t.category_name, "title": t.title, "text": t.text, "status": t.status.value,
        "status_name": names[t.status], "team": t.team, "team_name": t.team_name, "estate_id": t.estate_id,
        "estate_name": t.estate_name, "unit_id": t.unit_id, "filed_role": t.filed_role, "filed_at": t.filed_at,
        "contact_allowed": t.contact_allowed,
        "deadlines": {"first_reply_due": t.first_reply_due, "first_reply_due_at": end_of(t.first_reply_due),
                      "resolution_due": t.resolution_due, "resolution_due_at": end_of(t.resolution_due),
                      "next": nxt[0] if nxt else None, "next_at": nxt[1] if nxt else None,
                      "first_reply_at": t.first_reply_at, "first_reply_met": t.first_reply_met,
                      "resolved_at": t.resolved_at, "resolution_met": t.resolution_met},
        "photos": tickets.photo_links(t, actor),
        "rating": {"score": t.rating["score"], "comment": t.rating.get("comment"), "at": t.rating["at"]}
        if t.rating else None,
        "closed_at": t.closed_at, "reopened": t.reopened,
        "timeline": [{"at": e["at"], "action": e["action"], "actor_role": e["actor_role"], "note": e["note"],
                      "status": e["status"], "status_name": names[tickets.TicketStatus(e["status"])],
                      "internal": bool(e.get("internal"))} for e in events],
        "updated_at": t.updated_at, "version": t.version,
    }
    if staff:
        out.update(assignee=t.assignee, contact=desk.masked_contact(t), escalation=t.escalation,
                   escalation_name=LEVEL_NAMES[t.escalation],
                   escalations=[{"level": e["level"], "at": e["at"], "to": e["to"], "missed": e["deadline"]}
                                for e in t.escalations])
    return out


def page(result: Any, actor: Any, *, staff: bool = False) -> dict[str, Any]:
    return {"items": [present(t, actor, staff=staff) for t in result.items], "next_cursor": result.next_cursor}


# --- the city's lists ----------------------------------------------------------------------------------------
@api.route("/v1/ticket-categories", summary="工单类别：投诉、建议、报修的类别与办理时限（工作日）",
           response="TicketCategories", operation_id="listTicketCategories")
def categories(call: Call) -> dict[str, Any]:
    r = tickets.rules()
    return {"items": [{"code": c.code, "kind": c.kind, "kind_name": tickets.KINDS[c.kind], "name": c.name,
                       "first_reply_days": c.first_reply_days, "resolution_days": c.resolution_days}
                      for c in r.categories], "reopen_days": r.reopen_days, "max_photos": r.max_photos}


# --- the citizen -----------------------------------------------------------------------------------------------
@api.route("/v1/tickets", "POST", summary="提交投诉、建议或报修（实名；可由持 act 授权的受托人代为提交）", roles=CITIZEN,
           body="chalicelib.bodies:TicketIn", status=201, response="Ticket",
           raises=(errors.EstateNotFound, errors.UnitNotFound, errors.GrantNotFound, errors.TicketsRateLimited),
           operation_id="fileTicket")
def file_ticket(call: Call) -> dict[str, Any]:
    """Files a ticket; its team and its deadlines (first reply, resolution, in working days) come back."""
    return present(tickets.file(call.actor, call.model()), call.actor)


@api.route("/v1/me/tickets", summary="我的工单（最新的在前）", roles=CITIZEN, params=[CURSOR, LIMIT],
           response="TicketPage", operation_id="listMyTickets")
def my_tickets(call: Call) -> dict[str, Any]:
    return page(tickets.mine(call.actor, call.params["cursor"], call.params["limit"]), call.actor)


@api.route("/v1/tickets/{ticket_id}", summary="一件工单：办理进度、时限、答复与时间线", roles=CITIZEN, response="Ticket",
           raises=(errors.TicketNotFound,), operation_id="getTicket")
def get_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """The ticket for its citizen or any delegate of theirs (internal notes are not on the timeline)."""
    return present(tickets.of_citizen(ticket_id, call.actor), call.actor)


@api.route("/v1/tickets/{ticket_id}/photos", "POST", summary="上传工单照片：返回直传 S3 的表单（JPEG/PNG）",
           roles=CITIZEN, body="chalicelib.bodies:TicketPhotoIn", status=201, response="TicketPhotoUpload",
           raises=(errors.TicketNotFound, errors.TicketClosed, errors.TooManyDocuments), operation_id="addTicketPhoto")
def add_photo(call: Call, ticket_id: str) -> dict[str, Any]:
    t, photo, upload = tickets.photo_upload(ticket_id, call.actor, call.model())
    return {"ticket": present(t, call.actor), "photo_id": photo["photo_id"], "upload": upload}


@api.route("/v1/tickets/{ticket_id}/replies", "POST", summary="补充说明或回复工作人员", roles=CITIZEN,
           body="chalicelib.bodies:TicketReplyIn", response="Ticket",
           raises=(errors.TicketNotFound, errors.TicketClosed), operation_id="replyToTicket")
def citizen_reply(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(tickets.citizen_reply(ticket_id, call.actor, call.model()), call.actor)


@api.route("/v1/tickets/{ticket_id}/reopen", "POST", summary="问题未解决：办结后规定天数内重新打开", roles=CITIZEN,
           body="chalicelib.bodies:TicketReopenIn", response="Ticket",
           raises=(errors.TicketNotFound, errors.TicketReopenExpired), operation_id="reopenTicket")
def reopen(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(tickets.reopen(ticket_id, call.actor, call.model()), call.actor)


@api.route("/v1/tickets/{ticket_id}/rating", "POST", summary="服务评价：工单关闭后 1-5 星并可留言，每件一次",
           roles=CITIZEN, body="chalicelib.bodies:TicketRatingIn", response="Ticket",
           raises=(errors.TicketNotFound, errors.TicketNotRateable, errors.TicketAlreadyRated),
           operation_id="rateTicket")
def rate(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(tickets.rate(ticket_id, call.actor, call.model()), call.actor)


# --- staff ----------------------------------------------------------------------------------------------------
@api.route("/v1/staff/tickets", summary="工单队列：按时限先后，可按团队、类别、小区、状态筛选", roles=CASE_STAFF,
           params=[TEAM, CATEGORY, ESTATE, QUEUE_STATUS, CURSOR, LIMIT], response="StaffTicketPage",
           operation_id="listTicketQueue")
def ticket_queue(call: Call) -> dict[str, Any]:
    p = call.params
    return page(desk.queue(p["team"], p["category"], p["estate_id"], p["status"], p["cursor"], p["limit"]),
                call.actor, staff=True)


@api.route("/v1/staff/tickets/{ticket_id}", summary="一件工单（联系方式已遮盖；含内部备注与督办记录）",
           roles=CASE_STAFF, response="StaffTicket", raises=(errors.TicketNotFound,), operation_id="getStaffTicket")
def staff_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(desk.get_ticket(ticket_id), call.actor, staff=True)


@api.route("/v1/staff/tickets/{ticket_id}/contact", summary="查看提交人联系方式（须填写事由，记入审计）",
           roles=CASE_STAFF, params=[REASON], response="TicketContact",
           raises=(errors.TicketNotFound, errors.TicketContactNotAllowed), operation_id="revealTicketContact")
def contact(call: Call, ticket_id: str) -> dict[str, Any]:
    return desk.contact(ticket_id, call.actor, call.params["reason"])


@api.route("/v1/staff/tickets/{ticket_id}/replies", "POST", summary="答复市民（可选常用答复）或添加内部备注",
           roles=CASE_STAFF, body="chalicelib.bodies:TicketStaffReplyIn", response="StaffTicket",
           raises=(errors.TicketNotFound, errors.TicketClosed), operation_id="answerTicket")
def staff_reply(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(desk.reply(ticket_id, call.actor, call.model()), call.actor, staff=True)


@api.route("/v1/staff/tickets/{ticket_id}/status", "POST", summary="变更工单状态（受理、处理中、待补充、办结、关闭）",
           roles=CASE_STAFF, body="chalicelib.bodies:TicketStatusIn", response="StaffTicket",
           raises=(errors.TicketNotFound, errors.TicketClosed), operation_id="changeTicketStatus")
def change_status(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(desk.change_status(ticket_id, call.actor, call.model()), call.actor, staff=True)


@api.route("/v1/staff/tickets/{ticket_id}/assign", "POST", summary="改派工单（团队或经办人；理由必填，记入审计）",
           roles=CASE_STAFF, body="chalicelib.bodies:TicketAssignIn", response="StaffTicket",
           raises=(errors.TicketNotFound, errors.TicketClosed), operation_id="assignTicket")
def assign(call: Call, ticket_id: str) -> dict[str, Any]:
    return present(desk.assign(ticket_id, call.actor, call.model()), call.actor, staff=True)


@api.route("/v1/staff/ticket-assignments", "POST", summary="批量改派工单（逐件返回结果）", roles=CASE_STAFF,
           body="chalicelib.bodies:TicketBulkAssignIn", response="TicketBulkAssignResult",
           operation_id="bulkAssignTickets")
def bulk_assign(call: Call) -> dict[str, Any]:
    items = []
    for ticket_id, outcome in desk.bulk_assign(call.actor, call.model()):
        if isinstance(outcome, errors.DomainError):
            items.append({"ticket_id": ticket_id, "version": None, **item_failure(outcome)})
        else:
            items.append({"ticket_id": ticket_id, "ok": True, "status_code": 200, "version": outcome.version,
                          "error": None})
    return {"items": items, "assigned": sum(1 for i in items if i["ok"])}


@api.route("/v1/staff/ticket-replies", summary="常用答复（城市配置）", roles=CASE_STAFF, response="CannedReplies",
           operation_id="listCannedReplies")
def canned_replies(call: Call) -> dict[str, Any]:
    return {"items": [{"code": c.code, "title": c.title, "text": c.text} for c in tickets.rules().canned_replies]}


@api.route("/v1/admin/ticket-ratings", summary="服务评价统计：按团队或小区（评价数、平均分、各星级数量）",
           roles=ADMIN, params=[BY, CURSOR, LIMIT], response="TicketRatingPage", operation_id="listTicketRatings")
def ratings(call: Call) -> dict[str, Any]:
    result = desk.ratings(call.params["by"], call.params["cursor"], call.params["limit"])
    return {"items": result.items, "next_cursor": result.next_cursor}


# --- the breach sweep -------------------------------------------------------------------------------------------
@bp.schedule(Rate(15, unit=Rate.MINUTES), name="sweep_tickets")
def sweep_tickets(event: Any) -> dict[str, int]:
    """Open tickets past a deadline escalated (the team lead, then the bureau, each once) and counted."""
    from chalicelib.domain.ticket_sla import sweep

    return sweep()
