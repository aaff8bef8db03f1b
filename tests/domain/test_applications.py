"""The application lifecycle and who may act on it, on the twins (no AWS)."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain import applications, grants
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application, Event
from chalicelib.domain.common import new_id, now_iso
from chalicelib.identity import Role
from tests.domain.conftest import person


def draft(twins: Any, owner: str) -> Application:
    at = now_iso()
    main = {"member_id": new_id("m"), "person_key": new_id("pk"), "name": "刘思雨", "relation": "self", "adult": True}
    app = Application(new_id("app"), "individual", Status.DRAFT, main["person_key"], owner, new_id("hh"), [main],
                      created_at=at, updated_at=at)
    twins.applications.create(app, Event("created", owner, "applicant", to_status="draft"))
    return app


def grant(twins: Any, grantor: str, delegate: str, scopes: list[str]) -> dict[str, Any]:
    g = {"grant_id": new_id("grant"), "grantor": grantor, "delegate": delegate, "delegate_name": "王*",
         "grantor_name": "刘*", "scopes": scopes, "expires_at": "2039-01-01T00:00:00+08:00", "revoked_at": None,
         "created_at": now_iso()}
    twins.grants.create(g, now=now_iso())
    return g


def test_the_owner_withdraws_once_from_the_version_read(twins: Any) -> None:
    owner = person()
    app = draft(twins, owner.subject)
    with pytest.raises(errors.StaleVersion):
        applications.withdraw(app.application_id, owner, version=7, note=None)
    withdrawn = applications.withdraw(app.application_id, owner, version=1, note="不需要了")
    assert (withdrawn.status, withdrawn.version) == (Status.WITHDRAWN, 2)
    assert twins.applications.get(app.application_id).status == Status.WITHDRAWN
    # (same-second events: the timeline's key is "{time}#{random id}", so compare without order)
    assert sorted(e.type for e in applications.timeline(app.application_id, owner, None)) == ["created", "withdrawn"]
    assert twins.notifier.templates() == ["status_changed"]
    with pytest.raises(errors.IllegalTransition):  # withdrawn is final: 409 with its code
        applications.withdraw(app.application_id, owner, version=2, note=None)
    with pytest.raises(errors.IllegalTransition):
        applications.submit(app.application_id, owner, version=2)


def test_a_stranger_is_told_nothing_and_staff_reads_are_audited(twins: Any) -> None:
    app = draft(twins, new_id("sub"))
    with pytest.raises(errors.ApplicationNotFound):
        applications.get(app.application_id, person())
    with pytest.raises(errors.InvalidInput):
        applications.get(app.application_id, person(Role.STAFF))  # no reason, no read
    applications.get(app.application_id, person(Role.STAFF), reason="审核")
    assert [e["action"] for e in twins.audit.of_target(f"application#{app.application_id}")] == ["read_application"]


def test_a_delegate_acts_within_the_grant_until_it_is_revoked(twins: Any) -> None:
    owner, child = person(), person()
    app = draft(twins, owner.subject)
    g = grant(twins, owner.subject, child.subject, ["view"])
    _, access = applications.get(app.application_id, child)
    assert (access.as_role, access.grant_id) == ("delegate", g["grant_id"])
    with pytest.raises(errors.OutsideGrant):
        applications.withdraw(app.application_id, child, version=1, note=None)
    grants.revoke(owner, g["grant_id"])
    with pytest.raises(errors.IllegalTransition):
        grants.revoke(owner, g["grant_id"])
    with pytest.raises(errors.GrantRevoked):
        applications.get(app.application_id, child)
    # a new grant may be given once the old one is revoked (one live grant per pair), this time to act
    grant(twins, owner.subject, child.subject, ["view", "act"])
    withdrawn = applications.withdraw(app.application_id, child, version=1, note=None)
    [event] = [e for e in twins.applications.events(f"app#{app.application_id}") if e.type == "withdrawn"]
    assert event.grant_id is not None and event.actor_role == "delegate"
    assert withdrawn.status == Status.WITHDRAWN
    with pytest.raises(errors.GrantExists):
        grant(twins, owner.subject, child.subject, ["view"])



def test_a_run_is_started_through_the_workflow_and_a_refused_start_is_recorded(twins: Any) -> None:
    from dataclasses import replace

    from chalicelib.domain import verification

    owner = person()
    app = draft(twins, owner.subject)
    run = verification.new_run(app)
    assert verification.launch(replace(app, verification=run)).verification == run  # started: nothing written
    assert twins.workflow.started == [(app.application_id, run["run_id"])]

    # Step Functions refuses: the run is recorded as not started, for staff to re-run
    other = Application(new_id("app"), "individual", Status.SUBMITTED, new_id("pk"), owner.subject, new_id("hh"),
                        app.members, created_at=app.created_at, updated_at=app.updated_at)
    other = replace(other, verification=verification.new_run(other))
    twins.applications.create(other, Event("created", owner.subject, "applicant", to_status="draft"))
    twins.workflow.fail_with = errors.ServiceUnavailable("start_execution: ThrottlingException")
    recorded = verification.launch(twins.applications.get(other.application_id))
    assert recorded.verification["status"] == "not_started"
    assert recorded.verification["error"] == "start_execution: ThrottlingException"
    assert "verification_failed" in {e.type for e in applications.timeline(other.application_id, owner, None)}
    assert twins.workflow.started == [(app.application_id, run["run_id"])]  # the refused start is not one
