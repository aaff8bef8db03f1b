"""Renewals (续签): one record per lease, read by its key; each change is conditional on the status and
version read, and the two that touch a lease are one transaction each: ``approve`` (the renewal and
the new lease's draft) and ``confirm`` (the new lease confirmed, the old one's ``renewed_by``, the
renewal renewed; no unit, selection or deposit bill: docs/decisions/0033)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.leases import Lease, LeaseStatus
from chalicelib.domain.renewals import RENEWALS, Renewal, RenewalStatus, renewal_key
from chalicelib.repositories.common import is_condition_failure, plain, transact
from chalicelib.repositories.leases import lease_record
from chalicelib.repositories.tables import LeaseRecord, RenewalRecord

RENEWAL_FIELDS = (
    "lease_id", "owner", "status", "via", "requested_by", "reason", "review_id", "outcome", "monthly_rent", "reasons",
    "leave_by", "new_lease_id", "requested_at", "decided_at", "renewed_at", "cancelled_at", "created_at",
    "updated_at", "version")


class RenewalRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def find(self, renewal_id: str) -> Renewal | None:
        try:
            return to_renewal(RenewalRecord.get(renewal_id, consistent_read=True))
        except RenewalRecord.DoesNotExist:
            return None

    def get(self, renewal_id: str) -> Renewal:
        found = self.find(renewal_id)
        if found is None:
            raise errors.RenewalNotFound(renewal_id, field="lease_id")
        return found

    def create(self, renewal: Renewal, replacing: Renewal | None = None) -> None:
        """A new renewal, or one applied for again in place of a cancelled one (unchanged since read)."""
        condition = (RenewalRecord.renewal_id.does_not_exist() if replacing is None else
                     (RenewalRecord.status == RenewalStatus.CANCELLED.value)
                     & (RenewalRecord.version == replacing.version))
        try:
            renewal_record(renewal).save(condition=condition)
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.RenewalExists("another application won", field="lease_id") from None
            raise

    def update(self, renewal: Renewal, read: Renewal) -> None:
        """``renewal`` in place of ``read``, only if nobody changed it since (else 409 STALE_VERSION)."""
        try:
            renewal_record(renewal).save(condition=_unchanged(read))
        except PutError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion("the renewal changed", field="version") from None
            raise

    def approve(self, renewal: Renewal, read: Renewal, new_lease: Lease) -> None:
        """The renewal approved and its new lease drafted, at once."""
        def build(tx: TransactWrite) -> None:
            tx.save(renewal_record(renewal), condition=_unchanged(read))
            tx.save(lease_record(new_lease), condition=LeaseRecord.lease_id.does_not_exist())

        if not transact(self.settings, build):
            raise errors.StaleVersion("the renewal changed", field="version")

    def confirm(self, confirmed: Lease, draft: Lease) -> Renewal:
        """The tenant confirmed a renewal's new lease (domain/leases.confirm): the new lease draft ->
        confirmed (now in billing's active index), the old lease's ``renewed_by``, the renewal approved
        -> renewed, in one transaction. The unit stays leased and no deposit bill is written: the old
        lease's deposit carries over."""
        read = self.find(renewal_key(draft.renews or ""))
        if read is None or read.new_lease_id != draft.lease_id:
            raise errors.RenewalNotApproved(draft.lease_id, field="lease_id")
        at = confirmed.confirmed_at or confirmed.updated_at
        renewal = replace(read, status=RENEWALS.move(read.status, RenewalStatus.RENEWED), renewed_at=at,
                          updated_at=at, version=read.version + 1)

        def build(tx: TransactWrite) -> None:
            tx.save(lease_record(confirmed), condition=(LeaseRecord.version == draft.version)
                    & (LeaseRecord.status == LeaseStatus.DRAFT.value))
            tx.update(LeaseRecord(draft.renews or ""), actions=[
                LeaseRecord.renewed_by.set(confirmed.lease_id), LeaseRecord.updated_at.set(renewal.updated_at),
                LeaseRecord.version.add(1)],
                condition=LeaseRecord.renewed_by.does_not_exist() & (LeaseRecord.status == LeaseStatus.CONFIRMED.value))
            tx.save(renewal_record(renewal), condition=_unchanged(read))

        if not transact(self.settings, build):
            raise errors.StaleVersion("the lease or its renewal changed", field="version")
        return renewal

    def cancel(self, renewal: Renewal, read: Renewal) -> None:
        """The renewal cancelled; an approved one's drafted lease deleted with it (still a draft)."""
        def build(tx: TransactWrite) -> None:
            tx.save(renewal_record(renewal), condition=_unchanged(read))
            if read.new_lease_id:
                tx.delete(LeaseRecord(read.new_lease_id), condition=LeaseRecord.status == LeaseStatus.DRAFT.value)

        if not transact(self.settings, build):
            raise errors.StaleVersion("the renewal changed", field="version")


def _unchanged(read: Renewal) -> Any:
    return (RenewalRecord.status == read.status.value) & (RenewalRecord.version == read.version)


def renewal_record(renewal: Renewal) -> RenewalRecord:
    values = {f: getattr(renewal, f) for f in RENEWAL_FIELDS}
    values["reasons"] = list(renewal.reasons)
    return RenewalRecord(renewal.renewal_id, **values)


def to_renewal(r: RenewalRecord) -> Renewal:
    values = {f: plain(getattr(r, f)) for f in RENEWAL_FIELDS}
    values["status"] = RenewalStatus(values["status"])
    values["version"] = int(values["version"])
    values["monthly_rent"] = int(values["monthly_rent"]) if values["monthly_rent"] is not None else None
    values["reasons"] = [str(x) for x in values["reasons"] or []]
    return Renewal(renewal_id=r.renewal_id, **values)
