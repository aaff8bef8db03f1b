"""Lottery rounds (摇号): a round over a set of vacant units, registration of qualified households,
a published commitment, the draw with an announced public value, publication of the ranks.
Decisions: docs/decisions/0014 (the draw itself: chalicelib/domain/draw.py, docs/decisions/0013).

Lifecycle (chalicelib/domain/round_status.py): open -> closed -> committed -> drawn -> published ->
selection -> finished; open or closed -> cancelled. Unit selection (选房) reads a round through
``get_round``, ``ranked`` and ``registrant_of`` and moves it with ``set_status``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import audit, common
from chalicelib.domain.common import CHINA_TZ, Page, expect_version, new_id
from chalicelib.domain.round_status import (
    COMMITTED_OR_LATER,
    DRAWN_OR_LATER,
    PUBLISHED_OR_LATER,
    ROUNDS,
    RoundStatus,
    check_transition,
)
from chalicelib.identity import Actor
from chalicelib.messages import label

if TYPE_CHECKING:
    from chalicelib.bodies import DrawIn, RegistrationIn, RoundCancelIn, RoundCloseIn, RoundIn, VersionIn

R = RoundStatus
GENERAL = "general"
GROUP_NAMES = {GENERAL: "普通组"}
MAX_UNITS = 2000
#: A registration still being written when the round is committed: wait this long for it.
SETTLE_SECONDS = 60
#: A Lambda response is at most 6 MB: a larger published file is served by a short-lived link.
MAX_INLINE_BYTES = 5 * 1024 * 1024
#: Registration numbers tried before a registration gives up (409 REGISTRATION_NUMBER_TAKEN).
NUMBER_ATTEMPTS = 5


@dataclass(frozen=True)
class Round:
    round_id: str
    title: str
    status: RoundStatus
    version: int
    unit_ids: list[str]
    layouts_by_size: dict[str, list[str]]  # household size ("1", ..., "5+") -> allowed layouts
    priority_groups: list[str]  # in rank order; "general" last
    slot_minutes: int
    slot_size: int
    registration_opens_at: str
    registration_closes_at: str
    created_at: str
    updated_at: str
    layout_mix: dict[str, int] = field(default_factory=dict)  # layout -> units in the round
    randomness_source: str = ""
    seq: int = 0  # registration numbers handed out
    burned: int = 0  # of which lost to a race (never a registration)
    created_by: str = ""
    close_reason: str | None = None
    closed_at: str | None = None
    cancel_reason: str | None = None
    commitment_key: str | None = None
    commitment_sha256: str | None = None
    committed_at: str | None = None
    registrants: int | None = None  # fixed at commit
    public_value: str | None = None
    result_key: str | None = None
    result_sha256: str | None = None
    drawn_at: str | None = None
    published_at: str | None = None

    @property
    def registrants_count(self) -> int:
        return self.registrants if self.registrants is not None else max(0, self.seq - self.burned)

    def window_open(self) -> bool:
        at = common.now()
        return (datetime.fromisoformat(self.registration_opens_at) <= at
                < datetime.fromisoformat(self.registration_closes_at))

    def window_ended(self) -> bool:
        return datetime.fromisoformat(self.registration_closes_at) <= common.now()


@dataclass(frozen=True)
class Registrant:
    round_id: str
    registration_no: str
    application_id: str
    owner: str  # the login subject that registered
    owner_key: str
    household_size: int
    priority_group: str
    rank: int | None
    masked_name: str
    masked_id: str
    allowed_layouts: list[str]
    mobile: str | None = None
    created_at: str = ""
    updated_at: str = ""


def _iso(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).isoformat(timespec="milliseconds")


def _now_iso() -> str:
    return _iso(common.now())


# --- the city's settings -------------------------------------------------------------------------------
@cache
def city_layouts_by_size(city: str) -> dict[str, list[str]]:
    """The city's layouts per household size (applications.json ``lottery``, checked when loaded)."""
    from chalicelib.city_files import city_file

    return {k: list(v) for k, v in city_file(city, "applications.json").lottery.layouts_by_size.items()}


@cache
def city_priority(city: str) -> dict[str, str]:
    """The city's priority groups in the rules' order: id -> title."""
    from chalicelib.domain.eligibility import rule_book

    return {p["id"]: p["title"] for p in rule_book(city).priority}


def group_name(group: str) -> str:
    return GROUP_NAMES.get(group) or city_priority(deps().settings.city_code).get(group, group)


def layouts_for_size(layouts_by_size: dict[str, list[str]], size: int) -> list[str]:
    """The layouts a household of ``size`` may choose: its own key, else the largest "K+" with K <= size."""
    if str(size) in layouts_by_size:
        return list(layouts_by_size[str(size)])
    open_ended = [(int(k[:-1]), v) for k, v in layouts_by_size.items() if k.endswith("+") and int(k[:-1]) <= size]
    return list(max(open_ended)[1]) if open_ended else []


# --- admin: creating a round ------------------------------------------------------------------------
def _when(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise errors.InvalidInput("ISO 8601 date-time with offset", field=name,
                                  message=f"{label(None, name) or name}应为带时区的 ISO 8601 时间，"
                                          "如 2027-01-01T09:00:00+08:00") from None
    if value.tzinfo is None:
        raise errors.InvalidInput("with a UTC offset, e.g. +08:00", field=name,
                                  message=f"{label(None, name) or name}应带时区，如 +08:00")
    return value


def create_round(actor: Actor, body: RoundIn) -> Round:
    city = deps().settings.city_code
    opens = _when(body.registration_opens_at, "registration_opens_at")
    closes = _when(body.registration_closes_at, "registration_closes_at")
    if closes <= opens:
        raise errors.InvalidInput("after registration_opens_at", field="registration_closes_at",
                                  message="报名截止时间应晚于报名开始时间")
    if closes <= common.now():
        raise errors.InvalidInput("in the future", field="registration_closes_at", message="报名截止时间应在将来")
    from chalicelib.domain.units import check_layouts_by_size

    groups = _priority_groups(city, body.priority_groups)
    layouts_by_size = (check_layouts_by_size(body.layouts_by_size) if body.layouts_by_size
                       else city_layouts_by_size(city))
    unit_ids = list(dict.fromkeys(body.unit_ids))
    if not 1 <= len(unit_ids) <= MAX_UNITS:
        raise errors.InvalidInput(f"1-{MAX_UNITS} units", field="unit_ids", message=f"房源列表应为 1-{MAX_UNITS} 套房源")
    mix = _layout_mix(unit_ids)
    at = _now_iso()
    r = Round(new_id("rnd"), body.title, R.OPEN, 1, unit_ids, layouts_by_size, groups,
              body.slot_minutes or 30, body.slot_size or 10, _iso(opens), _iso(closes),
              at, at, layout_mix=mix, randomness_source=body.randomness_source, created_by=actor.subject)
    deps().lottery.create_round(r)
    audit.record(actor, f"round#{r.round_id}", "create_round",
                 f"创建摇号批次（{len(unit_ids)} 套房源，报名 {r.registration_opens_at[:16]} 至 "
                 f"{r.registration_closes_at[:16]}）")
    return r


def _priority_groups(city: str, given: list[str] | None) -> list[str]:
    known = city_priority(city)
    if not given:
        return [*known, GENERAL]
    groups = list(given)
    if len(set(groups)) != len(groups):
        raise errors.InvalidInput("a group appears twice", field="priority_groups", message="优先组顺序中有重复的组")
    for g in groups:
        if g != GENERAL and g not in known:
            raise errors.InvalidInput(f"unknown group {g}: {', '.join(known)}", field="priority_groups",
                                      message=f"优先组 {g} 不存在，可选：{'、'.join(known)}")
    if GENERAL in groups and groups[-1] != GENERAL:
        raise errors.InvalidInput("general comes last", field="priority_groups", message="普通组 general 应排在最后")
    return groups if groups[-1] == GENERAL else [*groups, GENERAL]


def _layout_mix(unit_ids: list[str]) -> dict[str, int]:
    from chalicelib.domain.units import UnitStatus

    units = {u.unit_id: u for u in deps().lottery.units(unit_ids)}
    missing = [u for u in unit_ids if u not in units]
    if missing:
        raise errors.UnitNotFound(", ".join(missing[:5]), field="unit_ids")
    busy = [u.unit_id for u in units.values() if u.status != UnitStatus.VACANT]
    if busy:
        raise errors.UnitNotVacant(", ".join(sorted(busy)[:5]), field="unit_ids")
    mix: dict[str, int] = {}
    for u in units.values():
        mix[u.layout.value] = mix.get(u.layout.value, 0) + 1
    return dict(sorted(mix.items()))


# --- reading ---------------------------------------------------------------------------------------------
def get_round(round_id: str) -> Round:
    return deps().lottery.get_round(round_id)


def rounds(cursor: str | None, limit: int) -> Page[Round]:
    return deps().lottery.rounds(cursor, limit)


def ranked(round_id: str) -> list[Registrant]:
    """Every registrant in rank order (after the draw; before it, an empty list)."""
    return deps().lottery.ranked(round_id)


def registrant_of(round_id: str, owner: str) -> Registrant | None:
    """The registration a login (``owner``: its subject) made in a round, if any."""
    return deps().lottery.registration_of_owner(round_id, owner)


def my_registration(round_id: str, actor: Actor) -> tuple[Round, Registrant]:
    r = get_round(round_id)
    reg = registrant_of(round_id, actor.subject)
    if reg is None:
        raise errors.RegistrationNotFound(round_id, field="round_id")
    return r, reg


def rank_visible(r: Round) -> bool:
    return r.status in DRAWN_OR_LATER


def ranks_page(round_id: str, cursor: str | None, limit: int) -> tuple[Round, Page[Registrant]]:
    r = get_round(round_id)
    if r.status not in PUBLISHED_OR_LATER:
        raise errors.RoundNotPublished(r.status.value, field="round_id")
    return r, deps().lottery.ranks_page(round_id, cursor, limit)


def set_status(round_id: str, from_status: RoundStatus | str, to_status: RoundStatus | str) -> Round:
    """Move a round ``from_status`` -> ``to_status`` if it is still in ``from_status`` (selection uses
    published -> selection and selection -> finished); anything else is 409 ILLEGAL_TRANSITION."""
    from_status, to = ROUNDS.parse(from_status), ROUNDS.move(from_status, to_status)
    return deps().lottery.update_round(
        round_id, expected_status=from_status.value, expected_version=None,
        conflict=errors.IllegalTransition(f"not {from_status.value}", field="status"),
        status=to.value, updated_at=_now_iso())


# --- the citizen: registering -------------------------------------------------------------------------
def register(round_id: str, actor: Actor, body: RegistrationIn | None) -> tuple[Round, Registrant]:
    """Register the caller's qualified application on the waiting list (``body`` None: no body was
    sent). One registration per application per round (a conditional put); numbers are handed out
    only while the round is open."""
    from chalicelib.domain.application_status import S
    from chalicelib.domain.households import me
    from chalicelib.domain.idnumbers import mask_id, mask_name

    repo = deps().lottery
    r = repo.get_round(round_id)
    if r.status != R.OPEN or not r.window_open():
        raise errors.RegistrationClosed(f"{r.registration_opens_at[:16]} - {r.registration_closes_at[:16]}",
                                        field="round_id")
    person = me(actor)
    waiting = deps().waiting_list.of_owner(person.person_key or "")
    wanted = body.application_id if body is not None else None
    if wanted:
        waiting = [w for w in waiting if w.application_id == wanted]
    if not waiting:
        raise errors.NotQualified("no qualified application on the waiting list", field="application_id")
    if len(waiting) > 1:
        raise errors.InvalidInput("more than one application on the waiting list: name one", field="application_id",
                                  message="您有多个正在轮候的申请，请填写要报名的申请编号")
    app = deps().applications.get(waiting[0].application_id)
    if app.status != S.QUALIFIED:
        raise errors.NotQualified(f"status {app.status.value}", field="application_id")
    size = len(app.members)
    allowed = [x for x in layouts_for_size(r.layouts_by_size, size) if r.layout_mix.get(x)]
    if not allowed:
        raise errors.NoFittingLayout(f"household of {size}", field="round_id")
    if repo.get_registration(round_id, app.application_id) is not None:
        raise errors.AlreadyRegisteredForRound(app.application_id, field="application_id")
    mine = {g["id"] if isinstance(g, dict) else str(g) for g in (app.verification or {}).get("priority_groups") or []}
    group = next((g for g in r.priority_groups if g in mine), GENERAL)
    main = app.main()
    at = _now_iso()
    reg = Registrant(round_id, "", app.application_id, actor.subject, app.owner_key, size, group, None,
                     mask_name(main["name"]) or "", mask_id(main["id_number"]) or "", allowed,
                     app.contact_mobile, at, at)
    reg = _numbered(repo, reg)
    from chalicelib.domain.access import notify_citizen

    notify_citizen(app, "lottery_registered", {"round_title": r.title, "registration_no": reg.registration_no})
    return r, reg


def _numbered(repo: Any, reg: Registrant) -> Registrant:
    """Write ``reg`` under the next registration number. The registration and the claim on its number
    are one transaction, so no two registrations of a round hold one number, whatever the counter
    answered: a number found taken is counted as burned and the next one is tried (up to
    ``NUMBER_ATTEMPTS``, then 409 REGISTRATION_NUMBER_TAKEN). Every number handed out is either a
    registration or burned, so registrants = ``seq - burned`` still holds."""
    from dataclasses import replace

    number = repo.next_number(reg.round_id)
    for attempt in range(NUMBER_ATTEMPTS):
        numbered = replace(reg, registration_no=f"R{number:06d}")
        try:
            repo.put_registration(numbered)
            return numbered
        except errors.AlreadyRegisteredForRound:
            repo.burn_number(reg.round_id)  # a double tap: the first registration stands
            raise
        except errors.RegistrationNumberTaken:
            if attempt == NUMBER_ATTEMPTS - 1:
                repo.burn_number(reg.round_id)
                raise
            try:
                number = repo.next_number(reg.round_id, burned=1)  # the taken one burned, in the same update
            except errors.RegistrationClosed:
                repo.burn_number(reg.round_id)
                raise
    raise AssertionError("unreachable")


# --- admin: close, cancel, commit, draw, publish ---------------------------------------------------------
def _move(r: Round, version: int, to: RoundStatus, **fields: Any) -> Round:
    expect_version(r.version, version)
    check_transition(r.status, to)
    return deps().lottery.update_round(
        r.round_id, expected_status=r.status.value, expected_version=version,
        conflict=errors.StaleVersion("the round changed", field="version"), status=to.value,
        updated_at=_now_iso(), **fields)


def close(round_id: str, actor: Actor, body: RoundCloseIn) -> Round:
    """Close registration; before the window's end only with ``force`` and a reason."""
    r = get_round(round_id)
    expect_version(r.version, body.version)
    check_transition(r.status, R.CLOSED)
    reason = body.reason
    if not r.window_ended():
        if not body.force:
            raise errors.RegistrationWindowOpen(f"until {r.registration_closes_at[:16]}", field="force")
        if not reason:
            raise errors.InvalidInput("a forced close needs a reason", field="reason", message="强制截止须写明理由")
    audit.record(actor, f"round#{round_id}", "close_round", reason or "报名期满，截止报名")
    return _move(r, body.version, R.CLOSED, closed_at=_now_iso(), close_reason=reason)


def cancel(round_id: str, actor: Actor, body: RoundCancelIn) -> Round:
    r = get_round(round_id)
    expect_version(r.version, body.version)
    check_transition(r.status, R.CANCELLED)
    audit.record(actor, f"round#{round_id}", "cancel_round", body.reason)
    return _move(r, body.version, R.CANCELLED, cancel_reason=body.reason)


def commit(round_id: str, actor: Actor, body: VersionIn) -> Round:
    """Freeze the registrant list: the commitment document's exact bytes go to S3 (named by their
    SHA-256) and the round keeps the hash. From here on registrations cannot change."""
    from chalicelib.domain import draw

    r = get_round(round_id)
    expect_version(r.version, body.version)
    check_transition(r.status, R.COMMITTED)
    regs = sorted(deps().lottery.registrations(round_id), key=lambda g: g.registration_no)
    if len(regs) != r.registrants_count and r.closed_at and \
            common.now() - datetime.fromisoformat(r.closed_at) < timedelta(seconds=SETTLE_SECONDS):
        raise errors.RegistrationsSettling(f"{len(regs)} of {r.registrants_count} written", field="version")
    committed_at = _now_iso()
    try:
        document = draw.commitment_document(
            round_id, r.title, r.priority_groups,
            [{"registration_no": g.registration_no, "priority_group": g.priority_group, "masked_name": g.masked_name,
              "masked_id": g.masked_id} for g in regs], r.randomness_source, committed_at)
    except draw.DrawError as exc:  # stored data no commitment may carry: nothing is committed
        raise errors.RoundDataInconsistent(str(exc), field="round_id") from None
    data = draw.canonical_bytes(document)
    digest = draw.sha256_hex(data)
    key = f"lottery/{round_id}/commitment-{digest}.json"
    deps().lottery.put_file(key, data)
    audit.record(actor, f"round#{round_id}", "commit_round", f"固定报名名单 {len(regs)} 户，SHA-256 {digest}")
    return _move(r, body.version, R.COMMITTED, commitment_key=key, commitment_sha256=digest,
                 committed_at=committed_at, registrants=len(regs))


def commitment_file(round_id: str) -> tuple[bytes | None, str | None]:
    """The committed bytes (or, past what a Lambda may answer, a short-lived link to them)."""
    r = get_round(round_id)
    if r.status not in COMMITTED_OR_LATER or not r.commitment_key:
        raise errors.RoundNotPublished(f"{r.status.value}: not committed yet", field="round_id")
    return _served(r.commitment_key, r.commitment_sha256)


def result_file(round_id: str) -> tuple[bytes | None, str | None]:
    r = get_round(round_id)
    if r.status not in PUBLISHED_OR_LATER or not r.result_key:
        raise errors.RoundNotPublished(f"{r.status.value}: not published yet", field="round_id")
    return _served(r.result_key, r.result_sha256)


def _served(key: str, digest: str | None) -> tuple[bytes | None, str | None]:
    repo = deps().lottery
    if repo.size_of(key) > MAX_INLINE_BYTES:
        return None, repo.file_link(key)
    return _checked_file(key, digest), None


def _checked_file(key: str, digest: str | None) -> bytes:
    from chalicelib.domain import draw

    data = deps().lottery.get_file(key)
    if draw.sha256_hex(data) != digest:  # the stored bytes are not what was committed: never serve them
        raise errors.RoundFileMismatch(f"{key}: stored file does not match its recorded SHA-256", field="round_id")
    return data


def run_draw(round_id: str, actor: Actor, body: DrawIn) -> Round:
    """Rank the committed registrants with the announced public value, once. The result document
    is stored first (named by its hash), then the round moves committed -> drawn on its version
    (so of two draws at once only one counts), then each registration gets its rank."""
    from chalicelib.domain import draw

    r = get_round(round_id)
    check_transition(r.status, R.DRAWN)  # a second draw: 409 ALREADY_DRAWN, whatever the version
    expect_version(r.version, body.version)
    commitment = json.loads(_checked_file(r.commitment_key or "", r.commitment_sha256))
    try:
        result = draw.draw(commitment, body.public_value)
    except draw.DrawError as exc:  # the body's public value is never empty (DrawIn): the committed file is wrong
        raise errors.RoundDataInconsistent(str(exc), field="round_id") from None
    data = draw.canonical_bytes(result)
    digest = draw.sha256_hex(data)
    key = f"lottery/{round_id}/result-{digest}.json"
    deps().lottery.put_file(key, data)
    audit.record(actor, f"round#{round_id}", "draw_round",
                 f"摇号：公开随机数“{result['public_value']}”，种子 {result['seed']}")
    drawn = _move(r, body.version, R.DRAWN, public_value=result["public_value"], result_key=key,
                  result_sha256=digest, drawn_at=_now_iso())
    _write_ranks(drawn, result)
    return drawn


def _write_ranks(r: Round, result: dict[str, Any] | None = None) -> int:
    """Each registration's rank from the stored result (idempotent: a repeat writes the same)."""
    from dataclasses import replace

    if result is None:
        result = json.loads(_checked_file(r.result_key or "", r.result_sha256))
    rank_of = {x["registration_no"]: int(x["rank"]) for x in result["ranks"]}
    at = _now_iso()
    regs = [replace(g, rank=rank_of[g.registration_no], updated_at=at)
            for g in deps().lottery.registrations(r.round_id) if g.registration_no in rank_of]
    return deps().lottery.write_ranks(regs)


def publish(round_id: str, actor: Actor, body: VersionIn) -> tuple[Round, int]:
    """Make the ranks public (公示) and tell every registrant their rank."""
    from chalicelib.notify import Notice

    r = get_round(round_id)
    expect_version(r.version, body.version)
    check_transition(r.status, R.PUBLISHED)
    repo = deps().lottery
    if repo.count_ranked(round_id) != r.registrants_count:  # an interrupted draw: finish writing the ranks
        _write_ranks(r)
    audit.record(actor, f"round#{round_id}", "publish_round", f"公布摇号结果（{r.registrants_count} 户）")
    published = _move(r, body.version, R.PUBLISHED, published_at=_now_iso())
    sent, notifier = 0, deps().notifier
    for g in repo.ranked(round_id):
        sent += notifier.notify(Notice(template="lottery_rank", params={
            "round_title": r.title, "registration_no": g.registration_no, "rank": str(g.rank),
            "group_name": group_name(g.priority_group)}, recipient=g.owner, mobile=g.mobile,
            application_id=g.application_id))
    return published, sent
