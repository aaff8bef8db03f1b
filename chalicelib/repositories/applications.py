"""Applications with their timeline events, person locks and consent records.

Every change is one TransactWrite: the application (on the condition that its revision is the one
read), the timeline events, and the locks or consent records the change implies. Nothing is
half-written: a member already in another active application cancels the whole submit.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application, Event, _RevisionMoved
from chalicelib.domain.common import Page, new_id
from chalicelib.domain.idnumbers import mask_name
from chalicelib.repositories.common import TRANSIENT, _connection, is_condition_failure, transaction
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.common import plain
from chalicelib.repositories.tables import ApplicationRecord, ConsentRecord, EventRecord, PersonLockRecord

EVENT_FIELDS = ("type", "actor", "actor_role", "from_status", "to_status", "note", "changes", "grant_id")


class ApplicationRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, application_id: str) -> Application:
        try:
            return to_application(ApplicationRecord.get(application_id))
        except ApplicationRecord.DoesNotExist:
            raise errors.ApplicationNotFound(application_id) from None

    def create(self, app: Application, event: Event, *, one_draft_of: str | None = None) -> None:
        if one_draft_of is not None:
            return self._create_only_draft(app, event, one_draft_of)
        items = [(record_of(app), ApplicationRecord.application_id.does_not_exist())]
        self._write(items, [event_record(app.application_id, event)],
                    consents=[consent_record(app, m) for m in app.members if m["member_id"] in app.consents])

    def _create_only_draft(self, app: Application, event: Event, household_id: str) -> None:
        """The draft, its event and consents, and the household's draft-lock for this kind, in one
        transaction. The lock may be taken if free or if the application it names is no longer a
        draft; of parallel creates one wins, the others are 409 DRAFT_EXISTS (nothing written)."""
        key = f"draft#{household_id}#{app.kind}"
        try:
            previous: str | None = PersonLockRecord.get(key, consistent_read=True).application_id
        except PersonLockRecord.DoesNotExist:
            previous = None
        lock = PersonLockRecord(key, application_id=app.application_id, since=app.created_at)
        with transaction(self.settings, errors.DraftExists(previous or "", field="kind")) as tx:
            if previous is None:
                tx.save(lock, condition=PersonLockRecord.person_key.does_not_exist())
            else:
                tx.condition_check(ApplicationRecord, previous,
                                   condition=(ApplicationRecord.status != Status.DRAFT.value)
                                   | ApplicationRecord.application_id.does_not_exist())
                tx.save(lock, condition=PersonLockRecord.application_id == previous)
            tx.save(record_of(app), condition=ApplicationRecord.application_id.does_not_exist())
            tx.save(event_record(app.application_id, event))
            for member in app.members:
                if member["member_id"] in app.consents:
                    tx.save(consent_record(app, member))

    def save(self, app: Application, expected_rev: int, events: list[Event], *, lock: list[str] = (),
             unlock: list[str] = (), consents: list[dict[str, Any]] = ()) -> None:
        """Write ``app`` if its revision is still ``expected_rev``; raises _RevisionMoved if not."""
        items = [(record_of(app), ApplicationRecord.rev == expected_rev)]
        self._write(items, [event_record(app.application_id, e) for e in events],
                    lock=[(k, app.application_id) for k in lock], unlock=[(k, app.application_id) for k in unlock],
                    consents=[consent_record(app, m) for m in consents], members=app.members)

    def _write(self, items: list[tuple[ApplicationRecord, Any]], events: list[EventRecord], *,
               lock: list[tuple[str, str]] = (), unlock: list[tuple[str, str]] = (),
               consents: list[ConsentRecord] = (), members: list[dict[str, Any]] = ()) -> None:
        at = events[0].at.split("#")[0] if events else ""
        connection = _connection(self.settings.region, self.settings.endpoint_url)
        try:
            with TransactWrite(connection=connection) as tx:
                for record, condition in items:
                    tx.save(record, condition=condition)
                for e in events:
                    tx.save(e)
                for key, application_id in lock:
                    tx.save(PersonLockRecord(key, application_id=application_id, since=at),
                            condition=PersonLockRecord.person_key.does_not_exist()
                            | (PersonLockRecord.application_id == application_id))
                for key, application_id in unlock:
                    tx.delete(PersonLockRecord(key), condition=PersonLockRecord.person_key.does_not_exist()
                              | (PersonLockRecord.application_id == application_id))
                for c in consents:
                    tx.save(c)
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
            if "ConditionalCheckFailed" not in reasons:
                if exc.cause_response_code in TRANSIENT or set(reasons) & TRANSIENT:
                    raise errors.ServiceUnavailable(str(exc.cause_response_code)) from None
                raise
            failed = reasons.index("ConditionalCheckFailed")
            if failed < len(items):
                if items[0][0].rev == 0 or "does_not_exist" in str(items[0][1]):
                    raise errors.AlreadyExists() from None
                raise _RevisionMoved() from None
            lock_start = len(items) + len(events)
            if lock_start <= failed < lock_start + len(lock):
                key = lock[failed - lock_start][0]
                who = next((m for m in members if m["person_key"] == key), None)
                raise errors.PersonAlreadyApplying(mask_name(who["name"]) if who else None,
                                                   field="members") from None
            raise errors.Conflict("state changed") from None

    # --- reading ------------------------------------------------------------------------------
    def by_owner(self, owner_key: str, cursor: str | None, limit: int) -> Page[Application]:
        records, next_cursor = query_page(
            ApplicationRecord.by_owner, owner_key, key_names=("application_id", "owner_key", "sort_key"),
            scope=f"apps|owner|{owner_key}", limit=limit, cursor=cursor, forward=False)
        return Page([to_application(r) for r in records], next_cursor)

    def by_status(self, status: str, cursor: str | None, limit: int) -> Page[Application]:
        records, next_cursor = query_page(
            ApplicationRecord.by_status, status, key_names=("application_id", "status", "sort_key"),
            scope=f"apps|status|{status}", limit=limit, cursor=cursor, forward=True)
        return Page([to_application(r) for r in records], next_cursor)

    def by_group(self, group_id: str, cursor: str | None, limit: int) -> Page[Application]:
        records, next_cursor = query_page(
            ApplicationRecord.by_group, group_id, key_names=("application_id", "group_id", "sort_key"),
            scope=f"apps|group|{group_id}", limit=limit, cursor=cursor, forward=True)
        return Page([to_application(r) for r in records], next_cursor)

    def review_queue(self, recommendation: str | None, street: str | None, kind: str | None,
                     older_than_days: int | None, cursor: str | None, limit: int) -> Page[Application]:
        """Applications under review, clean passes first, oldest first within each recommendation: one
        key-range query on one sparse index partition (``review_sort`` leads with the recommendation's
        rank), a page full or the last one."""
        rng = None
        cutoff = None
        if older_than_days:
            from datetime import timedelta

            from chalicelib.domain.common import now

            cutoff = (now() - timedelta(days=older_than_days)).isoformat()
        if recommendation:
            rank = _rank(recommendation)
            rng = (ApplicationRecord.review_sort.between(f"{rank}#", f"{rank}#{cutoff}") if cutoff
                   else ApplicationRecord.review_sort.startswith(f"{rank}#"))
        flt = None
        for condition in ((ApplicationRecord.street_id == street) if street else None,
                          (ApplicationRecord.kind == kind) if kind else None,
                          (ApplicationRecord.submitted_at < cutoff) if cutoff and not recommendation else None):
            if condition is not None:
                flt = condition if flt is None else flt & condition
        records, next_cursor = query_page(
            ApplicationRecord.by_review, REVIEW_PARTITION, key_names=("application_id", "review_key", "review_sort"),
            scope=f"review|{recommendation}|{street}|{kind}|{older_than_days}", range_condition=rng,
            filter_condition=flt, limit=limit, cursor=cursor)
        return Page([to_application(r) for r in records], next_cursor)

    def in_status(self, status: str) -> list[Application]:
        """Every application in a status (the reminder job; a key query on the status index)."""
        return [to_application(r) for r in ApplicationRecord.by_status.query(status)]

    def locks_of(self, person_keys: list[str]) -> dict[str, str]:
        if not person_keys:
            return {}
        return {r.person_key: r.application_id for r in PersonLockRecord.batch_get(list(set(person_keys)))}

    def events(self, stream: str) -> list[Event]:
        return [to_event(r) for r in EventRecord.query(stream, limit=500)]

    def events_of_grant(self, grant_id: str) -> list[dict[str, Any]]:
        out = []
        for r in EventRecord.by_grant.query(grant_id, scan_index_forward=False, limit=200):
            event = to_event(r).__dict__
            event["application_id"] = r.stream.split("#", 1)[1] if r.stream.startswith("app#") else None
            out.append(event)
        return out

    def append_event(self, stream: str, event: Event) -> None:
        record = event_record("", event)
        record.stream = stream
        record.save()

    def consents_of(self, person_key: str) -> list[dict[str, Any]]:
        return [{"application_id": r.application_id, "member_id": r.member_id, "status": r.status,
                 "method": r.method, "text_version": r.text_version, "given_at": r.given_at,
                 "requested_at": r.requested_at} for r in ConsentRecord.query(person_key, limit=100)]


REVIEW_ORDER = ("pass", "manual_review", "fail")
#: The one partition of the sparse review index: every application under review with a recommendation.
REVIEW_PARTITION = "review"


def _rank(recommendation: str) -> int:
    return REVIEW_ORDER.index(recommendation) if recommendation in REVIEW_ORDER else len(REVIEW_ORDER)


def _in_review_queue(a: Application) -> bool:
    return a.status == Status.UNDER_REVIEW and a.recommendation() is not None


def record_of(a: Application) -> ApplicationRecord:
    return ApplicationRecord(
        a.application_id, kind=a.kind, status=a.status.value, owner_key=a.owner_key, owner=a.owner,
        household_id=a.household_id, household={"members": a.members}, contact_mobile=a.contact_mobile,
        documents=a.documents, consents=a.consents, supplement=a.supplement, assisted=a.assisted,
        group_id=a.group_id, employer=a.employer, data=a.data, rules_version=a.rules_version,
        street_id=a.street_id, verification=a.verification, submitted_at=a.submitted_at,
        review_key=REVIEW_PARTITION if _in_review_queue(a) else None,
        review_sort=f"{_rank(a.recommendation() or '')}#{a.submitted_at}#{a.application_id}" if _in_review_queue(a) else None,
        submitted_from=a.submitted_from, sort_key=f"{a.created_at}#{a.application_id}",
        created_at=a.created_at, updated_at=a.updated_at, version=a.version, rev=a.rev,
        approved_at=a.approved_at,
    )


def to_application(r: ApplicationRecord) -> Application:
    household = plain(r.household) or {}
    return Application(
        r.application_id, r.kind, Status(r.status), r.owner_key, r.owner, r.household_id,
        household.get("members", []), r.contact_mobile, plain(r.documents) or {}, plain(r.consents) or {},
        plain(r.supplement), plain(r.assisted), r.group_id, plain(r.employer), plain(r.data) or {},
        r.rules_version, r.street_id, plain(r.verification), r.submitted_at, int(r.submitted_from) if r.submitted_from is not None else None,
        r.created_at, r.updated_at, int(r.version), int(r.rev or 0), approved_at=r.approved_at,
    )


def event_record(application_id: str, e: Event) -> EventRecord:
    from chalicelib.domain.common import now_iso

    return EventRecord(f"app#{application_id}", f"{e.at or now_iso()}#{new_id('ev')}",
                       **{f: getattr(e, f) for f in EVENT_FIELDS})


def to_event(r: EventRecord) -> Event:
    return Event(r.type, r.actor, r.actor_role, r.from_status, r.to_status, r.note, plain(r.changes), r.grant_id,
                 r.at.split("#")[0])


def consent_record(app: Application, member: dict[str, Any]) -> ConsentRecord:
    c = app.consents[member["member_id"]]
    return ConsentRecord(
        member["person_key"], app.application_id, member_id=member["member_id"], status=c.get("status", "pending"),
        method=c.get("method"), text_version=c.get("text_version"), given_at=c.get("at"), given_by=c.get("by"),
        document_id=c.get("document_id"), masked_name=c.get("name"), requested_at=app.created_at,
    )


__all__ = ["ApplicationRepository", "PutError", "is_condition_failure"]
