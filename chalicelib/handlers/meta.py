"""Health and the OpenAPI document."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.web import Api, Call

bp = Blueprint(__name__)
api = Api(bp, "meta")


@api.route("/v1/health", summary="健康检查", response="Health", operation_id="getHealth")
def health(call: Call) -> dict[str, Any]:
    return {"status": "ok", "city": settings().city_code}


@api.route("/v1/openapi.json", summary="OpenAPI 3 接口文档", response="OpenApiDocument", operation_id="getOpenApiDocument")
def openapi(call: Call) -> dict[str, Any]:
    from chalicelib.openapi import document

    return document()
