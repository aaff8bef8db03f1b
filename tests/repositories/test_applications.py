"""The applications repository's contract, on the twin and on DynamoDB."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application, Event, _RevisionMoved
from chalicelib.domain.common import CHINA_TZ, new_id, now_iso


def member(name: str = "刘思雨") -> dict[str, Any]:
    return {"member_id": new_id("m"), "person_key": new_id("pk"), "name": name, "relation": "self", "adult": True}


def application(**kw: Any) -> Application:
    at = now_iso()
    values: dict[str, Any] = dict(application_id=new_id("app"), kind="individual", status=Status.DRAFT,
                                  owner_key=new_id("ok"), owner=new_id("sub"), household_id=new_id("hh"),
                                  members=[member()], data={"declared": {"household_size": 1}}, created_at=at,
                                  updated_at=at, version=1, rev=0)
    values.update(kw)
    return Application(**values)


_ticks = itertools.count()


def event(type_: str = "created", **kw: Any) -> Event:
    """Events a second apart: the timeline's order is the order of their times (ties are random)."""
    kw.setdefault("at", (datetime(2029, 1, 1, tzinfo=CHINA_TZ) + timedelta(seconds=next(_ticks))).isoformat())
    return Event(type_, "sub-x", "applicant", **kw)


def test_create_then_get_gives_the_same_application(container: Any) -> None:
    repo = container.applications
    app = application(consents={}, documents={"d1": {"type": "id_card", "status": "accepted"}})
    repo.create(app, event(to_status="draft"))
    assert repo.get(app.application_id) == app
    with pytest.raises(errors.ApplicationNotFound):
        repo.get(new_id("app"))
    with pytest.raises(errors.AlreadyExists):
        repo.create(app, event())
    assert [e.type for e in repo.events(f"app#{app.application_id}")] == ["created"]  # the repeat wrote nothing


def test_one_draft_per_household_and_kind(container: Any) -> None:
    repo = container.applications
    household = new_id("hh")
    first = application(household_id=household)
    repo.create(first, event(), one_draft_of=household)
    with pytest.raises(errors.DraftExists):
        repo.create(application(household_id=household), event(), one_draft_of=household)
    repo.create(application(household_id=household, kind="graduate"), event(), one_draft_of=household)
    # once the first is no longer a draft, the household may start another of the same kind
    repo.save(replace(first, status=Status.SUBMITTED, rev=1), 0, [event("submitted")])
    repo.create(application(household_id=household), event(), one_draft_of=household)


def test_a_stale_revision_writes_nothing(container: Any) -> None:
    repo = container.applications
    app = application()
    repo.create(app, event())
    repo.save(replace(app, version=2, rev=1), 0, [event("updated")])
    with pytest.raises(_RevisionMoved):
        repo.save(replace(app, version=3, rev=1, kind="graduate"), 0, [event("lost")])
    assert repo.get(app.application_id).version == 2
    assert [e.type for e in repo.events(f"app#{app.application_id}")] == ["created", "updated"]


def test_a_member_in_another_application_cancels_the_whole_submit(container: Any) -> None:
    repo = container.applications
    shared, own = member("李四"), member("王五")
    first, second = application(members=[shared]), application(members=[own, shared])
    for app in (first, second):
        repo.create(app, event())
    repo.save(replace(first, status=Status.SUBMITTED, rev=1), 0, [event("submitted")], lock=[shared["person_key"]])
    with pytest.raises(errors.PersonAlreadyApplying):
        repo.save(replace(second, status=Status.SUBMITTED, rev=1), 0, [event("submitted")],
                  lock=[own["person_key"], shared["person_key"]])
    # all or nothing: not submitted, no event, and the member whose lock was free is not locked either
    assert repo.get(second.application_id).status == Status.DRAFT
    assert [e.type for e in repo.events(f"app#{second.application_id}")] == ["created"]
    assert repo.locks_of([own["person_key"], shared["person_key"]]) == {shared["person_key"]: first.application_id}
    # withdrawing the first frees its member
    repo.save(replace(first, status=Status.WITHDRAWN, rev=2), 1, [event("withdrawn")], unlock=[shared["person_key"]])
    assert repo.locks_of([shared["person_key"]]) == {}
    repo.save(replace(second, status=Status.SUBMITTED, rev=1), 0, [event("submitted")],
              lock=[own["person_key"], shared["person_key"]])
    assert set(repo.locks_of([own["person_key"], shared["person_key"]]).values()) == {second.application_id}


def test_lists_page_in_order_without_losing_any(container: Any) -> None:
    repo = container.applications
    owner_key, group = new_id("ok"), new_id("grp")
    apps = [application(owner_key=owner_key, group_id=group, created_at=f"2026-01-0{n}T09:00:00+08:00")
            for n in range(1, 6)]
    for app in apps:
        repo.create(app, event())

    def walk(read: Any) -> list[str]:
        seen, cursor = [], None
        while True:
            page = read(cursor)
            assert len(page.items) <= 2
            seen += [a.application_id for a in page.items]
            if not page.next_cursor:
                return seen
            cursor = page.next_cursor

    assert walk(lambda c: repo.by_owner(owner_key, c, 2)) == [a.application_id for a in reversed(apps)]
    assert walk(lambda c: repo.by_group(group, c, 2)) == [a.application_id for a in apps]
    with pytest.raises(errors.InvalidCursor):
        repo.by_owner(owner_key, "forged.cursor", 2)


def test_events_consents_and_a_delegates_trail(container: Any) -> None:
    repo = container.applications
    main = member()
    app = application(members=[main], consents={main["member_id"]: {"status": "given", "method": "app",
                                                                     "text_version": "v1", "at": now_iso()}})
    repo.create(app, event())
    grant_id = new_id("grant")
    repo.save(replace(app, rev=1), 0, [event("document_added", grant_id=grant_id, at="2030-01-01T00:00:00+08:00")])
    repo.append_event(f"household#{app.household_id}", event("household_changed", grant_id=grant_id,
                                                             at="2030-01-02T00:00:00+08:00"))
    assert [e.type for e in repo.events(f"app#{app.application_id}")] == ["created", "document_added"]
    trail = repo.events_of_grant(grant_id)
    assert [(e["type"], e["application_id"]) for e in trail] == [("household_changed", None),
                                                                 ("document_added", app.application_id)]
    [consent] = repo.consents_of(main["person_key"])
    assert (consent["application_id"], consent["status"], consent["text_version"]) == (app.application_id,
                                                                                        "given", "v1")
    assert repo.in_status("draft") and app.application_id in {a.application_id for a in repo.in_status("draft")}
