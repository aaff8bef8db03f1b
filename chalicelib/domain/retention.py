"""The retention job (PIPL, docs/decisions/0040): the documents (every S3 version) and personal data of
rejected, withdrawn or expired applications are deleted once the city's retention period has passed
(privacy.json), and each deletion is recorded in the audit trail (what kind, which application, when;
never the data).

A job rather than an S3 lifecycle rule: the period starts at the decision (not at the upload) and the
personal data is in DynamoDB too (the application item with its household snapshot, its timeline,
the consent records); one job deletes both and records it. Safe to re-run: the application item is
deleted last, in one transaction with the record of its deletion, on the condition that it has not
changed since it was read; a run that stops half-way leaves it to the next run, which deletes what is
left (deleting what is gone already costs nothing) and records the deletion once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from chalicelib.deps import deps
from chalicelib.domain import audit, common
from chalicelib.domain.application_status import S
from chalicelib.domain.application_types import Application
from chalicelib.domain.filetypes import UPLOADS
from chalicelib.observability import logger

#: What an application past its period is, by its status: the kind the deletion record names.
KINDS = {S.REJECTED: ("rejected", "未通过"), S.WITHDRAWN: ("withdrawn", "已撤回"), S.DRAFT: ("expired", "过期草稿")}
#: Applications one run deletes at most per status (a later run carries on: the job runs daily).
MAX_PER_RUN = 2000


@dataclass
class RetentionRun:
    deleted: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind, _ in KINDS.values()})
    documents: int = 0
    skipped: int = 0  # changed since it was read (e.g. a draft edited): left for a later run
    failed: list[dict[str, str]] = field(default_factory=list)
    cutoffs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cutoffs() -> dict[S, str]:
    """The newest ``updated_at`` still deleted, per status (China time, ISO 8601)."""
    from chalicelib.domain.privacy import config

    cfg, today = config(), common.now()
    decided = (today - timedelta(days=int(cfg.application_retention_days))).isoformat(timespec="milliseconds")
    drafts = (today - timedelta(days=int(cfg.draft_expiry_days))).isoformat(timespec="milliseconds")
    return {S.REJECTED: decided, S.WITHDRAWN: decided, S.DRAFT: drafts}


def run() -> RetentionRun:
    """The daily job (03:00 China time): every application past its period, oldest first."""
    result = RetentionRun()
    for status, cutoff in cutoffs().items():
        result.cutoffs[status.value] = cutoff
        for app in deps().retention.past(status, cutoff, MAX_PER_RUN):
            try:
                documents = purge(app, cutoff)
            except Exception as exc:  # one application's failure never stops the others: the next run retries it
                logger.warning("retention: deletion failed", extra={"application_id": app.application_id,
                                                                    "error": type(exc).__name__})
                result.failed.append({"application_id": app.application_id, "error": type(exc).__name__})
                continue
            if documents is None:
                result.skipped += 1
                continue
            result.deleted[KINDS[status][0]] += 1
            result.documents += documents
    logger.info("retention run", extra={"deleted": result.deleted, "documents": result.documents,
                                        "skipped": result.skipped, "failed": len(result.failed)})
    return result


def purge(app: Application, cutoff: str) -> int | None:
    """Delete one application's documents (every version), timeline and consent records, then the
    application itself with the record of its deletion; None when it changed since (not deleted)."""
    if app.status not in KINDS or app.updated_at >= cutoff:
        return None
    kind, name = KINDS[app.status]
    repo = deps().retention
    documents = deps().storage.delete_prefix(f"{UPLOADS}{app.application_id}/")
    repo.delete_timeline(app.application_id)
    record = audit.entry(audit.SYSTEM, f"application#{app.application_id}", f"retention_deleted_{kind}",
                         f"保存期满删除：{name}申请（{app.status.value}，最后更新 {app.updated_at[:10]}），"
                         f"材料文件 {documents} 个及申请中的个人信息已删除")
    from chalicelib.domain import stats

    kept = stats.kept_image("applications", asdict(app))  # the ministry's figures stay as reported
    if not repo.delete_application(app, record, kept):
        return None
    return documents
