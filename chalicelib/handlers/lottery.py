"""Lottery rounds (摇号): the public list and files anyone can verify, citizens' registration, and
the admin's steps (create, close, commit, draw, publish). Decisions: docs/decisions/0014."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import errors, lazy
from chalicelib.domain.round_status import STATUS_NAMES, RoundStatus
from chalicelib.handlers.roles import ADMIN, CITIZEN
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.lottery import Registrant, Round

lottery = lazy.module("chalicelib.domain.lottery")

bp = Blueprint(__name__)
api = Api(bp, "lottery")

RANKS_LIMIT = Param("limit", "integer", "每页条数", minimum=1, maximum=500, default=100)


def _layout_names() -> dict[str, str]:
    from chalicelib.domain.units import LAYOUT_NAMES

    return {k.value: v for k, v in LAYOUT_NAMES.items()}


def present_round(r: Round) -> dict[str, Any]:
    names = _layout_names()
    return {
        "round_id": r.round_id, "title": r.title, "status": r.status.value,
        "status_name": STATUS_NAMES[RoundStatus(r.status)], "registration_opens_at": r.registration_opens_at,
        "registration_closes_at": r.registration_closes_at, "registration_open": r.status == RoundStatus.OPEN
        and r.window_open(), "units": len(r.unit_ids),
        "layout_mix": {k: {"layout_name": names.get(k, k), "units": v} for k, v in r.layout_mix.items()},
        "layouts_by_size": r.layouts_by_size,
        "priority_groups": [{"id": g, "name": lottery.group_name(g)} for g in r.priority_groups],
        "randomness_source": r.randomness_source, "slot_minutes": r.slot_minutes, "slot_size": r.slot_size,
        "registrants": r.registrants_count, "commitment_sha256": r.commitment_sha256,
        "committed_at": r.committed_at, "public_value": r.public_value if r.published_at else None,
        "result_sha256": r.result_sha256 if r.published_at else None, "drawn_at": r.drawn_at,
        "published_at": r.published_at, "created_at": r.created_at, "updated_at": r.updated_at,
        "version": r.version,
    }


def present_admin_round(r: Round) -> dict[str, Any]:
    return present_round(r) | {"unit_ids": r.unit_ids, "public_value": r.public_value,
                               "result_sha256": r.result_sha256, "close_reason": r.close_reason,
                               "closed_at": r.closed_at, "cancel_reason": r.cancel_reason}


def present_registration(r: Round, g: Registrant) -> dict[str, Any]:
    names = _layout_names()
    visible = lottery.rank_visible(r)
    return {"round_id": g.round_id, "registration_no": g.registration_no, "application_id": g.application_id,
            "priority_group": g.priority_group, "priority_group_name": lottery.group_name(g.priority_group),
            "household_size": g.household_size, "allowed_layouts": g.allowed_layouts,
            "allowed_layout_names": [names.get(x, x) for x in g.allowed_layouts],
            "rank": g.rank if visible else None, "round_status": r.status.value,
            "round_status_name": STATUS_NAMES[RoundStatus(r.status)], "registered_at": g.created_at}


def present_rank(g: Registrant) -> dict[str, Any]:
    """What the public sees of a registrant: rank, number, group, masked name and ID number."""
    return {"rank": g.rank, "registration_no": g.registration_no, "priority_group": g.priority_group,
            "priority_group_name": lottery.group_name(g.priority_group), "main_applicant": g.masked_name,
            "id_number": g.masked_id, "household_size": g.household_size}


def _file(served: tuple[bytes | None, str | None], name: str) -> Response:
    """The exact stored bytes (what the SHA-256 was computed over); a file larger than a Lambda
    response allows: a redirect to a short-lived link to the same object."""
    data, link = served
    if data is None:
        return Response(body="", status_code=302, headers={"Location": link or "", "Cache-Control": "no-store"})
    headers = {"Content-Type": "application/json", "Cache-Control": "public, max-age=60",
               "Content-Disposition": f'inline; filename="{name}"'}
    return Response(body=data.decode("utf-8"), status_code=200, headers=headers)


# --- public ------------------------------------------------------------------------------------------
@api.route("/v1/rounds", summary="摇号批次：状态、报名时间、户型、报名户数（无需登录）", params=[CURSOR, LIMIT],
           response="RoundPage")
def list_rounds(call: Call) -> dict[str, Any]:
    page = lottery.rounds(call.params["cursor"], call.params["limit"])
    return {"items": [present_round(r) for r in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/rounds/{round_id}", summary="摇号批次详情（无需登录）", response="Round")
def get_round(call: Call, round_id: str) -> dict[str, Any]:
    return present_round(lottery.get_round(round_id))


@api.route("/v1/rounds/{round_id}/commitment.json", raises=(errors.RoundNotPublished, errors.RoundFileMismatch), summary="摇号承诺文件：报名名单（已遮盖）的原始字节，供下载核验（固定名单后）", response="RoundCommitment", operation_id="getRoundCommitment")
def commitment_file(call: Call, round_id: str) -> Response:
    return _file(lottery.commitment_file(round_id), f"{round_id}-commitment.json")


@api.route("/v1/rounds/{round_id}/result.json", raises=(errors.RoundNotPublished, errors.RoundFileMismatch), summary="摇号结果文件：公开随机数、种子与排序，供下载核验（公布后）", response="RoundResult", operation_id="getRoundResult")
def result_file(call: Call, round_id: str) -> Response:
    return _file(lottery.result_file(round_id), f"{round_id}-result.json")


@api.route("/v1/rounds/{round_id}/ranks", raises=(errors.RoundNotPublished,), summary="摇号结果名单：排序、报名编号、分组，姓名与身份证号已遮盖（公布后）",
           params=[CURSOR, RANKS_LIMIT], response="RankPage", operation_id="listRoundRanks")
def ranks(call: Call, round_id: str) -> dict[str, Any]:
    r, page = lottery.ranks_page(round_id, call.params["cursor"], call.params["limit"])
    return {"round_id": r.round_id, "title": r.title, "items": [present_rank(g) for g in page.items],
            "next_cursor": page.next_cursor}


# --- the citizen ---------------------------------------------------------------------------------------
@api.route("/v1/rounds/{round_id}/registrations", "POST", summary="报名摇号（已取得资格、正在轮候的申请）",
           roles=CITIZEN, body="chalicelib.bodies:RegistrationIn", status=201, response="Registration", operation_id="registerForRound",
           raises=(errors.RegistrationNumberTaken,))
def register(call: Call, round_id: str) -> dict[str, Any]:
    body = call.model() if call.request.raw_body else None  # no body: the caller's one waiting application
    r, g = lottery.register(round_id, call.actor, body)
    return present_registration(r, g)


@api.route("/v1/me/rounds/{round_id}", raises=(errors.RegistrationNotFound,), summary="我的摇号报名（摇号后含排序号）", roles=CITIZEN,
           response="Registration", operation_id="getMyRoundRegistration")
def my_registration(call: Call, round_id: str) -> dict[str, Any]:
    r, g = lottery.my_registration(round_id, call.actor)
    return present_registration(r, g)


# --- admin ---------------------------------------------------------------------------------------------
@api.route("/v1/admin/rounds", "POST", summary="创建摇号批次（空置房源、报名时间、优先组、公开随机数来源）", roles=ADMIN,
           body="chalicelib.bodies:RoundIn", status=201, response="AdminRound")
def create_round(call: Call) -> dict[str, Any]:
    return present_admin_round(lottery.create_round(call.actor, call.model()))


@api.route("/v1/admin/rounds/{round_id}", summary="摇号批次（管理）", roles=ADMIN, response="AdminRound", operation_id="adminGetRound")
def admin_round(call: Call, round_id: str) -> dict[str, Any]:
    return present_admin_round(lottery.get_round(round_id))


@api.route("/v1/admin/rounds/{round_id}/close", "POST", summary="截止报名（提前截止须 force 并写明理由）", roles=ADMIN,
           body="chalicelib.bodies:RoundCloseIn", response="AdminRound")
def close_round(call: Call, round_id: str) -> dict[str, Any]:
    return present_admin_round(lottery.close(round_id, call.actor, call.model()))


@api.route("/v1/admin/rounds/{round_id}/cancel", "POST", summary="取消摇号批次（固定名单前）", roles=ADMIN,
           body="chalicelib.bodies:RoundCancelIn", response="AdminRound")
def cancel_round(call: Call, round_id: str) -> dict[str, Any]:
    return present_admin_round(lottery.cancel(round_id, call.actor, call.model()))


@api.route("/v1/admin/rounds/{round_id}/commit", "POST", summary="固定报名名单并公布其 SHA-256（承诺）", roles=ADMIN,
           body="chalicelib.bodies:VersionIn", response="AdminRound", raises=(errors.RoundDataInconsistent,))
def commit_round(call: Call, round_id: str) -> dict[str, Any]:
    return present_admin_round(lottery.commit(round_id, call.actor, call.model()))


@api.route("/v1/admin/rounds/{round_id}/draw", "POST", summary="摇号：以事先公布来源的公开随机数排序（只能一次）",
           roles=ADMIN, body="chalicelib.bodies:DrawIn", response="AdminRound",
           raises=(errors.RoundDataInconsistent, errors.RoundFileMismatch))
def draw_round(call: Call, round_id: str) -> dict[str, Any]:
    return present_admin_round(lottery.run_draw(round_id, call.actor, call.model()))


@api.route("/v1/admin/rounds/{round_id}/publish", "POST", summary="公布摇号结果并通知每户排序号", roles=ADMIN,
           body="chalicelib.bodies:VersionIn", response="PublishedRound", raises=(errors.RoundFileMismatch,))
def publish_round(call: Call, round_id: str) -> dict[str, Any]:
    r, sent = lottery.publish(round_id, call.actor, call.model())
    return {"round": present_admin_round(r), "notified": sent}
