"""Documents (申请材料): reserved on the application, uploaded by the phone straight to S3 with a
presigned POST, checked by the S3-event worker (real size and magic bytes), read through short-lived
links (staff reads audited). A document is part of its application item, so every change goes
through the application's one write path (``applications.mutate``)."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.filetypes import UPLOADS
from chalicelib.domain import households as hh
from chalicelib.domain.application_status import CONTENT_TYPES, DOCUMENTS, DocumentStatus
from chalicelib.domain.access import audit_read, authorize, mutate, notify_citizen
from chalicelib.domain.application_types import Access, Application, Event, Skip
from chalicelib.domain.applications import require_editable
from chalicelib.domain.common import new_id, now_iso
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import DocumentIn



def add_document(application_id: str, actor: Actor, body: DocumentIn) -> tuple[Application, dict[str, Any], dict[str, Any]]:
    """Reserve a document and hand back a presigned POST straight to S3 (≤ 10 MB, JPEG/PNG/PDF)."""
    cfg = hh.config()
    doc_type, content_type = body.type, body.content_type
    if doc_type not in cfg.document_types:
        raise errors.InvalidInput(f"one of {', '.join(cfg.document_types)}", field="type",
                                  message=f"材料类型应为以下之一：{'、'.join(cfg.document_types)}")
    if content_type not in CONTENT_TYPES:
        raise errors.InvalidInput("image/jpeg, image/png or application/pdf", field="content_type",
                                  message="文件格式应为 image/jpeg、image/png 或 application/pdf")
    size = body.size
    if size is not None and size > deps().settings.max_document_bytes:
        raise errors.BodyTooLarge(f"at most {deps().settings.max_document_bytes} bytes")
    document_id = new_id("doc") + new_id("")  # 128 random bits: keys are not guessable
    key = f"{UPLOADS}{application_id}/{document_id}"
    staff_form = doc_type in ("consent_form", "assisted_confirmation")

    def change(app: Application, access: Access) -> tuple[Application, list[Event]]:
        if staff_form and access.as_role != "staff":
            raise errors.Forbidden("signed forms are uploaded by staff")
        if not staff_form:
            require_editable(app)
        if len(app.documents) >= cfg.max_documents:
            raise errors.TooManyDocuments(str(cfg.max_documents))
        member_id = body.member_id
        if member_id is not None and member_id not in {m["member_id"] for m in app.members}:
            raise errors.InvalidInput("not a member of this application", field="member_id", message="家庭成员编号不是本申请的家庭成员")
        doc = {"document_id": document_id, "type": doc_type, "content_type": content_type, "member_id": member_id,
               "status": DOCUMENTS.initial.value, "reason": None, "key": key, "size": None,
               "uploaded_by": actor.subject, "uploaded_as": access.as_role, "created_at": now_iso(),
               "checked_at": None}
        return replace(app, documents={**app.documents, document_id: doc}), []

    app = mutate(application_id, actor, change, act=not staff_form)
    upload = deps().storage.presigned_post(key, content_type)
    return app, app.documents[document_id], upload


def document_link(application_id: str, document_id: str, actor: Actor, reason: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A short-lived download link for the owner, a delegate with the ``documents`` scope, or staff
    (audited); anyone else who may see the application is refused the file (403)."""
    app = deps().applications.get(application_id)
    access = authorize(app, actor, files=True)
    doc = app.documents.get(document_id)
    if doc is None:
        raise errors.DocumentNotFound(document_id)
    if access.as_role == "staff":
        audit_read(actor, f"document#{document_id}", "read_document", reason)
    if doc.get("status") != DocumentStatus.ACCEPTED:
        return doc, None
    return doc, deps().storage.presigned_get(doc["key"], doc["content_type"])


def record_check(key: str, size: int, head: bytes) -> None:
    """The S3-event worker's verdict on an uploaded object: real size and magic bytes."""
    from chalicelib.domain.filetypes import describe_unknown, sniff
    from chalicelib.observability import logger

    parts = key.split("/")
    if len(parts) != 3 or f"{parts[0]}/" != UPLOADS:
        logger.warning("unexpected object key", extra={"key_prefix": parts[0] if parts else ""})
        return
    application_id, document_id = parts[1], parts[2]
    if application_id.startswith("rev-"):  # an annual review's upload (年审: a changed household's proof)
        from chalicelib.domain import reviews

        reviews.record_check(application_id, document_id, size, head)
        return
    if application_id.startswith("mvo_"):  # a move-out's inspection photo (退租验房)
        from chalicelib.domain import move_outs

        move_outs.record_check(application_id, document_id, size, head)
        return
    if application_id.startswith("tkt_"):  # a ticket's photo (投诉建议、报修)
        from chalicelib.domain import tickets

        tickets.record_check(application_id, document_id, size, head)
        return
    limit = deps().settings.max_document_bytes
    verdict: dict[str, Any] = {}

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        doc = app.documents.get(document_id)
        if doc is None or doc.get("status") not in set(DocumentStatus):
            raise Skip()
        actual = sniff(head)
        rejected = DocumentStatus.REJECTED
        if size > limit:
            status, reason = rejected, f"文件大小超过 {limit // (1024 * 1024)} MB"
        elif size == 0:
            status, reason = rejected, "文件为空"
        elif actual is None:
            status, reason = rejected, describe_unknown(head)
        elif actual != doc["content_type"]:
            status, reason = rejected, f"文件实际类型（{actual}）与声明的类型（{doc['content_type']}）不一致"
        else:
            status, reason = DocumentStatus.ACCEPTED, None
        status = DOCUMENTS.move(DocumentStatus(doc["status"]), status)
        verdict.update(status=status, reason=reason, type=doc["type"])
        checked = {**doc, "status": status.value, "reason": reason, "size": size, "checked_at": now_iso()}
        name = hh.config().document_types.get(doc["type"], doc["type"])
        return replace(app, documents={**app.documents, document_id: checked}), [
            Event(f"document_{status}", "system", "system", note=name if reason is None else f"{name}：{reason}",
                  changes={"document_id": document_id, "type": doc["type"]})]

    try:
        app = mutate(application_id, None, change)
    except (Skip, errors.ApplicationNotFound):
        logger.info("object without a document", extra={"document_id": document_id})
        return
    if verdict["status"] is DocumentStatus.REJECTED:
        deps().storage.delete(key)  # never keep what is not a document (e.g. a renamed executable)
        notify_citizen(app, "document_rejected", {"document_name": hh.config().document_types.get(verdict["type"], ""),
                                           "reason": verdict["reason"]})
