"""The application lifecycle: statuses, their zh-CN names and the one transition table (light to
import: the staff routes declare their status filter from it)."""
from __future__ import annotations

from enum import StrEnum

from chalicelib.domain.lifecycle import Lifecycle


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFYING = "verifying"
    UNDER_REVIEW = "under_review"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_PUBLICITY = "in_publicity"
    QUALIFIED = "qualified"
    HOUSED = "housed"
    WITHDRAWN = "withdrawn"


STATUS_NAMES = {
    Status.DRAFT: "草稿", Status.SUBMITTED: "已提交", Status.VERIFYING: "联合审查中", Status.UNDER_REVIEW: "审核中",
    Status.SUPPLEMENT_REQUESTED: "待补正", Status.APPROVED: "审核通过", Status.REJECTED: "未通过",
    Status.IN_PUBLICITY: "公示中", Status.QUALIFIED: "已取得资格", Status.HOUSED: "已配租", Status.WITHDRAWN: "已撤回",
}
S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.VERIFYING, S.UNDER_REVIEW, S.SUPPLEMENT_REQUESTED, S.WITHDRAWN}),
    S.VERIFYING: frozenset({S.UNDER_REVIEW, S.SUPPLEMENT_REQUESTED, S.WITHDRAWN}),
    S.UNDER_REVIEW: frozenset({S.VERIFYING, S.SUPPLEMENT_REQUESTED, S.APPROVED, S.REJECTED, S.WITHDRAWN}),
    S.SUPPLEMENT_REQUESTED: frozenset({S.SUBMITTED, S.REJECTED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.IN_PUBLICITY}),
    S.IN_PUBLICITY: frozenset({S.QUALIFIED, S.UNDER_REVIEW}),
    S.QUALIFIED: frozenset({S.HOUSED}),
    S.HOUSED: frozenset(),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
#: While in one of these, a member's ID number may not be in any other application.
ACTIVE = frozenset(set(Status) - {S.DRAFT, S.REJECTED, S.WITHDRAWN})
#: The citizen (or whoever acts for them) may change documents and answers only here.
EDITABLE = frozenset({S.DRAFT, S.SUPPLEMENT_REQUESTED})
KINDS = {"individual": "家庭申请", "graduate": "人才/新就业申请", "group": "团租（单位申请）"}
CONTENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


APPLICATIONS: Lifecycle[Status] = Lifecycle("application", S.DRAFT, TRANSITIONS, names=STATUS_NAMES)


def check_transition(current: Status, target: Status) -> None:
    APPLICATIONS.move(current, target)


#: Why an application is rejected (stable codes for statistics; the note to the citizen says more).
REJECT_REASONS = {
    "residence": "户籍或居住、社保条件不符合",
    "housing": "已有住房或住房面积超过标准",
    "income": "家庭收入超过标准",
    "vehicles": "车辆价值超过标准",
    "business": "名下企业注册资本超过标准",
    "graduate": "不符合人才/新就业条件",
    "false_declaration": "申报信息与核查结果不符（虚假申报）",
    "supplement_expired": "逾期未补正材料",
    "other": "其他原因",
}
RECOMMENDATIONS = {"pass": "建议通过", "fail": "建议不通过", "manual_review": "需人工审核"}
