"""zh-CN validation messages: every field's Chinese label and one template per kind of error.

A message names the field and says what is wrong ("每页条数不能超过 100", "是否退役军人应为 true 或
false"). Body fields take their label from ``LABELS`` (``"Model.field"`` first, then ``"field"``);
query parameters from their declaration. Imported only when a write is validated (pydantic path).
"""
from __future__ import annotations

from typing import Any, Iterable, get_args

LABELS: dict[str, str] = {
    # catalogue
    "address": "地址", "area_id": "片区编号", "street_id": "街道编号", "estate_id": "项目编号",
    "building_id": "楼栋编号", "facility_id": "设施编号", "unit_id": "房源编号", "district": "所属区县",
    "description": "简介", "manager": "物业管理信息", "company": "物业公司", "contact": "联系人",
    "phone": "联系电话", "office": "物业办公地点", "hours": "办公时间", "photos": "照片",
    "lat": "纬度", "lng": "经度", "floors": "楼层数", "elevator": "是否有电梯", "number": "房号",
    "layout": "户型", "floor_area": "建筑面积", "floor": "所在楼层", "rent": "月租金（分）",
    "status": "状态", "orientation": "朝向", "reason": "理由", "type": "类型",
    "title": "标题", "body": "正文", "category": "类别", "summary": "摘要", "issuer": "发文机关",
    "doc_number": "文号", "attachments": "附件", "url": "链接地址",
    "AreaIn.name": "片区名称", "StreetIn.name": "街道名称", "EstateIn.name": "项目名称",
    "EstatePatch.name": "项目名称", "BuildingIn.name": "楼栋名称", "FacilityIn.name": "设施名称",
    "FacilityPatch.name": "设施名称", "Attachment.name": "附件名称", "FacilityIn.type": "设施类型",
    "FacilityPatch.type": "设施类型", "DocumentIn.type": "材料类型", "UnitIn.status": "房源状态",
    "UnitStatusIn.status": "房源状态", "PolicyStatusIn.status": "政策状态", "UnitStatusIn.reason": "变更原因",
    "PolicyIn.category": "政策类别", "PolicyPatch.category": "政策类别",
    "PolicyIn.title": "政策标题", "PolicyPatch.title": "政策标题",
    # applying
    "name": "姓名", "id_number": "身份证号码", "mobile": "手机号码", "relation": "与申请人关系",
    "hukou": "户籍", "monthly_income": "月收入（分）", "disability": "是否残疾",
    "veteran": "是否退役军人", "subsistence_allowance": "是否享受低保", "serious_illness": "是否患重大疾病",
    "model_worker": "是否劳动模范", "frontline_worker": "是否一线职工", "members": "家庭成员",
    "version": "版本号", "kind": "申请类别", "declared": "申报信息", "refresh_household": "是否更新家庭成员",
    "note": "备注", "content_type": "文件格式", "size": "文件大小", "member_id": "家庭成员编号",
    "text_version": "授权书版本", "agree": "同意授权",
    "contact_mobile": "联系手机号码", "documents": "补正材料", "deadline": "补正期限",
    "check_id": "实名核验编号", "winner": "身份证号归属",
    "delegate_mobile": "受托人手机号码", "scopes": "授权范围", "expires_at": "授权截止时间",
    "credit_code": "统一社会信用代码", "csv": "导入文件内容",
    "EmployerRegisterIn.name": "单位名称", "EmployerRegisterIn.mobile": "联系手机号码",
    "EmployeeIn.name": "职工姓名", "EmployeeIn.id_number": "职工身份证号码", "EmployeeIn.mobile": "职工手机号码",
    "GroupIn.name": "团租申请名称", "RegisterIn.name": "姓名", "MemberIn.name": "家庭成员姓名",
    # review, publicity, lottery, selection
    "application_id": "申请编号", "items": "审核事项", "reason_code": "不通过原因", "recommendation": "核查建议",
    "RejectIn.note": "给申请人的说明", "OverrideIn.reason": "改变建议的理由", "RerunIn.reason": "重新核查的理由",
    "application_ids": "申请编号列表", "days": "公示天数", "minutes": "公示分钟数", "ends_at": "公示截止时间",
    "PublishIn.title": "公示批次名称", "entry_id": "公示对象编号", "ObjectionIn.reason": "异议理由",
    "ObjectionIn.contact": "联系方式", "decision": "处理结果", "ResolveIn.reason": "处理理由",
    "RoundIn.title": "摇号批次名称", "unit_ids": "房源列表", "registration_opens_at": "报名开始时间",
    "registration_closes_at": "报名截止时间", "priority_groups": "优先组顺序", "layouts_by_size": "各人数可选户型",
    "randomness_source": "公开随机数来源", "slot_minutes": "每个时段的分钟数", "slot_size": "每个时段的户数",
    "force": "是否强制截止", "RoundCloseIn.reason": "强制截止的理由", "RoundCancelIn.reason": "取消的理由",
    "public_value": "公开随机数", "starts_at": "选房开始时间",
    # rent: payments
    "bill_ids": "账单", "provider": "支付方式", "method": "缴费方式", "receipt_no": "收据编号",
    "CounterPaymentIn.reason": "登记理由", "amount": "金额",
    # ids in paths
    "batch_id": "公示批次编号", "document_id": "材料编号", "grant_id": "授权编号", "group_id": "团租申请编号",
    "lease_id": "租赁合同编号", "objection_id": "异议编号", "policy_id": "政策文件编号", "round_id": "摇号批次编号",
    "bill_id": "账单编号", "run_id": "账单生成批次编号", "payment_id": "缴费编号",
    # rent
    "month": "账期（年-月）",
}


def label(model: type | None, field: str) -> str | None:
    """The Chinese label of ``model.field`` (None if it has none: the class test catches that)."""
    if model is not None:
        for cls in getattr(model, "__mro__", (model,)):
            found = LABELS.get(f"{cls.__name__}.{field}")
            if found:
                return found
    return LABELS.get(field)


def field_message(path: str) -> str:
    """For an error that names a field but brings no sentence of its own: "<label>不正确"."""
    name = next((p for p in reversed(path.split(".")) if not p.isdigit()), path)
    return f"{label(None, name) or name}不正确"


def _models_in(annotation: Any) -> Iterable[type]:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models_in(arg)


def label_at(model: type, loc: tuple[Any, ...]) -> str:
    """The label of the field a pydantic error's ``loc`` points at (walking nested models)."""
    current: type | None = model
    found: str | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None) if current is not None else None
        if fields is not None and part in fields:
            found = label(current, str(part)) or str(part)
            current = next(iter(_models_in(fields[part].annotation)), None)
        elif current is None and found and not _is_union_tag(part):
            found = f"{found}“{part}”"  # a key of a dict-valued field (e.g. declared.household_size)
            current = None
    return found or "请求内容"


def _is_union_tag(part: Any) -> bool:
    # pydantic names the branch of a union it tried (int, float, bool, str, list[...], ...)
    return isinstance(part, str) and (part in {"int", "float", "bool", "str", "none", "dict", "list"}
                                      or "[" in part or part.startswith("function-") or part.startswith("lax-"))


def _choices(ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected", ""))
    return expected.replace(" or ", ", ").replace("'", "").replace(", ", "、")


def _n(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# One template per pydantic error type; {label} is the field's Chinese name.
TEMPLATES: dict[str, str] = {
    "missing": "{label}为必填项",
    "empty": "{label}不能为空",
    "extra_forbidden": "不支持的字段：{field}",
    "bool_type": "{label}应为 true 或 false",
    "bool_parsing": "{label}应为 true 或 false",
    "int_type": "{label}应为整数",
    "int_parsing": "{label}应为整数",
    "int_from_float": "{label}应为整数",
    "float_type": "{label}应为数字",
    "float_parsing": "{label}应为数字",
    "finite_number": "{label}应为有限的数字",
    "string_type": "{label}应为文字",
    "list_type": "{label}应为列表",
    "dict_type": "{label}应为对象",
    "model_type": "{label}应为对象",
    "model_attributes_type": "{label}应为对象",
    "none_required": "{label}应为空",
    "string_too_short": "{label}至少 {min_length} 个字",
    "string_too_long": "{label}不能超过 {max_length} 个字",
    "too_short": "{label}至少 {min_length} 项",
    "too_long": "{label}不能超过 {max_length} 项",
    "greater_than_equal": "{label}不能小于 {ge}",
    "greater_than": "{label}应大于 {gt}",
    "less_than_equal": "{label}不能超过 {le}",
    "less_than": "{label}应小于 {lt}",
    "string_pattern_mismatch": "{label}格式不正确",
    "literal_error": "{label}应为以下之一：{choices}",
    "enum": "{label}应为以下之一：{choices}",
    "url_parsing": "{label}格式不正确",
    "union_tag_invalid": "{label}类型不正确",
}
DEFAULT_TEMPLATE = "{label}不正确"


def from_pydantic(model: type, error: dict[str, Any]) -> tuple[str | None, str]:
    """(the JSON path, the zh-CN message) of one pydantic error of ``model``."""
    loc = tuple(error.get("loc", ()))
    path_parts = [str(p) for p in loc if isinstance(p, int) or not _is_union_tag(p)]
    field = ".".join(path_parts) or None
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    if kind.startswith("zh_"):  # our own validators say it in Chinese already (names, ...)
        return field, label_at(model, loc) + str(ctx.get("problem", "不正确"))
    if any(_is_union_tag(p) for p in loc if not isinstance(p, int)) and kind.endswith("_type"):
        return field, f"{label_at(model, loc)}的类型不正确"
    if kind == "literal_error" or kind == "enum":
        ctx["choices"] = _choices(ctx)
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        kind = "empty"
    template = TEMPLATES.get(kind, DEFAULT_TEMPLATE)
    values = {k: _n(v) for k, v in ctx.items()}
    values.update(label=label_at(model, loc), field=field or "")
    try:
        return field, template.format(**values)
    except (KeyError, IndexError, ValueError):
        return field, DEFAULT_TEMPLATE.format(label=values["label"])

LABELS.update({  # arrears and reconciliation (docs/decisions/0029)
    "ReconciliationIn.provider": "支付机构", "ReconciliationIn.day": "对账日期", "MismatchResolveIn.action": "处理方式",
    "MismatchResolveIn.reason": "处理理由", "reconciliation_id": "对账编号", "mismatch_id": "对账差异编号",
})

LABELS.update({  # move-out (docs/decisions/0030)
    "move_out_id": "退租编号", "move_out_date": "退租日期", "review_id": "年审编号", "slot": "验房时段",
    "MoveOutAppointmentIn.date": "验房日期", "MoveOutAppointmentIn.note": "预约说明", "caption": "照片说明",
    "meters": "抄表读数", "water": "水表读数", "electricity": "电表读数", "gas": "燃气表读数", "damages": "损坏赔偿",
    "item": "损坏项目", "Damage.amount": "赔偿金额（分）", "Damage.note": "损坏说明", "condition": "房屋状况",
    "unit_status": "退租后房屋去向", "MoveOutIn.reason": "退租原因", "StaffMoveOutIn.reason": "发起理由",
    "StaffMoveOutCancelIn.reason": "撤销理由", "MoveOutSettleIn.reason": "结算说明", "MoveOutRefundIn.reason": "登记理由",
    "InspectionIn.note": "验房说明", "MoveOutPhotoIn.content_type": "照片格式",
})

LABELS.update({  # the annual review (年审, docs/decisions/0031)
    "AssistedReviewIn.where": "代办方式", "AssistedReviewIn.reason": "代办事由", "AssistedReviewIn.consents_signed": "已签署授权书",
    "ReviewAnswerIn.change": "家庭情况是否变化", "ReviewAnswerIn.consent": "本人授权", "ReviewAnswerIn.members": "家庭成员",
    "ReviewAnswerIn.declared": "申报信息", "ReviewAnswerIn.note": "备注", "ReviewAnswerIn.assisted": "代办信息",
    "ReviewDocumentIn.reason": "代办事由", "ReviewConfirmIn.outcome": "年审结果", "ReviewConfirmIn.reason": "理由",
    "ReviewBulkConfirmIn.campaign_id": "年审批次编号", "ReviewBulkConfirmIn.review_ids": "年审编号列表",
    "ReviewBulkConfirmIn.limit": "确认数量上限", "ReviewObjectionIn.reason": "复核理由", "ReviewObjectionIn.contact": "联系方式",
    "review_id": "年审编号", "campaign_id": "年审批次编号",
})

LABELS.update({  # review campaigns (docs/decisions/0032)
    "ReviewCampaignIn.scope": "年审范围", "ReviewCampaignIn.year": "年审年度", "ReviewCampaignIn.month": "年审月份",
    "ReviewCampaignIn.deadline": "答复截止日期", "ReviewCampaignIn.notices_days_before": "提醒天数",
    "campaign_id": "年审批次编号", "overdue": "逾期未申报",
})

LABELS.update({  # holiday calendars (docs/decisions/0035)
    "HolidayDayIn.date": "日期", "HolidayDayIn.name": "所属节日", "HolidayCalendarIn.complete": "是否全年完整安排",
    "HolidayCalendarIn.holidays": "放假日期", "HolidayCalendarIn.make_up_days": "调休上班日期",
    "HolidayCalendarIn.note": "依据", "holidays": "放假日期", "make_up_days": "调休上班日期", "complete": "是否全年完整安排",
    "year": "年度", "from": "起算日期", "add": "工作日天数",
})

LABELS.update({  # the service desk (投诉建议、报修, docs/decisions/0034)
    "ticket_id": "工单编号", "TicketIn.category": "类别", "TicketIn.title": "标题", "TicketIn.text": "具体情况",
    "TicketIn.unit_id": "房屋", "TicketIn.contact_allowed": "是否同意联系", "TicketIn.grant_id": "授权编号",
    "TicketPhotoIn.content_type": "照片格式", "TicketPhotoIn.size": "文件大小", "TicketReplyIn.text": "补充说明",
    "TicketReopenIn.reason": "重新打开的理由", "score": "评分", "TicketRatingIn.comment": "评价内容",
    "TicketStaffReplyIn.text": "答复内容", "canned_reply": "常用答复", "internal": "内部备注",
    "TicketStaffReplyIn.status": "答复后状态", "TicketStatusIn.status": "工单状态", "TicketStatusIn.note": "说明",
    "team": "团队", "team_name": "团队名称", "assignee": "经办人", "TicketAssignIn.reason": "改派理由",
    "TicketBulkAssignIn.reason": "改派理由", "TicketBulkAssignIn.items": "工单列表", "TicketBulkItem.ticket_id": "工单编号",
    "category": "类别", "ticket": "工单", "by": "统计维度",
})

LABELS.update({  # the ministry's statistics (docs/decisions/0037)
    "StatsRecountIn.through": "复核截至月份",
})

LABELS.update({  # imports of a city's existing data (docs/decisions/0036)
    "ImportIn.format": "文件格式", "ImportIn.file_name": "原文件名",
})

LABELS.update({  # exports in the national system's columns (docs/decisions/0036 "Export")
    "ExportIn.kind": "导出数据类别", "ExportIn.reason": "导出理由", "export_id": "导出任务编号",
})
