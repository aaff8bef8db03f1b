"""In-memory twin of chalicelib/repositories/lottery.py (rounds, registrations, published files)."""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import replace
from typing import Any, Callable, Iterable

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.lottery import Registrant, Round
from chalicelib.domain.round_status import RoundStatus
from chalicelib.repositories.lottery import rank_key
from tests.twins.common import clone, page

ROUND_FIELDS = {f.name for f in dataclasses.fields(Round)}


class LotteryTwin:
    def __init__(self, settings: Settings, *, units: Callable[[], Any], storage: Callable[[], Any]) -> None:
        self.settings = settings
        self._units = units
        self._storage = storage
        self._lock = threading.RLock()
        self.rounds_by_id: dict[str, Round] = {}
        self.registrations_by_round: dict[str, dict[str, Registrant]] = {}
        self.number_claims: dict[tuple[str, str], str] = {}  # (round, registration_no) -> application

    # --- rounds -----------------------------------------------------------------------------------------
    def create_round(self, r: Round) -> None:
        with self._lock:
            if r.round_id in self.rounds_by_id:
                raise errors.AlreadyExists(field="round_id")
            self.rounds_by_id[r.round_id] = clone(r)

    def get_round(self, round_id: str) -> Round:
        with self._lock:
            if round_id not in self.rounds_by_id:
                raise errors.RoundNotFound(round_id, field="round_id")
            return clone(self.rounds_by_id[round_id])

    def rounds(self, cursor: str | None, limit: int) -> Page[Round]:
        with self._lock:
            items = sorted((clone(r) for r in self.rounds_by_id.values()),
                           key=lambda r: f"{r.created_at}#{r.round_id}", reverse=True)
        return page(items, lambda r: r.round_id, "rounds|city", cursor, limit)

    def update_round(self, round_id: str, *, expected_status: str, expected_version: int | None,
                     conflict: errors.DomainError, **fields: Any) -> Round:
        unknown = set(fields) - ROUND_FIELDS
        if unknown:
            raise AttributeError(f"RoundRecord has no {sorted(unknown)}")  # PynamoDB fails the same way
        with self._lock:
            current = self.rounds_by_id.get(round_id)
            if (current is None or current.status.value != expected_status
                    or (expected_version is not None and current.version != expected_version)):
                raise conflict
            values = {k: v for k, v in fields.items() if v is not None}
            if "status" in values:
                values["status"] = RoundStatus(values["status"])
            updated = replace(current, **values, version=current.version + 1)
            self.rounds_by_id[round_id] = updated
            return clone(updated)

    def next_number(self, round_id: str, *, burned: int = 0) -> int:
        with self._lock:
            current = self.rounds_by_id.get(round_id)
            if current is None or current.status is not RoundStatus.OPEN:
                raise errors.RegistrationClosed("the round is no longer open", field="round_id")
            self.rounds_by_id[round_id] = replace(current, seq=current.seq + 1, burned=current.burned + burned)
            return current.seq + 1

    def burn_number(self, round_id: str) -> None:
        with self._lock:
            current = self.rounds_by_id[round_id]
            self.rounds_by_id[round_id] = replace(current, burned=current.burned + 1)

    def units(self, unit_ids: list[str]) -> list[Any]:
        units = self._units()
        return [units.get(u) for u in dict.fromkeys(unit_ids) if u in units.units]

    # --- registrations ---------------------------------------------------------------------------------
    def put_registration(self, reg: Registrant) -> None:
        with self._lock:
            regs = self.registrations_by_round.setdefault(reg.round_id, {})
            if reg.application_id in regs:
                raise errors.AlreadyRegisteredForRound(reg.application_id, field="application_id")
            if (reg.round_id, reg.registration_no) in self.number_claims:
                raise errors.RegistrationNumberTaken(reg.registration_no, field="round_id")
            regs[reg.application_id] = clone(reg)
            self.number_claims[(reg.round_id, reg.registration_no)] = reg.application_id

    def get_registration(self, round_id: str, application_id: str) -> Registrant | None:
        with self._lock:
            return clone(self.registrations_by_round.get(round_id, {}).get(application_id))

    def registration_of_owner(self, round_id: str, owner: str) -> Registrant | None:
        with self._lock:
            found = [g for g in self.registrations_by_round.get(round_id, {}).values() if g.owner == owner]
            return clone(found[0]) if found else None

    def registrations(self, round_id: str) -> list[Registrant]:
        with self._lock:
            regs = self.registrations_by_round.get(round_id, {})
            return [clone(regs[a]) for a in sorted(regs)]

    def ranked(self, round_id: str) -> list[Registrant]:
        return sorted((g for g in self.registrations(round_id) if g.rank is not None),
                      key=lambda g: (rank_key(g.rank or 0), g.application_id))

    def count_ranked(self, round_id: str) -> int:
        return len(self.ranked(round_id))

    def ranks_page(self, round_id: str, cursor: str | None, limit: int) -> Page[Registrant]:
        return page(self.ranked(round_id), lambda g: g.application_id, f"rounds|ranks|{round_id}", cursor, limit)

    def write_ranks(self, registrations: Iterable[Registrant]) -> int:
        n = 0
        with self._lock:
            for reg in registrations:
                self.registrations_by_round.setdefault(reg.round_id, {})[reg.application_id] = clone(reg)
                n += 1
        return n

    # --- the published files ------------------------------------------------------------------------------
    def put_file(self, key: str, data: bytes) -> None:
        self._storage().s3.put_object(Bucket=self.settings.document_bucket, Key=key, Body=data,
                                      ContentType="application/json; charset=utf-8")

    def get_file(self, key: str) -> bytes:
        return bytes(self._storage().s3.get_object(Bucket=self.settings.document_bucket, Key=key)["Body"].read())

    def size_of(self, key: str) -> int:
        return int(self._storage().s3.head_object(Bucket=self.settings.document_bucket, Key=key)["ContentLength"])

    def file_link(self, key: str) -> str:
        return str(self._storage().s3.generate_presigned_url(
            "get_object", {"Bucket": self.settings.document_bucket, "Key": key}, self.settings.document_url_seconds))
