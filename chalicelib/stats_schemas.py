"""The response shapes of the statistics (统计), issue 14 §2 (docs/decisions/0037), beside schemas.py and
built with its helpers; openapi.document() adds them to the document's components."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.stats_recount import RecountStatus
from chalicelib.schemas import INT, NS, B, N, S, _enum, _obj, _ref

MONTH = {**S, "pattern": r"^\d{4}-\d{2}$", "examples": ["2026-12"]}
NN = {"type": ["number", "null"]}
NINT = {"type": ["integer", "null"]}
_FIGURES = _obj({
    "registered_users": {**INT, "description": "注册用户数（居民与单位）"},
    "units_listed": {**INT, "description": "上架房源数"},
    "policies_published": {**INT, "description": "发布（且未撤回）的政策文件数"},
    "applications_submitted": {**INT, "description": "提交申请数"},
    "applications_approved": {**INT, "description": "审核通过数"},
    "approval_days_avg": {**NN, "description": "提交至审核通过的平均天数（一位小数；无审核通过时为 null）"},
    "approval_days_p90": {**NINT, "description": "提交至审核通过天数的 90% 分位（整天数；无审核通过时为 null）"},
    "payments_online_count": {**INT, "description": "线上缴费笔数（微信支付、支付宝；重复支付退款不计）"},
    "payments_online_amount": {**INT, "description": "线上缴费金额（分）"},
    "payments_online_amount_yuan": {**S, "pattern": r"^-?\d+\.\d{2}$", "examples": ["300.00"],
                                    "description": "线上缴费金额（元，展示用）"},
    "complaints": {**INT, "description": "投诉数"},
    "suggestions": {**INT, "description": "建议数"},
    "feedback_on_time_rate": {**NN, "description": "投诉建议按时办结率（0-1；无办结时为 null）"},
    "feedback_rating_avg": {**NN, "description": "投诉建议平均评分（1-5；无评分时为 null）"},
    "reviews_decided": {**INT, "description": "完成（已确认结果）的年审数"},
    "review_outcomes": _obj({"continue": INT, "higher_rent": INT, "must_leave": INT, "manual": INT}),
    "households_housed": {**INT, "description": "新配租（确认租赁合同）户数，续签不计"},
})

STATS_SCHEMAS: dict[str, Any] = {
    "StatsFigures": _FIGURES,
    "Stats": _obj({
        "month": MONTH, "city": S,
        "figures": {**_ref("StatsFigures"), "description": "当月数据（北京时间自然月）"},
        "totals": {**_ref("StatsFigures"), "description": "累计数据（自系统启用以来）"},
        "updated_at": {**NS, "description": "计数最近一次更新时间"},
    }),
    "StatsExport": _obj({
        "month": MONTH, "format": {"type": "string", "enum": ["csv", "xlsx"]}, "filename": S,
        "url": {**S, "description": "短时有效的下载链接"}, "expires_at": S, "bytes": INT,
    }),
    "StatsRecountTable": _obj({"table": S, "pages": INT, "items": INT, "done": B}),
    "StatsRecountMismatch": _obj({"month": {**S, "description": "月份，或 total（累计）"}, "counter": S,
                                  "counted": {**INT, "description": "计数"}, "recounted": {**INT, "description": "复核数"}}),
    "StatsRecount": _obj({
        "recount_id": S, "through": MONTH, "status": _enum(RecountStatus), "status_name": S,
        "trigger": {"type": "string", "enum": ["admin", "schedule"]},
        "tables": {"type": "array", "items": _ref("StatsRecountTable"), "description": "各数据表的扫描进度"},
        "items_read": INT, "progress": {**N, "description": "已完成扫描的数据表比例（0-1）"},
        "mismatch_count": {**INT, "description": "计数与复核不一致的项数（0 为一致）"},
        "mismatches": {"type": "array", "items": _ref("StatsRecountMismatch"), "description": "不一致的项（最多 100 项）"},
        "steps": INT, "failure": {**NS, "description": "失败原因（失败时；可再次发起复核）"}, "started_at": S, "heartbeat_at": NS, "finished_at": NS,
    }),
}
