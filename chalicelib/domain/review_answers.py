"""Answering an annual review (年审申报): "nothing changed" in one tap (the members the bureau holds),
or the household as it is now (members, incomes, circumstances, with the city's documents); the
tenant, a delegate with ``act``, or staff at the counter or at home (代办/上门: a reason, audited, the
signed consent forms attested). Every adult's consent is renewed (in the answer, under their own
login, or on paper); then the departments are asked (domain/review_verification.py).
Decisions: docs/decisions/0031."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.application_status import ConsentStatus, DocumentStatus
from chalicelib.domain.common import expect_version, now_iso
from chalicelib.domain.reviews import OPEN, Review, adults, deadline_passed, holding, reach, rules, save
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import ReviewAnswerIn, ReviewConsentIn


def answer(review_id: str, actor: Actor, body: ReviewAnswerIn) -> Review:
    """The household's answer: "nothing changed" (the members the bureau holds), or the household as
    it is now (members, incomes, circumstances; the city's documents). The answering tenant's
    consent comes with it; staff answering at the counter or at home (代办/上门) give a reason and
    attest the signed forms. Verification starts once every adult's consent is renewed."""
    from chalicelib.domain import households as hh

    review = deps().reviews.get(review_id)
    by = reach(review, actor, act=True, reason=body.assisted.reason if body.assisted else None)  # staff: 400 without
    if review.answer is not None or review.status != OPEN:
        raise errors.ReviewAlreadyAnswered(review.status.value, field="review_id")
    expect_version(review.version, body.version)
    if by.as_role == "staff" and body.assisted is None:
        raise errors.InvalidInput("staff answer with assisted (where, reason)", field="assisted",
                                  message="工作人员代办年审须填写代办方式与事由")
    if by.as_role != "staff" and body.assisted is not None:
        raise errors.InvalidInput("only staff answer as assisted", field="assisted", message="仅工作人员可代办年审")
    if by.as_role != "staff" and deadline_passed(review):
        raise errors.ReviewDeadlinePassed(review.deadline, field="review_id")
    held = holding(review)
    if body.change == "none":
        if body.members is not None:
            raise errors.InvalidInput("members only with change=changed", field="members",
                                      message="家庭情况无变化时无需填写家庭成员")
        members = held.members
    else:
        if not body.members:
            raise errors.InvalidInput("members required with change=changed", field="members",
                                      message="家庭情况有变化时，请填写现在的全部家庭成员")
        members = hh.normalise_members([m.model_dump(mode="json") for m in body.members])
        main_key = next(m["person_key"] for m in held.members if m["relation"] == "self")
        if next(m for m in members if m["relation"] == "self")["person_key"] != main_key:
            raise errors.InvalidInput("the main tenant cannot change", field="members", message="不能更换承租人本人")
        _check_documents(review)
    consents = dict(review.consents)
    at = now_iso()
    if by.as_role == "staff":
        for m in adults(members):  # the signed forms stay at the street office; staff attest them (audited)
            consents[m["member_id"]] = _consent(m, "paper", actor.subject)
    elif body.consent is not None or by.as_role == "tenant":
        member = _member_of(actor, members)
        if body.consent is None or member is None:
            raise errors.InvalidInput("the tenant's consent", field="consent",
                                      message="请阅读并同意个人信息查询授权书后提交")
        _check_text(body.consent)
        consents[member["member_id"]] = _consent(member, "app", actor.subject)
    answered = {"change": body.change, "members": members, "declared": dict(body.declared or {}),
                "note": body.note, "role": by.as_role}
    assisted = None
    if body.assisted is not None:
        assisted = {"staff": actor.subject, "where": body.assisted.where, "reason": body.assisted.reason, "at": at}
    updated = save(replace(review, answer=answered, answered_at=at, answered_by=actor.subject, consents=consents,
                           assisted=assisted), review)
    if by.grant is not None:
        from chalicelib.domain.grants import record_action

        record_action(by.grant, actor, "review_answered", held.household_id or "")
    return begin_if_ready(updated)


def consent(review_id: str, actor: Actor, body: ReviewConsentIn) -> Review:
    """An adult member renews their consent under their own login (before or after the answer)."""
    from chalicelib.domain import households as hh

    review = deps().reviews.get(review_id)
    _check_text(body)
    person = hh.me(actor)
    members = (review.answer or {}).get("members") or holding(review).members
    member = next((m for m in adults(members) if m["person_key"] == person.person_key), None)
    if member is None or review.status != OPEN:
        raise errors.ReviewConsentNotNeeded(review_id, field="review_id")
    if member["member_id"] in review.consents:
        return review  # given already: the same consent
    updated = save(replace(review, consents={**review.consents, member["member_id"]: _consent(
        member, "app", actor.subject)}), review)
    return begin_if_ready(updated)


def missing_consents(review: Review) -> list[dict[str, Any]]:
    members = (review.answer or {}).get("members") or []
    return [m for m in adults(members) if m["member_id"] not in review.consents]


def begin_if_ready(review: Review) -> Review:
    """Answered and every adult consented: the departments are asked (the same workflow)."""
    if review.status != OPEN or review.answer is None or missing_consents(review):
        return review
    from chalicelib.domain import review_verification

    return review_verification.begin(review)


def _member_of(actor: Actor, members: list[dict[str, Any]]) -> dict[str, Any] | None:
    from chalicelib.domain import households as hh

    person = hh.me(actor)
    return next((m for m in members if m["person_key"] == person.person_key), None)


def _check_text(body: Any) -> None:
    from chalicelib.domain.households import config

    if body.text_version != config().consent_version:
        raise errors.InvalidInput(f"the current text is {config().consent_version}", field="consent.text_version",
                                  message=f"授权书版本应为当前版本 {config().consent_version}，请阅读最新的授权书")


def _consent(member: dict[str, Any], method: str, by: str) -> dict[str, Any]:
    from chalicelib.domain.households import config

    return {"member_id": member["member_id"], "status": ConsentStatus.GIVEN.value, "method": method, "at": now_iso(), "by": by,
            "text_version": config().consent_version, "document_id": None}


def _check_documents(review: Review) -> None:
    """A changed household carries the documents the city requires (reviews.json), checked by the
    document worker as an application's are."""
    need = rules().documents_when_changed
    accepted = {d["type"] for d in review.documents.values() if d.get("status") == DocumentStatus.ACCEPTED}
    missing = [t for t in need if t not in accepted]
    if missing:
        from chalicelib.domain.households import config

        names = config().document_types
        raise errors.DocumentsIncomplete("、".join(names.get(t, t) for t in missing), field="documents")
