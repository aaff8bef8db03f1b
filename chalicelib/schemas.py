"""Body validation (pydantic, loaded lazily) and the response shapes the OpenAPI document shows."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.web import resolve


def validate(dotted: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a body against ``module:Model``; the first problem is a 400 naming its field."""
    from pydantic import ValidationError

    model = resolve(dotted)
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        raise errors.InvalidInput(first.get("msg", "invalid"), field=field) from None


def json_schema(dotted: str) -> dict[str, Any]:
    schema = resolve(dotted).model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def body_definitions(dotted_names: list[str]) -> dict[str, Any]:
    """Nested models a body refers to, hoisted into components."""
    out: dict[str, Any] = {}
    for dotted in dotted_names:
        schema = resolve(dotted).model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.get("$defs", {}))
    return out


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


S, INT, N, B = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
NS = {"type": ["string", "null"]}


def _page(item: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                 "next_cursor": NS}, ["items"])


RESPONSE_SCHEMAS: dict[str, Any] = {
    "Health": _obj({"status": S, "city": S}),
    "Street": _obj({"street_id": S, "name": S, "units_total": INT, "units_vacant": INT}),
    "Area": _obj({"area_id": S, "name": S, "district": NS, "units_total": INT, "units_vacant": INT,
                  "streets": {"type": "array", "items": {"$ref": "#/components/schemas/Street"}}}),
    "AreaList": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Area"}}}),
    "UnitMix": {"type": "object", "additionalProperties": _obj({"layout_name": S, "total": INT, "vacant": INT})},
    "Manager": _obj({"company": S, "contact": NS, "phone": S, "office": NS, "hours": NS}),
    "Nearby": _obj({"facility_id": S, "type": S, "type_name": S, "name": S, "distance_m": INT}),
    "Building": _obj({"building_id": S, "name": S, "floors": INT, "elevator": B}),
    "Estate": _obj({
        "estate_id": S, "name": S, "area_id": S, "street_id": S, "address": S, "lat": N, "lng": N,
        "description": NS, "manager": {"$ref": "#/components/schemas/Manager"},
        "buildings": {"type": "array", "items": {"$ref": "#/components/schemas/Building"}},
        "unit_mix": {"$ref": "#/components/schemas/UnitMix"}, "units_total": INT, "units_vacant": INT,
        "nearby": {"type": "array", "items": {"$ref": "#/components/schemas/Nearby"}},
        "photos": {"type": "array", "items": S}, "version": INT, "updated_at": S,
    }),
    "EstatePage": _page("Estate"),
    "Unit": _obj({
        "unit_id": S, "estate_id": S, "building_id": S, "area_id": S, "street_id": S, "number": S,
        "layout": S, "layout_name": S, "floor_area": N, "floor": INT, "rent": {**INT, "description": "分/月"},
        "status": S, "status_name": S, "orientation": NS, "photos": {"type": "array", "items": S},
        "version": INT, "updated_at": S,
    }),
    "UnitPage": _page("Unit"),
    "StatusChange": _obj({"at": S, "from_status": NS, "to_status": S, "actor_role": S, "reason": NS}),
    "StatusChangePage": _page("StatusChange"),
    "EstatePin": _obj({"estate_id": S, "name": S, "area_id": S, "street_id": S, "address": S, "lat": N,
                       "lng": N, "units_total": INT, "units_vacant": INT}),
    "MapEstates": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/EstatePin"}},
                        "truncated": B}),
    "Facility": _obj({"facility_id": S, "type": S, "type_name": S, "name": S, "lat": N, "lng": N,
                      "address": NS, "version": INT}),
    "NearFacility": _obj({"facility_id": S, "type": S, "type_name": S, "name": S, "lat": N, "lng": N,
                          "address": NS, "distance_m": INT}),
    "MapFacilities": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/NearFacility"}}}),
    "Policy": _obj({
        "policy_id": S, "title": S, "summary": NS, "body": S, "category": S, "category_name": S,
        "issuer": NS, "doc_number": NS, "attachments": {"type": "array", "items": _obj({"name": S, "url": S})},
        "status": S, "published_at": NS, "version": INT, "updated_at": S,
    }),
    "PolicyPage": _page("Policy"),
    "SelfAssessmentQuestions": _obj({
        "rules_version": S, "policy": S, "kinds": {"type": "array", "items": S},
        "questions": {"type": "array", "items": _obj({
            "id": S, "label": S, "type": {"type": "string", "enum": ["integer", "boolean", "money", "area"]},
            "unit": NS, "min": {"type": ["number", "null"]}, "max": {"type": ["number", "null"]}})},
    }),
    "SelfAssessmentAnswers": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "kind": {"type": "string", "enum": ["individual", "graduate"], "default": "individual"},
            "answers": {"type": "object", "description": "问卷 id -> 回答（money 为分，area 为平方米）；可留空的项判为无法判断",
                        "additionalProperties": {"type": ["integer", "number", "boolean", "null"]}},
        },
    },
    "SelfAssessment": _obj({
        "rules_version": S, "policy": S, "verdict": {"type": "string", "enum": ["eligible", "not_eligible", "needs_review"]},
        "verdict_name": S, "priority_points": INT, "next_steps": {"type": "array", "items": S},
        "priority_groups": {"type": "array", "items": _obj({"id": S, "title": S, "points": INT})},
        "rules": {"type": "array", "items": _obj({
            "rule_id": S, "title": S, "result": {"type": "string", "enum": ["passed", "failed", "unknown"]},
            "result_name": S, "explanation": S, "clause": S,
            "sources": {"type": "object", "additionalProperties": S}})},
    }),
}
