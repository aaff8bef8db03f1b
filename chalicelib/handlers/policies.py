"""Policy documents: public reads of published ones; admins draft, publish and withdraw."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

from chalicelib.domain import policies
from chalicelib.domain.policies import CATEGORY_NAMES, Policy, PolicyCategory, PolicyStatus
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

bp = Blueprint(__name__)
api = Api(bp, "policies")

CATEGORY = Param("category", "enum", "政策类别", choices=tuple(c.value for c in PolicyCategory))
QUERY = Param("q", description="标题或正文包含的文字", max_length=50)


def present(p: Policy, *, full: bool = True) -> dict[str, Any]:
    out = asdict(p)
    out.update(category=p.category.value, category_name=CATEGORY_NAMES[p.category], status=p.status.value)
    out.pop("created_at")
    if not full:
        out.pop("body")
    return out


def _page(category: str | None, q: str | None, status: PolicyStatus, call: Call) -> dict[str, Any]:
    page = policies.search(PolicyCategory(category) if category else None, q, status,
                           call.params["cursor"], call.params["limit"])
    return {"items": [present(p, full=False) for p in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/policies", summary="政策文件列表（已发布，新的在前）", response="PolicyPage",
           params=[CATEGORY, QUERY, CURSOR, LIMIT])
def list_policies(call: Call) -> dict[str, Any]:
    return _page(call.params["category"], call.params["q"], PolicyStatus.PUBLISHED, call)


@api.route("/v1/policies/{policy_id}", summary="政策文件详情", response="Policy")
def get_policy(call: Call, policy_id: str) -> dict[str, Any]:
    return present(policies.get_public(policy_id))


@api.route("/v1/admin/policies", summary="政策文件管理列表（含草稿、已撤回）", roles=ADMIN,
           response="PolicyPage", params=[
               Param("status", "enum", "状态", choices=tuple(s.value for s in PolicyStatus), default="draft"),
               CATEGORY, QUERY, CURSOR, LIMIT])
def admin_list_policies(call: Call) -> dict[str, Any]:
    return _page(call.params["category"], call.params["q"], PolicyStatus(call.params["status"]), call)


@api.route("/v1/admin/policies/{policy_id}", summary="政策文件（任意状态）", roles=ADMIN, response="Policy")
def admin_get_policy(call: Call, policy_id: str) -> dict[str, Any]:
    return present(policies.get(policy_id))


@api.route("/v1/admin/policies", "POST", summary="新建政策文件（草稿）", roles=ADMIN,
           body="chalicelib.bodies:PolicyIn", status=201, response="Policy")
def create_policy(call: Call) -> dict[str, Any]:
    return present(policies.create(call.model()))


@api.route("/v1/admin/policies/{policy_id}", "PATCH", summary="修改政策文件", roles=ADMIN,
           body="chalicelib.bodies:PolicyPatch", response="Policy")
def update_policy(call: Call, policy_id: str) -> dict[str, Any]:
    body = call.model()
    return present(policies.update(policy_id, body, body.version))


@api.route("/v1/admin/policies/{policy_id}/status", "POST", summary="发布或撤回政策文件", roles=ADMIN,
           body="chalicelib.bodies:PolicyStatusIn", response="Policy")
def change_policy_status(call: Call, policy_id: str) -> dict[str, Any]:
    body = call.body()
    return present(policies.change_status(policy_id, PolicyStatus(body["status"]), body["version"]))
