"""Move-out (退租, issue 12 §3): the tenant gives notice from the app (or a delegate with an ``act``
grant), or staff start it (a review's must-leave outcome: :func:`start_for_staff`); staff set the
appointment, inspect the unit (condition, meter readings, damages in fen, photos through a presigned
POST), settle (the final statement and the deposit: domain/move_out_settlement.py, which imports this
module, never the other way round), and complete it:
the lease ends (out of billing's active index) and the unit goes back to vacant or under repair, in
one transaction. Every step is audited and on the timeline the tenant sees. Decisions:
docs/decisions/0030.

A lease has one open move-out at a time: its lock is put with the move-out and deleted when it is
cancelled or completed, in the same transactions (repositories/move_outs.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.filetypes import UPLOADS
from chalicelib.domain import common
from chalicelib.domain.common import Page, expect_version, new_id
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor, Role

if TYPE_CHECKING:  # the request models and the city file's; pydantic stays off the read path
    from chalicelib.bodies import InspectionIn, MoveOutAppointmentIn, MoveOutIn, MoveOutPhotoIn, StaffMoveOutIn
    from chalicelib.city_files import MoveOutRules
    from chalicelib.domain.leases import Lease


class MoveOutStatus(StrEnum):
    REQUESTED = "requested"  # notice given (by the tenant, a delegate, or staff)
    SCHEDULED = "scheduled"  # staff set the inspection's appointment (a date and a slot)
    INSPECTED = "inspected"  # the unit inspected: condition, meters, damages, photos
    SETTLED = "settled"  # the final statement made, the deposit settled (refund, or a balance bill)
    COMPLETED = "completed"  # the lease ended, the unit vacant or under repair
    CANCELLED = "cancelled"  # withdrawn before the inspection


REQUESTED, SCHEDULED, INSPECTED = MoveOutStatus.REQUESTED, MoveOutStatus.SCHEDULED, MoveOutStatus.INSPECTED
SETTLED, COMPLETED, CANCELLED = MoveOutStatus.SETTLED, MoveOutStatus.COMPLETED, MoveOutStatus.CANCELLED
STATUS_NAMES = {REQUESTED: "已申请", SCHEDULED: "已预约验房", INSPECTED: "已验房", SETTLED: "已结算",
                COMPLETED: "已退租", CANCELLED: "已撤销"}
MOVE_OUTS: Lifecycle[MoveOutStatus] = Lifecycle(
    "move_out", REQUESTED,
    {REQUESTED: {SCHEDULED, CANCELLED}, SCHEDULED: {INSPECTED, CANCELLED}, INSPECTED: {SETTLED},
     SETTLED: {COMPLETED}, COMPLETED: set(), CANCELLED: set()},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({INSPECTED, SETTLED, COMPLETED}), frozenset({CANCELLED}), errors.MoveOutNotCancellable,
                      "move_out_id"),
              Refusal(frozenset({SETTLED, COMPLETED}), frozenset({SETTLED}), errors.MoveOutAlreadySettled,
                      "move_out_id")])
OPEN = frozenset({REQUESTED, SCHEDULED, INSPECTED, SETTLED})


class RefundState(StrEnum):
    """The deposit refund of a settlement (a step inside ``settled``, not a lifecycle of its own)."""

    PENDING = "pending"  # asked of the provider and not confirmed, or waiting for the counter
    REFUNDED = "refunded"

STAFF_ROLES = (Role.STAFF, Role.ADMIN)
CONDITIONS = {"good": "完好", "normal_wear": "正常损耗", "damaged": "有损坏"}
UNIT_OUTCOMES = {"vacant": "空置可租", "under_repair": "维修中"}
PHOTO_TYPES = ("image/jpeg", "image/png")
#: An open order older than this is the sweep's (settlement.sweep closes it): not looked for here.
OPEN_ORDER_HOURS = 24


@dataclass(frozen=True)
class MoveOut:
    move_out_id: str
    lease_id: str
    owner: str
    unit_id: str
    estate_id: str
    unit_label: str
    tenant_masked: str
    move_out_date: str  # YYYY-MM-DD: rent runs to this day (inclusive)
    started_by: str  # login subject
    started_role: str  # tenant | delegate | staff
    grant_id: str | None = None
    reason: str | None = None
    review_id: str | None = None
    status: MoveOutStatus = REQUESTED
    appointment: dict[str, Any] | None = None
    inspection: dict[str, Any] | None = None
    photos: list[dict[str, Any]] = field(default_factory=list)
    settlement: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


@cache
def move_out_rules(city: str) -> MoveOutRules:
    """The ``leases.move_out`` part of the city's applications.json (notice window, slots, photos)."""
    from chalicelib.city_files import city_file

    return city_file(city, "applications.json").leases.move_out


def rules() -> MoveOutRules:
    return move_out_rules(deps().settings.city_code)


def today() -> date:
    return common.now().date()


# --- who may see and act ------------------------------------------------------------------------------
def _as_tenant(lease: Lease, actor: Actor, need: str) -> tuple[str, str | None]:
    """("tenant", None) for the tenant; ("delegate", grant id) for a delegate whose live grant has
    ``need``; anyone else is told the lease does not exist (404)."""
    if lease.owner == actor.subject:
        return "tenant", None
    grant = deps().grants.between(lease.owner, actor.subject)
    if grant is None:
        raise errors.LeaseNotFound(lease.lease_id, field="lease_id")
    from chalicelib.domain.grants import check

    check(grant, need)
    return "delegate", str(grant["grant_id"])


def _event(action: str, actor_role: str, note: str, at: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"at": at or common.now_iso(), "action": action, "actor_role": actor_role, "note": note, **extra}


def _audit(actor: Actor, mo: MoveOut, action: str, reason: str) -> None:
    from chalicelib.domain import audit

    audit.record(actor, f"move_out#{mo.move_out_id}", action, reason)


def _tell(mo: MoveOut, step: str, detail: str = "") -> None:
    """The tenant hears of each step (SMS/app notice through the notifier; never fails the step)."""
    from chalicelib.notify import Notice

    try:
        person = deps().households.get(mo.owner)
        deps().notifier.notify(Notice(template="move_out_step", recipient=mo.owner,
                                      mobile=getattr(person, "mobile", None),
                                      params={"unit": mo.unit_label, "step": step, "detail": detail}))
    except Exception as exc:  # noqa: BLE001 - the step is done; the timeline shows it anyway
        from chalicelib.observability import logger

        logger.warning("move-out notice not sent", extra={"move_out_id": mo.move_out_id, "error": type(exc).__name__})


# --- starting -----------------------------------------------------------------------------------------
def give_notice(lease_id: str, actor: Actor, body: MoveOutIn) -> MoveOut:
    """The tenant (or a delegate with an ``act`` grant) gives notice, with a move-out date in the
    city's notice window."""
    lease = deps().leases.get(lease_id)
    role, grant_id = _as_tenant(lease, actor, "act")
    r = rules()
    return _open(lease, actor, role, grant_id, _date_in(body.move_out_date, r.notice_days, r.latest_days, lease),
                 body.reason, None, "tenant_notice")


def start_for_staff(lease_id: str, actor: Actor, move_out_date: str, reason: str,
                    review_id: str | None = None) -> MoveOut:
    """Staff start a move-out (at the counter, or after a review's must-leave outcome: ``review_id``,
    the reviews' entry point), with a date from today up to the city's ``staff_latest_days``."""
    if not reason or not reason.strip():
        raise errors.InvalidInput("staff say why", field="reason", message="工作人员发起退租须填写理由")
    lease = deps().leases.get(lease_id)
    when = _date_in(move_out_date, 0, rules().staff_latest_days, lease)
    return _open(lease, actor, "staff", None, when, reason.strip(), review_id, "staff_start")


def start_by_staff(lease_id: str, actor: Actor, body: StaffMoveOutIn) -> MoveOut:
    return start_for_staff(lease_id, actor, body.move_out_date, body.reason, body.review_id)


def _date_in(value: str, first: int, last: int, lease: Lease) -> date:
    try:
        wished = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput("YYYY-MM-DD", field="move_out_date", message="退租日期应为 YYYY-MM-DD") from None
    low, high = today() + timedelta(days=first), min(today() + timedelta(days=last), date.fromisoformat(lease.end_date))
    if not low <= wished <= high:
        raise errors.InvalidInput(f"{low} .. {high}", field="move_out_date",
                                  message=f"退租日期应在 {low.isoformat()} 至 {high.isoformat()} 之间（城市规定的提前告知期内，不晚于租期结束）")
    return wished


def _open(lease: Lease, actor: Actor, role: str, grant_id: str | None, when: date, reason: str | None,
          review_id: str | None, action: str) -> MoveOut:
    from chalicelib.domain.leases import ENDED, LEASES

    LEASES.move(lease.status, ENDED)  # a draft or an ended lease: 409 LEASE_NOT_ACTIVE
    no_open_payment(lease)
    at = common.now_iso()
    who = {"tenant": "承租人", "delegate": "受托人", "staff": "工作人员"}[role]
    note = f"{who}提出退租，退租日期 {when.isoformat()}" + (f"：{reason}" if reason else "")
    mo = MoveOut(
        move_out_id=new_id("mvo"), lease_id=lease.lease_id, owner=lease.owner, unit_id=lease.unit_id,
        estate_id=lease.estate_id, unit_label=f"{lease.estate_name}{lease.building_name}{lease.number}",
        tenant_masked=_masked(lease.tenant_name), move_out_date=when.isoformat(), started_by=actor.subject,
        started_role=role, grant_id=grant_id, reason=reason, review_id=review_id,
        events=[_event(action, role, note, at, status=REQUESTED.value)], created_at=at, updated_at=at)
    _audit(actor, mo, action, note)
    deps().move_outs.create(mo)  # the lease's lock: a second open move-out is 409 MOVE_OUT_EXISTS
    _tell(mo, "已受理退租申请", f"退租日期{mo.move_out_date}，工作人员将与您预约验房。")
    return mo


def _masked(name: str) -> str:
    from chalicelib.domain.idnumbers import mask_name

    return mask_name(name) if name else ""


def no_open_payment(lease: Lease) -> None:
    """409 PAYMENT_IN_PROGRESS while an order for one of the lease's bills is open at a provider (its
    tenant's recent payments, newest first: an order is open for minutes, the sweep closes the rest)."""
    from chalicelib.domain.payments import CREATED

    cutoff = (common.now() - timedelta(hours=OPEN_ORDER_HOURS)).isoformat()
    cursor: str | None = None
    for _ in range(5):
        items, cursor = deps().payments.of_owner(lease.owner, 50, cursor)
        for p in items:
            if p.status == CREATED and any(b.lease_id == lease.lease_id for b in p.bills):
                raise errors.PaymentInProgress(p.payment_id, field="lease_id")
        if not cursor or not items or items[-1].created_at < cutoff:
            return


# --- reading ------------------------------------------------------------------------------------------
def current(lease_id: str, actor: Actor) -> MoveOut:
    """The lease's latest move-out, for its tenant or any delegate with a live grant."""
    lease = deps().leases.get(lease_id)
    _as_tenant(lease, actor, "view")
    found = deps().move_outs.of_lease(lease_id)
    if not found:
        raise errors.MoveOutNotFound(lease_id, field="lease_id")
    return found[-1]


def get(move_out_id: str) -> MoveOut:
    return deps().move_outs.get(move_out_id)


def by_status(status: str, cursor: str | None, limit: int) -> Page[MoveOut]:
    return deps().move_outs.by_status(MOVE_OUTS.parse(status), cursor, limit)


# --- the steps ----------------------------------------------------------------------------------------
def _step(mo: MoveOut, to: MoveOutStatus, actor_role: str, action: str, note: str, **changes: Any) -> MoveOut:
    at = common.now_iso()
    return replace(mo, status=to, updated_at=at, version=mo.version + 1,
                   events=[*mo.events, _event(action, actor_role, note, at, status=to.value)], **changes)


def _save(before: MoveOut, after: MoveOut) -> MoveOut:
    if not deps().move_outs.change(before, after):
        raise errors.StaleVersion("the move-out changed", field="version")
    return after


def cancel_by_tenant(lease_id: str, actor: Actor, version: int) -> MoveOut:
    """The tenant (or an ``act`` delegate) withdraws the notice before the inspection."""
    lease = deps().leases.get(lease_id)
    role, _ = _as_tenant(lease, actor, "act")
    found = [m for m in deps().move_outs.of_lease(lease_id) if m.status in OPEN]
    if not found:
        raise errors.MoveOutNotFound(lease_id, field="lease_id")
    return _cancel(found[-1], actor, role, version, "承租人撤销退租申请" if role == "tenant" else "受托人撤销退租申请")


def cancel_by_staff(move_out_id: str, actor: Actor, version: int, reason: str) -> MoveOut:
    """Staff withdraw a move-out before the inspection (e.g. an objection to a must-leave outcome upheld)."""
    return _cancel(get(move_out_id), actor, "staff", version, f"工作人员撤销退租：{reason}")


def _cancel(mo: MoveOut, actor: Actor, role: str, version: int, note: str) -> MoveOut:
    to = MOVE_OUTS.move(mo.status, CANCELLED)  # inspected or later: 409 MOVE_OUT_NOT_CANCELLABLE
    expect_version(mo.version, version)
    after = _step(mo, to, role, "cancelled", note)
    _audit(actor, mo, "cancel_move_out", note)
    if not deps().move_outs.close(mo, after):
        raise errors.StaleVersion("the move-out changed", field="version")
    _tell(after, "退租申请已撤销")
    return after


def schedule(move_out_id: str, actor: Actor, body: MoveOutAppointmentIn) -> MoveOut:
    """Staff set (or move) the inspection's appointment: a date from today up to the move-out date,
    and one of the city's slots."""
    mo = get(move_out_id)
    to = mo.status if mo.status == SCHEDULED else MOVE_OUTS.move(mo.status, SCHEDULED)
    expect_version(mo.version, body.version)
    try:
        day = date.fromisoformat(body.date)
    except ValueError:
        raise errors.InvalidInput("YYYY-MM-DD", field="date", message="验房日期应为 YYYY-MM-DD") from None
    high = max(date.fromisoformat(mo.move_out_date), today())
    if not today() <= day <= high:
        raise errors.InvalidInput(f"{today()} .. {high}", field="date",
                                  message=f"验房日期应在 {today().isoformat()} 至 {high.isoformat()} 之间")
    if body.slot not in rules().slots:
        raise errors.InvalidInput("one of the city's slots", field="slot",
                                  message=f"验房时段应为以下之一：{'、'.join(rules().slots)}")
    note = f"验房预约：{day.isoformat()} {body.slot}" + (f"（{body.note}）" if body.note else "")
    appointment = {"date": day.isoformat(), "slot": body.slot, "note": body.note, "set_at": common.now_iso()}
    _audit(actor, mo, "schedule_move_out", note)
    after = _save(mo, _step(mo, to, "staff", "scheduled", note, appointment=appointment))
    _tell(after, "已预约验房", f"验房时间{day.isoformat()} {body.slot}，请按时在房屋内等候。")
    return after


def photo_upload(move_out_id: str, actor: Actor,
                 body: MoveOutPhotoIn) -> tuple[MoveOut, dict[str, Any], dict[str, Any]]:
    """Reserve an inspection photo and hand back a presigned POST straight to S3 (JPEG/PNG, the
    documents' size limit, the city's KMS key), as an application's documents."""
    mo = get(move_out_id)
    if mo.status not in (SCHEDULED, INSPECTED):
        raise errors.IllegalTransition(f"photos of a {mo.status.value} move-out", field="status",
                                       message="预约验房后、结算前方可上传验房照片")
    if body.content_type not in PHOTO_TYPES:
        raise errors.InvalidInput("image/jpeg or image/png", field="content_type",
                                  message="照片格式应为 image/jpeg 或 image/png")
    if body.size is not None and body.size > deps().settings.max_document_bytes:
        raise errors.BodyTooLarge(f"at most {deps().settings.max_document_bytes} bytes")
    if len(mo.photos) >= rules().max_photos:
        raise errors.TooManyDocuments(str(rules().max_photos), message=f"验房照片最多 {rules().max_photos} 张")
    photo_id = new_id("pho") + new_id("")  # 128 random bits: keys are not guessable
    photo = {"photo_id": photo_id, "key": f"{UPLOADS}{mo.move_out_id}/{photo_id}", "content_type": body.content_type,
             "caption": body.caption, "uploaded_at": common.now_iso()}
    after = replace(mo, photos=[*mo.photos, photo], updated_at=common.now_iso(), version=mo.version + 1)
    _save(mo, after)
    return after, photo, deps().storage.presigned_post(photo["key"], body.content_type)


def record_check(move_out_id: str, photo_id: str, size: int, head: bytes) -> None:
    """The S3-event worker's verdict on an inspection photo: real size and magic bytes. A photo that
    is empty, too large or not the image it claimed is dropped from the move-out and its object
    deleted (the uploader sees it gone and uploads again); a good one is marked checked."""
    from chalicelib.domain.filetypes import sniff
    from chalicelib.observability import logger

    for _ in range(3):  # another change of the move-out between the read and the save: read again
        try:
            mo = get(move_out_id)
        except errors.MoveOutNotFound:
            return
        photo = next((p for p in mo.photos if p["photo_id"] == photo_id), None)
        if photo is None or photo.get("checked_at"):
            return
        ok = 0 < size <= deps().settings.max_document_bytes and sniff(head) == photo["content_type"]
        kept = [{**p, "checked_at": common.now_iso(), "size": size} if p is photo else p for p in mo.photos]
        after = replace(mo, photos=kept if ok else [p for p in mo.photos if p is not photo],
                        updated_at=common.now_iso(), version=mo.version + 1)
        if deps().move_outs.change(mo, after):
            if not ok:
                logger.warning("inspection photo rejected", extra={"move_out_id": move_out_id, "size": size})
                deps().storage.delete(photo["key"])
            return


def inspect(move_out_id: str, actor: Actor, body: InspectionIn) -> MoveOut:
    """Staff record the inspection (again, to correct it, until the settlement): the condition, the
    meter readings, the damages (each in fen, charged in the settlement) and where the unit goes."""
    mo = get(move_out_id)
    to = mo.status if mo.status == INSPECTED else MOVE_OUTS.move(mo.status, INSPECTED)
    expect_version(mo.version, body.version)
    damages = [{"item": d.item, "amount": d.amount, "note": d.note} for d in body.damages]
    inspection = {"condition": body.condition, "meters": body.meters.model_dump(mode="json"), "damages": damages,
                  "unit_status": body.unit_status, "note": body.note, "inspected_at": common.now_iso()}
    total = sum(d["amount"] for d in damages)
    note = (f"验房完成：{CONDITIONS[body.condition]}，损坏赔偿 {_yuan(total)} 元，"
            f"房屋退租后{UNIT_OUTCOMES[body.unit_status]}")
    _audit(actor, mo, "inspect_move_out", note)
    after = _save(mo, _step(mo, to, "staff", "inspected", note, inspection=inspection))
    _tell(after, "已完成验房", f"损坏赔偿{_yuan(total)}元。")
    return after


def complete(move_out_id: str, actor: Actor, version: int) -> MoveOut:
    """The lease ends (confirmed -> ended, out of billing's active index), the unit goes to what the
    inspection found (vacant or under repair) and the lock is released, in one transaction; rent bills
    of months after the move-out issued meanwhile and unpaid are cancelled in it too."""
    from chalicelib.domain.leases import ENDED, LEASES
    from chalicelib.domain.units import UNITS, UnitStatus

    mo = get(move_out_id)
    if mo.status == COMPLETED and mo.version == version + 1:
        return mo  # a retry of this completion
    to = MOVE_OUTS.move(mo.status, COMPLETED)
    expect_version(mo.version, version)
    refund = (mo.settlement or {}).get("refund") or {}
    if refund and refund.get("status") != RefundState.REFUNDED:
        raise errors.RefundPending(mo.move_out_id, field="move_out_id")
    lease = deps().leases.get(mo.lease_id)
    LEASES.move(lease.status, ENDED)
    unit = deps().units.get(mo.unit_id)
    target = UNITS.move(unit.status, UnitStatus((mo.inspection or {}).get("unit_status") or "vacant"))
    from chalicelib.domain.bills import UNPAID, BillKind

    later = [b for b in deps().bills.of_lease(lease.lease_id)
             if b.kind == BillKind.RENT and b.status == UNPAID and (b.month or "") > mo.move_out_date[:7]]
    note = f"退租完成：租赁合同已终止，房屋{UNIT_OUTCOMES[target.value]}"
    after = _step(mo, to, "staff", "completed", note)
    _audit(actor, mo, "complete_move_out", note)
    if not deps().move_outs.complete(mo, after, lease, unit, target, actor.subject, later):
        current_ = get(move_out_id)
        if current_.status == COMPLETED and current_.version == version + 1:
            return current_
        raise errors.StaleVersion("the move-out, its lease or its unit changed", field="version")
    _refresh_arrears(lease.lease_id, frozenset(b.bill_id for b in later))
    _tell(after, "退租已完成", "租赁合同已终止，感谢您的配合。")
    return after


def _refresh_arrears(lease_id: str, settled: frozenset[str]) -> None:
    from chalicelib.domain import arrears

    try:
        arrears.refresh_lease(lease_id, settled=settled)
    except Exception as exc:  # noqa: BLE001 - the daily job recomputes every estate anyway
        from chalicelib.observability import logger

        logger.warning("arrears not refreshed after a move-out", extra={"lease_id": lease_id,
                                                                        "error": type(exc).__name__})


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def as_dict(mo: MoveOut) -> dict[str, Any]:
    return asdict(mo)


def _may_view(mo: MoveOut, actor: Actor) -> None:
    """The tenant, staff, or a delegate with a live grant from the tenant (the photos show the unit's
    condition, no personal data: a view grant suffices, as for a payment voucher)."""
    if mo.owner == actor.subject or actor.has(*STAFF_ROLES):
        return
    grant = deps().grants.between(mo.owner, actor.subject)
    if grant is None:
        raise errors.MoveOutNotFound(mo.move_out_id, field="move_out_id")
    from chalicelib.domain.grants import check

    check(grant, "view")


def photo_links(mo: MoveOut, actor: Actor) -> list[dict[str, Any]]:
    """The inspection photos with short-lived download links (signed locally: no request per photo)."""
    _may_view(mo, actor)
    storage = deps().storage
    return [{"photo_id": p["photo_id"], "content_type": p["content_type"], "caption": p.get("caption"),
             "uploaded_at": p["uploaded_at"], "download": storage.presigned_get(p["key"], p["content_type"])}
            for p in mo.photos]
