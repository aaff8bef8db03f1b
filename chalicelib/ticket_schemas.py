"""The response shapes of the service desk (投诉建议、报修, issue 13, docs/decisions/0034), beside
schemas.py and built with its helpers; openapi.document() adds them to the document's components."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.tickets import KINDS, TicketStatus
from chalicelib.schemas import INT, ITEM_ERROR, NS, S, B, _enum, _maybe, _obj, _page, _ref

NB = {"type": ["boolean", "null"]}
NI = {"type": ["integer", "null"]}
_TICKET: dict[str, Any] = {
    "ticket_id": S, "kind": _enum(tuple(KINDS)), "kind_name": S, "category": S, "category_name": S, "title": S,
    "text": S, "status": _enum(TicketStatus), "status_name": S, "team": S, "team_name": S, "estate_id": S,
    "estate_name": S, "unit_id": NS, "filed_role": _enum(("citizen", "delegate")), "filed_at": S, "contact_allowed": B,
    "deadlines": _obj({
        "first_reply_due": {**S, "format": "date", "description": "首次答复期限（当日 24 时前，按工作日计）"},
        "first_reply_due_at": S, "resolution_due": {**S, "format": "date", "description": "办结期限"},
        "resolution_due_at": S, "next": _enum(("first_reply", "resolution"), nullable=True), "next_at": NS,
        "first_reply_at": NS, "first_reply_met": NB, "resolved_at": NS, "resolution_met": NB}),
    "photos": {"type": "array", "items": _obj({
        "photo_id": S, "content_type": S, "uploaded_at": S, "checked": B,
        "download": {"anyOf": [_obj({"url": S, "expires_at": S}), {"type": "null"}]}})},
    "rating": _maybe({"score": INT, "comment": NS, "at": S}),
    "closed_at": NS, "reopened": INT,
    "timeline": {"type": "array", "items": _obj({
        "at": S, "action": S, "actor_role": _enum(("citizen", "delegate", "staff", "system")), "note": S,
        "status": _enum(TicketStatus), "status_name": S, "internal": B})},
    "updated_at": S, "version": INT,
}
_STAFF = {
    **_TICKET, "assignee": NS, "contact": _obj({"allowed": B, "name": {**NS, "description": "姓名（已遮盖）"},
                                                  "mobile": {**NS, "description": "手机号（已遮盖）"}}),
    "escalation": INT, "escalation_name": S,
    "escalations": {"type": "array", "items": _obj({"level": INT, "at": S, "to": S,
                                                    "missed": _enum(("first_reply", "resolution"))})},
}
TICKET_SCHEMAS: dict[str, Any] = {
    "Ticket": _obj(_TICKET),
    "TicketPage": _page("Ticket"),
    "StaffTicket": _obj(_STAFF),
    "StaffTicketPage": _page("StaffTicket"),
    "TicketPhotoUpload": _obj({"ticket": _ref("Ticket"), "photo_id": S, "upload": _obj(
        {"url": S, "fields": {"type": "object", "additionalProperties": S}, "max_bytes": INT, "expires_at": S})}),
    "TicketCategories": _obj({"items": {"type": "array", "items": _obj({
        "code": S, "kind": _enum(tuple(KINDS)), "kind_name": S, "name": S, "first_reply_days": INT,
        "resolution_days": INT})}, "reopen_days": INT, "max_photos": INT}),
    "TicketContact": _obj({"ticket_id": S, "name": NS, "mobile": NS}),
    "CannedReplies": _obj({"items": {"type": "array", "items": _obj({"code": S, "title": S, "text": S})}}),
    "TicketBulkAssignResult": _obj({"items": {"type": "array", "items": _obj(
        {"ticket_id": S, "ok": B, "status_code": INT, "version": NI, "error": {"anyOf": [ITEM_ERROR, {"type": "null"}]}})},
        "assigned": INT}),
    "TicketRatingPage": _obj({"items": {"type": "array", "items": _obj({
        "by": _enum(("team", "estate")), "id": S, "name": S, "count": INT,
        "average": {"type": ["number", "null"]},
        "scores": _obj({str(n): INT for n in range(1, 6)})})}, "next_cursor": NS}, ["items"]),
}
