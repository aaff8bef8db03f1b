"""Real-name identity (实名, docs/decisions/0016-real-name.md): the name and ID number a login acts
under come from a source that vouches for them, never from the request body alone.

- (a) The city's identity provider carries real-name claims (the provincial government platform:
  claim names in the city file): the registration is verified at once from the verified token; a body
  that says otherwise is refused.
- (b) Otherwise (Cognito, sandbox, local) the registration is PENDING until the real-name check
  (``chalicelib/realname.py``: name + ID number, then the provider's face check) passes; the server
  asks the provider for the result, never trusting the client's word.

Pending binds nothing: no ``person_key`` (so no household, application, consent, lease is reached
through it) and every citizen route but registration answers 403 REAL_NAME_PENDING. Only a verified
registration binds the ID number, through one item ``id#{person_key}`` written on condition: two
claims never both bind. A verified claim displaces a legacy (unverified) binding, audited and
notified; a second VERIFIED claim on a held ID opens an identity conflict case for staff.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import new_id, now_iso
from chalicelib.domain.households import Person, _mobile_of
from chalicelib.domain.idnumbers import mask_id, mask_mobile, mobile_key, parse_id_number
from chalicelib.domain.idnumbers import person_key as key_of
from chalicelib.domain.real_name_status import (  # noqa: F401 (the lifecycle, re-exported)
    BLOCKED, CONFLICTS, REAL_NAME, STATUS_NAMES, TRANSITIONS, ConflictStatus, RealNameStatus, status_of)
from chalicelib.identity import UNREAD, Actor

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import IdentityConflictResolveIn, RealNameCheckIn, RegisterIn


def check_transition(current: RealNameStatus, target: RealNameStatus) -> None:
    REAL_NAME.move(current, target)


def require_verified(actor: Actor, *, pending_ok: bool = False) -> Actor:
    """The gate every citizen route passes (chalicelib/web.py): a closed account is 403 everywhere
    (docs/decisions/0040); a pending or disputed login is 403 but on the routes that are ``pending_ok``.
    The actor it returns carries the registration it read, for the rest of the request."""
    person = deps().households.get(actor.subject)
    if person is not None and person.closed_at:
        raise errors.AccountClosed()
    if not pending_ok and person is not None and person.kind == "citizen" and status_of(person) in BLOCKED:
        if status_of(person) is RealNameStatus.DISPUTED:
            raise errors.IdNumberInDispute()
        raise errors.RealNamePending()
    return replace(actor, registration=person)


def _registration(actor: Actor) -> Person | None:
    """The registration the gate read for this request (no second read), else read now."""
    return deps().households.get(actor.subject) if actor.registration is UNREAD else actor.registration


# --- registering -----------------------------------------------------------------------------------
def register(actor: Actor, body: RegisterIn) -> tuple[Person, dict[str, str] | None]:
    """(a) verified from the token's claims, or (b) pending with the provider's face session (the
    second value: what the app hands the face SDK), or verified by 二要素 where no face check exists."""
    settings = deps().settings
    existing = _registration(actor)
    if existing is not None and (existing.kind != "citizen" or status_of(existing) is not RealNameStatus.PENDING):
        if existing.kind == "citizen" and status_of(existing) is RealNameStatus.DISPUTED:
            raise errors.IdNumberInDispute()
        raise errors.AlreadyRegistered()
    city = settings.city_code
    mobile = _mobile_of(actor, body.mobile)
    at = now_iso()
    vouched = _vouched(actor)
    if vouched is not None:
        name, id_number = vouched
        if parse_id_number(body.id_number).value != id_number:
            raise errors.RealNameMismatch("the ID number differs from the identity provider's", field="id_number")
        if body.name != name:
            raise errors.RealNameMismatch("the name differs from the identity provider's", field="name")
        person = Person(actor.subject, "citizen", name, id_number, None, mobile, created_at=at, updated_at=at,
                        real_name=RealNameStatus.PENDING.value, claim_key=key_of(city, id_number))
        return _bind(actor, person, "token"), None
    id_number = parse_id_number(body.id_number).value
    name = body.name
    started = deps().real_name_check.start(name, id_number, face=settings.realname_face, request_id=actor.subject)
    if started.result == "name_mismatch":
        raise errors.RealNameMismatch(field="name")
    if started.result in ("not_found", "invalid"):
        raise errors.RealNameNotFound(field="id_number")
    person = Person(actor.subject, "citizen", name, id_number, None, mobile,
                    created_at=existing.created_at if existing else at, updated_at=at,
                    version=(existing.version + 1) if existing else 1, real_name=RealNameStatus.PENDING.value,
                    claim_key=key_of(city, id_number), check_id=started.check_id)
    if started.face is None:  # the city's provider offers no face check: name + ID number vouch
        return _bind(actor, person, "check"), None
    deps().households.save_pending(person, mobile_key(city, mobile) if mobile else None)
    return person, started.face


def complete_check(actor: Actor, body: RealNameCheckIn) -> Person:
    """The app says the face SDK finished: the server asks the provider for the result."""
    person = _registration(actor)
    if person is None or person.kind != "citizen":
        raise errors.RegistrationRequired()
    status = status_of(person)
    if status is RealNameStatus.DISPUTED:
        raise errors.IdNumberInDispute()
    if status is not RealNameStatus.PENDING:
        raise errors.AlreadyRegistered()
    if not person.check_id or body.check_id != person.check_id:
        raise errors.RealNameCheckNotFound(field="check_id")
    from chalicelib.realname import CheckStatus

    result = deps().real_name_check.result(person.check_id)
    if result.status == CheckStatus.PENDING:
        raise errors.FaceCheckNotDone()
    if result.status == CheckStatus.FAILED:
        raise errors.FaceCheckFailed()
    if result.id_number.upper() != (person.id_number or "") or result.name != person.name:
        raise errors.RealNameMismatch("the provider verified someone else", field="check_id")
    return _bind(actor, person, "check")


def _vouched(actor: Actor) -> tuple[str, str] | None:
    """Name and ID number from the verified token, where the city's provider carries them."""
    identity = deps().settings.identity
    if not identity.id_number_claim or not identity.name_claim:
        return None
    raw_id, raw_name = actor.claims.get(identity.id_number_claim), actor.claims.get(identity.name_claim)
    if not raw_id or not raw_name:
        return None
    return str(raw_name), parse_id_number(str(raw_id), field="id_number").value


def _bind(actor: Actor, person: Person, how: str, retry: bool = True) -> Person:
    """Bind the ID number to this login, displacing a legacy binding; a verified holder means a
    conflict case for staff (and 409 ID_NUMBER_IN_DISPUTE)."""
    households, key = deps().households, person.claim_key
    assert key is not None
    check_transition(status_of(person), RealNameStatus.VERIFIED)
    holder = households.id_holder(key)
    loser: Person | None = None
    if holder is not None and holder != person.subject:
        _open_conflict(actor, person, holder, how)
        raise errors.IdNumberInDispute()
    if holder is None:
        legacy = households.by_person_key(key)
        if legacy not in (None, person.subject):
            loser = households.get(legacy)  # type: ignore[arg-type]
    at = now_iso()
    bound = replace(person, person_key=key, real_name=RealNameStatus.VERIFIED.value, check_id=None,
                    verified_by=how, verified_at=at, updated_at=at)
    city = deps().settings.city_code
    try:
        bound = households.bind(bound, mobile_key(city, person.mobile) if person.mobile else None, loser)
    except errors.IdNumberTaken:
        if not retry:
            raise
        return _bind(actor, person, how, retry=False)  # a simultaneous claim won: now a conflict
    if loser is not None:
        _displaced(actor, loser, key)
    _claim_imported(bound)
    return bound


def _claim_imported(person: Person) -> None:
    """An imported tenant (docs/decisions/0036): the household the binding claimed brings its leases
    and their bills (each once: a repeat finds them owned)."""
    if person.household_id and person.household_id.startswith("hhi_"):
        from chalicelib.domain import imports

        imports.claim(person)


def _displaced(actor: Actor, loser: Person, key: str) -> None:
    from chalicelib.domain import audit
    from chalicelib.notify import Notice

    audit.record(actor, f"person#{key[1:17]}", "real_name_displaced",
                 f"实名核验通过的账号取得该身份证号，未核验的旧登记（{loser.subject}）解除绑定")
    deps().notifier.notify(Notice(template="real_name_displaced", params={}, recipient=loser.subject, mobile=loser.mobile))


# --- conflicts (身份争议) ---------------------------------------------------------------------------
def _open_conflict(actor: Actor, claimant: Person, holder_subject: str, how: str) -> None:
    from chalicelib.domain import audit

    households = deps().households
    holder = households.get(holder_subject)
    existing = households.open_conflict_of(claimant.subject)
    if existing is None:
        conflict = {
            "conflict_id": new_id("idc"), "status": CONFLICTS.initial, "opened_at": now_iso(), "person_key": claimant.claim_key,
            "id_number": claimant.id_number, "holder": holder_subject, "claimant": claimant.subject,
            "evidence": {
                "holder": _side(holder) if holder is not None else None,  # its record gone: nobody to show
                "claimant": {**_side(claimant), "verified_by": how, "verified_at": now_iso(),
                             "check_id": claimant.check_id},
            },
        }
        households.open_conflict(conflict, replace(claimant, real_name=RealNameStatus.DISPUTED.value))
        audit.record(actor, f"identity_conflict#{conflict['conflict_id']}", "identity_conflict_opened",
                     "同一身份证号被两个已实名核验的账号登记，转工作人员核查")


def _side(person: Person) -> dict[str, Any]:
    return {"subject": person.subject, "name": person.name, "mobile": mask_mobile(person.mobile),
            "verified_by": person.verified_by, "verified_at": person.verified_at,
            "registered_at": person.created_at, "household_id": person.household_id}


def conflicts(actor: Actor, reason: str | None, cursor: str | None, limit: int) -> Any:
    from chalicelib.domain import audit

    audit.record(actor, "identity_conflicts", "read_identity_conflicts", reason)
    return deps().households.open_conflicts(cursor, limit)


def resolve(actor: Actor, conflict_id: str, body: IdentityConflictResolveIn) -> dict[str, Any]:
    """Staff decide who the ID number belongs to, with a reason (audited). The claimant winning takes
    the binding from the holder (the holder's login goes back to pending)."""
    from chalicelib.domain import audit

    households = deps().households
    conflict = households.get_conflict(conflict_id)
    if conflict is None:
        raise errors.IdentityConflictNotFound(conflict_id)
    resolved = CONFLICTS.move(conflict["status"], ConflictStatus.RESOLVED)  # twice: IDENTITY_CONFLICT_RESOLVED
    winner, reason = body.winner, str(body.reason).strip()
    if not reason:
        raise errors.InvalidInput("staff must say why", field="reason", message="请写明处理理由")
    audit.record(actor, f"identity_conflict#{conflict_id}", f"identity_conflict_resolved_{winner}", reason)
    resolution = {"winner": winner, "reason": reason, "by": actor.subject, "at": now_iso()}
    claimant = households.get(conflict["claimant"])
    if claimant is None:
        raise errors.IdentityConflictNotFound(conflict_id)
    if winner == "holder":
        households.close_conflict(conflict_id, resolution, replace(claimant, real_name=RealNameStatus.PENDING.value,
                                                                 check_id=None))
    else:
        holder = households.get(conflict["holder"])
        check_transition(status_of(claimant), RealNameStatus.VERIFIED)
        at = now_iso()
        bound = replace(claimant, person_key=claimant.claim_key, real_name=RealNameStatus.VERIFIED.value,
                        verified_by="staff", verified_at=at, updated_at=at)
        city = deps().settings.city_code
        _claim_imported(households.bind(bound, mobile_key(city, claimant.mobile) if claimant.mobile else None, holder))
        households.close_conflict(conflict_id, resolution, None)
        if holder is not None:
            _displaced(actor, holder, conflict["person_key"])
    return {**present_conflict({**conflict, "status": resolved, "resolution": resolution})}


def present_conflict(c: dict[str, Any]) -> dict[str, Any]:
    """For staff: both sides and the evidence; the ID number masked (the case is about it, not for it)."""
    return {"conflict_id": c["conflict_id"], "status": c["status"], "opened_at": c["opened_at"],
            "id_number": mask_id(c["id_number"]), "holder": c["holder"], "claimant": c["claimant"],
            "evidence": c.get("evidence") or {}, "resolution": c.get("resolution")}
