"""The application lifecycle: statuses, their zh-CN names and the one transition table (light to
import: the staff routes declare their status filter from it)."""
from __future__ import annotations

from enum import StrEnum

from chalicelib import errors
from chalicelib.domain.lifecycle import Lifecycle, Refusal


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


# --- what an application holds: documents, consents, its verification run ------------------------------
class DocumentStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"  # reserved, the phone uploads straight to S3
    ACCEPTED = "accepted"  # the S3-event worker checked its real size and type
    REJECTED = "rejected"  # not what it says (the object is deleted); the citizen uploads again


_D = DocumentStatus
#: Every upload to the document's key is checked again (an overwrite within the presigned form's life).
DOCUMENTS: Lifecycle[DocumentStatus] = Lifecycle(
    "document", _D.AWAITING_UPLOAD,
    {_D.AWAITING_UPLOAD: {_D.ACCEPTED, _D.REJECTED}, _D.ACCEPTED: {_D.ACCEPTED, _D.REJECTED},
     _D.REJECTED: {_D.ACCEPTED, _D.REJECTED}},
    names={_D.AWAITING_UPLOAD: "待上传", _D.ACCEPTED: "已通过检查", _D.REJECTED: "未通过检查"})


class ConsentStatus(StrEnum):
    PENDING = "pending"  # an adult member has not yet authorised the departments' checks
    GIVEN = "given"  # in the app under their own login, or on a signed paper form staff recorded
    WITHDRAWN = "withdrawn"  # the member took it back (PIPL): not asked about until they consent again


_C = ConsentStatus
CONSENTS: Lifecycle[ConsentStatus] = Lifecycle(
    "consent", _C.PENDING, {_C.PENDING: {_C.GIVEN}, _C.GIVEN: {_C.WITHDRAWN}, _C.WITHDRAWN: {_C.GIVEN}},
    names={_C.PENDING: "待授权", _C.GIVEN: "已授权", _C.WITHDRAWN: "已撤回"},
    refusals=[Refusal(frozenset({_C.GIVEN}), frozenset({_C.GIVEN}), errors.AlreadyExists, "member_id"),
              Refusal(frozenset({_C.PENDING, _C.WITHDRAWN}), frozenset({_C.WITHDRAWN}), errors.ConsentNotGiven,
                      "application_id")])


class RunStatus(StrEnum):
    """One verification run (联合审查) of an application; a staff re-run starts a new one (queued)."""

    QUEUED = "queued"  # recorded with the submit; the workflow is being started
    NOT_STARTED = "not_started"  # the workflow could not be started: staff re-run it
    RUNNING = "running"  # the departments are being asked
    DECIDED = "decided"  # the recommendation is made
    FAILED = "failed"  # ended without a decision, or stalled: staff re-run it


_R = RunStatus
#: A step may run again (Step Functions retries), and a run marked failed as stalled may still finish:
#: its late start or decision is kept, never refused.
RUNS: Lifecycle[RunStatus] = Lifecycle(
    "verification_run", _R.QUEUED,
    {_R.QUEUED: {_R.RUNNING, _R.NOT_STARTED, _R.FAILED}, _R.NOT_STARTED: {_R.RUNNING, _R.FAILED},
     _R.RUNNING: {_R.RUNNING, _R.DECIDED, _R.FAILED}, _R.FAILED: {_R.RUNNING, _R.DECIDED, _R.FAILED},
     _R.DECIDED: set()},
    names={_R.QUEUED: "排队中", _R.NOT_STARTED: "未能发起", _R.RUNNING: "联合审查中", _R.DECIDED: "已出结果",
           _R.FAILED: "未完成"})
#: Still expecting the workflow (a run older than the cut-off in one of these is marked failed).
RUN_OPEN = frozenset({_R.QUEUED, _R.RUNNING})


class DepartmentAnswer(StrEnum):
    """A department's part of a run: a result, not a lifecycle (it is written once)."""

    ANSWERED = "answered"
    UNAVAILABLE = "unavailable"


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
