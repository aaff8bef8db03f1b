"""The OpenAPI 3 document, built from the routes' own declarations (chalicelib/web.py)."""
from __future__ import annotations

import re
from functools import cache
from typing import Any, Iterable

from chalicelib import errors
from chalicelib.web import ERRORS, INTERNAL, OPERATIONS, Operation, resolve

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": sorted({c for _, c, _ in ERRORS.values()} | {INTERNAL[1]})},
                "message": {"type": "string", "description": "给市民看的中文说明"},
                "field": {"type": "string"},
                "detail": {"type": "string"},
                "request_id": {"type": "string"},
            },
        }
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _fields(props: dict[str, Any], *optional: str) -> dict[str, Any]:
    return {"type": "object", "required": [k for k in props if k not in optional], "properties": props}


def _map(values: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values, **({"description": description} if description else {})}


_S, _STRINGS, _B = {"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "boolean"}
_MEDIA = _map(_fields({"schema": _ref("JsonSchema"), "example": {"description": "示例（任意 JSON）"}}, "example"),
              "媒体类型（application/json）-> 内容")
#: What GET /v1/openapi.json answers, part by part (``OpenApiDocument`` in chalicelib/schemas.py): an SDK
#: gets classes for the document too. A JSON Schema is the one map of "any" values (keyword -> any JSON).
DOCUMENT_SCHEMAS: dict[str, Any] = {
    "JsonSchema": _map({"description": "关键字的值"}, "JSON Schema 2020-12：关键字 -> 值（其值可为任意 JSON）"),
    "OpenApiComponents": _fields({"schemas": _map(_ref("JsonSchema")), "securitySchemes": _map(_fields(
        {"type": _S, "scheme": _S, "bearerFormat": _S}))}),
    "OpenApiPathItem": _map(_ref("OpenApiOperation"), "方法（get、post ...）-> 接口"),
    "OpenApiOperation": _fields({
        "operationId": _S, "summary": _S, "description": _S, "tags": _STRINGS,
        "parameters": {"type": "array", "items": _ref("OpenApiParameter")},
        "responses": _map(_ref("OpenApiResponse"), "HTTP 状态 -> 答复"),
        "security": {"type": "array", "items": _map(_STRINGS)}, "x-roles": _STRINGS,
        "requestBody": _fields({"required": _B, "content": _MEDIA})},
        "security", "x-roles", "requestBody"),  # public operations have no security, most no body
    "OpenApiParameter": _fields({"name": _S, "in": {"type": "string", "enum": ["path", "query", "header"]},
                                 "required": _B, "description": _S, "schema": _ref("JsonSchema")}, "description"),
    "OpenApiResponse": _fields({
        "description": _S, "content": _MEDIA, "headers": _map(_fields({"description": _S, "schema": _ref("JsonSchema")})),
        "x-error-codes": {**_STRINGS, "description": "该状态可能的全部错误代码"}},
        "content", "headers", "x-error-codes"),
}


#: What an unknown id in a parameter of this name answers (path ids, and query filters naming a record).
NOT_FOUND_BY_PARAM: dict[str, type[errors.DomainError]] = {
    "area_id": errors.AreaNotFound, "area": errors.AreaNotFound,
    "street_id": errors.StreetNotFound, "street": errors.StreetNotFound,
    "estate_id": errors.EstateNotFound, "estate": errors.EstateNotFound,
    "building_id": errors.BuildingNotFound,
    "unit_id": errors.UnitNotFound, "unit_ids": errors.UnitNotFound,
    "facility_id": errors.FacilityNotFound,
    "policy_id": errors.PolicyNotFound,
    "application_id": errors.ApplicationNotFound,
    "document_id": errors.DocumentNotFound,
    "grant_id": errors.GrantNotFound,
    "group_id": errors.GroupNotFound,
    "check_id": errors.RealNameCheckNotFound, "conflict_id": errors.IdentityConflictNotFound,
    "batch_id": errors.PublicityNotFound,
    "objection_id": errors.ObjectionNotFound,
    "round_id": errors.RoundNotFound,
    "lease_id": errors.LeaseNotFound,
    "bill_id": errors.BillNotFound, "bill_ids": errors.BillNotFound,
    "run_id": errors.BillingRunNotFound,
    "campaign_id": errors.ReviewCampaignNotFound,
    "payment_id": errors.PaymentNotFound,
    "ticket_id": errors.TicketNotFound,
}
DESCRIPTIONS = {
    400: "参数不正确", 401: "未登录或凭证无效", 403: "无权限", 404: "不存在",
    409: "冲突（重复、版本过期或状态不允许）", 413: "请求内容过大", 415: "内容类型不支持",
    500: "系统错误", 503: "依赖的服务暂时不可用，请按 Retry-After 稍后重试",
    429: "请求过于频繁，请按 Retry-After 稍后重试",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "同一请求编号只执行一次，重复提交返回第一次的结果（24 小时内）",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
}


def answer(cls: type[errors.DomainError]) -> tuple[int, str]:
    """The status and code a domain error is answered with (as chalicelib/web.py maps it)."""
    status, code, _ = next((ERRORS[k] for k in cls.__mro__ if k in ERRORS), INTERNAL)  # type: ignore[index]
    return status, code


def reads_body(op: Operation) -> bool:
    """A declared body, or a POST by a signed-in caller (an Idempotency-Key makes it read the body)."""
    return bool(op.body or op.body_schema) or (op.method == "POST" and op.roles is not None)


#: Statuses whose codes the derivation lists completely; for the others the list is the codes known from
#: the declaration, and the domain may answer a more specific one (e.g. INVALID_ID_NUMBER for a 400).
EXHAUSTIVE = frozenset({401, 404, 413, 415, 500, 503})


def _codes_of(status: int) -> list[str]:
    """Every code the error table answers with this status (for statuses any route may give)."""
    return sorted({code for s, code, _ in ERRORS.values() if s == status})


def error_answers(op: Operation, body_fields: Iterable[str] = ()) -> dict[int, list[str]]:
    """Every error status the operation can answer, with its codes, derived from its declaration:
    every route refuses an unknown query parameter (400), fails safe (500) and may find a dependency
    busy (503); roles add 401/403, ids add 404 with the record's code, writes 409, bodies 413/415;
    body fields naming a record (``estate_id``) add its 404 too; what the declaration cannot show, the
    route declares (``raises=``)."""
    out: dict[int, list[str]] = {400: [answer(errors.InvalidInput)[1]], 500: [INTERNAL[1]],
                                 503: _codes_of(503)}

    def add(cls: type[errors.DomainError]) -> None:
        status, code = answer(cls)
        codes = out.setdefault(status, [])
        if code not in codes:
            codes.append(code)

    names = re.findall(r"{(\w+)}", op.path) + [p.name for p in op.params] + list(body_fields)
    if any(p.name == "cursor" for p in op.params):
        add(errors.InvalidCursor)
    if op.roles is not None:
        out[401] = _codes_of(401)  # every way a token can fail
        add(errors.Forbidden)
        if "applicant" in op.roles and not op.pending_ok:  # the real-name gate (docs/decisions/0016)
            add(errors.RealNamePending)
            add(errors.IdNumberInDispute)
        if "applicant" in op.roles:  # a closed account, on every citizen route (docs/decisions/0040)
            add(errors.AccountClosed)
    for name in names:
        if name in NOT_FOUND_BY_PARAM:
            add(NOT_FOUND_BY_PARAM[name])
        elif "{" + name + "}" in op.path:
            add(errors.NotFound)
    if op.method != "GET":
        add(errors.Conflict)
    if reads_body(op):
        for cls in (errors.InvalidJson, errors.BodyTooLarge, errors.UnsupportedMediaType):
            add(cls)
    if op.method == "POST" and op.roles is not None:
        for cls in (errors.IdempotencyKeyReused, errors.RequestInProgress):
            add(cls)
    for cls in op.raises:
        add(cls)
    return dict(sorted(out.items()))


def body_fields(op: Operation) -> list[str]:
    """The top-level field names of the operation's body (its pydantic model, or its documented schema)."""
    from chalicelib.schemas import RESPONSE_SCHEMAS

    if op.body:
        return list(resolve(op.body).model_fields)
    if op.body_schema:
        return list(RESPONSE_SCHEMAS.get(op.body_schema, {}).get("properties", {}))
    return []


ROLE_NAMES = {"applicant": "申请人（含受托人）", "employer": "单位", "staff": "工作人员", "admin": "管理员",
              "auditor": "审计", "ministry": "主管部门"}


def description(op: Operation) -> str:
    """One line for the SDK's docs: what the operation does and who may call it."""
    who = "无需登录" if op.roles is None else "调用者：" + "、".join(ROLE_NAMES.get(r, r) for r in op.roles)
    line = f"{op.description.rstrip('。')}。{who}。"
    if any(p.name == "reason" and not p.required for p in op.params) and op.roles and "staff" in op.roles:
        # optional for the citizen, required of staff: one schema cannot say "required for a role"
        line += "工作人员必须填写 reason（查看事由，记入审计），否则 400 INVALID_PARAMETER。"
    return line


#: Values an example answer shows for a field of this name (everything else follows from the schema).
SAMPLES: dict[str, Any] = {
    "name": "张三明", "main_applicant": "张*明", "tenant_name": "张三明", "id_number": "4407**********1234",
    "tenant_id_masked": "4407**********1234", "masked_id": "4407**********1234", "masked_name": "张*明",
    "mobile": "138****5678", "contact_mobile": "138****5678", "phone": "0750-3123456", "city": "jiangmen",
    "title": "江门市公租房政策", "address": "福泽园路1号", "lat": 22.601, "lng": 113.071, "floor_area": 58.5,
    "rent": 45000, "monthly_rent": 45000, "base_rent": 45000, "deposit": 90000, "monthly_income": 300000,
    "version": 3, "floor": 6, "floors": 18, "age": 36, "size": 204800, "max_bytes": 10485760,
    "kind": "individual", "relation": "self", "hukou": "local", "sex": "male", "content_type": "image/jpeg",
    "url": "https://example.invalid/upload", "sha256": "0" * 64, "commitment_sha256": "0" * 64, "seed": "0" * 64,
}
INSTANT, DAY = "2026-03-02T09:30:00+08:00", "2026-03-02"


def example(schema: dict[str, Any], schemas: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """An example value for a schema (refs resolved, every property filled in, enums take their first
    value); tests/test_sdk_document.py validates each operation's example against its schema."""
    if "$ref" in schema:
        return example(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, name, depth + 1)
    if "examples" in schema:
        return schema["examples"][0]
    if "allOf" in schema:
        out: dict[str, Any] = {}
        for part in schema["allOf"]:
            out.update(example(part, schemas, name, depth + 1))
        return out
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return example(options[0], schemas, name, depth + 1)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    types = schema.get("type", "object")
    kind = next((t for t in types if t != "null"), "null") if isinstance(types, list) else types
    if kind == "object":
        props = schema.get("properties")
        if props is not None:
            return {k: example(v, schemas, k, depth + 1) for k, v in props.items()}
        extra = schema.get("additionalProperties")
        return {"key": example(extra, schemas, "", depth + 1)} if isinstance(extra, dict) and depth < 8 else {}
    if kind == "array":
        return [example(schema.get("items", {}), schemas, name.rstrip("s"), depth + 1)] if depth < 8 else []
    if kind == "null":
        return None
    sample = SAMPLES.get(name)
    if sample is not None and isinstance(sample, {"string": str, "integer": int, "number": (int, float)}.get(kind, ())):
        return sample
    if kind == "string":
        fmt = schema.get("format")
        return INSTANT if fmt == "date-time" else DAY if fmt == "date" else \
            f"{name.removesuffix('_id')}_7f3a9c" if name.endswith("_id") else f"示例{name}" if name else "示例"
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    return True


def _operation(op: Operation, body_schemas: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    path_params = re.findall(r"{(\w+)}", op.path)
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in path_params
    ]
    params += [p.openapi() for p in op.params]
    if op.method == "POST" and op.roles is not None:
        params.append(IDEMPOTENCY_KEY)
    if op.raw is not None:  # a third party's format (a provider's notification): documented as it is
        return {"operationId": op.operation_id, "summary": op.summary, "description": description(op),
                "tags": [op.tag], "parameters": params + op.raw.get("parameters", []),
                "requestBody": op.raw["requestBody"], "responses": op.raw["responses"]}
    ok: dict[str, Any] = {"description": "成功"}
    assert op.response, f"{op.method} {op.path} declares no response schema"  # an SDK needs one
    ok["content"] = {"application/json": {"schema": _ref(op.response),
                                          "example": example(_ref(op.response), schemas)}}
    responses: dict[str, Any] = {str(op.status): ok}
    for status, codes in error_answers(op, body_fields(op)).items():
        responses[str(status)] = {
            "description": f"{DESCRIPTIONS.get(status, '错误')}（{', '.join(codes)}"
                           f"{'' if status in EXHAUSTIVE else ' 等'}）",
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        if status in EXHAUSTIVE:
            responses[str(status)]["x-error-codes"] = codes
        if status == 503:
            responses[str(status)]["headers"] = {"Retry-After": {
                "description": "建议多少秒后重试", "schema": {"type": "integer", "minimum": 0}}}
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": description(op),
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
    }
    if op.roles is not None:
        out["security"] = [{"bearer": []}]
        out["x-roles"] = list(op.roles)
    if op.body:
        name = op.body.rsplit(":", 1)[-1]
        body_schemas[name] = op.body
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(name)}}}
    elif op.body_schema:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body_schema)}}}
    return out


@cache
def document() -> dict[str, Any]:
    from chalicelib.arrears_schemas import ARREARS_SCHEMAS
    from chalicelib.move_out_schemas import MOVE_OUT_SCHEMAS
    from chalicelib.campaign_schemas import CAMPAIGN_SCHEMAS
    from chalicelib.import_schemas import IMPORT_SCHEMAS
    from chalicelib.payment_schemas import PAYMENT_SCHEMAS
    from chalicelib.privacy_schemas import PRIVACY_SCHEMAS
    from chalicelib.renewal_schemas import RENEWAL_SCHEMAS
    from chalicelib.review_schemas import REVIEW_SCHEMAS
    from chalicelib.holiday_calendar_schemas import HOLIDAY_CALENDAR_SCHEMAS
    from chalicelib.schemas import RESPONSE_SCHEMAS, body_definitions, json_schema
    from chalicelib.ticket_schemas import TICKET_SCHEMAS

    paths: dict[str, dict[str, Any]] = {}
    bodies: dict[str, str] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, **RESPONSE_SCHEMAS, **PAYMENT_SCHEMAS, **ARREARS_SCHEMAS,
                               **RENEWAL_SCHEMAS, **MOVE_OUT_SCHEMAS, **REVIEW_SCHEMAS, **CAMPAIGN_SCHEMAS, **DOCUMENT_SCHEMAS}
    schemas.update(HOLIDAY_CALENDAR_SCHEMAS)
    schemas.update(TICKET_SCHEMAS)
    from chalicelib.stats_schemas import STATS_SCHEMAS

    schemas.update(STATS_SCHEMAS)
    schemas.update(PRIVACY_SCHEMAS)
    schemas.update(IMPORT_SCHEMAS)
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, bodies, schemas)
    for name, dotted in bodies.items():
        schemas[name] = json_schema(dotted)
    schemas.update(body_definitions(list(bodies.values())))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "公租房 API",
            "version": "1.0.0",
            "description": "公租房服务后端：房源目录、政策、申请与审核。金额单位为分，时间为 ISO 8601 (+08:00)。",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
