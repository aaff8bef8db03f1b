"""Eligibility rules: the version in force (public) and publishing new versions (admins)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.config import settings
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import Api, Call, read_json_body

if TYPE_CHECKING:
    from chalicelib.domain.eligibility import RuleVersion

rule_versions = lazy.module("chalicelib.domain.rule_versions")

bp = Blueprint(__name__)
api = Api(bp, "rule_versions")


def present(v: RuleVersion) -> dict[str, Any]:
    return {"version": v.version, "effective_from": v.effective_from.isoformat(), "policy": v.policy,
            "params": v.params,
            "rules": [{"rule_id": r.id, "title": r.title, "clause": r.clause, "applies_to": list(r.applies_to),
                       "passed_means": r.explain.get("passed", "")} for r in v.rules]}


@api.route("/v1/eligibility-rules/current", summary="现行准入条件（版本、生效日期、逐条规则）",
           response="RulesVersion", operation_id="getCurrentRules")
def current(call: Call) -> dict[str, Any]:
    return present(rule_versions.rules_in_force(settings().city_code)[1])


@api.route("/v1/admin/eligibility-rules", summary="准入条件全部版本（随系统发布的与管理员发布的）", roles=ADMIN,
           response="RulesVersionList", operation_id="listRuleVersions")
def list_versions(call: Call) -> dict[str, Any]:
    return {"items": rule_versions.overview(settings().city_code)}


@api.route("/v1/admin/eligibility-rules", "POST", summary="发布新版准入条件（生效日期须在将来）", roles=ADMIN,
           body_schema="RulesVersionIn", status=201, response="RulesVersion", operation_id="publishRuleVersion")
def publish(call: Call) -> dict[str, Any]:
    return present(rule_versions.publish(call.actor, read_json_body(call.request)))
