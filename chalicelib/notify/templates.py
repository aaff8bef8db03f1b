"""zh-CN message templates and their rendering; no rendered message carries a full ID number."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.idnumbers import mask_id

#: Every message starts with the sender's signature, as Chinese SMS providers require (【签名】).
SIGNATURE = "【{city_name}公租房】"

#: Template id -> text. Placeholders come from the notice's params, plus ``city_name`` and
#: ``application_id`` (the notice's own). A param a template names but the notice lacks renders empty.
TEMPLATES: dict[str, str] = {
    "application_submitted": "您的公租房申请已提交（申请编号{application_id}），审核进度可在公租房APP中查看。",
    "status_changed": "您的公租房申请（编号{application_id}）状态已更新为：{status_name}。详情请登录公租房APP查看。",
    "document_rejected": "您上传的“{document_name}”未通过检查：{reason}。请登录公租房APP重新上传。",
    "supplement_requested": "您的公租房申请（编号{application_id}）需要补充材料：{note}。请于{deadline}前登录公租房APP提交。",
    "supplement_reminder": "提醒：您的公租房申请补充材料将于{deadline}截止，请尽快登录公租房APP提交。",
    "consent_requested": "您的家庭成员正在申请公租房，需要您授权查询个人信息（个人信息查询授权）。请登录公租房APP确认。",
    "assisted_created": "工作人员已为您代办公租房申请（编号{application_id}），请登录公租房APP核对申请信息。",
    "grant_created": "公租房业务授权委托已生效，受托人可在授权范围和有效期内代为办理。详情请登录公租房APP查看。",
    "grant_revoked": "公租房业务授权委托已撤销，受托人不能再代为办理相关事项。",
    "group_member_added": "您已被工作单位{employer_name}列入公租房团租申请名单，请登录公租房APP核对个人信息并完成授权。",
}

# 18-digit resident IDs (last may be X) and old 15-digit ones, standing alone.
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


class UnknownTemplate(ValueError):
    pass


class _Params(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def mask_ids(text: str) -> str:
    """``440703199001011234`` -> ``4407**********1234`` wherever an ID-number-like run appears."""
    return _ID_LIKE.sub(lambda m: mask_id(m.group(0)) or "", text)


def render(template: str, params: dict[str, Any] | None = None, *, city_name: str,
           application_id: str | None = None) -> str:
    """The message text: signature, then the template with its params, ID numbers masked."""
    if template not in TEMPLATES:
        raise UnknownTemplate(template)
    values = _Params({k: "" if v is None else str(v) for k, v in (params or {}).items()})
    values.setdefault("application_id", application_id or "")
    values["city_name"] = city_name
    text = SIGNATURE.format(city_name=city_name) + TEMPLATES[template].format_map(values)
    return mask_ids(text)

# Publicity (公示), objections and the waiting list (轮候): docs/decisions/0012.
TEMPLATES.update({
    "publicity_started": "您的公租房申请（编号{application_id}）已进入公示，公示期至{ends_at}。公示期满无异议的，将取得公租房轮候资格。",
    "publicity_objection_upheld": "您的公租房申请（编号{application_id}）在公示期间收到的异议经核查成立，申请已退回重新审核：{reason}。详情请登录公租房APP查看。",
    "publicity_objection_dismissed": "您的公租房申请（编号{application_id}）在公示期间收到的异议经核查不成立，公示继续有效。",
    "objection_result": "您对公租房公示名单提出的异议（编号{objection_id}）已处理：{decision_name}。说明：{reason}",
    "qualified": "您的公租房申请（编号{application_id}）公示期满，已取得公租房轮候资格。轮候位次请登录公租房APP查看。",
})

# Lottery rounds (摇号): docs/decisions/0014.
TEMPLATES.update({
    "lottery_registered": "您已报名公租房摇号“{round_title}”，报名编号{registration_no}。摇号结果公布后将另行通知。",
    "lottery_rank": "公租房摇号“{round_title}”结果已公布：您的报名编号{registration_no}，排序第{rank}号（{group_name}）。选房时间另行通知，详情请登录公租房APP查看。",
})

# Online unit selection (选房) and leases (租赁合同): docs/decisions/0015.
TEMPLATES.update({
    "selection_invited": "您已进入“{round_title}”选房，选房顺序号{rank}，选房时段{slot_start}至{slot_end}。请在该时段内登录公租房APP选房。",
    "selection_reinvited": "您在“{round_title}”的选房时段内未选房，现补充安排选房时段{slot_start}至{slot_end}，逾期视为放弃。",
    "unit_chosen": "您已选定{estate_name}{building_name}{number}房（{layout_name}），请登录公租房APP确认租赁合同。",
    "lease_confirmed": "您的公租房租赁合同（编号{lease_id}）已确认，租期{start_date}至{end_date}，月租金{monthly_rent}元。合同文本可在公租房APP中查看。",
})

TEMPLATES.update({
    "real_name_displaced": "您账号登记的身份证号已由本人通过实名核验，您的账号已解除与该身份证号的绑定。如有疑问，请携带身份证到窗口办理。",
})

# Rent reminders (欠租提醒): docs/decisions/0029.
TEMPLATES.update({
    "rent_due": "您的{what}{amount}元（{unit}）今日到期，请登录公租房APP缴纳。如已缴纳请忽略。",
    "rent_overdue": "您的{what}{amount}元（{unit}）已于{due_date}到期，逾期{overdue}，请尽快登录公租房APP缴纳。累计拖欠租金可能影响您的租赁资格。如已缴纳请忽略。",
})

# Renewal (续签): docs/decisions/0033.
TEMPLATES.update({
    "renewal_awaiting_review": "您的公租房租赁合同（编号{lease_id}）续签申请已受理，需重新核查家庭情况，请留意年审通知并在公租房APP中如实申报。",
    "renewal_approved": "您的公租房租赁合同（编号{lease_id}）续签已通过：新合同（编号{new_lease_id}）租期{start_date}至{end_date}，月租金{monthly_rent}元，请登录公租房APP确认新合同。",
    "renewal_refused": "您的公租房租赁合同（编号{lease_id}）不予续签，原因：{reasons}。请于{leave_by}前办理退租，详情请登录公租房APP查看。",
    "lease_renewed": "您已确认续签的公租房租赁合同（编号{lease_id}），租期{start_date}至{end_date}，月租金{monthly_rent}元，押金由原合同结转。",
})

# Move-out (退租): every step, docs/decisions/0030.
TEMPLATES.update({
    "move_out_step": "您的退租办理（{unit}）：{step}。{detail}详情请登录公租房APP查看。",
})

# The annual review's outcome (年审结果): docs/decisions/0031. Every outcome comes with its reasons.
TEMPLATES.update({
    "review_continue": "您的公租房年审（{unit_label}）已办结：{outcome_name}。{reasons}。详情请登录公租房APP查看。",
    "review_higher_rent": "您的公租房年审（{unit_label}）已办结：{outcome_name}。原因：{reasons}。自{from_month}起月租金调整为{monthly_rent}元。如有异议，可在公租房APP中申请复核。",
    "review_must_leave": "您的公租房年审（{unit_label}）已办结：{outcome_name}。原因：{reasons}。请于{leave_by}前腾退房屋，工作人员将与您联系办理退租。如有异议，可在公租房APP中申请复核。",
    "review_exemption_not_confirmed": "您的公租房年审需要您本人申报：请于{deadline}前登录公租房APP确认家庭情况。",
    "review_objection_result": "您对公租房年审结果提出的复核申请已处理：{decision_name}。{reason}。详情请登录公租房APP查看。",
})

# Review campaigns (年审批次): docs/decisions/0032.
TEMPLATES.update({
    "review_opened": "您承租的公租房（{unit}）{campaign}年审已开始，请于{deadline}前登录公租房APP完成年审申报；家庭情况没有变化的，一键确认即可。",
    "review_reminder": "提醒：您承租的公租房（{unit}）{campaign}年审申报将于{deadline}截止（还有{days}天），请尽快登录公租房APP完成申报。如已申报请忽略。",
})

# The service desk (投诉建议、报修): a reply or a change on the citizen's ticket, docs/decisions/0034.
TEMPLATES.update({
    "ticket_step": "您的工单（{title}）：{step}。详情请登录公租房APP查看。",
})
