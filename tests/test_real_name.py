"""Real-name identity (实名, issue 9 §1, docs/decisions/0016): a person acts under a name and ID number
that a trustworthy source vouched for, never the request body alone."""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pytest
import requests

from tests.applying import Citizen, call, register

OPEN_WHILE_PENDING = {("GET", "/v1/me"), ("POST", "/v1/me"), ("POST", "/v1/me/real-name-check")}


def claim(client: Any, person: Citizen, name: str | None = None, id_number: str | None = None,
          face: str | None = "pass") -> tuple[int, dict[str, Any]]:
    """Register and, when the provider opens a face session, do the face check with ``face``
    (None: the app never runs the SDK), then ask the server to complete. Returns the last answer."""
    status, body = call(client, "POST", "/v1/me", person.headers(),
                        {"name": name or person.name, "id_number": id_number or person.id_number})
    if status != 201 or body["real_name"]["status"] != "pending":
        return status, body
    if face is not None:
        assert requests.post(body["real_name"]["face"]["sdk_url"], json={"outcome": face}, timeout=10).ok
    return call(client, "POST", "/v1/me/real-name-check", person.headers(), {"check_id": body["real_name"]["check_id"]})


def assisted(client: Any, tokens: Any, citizen: Citizen) -> dict[str, Any]:
    """代办: staff record the citizen's household and application at the counter."""
    status, app = call(client, "POST", "/v1/staff/applications", tokens.headers("staff"), {
        "kind": "individual", "members": [citizen.member()], "contact_mobile": citizen.mobile, "note": "窗口代办"})
    assert status == 201, app
    return app


# --- the takeover from the issue ------------------------------------------------------------------
def test_someone_who_knows_an_id_number_cannot_take_over_a_counter_household(
        client: Any, stack: Any, tokens: Any) -> None:
    owner = Citizen(stack, "黄秀兰", born="19500505")
    stack.realname.enrol(owner.id_number, owner.name)
    app = assisted(client, tokens, owner)
    attacker = Citizen(stack)  # knows the name and the ID number, but is not the person
    status, body = claim(client, attacker, owner.name, owner.id_number, face="fail")
    assert status == 409 and body["error"]["code"] == "FACE_CHECK_FAILED", body
    status, me = call(client, "GET", "/v1/me", attacker.headers())
    assert status == 200 and me["real_name"]["status"] == "pending" and me["household_id"] is None
    for path in ("/v1/me/household", "/v1/me/applications", f"/v1/applications/{app['application_id']}",
                 "/v1/me/consents"):
        status, body = call(client, "GET", path, attacker.headers())
        assert status == 403 and body["error"]["code"] == "REAL_NAME_PENDING", (path, body)
        assert owner.id_number not in json.dumps(body)
    # a pending claim locks nobody out: the real person verifies and gets the household
    register(client, owner)
    status, mine = call(client, "GET", "/v1/me/applications", owner.headers())
    assert [a["application_id"] for a in mine["items"]] == [app["application_id"]]
    status, household = call(client, "GET", "/v1/me/household", owner.headers())
    assert status == 200 and household["claimed"]
    # and the attacker, even with a face that passes now, is refused: the ID is held (a conflict)
    status, body = claim(client, attacker, owner.name, owner.id_number)
    assert status == 409 and body["error"]["code"] == "ID_NUMBER_IN_DISPUTE"
    status, body = call(client, "GET", "/v1/me/household", attacker.headers())
    assert status == 409 and owner.id_number not in json.dumps(body)


def test_several_pending_claims_on_one_id_coexist(client: Any, stack: Any) -> None:
    owner = Citizen(stack, "冯一鸣")
    stack.realname.enrol(owner.id_number, owner.name)
    others = [Citizen(stack) for _ in range(2)]
    for other in others:
        status, body = claim(client, other, owner.name, owner.id_number, face=None)
        assert status == 409 and body["error"]["code"] == "FACE_CHECK_NOT_DONE", body
    assert register(client, owner)["real_name"]["verified_by"] == "check"


# --- every route that reaches personal data is closed while pending ----------------------------------
def citizen_operations() -> list[tuple[str, str]]:
    from chalicelib.web import OPERATIONS

    import app  # noqa: F401 - registers every blueprint, so OPERATIONS is the whole route table

    return sorted({(op.method, op.path) for op in OPERATIONS
                   if op.roles is not None and "applicant" in op.roles} - OPEN_WHILE_PENDING)


def test_the_route_table_has_citizen_routes_to_close() -> None:
    ops = citizen_operations()
    assert len(ops) > 20 and ("GET", "/v1/me/household") in ops and ("GET", "/v1/me/lease") in ops


@pytest.fixture(scope="module")
def pending(stack: Any) -> Iterator[dict[str, Any]]:
    """A pending registration on the ID number of a counter household with an application."""
    from chalice.test import Client

    from app import app as chalice_app

    with Client(chalice_app) as client:
        from tests.conftest import Tokens

        tokens = Tokens(stack)
        owner = Citizen(stack, "温家明", born="19600606")
        stack.realname.enrol(owner.id_number, owner.name)
        app = assisted(client, tokens, owner)
        attacker = Citizen(stack)
        status, body = claim(client, attacker, owner.name, owner.id_number, face=None)
        assert status == 409, body
        yield {"attacker": attacker, "owner": owner, "application_id": app["application_id"]}


@pytest.mark.parametrize(("method", "path"), citizen_operations())
def test_pending_reaches_nothing(client: Any, pending: dict[str, Any], method: str, path: str) -> None:
    """Generated from the route table: a new citizen route is closed while pending, or fails here."""
    concrete = re.sub(r"{(\w+)}", lambda m: pending["application_id"] if m.group(1) == "application_id"
                      else "x_" + m.group(1)[:8], path)
    status, body = call(client, method, concrete, pending["attacker"].headers(),
                        None if method == "GET" else {})
    assert status == 403 and body["error"]["code"] == "REAL_NAME_PENDING", (method, concrete, body)
    assert pending["owner"].id_number not in json.dumps(body) and pending["owner"].name not in json.dumps(body)


def test_a_pending_login_cannot_be_made_a_delegate(client: Any, stack: Any, pending: dict[str, Any]) -> None:
    grantor = Citizen(stack, "周大福")
    register(client, grantor)
    status, body = call(client, "POST", "/v1/me/grants", grantor.headers(), {
        "delegate_mobile": pending["attacker"].mobile, "scopes": ["view"], "expires_at": "2030-01-01T00:00:00+08:00"})
    assert (status, body["error"]["code"]) == (404, "DELEGATE_NOT_REGISTERED"), body  # not yet a real name


# --- the check's outcomes -------------------------------------------------------------------------------
def test_the_server_asks_the_provider_and_stays_pending_on_a_failed_face(client: Any, stack: Any) -> None:
    person = Citizen(stack, "何小平")
    stack.realname.enrol(person.id_number, person.name)
    status, body = claim(client, person, face="fail")
    assert status == 409 and body["error"]["code"] == "FACE_CHECK_FAILED"
    assert "人脸" in body["error"]["message"]
    status, me = call(client, "GET", "/v1/me", person.headers())
    assert me["real_name"]["status"] == "pending"
    # the client's word is not the result: a check id that is not the caller's is refused
    status, body = call(client, "POST", "/v1/me/real-name-check", person.headers(), {"check_id": "rnc_forged"})
    assert status == 404 and body["error"]["code"] == "REAL_NAME_CHECK_NOT_FOUND"
    # a new attempt with a passing face completes
    calls = len(stack.realname.calls)
    status, body = claim(client, person)
    assert status == 200 and body["real_name"]["status"] == "verified", body
    assert "/checks/result" in stack.realname.calls[calls:]


@pytest.mark.parametrize(("setup", "code"), [
    ("mismatch", "REAL_NAME_MISMATCH"), ("unknown", "REAL_NAME_NOT_FOUND"), ("deceased", "REAL_NAME_NOT_FOUND"),
])
def test_the_check_refuses_what_the_registry_does_not_vouch_for(client: Any, stack: Any, setup: str,
                                                                code: str) -> None:
    person = Citizen(stack, "郭子健")
    if setup == "mismatch":
        stack.realname.enrol(person.id_number, "郭子建")
    elif setup == "deceased":
        stack.realname.enrol(person.id_number, person.name, status="deceased")
    status, body = call(client, "POST", "/v1/me", person.headers(), {"name": person.name, "id_number": person.id_number})
    assert status == 409 and body["error"]["code"] == code, body
    assert call(client, "GET", "/v1/me", person.headers())[0] == 403  # nothing registered


@pytest.mark.parametrize("mode", ["down", "garbage"])
def test_provider_down_is_503_not_500(client: Any, stack: Any, mode: str) -> None:
    person = Citizen(stack, "罗文")
    stack.realname.enrol(person.id_number, person.name)
    stack.realname.set_mode(mode)
    try:
        status, body = call(client, "POST", "/v1/me", person.headers(),
                            {"name": person.name, "id_number": person.id_number})
    finally:
        stack.realname.set_mode("ok")
    assert status == 503 and body["error"]["code"] == "REAL_NAME_CHECK_UNAVAILABLE", body


# --- a second claim on an ID number ---------------------------------------------------------------------
def _subject(person: Citizen) -> str:
    import jwt

    return str(jwt.decode(person.token, options={"verify_signature": False})["sub"])


def test_a_second_verified_claim_goes_to_staff_and_staff_decide(client: Any, stack: Any, tokens: Any) -> None:
    first = Citizen(stack, "陈国华")
    register(client, first)
    call(client, "PUT", "/v1/me/household", first.headers(), {"members": [first.member()]})
    second = Citizen(stack, "陈国华")  # e.g. a stolen identity that passed a weak face check, or a second phone
    status, body = claim(client, second, first.name, first.id_number)
    assert status == 409 and body["error"]["code"] == "ID_NUMBER_IN_DISPUTE", body
    assert "窗口" in body["error"]["message"] or "工作人员" in body["error"]["message"]
    status, me = call(client, "GET", "/v1/me", second.headers())
    assert me["real_name"]["status"] == "disputed" and me["household_id"] is None
    assert call(client, "GET", "/v1/me/household", first.headers())[0] == 200  # the holder is not locked out

    staff = tokens.headers("staff")
    status, body = call(client, "GET", "/v1/staff/identity-conflicts", staff)
    assert status == 400 and body["error"].get("field") == "reason"  # no reason, no read
    status, page = call(client, "GET", "/v1/staff/identity-conflicts?reason=%E6%A0%B8%E6%9F%A5", staff)
    case = next(c for c in page["items"] if c["claimant"] == _subject(second))
    assert case["holder"] == _subject(first) and case["id_number"] != first.id_number
    assert case["evidence"]["holder"]["verified_by"] == "check" and case["evidence"]["claimant"]["verified_by"] == "check"
    assert first.mobile not in json.dumps(case)

    path = f"/v1/staff/identity-conflicts/{case['conflict_id']}/resolve"
    status, done = call(client, "POST", path, staff, {"winner": "claimant", "reason": "本人持身份证到窗口核实"})
    assert status == 200 and done["status"] == "resolved", done
    status, again = call(client, "POST", path, staff, {"winner": "holder", "reason": "重复提交测试"})
    assert status == 409 and again["error"]["code"] == "IDENTITY_CONFLICT_RESOLVED"
    # the ID number (and the household) moved to the claimant; the former holder is pending
    status, household = call(client, "GET", "/v1/me/household", second.headers())
    assert status == 200 and household["members"][0]["id_number"] == first.id_number
    status, body = call(client, "GET", "/v1/me/household", first.headers())
    assert status == 403 and body["error"]["code"] == "REAL_NAME_PENDING"
    from chalicelib.domain import audit

    actions = [e["action"] for e in audit.trail(f"identity_conflict#{case['conflict_id']}")]
    assert "identity_conflict_opened" in actions and "identity_conflict_resolved_claimant" in actions


def test_staff_may_decide_for_the_holder(client: Any, stack: Any, tokens: Any) -> None:
    first = Citizen(stack, "马丽娟")
    register(client, first)
    second = Citizen(stack)
    assert claim(client, second, first.name, first.id_number)[1]["error"]["code"] == "ID_NUMBER_IN_DISPUTE"
    staff = tokens.headers("staff")
    page = call(client, "GET", "/v1/staff/identity-conflicts?reason=%E6%A0%B8%E6%9F%A5&limit=100", staff)[1]
    case = next(c for c in page["items"] if c["claimant"] == _subject(second))
    status, _ = call(client, "POST", f"/v1/staff/identity-conflicts/{case['conflict_id']}/resolve", staff,
                     {"winner": "holder", "reason": "冒用他人身份，已核实"})
    assert status == 200
    assert call(client, "GET", "/v1/me", second.headers())[1]["real_name"]["status"] == "pending"
    assert call(client, "GET", "/v1/me", first.headers())[1]["real_name"]["status"] == "verified"


def test_two_simultaneous_verified_claims_never_both_bind(client: Any, stack: Any, monkeypatch: Any) -> None:
    """The second claim completes between the first's read and its write (interleaved on purpose:
    moto's tables are not thread-safe): the binding item's condition lets one win; the other is a conflict."""
    from chalicelib.repositories.households import HouseholdRepository

    first, second = Citizen(stack, "唐明"), Citizen(stack, "唐明")
    second.id_number = first.id_number
    stack.realname.enrol(first.id_number, first.name)
    started = {}
    for person in (first, second):
        status, body = call(client, "POST", "/v1/me", person.headers(), {"name": person.name, "id_number": person.id_number})
        assert requests.post(body["real_name"]["face"]["sdk_url"], json={"outcome": "pass"}, timeout=10).ok
        started[person.mobile] = body["real_name"]["check_id"]
    original = HouseholdRepository.bind
    inner: list[tuple[int, Any]] = []
    entered: list[bool] = []

    def interleaved(self: Any, *args: Any, **kw: Any) -> Any:
        if not entered:
            entered.append(True)
            inner.append(call(client, "POST", "/v1/me/real-name-check", second.headers(),
                              {"check_id": started[second.mobile]}))
        return original(self, *args, **kw)

    monkeypatch.setattr(HouseholdRepository, "bind", interleaved)
    outer = call(client, "POST", "/v1/me/real-name-check", first.headers(), {"check_id": started[first.mobile]})
    assert inner[0][0] == 200, inner
    assert outer[0] == 409 and outer[1]["error"]["code"] == "ID_NUMBER_IN_DISPUTE", outer


def test_a_verified_claim_displaces_a_legacy_registration(client: Any, stack: Any, tokens: Any) -> None:
    """Registrations made before the check existed hold their ID number until its verified owner comes."""
    from chalicelib.deps import deps
    from chalicelib.domain.households import Person
    from chalicelib.domain.idnumbers import person_key

    owner, squatter = Citizen(stack, "林美玲"), Citizen(stack)
    key = person_key("jiangmen", owner.id_number)
    deps().households.register(Person(_subject(squatter), "citizen", owner.name, owner.id_number, key, squatter.mobile,
                                  created_at="2026-01-01T00:00:00+08:00", updated_at="2026-01-01T00:00:00+08:00"),
                           None, claim=None)
    status, _ = call(client, "PUT", "/v1/me/household", squatter.headers(), {"members": [owner.member()]})
    assert status == 200 and call(client, "GET", "/v1/me", squatter.headers())[1]["real_name"]["status"] == "unverified"
    register(client, owner)
    status, household = call(client, "GET", "/v1/me/household", owner.headers())
    assert status == 200 and household["members"][0]["id_number"] == owner.id_number
    status, body = call(client, "GET", "/v1/me/household", squatter.headers())
    assert status == 403 and body["error"]["code"] == "REAL_NAME_PENDING"
    from chalicelib.domain import audit

    assert any(e["action"] == "real_name_displaced" for e in audit.trail(f"person#{key[1:17]}"))
    from chalicelib.notify import RECORDED

    stack.drain()  # notices go out through the queue
    assert any(n["template"] == "real_name_displaced" and n["recipient"] == _subject(squatter) for n in RECORDED)


# --- (a) the identity provider vouches: the token's real-name claims ---------------------------------------
@pytest.fixture()
def realname_oidc(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from chalicelib import auth, deps
    from tests.test_auth import Issuer

    issuer = Issuer("https://sso.gd.gov.cn/oidc")
    for key, value in {"AUTH_ISSUER": issuer.iss, "AUTH_JWKS_URL": issuer.jwks_url, "AUTH_AUDIENCE": "gzf-app",
                       "AUTH_TOKEN_USE": "", "AUTH_ROLES_CLAIM": "roles", "AUTH_CITY_CLAIM": "city",
                       "AUTH_NAME_CLAIM": "name", "AUTH_ID_NUMBER_CLAIM": "id_card_no"}.items():
        monkeypatch.setenv(key, value)
    deps.reset()
    auth.verifier.cache_clear()
    yield issuer
    issuer.server.shutdown()
    monkeypatch.undo()
    deps.reset()
    auth.verifier.cache_clear()


def test_a_provider_that_vouches_verifies_at_once_and_refuses_a_different_body(
        client: Any, stack: Any, realname_oidc: Any) -> None:
    from tests.applying import id_number

    mine, theirs = id_number("19880808"), id_number("19770707")
    token = realname_oidc.token(sub="gov-rn-1", roles=None, city=None, name="黎明远", id_card_no=mine)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    calls = len(stack.realname.calls)
    for data, field in (({"name": "黎明远", "id_number": theirs}, "id_number"),
                        ({"name": "黎明", "id_number": mine}, "name")):
        status, body = call(client, "POST", "/v1/me", headers, data)
        assert status == 409 and body["error"]["code"] == "REAL_NAME_MISMATCH" and body["error"]["field"] == field
    status, body = call(client, "POST", "/v1/me", headers, {"name": "黎明远", "id_number": mine})
    assert status == 201 and body["real_name"]["status"] == "verified" and body["real_name"]["verified_by"] == "token"
    assert len(stack.realname.calls) == calls  # the token vouched: no check needed
    status, _ = call(client, "PUT", "/v1/me/household", headers, {"members": [
        {"relation": "self", "name": "黎明远", "id_number": mine}]})
    assert status == 200


# --- the adapter and its simulator ---------------------------------------------------------------------------
def test_the_adapter_signs_and_a_wrong_key_is_unavailable_not_a_pass(stack: Any, monkeypatch: Any) -> None:
    from chalicelib import errors
    from chalicelib.realname import HttpRealNameCheck

    adapter = HttpRealNameCheck(stack.realname.base_url, None, 2.0)
    stack.realname.enrol("440703199001010011", "甄实名")
    started = adapter.start("甄实名", "440703199001010011", face=True, request_id="t")
    assert started.result == "match" and started.face and started.face["biz_token"]
    assert adapter.result(started.check_id).status == "pending"  # the SDK has not run: not passed
    monkeypatch.setenv("REALNAME_KEY", "not-the-key")
    with pytest.raises(errors.RealNameCheckUnavailable):
        adapter.start("甄实名", "440703199001010011", face=True, request_id="t")
    with pytest.raises(errors.RealNameCheckUnavailable):  # nobody listening
        HttpRealNameCheck("http://127.0.0.1:9", None, 1.0).result("rnc_x")
