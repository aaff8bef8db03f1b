"""The response shapes of imports (数据导入), issue 14 §1 (docs/decisions/0036), beside schemas.py and
built with its helpers; openapi.document() adds them to the document's components."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.exports import ExportStatus
from chalicelib.domain.imports import ImportStatus
from chalicelib.schemas import INT, NS, S, _enum, _maybe, _obj, _page, _ref

_KINDS = {"type": "string", "enum": ["estates", "buildings", "units", "tenants"]}
_PROGRESS = _maybe({
    "rows_read": {**INT, "description": "已读取的数据行数（不含表头）"},
    "created": {**INT, "description": "新建的记录数（试运行：将新建）"},
    "updated": {**INT, "description": "按全国系统编码更新的记录数（试运行：将更新）"},
    "unchanged": {**INT, "description": "内容相同、未写入的记录数"},
    "refused": {**INT, "description": "被拒绝的数据行数（见报告）"},
    "chunks": {"type": ["integer", "null"], "description": "文件切分的分片数（切分完成前为 null）"},
    "chunks_done": INT, "started_at": S, "finished_at": NS,
}, optional=())
_IMPORT = {
    "import_id": S, "kind": _KINDS, "format": {"type": "string", "enum": ["csv", "xlsx"]}, "file_name": NS,
    "status": _enum(ImportStatus), "status_name": S, "reason": NS, "created_by": S, "created_at": S, "updated_at": S,
}
_ROW_ERROR = _obj({"row": {**INT, "description": "行号（表头为第 1 行）"}, "column": {**S, "description": "列名（空：整行）"},
                   "code": S, "message": S})

IMPORT_SCHEMAS: dict[str, Any] = {
    "ImportSummary": _obj(_IMPORT),
    "ImportPage": _page("ImportSummary"),
    "ImportRowError": _ROW_ERROR,
    "Import": _obj({
        **_IMPORT,
        "dry_run": {**_PROGRESS, "description": "试运行：校验全部数据，只生成报告，不写入"},
        "apply": {**_PROGRESS, "description": "正式导入"},
        "errors_preview": {"type": "array", "items": _ref("ImportRowError"),
                           "description": "最近一次完成的运行中被拒绝的前 20 行（完整报告请下载）"}}),
    "ImportCreated": _obj({"import": _ref("Import"), "upload": _obj(
        {"url": S, "fields": {"type": "object", "additionalProperties": S}, "max_bytes": INT, "expires_at": S})}),
    "ImportReport": _obj({"import_id": S, "phase": {"type": "string", "enum": ["dry_run", "apply"]},
                          "content_type": S, "download": _obj({"url": S, "expires_at": S})}),
    "Export": _obj({
        "export_id": S, "kind": _KINDS,
        "status": _enum(ExportStatus), "status_name": S,
        "rows": {**INT, "description": "已写入的数据行数（不含表头；导出中为已写入的分段行数之和）"}, "reason": NS, "created_by": S,
        "created_at": S, "updated_at": S,
        "download": {**_maybe({"url": S, "expires_at": S}),
                     "description": "完成后的短时有效下载链接（CSV，UTF-8 带 BOM）；未完成时为 null"}}),
}
