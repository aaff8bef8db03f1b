"""The waiting list (轮候): a household joins it when its application qualifies after publicity
(domain/publicity.py) and leaves it when housed (domain/leases.py); its place is the count of those
before it in its queue (the application's kind). Decisions: docs/decisions/0012."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.deps import deps
from chalicelib.identity import Actor


@dataclass(frozen=True)
class Waiting:
    """A household on the waiting list. Order (``sort_key``): the end of the publicity period it
    qualified in (公示期满日: a later dismissed objection does not cost the household its place),
    then priority points (more first), then submission time, then the application id."""

    application_id: str
    queue: str
    sort_key: str
    owner_key: str
    owner: str | None
    household_size: int
    priority_points: int
    batch_id: str
    period_end: str
    qualified_at: str


def waiting_sort_key(period_end: str, points: int, submitted_at: str | None, application_id: str) -> str:
    return f"{period_end}#{9999 - max(0, min(points, 9999)):04d}#{submitted_at or ''}#{application_id}"


def join(w: Waiting) -> bool:
    """Add a qualified application (once: a repeat of the close step changes nothing)."""
    return deps().waiting_list.join(w)


def mine(actor: Actor) -> list[dict[str, Any]]:
    """The caller's places: one Query for their entries, one COUNT query per entry for those ahead."""
    from chalicelib.domain.households import me

    person = me(actor)
    repo = deps().waiting_list
    out = []
    for w in repo.of_owner(person.person_key or ""):
        ahead = repo.count_ahead(w.queue, w.sort_key)
        out.append({"waiting": w, "ahead": ahead, "position": ahead + 1})
    return out
