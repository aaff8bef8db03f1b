"""The matching engine of reconciliation (对账): a provider's statement for one China day against our
online payments of that day, both ways, with the pending pool for payments near midnight
(docs/decisions/0029). Pure: no AWS, no clock; everything it needs is handed in.

Both sides come sorted by key (order id, kind, refund id) and are read once, side by side (a merge
join), so a day of any size is one pass and only the current key is in memory. A key on both sides
is matched, or a mismatch of amount or status; a key on one side only is missing at the provider or
missing here, unless it lies within ``window`` of midnight: then it waits in the pending pool for
the adjacent day's run (a payment we recorded at 23:59:58 may be in the provider's next-day file,
and the other way round). That run sees it among its own items and decides it: matched, or the
mismatch it is after all. An item waits only while the adjacent day has not run; an item from an
earlier run of this same day that was decided since keeps that decision (a rerun changes nothing).
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import groupby
from typing import Any, Protocol

from chalicelib.domain.common import CHINA_TZ
from chalicelib.domain.payments import PaymentStatus

#: Near midnight: an item this close to either end of its day may be in the adjacent day's file.
WINDOW = timedelta(minutes=15)
PAYMENT, REFUND = "payment", "refund"
OURS, PROVIDER = "ours", "provider"
#: Our payment states in which the money was received (a refund later does not undo that it was paid).
PAID_STATES = frozenset({PaymentStatus.PAID, PaymentStatus.REFUNDING, PaymentStatus.REFUNDED})
REFUNDED_STATES = frozenset({PaymentStatus.REFUNDED})


class MismatchKind(StrEnum):
    MISSING_AT_PROVIDER = "missing_at_provider"  # paid here, not in the provider's statement
    MISSING_HERE = "missing_here"  # in the statement, no such payment here
    AMOUNT = "amount_mismatch"  # both know it, the amounts differ
    STATUS = "status_mismatch"  # both know it, its state differs (e.g. refunded there, paid here)


KIND_NAMES = {MismatchKind.MISSING_AT_PROVIDER: "本方有、支付机构无", MismatchKind.MISSING_HERE: "支付机构有、本方无",
              MismatchKind.AMOUNT: "金额不一致", MismatchKind.STATUS: "状态不一致"}


class Line(Protocol):
    """A statement line (chalicelib.payment_providers.StatementLine has these)."""

    order_id: str
    transaction_id: str
    amount: int
    kind: str
    at: str  # ISO 8601 (UTC from the providers)
    refund_id: str | None


@dataclass(frozen=True)
class Ours:
    """One of our online payments (or refunds) as reconciliation sees it."""

    order_id: str  # our payment_id: the provider's out_trade_no
    amount: int  # fen
    state: str  # our payment's status
    at: str  # when it was paid (refunded), ISO 8601
    kind: str = PAYMENT
    refund_id: str | None = None
    transaction_id: str | None = None


Key = tuple[str, str, str]


def key_of(item: Any) -> Key:
    return item.order_id, item.kind, item.refund_id or ""


def pending_id(provider: str, side: str, item: Any) -> str:
    order_id, kind, refund_id = key_of(item)
    return f"{provider}|{side}|{kind}|{order_id}|{refund_id}"


@dataclass(frozen=True)
class Waiting:
    """An item from an adjacent day's run waiting for this one (or one of this day's, decided since)."""

    pending_id: str
    side: str  # ours | provider
    item: Any  # Ours or a statement line
    from_day: str
    outcome: str | None = None  # None: still waiting; "matched" or a MismatchKind value once decided


# --- what the engine yields ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    """A decided key: ``kind`` None is a match. ``decides`` are the pending items it settles."""

    key: Key
    kind: MismatchKind | None
    ours: Ours | None
    theirs: Any | None
    detail: str | None = None
    decides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pend:
    """An item of this day that goes to the pending pool, for ``await_day``'s run."""

    pending_id: str
    side: str
    item: Any
    await_day: str


@dataclass(frozen=True)
class Kept:
    """An item of this day that waited in the pool and was decided since (a rerun keeps it)."""

    pending_id: str
    outcome: str | None  # None: still waiting


Outcome = Found | Pend | Kept


@dataclass(frozen=True)
class _Entry:
    key: Key
    item: Any
    pending: str | None  # the pending item it is (from an adjacent day), if any

    def __lt__(self, other: _Entry) -> bool:
        return self.key < other.key


def _entries(items: Iterable[Any], side: str) -> Iterator[_Entry]:
    previous: Key | None = None
    for item in items:
        key = key_of(item)
        if previous is not None and key < previous:
            raise ValueError(f"{side} not sorted by (order_id, kind, refund_id): {key} after {previous}")
        previous = key
        yield _Entry(key, item, None)


def _china(at: str) -> datetime:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ)


def match(provider: str, day: date, lines: Iterable[Line], ours: Iterable[Ours], *,
          awaiting: Iterable[Waiting] = (), earlier: Mapping[str, Waiting] | None = None,
          lookup: Callable[[str], Ours | None] = lambda _: None, before_done: bool = True,
          after_done: bool = False, window: timedelta = WINDOW) -> Iterator[Outcome]:
    """Match one day. ``lines`` and ``ours`` sorted by :func:`key_of` (checked); ``awaiting`` the
    pending items of the adjacent days waiting for this one; ``earlier`` the pending items this day
    put in the pool in an earlier run (by id); ``lookup`` our payment of an order id whatever its day
    (to tell "missing here" from "not paid here"); ``before_done``/``after_done`` whether the previous
    and the next day have been reconciled (an edge item waits only for a day still to come)."""
    earlier = earlier or {}
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
    end = start + timedelta(days=1)
    neighbours = {"start": ((day - timedelta(days=1)).isoformat(), before_done),
                  "end": ((day + timedelta(days=1)).isoformat(), after_done)}
    waiting = sorted(awaiting, key=lambda w: key_of(w.item))
    theirs_in = heapq.merge(_entries(lines, "statement lines"),
                            (_Entry(key_of(w.item), w.item, w.pending_id) for w in waiting if w.side == PROVIDER))
    ours_in = heapq.merge(_entries(ours, "our payments"),
                          (_Entry(key_of(w.item), w.item, w.pending_id) for w in waiting if w.side == OURS))

    def edge(at: str) -> str | None:
        moment = _china(at)
        if start <= moment < start + window:
            return "start"
        if end - window <= moment < end:
            return "end"
        return None

    def settles(entry: _Entry, side: str) -> tuple[str, ...]:
        """The pending items a decision on ``entry`` settles: the adjacent day's it is, or this day's
        own from an earlier run (matched now, it must not be looked for again next door)."""
        if entry.pending:
            return (entry.pending,)
        own = pending_id(provider, side, entry.item)
        return (own,) if own in earlier else ()

    def alone(entry: _Entry, side: str) -> Iterator[Outcome]:
        """A key on one side only."""
        if entry.pending is None:
            pid = pending_id(provider, side, entry.item)
            near = edge(entry.item.at)
            if near and pid in earlier and (earlier[pid].outcome is not None or not neighbours[near][1]):
                yield Kept(pid, earlier[pid].outcome)  # pooled by an earlier run: decided there, or still waiting
                return
            if near and not neighbours[near][1]:
                yield Pend(pid, side, entry.item, neighbours[near][0])
                return
        if side == OURS:
            yield Found(entry.key, MismatchKind.MISSING_AT_PROVIDER, entry.item, None, None, settles(entry, side))
        else:
            kind, here, detail = _classify(entry.item, lookup(entry.item.order_id))
            yield Found(entry.key, kind, here, entry.item, detail, settles(entry, side))

    def both(theirs: list[_Entry], mine: list[_Entry]) -> Iterator[Outcome]:
        t, o = theirs[0], mine[0]
        kind, detail = _compare(o.item, t.item)
        yield Found(t.key, kind, o.item, t.item, detail, settles(t, PROVIDER) + settles(o, OURS))
        for extra in theirs[1:]:  # the same key twice in the statement: the second has nothing here
            yield Found(extra.key, MismatchKind.MISSING_HERE, None, extra.item, "对账单中重复出现",
                        settles(extra, PROVIDER))
        for extra in mine[1:]:
            yield from alone(extra, OURS)

    t_groups = groupby(theirs_in, key=lambda e: e.key)
    o_groups = groupby(ours_in, key=lambda e: e.key)
    t_key, t_group = next(t_groups, (None, None))
    o_key, o_group = next(o_groups, (None, None))
    while t_key is not None or o_key is not None:
        if o_key is None or (t_key is not None and t_key < o_key):
            for entry in t_group:  # type: ignore[union-attr]
                yield from alone(entry, PROVIDER)
            t_key, t_group = next(t_groups, (None, None))
        elif t_key is None or o_key < t_key:
            for entry in o_group:  # type: ignore[union-attr]
                yield from alone(entry, OURS)
            o_key, o_group = next(o_groups, (None, None))
        else:
            yield from both(list(t_group), list(o_group))  # type: ignore[arg-type]
            t_key, t_group = next(t_groups, (None, None))
            o_key, o_group = next(o_groups, (None, None))


def _compare(ours: Ours, theirs: Line) -> tuple[MismatchKind | None, str | None]:
    if ours.amount != theirs.amount:
        return MismatchKind.AMOUNT, f"本方{ours.amount}分，支付机构{theirs.amount}分"
    wanted = REFUNDED_STATES if theirs.kind == REFUND else PAID_STATES
    if ours.state not in wanted:
        return MismatchKind.STATUS, f"支付机构：{_THEIR_STATE[theirs.kind]}；本方：{ours.state}"
    return None, None


_THEIR_STATE = {PAYMENT: "已支付", REFUND: "已退款"}


def _classify(theirs: Line, here: Ours | None) -> tuple[MismatchKind | None, Ours | None, str | None]:
    """A statement line with no counterpart among this day's payments: ``here`` is our payment of
    its order whatever its day (None: we have no such order)."""
    if here is None:
        return MismatchKind.MISSING_HERE, None, None
    if theirs.kind == REFUND:
        if here.state in REFUNDED_STATES:
            return (MismatchKind.AMOUNT, here, f"退款{theirs.amount}分，超过本方支付的{here.amount}分") \
                if theirs.amount > here.amount else (None, here, None)
        return MismatchKind.STATUS, here, f"支付机构：已退款；本方：{here.state}"
    if here.state not in PAID_STATES:
        return MismatchKind.STATUS, here, f"支付机构：已支付；本方：{here.state}"
    if here.amount != theirs.amount:
        return MismatchKind.AMOUNT, here, f"本方{here.amount}分，支付机构{theirs.amount}分"
    return MismatchKind.STATUS, here, f"本方记为 {here.at[:10]} 支付"
