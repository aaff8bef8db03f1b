"""The response shapes of move-out (退租, issue 12 §3, docs/decisions/0030), beside schemas.py and built
with its helpers; openapi.document() adds them to the document's components like RESPONSE_SCHEMAS."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.move_outs import CONDITIONS, UNIT_OUTCOMES, MoveOutStatus
from chalicelib.schemas import INT, NS, N, S, _enum, _maybe, _obj, _page, _ref

FEN = {**INT, "description": "分"}
NN = {"type": ["number", "null"]}
LINK = _obj({"url": S, "expires_at": S})
MOVE_OUT_SCHEMAS: dict[str, Any] = {
    "MoveOut": _obj({
        "move_out_id": S, "lease_id": S, "status": _enum(MoveOutStatus), "status_name": S, "unit_id": S,
        "estate_id": S, "unit_label": S, "tenant": {**S, "description": "承租人姓名（已遮盖）"},
        "move_out_date": {**S, "description": "退租日期：租金计至当日"},
        "started_role": _enum(("tenant", "delegate", "staff")), "reason": NS, "review_id": NS,
        "appointment": _maybe({"date": {**S, "format": "date"}, "slot": S, "note": NS}),
        "inspection": _maybe({
            "condition": _enum(tuple(CONDITIONS)), "condition_name": S,
            "meters": _obj({"water": N, "electricity": N, "gas": NN}),
            "damages": {"type": "array", "items": _obj({"item": S, "amount": FEN, "note": NS})},
            "damages_total": FEN, "unit_status": _enum(tuple(UNIT_OUTCOMES)), "unit_status_name": S, "note": NS,
            "inspected_at": S}),
        "photos": {"type": "array", "items": _obj({"photo_id": S, "content_type": S, "caption": NS,
                                                   "uploaded_at": S, "download": LINK})},
        "settlement": _maybe({
            "lines": {"type": "array", "items": _obj({
                "kind": _enum(("deposit", "rent", "rent_refund", "damage")),
                "direction": _enum(("charge", "credit")), "amount": FEN,
                "label": {**S, "description": "这一项的说明（如 2027年3月租金（2027-03-01 至 2027-03-15，按 15/31 天折算））"},
                "bill_id": NS})},
            "charges": FEN, "credits": FEN, "refund_amount": FEN, "balance_amount": FEN,
            "balance_bill_id": {**NS, "description": "押金不足时的退租结算账单，按普通账单缴纳"},
            "cancelled_bill_ids": {"type": "array", "items": S}, "summary": S, "settled_at": S,
            "refund": _maybe({"method": _enum(("provider", "counter")), "provider": NS, "amount": FEN,
                              "status": _enum(("pending", "refunded")), "refund_id": S, "refunded_at": NS,
                              "receipt_no": NS})}),
        "timeline": {"type": "array", "items": _obj({
            "at": S, "action": S, "status": _enum(MoveOutStatus), "status_name": S,
            "actor_role": _enum(("tenant", "delegate", "staff", "system")), "note": S})},
        "created_at": S, "updated_at": S, "version": INT}),
    "MoveOutPage": _page("MoveOut"),
    "MoveOutPhotoUpload": _obj({"move_out": _ref("MoveOut"), "photo_id": S, "upload": _obj(
        {"url": S, "fields": {"type": "object", "additionalProperties": S}, "max_bytes": INT, "expires_at": S})}),
}
