"""The response shapes of review campaigns (年审批次), issue 12 §1 (docs/decisions/0032), beside
schemas.py and built with its helpers; openapi.document() adds them to the document's components."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.review_campaigns import PassStatus, Purpose, Scope
from chalicelib.domain.reviews import ReviewStatus
from chalicelib.schemas import INT, NS, B, S, _enum, _obj, _page, _ref

DAY = {"type": "string", "format": "date"}
_COUNTS = {
    "leases_seen": {**INT, "description": "已读取的在租合同数"},
    "reviews_created": {**INT, "description": "本次新开启的年审数"},
    "already_existing": {**INT, "description": "此前已开启（不重复开启）的年审数"},
    "out_of_scope": {**INT, "description": "不在本批次范围的合同数（年审月份不符、尚未起租或已到期）"},
    "notices_queued": {**INT, "description": "已排队发送的通知数（首次通知或本次提醒）"},
    "not_notified": {**INT, "description": "未发通知数（已通知过、已申报或承租人无账号）"},
    "exemptions_started": {**INT, "description": "按本市豁免规则直接由部门核查的年审数（无需家庭申报）"},
    "failed": {**INT, "description": "无法处理的合同数（见 failures）"},
}
_CAMPAIGN = {
    "campaign_id": {**S, "description": "rc-{年度} 或 rc-{年-月}：由年审范围决定，同一批次再次开启不会重复开启年审"},
    "scope": _enum(Scope), "scope_name": S, "period": {**S, "description": "年度（2027）或月份（2027-03）"},
    "deadline": {**DAY, "description": "答复截止日期（北京时间，当日有效）"},
    "notices_days_before": {"type": "array", "items": INT, "description": "截止前第几天提醒"},
    "overdue": {**B, "description": "截止日期已过：未申报的年审转工作人员跟进（不会自动腾退）"},
    "opened_by": NS, "opened_at": S,
}
_PASS = _obj({
    "pass_id": S, "purpose": _enum(Purpose), "purpose_name": S,
    "offset": {"type": ["integer", "null"], "description": "提醒：截止前第几天"},
    "status": _enum(PassStatus), "status_name": S, "started_by": NS, "started_at": S, "finished_at": NS, "reason": NS,
    "shards": INT, "shards_done": INT, "shards_failed": INT, **_COUNTS,
    "failures": {"type": "array", "items": _obj({"shard": S, "lease_id": NS, "reason": S})},
})

CAMPAIGN_SCHEMAS: dict[str, Any] = {
    "ReviewCampaignSummary": _obj(_CAMPAIGN),
    "ReviewCampaignPage": _page("ReviewCampaignSummary"),
    "ReviewCampaignPass": _PASS,
    "ReviewCampaign": _obj({
        **_CAMPAIGN,
        "status": {**_enum(PassStatus), "description": "最近一次开启的进度"}, "status_name": S,
        "reviews_opened": {**INT, "description": "本批次已开启的年审数（每份合同一份）"},
        "passes": {"type": "array", "items": _ref("ReviewCampaignPass"), "description": "开启与提醒，先后为序"}}),
    "CampaignReview": _obj({
        "review_id": S, "campaign_id": S, "lease_id": S, "estate_id": S, "unit_id": S, "unit_label": S,
        "status": _enum(ReviewStatus), "status_name": S, "deadline": DAY,
        "overdue": {**B, "description": "截止日期已过仍未申报：请工作人员跟进"},
        "notices": {"type": "object", "additionalProperties": S,
                    "description": "已发通知：opened（首次通知）或截止前天数 -> 排队时间"},
        "created_at": S}),
    "CampaignReviewPage": _page("CampaignReview"),
}
