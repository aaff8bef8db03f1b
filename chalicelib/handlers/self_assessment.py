"""Self-assessment (资格自评): no login, nothing stored."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.config import settings
from chalicelib.web import Api, Call, read_json_body

if TYPE_CHECKING:
    from chalicelib.domain.eligibility import Assessment

# the rules engine is imported by the first assessment, not by every cold start
self_assessment = lazy.module("chalicelib.domain.self_assessment")
eligibility = lazy.module("chalicelib.domain.eligibility")
rule_versions = lazy.module("chalicelib.domain.rule_versions")

bp = Blueprint(__name__)
api = Api(bp, "self_assessment")


def present(a: Assessment) -> dict[str, Any]:
    return {
        "rules_version": a.rules_version,
        "policy": a.policy,
        "verdict": a.verdict.value,
        "verdict_name": eligibility.VERDICT_NAMES[a.verdict],
        "rules": [{"rule_id": o.rule_id, "title": o.title, "result": o.result.value,
                   "result_name": eligibility.RESULT_NAMES[o.result], "explanation": o.explanation, "clause": o.clause,
                   "sources": o.sources} for o in a.outcomes],
        "priority_points": a.priority_points,
        "priority_groups": a.priority_groups,
        "next_steps": a.next_steps,
    }


@api.route("/v1/self-assessment/questions", summary="资格自评问卷（来自本市现行准入条件）",
           response="SelfAssessmentQuestions", operation_id="getSelfAssessmentQuestions")
def get_questions(call: Call) -> dict[str, Any]:
    book, version = rule_versions.rules_in_force(settings().city_code)
    return {
        "rules_version": version.version,
        "policy": version.policy,
        "kinds": list(self_assessment.KINDS),
        "questions": [{"id": f.id, "label": f.label, "type": f.type, "unit": f.unit, "min": f.minimum,
                       "max": f.maximum} for f in book.facts.values() if f.asked],
    }


@api.route("/v1/self-assessment", "POST", summary="资格自评：逐条说明是否符合（不保存任何个人信息）",
           body_schema="SelfAssessmentAnswers", response="SelfAssessment", operation_id="selfAssess")
def post_assessment(call: Call) -> dict[str, Any]:
    body = read_json_body(call.request)
    unknown = set(body) - {"kind", "answers"}
    if unknown:
        raise errors.InvalidInput("unknown field", field=sorted(unknown)[0], message=f"不支持的字段：{sorted(unknown)[0]}")
    city = settings().city_code
    return present(self_assessment.assess(city, body.get("kind", "individual"), body.get("answers", {}),
                                          rule_versions.rules_in_force(city)))
