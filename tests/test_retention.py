"""The retention job (PIPL, issue 15 §3, docs/decisions/0040), tested with a clock: the documents (every
S3 version) and personal data of rejected, withdrawn and expired applications are deleted after the
city's period (jiangmen: 180 days after the decision, drafts untouched for 365 days), the deletion is
recorded in the audit trail (kind, application, when; not the data), and a re-run does nothing twice."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

import pytest

from tests.applying import Citizen, call, register, upload
from tests.test_case_review import review, submitted, verify
from tests.test_stats import _recount, scans_allowed  # noqa: F401 - a fixture: the recount scans


@pytest.fixture(scope="module", autouse=True)
def fresh(stack: Any) -> None:
    stack.reset()


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, timedelta]]:
    from chalicelib.domain import common

    real = common.now
    state = {"offset": timedelta(0)}
    monkeypatch.setattr(common, "now", lambda: real() + state["offset"])
    yield state


def _withdrawn(client: Any, stack: Any) -> tuple[Citizen, str]:
    person = Citizen(stack, "撤回甲")
    register(client, person)
    assert call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})[0] == 200
    status, app = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    for doc_type in ("id_card", "hukou"):
        upload(client, person.headers(), app["application_id"], doc_type)
    stack.drain()
    status, fresh = call(client, "GET", f"/v1/applications/{app['application_id']}", person.headers())
    status, body = call(client, "POST", f"/v1/applications/{app['application_id']}/withdraw", person.headers(),
                        {"version": fresh["version"]})
    assert status == 200, body
    return person, app["application_id"]


def _rejected(client: Any, stack: Any, tokens: Any) -> str:
    person, app = submitted(client, stack, person=Citizen(stack, "未过乙"))
    verify(app, real_estate={"properties": [{"city": "jiangmen", "floor_area": 90.0}]})
    page = review(client, tokens, app)
    status, body = call(client, "POST", f"/v1/staff/applications/{app['application_id']}/reject", tokens.headers("staff"),
                        {"version": page["version"], "reason_code": "housing", "note": "名下在本市有住房"})
    assert status == 200, body
    return app["application_id"]


def _objects(application_id: str) -> list[str]:
    from chalicelib.deps import deps

    storage = deps().storage
    listed = storage.s3.list_object_versions(Bucket=storage.settings.document_bucket, Prefix=f"applications/{application_id}/")
    return [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]


def _keys(application_id: str) -> list[str]:
    from chalicelib.deps import deps

    return [m["person_key"] for m in deps().applications.get(application_id).members]


def _gone(application_id: str, keys: list[str]) -> None:
    from chalicelib.repositories.tables import ApplicationRecord, ConsentRecord, EventRecord

    with pytest.raises(ApplicationRecord.DoesNotExist):
        ApplicationRecord.get(application_id)
    assert list(EventRecord.query(f"app#{application_id}")) == []
    assert _objects(application_id) == []
    for key in keys:
        with pytest.raises(ConsentRecord.DoesNotExist):
            ConsentRecord.get(key, application_id)


def _deletions(client: Any, tokens: Any, application_id: str) -> list[dict[str, Any]]:
    status, trail = call(client, "GET", f"/v1/audit/application/{application_id}", tokens.headers("auditor"))
    assert status == 200
    return [r for r in trail["items"] if r["action"].startswith("retention_deleted")]


def test_past_their_period_applications_are_deleted_once_and_recorded(client: Any, stack: Any, tokens: Any,
                                                                       clock: dict[str, timedelta]) -> None:
    from chalicelib.domain import retention

    person, withdrawn = _withdrawn(client, stack)
    rejected = _rejected(client, stack, tokens)
    status, draft = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, draft
    upload(client, person.headers(), draft["application_id"], "id_card")
    stack.drain()
    assert len(_objects(withdrawn)) == 2 and len(_objects(draft["application_id"])) == 1
    keys = {a: _keys(a) for a in (withdrawn, rejected, draft["application_id"])}

    # within the period: nothing goes
    assert retention.run().deleted == {"rejected": 0, "withdrawn": 0, "expired": 0}
    clock["offset"] = timedelta(days=179)
    assert retention.run().deleted == {"rejected": 0, "withdrawn": 0, "expired": 0}

    # after 180 days: the withdrawn and the rejected application go, with their documents; the draft stays
    clock["offset"] = timedelta(days=181)
    run = retention.run()
    assert run.deleted == {"rejected": 1, "withdrawn": 1, "expired": 0} and run.documents == 2 + 4, run
    assert run.failed == [] and run.skipped == 0
    for application_id in (withdrawn, rejected):
        _gone(application_id, keys[application_id])
    assert call(client, "GET", f"/v1/applications/{withdrawn}", person.headers())[0] == 404
    assert len(_objects(draft["application_id"])) == 1
    (record,) = _deletions(client, tokens, withdrawn)
    assert record["action"] == "retention_deleted_withdrawn" and record["actor"] == "system"
    assert "已撤回" in record["reason"] and person.name not in record["reason"] and person.id_number not in record["reason"]
    assert [r["action"] for r in _deletions(client, tokens, rejected)] == ["retention_deleted_rejected"]

    # a re-run deletes nothing twice and records nothing twice
    again = retention.run()
    assert again.deleted == {"rejected": 0, "withdrawn": 0, "expired": 0} and again.documents == 0
    assert len(_deletions(client, tokens, withdrawn)) == 1

    # a draft untouched for a year has expired: it goes too, and its household may start a new one
    clock["offset"] = timedelta(days=366)
    assert retention.run().deleted == {"rejected": 0, "withdrawn": 0, "expired": 1}
    _gone(draft["application_id"], keys[draft["application_id"]])
    assert [r["action"] for r in _deletions(client, tokens, draft["application_id"])] == ["retention_deleted_expired"]
    status, new = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, new


def test_an_application_changed_since_it_was_read_is_left_for_the_next_run(client: Any, stack: Any,
                                                                           clock: dict[str, timedelta]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import retention

    person, withdrawn = _withdrawn(client, stack)
    keys = _keys(withdrawn)
    clock["offset"] = timedelta(days=181)
    app = deps().applications.get(withdrawn)
    moved = app.__class__(**{**app.__dict__, "rev": app.rev - 1})  # what a read before a later write saw
    assert retention.purge(moved, retention.cutoffs()[app.status]) is None
    assert deps().applications.get(withdrawn).application_id == withdrawn  # still there: the next run takes it
    assert retention.run().deleted["withdrawn"] == 1
    _gone(withdrawn, keys)


def test_the_job_is_scheduled_and_answers_its_counts(app: Any, clock: dict[str, timedelta]) -> None:
    from chalice.test import Client

    with Client(app) as local:
        event = local.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "cn-northwest-1")
        result = local.lambda_.invoke("purge_expired_applications", event).payload
    assert set(result) == {"deleted", "documents", "skipped", "failed", "cutoffs"}
    assert set(result["cutoffs"]) == {"rejected", "withdrawn", "draft"}


@pytest.mark.usefixtures("scans_allowed")
def test_a_deleted_application_keeps_the_figures_it_was_counted_in(client: Any, stack: Any, tokens: Any,
                                                                    clock: dict[str, timedelta]) -> None:
    """The ministry's figures once reported stay: the stream's REMOVE moves no counter, the deletion
    keeps the dates the figures read (nothing personal), and the recount still agrees."""
    from chalicelib.deps import deps
    from chalicelib.domain import common, retention

    rejected = _rejected(client, stack, tokens)
    stack.drain_streams()
    month = common.now().strftime("%Y-%m")
    before = deps().stats.counters(month)
    assert before[0].get("applications_submitted", 0) >= 1, before
    clock["offset"] = timedelta(days=181)
    assert retention.run().deleted["rejected"] >= 1
    _gone(rejected, [])
    stack.drain_streams()
    assert deps().stats.counters(month)[0].get("applications_submitted") == before[0]["applications_submitted"]
    kept, _ = deps().stats.kept_page("applications", None)
    assert any(set(k) == {"submitted_at"} for k in kept), kept  # the dates only: no name, no ID number
    clock["offset"] = timedelta(0)  # the recount's months end at this one
    run = _recount(client, tokens, month)
    assert run["mismatch_count"] == 0, run["mismatches"]
