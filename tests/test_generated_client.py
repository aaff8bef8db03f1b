"""The OpenAPI document is an SDK source (issue 10 §5, docs/decisions/0024): a client generated with
openapi-python-client from the document the server serves drives the applicant's journey over real HTTP
against the local server (browse, self-assess, register with the real-name check, household, apply,
upload through the presigned form, consent, submit, timeline), with nothing but the generated code.

What only a document with required fields, enums and formats gives is asserted on the way: a field is
never ``Unset``, a status is the generated enum, a timestamp is a ``datetime``."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.applying import JPEG, Citizen

pytestmark = pytest.mark.usefixtures("catalogue")

PACKAGE = "housing_client"


@pytest.fixture(scope="module")
def sdk(local_server: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The package openapi-python-client generates from GET /v1/openapi.json, imported."""
    out = tmp_path_factory.mktemp("sdk")
    (out / "openapi.json").write_text(json.dumps(httpx.get(f"{local_server}/v1/openapi.json").json()))
    (out / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")  # no formatter run
    done = subprocess.run(
        [str(Path(sys.executable).with_name("openapi-python-client")), "generate", "--path", "openapi.json",
         "--config", "config.yaml", "--meta", "none", "--output-path", PACKAGE],
        cwd=out, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr  # every schema understood
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(name: str) -> Any:
    """One generated operation module, e.g. ``api("applications.submit_application")``."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    module = importlib.import_module(f"{PACKAGE}.models")
    return getattr(module, name)


def ok(answer: Any, expected: str) -> Any:
    """The parsed answer, which must be the documented success model (not the error envelope)."""
    assert type(answer).__name__ == expected, answer
    return answer


def test_the_applicant_journey_with_the_generated_client_alone(sdk: Any, local_server: str, stack: Any) -> None:
    public = sdk.Client(base_url=local_server, raise_on_unexpected_status=True)
    unset = importlib.import_module(f"{PACKAGE}.types").Unset

    # browse: units in an area, typed (status is the generated enum, updated_at a datetime)
    page = ok(api("units.list_units").sync(client=public, area="pengjiang", status=model("ListUnitsStatus")("vacant"),
                                           limit=5), "UnitPage")
    assert page.items and all(u.status.value == "vacant" for u in page.items)
    assert isinstance(page.items[0].updated_at, datetime) and type(page.items[0].status).__name__ == "UnitStatus"
    unit = ok(api("units.get_unit").sync(page.items[0].unit_id, client=public), "Unit")
    assert unit.unit_id == page.items[0].unit_id and isinstance(unit.rent, int)

    # self-assess, anonymously: every rule explained
    questions = ok(api("self_assessment.get_self_assessment_questions").sync(client=public), "SelfAssessmentQuestions")
    assert questions.questions
    verdict = ok(api("self_assessment.self_assess").sync(client=public, body=model("SelfAssessmentAnswers").from_dict(
        {"kind": "individual", "answers": {}})), "SelfAssessment")
    assert verdict.rules and verdict.verdict.value in {"eligible", "not_eligible", "needs_review"}

    # register: the real-name check (name + ID number, then the face check the phone's SDK does)
    person = Citizen(stack, "王建国")
    me = sdk.AuthenticatedClient(base_url=local_server, token=person.token, raise_on_unexpected_status=True)
    stack.realname.enrol(person.id_number, person.name)
    registered = ok(api("households.register").sync(client=me, body=model("RegisterIn").from_dict(
        {"name": person.name, "id_number": person.id_number})), "Person")
    if registered.real_name.status.value == "pending":
        face = registered.real_name.face.additional_properties
        assert httpx.post(face["sdk_url"], json={"outcome": "pass"}).status_code == 200  # the phone's SDK
        registered = ok(api("real_name.complete_real_name_check").sync(client=me, body=model("RealNameCheckIn").from_dict(
            {"check_id": registered.real_name.check_id})), "Person")
    assert registered.real_name.status.value == "verified"

    # household: one adult, age and sex derived from the ID number
    household = ok(api("households.put_household").sync(client=me, body=model("HouseholdIn").from_dict({"members": [
        {"relation": "self", "name": person.name, "id_number": person.id_number, "hukou": "local",
         "monthly_income": 200000}]})), "Household")
    assert household.members[0].adult is True and household.members[0].age >= 18

    # apply
    app = ok(api("applications.create_application").sync(client=me, body=model("ApplicationIn").from_dict(
        {"kind": "individual"})), "Application")
    assert app.status.value == "draft" and isinstance(app.created_at, datetime)
    required = [r.type_ for r in app.required_documents]
    assert required

    # upload each required document straight to storage through the presigned form
    for doc_type in required:
        reserved = ok(api("applications.add_document").sync(app.application_id, client=me, body=model(
            "DocumentIn").from_dict({"type": doc_type, "content_type": "image/jpeg"})), "DocumentUpload")
        form = reserved.upload
        sent = httpx.post(form.url, data=form.fields.additional_properties,
                          files={"file": ("photo.jpg", JPEG, "image/jpeg")})
        assert sent.status_code == 204, sent.text
    stack.drain()  # the storage event reaches the document checker, as the queue does when deployed

    # consent to the departments' queries, to the text in force
    text = ok(api("applications.get_consent_text").sync(client=public), "ConsentText")
    consent = ok(api("applications.give_consent").sync(app.application_id, client=me, body=model(
        "ConsentIn").from_dict({"text_version": text.version, "agree": True})), "ConsentResult")
    assert consent.status == "given"

    # submit, with the version the server holds (and an Idempotency-Key, as a phone on a bad network does)
    fresh = ok(api("applications.get_application").sync(app.application_id, client=me), "Application")
    assert all(d.status.value == "accepted" for d in fresh.documents), [d.to_dict() for d in fresh.documents]
    submitted = ok(api("applications.submit_application").sync(
        app.application_id, client=me, body=model("VersionIn").from_dict({"version": fresh.version}),
        idempotency_key=f"submit-{app.application_id}"), "Application")
    assert submitted.status.value == "submitted" and not isinstance(submitted.submitted_at, unset)
    assert isinstance(submitted.submitted_at, datetime)

    # the timeline: every step, typed
    timeline = ok(api("applications.get_application_timeline").sync(app.application_id, client=me), "Timeline")
    steps = [e.type_ for e in timeline.items]
    assert steps[0] == "created" and "consent_given" in steps and steps.count("submitted") == 1
    assert all(isinstance(e.at, datetime) and e.at.utcoffset() is not None for e in timeline.items)
    mine = ok(api("applications.list_my_applications").sync(client=me), "ApplicationPage")
    assert mine.items[0].application_id == app.application_id
