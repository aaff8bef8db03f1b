"""The OpenAPI 3 document, built from the routes' own declarations (chalicelib/web.py)."""
from __future__ import annotations

import re
from functools import cache
from typing import Any

from chalicelib.web import ERRORS, INTERNAL, OPERATIONS, Operation

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


def _operation(op: Operation, body_schemas: dict[str, Any]) -> dict[str, Any]:
    path_params = re.findall(r"{(\w+)}", op.path)
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in path_params
    ]
    params += [p.openapi() for p in op.params]
    ok: dict[str, Any] = {"description": "成功"}
    if op.response:
        ok["content"] = {"application/json": {"schema": _ref(op.response)}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses: dict[str, Any] = {str(op.status): ok}
    err = {"content": {"application/json": {"schema": _ref("Error")}}}
    has_body = bool(op.body or op.body_schema)
    if op.params or has_body or path_params:
        responses["400"] = {"description": "参数不正确", **err}
    if op.roles is not None:
        responses["401"] = {"description": "未登录或凭证无效", **err}
        responses["403"] = {"description": "无权限", **err}
    if path_params:
        responses["404"] = {"description": "不存在", **err}
    if has_body:
        responses["409"] = {"description": "冲突（重复、版本过期或状态不允许）", **err}
        responses["413"] = {"description": "请求内容过大", **err}
        responses["415"] = {"description": "内容类型不支持", **err}
    responses["500"] = {"description": "系统错误", **err}
    out: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower()).strip('_')}",
        "summary": op.summary,
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
    from chalicelib.schemas import RESPONSE_SCHEMAS, body_definitions, json_schema

    paths: dict[str, dict[str, Any]] = {}
    bodies: dict[str, str] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, bodies)
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, **RESPONSE_SCHEMAS}
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
