"""Lottery rounds (摇号), their registrations, and the published files (docs/decisions/0014).

The round item carries the registration counter (``seq``, an atomic ADD allowed only while the
round is open): status changes are UpdateItems conditioned on version and status, never a whole-item
put, so they cannot undo a registration's increment. A registration is keyed by (round,
application): one per application. Its number is unique in the round by construction: the
registration is written in one transaction with a claim on its number (``regno#{round}#{number}`` in
the ``person_locks`` table, "absent"), so two registrations can never hold one number whatever the
counter answered (docs/decisions/0014). Ranks are written with BatchWriteItem (25 a request); the
sparse ``by_rank`` index is the published list in rank order.

The commitment and the result are S3 objects in the city's private bucket, named by their SHA-256
(a retried or raced write can never replace the bytes a round points at); the API serves them.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from pynamodb.exceptions import UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.lottery import Registrant, Round
from chalicelib.domain.round_status import RoundStatus
from chalicelib.repositories.common import is_condition_failure, plain, put_new, transact_failed
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import PersonLockRecord, RegistrationRecord, RoundRecord, UnitRecord


def rank_key(rank: int) -> str:
    return f"{rank:07d}"


def number_claim_key(round_id: str, registration_no: str) -> str:
    """The ``person_locks`` item that holds a registration number of a round for one application."""
    return f"regno#{round_id}#{registration_no}"


class LotteryRepository:
    def __init__(self, settings: Settings, *, storage: Callable[[], Any]) -> None:
        """``storage``: the document storage whose S3 client writes the published files."""
        self.settings = settings
        self._storage = storage

    # --- rounds -----------------------------------------------------------------------------------
    def create_round(self, r: Round) -> None:
        put_new(round_record(r, self.settings.city_code), RoundRecord.round_id.does_not_exist(),
                errors.AlreadyExists(field="round_id"))

    def get_round(self, round_id: str) -> Round:
        try:
            return to_round(RoundRecord.get(round_id, consistent_read=True))
        except RoundRecord.DoesNotExist:
            raise errors.RoundNotFound(round_id, field="round_id") from None

    def rounds(self, cursor: str | None, limit: int) -> Page[Round]:
        records, next_cursor = query_page(
            RoundRecord.by_city, self.settings.city_code, key_names=("round_id", "city", "list_sort"),
            scope="rounds|city", limit=limit, cursor=cursor, forward=False)
        return Page([to_round(r) for r in records], next_cursor)

    def update_round(self, round_id: str, *, expected_status: str, expected_version: int | None,
                     conflict: errors.DomainError, **fields: Any) -> Round:
        """Set ``fields`` (None values are left alone) and bump the version, only if the round is
        still in ``expected_status`` (and at ``expected_version`` when given)."""
        record = RoundRecord(round_id)
        actions = [getattr(RoundRecord, name).set(value) for name, value in fields.items() if value is not None]
        actions.append(RoundRecord.version.add(1))
        condition = RoundRecord.round_id.exists() & (RoundRecord.status == expected_status)
        if expected_version is not None:
            condition &= RoundRecord.version == expected_version
        try:
            record.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise conflict from None
            raise
        return to_round(record)

    def next_number(self, round_id: str, *, burned: int = 0) -> int:
        """The next registration number: ADD 1 to ``seq`` while the round is open (else
        REGISTRATION_CLOSED: nothing is handed out after the close). ``burned``: numbers handed out
        earlier that will never be a registration, counted in the same update."""
        record = RoundRecord(round_id)
        actions = [RoundRecord.seq.add(1)] + ([RoundRecord.burned.add(burned)] if burned else [])
        try:
            record.update(actions=actions, condition=RoundRecord.status == RoundStatus.OPEN.value)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise errors.RegistrationClosed("the round is no longer open", field="round_id") from None
            raise
        return int(record.seq)

    def burn_number(self, round_id: str) -> None:
        """A number handed out to a registration that lost a race (a double tap): counted as unused."""
        RoundRecord(round_id).update(actions=[RoundRecord.burned.add(1)])

    def units(self, unit_ids: list[str]) -> list[Any]:
        """The units of a new round: BatchGetItem, 100 keys a request."""
        from chalicelib.repositories.units import to_unit

        return [to_unit(r) for r in UnitRecord.batch_get(list(unit_ids))]

    # --- registrations ----------------------------------------------------------------------------
    def put_registration(self, reg: Registrant) -> None:
        """The registration and the claim on its number, in one TransactWriteItems, each "absent":
        the application already registered is ALREADY_REGISTERED; the number held by another
        registration of the round is ``RegistrationNumberTaken`` (nothing is written either way)."""
        def build(tx: Any) -> None:
            tx.save(registration_record(reg), condition=RegistrationRecord.application_id.does_not_exist())
            tx.save(PersonLockRecord(number_claim_key(reg.round_id, reg.registration_no),
                                     application_id=reg.application_id, since=reg.created_at),
                    condition=PersonLockRecord.person_key.does_not_exist())

        failed = transact_failed(self.settings, build)
        if failed is None:
            return
        if failed[0]:
            raise errors.AlreadyRegisteredForRound(reg.application_id, field="application_id")
        raise errors.RegistrationNumberTaken(reg.registration_no, field="round_id")

    def get_registration(self, round_id: str, application_id: str) -> Registrant | None:
        try:
            return to_registrant(RegistrationRecord.get(round_id, application_id))
        except RegistrationRecord.DoesNotExist:
            return None

    def registration_of_owner(self, round_id: str, owner: str) -> Registrant | None:
        for r in RegistrationRecord.by_owner.query(owner, RegistrationRecord.round_id == round_id, limit=1):
            return to_registrant(r)
        return None

    def registrations(self, round_id: str) -> list[Registrant]:
        """Every registration of a round (one Query, paged by DynamoDB per MB: ~3,000 a page)."""
        return [to_registrant(r) for r in RegistrationRecord.query(round_id)]

    def ranked(self, round_id: str) -> list[Registrant]:
        """Every ranked registration, in rank order (the sparse ``by_rank`` index)."""
        return [to_registrant(r) for r in RegistrationRecord.by_rank.query(round_id)]

    def count_ranked(self, round_id: str) -> int:
        return RegistrationRecord.by_rank.count(round_id)

    def ranks_page(self, round_id: str, cursor: str | None, limit: int) -> Page[Registrant]:
        records, next_cursor = query_page(
            RegistrationRecord.by_rank, round_id, key_names=("round_id", "application_id", "rank_key"),
            scope=f"rounds|ranks|{round_id}", limit=limit, cursor=cursor)
        return Page([to_registrant(r) for r in records], next_cursor)

    def write_ranks(self, registrations: Iterable[Registrant]) -> int:
        """Put the ranked registrations back, 25 to a BatchWriteItem (PynamoDB retries what DynamoDB
        leaves unprocessed). Idempotent: the ranks come from the stored result."""
        n = 0
        with RegistrationRecord.batch_write() as batch:
            for reg in registrations:
                batch.save(registration_record(reg))
                n += 1
        return n

    # --- the published files --------------------------------------------------------------------
    def put_file(self, key: str, data: bytes) -> None:
        s = self.settings
        extra: dict[str, str] = {}
        if s.document_kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": s.document_kms_key}
        self._s3().put_object(Bucket=s.document_bucket, Key=key, Body=data,
                              ContentType="application/json; charset=utf-8", **extra)

    def get_file(self, key: str) -> bytes:
        response = self._s3().get_object(Bucket=self.settings.document_bucket, Key=key)
        return bytes(response["Body"].read())

    def size_of(self, key: str) -> int:
        return int(self._s3().head_object(Bucket=self.settings.document_bucket, Key=key)["ContentLength"])

    def file_link(self, key: str) -> str:
        """A short-lived link to a file too large for a Lambda response (6 MB)."""
        return str(self._s3().generate_presigned_url(
            "get_object", Params={"Bucket": self.settings.document_bucket, "Key": key,
                                  "ResponseContentType": "application/json"},
            ExpiresIn=self.settings.document_url_seconds))

    def _s3(self) -> Any:
        return self._storage().s3


# --- records ------------------------------------------------------------------------------------------
def round_record(r: Round, city: str) -> RoundRecord:
    return RoundRecord(
        r.round_id, city=city, list_sort=f"{r.created_at}#{r.round_id}", title=r.title, status=r.status.value,
        unit_ids=list(r.unit_ids), layout_mix=dict(r.layout_mix),
        layouts_by_size={k: list(v) for k, v in r.layouts_by_size.items()}, priority_groups=list(r.priority_groups),
        randomness_source=r.randomness_source, slot_minutes=r.slot_minutes, slot_size=r.slot_size,
        registration_opens_at=r.registration_opens_at, registration_closes_at=r.registration_closes_at,
        seq=r.seq, burned=r.burned, created_by=r.created_by, created_at=r.created_at, updated_at=r.updated_at,
        version=r.version)


def to_round(r: RoundRecord) -> Round:
    return Round(
        round_id=r.round_id, title=r.title, status=RoundStatus(r.status), version=int(r.version or 1),
        unit_ids=list(r.unit_ids or []),
        layouts_by_size={k: [str(x) for x in v] for k, v in (plain(r.layouts_by_size) or {}).items()},
        priority_groups=[str(g) for g in (r.priority_groups or [])], slot_minutes=int(r.slot_minutes),
        slot_size=int(r.slot_size), registration_opens_at=r.registration_opens_at,
        registration_closes_at=r.registration_closes_at, created_at=r.created_at, updated_at=r.updated_at,
        layout_mix={k: int(v) for k, v in (plain(r.layout_mix) or {}).items()},
        randomness_source=r.randomness_source, seq=int(r.seq or 0), burned=int(r.burned or 0),
        created_by=r.created_by, close_reason=r.close_reason, closed_at=r.closed_at, cancel_reason=r.cancel_reason,
        commitment_key=r.commitment_key, commitment_sha256=r.commitment_sha256, committed_at=r.committed_at,
        registrants=int(r.registrants) if r.registrants is not None else None, public_value=r.public_value,
        result_key=r.result_key, result_sha256=r.result_sha256, drawn_at=r.drawn_at, published_at=r.published_at)


def registration_record(g: Registrant) -> RegistrationRecord:
    return RegistrationRecord(
        g.round_id, g.application_id, registration_no=g.registration_no, owner=g.owner, owner_key=g.owner_key,
        mobile=g.mobile, household_size=g.household_size, priority_group=g.priority_group,
        allowed_layouts=list(g.allowed_layouts), masked_name=g.masked_name, masked_id=g.masked_id, rank=g.rank,
        rank_key=rank_key(g.rank) if g.rank is not None else None, created_at=g.created_at, updated_at=g.updated_at)


def to_registrant(r: RegistrationRecord) -> Registrant:
    return Registrant(
        round_id=r.round_id, registration_no=r.registration_no or "", application_id=r.application_id,
        owner=r.owner, owner_key=r.owner_key, household_size=int(r.household_size),
        priority_group=r.priority_group, rank=int(r.rank) if r.rank is not None else None,
        masked_name=r.masked_name, masked_id=r.masked_id, allowed_layouts=[str(x) for x in (r.allowed_layouts or [])],
        mobile=r.mobile, created_at=r.created_at, updated_at=r.updated_at)
