"""Online unit selection (在线选房): households of a published lottery round choose units in rank
order, slot by slot. Decisions: docs/decisions/0015.

- ``start``: the round goes published -> selection; one record per registrant in rank order, slot
  k = ranks [k*slot_size, (k+1)*slot_size), from the start time + k*slot_minutes; invitations sent.
- ``choose``: while my slot is open, ONE TransactWrite reserves the unit (vacant -> reserved, on
  its status and version), marks my record chosen (on "invited, no unit yet, this slot") and
  creates the draft lease. However the requests interleave, a unit goes to one household and a
  household gets one unit: each is a condition of the same transaction.
- ``advance`` (every 5 minutes, or by an admin): households whose slot ended without a choice are
  passed over; when every first slot has ended, they are re-invited at the end in rank order (one
  more slot each); when nobody is left to invite or no unit is left, the round is finished.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.common import expect_version
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.domain.round_status import ROUNDS, RoundStatus
from chalicelib.domain.units import UnitStatus
from chalicelib.identity import Actor



class SelectionStatus(StrEnum):
    """A household's place in the unit choice (选房). ``waiting`` is shown, never stored: an invited
    household whose slot has not begun."""

    WAITING = "waiting"
    INVITED = "invited"
    CHOSEN = "chosen"
    PASSED = "passed"
    CONFIRMED = "confirmed"


WAITING, INVITED, CHOSEN, PASSED, CONFIRMED = SelectionStatus
STATUS_NAMES = {WAITING: "等待选房", INVITED: "请在选房时段内选房", CHOSEN: "已选房，待确认合同", PASSED: "已过号",
                CONFIRMED: "已签约"}
SELECTION: Lifecycle[SelectionStatus] = Lifecycle(
    "selection_household", WAITING,
    {WAITING: {INVITED}, INVITED: {CHOSEN, PASSED}, PASSED: {INVITED}, CHOSEN: {CONFIRMED}, CONFIRMED: set()},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({CHOSEN, CONFIRMED}), frozenset({CHOSEN}), errors.AlreadyChosen, "unit_id"),
              Refusal(frozenset({WAITING, PASSED}), frozenset({CHOSEN}), errors.NotYourTurn, "round_id")])


class SelectionPhase(StrEnum):
    """A round's selection as a whole: first slots in rank order, then the passed-over re-invited at the end."""

    STARTING = "starting"  # the households are being written (a start interrupted here is finished by advance)
    FIRST = "first"
    REINVITE = "reinvite"
    FINISHED = "finished"


STARTING, FIRST, REINVITE, FINISHED = (SelectionPhase.STARTING, SelectionPhase.FIRST, SelectionPhase.REINVITE,
                                       SelectionPhase.FINISHED)
PHASES: Lifecycle[SelectionPhase] = Lifecycle(
    "selection_phase", STARTING, {STARTING: {FIRST}, FIRST: {REINVITE, FINISHED}, REINVITE: {FINISHED}, FINISHED: set()},
    names={STARTING: "准备中", FIRST: "按序选房", REINVITE: "补选", FINISHED: "选房结束"})
#: Phases the advance job still has work in (the by_phase index is queried for each).
OPEN_PHASES = (STARTING, FIRST, REINVITE)


@dataclass(frozen=True)
class Meta:
    """A round's selection: its slots and phase (first slots, then the re-invitations at the end)."""

    round_id: str
    phase: str
    starts_at: str
    slot_minutes: int
    slot_size: int
    slots: int
    first_ends_at: str
    reinvite_base: str | None = None
    finished_at: str | None = None
    released: list[str] | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


@dataclass(frozen=True)
class Household:
    """A registrant's place in the selection."""

    round_id: str
    rank: int
    registration_no: str
    application_id: str
    owner: str | None
    owner_key: str
    household_size: int
    allowed_layouts: list[str]
    masked_name: str
    status: SelectionStatus
    slot: int
    slot_start: str
    slot_end: str
    mobile: str | None = None
    reinvited: bool = False
    passed_once: bool = False
    unit_id: str | None = None
    lease_id: str | None = None
    chosen_at: str | None = None
    confirmed_at: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1

    def open_at(self, at: datetime) -> bool:
        return self.status == INVITED and _t(self.slot_start) <= at < _t(self.slot_end)

    def shown_status(self, at: datetime) -> SelectionStatus:
        if self.status == INVITED:
            if at < _t(self.slot_start):
                return WAITING
            if at >= _t(self.slot_end):
                return PASSED  # the next advance records it
        return self.status


@dataclass
class Availability:
    round_id: str
    units: list[dict[str, Any]] = field(default_factory=list)  # free units of the round
    total: int = 0

    def by_layout(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for u in self.units:
            out[u["layout"]] = out.get(u["layout"], 0) + 1
        return out


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _iso(value: datetime) -> str:
    return value.astimezone(common.CHINA_TZ).isoformat(timespec="milliseconds")


def _lottery() -> Any:
    from chalicelib.domain import lottery

    return lottery


# --- admin: starting -----------------------------------------------------------------------------
def start(round_id: str, actor: Actor, version: int, starts_at: str | None = None) -> Meta:
    """published -> selection; the households in rank order with their slots; invitations."""
    lottery = _lottery()
    rnd = lottery.get_round(round_id)
    expect_version(rnd.version, version)
    ROUNDS.move(rnd.status, RoundStatus.SELECTION)  # only a published round
    begin = _start_time(starts_at)
    registrants = lottery.ranked(round_id)
    slot_size, slot_minutes = max(1, int(rnd.slot_size)), max(1, int(rnd.slot_minutes))
    slots = max(1, -(-len(registrants) // slot_size))
    at = common.now_iso()
    meta = Meta(round_id, STARTING, _iso(begin), slot_minutes, slot_size, slots,
                _iso(begin + timedelta(minutes=slots * slot_minutes)), created_at=at, updated_at=at)
    repo = deps().selection
    repo.create_meta(meta)  # a second start is refused here
    try:
        lottery.set_status(round_id, RoundStatus.PUBLISHED, RoundStatus.SELECTION)
    except Exception:
        repo.delete_meta(round_id)
        raise
    from chalicelib.domain import audit

    audit.record(actor, f"round#{round_id}", "start_selection", f"选房开始，{len(registrants)} 户，{slots} 个时段")
    return _create_households(meta, registrants, rnd.title)


def _start_time(raw: str | None) -> datetime:
    if raw is None:
        return common.now()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise errors.InvalidInput("ISO 8601 date-time with offset", field="starts_at",
                                  message="选房开始时间应为带时区的 ISO 8601 时间，如 2027-01-01T09:00:00+08:00") from None
    if value.tzinfo is None:
        raise errors.InvalidInput("with a UTC offset, e.g. +08:00", field="starts_at", message="选房开始时间应带时区，如 +08:00")
    if value > common.now() + timedelta(days=60):
        raise errors.InvalidInput("within 60 days", field="starts_at", message="选房开始时间应在今后 60 天之内")
    return value


def households_for(meta: Meta, registrants: list[Any]) -> list[Household]:
    """Slot k holds ranks [k*slot_size, (k+1)*slot_size) of the ranked list."""
    begin = _t(meta.starts_at)
    out = []
    for i, r in enumerate(registrants):
        slot = i // meta.slot_size
        start = begin + timedelta(minutes=slot * meta.slot_minutes)
        out.append(Household(
            meta.round_id, int(r.rank), str(r.registration_no), r.application_id, r.owner, r.owner_key,
            int(r.household_size), list(r.allowed_layouts), r.masked_name, INVITED, slot, _iso(start),
            _iso(start + timedelta(minutes=meta.slot_minutes)), mobile=getattr(r, "mobile", None),
            created_at=meta.created_at, updated_at=meta.created_at))
    return out


def _create_households(meta: Meta, registrants: list[Any], title: str, notify_them: bool = True) -> Meta:
    repo = deps().selection
    households = households_for(meta, registrants)
    repo.put_households(households)
    running = replace(meta, phase=PHASES.move(meta.phase, FIRST), updated_at=common.now_iso(), version=meta.version + 1)
    repo.update_meta(running, meta.version)
    if notify_them:
        for h in households:
            _notify(h, "selection_invited", title)
    return running


def _notify(h: Household, template: str, title: str) -> None:
    from chalicelib.notify import Notice

    deps().notifier.notify(Notice(template=template, recipient=h.owner, mobile=h.mobile, application_id=h.application_id, params={
        "round_title": title, "rank": str(h.rank), "slot_start": h.slot_start[:16].replace("T", " "),
        "slot_end": h.slot_end[:16].replace("T", " ")}))


# --- reading -------------------------------------------------------------------------------------------
def availability(round_id: str) -> Availability:
    """The round's units still vacant: one GetItem for the round, one BatchGet per 100 units."""
    rnd = _lottery().get_round(round_id)
    units = deps().selection.units(list(rnd.unit_ids))
    free = [u for u in units if u["status"] == UnitStatus.VACANT]
    free.sort(key=lambda u: (u["estate_id"], u["building_id"], u["number"]))
    return Availability(round_id, free, len(rnd.unit_ids))


def mine(round_id: str, actor: Actor) -> tuple[Household | None, Any, Availability | None]:
    """My place (None before the selection starts), my registration, and the free units that fit."""
    h = deps().selection.mine(round_id, actor.subject)
    registrant = None
    if h is None:
        registrant = _lottery().registrant_of(round_id, actor.subject)
        if registrant is None:
            raise errors.SelectionNotFound(round_id, field="round_id")
    layouts = set(h.allowed_layouts if h else registrant.allowed_layouts)
    avail = availability(round_id)
    avail.units = [u for u in avail.units if u["layout"] in layouts]
    return h, registrant, avail


# --- the household chooses -----------------------------------------------------------------------------
def choose(round_id: str, actor: Actor, unit_id: str) -> tuple[Household, Any]:
    repo = deps().selection
    h = repo.mine(round_id, actor.subject)
    if h is None:
        if _lottery().registrant_of(round_id, actor.subject) is None:
            raise errors.SelectionNotFound(round_id, field="round_id")
        raise errors.SelectionNotOpen("the selection has not started", field="round_id")
    meta = repo.get_meta(round_id)
    if meta is None or meta.phase not in (FIRST, REINVITE):
        raise errors.SelectionNotOpen(meta.phase if meta else "", field="round_id")
    to = SELECTION.move(h.status, CHOSEN)  # chosen already: ALREADY_CHOSEN; passed: NOT_YOUR_TURN
    at = common.now()
    if not h.open_at(at):
        raise errors.NotYourTurn(f"{h.slot_start[:16]} - {h.slot_end[:16]}", field="round_id")
    rnd = _lottery().get_round(round_id)
    if unit_id not in rnd.unit_ids:
        raise errors.UnitNotAvailable("not in this round", field="unit_id")
    from chalicelib.domain import leases

    for _ in range(3):
        unit = deps().units.get(unit_id)
        if unit.layout.value not in h.allowed_layouts:
            raise errors.UnitNotAvailable("the layout does not fit the household", field="unit_id")
        if unit.status in (UnitStatus.RESERVED, UnitStatus.LEASED):
            raise errors.UnitTaken(unit_id, field="unit_id")
        if unit.status is not UnitStatus.VACANT:
            raise errors.UnitNotAvailable(unit.status.value, field="unit_id")
        app = deps().applications.get(h.application_id)
        estate = deps().estates.get(unit.estate_id)
        lease = leases.draft(round_id, h, app, unit, estate)
        outcome = repo.choose(h, unit, lease, actor)
        if outcome == "ok":
            chosen = replace(h, status=to, unit_id=unit_id, lease_id=lease.lease_id, chosen_at=lease.created_at,
                             version=h.version + 1)
            _notify_chosen(chosen, lease)
            return chosen, lease
        # a condition failed: say which, from what is stored now
        now_h = repo.get_household(round_id, h.rank)
        if now_h.status in (CHOSEN, CONFIRMED):
            raise errors.AlreadyChosen(now_h.unit_id or "", field="unit_id")
        if now_h.status != INVITED or now_h.slot_end != h.slot_end:
            raise errors.NotYourTurn("the slot has ended", field="round_id")
        if deps().units.get(unit_id).status is not UnitStatus.VACANT:
            raise errors.UnitTaken(unit_id, field="unit_id")
        # the unit's description changed in between (its version): read it again
    raise errors.ServiceUnavailable("busy, try again")


def _notify_chosen(h: Household, lease: Any) -> None:
    from chalicelib.domain.units import LAYOUT_NAMES, Layout
    from chalicelib.notify import Notice

    deps().notifier.notify(Notice(template="unit_chosen", recipient=h.owner, mobile=h.mobile, application_id=h.application_id,
                  params={"estate_name": lease.estate_name, "building_name": lease.building_name,
                          "number": lease.number, "layout_name": LAYOUT_NAMES[Layout(lease.layout)]}))


# --- advancing: passed over, re-invited at the end, finished ------------------------------------------
def advance(round_id: str, actor: Actor | None = None) -> dict[str, Any]:
    """Idempotent: every step checks before it acts, so a run interrupted anywhere is completed by
    the next one."""
    repo = deps().selection
    meta = repo.get_meta(round_id)
    if meta is None:
        raise errors.SelectionNotFound(round_id, field="round_id")
    done: dict[str, Any] = {"round_id": round_id, "passed": 0, "reinvited": 0, "finished": False}
    if meta.phase == FINISHED:
        done["finished"] = True
        return done
    lottery = _lottery()
    rnd = lottery.get_round(round_id)
    if meta.phase == STARTING:  # the start was interrupted after the round moved: finish writing
        if rnd.status != RoundStatus.SELECTION:
            return done
        meta = _create_households(meta, lottery.ranked(round_id), rnd.title)
    at = common.now()
    households = repo.households(round_id)
    for i, h in enumerate(households):
        if h.status == INVITED and at >= _t(h.slot_end) and repo.pass_over(h):
            households[i] = replace(h, status=SELECTION.move(h.status, PASSED), passed_once=h.passed_once or not h.reinvited)
            done["passed"] += 1
    first_pending = any(h.status == INVITED and not h.reinvited for h in households)
    if meta.phase == FIRST and at >= _t(meta.first_ends_at) and not first_pending:
        base = max(_t(meta.first_ends_at), at)
        moved = replace(meta, phase=PHASES.move(meta.phase, REINVITE), reinvite_base=_iso(base), updated_at=common.now_iso(),
                        version=meta.version + 1)
        try:
            meta = repo.update_meta(moved, meta.version)
        except errors.StaleVersion:
            meta = repo.get_meta(round_id) or meta  # a concurrent run moved it
    if meta.phase == REINVITE and meta.reinvite_base:
        base = _t(meta.reinvite_base)
        again = [h for h in households if h.passed_once]  # fixed once every first slot has ended
        for n, h in enumerate(again):
            if h.status != PASSED or h.reinvited:
                continue
            k = n // meta.slot_size
            start = base + timedelta(minutes=k * meta.slot_minutes)
            if at >= start + timedelta(minutes=meta.slot_minutes):
                continue  # its extra slot is over already (the job did not run): it stays passed
            moved_h = replace(h, status=SELECTION.move(h.status, INVITED), reinvited=True, slot=meta.slots + k, slot_start=_iso(start),
                              slot_end=_iso(start + timedelta(minutes=meta.slot_minutes)))
            if repo.reinvite(moved_h):
                households[households.index(h)] = moved_h
                _notify(moved_h, "selection_reinvited", rnd.title)
                done["reinvited"] += 1
    pending = any(h.status == INVITED for h in households)
    free = [u["unit_id"] for u in deps().selection.units(list(rnd.unit_ids)) if u["status"] == UnitStatus.VACANT]
    if not free or (meta.phase == REINVITE and not pending):
        _finish(meta, rnd, households, free)
        done["finished"] = True
    done["units_free"] = len(free)
    return done


def _finish(meta: Meta, rnd: Any, households: list[Household], free: list[str]) -> None:
    """selection -> finished; whoever is still invited is passed; the unchosen units are released
    (they stay vacant, free for the next round)."""
    repo = deps().selection
    for h in households:
        if h.status == INVITED:
            repo.pass_over(h)
    if rnd.status == RoundStatus.SELECTION:
        try:
            _lottery().set_status(rnd.round_id, RoundStatus.SELECTION, RoundStatus.FINISHED)
        except errors.DomainError:
            if _lottery().get_round(rnd.round_id).status != RoundStatus.FINISHED:
                raise
    at = common.now_iso()
    try:
        repo.update_meta(replace(meta, phase=PHASES.move(meta.phase, FINISHED), finished_at=at, released=free, updated_at=at,
                                 version=meta.version + 1), meta.version)
    except errors.StaleVersion:
        pass  # finished by a concurrent run


def advance_due() -> dict[str, int]:
    """The scheduled job: every round in selection (the sparse phase index: meta items only)."""
    out = {"rounds": 0, "passed": 0, "reinvited": 0, "finished": 0}
    for round_id in deps().selection.running_rounds():
        done = advance(round_id)
        out["rounds"] += 1
        out["passed"] += done["passed"]
        out["reinvited"] += done["reinvited"]
        out["finished"] += int(done["finished"])
    return out
