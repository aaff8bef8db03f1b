"""Imports (数据导入, docs/decisions/0036): an admin creates an import (kind and format) and uploads the
national system's export with the presigned POST it answers, starts the dry run, reads the report,
then starts the real run; both run on the imports queue and show their progress here."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import CURSOR, LIMIT, Api, Call

if TYPE_CHECKING:
    from chalicelib.domain.imports import Import, Progress

imports = lazy.module("chalicelib.domain.imports")

bp = Blueprint(__name__)
api = Api(bp, "imports")


def present_progress(p: Progress | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"rows_read": p.rows_read, "created": p.created, "updated": p.updated, "unchanged": p.unchanged,
            "refused": p.refused, "chunks": p.chunks, "chunks_done": p.chunks_done, "started_at": p.started_at,
            "finished_at": p.finished_at}


def present_summary(imp: Import) -> dict[str, Any]:
    return {"import_id": imp.import_id, "kind": imp.kind, "format": imp.fmt, "file_name": imp.file_name,
            "status": imp.status, "status_name": imports.STATUS_NAMES[imp.status], "reason": imp.reason,
            "created_by": imp.created_by, "created_at": imp.created_at, "updated_at": imp.updated_at}


def present(imp: Import, *, preview: bool = True) -> dict[str, Any]:
    return {**present_summary(imp), "dry_run": present_progress(imp.phases.get(imports.Phase.DRY_RUN)),
            "apply": present_progress(imp.phases.get(imports.Phase.APPLY)),
            "errors_preview": imports.preview(imp) if preview else []}


@api.route("/v1/admin/imports", "POST", summary="新建数据导入（全国公租房信息系统导出文件），返回文件上传表单",
           roles=ADMIN, body="chalicelib.bodies:ImportIn", status=201, response="ImportCreated",
           operation_id="createImport")
def create_import(call: Call) -> dict[str, Any]:
    """Create an import; POST the file to S3 with the answer's form, then start the dry run."""
    imp, upload = imports.create(call.actor, call.model())
    return {"import": present(imp, preview=False), "upload": upload}


@api.route("/v1/admin/imports", summary="数据导入任务（新的在前）", roles=ADMIN, params=[CURSOR, LIMIT],
           response="ImportPage", operation_id="listImports")
def list_imports(call: Call) -> dict[str, Any]:
    """Imports, the newest first."""
    page = imports.page(call.params["cursor"], call.params["limit"])
    return {"items": [present_summary(i) for i in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/admin/imports/{import_id}", summary="导入进度：已读行数、新建、更新、未变、拒绝，及被拒绝行预览",
           roles=ADMIN, response="Import", raises=(errors.ImportNotFound,), operation_id="getImport")
def get_import(call: Call, import_id: str) -> dict[str, Any]:
    """An import's live progress (the dry run's and the real run's counts) and its first refused rows."""
    return present(imports.get(import_id))


@api.route("/v1/admin/imports/{import_id}/dry-run", "POST", summary="试运行：校验全部数据并生成报告，不写入",
           roles=ADMIN, status=202, response="Import",
           raises=(errors.ImportNotFound, errors.ImportNotUploaded, errors.ImportBadHeader, errors.ImportRunning,
                   errors.ImportAlreadyApplied), operation_id="startImportDryRun")
def start_dry_run(call: Call, import_id: str) -> dict[str, Any]:
    """Start the dry run (a CSV's header is checked at once); the chunks are worked on by the queue."""
    return present(imports.start(call.actor, import_id, imports.Phase.DRY_RUN), preview=False)


@api.route("/v1/admin/imports/{import_id}/apply", "POST", summary="正式导入（须先完成试运行）；重复导入同一文件不会重复写入",
           roles=ADMIN, status=202, response="Import",
           raises=(errors.ImportNotFound, errors.ImportDryRunRequired, errors.ImportRunning, errors.ImportAlreadyApplied),
           operation_id="applyImport")
def apply_import(call: Call, import_id: str) -> dict[str, Any]:
    """Start the real run over the dry run's chunks."""
    return present(imports.start(call.actor, import_id, imports.Phase.APPLY), preview=False)


@api.route("/v1/admin/imports/{import_id}/report", summary="下载导入报告（被拒绝的行：行号、列、错误代码、说明；短时有效链接）",
           roles=ADMIN, response="ImportReport", raises=(errors.ImportNotFound, errors.ImportReportNotReady),
           operation_id="getImportReport")
def get_import_report(call: Call, import_id: str) -> dict[str, Any]:
    """A short-lived link to the latest finished run's report (CSV)."""
    imp, phase, link = imports.report_link(import_id)
    return {"import_id": imp.import_id, "phase": phase.value, "content_type": imports.REPORT_TYPE, "download": link}
