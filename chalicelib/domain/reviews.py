"""Annual reviews (年审), issue 12 §1: one review per lease and campaign, answered by the household
("nothing changed" in one tap, or a changed household), verified by the same departments' workflow
and rules engine with the city's review rules, recommended, and confirmed by staff
(docs/decisions/0031).

This module holds the review itself: its lifecycle, the record a campaign opens for each lease
(``open_page``: exactly once per lease and campaign, however often a page is retried), who reaches
it (the tenant, a delegate, staff with a reason), what the bureau holds about the household, and a
changed household's documents. Answering (with the adults' renewed consents) is
domain/review_answers.py, the run on the departments domain/review_verification.py, the
recommendation and the staff's decision domain/review_outcomes.py, objections domain/review_objections.py;
campaigns (which leases, the window, the notices) are domain/review_campaigns.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.filetypes import UPLOADS
from chalicelib.domain.common import CHINA_TZ, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor, Role



class ReviewStatus(StrEnum):
    OPEN = "open"  # waiting for the household's answer (notices go out before the deadline)
    VERIFYING = "verifying"  # answered (or exempt): the departments are being asked
    RECOMMENDED = "recommended"  # the rules' recommendation is ready: staff confirm it
    DECIDED = "decided"  # staff confirmed the outcome (the tenant is told, with the reasons)


class Outcome(StrEnum):
    CONTINUE = "continue"  # 继续承租
    HIGHER_RENT = "higher_rent"  # 继续承租，按标准提高租金 (from the next bill)
    MUST_LEAVE = "must_leave"  # 腾退, with the city's grace period
    MANUAL = "manual"  # 人工审核


class ReviewKind(StrEnum):
    CAMPAIGN = "campaign"  # opened by a review campaign
    RENEWAL = "renewal"  # opened for a renewal whose latest review is too old (§2)


OPEN, VERIFYING, RECOMMENDED, DECIDED = (ReviewStatus.OPEN, ReviewStatus.VERIFYING, ReviewStatus.RECOMMENDED,
                                         ReviewStatus.DECIDED)
STATUS_NAMES = {OPEN: "待申报", VERIFYING: "核查中", RECOMMENDED: "待确认", DECIDED: "已办结"}
OUTCOME_NAMES = {Outcome.CONTINUE: "继续承租", Outcome.HIGHER_RENT: "提高租金后继续承租",
                 Outcome.MUST_LEAVE: "限期腾退", Outcome.MANUAL: "人工审核"}
#: verifying -> open: an exemption the departments did not confirm (the household answers after all);
#: recommended -> verifying: staff re-run; decided -> verifying: an objection upheld (复核).
REVIEWS: Lifecycle[ReviewStatus] = Lifecycle(
    "review", OPEN,
    {OPEN: {VERIFYING}, VERIFYING: {RECOMMENDED, OPEN}, RECOMMENDED: {DECIDED, VERIFYING}, DECIDED: {VERIFYING}},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({VERIFYING, RECOMMENDED, DECIDED}), frozenset({VERIFYING}), errors.ReviewAlreadyAnswered,
                      "review_id"),
              Refusal(frozenset({DECIDED}), frozenset({DECIDED}), errors.ReviewAlreadyDecided, "review_id"),
              Refusal(frozenset({OPEN, VERIFYING}), frozenset({DECIDED}), errors.ReviewNotRecommended, "review_id")])
STAFF_ROLES = (Role.STAFF, Role.ADMIN)


@dataclass(frozen=True)
class Review:
    review_id: str
    campaign_id: str
    lease_id: str
    owner: str | None  # the tenant's account (None: an imported lease not claimed yet)
    estate_id: str
    unit_id: str
    unit_label: str
    deadline: str  # YYYY-MM-DD, China time: the last day to answer
    kind: ReviewKind = ReviewKind.CAMPAIGN
    status: ReviewStatus = OPEN
    answer: dict[str, Any] | None = None  # what the household said (no change / the changes)
    answered_at: str | None = None
    answered_by: str | None = None
    recommendation: dict[str, Any] | None = None  # the rules' outcome with every rule explained
    outcome: Outcome | None = None  # as staff confirmed it
    decided_at: str | None = None
    decided_by: str | None = None
    notices: dict[str, str] = field(default_factory=dict)  # notice offset (days) -> when it was queued
    consents: dict[str, dict[str, Any]] = field(default_factory=dict)  # member_id -> renewed consent
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # document_id -> {type, key, status...}
    assisted: dict[str, Any] | None = None  # staff answered for the household (代办/上门): who, where, why
    verification: dict[str, Any] | None = None  # the departments' run: run_id, status, facts, flags
    exempt: str | None = None  # the city's exemption tried (the departments alone review the household)
    objection: dict[str, Any] | None = None  # the tenant's objection to the outcome (复核), as publicity's
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


def review_key(campaign_id: str, lease_id: str) -> str:
    """A review's id: one per lease and campaign, so a retried page writes nothing twice."""
    return f"rev-{campaign_id}-{lease_id}"


@dataclass(frozen=True)
class Opened:
    """What a page of leases gave: reviews this call wrote, and those that existed already."""

    created: int = 0
    existing: int = 0


def open_page(campaign_id: str, deadline: str, leases: list[Any], kind: ReviewKind = ReviewKind.CAMPAIGN) -> Opened:
    """Open one review per lease of the page (``bills.ActiveLease``-like: lease_id, owner,
    estate_id, unit_id, unit_label), each written only if it does not exist yet."""
    at = now_iso()
    reviews = [Review(review_key(campaign_id, lease.lease_id), campaign_id, lease.lease_id, lease.owner,
                      lease.estate_id, lease.unit_id, lease.unit_label, deadline, kind=kind, created_at=at,
                      updated_at=at) for lease in leases]
    existing = deps().reviews.create_many(reviews)
    return Opened(created=len(reviews) - len(existing), existing=len(existing))


def get(review_id: str) -> Review:
    return deps().reviews.get(review_id)


# --- who reaches a review ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Reach:
    """How the caller reaches a review: its tenant, a delegate (with the grant), or staff."""

    as_role: str  # tenant | delegate | staff
    grant: dict[str, Any] | None = None

    @property
    def full(self) -> bool:
        """Personal data in clear (the tenant, staff after a reason); a delegate sees it masked."""
        return self.as_role != "delegate"


def reach(review: Review, actor: Actor, *, act: bool, reason: str | None = None) -> Reach:
    """The tenant; a delegate whose live grant from the tenant has ``view`` (``act`` to answer);
    staff of the city with a reason (audited). Anyone else is told the review does not exist."""
    if review.owner is not None and review.owner == actor.subject:
        return Reach("tenant")
    if actor.has(*STAFF_ROLES):
        from chalicelib.domain import audit

        audit.record(actor, f"review#{review.review_id}", "act_on_review" if act else "read_review", reason)
        return Reach("staff")
    if review.owner is not None and actor.has(Role.APPLICANT):
        grant = deps().grants.between(review.owner, actor.subject)
        if grant is not None:
            from chalicelib.domain.grants import check

            check(grant, "act" if act else "view")
            return Reach("delegate", grant)
    raise errors.ReviewNotFound(review.review_id, field="review_id")


def today() -> date:
    return now().astimezone(CHINA_TZ).date()


def save(review: Review, current: Review) -> Review:
    """Write ``review`` (its version one above ``current``'s) unless someone wrote in between (409)."""
    updated = replace(review, updated_at=now_iso(), version=current.version + 1)
    deps().reviews.save(updated, current.version)
    return updated


def mutate(review_id: str, change: Callable[[Review], Review], attempts: int = 3) -> Review:
    """A system step's write (the workflow, the outcome's effects): re-read and retry when a person
    wrote in between; ``change`` raises Skip when there is nothing left to do."""
    for attempt in range(attempts):
        current = deps().reviews.get(review_id)
        try:
            return save(change(current), current)
        except errors.StaleVersion:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


# --- reading -------------------------------------------------------------------------------------------
def current_of(owner: str) -> Review:
    """A tenant's review to act on: the newest not decided, else the newest (404 when none)."""
    mine = deps().reviews.of_owner(owner, 10)
    if not mine:
        raise errors.ReviewNotFound("no review for this tenant", field="review_id")
    return next((r for r in mine if r.status != DECIDED), mine[0])


def mine(actor: Actor) -> tuple[Review, Reach]:
    return current_of(actor.subject), Reach("tenant")


def delegated(actor: Actor, grant_id: str) -> tuple[Review, Reach]:
    """The grantor's current review, for the delegate holding ``grant_id`` (masked)."""
    from chalicelib.domain.grants import usable

    grant = usable(actor, grant_id, "view")
    return current_of(grant["grantor"]), Reach("delegate", grant)


def for_staff(review_id: str, actor: Actor, reason: str | None) -> tuple[Review, Reach]:
    review = deps().reviews.get(review_id)
    return review, reach(review, actor, act=False, reason=reason)


@dataclass(frozen=True)
class Holding:
    """What the bureau holds about the reviewed household now: its members (the household record),
    the lease, and the rule facts of the latest verification (the application's or the last review's)."""

    members: list[dict[str, Any]]
    facts: dict[str, Any]
    sources: dict[str, str]
    verified_at: str | None
    lease: Any
    household_id: str | None
    household_version: int | None


def holding(review: Review) -> Holding:
    lease = deps().leases.get(review.lease_id)
    imported = imported_household(lease)
    app = None if imported else deps().applications.get(lease.application_id)
    household_id = imported or (app.household_id if app is not None else None)
    household = deps().households.get_household(household_id) if household_id else None
    members = list(household.members) if household is not None else list(app.members if app is not None else [])
    latest = next((r.verification for r in deps().reviews.of_lease(review.lease_id)
                   if r.review_id != review.review_id and r.status == DECIDED and r.verification), None)
    verification = latest or (app.verification if app is not None else None) or {}
    return Holding(members, dict(verification.get("facts") or {}), dict(verification.get("sources") or {}),
                   verification.get("decided_at"), lease, household.household_id if household else None,
                   household.version if household else None)


def imported_household(lease: Any) -> str | None:
    """An imported lease (docs/decisions/0036) has no application: its household is the imported one."""
    prefix = "import#"
    return lease.application_id.removeprefix(prefix) if lease.application_id.startswith(prefix) else None


def deadline_passed(review: Review) -> bool:
    return today().isoformat() > review.deadline


def age(member: dict[str, Any], on: date | None = None) -> int:
    """A member's age (from the birth date their ID number gives) on ``on`` (China's today)."""
    on = on or today()
    born = date.fromisoformat(member["birth_date"])
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def adults(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from chalicelib.domain.households import config

    return [m for m in members if age(m) >= config().adult_age]


def rules() -> Any:
    """The city's reviews.json (validated once per process)."""
    from chalicelib.city_files import city_file

    return city_file(deps().settings.city_code, "reviews.json")


# --- documents of a changed household (presigned upload, as an application's) ------------------------------
def add_document(review_id: str, actor: Actor, type_: str, content_type: str,
                 reason: str | None = None) -> tuple[Review, dict[str, Any], dict[str, Any]]:
    """Reserve a document and hand back a presigned POST straight to S3; the S3-event worker checks
    it (``record_check``). Keys sit under the uploads prefix: ``applications/{review_id}/{document_id}``."""
    from chalicelib.domain.application_status import DOCUMENTS
    from chalicelib.domain.common import new_id
    from chalicelib.domain.households import config

    review = deps().reviews.get(review_id)
    reach(review, actor, act=True, reason=reason)  # staff (代办) say why
    cfg = config()
    if type_ not in cfg.document_types:
        raise errors.InvalidInput(f"one of {', '.join(cfg.document_types)}", field="type",
                                  message=f"材料类型应为以下之一：{'、'.join(cfg.document_types)}")
    if review.status != OPEN or review.answer is not None:
        raise errors.ReviewAlreadyAnswered(review.status.value, field="review_id")
    if len(review.documents) >= cfg.max_documents:
        raise errors.TooManyDocuments(str(cfg.max_documents))
    document_id = new_id("doc") + new_id("")  # 128 random bits: keys are not guessable
    key = f"{UPLOADS}{review_id}/{document_id}"
    doc = {"document_id": document_id, "type": type_, "content_type": content_type,
           "status": DOCUMENTS.initial.value, "reason": None, "key": key, "size": None, "uploaded_by": actor.subject,
           "created_at": now_iso(), "checked_at": None}
    updated = save(replace(review, documents={**review.documents, document_id: doc}), review)
    return updated, doc, deps().storage.presigned_post(key, content_type)


def record_check(review_id: str, document_id: str, size: int, head: bytes) -> None:
    """The S3-event worker's verdict on a review's upload: real size and magic bytes."""
    from chalicelib.domain.application_status import DOCUMENTS, DocumentStatus
    from chalicelib.domain.application_types import Skip
    from chalicelib.domain.filetypes import sniff

    def change(review: Review) -> Review:
        doc = review.documents.get(document_id)
        if doc is None:
            raise Skip()
        actual = sniff(head)
        ok = 0 < size <= deps().settings.max_document_bytes and actual == doc["content_type"]
        status = DOCUMENTS.move(DocumentStatus(doc["status"]), DocumentStatus.ACCEPTED if ok else DocumentStatus.REJECTED)
        checked = {**doc, "status": status.value, "size": size, "checked_at": now_iso(),
                   "reason": None if ok else "文件为空、过大，或实际类型与声明的类型不一致"}
        return replace(review, documents={**review.documents, document_id: checked})

    try:
        review = mutate(review_id, change)
    except (Skip, errors.ReviewNotFound):
        return
    if review.documents[document_id]["status"] != DocumentStatus.ACCEPTED:
        deps().storage.delete(review.documents[document_id]["key"])
