"""The response shapes of arrears (欠租) and reconciliation (对账), issue 11 §4 (docs/decisions/0029),
beside schemas.py (at its size limit) and built with its helpers; openapi.document() adds them to the
document's components like RESPONSE_SCHEMAS."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.reconciliation import MismatchStatus, ReconciliationStatus, ResolveAction
from chalicelib.domain.reconciliation_matching import MismatchKind
from chalicelib.schemas import INT, NS, B, S, _enum, _maybe, _obj, _page, _ref

FEN = {**INT, "description": "分"}
DAY = {"type": "string", "format": "date"}
#: A page of a staff list, with the city's months of arrears that call for action.
_PAGE = {"next_cursor": NS, "threshold": {**INT, "description": "城市规定的需处置欠租月数（全国规定为累计6个月）"}}

ARREARS_SCHEMAS: dict[str, Any] = {
    "Arrears": _obj({
        "lease_id": S, "estate_id": S, "unit_label": S, "tenant": {**NS, "description": "租户姓名，已遮盖，如 张*明"},
        "months": {**INT, "description": "逾期未缴的月租账单数"}, "amount": {**FEN, "description": "逾期未缴租金合计（分）"},
        "since": {**DAY, "description": "最早一笔逾期未缴账单的缴费截止日"}, "bill_ids": {"type": "array", "items": S},
        "flagged": {**B, "description": "欠租月数已达城市规定，需处置"}, "flagged_at": NS,
        "threshold": INT, "updated_at": S}),
    "ArrearsPage": _obj({"items": {"type": "array", "items": _ref("Arrears")}, **_PAGE}, ["items", "threshold"]),
    "ArrearsSummary": _obj({
        "estate_id": S, "estate_name": NS, "leases": {**INT, "description": "欠租户数"},
        "flagged": {**INT, "description": "需处置户数"}, "months": {**INT, "description": "欠租月数合计"},
        "amount": FEN, "updated_at": S}),
    "ArrearsSummaryPage": _obj({"items": {"type": "array", "items": _ref("ArrearsSummary")}, **_PAGE},
                               ["items", "threshold"]),
    "Reconciliation": _obj({
        "reconciliation_id": {**S, "description": "rec_{provider}_{yyyymmdd}：每个支付机构每天一条"},
        "provider": _enum(("wechat", "alipay")), "day": {**DAY, "description": "对账日期（北京时间）"},
        "status": _enum(ReconciliationStatus), "status_name": S,
        "lines_read": {**INT, "description": "已读取的对账单行数"}, "ours_read": {**INT, "description": "本方当日支付笔数"},
        "matched": INT, "mismatches": _obj({k.value: INT for k in MismatchKind}),
        "pending": {**INT, "description": "临近零点、待相邻日对账单核对的笔数"},
        "pending_decided": {**INT, "description": "本次了结的待核对笔数"}, "runs": {**INT, "description": "执行次数"},
        "started_at": S, "heartbeat_at": S, "finished_at": NS, "error": NS}),
    "Mismatch": _obj({
        "mismatch_id": S, "reconciliation_id": S, "provider": _enum(("wechat", "alipay")), "day": DAY,
        "kind": _enum(MismatchKind), "kind_name": S,
        "order_id": {**S, "description": "本方支付单号（支付机构的商户订单号）"}, "refund_id": NS, "transaction_id": NS,
        "here": {**_maybe({"amount": FEN, "state": {**S, "description": "本方支付状态"}, "at": S}),
                 "description": "本方记录（本方没有时为 null）"},
        "there": {**_maybe({"amount": FEN, "kind": _enum(("payment", "refund")), "at": S, "transaction_id": NS}),
                  "description": "支付机构对账单中的记录（对账单中没有时为 null）"},
        "detail": NS, "status": _enum(MismatchStatus), "status_name": S, "action": _enum(ResolveAction, nullable=True),
        "action_name": NS, "reason": NS, "resolved_at": NS, "created_at": S, "version": INT}),
    "MismatchPage": _page("Mismatch"),
}
