"""People (registrations) and households."""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.households import Household, Person
from chalicelib.repositories.common import transaction
from chalicelib.repositories.tables import ApplicationRecord, HouseholdRecord, PersonRecord


class PeopleRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- people ---------------------------------------------------------------------------------
    def get(self, subject: str) -> Person | None:
        try:
            return to_person(PersonRecord.get(subject))
        except PersonRecord.DoesNotExist:
            return None

    def by_mobile(self, key: str) -> Person | None:
        for hit in PersonRecord.by_mobile.query(key, limit=1):
            return self.get(hit.subject)
        return None

    def by_person_key(self, key: str) -> str | None:
        for hit in PersonRecord.by_person.query(key, limit=1):
            return str(hit.subject)
        return None

    def register(self, person: Person, mobile_key: str | None, claim: Household | None) -> None:
        """Create the registration; an ID number already registered by another login is refused.
        A household made for this person at a counter (代办) is claimed in the same transaction."""
        if person.person_key and self.by_person_key(person.person_key) not in (None, person.subject):
            raise errors.IdNumberTaken(field="id_number")
        record = PersonRecord(
            person.subject, kind=person.kind, name=person.name, id_number=person.id_number,
            person_key=person.person_key, mobile=person.mobile, mobile_key=mobile_key,
            credit_code=person.credit_code, household_id=person.household_id, created_at=person.created_at,
            updated_at=person.updated_at, version=1,
        )
        claimed: list[Any] = []
        if claim is not None and claim.owner is None and person.person_key:
            claimed = [a for a in ApplicationRecord.by_owner.query(person.person_key) if a.owner is None][:20]
        with transaction(self.settings, errors.AlreadyRegistered()) as tx:
            tx.save(record, condition=PersonRecord.subject.does_not_exist())
            if claim is not None and claim.owner is None:
                tx.update(HouseholdRecord(claim.household_id), actions=[HouseholdRecord.owner.set(person.subject)],
                          condition=HouseholdRecord.owner.does_not_exist())
            for app in claimed:
                tx.update(ApplicationRecord(app.application_id),
                          actions=[ApplicationRecord.owner.set(person.subject), ApplicationRecord.rev.add(1)],
                          condition=ApplicationRecord.owner.does_not_exist())

    # --- households -------------------------------------------------------------------------------
    def get_household(self, household_id: str) -> Household | None:
        try:
            return to_household(HouseholdRecord.get(household_id))
        except HouseholdRecord.DoesNotExist:
            return None

    def household_by_main(self, main_key: str) -> Household | None:
        for hit in HouseholdRecord.by_main.query(main_key, limit=1):
            return to_household(hit)
        return None

    def create_household(self, h: Household, person: Person | None) -> None:
        with transaction(self.settings, errors.StaleVersion(field="version")) as tx:
            tx.save(household_record(h), condition=HouseholdRecord.household_id.does_not_exist())
            if person is not None:
                tx.update(PersonRecord(person.subject), actions=[PersonRecord.household_id.set(h.household_id)],
                          condition=PersonRecord.household_id.does_not_exist())

    def save_household(self, h: Household, expected_version: int) -> None:
        try:
            household_record(h).save(condition=HouseholdRecord.version == expected_version)
        except Exception as exc:  # PutError
            from chalicelib.repositories.common import is_condition_failure

            if is_condition_failure(exc):
                raise errors.StaleVersion(field="version") from None
            raise


def household_record(h: Household) -> HouseholdRecord:
    return HouseholdRecord(h.household_id, owner=h.owner, main_key=h.main_key, members=h.members,
                           created_by=h.created_by, created_at=h.created_at, updated_at=h.updated_at,
                           version=h.version)


def to_household(r: HouseholdRecord) -> Household:
    return Household(r.household_id, r.owner, r.main_key, [_plain(m) for m in r.members or []], r.created_by,
                     r.created_at, r.updated_at, int(r.version))


def to_person(r: PersonRecord) -> Person:
    return Person(r.subject, r.kind, r.name, r.id_number, r.person_key, r.mobile, r.household_id, r.credit_code,
                  r.created_at, r.updated_at, int(r.version or 1))


def _plain(value: Any) -> Any:
    """MapAttribute/Decimal values back to plain JSON-like Python."""
    from decimal import Decimal

    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    return value


__all__ = ["PeopleRepository", "TransactWriteError", "_plain"]
