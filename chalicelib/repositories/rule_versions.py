"""Published eligibility rules versions: one partition per city, one item per version."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.repositories.common import put_new
from chalicelib.repositories.tables import RuleVersionRecord


class RuleVersionRepository:
    def list(self, city: str) -> list[dict[str, Any]]:
        return [{"version": r.version, "document": r.document, "effective_from": r.effective_from,
                 "published_at": r.published_at, "published_by": r.published_by}
                for r in RuleVersionRecord.query(city)]  # a city publishes a few a year: all of them

    def create(self, city: str, version: str, document: str, effective_from: str, published_at: str,
               published_by: str) -> None:
        record = RuleVersionRecord(city, version, document=document, effective_from=effective_from,
                                   published_at=published_at, published_by=published_by)
        put_new(record, RuleVersionRecord.version.does_not_exist(), errors.AlreadyExists(version, field="version"))
