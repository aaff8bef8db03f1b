"""People (real-name registration of a login) and households (家庭): the main applicant and members.

Age, sex and birth date of every member come from the ID number, never from a form field.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import expect_version, new_id, now, now_iso
from chalicelib.domain.idnumbers import mask_id, mask_mobile, mask_name, mobile_key, parse_id_number, parse_mobile
from chalicelib.domain.idnumbers import person_key as key_of
from chalicelib.domain.names import parse_person_name
from chalicelib.identity import UNREAD, Actor

if TYPE_CHECKING:
    from chalicelib.bodies import EmployerRegisterIn, HouseholdIn

CITIES_DIR = Path(__file__).resolve().parent.parent / "cities"
RELATIONS = {"self": "本人", "spouse": "配偶", "child": "子女", "parent": "父母", "sibling": "兄弟姐妹",
             "grandchild": "孙子女", "other": "其他"}
HUKOU = {"local": "本市户籍", "non_local": "非本市户籍"}
#: Declared circumstances a member may have; the rules turn them into priority points.
FLAGS = ("disability", "veteran", "subsistence_allowance", "serious_illness", "model_worker", "frontline_worker")


@dataclass(frozen=True)
class ApplyingConfig:
    """The city's data for applying: document types and requirements, the consent text, limits."""

    document_types: dict[str, str]
    required_documents: dict[str, list[str]]
    consent_version: str
    consent_title: str
    consent_text: str
    adult_age: int
    max_members: int
    max_documents: int
    supplement_days_default: int
    supplement_reminder_days: int


@cache
def applying_config(city: str) -> ApplyingConfig:
    """From the city's applications.json, validated once by its model (chalicelib/city_files.py)."""
    from chalicelib.city_files import city_file

    data = city_file(city, "applications.json")
    consent = data.consent_text
    return ApplyingConfig(
        dict(data.document_types), {k: list(v) for k, v in data.required_documents.items()}, consent.version,
        consent.title, consent.text, data.adult_age, data.max_members, data.max_documents,
        data.supplement_days_default, data.supplement_reminder_days,
    )


def config() -> ApplyingConfig:
    return applying_config(deps().settings.city_code)


# --- people --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    subject: str
    kind: str  # citizen | employer
    name: str
    id_number: str | None
    person_key: str | None
    mobile: str | None
    household_id: str | None = None
    credit_code: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    # real name (chalicelib/domain/real_name.py): pending | verified | disputed | None (legacy)
    real_name: str | None = None
    claim_key: str | None = None  # the claimed ID number's key while not bound (person_key is None)
    check_id: str | None = None
    verified_by: str | None = None  # token | check | staff
    verified_at: str | None = None
    closed_at: str | None = None  # the citizen closed the account (docs/decisions/0040)


def register_employer(actor: Actor, body: EmployerRegisterIn) -> Person:
    """An employer account: its organisation's name and unified social credit code."""
    from chalicelib.domain.idnumbers import parse_credit_code

    code = parse_credit_code(body.credit_code)
    mobile = _mobile_of(actor, body.mobile)
    at = now_iso()
    person = Person(actor.subject, "employer", body.name, None, None, mobile, credit_code=code,
                    created_at=at, updated_at=at)
    deps().households.register(person, mobile_key(deps().settings.city_code, mobile) if mobile else None, claim=None)
    return person


def _mobile_of(actor: Actor, given: str | None) -> str | None:
    claimed = actor.claims.get(deps().settings.identity.mobile_claim)
    if claimed:  # the identity provider verified it: it wins over what the body says
        return parse_mobile(str(claimed))
    return parse_mobile(given) if given else None


def me(actor: Actor, *, pending_ok: bool = False) -> Person:
    """The caller's registration (403 REGISTRATION_REQUIRED without one; 403 REAL_NAME_PENDING while
    the real-name check has not passed, unless ``pending_ok``)."""
    person = deps().households.get(actor.subject) if actor.registration is UNREAD else actor.registration
    if person is None:
        raise errors.RegistrationRequired()
    if not pending_ok and _blocked(person):
        raise errors.RealNamePending()
    return person


def find_by_mobile(mobile: str) -> Person:
    found = deps().households.by_mobile(mobile_key(deps().settings.city_code, parse_mobile(mobile, "delegate_mobile")))
    if found is None or _blocked(found):
        raise errors.DelegateNotRegistered()
    return found


def _blocked(person: Person) -> bool:
    """A citizen whose real name is pending or disputed: nothing bound to the ID number yet."""
    from chalicelib.domain.real_name_status import BLOCKED, status_of

    return person.kind == "citizen" and status_of(person) in BLOCKED


# --- households ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Household:
    household_id: str
    owner: str | None
    main_key: str
    members: list[dict[str, Any]] = field(default_factory=list)
    created_by: str = ""
    created_at: str = ""
    updated_at: str = ""
    version: int = 1

    def main(self) -> dict[str, Any]:
        return next(m for m in self.members if m["relation"] == "self")


def normalise_members(raw: list[dict[str, Any]], today: date | None = None) -> list[dict[str, Any]]:
    """Validate members and derive what the ID number says; exactly one main applicant (本人)."""
    cfg, city = config(), deps().settings.city_code
    today = today or now().date()
    if not raw:
        raise errors.InvalidInput("at least the main applicant", field="members", message="家庭成员至少应有申请人本人")
    if len(raw) > cfg.max_members:
        raise errors.InvalidInput(f"at most {cfg.max_members} members", field="members",
                                  message=f"家庭成员不能超过 {cfg.max_members} 人")
    out, seen = [], set()
    for i, m in enumerate(raw):
        where = f"members.{i}"
        parsed = parse_id_number(m["id_number"], field=f"{where}.id_number")
        if parsed.value in seen:
            raise errors.InvalidInput("the same ID number twice", field=f"{where}.id_number",
                                      message="家庭成员的身份证号码重复")
        seen.add(parsed.value)
        key = key_of(city, parsed.value)
        age = parsed.age_on(today)
        out.append({
            "member_id": "mem_" + key[1:13],
            "relation": m["relation"],
            "name": parse_person_name(m["name"], field=f"{where}.name", label="家庭成员姓名"),
            "id_number": parsed.value,
            "person_key": key,
            "birth_date": parsed.birth_date.isoformat(),
            "sex": parsed.sex,
            "age": age,
            "adult": age >= cfg.adult_age,
            "hukou": m.get("hukou", "local"),
            "monthly_income": int(m.get("monthly_income") or 0),
            **{flag: bool(m.get(flag, False)) for flag in FLAGS},
        })
    mains = [m for m in out if m["relation"] == "self"]
    if len(mains) != 1:
        raise errors.InvalidInput("exactly one member with relation self (本人)", field="members",
                                  message="家庭成员中应有且只有一位申请人本人（relation 为 self）")
    if not mains[0]["adult"]:
        raise errors.InvalidInput("the main applicant must be an adult", field="members",
                                  message="申请人本人应已成年")
    return out


def my_household(actor: Actor) -> Household:
    person = me(actor)
    if not person.household_id:
        raise errors.HouseholdNotFound()
    return get_household(person.household_id)


def get_household(household_id: str) -> Household:
    household = deps().households.get_household(household_id)
    if household is None:
        raise errors.HouseholdNotFound(household_id)
    return household


def save_my_household(actor: Actor, body: HouseholdIn) -> Household:
    """Create or replace the caller's household; the main applicant is the caller."""
    person = me(actor)
    if person.kind != "citizen":
        raise errors.Forbidden("employers apply through group applications")
    members = normalise_members([m.model_dump(mode="json") for m in body.members])
    if members[[m["relation"] for m in members].index("self")]["person_key"] != person.person_key:
        raise errors.InvalidInput("the main applicant (本人) must be you", field="members",
                                  message="家庭成员中的申请人本人应为您自己")
    return _save(person.household_id, person.subject, members, body.version, actor.subject, person)


def save_household_for(household_id: str, actor_subject: str, owner: str, body: HouseholdIn) -> Household:
    """A delegate with an "act" grant edits the grantor's household (the grantor stays main applicant)."""
    current = get_household(household_id)
    members = normalise_members([m.model_dump(mode="json") for m in body.members])
    if next(m for m in members if m["relation"] == "self")["person_key"] != current.main_key:
        raise errors.InvalidInput("the main applicant (本人) cannot change", field="members",
                                  message="不能更换申请人本人")
    return _save(household_id, owner, members, body.version, actor_subject, None)


def _save(household_id: str | None, owner: str | None, members: list[dict[str, Any]], version: int | None,
          by: str, person: Person | None) -> Household:
    at = now_iso()
    main_key = next(m["person_key"] for m in members if m["relation"] == "self")
    if household_id is None:
        household = Household(new_id("hh"), owner, main_key, members, by, at, at, 1)
        deps().households.create_household(household, person)
        return household
    current = get_household(household_id)
    if version is None:
        raise errors.InvalidInput("required when changing a household", field="version",
                                  message="修改已有家庭时版本号为必填项")
    expect_version(current.version, version)
    updated = replace(current, members=members, updated_at=at, version=current.version + 1)
    deps().households.save_household(updated, current.version)
    return updated


def create_unowned_household(members: list[dict[str, Any]], staff: str) -> Household:
    """代办: staff record a household for a citizen who has not registered; the citizen claims it
    when they register with the main applicant's ID number."""
    main_key = next(m["person_key"] for m in members if m["relation"] == "self")
    existing = deps().households.household_by_main(main_key)
    at = now_iso()
    if existing is not None:
        updated = replace(existing, members=members, updated_at=at, version=existing.version + 1)
        deps().households.save_household(updated, existing.version)
        return updated
    household = Household(new_id("hh"), None, main_key, members, staff, at, at, 1)
    deps().households.create_household(household, None)
    return household


# --- presenting ------------------------------------------------------------------------------------
def present_member(m: dict[str, Any], *, full: bool) -> dict[str, Any]:
    out = {k: v for k, v in m.items() if k != "person_key"}
    out["relation_name"] = RELATIONS.get(m["relation"], m["relation"])
    if not full:
        out.update(name=mask_name(m["name"]), id_number=mask_id(m["id_number"]), birth_date=None,
                   monthly_income=None)
    return out


def present_household(h: Household, *, full: bool = True) -> dict[str, Any]:
    return {"household_id": h.household_id, "members": [present_member(m, full=full) for m in h.members],
            "claimed": h.owner is not None, "created_at": h.created_at, "updated_at": h.updated_at,
            "version": h.version}


def present_person(p: Person, face: dict[str, str] | None = None) -> dict[str, Any]:
    from chalicelib.domain.real_name_status import RealNameStatus, status_of

    status = status_of(p) if p.kind == "citizen" else None
    real_name = None if status is None else {
        "status": status.value, "check_id": p.check_id if status is RealNameStatus.PENDING else None, "face": face,
        "verified_by": p.verified_by, "verified_at": p.verified_at}
    return {"kind": p.kind, "name": p.name, "id_number": p.id_number, "mobile": mask_mobile(p.mobile),
            "credit_code": p.credit_code, "household_id": p.household_id, "registered_at": p.created_at,
            "version": p.version, "real_name": real_name}


def my_household_of(subject: str) -> Household:
    """The household of a registered person (a delegate reaches the grantor's this way)."""
    person = deps().households.get(subject)
    if person is None or not person.household_id:
        raise errors.HouseholdNotFound()
    return get_household(person.household_id)
