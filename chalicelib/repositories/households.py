"""Households: the people who register (their logins, real-name claims and conflicts) and their
households (members). One concept, one name: `households` in the domain, here and in the handlers
(the stored tables keep their names: `people`, `households`)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.households import Household, Person
from chalicelib.domain.real_name_status import ConflictStatus, RealNameStatus
from chalicelib.repositories.common import plain, transaction
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import ApplicationRecord, HouseholdRecord, PersonRecord

ID_CLAIM = "id#"  # the item binding an ID number to one login: "id#{person_key}", name = the subject
CONFLICT = "conflict#"  # an identity conflict case: "conflict#{conflict_id}"


class HouseholdRepository:
    def close(self, person: Person, at: str) -> None:
        close_person(person, at)

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

    # --- real name (docs/decisions/0016) ------------------------------------------------------------
    def save_pending(self, person: Person, mobile_key: str | None) -> None:
        """A pending registration binds nothing (no person_key); it may replace the caller's own
        pending one (a new check), never a verified or legacy one."""
        try:
            person_record(person, mobile_key).save(
                condition=PersonRecord.subject.does_not_exist() | (PersonRecord.real_name == RealNameStatus.PENDING.value))
        except Exception as exc:  # PutError
            from chalicelib.repositories.common import is_condition_failure

            if is_condition_failure(exc):
                raise errors.AlreadyRegistered() from None
            raise

    def id_holder(self, person_key: str) -> str | None:
        """The login a verified binding gives this ID number to (None: no verified binding)."""
        try:
            return str(PersonRecord.get(ID_CLAIM + person_key, consistent_read=True).name)
        except PersonRecord.DoesNotExist:
            return None

    def bind(self, person: Person, mobile_key: str | None, loser: Person | None) -> Person:
        """One transaction: the ID number's binding item (on condition: nobody else's, or ``loser``'s),
        the verified registration, and what the ID number brings: the household made at a counter
        (代办) and its applications, or ``loser``'s (a displaced legacy or staff-overruled login)."""
        key = person.person_key
        assert key is not None
        household = self.household_by_main(key)
        lost = loser.subject if loser is not None else None
        if household is not None and household.owner not in (None, lost, person.subject):
            household = None
        if household is not None:
            person = replace(person, household_id=household.household_id)
        apps = [a for a in ApplicationRecord.by_owner.query(key) if a.owner is None or (lost and a.owner == lost)][:20]
        at = person.updated_at
        claim = PersonRecord(ID_CLAIM + key, kind="id_claim", name=person.subject, created_at=at, updated_at=at)
        with transaction(self.settings, errors.IdNumberTaken(field="id_number")) as tx:
            if loser is not None and loser.real_name == RealNameStatus.VERIFIED:
                tx.save(claim, condition=PersonRecord.name == loser.subject)
            else:
                tx.save(claim, condition=PersonRecord.subject.does_not_exist())
            tx.save(person_record(person, mobile_key),
                    condition=PersonRecord.subject.does_not_exist() | PersonRecord.real_name.is_in("pending", "disputed"))
            if loser is not None:
                tx.update(PersonRecord(loser.subject), actions=[
                    PersonRecord.person_key.remove(), PersonRecord.household_id.remove(),
                    PersonRecord.real_name.set(RealNameStatus.PENDING.value), PersonRecord.claim_key.set(key),
                    PersonRecord.check_id.remove(), PersonRecord.updated_at.set(at), PersonRecord.version.add(1),
                ], condition=PersonRecord.person_key == key)
            if household is not None and household.owner != person.subject:
                tx.update(HouseholdRecord(household.household_id), actions=[HouseholdRecord.owner.set(person.subject)],
                          condition=HouseholdRecord.owner.does_not_exist() if household.owner is None
                          else HouseholdRecord.owner == household.owner)
            for app in apps:
                tx.update(ApplicationRecord(app.application_id),
                          actions=[ApplicationRecord.owner.set(person.subject), ApplicationRecord.rev.add(1)],
                          condition=ApplicationRecord.owner.does_not_exist() if app.owner is None
                          else ApplicationRecord.owner == app.owner)
        return person

    def open_conflict(self, conflict: dict[str, Any], claimant: Person) -> None:
        """The case for staff and the claimant's login marked disputed, together."""
        record = PersonRecord(
            CONFLICT + conflict["conflict_id"], kind="identity_conflict", name=conflict["claimant"],
            id_number=conflict["id_number"], claim_key=conflict["person_key"], created_at=conflict["opened_at"],
            updated_at=conflict["opened_at"], conflict_status=conflict["status"].value, opened_at=conflict["opened_at"],
            holder=conflict["holder"], claimant=conflict["claimant"], evidence=conflict["evidence"])
        with transaction(self.settings, errors.IdNumberInDispute()) as tx:
            tx.save(record, condition=PersonRecord.subject.does_not_exist())
            tx.update(PersonRecord(claimant.subject), actions=[
                PersonRecord.real_name.set(RealNameStatus.DISPUTED.value), PersonRecord.claim_key.set(conflict["person_key"]),
                PersonRecord.name.set(claimant.name), PersonRecord.id_number.set(claimant.id_number),
                PersonRecord.updated_at.set(conflict["opened_at"])])

    def open_conflict_of(self, claimant: str) -> dict[str, Any] | None:
        person = self.get(claimant)
        return {"claimant": claimant} if person is not None and person.real_name == RealNameStatus.DISPUTED else None

    def open_conflicts(self, cursor: str | None, limit: int) -> Page[dict[str, Any]]:
        records, next_cursor = query_page(
            PersonRecord.by_conflict, ConflictStatus.OPEN.value, key_names=("subject", "conflict_status", "opened_at"),
            scope="identity_conflicts|open", limit=limit, cursor=cursor)
        return Page([to_conflict(r) for r in records], next_cursor)

    def get_conflict(self, conflict_id: str) -> dict[str, Any] | None:
        try:
            record = PersonRecord.get(CONFLICT + conflict_id, consistent_read=True)
        except PersonRecord.DoesNotExist:
            return None
        return to_conflict(record) if record.kind == "identity_conflict" else None

    def close_conflict(self, conflict_id: str, resolution: dict[str, Any], claimant: Person | None) -> None:
        """Resolved once (a second resolve is a 409); ``claimant`` given: its login back to pending."""
        with transaction(self.settings, errors.IdentityConflictResolved(conflict_id)) as tx:
            tx.update(PersonRecord(CONFLICT + conflict_id), actions=[
                PersonRecord.conflict_status.set(ConflictStatus.RESOLVED.value),
                PersonRecord.resolution.set(resolution), PersonRecord.updated_at.set(resolution["at"])],
                condition=PersonRecord.conflict_status == ConflictStatus.OPEN.value)
            if claimant is not None:
                tx.update(PersonRecord(claimant.subject), actions=[
                    PersonRecord.real_name.set(RealNameStatus.PENDING.value), PersonRecord.check_id.remove()],
                    condition=PersonRecord.real_name == RealNameStatus.DISPUTED.value)

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


def close_person(person: Person, at: str) -> None:
    """The account closed (docs/decisions/0040), on condition nobody changed the registration since."""
    try:
        PersonRecord(person.subject).update(
            actions=[PersonRecord.closed_at.set(at), PersonRecord.updated_at.set(at),
                     PersonRecord.version.set(person.version + 1)],
            condition=PersonRecord.version == person.version)
    except UpdateError as exc:
        from chalicelib.repositories.common import is_condition_failure

        if is_condition_failure(exc):
            raise errors.StaleVersion(field="version") from None
        raise


def person_record(p: Person, mobile_key: str | None) -> PersonRecord:
    return PersonRecord(
        p.subject, kind=p.kind, name=p.name, id_number=p.id_number, person_key=p.person_key, mobile=p.mobile,
        mobile_key=mobile_key, credit_code=p.credit_code, household_id=p.household_id, created_at=p.created_at,
        updated_at=p.updated_at, version=p.version, real_name=p.real_name, claim_key=p.claim_key,
        check_id=p.check_id, verified_by=p.verified_by, verified_at=p.verified_at, closed_at=p.closed_at,
    )


def to_conflict(r: PersonRecord) -> dict[str, Any]:
    return {"conflict_id": r.subject.removeprefix(CONFLICT), "status": ConflictStatus(r.conflict_status),
            "opened_at": r.opened_at,
            "person_key": r.claim_key,
            "id_number": r.id_number, "holder": r.holder, "claimant": r.claimant,
            "evidence": plain(r.evidence) or {}, "resolution": plain(r.resolution) if r.resolution else None}


def household_record(h: Household) -> HouseholdRecord:
    return HouseholdRecord(h.household_id, owner=h.owner, main_key=h.main_key, members=h.members,
                           created_by=h.created_by, created_at=h.created_at, updated_at=h.updated_at,
                           version=h.version)


def to_household(r: HouseholdRecord) -> Household:
    return Household(r.household_id, r.owner, r.main_key, [plain(m) for m in r.members or []], r.created_by,
                     r.created_at, r.updated_at, int(r.version))


def to_person(r: PersonRecord) -> Person:
    return Person(r.subject, r.kind, r.name, r.id_number, r.person_key, r.mobile, r.household_id, r.credit_code,
                  r.created_at, r.updated_at, int(r.version or 1), real_name=r.real_name, claim_key=r.claim_key,
                  check_id=r.check_id, verified_by=r.verified_by, verified_at=r.verified_at, closed_at=r.closed_at)


__all__ = ["HouseholdRepository", "TransactWriteError"]
