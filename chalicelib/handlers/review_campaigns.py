"""Review campaigns (年审批次): an admin opens the year's (or a month's) campaign and follows its
passes (reviews opened, already existing, notices queued, failures); staff list a campaign's reviews
by status, the overdue ones to follow up. docs/decisions/0032."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.handlers.roles import ADMIN, CASE_STAFF
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.fanout import Progress
    from chalicelib.domain.review_campaigns import Campaign, CampaignPass, Counts
    from chalicelib.domain.reviews import Review

campaigns = lazy.module("chalicelib.domain.review_campaigns")
review_states = lazy.module("chalicelib.domain.reviews")

bp = Blueprint(__name__)
api = Api(bp, "review_campaigns")

PURPOSE_NAMES = {"open": "开启", "remind": "提醒", "exempt": "豁免核查"}
STATUS = Param("status", "enum", "年审状态", choices=("open", "verifying", "recommended", "decided"), default="open")
OVERDUE = Param("overdue", "enum", "只看截止日期已过仍未申报的（true）", choices=("true", "false"), default="false")


def present_counts(c: Counts) -> dict[str, Any]:
    return {"leases_seen": c.seen, "reviews_created": c.created, "already_existing": c.existing,
            "out_of_scope": c.out_of_scope, "notices_queued": c.notified, "not_notified": c.not_notified,
            "exemptions_started": c.exempted, "failed": c.failed}


def present_pass(progress: Progress[Counts]) -> dict[str, Any]:
    run: CampaignPass = progress.run
    return {"pass_id": run.run_id, "purpose": run.purpose, "purpose_name": PURPOSE_NAMES[run.purpose],
            "offset": run.offset, "status": run.status, "status_name": campaigns.STATUS_NAMES[run.status],
            "started_by": run.started_by, "started_at": run.started_at, "finished_at": run.finished_at,
            "reason": run.reason, "shards": run.shards, "shards_done": run.shards_done,
            "shards_failed": run.shards_failed, **present_counts(progress.counts), "failures": progress.failures[:100]}


def present_summary(campaign: Campaign) -> dict[str, Any]:
    return {"campaign_id": campaign.campaign_id, "scope": campaign.scope, "scope_name": campaigns.SCOPE_NAMES[campaign.scope],
            "period": campaign.period, "deadline": campaign.deadline,
            "notices_days_before": list(campaign.notices_days_before), "overdue": campaign.overdue(),
            "opened_by": campaign.opened_by, "opened_at": campaign.opened_at}


def present_campaign(overview: Any) -> dict[str, Any]:
    openings = [p for p in overview.passes if p.run.purpose == "open"]
    latest = openings[-1].run.status if openings else campaigns.RUNNING
    return {**present_summary(overview.campaign), "status": latest, "status_name": campaigns.STATUS_NAMES[latest],
            "reviews_opened": overview.reviews_opened, "passes": [present_pass(p) for p in overview.passes]}


def paged(page: Any, present: Any) -> dict[str, Any]:
    return {"items": [present(x) for x in page.items], "next_cursor": page.next_cursor}


def present_review(review: Review) -> dict[str, Any]:
    return {"review_id": review.review_id, "campaign_id": review.campaign_id, "lease_id": review.lease_id,
            "estate_id": review.estate_id, "unit_id": review.unit_id, "unit_label": review.unit_label,
            "status": review.status, "status_name": review_states.STATUS_NAMES[review.status],
            "deadline": review.deadline, "overdue": campaigns.is_overdue(review), "notices": dict(review.notices),
            "created_at": review.created_at}


@api.route("/v1/admin/review-campaigns", "POST", summary="开启年审批次（按年度或年审月份；再次开启不会重复开启年审）",
           roles=ADMIN, body="chalicelib.bodies:ReviewCampaignIn", status=202, response="ReviewCampaign",
           operation_id="openReviewCampaign")
def open_review_campaign(call: Call) -> dict[str, Any]:
    """Open a campaign (or open it again); answers at once, the shards are worked on by the queue."""
    campaign, _ = campaigns.open_campaign(call.actor, call.model())
    return present_campaign(campaigns.get(campaign.campaign_id))


@api.route("/v1/admin/review-campaigns/{campaign_id}", summary="年审批次进度：开启与提醒，新开启、已存在、通知、失败及原因",
           roles=ADMIN, response="ReviewCampaign", operation_id="getReviewCampaign")
def get_review_campaign(call: Call, campaign_id: str) -> dict[str, Any]:
    return present_campaign(campaigns.get(campaign_id))


@api.route("/v1/admin/review-campaigns", summary="年审批次（新的在前）", roles=ADMIN, params=[CURSOR, LIMIT],
           response="ReviewCampaignPage", operation_id="listReviewCampaigns")
def list_review_campaigns(call: Call) -> dict[str, Any]:
    """Campaigns, the newest first (their terms; a campaign's progress is on its own page)."""
    return paged(campaigns.page(call.params["cursor"], call.params["limit"]), present_summary)


@api.route("/v1/admin/review-campaigns/{campaign_id}/reviews", summary="年审批次的年审（按状态；逾期未申报的转工作人员跟进）",
           roles=CASE_STAFF, params=[STATUS, OVERDUE, CURSOR, LIMIT], response="CampaignReviewPage",
           operation_id="listCampaignReviews")
def list_campaign_reviews(call: Call, campaign_id: str) -> dict[str, Any]:
    _, page = campaigns.reviews_of(campaign_id, call.params["status"], call.params["overdue"] == "true",
                                   call.params["cursor"], call.params["limit"])
    return paged(page, present_review)
