"""The lifecycle of a lottery round (摇号批次): statuses, their zh-CN names and the one transition
table (light to import: handlers name statuses from it). Decisions: docs/decisions/0014."""
from __future__ import annotations

from enum import StrEnum

from chalicelib import errors
from chalicelib.domain.lifecycle import Lifecycle, Refusal


class RoundStatus(StrEnum):
    OPEN = "open"  # registration window (报名)
    CLOSED = "closed"  # registration closed, list not yet frozen
    COMMITTED = "committed"  # the registrant list is frozen and its SHA-256 published (承诺)
    DRAWN = "drawn"  # ranked with the announced public value (摇号)
    PUBLISHED = "published"  # ranks made public (公示), registrants notified
    SELECTION = "selection"  # unit selection (选房) in rank order
    FINISHED = "finished"
    CANCELLED = "cancelled"


R = RoundStatus
STATUS_NAMES = {
    R.OPEN: "报名中", R.CLOSED: "报名已截止", R.COMMITTED: "名单已固定（待摇号）", R.DRAWN: "已摇号（待公布）",
    R.PUBLISHED: "摇号结果公示中", R.SELECTION: "选房中", R.FINISHED: "已结束", R.CANCELLED: "已取消",
}
TRANSITIONS: dict[RoundStatus, frozenset[RoundStatus]] = {
    R.OPEN: frozenset({R.CLOSED, R.CANCELLED}),
    R.CLOSED: frozenset({R.COMMITTED, R.CANCELLED}),
    R.COMMITTED: frozenset({R.DRAWN}),
    R.DRAWN: frozenset({R.PUBLISHED}),
    R.PUBLISHED: frozenset({R.SELECTION}),
    R.SELECTION: frozenset({R.FINISHED}),
    R.FINISHED: frozenset(),
    R.CANCELLED: frozenset(),
}
#: After these the draw has happened: a second draw is ALREADY_DRAWN.
DRAWN_OR_LATER = frozenset({R.DRAWN, R.PUBLISHED, R.SELECTION, R.FINISHED})
#: The commitment file is public from commit on; ranks and the result from publication on.
COMMITTED_OR_LATER = DRAWN_OR_LATER | {R.COMMITTED}
PUBLISHED_OR_LATER = frozenset({R.PUBLISHED, R.SELECTION, R.FINISHED})


ROUNDS: Lifecycle[RoundStatus] = Lifecycle(
    "round", R.OPEN, TRANSITIONS, names=STATUS_NAMES,
    refusals=[Refusal(DRAWN_OR_LATER, frozenset({R.DRAWN}), errors.AlreadyDrawn)])  # a second draw


def check_transition(current: RoundStatus | str, target: RoundStatus | str) -> None:
    ROUNDS.move(current, target)
