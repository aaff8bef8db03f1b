"""Review campaigns (年审批次): the campaign, its passes and their shards (the sharded jobs' layout,
repositories/fanout.py), the reviews queue, and what a pass needs of other records: the reviews it
opens and marks (repositories/reviews.py, its campaigns' section) and the tenants' mobiles for the
notices (one BatchGetItem per 100). docs/decisions/0032."""
from __future__ import annotations

from pynamodb.exceptions import PutError

from chalicelib import errors
from chalicelib.domain.common import Page
from chalicelib.domain.review_campaigns import Campaign, CampaignPass, Counts, PassStatus, Purpose, Scope
from chalicelib.domain.reviews import Review
from chalicelib.repositories import reviews as review_store
from chalicelib.repositories.common import is_condition_failure, transact
from chalicelib.repositories.fanout import RUN, JobStore
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import PersonRecord, ReviewCampaignRecord

R = ReviewCampaignRecord
CAMPAIGN = "campaign"


class ReviewCampaignRepository(JobStore, model=ReviewCampaignRecord, counts=Counts, running=PassStatus.RUNNING,
                               not_found=errors.ReviewCampaignNotFound, queue="reviews_queue_url"):

    # --- the campaign ----------------------------------------------------------------------------
    def create_campaign(self, campaign: Campaign) -> Campaign:
        """Record the campaign unless it exists: ``campaign`` itself when written, else the stored one."""
        record = R(campaign.campaign_id, CAMPAIGN, scope=campaign.scope.value, period=campaign.period,
                   deadline=campaign.deadline, notices_days_before=list(campaign.notices_days_before),
                   opened_by=campaign.opened_by, opened_at=campaign.opened_at, passes=[], list_key=CAMPAIGN,
                   opened_sort=f"{campaign.opened_at}#{campaign.campaign_id}")
        try:
            record.save(condition=R.run_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return self.get_campaign(campaign.campaign_id)
            raise
        return campaign

    def get_campaign(self, campaign_id: str) -> Campaign:
        try:
            return to_campaign(R.get(campaign_id, CAMPAIGN, consistent_read=True))
        except R.DoesNotExist:
            raise errors.ReviewCampaignNotFound(campaign_id, field="campaign_id") from None

    def page(self, cursor: str | None, limit: int) -> Page[Campaign]:
        records, next_cursor = query_page(R.by_opened, CAMPAIGN, key_names=("run_id", "item", "list_key", "opened_sort"),
                                          scope="review_campaigns", limit=limit, cursor=cursor, forward=False)
        return Page([to_campaign(r) for r in records], next_cursor)

    # --- passes (fanout's jobs) --------------------------------------------------------------------
    def create(self, run: CampaignPass) -> bool:
        """Record a new pass and add it to its campaign's, in one transaction; False if it exists."""
        return transact(self.settings, lambda tx: (
            tx.save(self.run_record(run), condition=R.run_id.does_not_exist()),
            tx.update(R(run.campaign_id, CAMPAIGN), actions=[R.passes.set((R.passes | []).append([run.run_id]))],
                      condition=R.run_id.exists())))

    def run_record(self, run: CampaignPass) -> ReviewCampaignRecord:
        return R(run.run_id, RUN, campaign_id=run.campaign_id, purpose=run.purpose.value, offset=run.offset,
                 started_by=run.started_by, started_at=run.started_at, status=run.status.value, shards=run.shards,
                 shards_done=run.shards_done, shards_failed=run.shards_failed, enqueued=1 if run.enqueued else None,
                 reason=run.reason, finished_at=run.finished_at, **{n: getattr(run.counts, n) for n in self.counts})

    def to_run(self, r: ReviewCampaignRecord) -> CampaignPass:
        return CampaignPass(
            run_id=r.run_id, campaign_id=r.campaign_id or "", purpose=Purpose(r.purpose or Purpose.OPEN.value),
            started_by=r.started_by, started_at=r.started_at or "",
            offset=int(r.offset) if r.offset is not None else None,
            status=PassStatus(r.status or PassStatus.RUNNING.value), shards=int(r.shards or 0),
            shards_done=int(r.shards_done or 0), shards_failed=int(r.shards_failed or 0), counts=self.counts_of(r),
            enqueued=bool(r.enqueued), reason=r.reason, finished_at=r.finished_at)

    # --- what a pass reads and writes besides ------------------------------------------------------
    def open_reviews(self, reviews: list[Review], by_key: str, by: str) -> tuple[set[str], set[str]]:
        return review_store.open_reviews(self.settings, reviews, by_key, by)

    def mark_notice(self, review_id: str, key: str, at: str, created_before: str | None = None) -> bool:
        return review_store.mark_notice(review_id, key, at, created_before)


    def mobiles(self, subjects: list[str]) -> dict[str, str]:
        """The contact mobile of each login that has one (BatchGetItem, 100 keys a request)."""
        if not subjects:
            return {}
        found: dict[str, str] = {}
        for person in PersonRecord.batch_get(subjects, attributes_to_get=["subject", "mobile"]):
            if person.mobile:
                found[person.subject] = person.mobile
        return found


def to_campaign(r: ReviewCampaignRecord) -> Campaign:
    return Campaign(campaign_id=r.run_id, scope=Scope(r.scope or Scope.ALL.value), period=r.period or "",
                    deadline=r.deadline or "", notices_days_before=tuple(int(n) for n in (r.notices_days_before or [])),
                    opened_by=r.opened_by, opened_at=r.opened_at or "", passes=tuple(r.passes or ()))
