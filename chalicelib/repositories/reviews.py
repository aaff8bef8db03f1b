"""Annual reviews (年审): read by id, by lease, by tenant and by campaign; written once per lease and
campaign (``create_many``: conditional puts, 100 a transaction, as bills are), then saved (all but the
notices the campaigns mark) on the version read (``save``: ``campaign_sort`` follows the status, so a campaign's reviews are listed by it)."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.reviews import Outcome, Review, ReviewKind, ReviewStatus
from chalicelib.repositories.common import is_condition_failure, plain, put_many_new
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import ReviewRecord

REVIEW_FIELDS = (
    "campaign_id", "lease_id", "owner", "estate_id", "unit_id", "unit_label", "deadline", "kind", "status",
    "answer", "answered_at", "answered_by", "recommendation", "outcome", "decided_at", "decided_by", "notices",
    "consents", "documents", "assisted", "verification", "exempt", "objection", "created_at", "updated_at", "version")


#: Not written by ``save``: the key, and the notices the campaigns mark on their own.
UNSAVED = frozenset({"review_id", "notices"})


class ReviewRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, review_id: str) -> Review:
        try:
            return to_review(ReviewRecord.get(review_id, consistent_read=True))
        except ReviewRecord.DoesNotExist:
            raise errors.ReviewNotFound(review_id, field="review_id") from None

    def of_lease(self, lease_id: str) -> list[Review]:
        """A lease's reviews, newest first."""
        return [to_review(r) for r in ReviewRecord.by_lease.query(lease_id, scan_index_forward=False)]

    def create_many(self, reviews: list[Review]) -> dict[str, dict[str, Any]]:
        """Write each review unless it exists; the ones that existed (id -> stored item)."""
        return put_many_new(self.settings, [review_record(r) for r in reviews], "review_id")

    def save(self, review: Review, expected_version: int) -> None:
        """Every field of the review but its ``notices``, only over the version it was read at (else
        409 STALE_VERSION). An UpdateItem, not a whole put: the campaigns mark notices on the review
        without moving its version (``mark_notice``), and a save from an older read must not wipe them."""
        from pynamodb.exceptions import UpdateError

        record = review_record(review)
        actions = [attr.remove() if getattr(record, name) is None else attr.set(getattr(record, name))
                   for name, attr in ReviewRecord.get_attributes().items() if name not in UNSAVED]
        try:
            ReviewRecord(review.review_id).update(actions=actions, condition=ReviewRecord.version == expected_version)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion(f"review {review.review_id} changed", field="version") from None
            raise

    def of_owner(self, owner: str, limit: int = 10) -> list[Review]:
        """A tenant's reviews, newest first (a tenant has one lease at a time: a handful)."""
        return [to_review(r) for r in ReviewRecord.by_owner.query(owner, scan_index_forward=False, limit=limit)]

    def of_campaign_in(self, campaign_id: str, status: ReviewStatus, cursor: str | None,
                       limit: int) -> Page[Review]:
        """A campaign's reviews in one status (``by_campaign``: "{status}#{lease_id}"), a page."""
        records, next_cursor = query_page(
            ReviewRecord.by_campaign, campaign_id, key_names=("review_id", "campaign_id", "campaign_sort"),
            range_condition=ReviewRecord.campaign_sort.startswith(f"{status.value}#"),
            scope=f"reviews:{campaign_id}:{status.value}", limit=limit, cursor=cursor)
        return Page([to_review(r) for r in records], next_cursor)


def review_record(review: Review) -> ReviewRecord:
    values = {f: getattr(review, f) for f in REVIEW_FIELDS}
    return ReviewRecord(review.review_id, lease_sort=f"{review.created_at}#{review.review_id}",
                        campaign_sort=f"{review.status}#{review.lease_id}", **values)


def to_review(r: ReviewRecord) -> Review:
    values = {f: plain(getattr(r, f)) for f in REVIEW_FIELDS}
    values["version"] = int(values["version"])
    values["kind"] = ReviewKind(values["kind"])
    values["status"] = ReviewStatus(values["status"])
    values["outcome"] = Outcome(values["outcome"]) if values["outcome"] else None
    for name in ("notices", "consents", "documents"):
        values[name] = dict(values[name] or {})
    return Review(review_id=r.review_id, **values)


# --- campaigns: a campaign's reviews, notices (domain/review_campaigns.py, docs/decisions/0032) -------
def open_reviews(settings: Settings, reviews: list[Review], by_key: str, by: str) -> tuple[set[str], set[str]]:
    """Write a page's reviews (each unless it exists: conditional puts, 100 a transaction). Returns
    the ids that existed, and those of them whose ``notices.<by_key>`` is ``by`` (written by an
    earlier delivery of the same pass: the cancellation reasons carry the stored items)."""
    existing = put_many_new(settings, [review_record(r) for r in reviews], "review_id")
    ours = {review_id for review_id, item in existing.items()
            if (((item.get("notices") or {}).get("M") or {}).get(by_key) or {}).get("S") == by}
    return set(existing), ours


def mark_notice(review_id: str, key: str, at: str, created_before: str | None = None) -> bool:
    """Mark the notice ``key`` as queued (``notices.<key>``), only if the review exists, is still open,
    was not marked so before and (``created_before``) was created before then: False otherwise. The
    review's version is not moved: a notice must not make the household's answer stale."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.repositories.common import is_condition_failure

    R = ReviewRecord
    marker = R.notices[key]
    condition = R.review_id.exists() & (R.status == ReviewStatus.OPEN.value) & marker.does_not_exist()
    if created_before:
        condition = condition & (R.created_at < created_before)
    try:
        R(review_id).update(actions=[marker.set(at)], condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
