"""Group applications (团租) of employers. The employees' applications live in the applications
table with ``group_id`` set (queried through its ``by_group`` index)."""
from __future__ import annotations

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.groups import Group
from chalicelib.repositories.common import put_new
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import GroupRecord


class GroupRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def create(self, group: Group) -> None:
        put_new(record_of(group), GroupRecord.group_id.does_not_exist(), errors.AlreadyExists(field="group_id"))

    def get(self, group_id: str) -> Group | None:
        try:
            return to_group(GroupRecord.get(group_id))
        except GroupRecord.DoesNotExist:
            return None

    def by_employer(self, subject: str, cursor: str | None, limit: int) -> Page[Group]:
        """An employer's groups, newest first (one key-range query on ``by_employer``)."""
        records, next_cursor = query_page(
            GroupRecord.by_employer, subject, key_names=("group_id", "employer_subject", "created_at"),
            scope=f"groups|employer|{subject}", limit=limit, cursor=cursor, forward=False)
        return Page([to_group(r) for r in records], next_cursor)


def record_of(g: Group) -> GroupRecord:
    return GroupRecord(g.group_id, employer_subject=g.employer_subject, credit_code=g.credit_code,
                       employer_name=g.employer_name, name=g.name, note=g.note, created_at=g.created_at,
                       updated_at=g.updated_at, version=g.version)


def to_group(r: GroupRecord) -> Group:
    return Group(r.group_id, r.employer_subject, r.credit_code, r.employer_name, r.name, r.note, r.created_at,
                 r.updated_at, int(r.version or 1))
