"""Policy documents, listed newest first by status or by category and status."""
from __future__ import annotations

from chalicelib import errors
from chalicelib.domain.common import Page
from chalicelib.domain.policies import Policy, PolicyCategory, PolicyStatus
from chalicelib.repositories.common import put_new, save_versioned
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import PolicyRecord


class PolicyRepository:
    def get(self, policy_id: str) -> Policy:
        try:
            return to_policy(PolicyRecord.get(policy_id))
        except PolicyRecord.DoesNotExist:
            raise errors.PolicyNotFound(policy_id) from None

    def search(
        self, category: PolicyCategory | None, q: str | None, status: PolicyStatus, cursor: str | None, limit: int
    ) -> Page[Policy]:
        if category is not None:
            index, hash_attr, hash_key = PolicyRecord.by_category, "category_status", f"{category.value}#{status.value}"
        else:
            index, hash_attr, hash_key = PolicyRecord.by_status, "status", status.value
        text_filter = None
        if q:  # a city holds hundreds of documents: a filtered key query is enough
            text_filter = PolicyRecord.title.contains(q) | PolicyRecord.body.contains(q)
        records, next_cursor = query_page(
            index, hash_key, key_names=("policy_id", hash_attr, "sort_key"),
            scope=f"policies|{hash_attr}|{hash_key}|{q}", filter_condition=text_filter,
            limit=limit, cursor=cursor, forward=False,
        )
        return Page([to_policy(r) for r in records], next_cursor)

    def create(self, policy: Policy) -> Policy:
        record = to_record(policy)
        put_new(record, PolicyRecord.policy_id.does_not_exist(), errors.AlreadyExists(policy.policy_id))
        return to_policy(record)

    def save(self, current: Policy, updated: Policy) -> Policy:
        record = to_record(updated)
        record.version = current.version
        save_versioned(record)  # only if still at current.version
        return to_policy(record)


def to_record(p: Policy) -> PolicyRecord:
    record = PolicyRecord(
        p.policy_id, title=p.title, summary=p.summary, body=p.body, category=p.category.value,
        issuer=p.issuer, doc_number=p.doc_number, attachments=p.attachments, status=p.status.value,
        published_at=p.published_at, sort_key=f"{p.published_at or p.created_at}#{p.policy_id}",
        category_status=f"{p.category.value}#{p.status.value}", created_at=p.created_at,
        updated_at=p.updated_at,
    )
    if p.version:  # a new record has none yet: PynamoDB sets 1 on first save
        record.version = p.version
    return record


def to_policy(r: PolicyRecord) -> Policy:
    attachments = [a.as_dict() if hasattr(a, "as_dict") else dict(a) for a in (r.attachments or [])]
    return Policy(
        r.policy_id, r.title, r.body, PolicyCategory(r.category), PolicyStatus(r.status), r.summary, r.issuer,
        r.doc_number, attachments, r.published_at, int(r.version or 0), r.created_at, r.updated_at,
    )
