"""The waiting list (轮候): one item per qualified application, ordered in its queue by ``sort_key``
(docs/decisions/0012)."""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.config import Settings
from chalicelib.domain.waiting_list import Waiting
from chalicelib.repositories.common import is_condition_failure
from chalicelib.repositories.tables import WaitingRecord


class WaitingListRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def join(self, w: Waiting) -> bool:
        """Add a qualified application (once: a repeat of the close step changes nothing)."""
        try:
            waiting_record(w).save(condition=WaitingRecord.application_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def of_owner(self, owner_key: str) -> list[Waiting]:
        return [to_waiting(r) for r in WaitingRecord.by_owner.query(owner_key, limit=20)]

    def count_ahead(self, queue: str, sort_key: str) -> int:
        """How many are before ``sort_key`` in the queue: a Query with Select=COUNT on the KEYS_ONLY
        ``by_queue`` index (DynamoDB still reads the keys it counts, ~100 bytes each: about 40
        items per read unit, one request per 1 MB, i.e. per ~10,000 households ahead)."""
        return WaitingRecord.by_queue.count(queue, range_key_condition=WaitingRecord.sort_key < sort_key)

    def leave(self, application_id: str) -> None:
        """A housed household leaves the waiting list (those behind move up: positions are counts)."""
        WaitingRecord(application_id).delete()


# --- records ------------------------------------------------------------------------------------
def waiting_record(w: Waiting) -> WaitingRecord:
    return WaitingRecord(w.application_id, queue=w.queue, sort_key=w.sort_key, owner_key=w.owner_key, owner=w.owner,
                         household_size=w.household_size, priority_points=w.priority_points, batch_id=w.batch_id,
                         period_end=w.period_end, qualified_at=w.qualified_at)


def to_waiting(r: Any) -> Waiting:
    return Waiting(r.application_id, r.queue, r.sort_key, r.owner_key, r.owner, int(r.household_size or 0),
                   int(r.priority_points or 0), r.batch_id, r.period_end, r.qualified_at)
