"""Documents (申请材料): the S3-event worker's entry point. The document services themselves live
with the application they belong to (chalicelib/domain/applications.py: add_document,
document_link, record_check), since a document is part of the application item."""
from chalicelib.domain.applications import add_document, document_link, record_check

__all__ = ["add_document", "document_link", "record_check"]
