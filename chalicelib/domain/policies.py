"""Policy documents (政策文件): drafted, published, withdrawn; only published ones are public."""
from __future__ import annotations

import enum
from enum import StrEnum
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.domain.common import Page, edits, expect_version, new_id, now_iso
from chalicelib.deps import deps
from chalicelib.domain.lifecycle import Lifecycle

if TYPE_CHECKING:
    from chalicelib.bodies import PolicyIn, PolicyPatch


class PolicyStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class PolicyCategory(str, enum.Enum):
    ADMISSION = "admission"  # 准入条件
    APPLICATION = "application"  # 申请流程
    RENT = "rent"  # 租金与减免
    ALLOCATION = "allocation"  # 轮候与配租
    MANAGEMENT = "management"  # 使用管理与退出
    TALENT = "talent"  # 人才与新就业
    NOTICE = "notice"  # 通知公告


CATEGORY_NAMES = {
    PolicyCategory.ADMISSION: "准入条件",
    PolicyCategory.APPLICATION: "申请流程",
    PolicyCategory.RENT: "租金与减免",
    PolicyCategory.ALLOCATION: "轮候与配租",
    PolicyCategory.MANAGEMENT: "使用管理与退出",
    PolicyCategory.TALENT: "人才与新就业",
    PolicyCategory.NOTICE: "通知公告",
}

TRANSITIONS: dict[PolicyStatus, frozenset[PolicyStatus]] = {
    PolicyStatus.DRAFT: frozenset({PolicyStatus.PUBLISHED}),
    PolicyStatus.PUBLISHED: frozenset({PolicyStatus.WITHDRAWN}),
    PolicyStatus.WITHDRAWN: frozenset({PolicyStatus.PUBLISHED}),
}
STATUS_NAMES = {PolicyStatus.DRAFT: "草稿", PolicyStatus.PUBLISHED: "已发布", PolicyStatus.WITHDRAWN: "已撤回"}
POLICIES: Lifecycle[PolicyStatus] = Lifecycle("policy", PolicyStatus.DRAFT, TRANSITIONS, names=STATUS_NAMES)


@dataclass(frozen=True)
class Policy:
    policy_id: str
    title: str
    body: str
    category: PolicyCategory
    status: PolicyStatus
    summary: str | None = None
    issuer: str | None = None
    doc_number: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    published_at: str | None = None
    version: int = 0
    created_at: str = ""
    updated_at: str = ""


def get_public(policy_id: str) -> Policy:
    policy = deps().policies.get(policy_id)
    if policy.status is not PolicyStatus.PUBLISHED:
        raise errors.PolicyNotFound(policy_id)  # drafts and withdrawn documents do not exist publicly
    return policy


def get(policy_id: str) -> Policy:
    return deps().policies.get(policy_id)


def search(
    category: PolicyCategory | None,
    q: str | None,
    status: PolicyStatus,
    cursor: str | None,
    limit: int,
) -> Page[Policy]:
    return deps().policies.search(category, q, status, cursor, limit)


def create(data: PolicyIn) -> Policy:
    stamp = now_iso()
    policy = Policy(
        policy_id=new_id("pol"),
        title=data.title,
        body=data.body,
        category=PolicyCategory(data.category),
        status=PolicyStatus.DRAFT,
        summary=data.summary,
        issuer=data.issuer,
        doc_number=data.doc_number,
        attachments=[a.model_dump(mode="json") for a in data.attachments],
        created_at=stamp,
        updated_at=stamp,
    )
    return deps().policies.create(policy)


def update(policy_id: str, changes: PolicyPatch, version: int) -> Policy:
    current = get(policy_id)
    expect_version(current.version, version)
    values = edits(changes.model_dump(mode="json"), {"title", "body", "category", "summary", "issuer", "doc_number", "attachments"})
    if "category" in values:
        values["category"] = PolicyCategory(values["category"])
    return deps().policies.save(current, replace(current, **values, updated_at=now_iso()))


def change_status(policy_id: str, to: PolicyStatus, version: int, published_at: str | None = None) -> Policy:
    current = get(policy_id)
    expect_version(current.version, version)
    to = POLICIES.move(current.status, to)
    stamp = now_iso()
    when = current.published_at if to is PolicyStatus.WITHDRAWN else (published_at or stamp)
    return deps().policies.save(current, replace(current, status=to, published_at=when, updated_at=stamp))
