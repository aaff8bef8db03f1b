"""Review campaigns (年审批次), issue 12 §1: an admin opens the year's (or a month's) campaign; one
review is opened per lease in it, exactly once per lease and campaign, with the first notice; the
notices before the deadline follow; an open review past the deadline is flagged to staff (never an
automatic exit). Decisions: docs/decisions/0032.

A campaign's id is what it reviews: ``rc-2027`` (every active lease, the year 2027) or ``rc-2027-03``
(the leases whose review month, their start month, is March, in 2027). Opening it again (a retry, a
second admin) is a new *pass* over the same leases that creates nothing twice: each review's id is the
campaign's and the lease's (domain/reviews.review_key), written with a conditional put.

Every pass is one sharded job (domain/fanout.py, as billing runs are): an opening pass writes a page's
reviews (100 a transaction), each with its first notice marked on it, and queues those notices; a
reminder pass (the daily ``review_notices`` job starts one on each
of the city's days before the deadline) marks and queues the reminder of every review still open.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import fanout, reviews
from chalicelib.domain.common import Page, new_id, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import ReviewCampaignIn
    from chalicelib.city_files import CampaignRules


class Scope(StrEnum):
    ALL = "all"  # every active lease (a yearly campaign: rc-YYYY)
    REVIEW_MONTH = "review_month"  # the leases whose review month (their start month) it is (rc-YYYY-MM)


class Purpose(StrEnum):
    OPEN = "open"  # opening: a review per lease, and its first notice
    REMIND = "remind"  # a reminder N days before the deadline to every review still open
    EXEMPT = "exempt"  # the city's exemptions tried on every open review (the departments alone review them)


class PassStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"  # a shard gave up after every delivery failed (its reason kept); open again


RUNNING, FINISHED, FAILED = PassStatus.RUNNING, PassStatus.FINISHED, PassStatus.FAILED
SCOPE_NAMES = {Scope.ALL: "全部在租合同", Scope.REVIEW_MONTH: "年审月份在本月的合同"}
STATUS_NAMES = {RUNNING: "进行中", FINISHED: "已完成", FAILED: "失败"}
PASSES: Lifecycle[PassStatus] = Lifecycle(
    "review_campaign_pass", RUNNING, {RUNNING: {FINISHED, FAILED}, FINISHED: set(), FAILED: set()},
    names=STATUS_NAMES)

#: Leases a worker reads with one Query (as billing).
PAGE_SIZE = 1000
#: Reminders marked at once (each mark is one conditional UpdateItem).
MARKERS = 8
#: The furthest deadline an admin may set.
MAX_WINDOW_DAYS = 366
#: The keys of the first notice in a review's ``notices`` (when, and the pass that opened the review
#: and queued it); reminders are keyed by their days before the deadline.
OPENED, OPENED_BY = "opened", "opened_by"


@dataclass(frozen=True)
class Counts:
    seen: int = 0  # leases of the index read
    created: int = 0  # reviews this pass opened
    existing: int = 0  # reviews opened before (an earlier pass of the campaign)
    out_of_scope: int = 0  # leases the campaign does not review (review month, not started, ended)
    notified: int = 0  # notices queued (the first notice, or this pass's reminder)
    not_notified: int = 0  # no notice: sent already, answered, or no tenant account to tell
    exempted: int = 0  # reviews the city's exemption started (the departments' answers alone complete them)
    failed: int = 0  # leases that could not be worked on (listed with the reason)


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    scope: Scope
    period: str  # YYYY or YYYY-MM
    deadline: str  # YYYY-MM-DD, China time: the last day to answer
    notices_days_before: tuple[int, ...]
    opened_by: str | None
    opened_at: str
    passes: tuple[str, ...] = ()  # every pass, oldest first

    @property
    def label(self) -> str:
        """How a notice names it: 2027年度 / 2027年3月."""
        return f"{self.period}年度" if self.scope == Scope.ALL else f"{self.period[:4]}年{int(self.period[5:])}月"

    def overdue(self, today: date | None = None) -> bool:
        return (today or now().date()) > date.fromisoformat(self.deadline)


@dataclass(frozen=True)
class CampaignPass:
    """One sharded job over the campaign's leases (fanout.Job)."""

    run_id: str
    campaign_id: str
    purpose: Purpose
    started_by: str | None
    started_at: str
    offset: int | None = None  # a reminder's days before the deadline
    status: PassStatus = RUNNING
    shards: int = fanout.SHARDS
    shards_done: int = 0
    shards_failed: int = 0
    counts: Counts = Counts()  # of the shards finished
    enqueued: bool = False
    reason: str | None = None
    finished_at: str | None = None


@dataclass(frozen=True)
class Overview:
    campaign: Campaign
    passes: list[fanout.Progress[Counts]] = field(default_factory=list)

    @property
    def reviews_opened(self) -> int:
        """Reviews the campaign holds (each created by exactly one opening pass)."""
        return sum(p.counts.created for p in self.passes if p.run.purpose == Purpose.OPEN)


# --- opening ---------------------------------------------------------------------------------------
def campaign_id_of(scope: Scope, period: str) -> str:
    return f"rc-{period}"


def terms(body: ReviewCampaignIn, today: date, rules: CampaignRules) -> tuple[Scope, str, str, tuple[int, ...]]:
    """What the body asks for: scope, period, deadline, notices (the city's defaults filled in)."""
    scope = Scope(body.scope)
    if scope == Scope.ALL:
        if body.year is None or body.month is not None:
            raise errors.InvalidInput("a yearly campaign names its year", field="year",
                                      message="全部在租合同的年审应填写年度（year），不填月份")
        period = f"{body.year:04d}"
    else:
        if body.month is None or body.year is not None:
            raise errors.InvalidInput("a review-month campaign names its month", field="month",
                                      message="按年审月份开启的年审应填写月份（month，如 2027-03），不填年度")
        period = body.month
    if not abs(int(period[:4]) - today.year) <= 1:
        raise errors.InvalidInput("within a year of today", field="year" if scope == Scope.ALL else "month",
                                  message="年审年度应为今年、去年或明年")
    if body.deadline is None:
        deadline = today + timedelta(days=rules.window_days)
    else:
        try:
            deadline = date.fromisoformat(body.deadline)
        except ValueError:
            raise errors.InvalidInput("YYYY-MM-DD", field="deadline", message="截止日期应为“年-月-日”，如 2027-06-30") from None
        if deadline <= today:
            raise errors.InvalidInput("after today", field="deadline", message="截止日期应晚于今天")
        if deadline > today + timedelta(days=MAX_WINDOW_DAYS):
            raise errors.InvalidInput(f"within {MAX_WINDOW_DAYS} days", field="deadline",
                                      message=f"截止日期应在 {MAX_WINDOW_DAYS} 天之内")
    notices = tuple(body.notices_days_before if body.notices_days_before is not None else rules.notices_days_before)
    if list(notices) != sorted(set(notices), reverse=True):
        raise errors.InvalidInput("each once, decreasing", field="notices_days_before",
                                  message="提醒天数应各不相同，并从大到小排列，如 [60, 30, 7]")
    return scope, period, deadline.isoformat(), notices


def campaign_rules() -> CampaignRules:
    from chalicelib.city_files import city_file

    return city_file(deps().settings.city_code, "reviews.json").campaign  # type: ignore[no-any-return]


def open_campaign(actor: Actor, body: ReviewCampaignIn) -> tuple[Campaign, CampaignPass]:
    """Open the campaign (or open it again: a new pass over the same leases, creating nothing twice).
    Opening again with other terms (deadline, notices) than it was opened with is refused."""
    today = now().date()
    scope, period, deadline, notices = terms(body, today, campaign_rules())
    at = now_iso()
    wanted = Campaign(campaign_id_of(scope, period), scope, period, deadline, notices, actor.subject, at)
    repo = deps().review_campaigns
    campaign = repo.create_campaign(wanted)
    if campaign is not wanted:  # opened before: its terms stand
        given_deadline = body.deadline is not None and body.deadline != campaign.deadline
        given_notices = body.notices_days_before is not None and tuple(body.notices_days_before) != campaign.notices_days_before
        if given_deadline or given_notices:
            raise errors.ReviewCampaignTermsDiffer(f"opened with deadline {campaign.deadline}",
                                                   field="deadline" if given_deadline else "notices_days_before")
    run = CampaignPass(new_id("rcp"), campaign.campaign_id, Purpose.OPEN, actor.subject, at)
    return campaign, launch(campaign, run, fail_if_unsent="队列暂时不可用，年审未开启")


def launch(campaign: Campaign, run: CampaignPass, *, fail_if_unsent: str | None) -> CampaignPass:
    fields_ = {"campaign_id": campaign.campaign_id, "purpose": run.purpose.value, "offset": run.offset,
               "scope": campaign.scope.value, "period": campaign.period, "deadline": campaign.deadline,
               "label": campaign.label}
    return fanout.launch(KIND, run, fields_, fail_if_unsent=fail_if_unsent)  # type: ignore[no-any-return]


# --- reading ---------------------------------------------------------------------------------------
def get(campaign_id: str) -> Overview:
    campaign = deps().review_campaigns.get_campaign(campaign_id)
    return Overview(campaign, [fanout.get(KIND, run_id) for run_id in campaign.passes])


def page(cursor: str | None, limit: int) -> Page[Campaign]:
    """Campaigns, the newest first."""
    return deps().review_campaigns.page(cursor, limit)


def reviews_of(campaign_id: str, status: str, overdue: bool, cursor: str | None,
               limit: int) -> tuple[Campaign, Page[reviews.Review]]:
    """A campaign's reviews in one status (lease order). ``overdue``: the open ones, once the deadline
    has passed (every review of a campaign has its deadline), for staff to follow up; none before."""
    campaign = deps().review_campaigns.get_campaign(campaign_id)
    if overdue:
        if status != reviews.OPEN.value:
            raise errors.InvalidInput("overdue reviews are open ones", field="overdue",
                                      message="逾期未申报仅适用于“待申报”的年审，请去掉状态或选择待申报")
        if not campaign.overdue():
            return campaign, Page([])
    return campaign, deps().reviews.of_campaign_in(campaign_id, reviews.ReviewStatus(status), cursor, limit)


def is_overdue(review: reviews.Review, today: date | None = None) -> bool:
    return review.status == reviews.OPEN and (today or now().date()) > date.fromisoformat(review.deadline)


# --- the worker ------------------------------------------------------------------------------------
def process(msg: dict[str, Any], remaining_ms: Callable[[], int]) -> str:
    """Work on one shard message of a pass (fanout.process): finished | continued | lost | done."""
    return fanout.process(KIND, msg, remaining_ms)


def give_up(msg: dict[str, Any], reason: str) -> None:
    fanout.give_up(KIND, msg, reason)


def in_scope(lease: Any, msg: dict[str, Any], today: date) -> bool:
    """Whether the campaign reviews this lease: a yearly campaign every lease in force during its
    response window (started by the deadline, not ended before today); a review-month campaign the
    leases that started in that month of an earlier year (a lease's review month is the month it
    started) and have not ended."""
    start, end = date.fromisoformat(lease.start_date), date.fromisoformat(lease.end_date)
    if msg["scope"] == Scope.REVIEW_MONTH:
        period = str(msg["period"])
        return start.month == int(period[5:7]) and start.year < int(period[:4]) and end >= today
    return start <= date.fromisoformat(str(msg["deadline"])) and end >= today


def _work(msg: dict[str, Any], leases: list[Any]) -> tuple[Counts, list[dict[str, str]]]:
    today, mine, tally, failures = now().date(), [], {"out_of_scope": 0, "failed": 0}, []
    for lease in leases:
        try:
            if in_scope(lease, msg, today):
                mine.append(lease)
            else:
                tally["out_of_scope"] += 1
        except (ValueError, TypeError, KeyError) as exc:  # a lease whose dates cannot be read
            tally["failed"] += 1
            failures.append(fanout.failure(lease.lease_id, exc))
    work = {Purpose.OPEN: _open, Purpose.REMIND: _remind, Purpose.EXEMPT: _exempt}[Purpose(msg["purpose"])]
    counts = work(msg, mine)
    return replace(counts, seen=len(leases), **tally), failures


def _open(msg: dict[str, Any], leases: list[Any]) -> Counts:
    """The page's reviews, each written once, its first notice marked on it as it is written
    (``notices.opened``, with the pass that opened it); then the notices of the reviews this pass
    wrote are queued: those just created, and those an earlier delivery of this page wrote before it
    died (found by the pass's id on them: nothing of another pass is counted or told twice)."""
    at, campaign_id, deadline, run_id = now_iso(), str(msg["campaign_id"]), str(msg["deadline"]), str(msg["run_id"])
    page = [reviews.Review(reviews.review_key(campaign_id, lease.lease_id), campaign_id, lease.lease_id, lease.owner,
                           lease.estate_id, lease.unit_id, lease.unit_label, deadline,
                           notices={OPENED: at, OPENED_BY: run_id}, created_at=at, updated_at=at) for lease in leases]
    existing, ours = deps().review_campaigns.open_reviews(page, OPENED_BY, run_id)
    mine = [r for r in page if r.review_id not in existing or r.review_id in ours]
    told = [r for r in mine if r.owner]
    _queue(msg, told, OPENED)
    return Counts(created=len(mine), existing=len(page) - len(mine), notified=len(told),
                  not_notified=len(page) - len(told))


def _remind(msg: dict[str, Any], leases: list[Any]) -> Counts:
    at, campaign_id = now_iso(), str(msg["campaign_id"])
    page = [reviews.Review(reviews.review_key(campaign_id, lease.lease_id), campaign_id, lease.lease_id, lease.owner,
                           lease.estate_id, lease.unit_id, lease.unit_label, str(msg["deadline"])) for lease in leases]
    notified, not_notified = _notify(msg, page, str(msg["offset"]), at)
    return Counts(notified=notified, not_notified=not_notified)


def _exempt(msg: dict[str, Any], leases: list[Any]) -> Counts:
    """Each review of the page whose household the city's rules exempt (e.g. every member over 70
    on 低保) is handed to the departments at once (review_verification.begin_exempt: a household that
    is no candidate, a review answered or gone on, changes nothing). Off the opening's path: the
    opening reads no household (its budget is a request or two per lease); this pass runs once per
    campaign, after the opening finished."""
    from chalicelib.domain import review_verification

    started = 0
    for lease in leases:
        try:
            started += review_verification.begin_exempt(reviews.review_key(str(msg["campaign_id"]), lease.lease_id))
        except errors.NotFound:  # no review for it (opened after the lease), or no household on record
            continue
    return Counts(exempted=started)


def _notify(msg: dict[str, Any], page: list[reviews.Review], key: str, at: str) -> tuple[int, int]:
    """Mark the reminder ``key`` on each review (conditionally: once per review, only while it is
    open, and never on the day of the review's first notice), then queue the marked ones that have a
    tenant's account to tell."""
    day_start = f"{now().date().isoformat()}T00:00"
    with ThreadPoolExecutor(MARKERS) as pool:
        marked = [r for r, ok in zip(page, pool.map(
            lambda r: deps().review_campaigns.mark_notice(r.review_id, key, at, day_start), page)) if ok and r.owner]
    _queue(msg, marked, key)
    return len(marked), len(page) - len(marked)


def _queue(msg: dict[str, Any], told: list[reviews.Review], key: str) -> None:
    """The notices of ``told`` through the notifier (10 a queue request), with the tenants' mobiles."""
    from chalicelib.notify import Notice

    mobiles = deps().review_campaigns.mobiles(sorted({r.owner for r in told if r.owner}))
    days = (date.fromisoformat(str(msg["deadline"])) - now().date()).days
    notices = [Notice(template="review_opened" if key == OPENED else "review_reminder", recipient=r.owner,
                      mobile=mobiles.get(r.owner or ""),
                      params={"campaign": str(msg["label"]), "unit": r.unit_label, "deadline": str(msg["deadline"]),
                              "days": str(days)}) for r in told]
    deps().notifier.notify_many(notices)


# --- the daily notices -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NoticeDay:
    day: str
    started: list[str] = field(default_factory=list)  # reminder passes started (or found started)
    exemptions: list[str] = field(default_factory=list)  # exemption passes started (or found started)
    overdue: list[str] = field(default_factory=list)  # campaigns whose deadline has passed


def send_notices(day: date | None = None) -> NoticeDay:
    """The daily job: every campaign with a reminder due today (its deadline minus one of its notice
    days) gets a reminder pass, once (its id is the campaign's and the day's, so a rerun of the job
    starts nothing twice); campaigns past their deadline are listed for staff (overdue)."""
    day = day or now().date()
    out = NoticeDay(day.isoformat())
    cursor: str | None = None
    while True:
        found = deps().review_campaigns.page(cursor, 100)
        for campaign in found.items:
            deadline = date.fromisoformat(campaign.deadline)
            if campaign.overdue(day):
                out.overdue.append(campaign.campaign_id)
            for offset in campaign.notices_days_before:
                if deadline - timedelta(days=offset) == day:
                    run = CampaignPass(f"{campaign.campaign_id}.remind-{offset}", campaign.campaign_id, Purpose.REMIND,
                                       None, now_iso(), offset=offset)
                    out.started.append(launch(campaign, run, fail_if_unsent=None).run_id)
            if not campaign.overdue(day) and reviews.rules().exempt and _opened(campaign):
                run = CampaignPass(f"{campaign.campaign_id}.exempt", campaign.campaign_id, Purpose.EXEMPT, None,
                                   now_iso())  # one id per campaign: the job run every day starts it once
                out.exemptions.append(launch(campaign, run, fail_if_unsent=None).run_id)
        if not found.next_cursor:
            return out
        cursor = found.next_cursor


def _opened(campaign: Campaign) -> bool:
    """An opening pass of the campaign has finished (its reviews exist)."""
    runs = (KIND.store().get(p) for p in campaign.passes if p.startswith("rcp"))  # the run only, not its shards
    return any(run.purpose == Purpose.OPEN and run.status == FINISHED for run in runs)


COUNTS = tuple(f.name for f in fields(Counts))
KIND: fanout.Kind[Counts] = fanout.Kind("review_campaign", lambda: deps().review_campaigns, PASSES,
                                        lambda: PAGE_SIZE, _work)
