"""Leases (租赁合同): reading them (by id, a tenant's, a round's) and storing the signed contract.
A lease is written by the selection's two allocation transactions (repositories/selection.py: the
unit, the household's record and the lease in one TransactWrite); docs/decisions/0015, 0025."""
from __future__ import annotations

from typing import Any, Callable

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.bills import ActiveLease, shard_of, unit_label
from chalicelib.domain.leases import Lease, LeaseStatus
from chalicelib.repositories.common import plain
from chalicelib.repositories.tables import LeaseRecord


class LeaseRepository:
    def __init__(self, settings: Settings, *, storage: Callable[[], Any]) -> None:
        """``storage`` gives the document storage (the contract PDF goes to the document bucket)."""
        self.settings = settings
        self._storage = storage

    def get(self, lease_id: str) -> Lease:
        return get_lease(lease_id)

    def of_owner(self, owner: str) -> list[Lease]:
        return [to_lease(r) for r in LeaseRecord.by_owner.query(owner, scan_index_forward=False, limit=20)]

    def of_round(self, round_id: str) -> list[Lease]:
        return [to_lease(r) for r in LeaseRecord.by_round.query(round_id)]

    def active_page(self, shard: str, cursor: dict[str, Any] | None,
                    limit: int) -> tuple[list[ActiveLease], dict[str, Any] | None]:
        """One Query page of a shard of the confirmed leases (the sparse ``active_leases`` index, only
        the fields billing needs), and the key to go on from (None: the shard ends here)."""
        result = LeaseRecord.active_leases.query(shard, last_evaluated_key=cursor, page_size=limit, limit=limit)
        page = next(result.page_iter)
        return [to_active(raw) for raw in page.get("Items", [])], page.get("LastEvaluatedKey")

    def add_rent_change(self, lease: Lease, change: dict[str, Any]) -> None:
        """Append a rent change (a review's higher rent) to the lease as it was read (else 409)."""
        from pynamodb.exceptions import UpdateError

        from chalicelib.domain.common import now_iso
        from chalicelib.repositories.common import is_condition_failure

        try:
            LeaseRecord(lease.lease_id).update(
                actions=[LeaseRecord.rent_changes.set(list(lease.rent_changes) + [change]),
                         LeaseRecord.updated_at.set(now_iso())],
                condition=LeaseRecord.updated_at == lease.updated_at)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion(f"lease {lease.lease_id} changed", field="lease_id") from None
            raise

    def put_contract(self, key: str, pdf: bytes) -> None:
        """The signed contract, private (the bucket blocks public access; SSE-KMS with the city's key)."""
        extra: dict[str, str] = {}
        if self.settings.document_kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.settings.document_kms_key}
        self._storage().s3.put_object(Bucket=self.settings.document_bucket, Key=key, Body=pdf,
                                     ContentType="application/pdf", **extra)


def get_lease(lease_id: str) -> Lease:
    try:
        return to_lease(LeaseRecord.get(lease_id, consistent_read=True))
    except LeaseRecord.DoesNotExist:
        raise errors.LeaseNotFound(lease_id, field="lease_id") from None


# --- records ----------------------------------------------------------------------------------------
LEASE_FIELDS = (
    "round_id", "application_id", "owner", "owner_key", "tenant_name", "tenant_id_masked", "household_size",
    "unit_id", "estate_id", "estate_name", "address", "building_id", "building_name", "number", "layout",
    "floor_area", "base_rent", "monthly_rent", "reduction", "deposit", "term_months", "start_date", "end_date",
    "manager", "landlord", "clauses", "status", "confirmed_at", "confirmed_device", "contract_key", "rent_changes",
    "created_at", "updated_at", "version", "renews", "renewed_by")


def lease_record(lease: Lease) -> LeaseRecord:
    """The record of a lease; a confirmed one is in billing's active index (its shard set)."""
    values = {f: getattr(lease, f) for f in LEASE_FIELDS}
    shard = shard_of(lease.lease_id) if lease.status == LeaseStatus.CONFIRMED else None
    return LeaseRecord(lease.lease_id, list_sort=f"{lease.created_at}#{lease.lease_id}", active_shard=shard, **values)


def to_active(raw: dict[str, Any]) -> ActiveLease:
    """An item of the ``active_leases`` index (its DynamoDB JSON: a page holds up to 1,000, read
    without building a model each) as what billing reads."""
    from boto3.dynamodb.types import TypeDeserializer

    def text(name: str) -> str:
        return str(raw[name]["S"])

    reduction = raw.get("reduction")
    changes = raw.get("rent_changes")
    return ActiveLease(
        lease_id=text("lease_id"), owner=raw["owner"]["S"] if "owner" in raw else None,
        confirmed=text("status") == LeaseStatus.CONFIRMED.value, monthly_rent=int(raw["monthly_rent"]["N"]),
        base_rent=int(raw["base_rent"]["N"]),
        reduction=plain(TypeDeserializer().deserialize(reduction)) if reduction and "M" in reduction else None,
        start_date=text("start_date"), end_date=text("end_date"), estate_id=text("estate_id"), unit_id=text("unit_id"),
        unit_label=unit_label(text("estate_name"), text("building_name"), text("number")),
        rent_changes=tuple(plain(TypeDeserializer().deserialize(changes))) if changes and "L" in changes else ())


def to_lease(r: LeaseRecord) -> Lease:
    values = {f: plain(getattr(r, f)) for f in LEASE_FIELDS}
    values["floor_area"] = round(float(values["floor_area"]), 2)
    for f in ("household_size", "base_rent", "monthly_rent", "deposit", "term_months", "version"):
        values[f] = int(values[f])
    values["clauses"] = list(values["clauses"] or [])
    values["rent_changes"] = [dict(c) for c in values["rent_changes"] or []]
    values["status"] = LeaseStatus(values["status"])
    return Lease(lease_id=r.lease_id, **values)
