"""Exports (数据导出, docs/decisions/0036 "Export"): an admin starts an export of one kind in the
national system's columns, with a reason (audited); the imports queue writes the file; GET shows the
rows written and, when done, a short-lived download link."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import Api, Call

if TYPE_CHECKING:
    from chalicelib.domain.exports import Export

exports = lazy.module("chalicelib.domain.exports")

bp = Blueprint(__name__)
api = Api(bp, "exports")


def present(export: Export) -> dict[str, Any]:
    return {"export_id": export.export_id, "kind": export.kind, "status": export.status,
            "status_name": exports.STATUS_NAMES[export.status], "rows": export.rows, "reason": export.reason,
            "created_by": export.created_by, "created_at": export.created_at, "updated_at": export.updated_at,
            "download": exports.link(export)}


@api.route("/v1/admin/exports", "POST", summary="按全国公租房信息系统格式导出数据（须填写理由，记入审计），后台生成文件",
           roles=ADMIN, body="chalicelib.bodies:ExportIn", status=202, response="Export", operation_id="startExport")
def start_export(call: Call) -> dict[str, Any]:
    """Start an export; GET it until it is done, then download the file with its link."""
    return present(exports.start(call.actor, call.model()))


@api.route("/v1/admin/exports/{export_id}", summary="导出进度：已写入行数；完成后附短时有效下载链接",
           roles=ADMIN, response="Export", raises=(errors.ExportNotFound,), operation_id="getExport")
def get_export(call: Call, export_id: str) -> dict[str, Any]:
    """An export's status and rows written; the link once the file is ready."""
    return present(exports.get(export_id))
