"""In-memory twin of chalicelib/repositories/leases.py. The leases are the selection twin's (its
two transactions write them, as the DynamoDB ones write the lease record): this twin reads them."""
from __future__ import annotations

from typing import Any, Callable

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.leases import Lease
from tests.twins.common import clone


class LeaseTwin:
    def __init__(self, settings: Settings, *, selection: Callable[[], Any], storage: Callable[[], Any]) -> None:
        self.settings = settings
        self._selection = selection
        self._storage = storage

    def get(self, lease_id: str) -> Lease:
        selection = self._selection()
        with selection._lock():
            if lease_id not in selection.leases:
                raise errors.LeaseNotFound(lease_id, field="lease_id")
            return clone(selection.leases[lease_id])

    def of_owner(self, owner: str) -> list[Lease]:
        selection = self._selection()
        with selection._lock():
            found = [clone(x) for x in selection.leases.values() if x.owner == owner]
        return sorted(found, key=lambda x: f"{x.created_at}#{x.lease_id}", reverse=True)[:20]

    def of_round(self, round_id: str) -> list[Lease]:
        selection = self._selection()
        with selection._lock():
            found = [clone(x) for x in selection.leases.values() if x.round_id == round_id]
        return sorted(found, key=lambda x: f"{x.created_at}#{x.lease_id}")

    def put_contract(self, key: str, pdf: bytes) -> None:
        self._storage().s3.put_object(Bucket=self.settings.document_bucket, Key=key, Body=pdf,
                                      ContentType="application/pdf")
