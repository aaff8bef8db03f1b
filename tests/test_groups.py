"""Groups (团租, group rental) end to end with real tokens: an employer registers with its unified social
credit code, makes a group, adds employees one by one and from CSV (valid rows kept, bad rows
reported), the employee consents in the app, the employer documents and submits for them, follows
their progress and answers a supplement; and the refusals: bad ID numbers, mobiles and credit codes,
another employer's staff, another employer's group, citizens on employer routes."""
from __future__ import annotations

import secrets
from typing import Any

import pytest

from chalicelib.domain.idnumbers import credit_check_char, id_check_digit
from tests.applying import Citizen, call, credit_code, register, upload

GROUP_DOCUMENTS = ("id_card", "labour_contract", "commitment")
HEADER = "姓名,身份证号,手机号,户籍,月收入（分）"


def id_number(born: str = "19900101", male: bool = True) -> str:
    """A valid ID number another test of the session is most unlikely to use (random county and
    sequence: the shared helper's sequence repeats within a long session)."""
    seq = secrets.randbelow(100) * 10 + secrets.randbelow(5) * 2 + (1 if male else 0)
    # the city part never 00 (xx00yy is a province's own office: no person's county, refused)
    first = f"44{1 + secrets.randbelow(99):02d}{secrets.randbelow(100):02d}{born}{seq:03d}"
    return first + id_check_digit(first)


def make_employer(stack: Any, client: Any, name: str = "江门示范制造有限公司") -> Citizen:
    employer = Citizen(stack, name, role="employer")
    status, body = call(client, "POST", "/v1/me/employer", employer.headers(),
                        {"name": name, "credit_code": credit_code()})
    assert status == 201, body
    assert body["kind"] == "employer"
    return employer


def make_group(client: Any, employer: Citizen, name: str = "2026 年第一批") -> dict[str, Any]:
    status, group = call(client, "POST", "/v1/employer/groups", employer.headers(), {"name": name, "note": "生产部"})
    assert status == 201, group
    return group


def registered_citizen(stack: Any, client: Any, name: str) -> Citizen:
    person = Citizen(stack, name)
    person.id_number = id_number()
    register(client, person)
    return person


def employee_body(person: Citizen | None = None, **kw: Any) -> dict[str, Any]:
    base = {"name": person.name if person else "陈工", "id_number": person.id_number if person else id_number(),
            "mobile": person.mobile if person else "13612345678", "hukou": "non_local", "monthly_income": 420000}
    return {**base, **kw}


def employees_of(client: Any, employer: Citizen, group_id: str, query: str = "") -> dict[str, Any]:
    status, body = call(client, "GET", f"/v1/employer/groups/{group_id}/employees{query}", employer.headers())
    assert status == 200, body
    return body


@pytest.fixture()
def employer(stack: Any, client: Any) -> Citizen:
    return make_employer(stack, client)


@pytest.fixture()
def group(client: Any, employer: Citizen) -> dict[str, Any]:
    return make_group(client, employer)


# --- the employer account --------------------------------------------------------------------------
def test_employer_registration_checks_the_credit_code(stack: Any, client: Any) -> None:
    employer = Citizen(stack, "某公司", role="employer")
    good = credit_code()
    wrong_check = good[:17] + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != good[17])
    for bad in (wrong_check, "91440700MA4U0000I", "91440700MA4U00000I", "123", good[:17] + "Z"):
        status, body = call(client, "POST", "/v1/me/employer", employer.headers(), {"name": "某公司", "credit_code": bad})
        assert status == 400 and body["error"]["code"] == "INVALID_CREDIT_CODE", (bad, body)
        assert body["error"]["field"] == "credit_code"
    status, _ = call(client, "GET", "/v1/me", employer.headers())
    assert status == 403  # nothing was registered by the refused attempts
    status, body = call(client, "POST", "/v1/me/employer", employer.headers(),
                        {"name": "某公司", "credit_code": good.lower()})
    assert status == 201 and body["credit_code"] == good and good[17] == credit_check_char(good[:17])


def test_a_group_needs_an_employer_registration(stack: Any, client: Any) -> None:
    unregistered = Citizen(stack, "未登记单位", role="employer")
    status, body = call(client, "POST", "/v1/employer/groups", unregistered.headers(), {"name": "第一批"})
    assert status == 403 and body["error"]["code"] == "REGISTRATION_REQUIRED", body
    status, body = call(client, "GET", "/v1/employer/groups", unregistered.headers())
    assert status == 200 and body["items"] == []


def test_groups_are_listed_and_read_by_their_employer_only(stack: Any, client: Any, employer: Citizen) -> None:
    first, second = make_group(client, employer, "第一批"), make_group(client, employer, "第二批")
    assert first["group_id"].startswith("grp_") and first["employer_name"] == "江门示范制造有限公司"
    status, page = call(client, "GET", "/v1/employer/groups?limit=1", employer.headers())
    assert status == 200 and [g["group_id"] for g in page["items"]] == [second["group_id"]]  # newest first
    status, rest = call(client, "GET", f"/v1/employer/groups?limit=1&cursor={page['next_cursor']}", employer.headers())
    assert status == 200 and [g["group_id"] for g in rest["items"]] == [first["group_id"]]
    status, got = call(client, "GET", f"/v1/employer/groups/{first['group_id']}", employer.headers())
    assert status == 200 and got == first

    other = make_employer(stack, client, "另一家公司")
    for path in (f"/v1/employer/groups/{first['group_id']}", f"/v1/employer/groups/{first['group_id']}/employees",
                 "/v1/employer/groups/grp_doesnotexist"):
        status, body = call(client, "GET", path, other.headers())
        assert status == 404 and body["error"]["code"] == "GROUP_NOT_FOUND", (path, body)
    status, body = call(client, "POST", f"/v1/employer/groups/{first['group_id']}/employees", other.headers(),
                        employee_body())
    assert status == 404 and body["error"]["code"] == "GROUP_NOT_FOUND"
    status, body = call(client, "GET", "/v1/employer/groups", other.headers())
    assert status == 200 and body["items"] == []


def test_citizens_and_strangers_may_not_use_employer_routes(stack: Any, client: Any, tokens: Any,
                                                           group: dict[str, Any]) -> None:
    citizen = registered_citizen(stack, client, "王五")
    g = group["group_id"]
    routes = [("GET", "/v1/employer/groups", None), ("POST", "/v1/employer/groups", {"name": "x"}),
              ("GET", f"/v1/employer/groups/{g}", None), ("GET", f"/v1/employer/groups/{g}/employees", None),
              ("POST", f"/v1/employer/groups/{g}/employees", employee_body()),
              ("POST", f"/v1/employer/groups/{g}/employees/import", {"csv": f"{HEADER}\n"})]
    for method, path, data in routes:
        for headers in (citizen.headers(), tokens.headers("staff")):
            status, body = call(client, method, path, headers, data)
            assert status == 403 and body["error"]["code"] == "FORBIDDEN", (method, path, body)
        status, body = call(client, method, path, {"Content-Type": "application/json"}, data)
        assert status == 401, (method, path)


# --- the whole path for one employee ------------------------------------------------------------------
def test_employer_adds_documents_and_submits_for_a_consenting_employee(stack: Any, client: Any, tokens: Any,
                                                                       employer: Citizen,
                                                                       group: dict[str, Any]) -> None:
    worker = registered_citizen(stack, client, "邓志强")
    g = group["group_id"]
    status, app = call(client, "POST", f"/v1/employer/groups/{g}/employees", employer.headers(), employee_body(worker))
    assert status == 201, app
    assert app["kind"] == "group" and app["status"] == "draft" and app["group_id"] == g and app["as"] == "employer"
    assert app["members"][0]["name"] == "邓*强" and "*" in app["members"][0]["id_number"]  # masked for the employer
    assert app["employer"] == {"name": "江门示范制造有限公司"}
    app_id, path = app["application_id"], f"/v1/applications/{app['application_id']}"

    # the employee sees it among their applications and consents under their own login
    status, mine = call(client, "GET", "/v1/me/applications", worker.headers())
    assert status == 200 and app_id in [a["application_id"] for a in mine["items"]]
    status, body = call(client, "POST", f"{path}/submit", employer.headers(), {"version": app["version"]})
    assert status == 409 and body["error"]["code"] == "CONSENT_MISSING"
    status, consent = call(client, "POST", f"{path}/consent", worker.headers(), {"text_version": "2026-01", "agree": True})
    assert status == 200 and consent["status"] == "given" and consent["method"] == "app", consent
    status, body = call(client, "POST", f"{path}/consent", employer.headers(), {"text_version": "2026-01", "agree": True})
    assert status == 403  # consent is the employee's own act, never the employer's

    [item] = employees_of(client, employer, g)["items"]
    assert item["consent"]["status"] == "given" and item["documents"] == {
        "required": 3, "accepted": 0, "checking": 0, "rejected": 0,
        "missing": [{"type": t, "type_name": n} for t, n in zip(GROUP_DOCUMENTS, ("身份证", "劳动合同", "承诺书"))]}

    for doc_type in GROUP_DOCUMENTS:
        upload(client, employer.headers(), app_id, doc_type)
    assert employees_of(client, employer, g)["items"][0]["documents"]["checking"] == 3
    stack.drain()
    status, fresh = call(client, "GET", path, employer.headers())
    assert status == 200 and all(r["accepted"] for r in fresh["required_documents"]), fresh["required_documents"]
    status, submitted = call(client, "POST", f"{path}/submit", employer.headers(), {"version": fresh["version"]})
    assert status == 200, submitted
    assert submitted["status"] == "submitted"

    [item] = employees_of(client, employer, g)["items"]
    assert item["application_id"] == app_id and item["status"] == "submitted" and item["status_name"] == "已提交"
    assert item["name"] == "邓*强" and item["id_number"] == worker.id_number[:4] + "*" * 10 + worker.id_number[-4:]
    assert item["documents"]["accepted"] == 3 and item["documents"]["missing"] == [] and item["supplement"] is None
    assert item["submitted_at"]

    # staff ask for a supplement of this one employee; the employer sees it and answers it
    staff = tokens.headers("staff")
    status, asked = call(client, "POST", f"/v1/staff/applications/{app_id}/supplement", staff,
                         {"version": submitted["version"], "documents": ["labour_contract"], "note": "请补充劳动合同"})
    assert status == 200, asked
    [item] = employees_of(client, employer, g)["items"]
    assert item["status"] == "supplement_requested"
    assert item["supplement"]["note"] == "请补充劳动合同" and item["supplement"]["deadline"]
    assert item["supplement"]["documents"] == [{"type": "labour_contract", "type_name": "劳动合同", "uploaded": False}]
    status, body = call(client, "POST", f"{path}/submit", employer.headers(), {"version": asked["version"]})
    assert status == 409 and body["error"]["code"] == "DOCUMENTS_INCOMPLETE"

    upload(client, employer.headers(), app_id, "labour_contract")
    stack.drain()
    [item] = employees_of(client, employer, g)["items"]
    assert item["supplement"]["documents"][0]["uploaded"] is True
    status, fresh = call(client, "GET", path, employer.headers())
    status, again = call(client, "POST", f"{path}/submit", employer.headers(), {"version": fresh["version"]})
    assert status == 200 and again["status"] == "submitted", again
    [item] = employees_of(client, employer, g)["items"]
    assert item["status"] == "submitted" and item["supplement"] is None

    status, timeline = call(client, "GET", f"{path}/timeline", employer.headers())
    assert status == 200
    steps = [(e["type"], e["actor_role"]) for e in timeline["items"]]
    assert ("created", "employer") in steps and ("consent_given", "member") in steps
    assert ("submitted", "employer") in steps and ("supplement_requested", "staff") in steps
    assert ("resubmitted", "employer") in steps


def test_one_employee_bad_input(client: Any, employer: Citizen, group: dict[str, Any]) -> None:
    path = f"/v1/employer/groups/{group['group_id']}/employees"
    good = employee_body()
    bad_check = good["id_number"][:17] + ("0" if good["id_number"][17] != "0" else "1")
    cases = [
        ({"id_number": bad_check}, 400, "INVALID_ID_NUMBER", "id_number"),
        ({"id_number": "44070319901301123X"}, 400, "INVALID_ID_NUMBER", "id_number"),
        ({"id_number": id_number("20150601")}, 400, "INVALID_PARAMETER", "id_number"),  # a child
        ({"mobile": "1381234"}, 400, "INVALID_MOBILE", "mobile"),
        ({"mobile": "23812345678"}, 400, "INVALID_MOBILE", "mobile"),
        ({"monthly_income": -1}, 400, "INVALID_PARAMETER", "monthly_income"),
        ({"hukou": "mars"}, 400, "INVALID_PARAMETER", "hukou"),
        ({"name": ""}, 400, "INVALID_PARAMETER", "name"),
    ]
    for change, status_code, code, field in cases:
        status, body = call(client, "POST", path, employer.headers(), {**good, **change})
        assert (status, body["error"]["code"], body["error"].get("field")) == (status_code, code, field), (change, body)
    assert employees_of(client, employer, group["group_id"])["items"] == []  # nothing half-written

    status, first = call(client, "POST", path, employer.headers(), good)
    assert status == 201, first
    status, body = call(client, "POST", path, employer.headers(), good)
    assert status == 409 and body["error"]["code"] == "EMPLOYEE_ALREADY_ADDED" and body["error"]["field"] == "id_number"
    assert first["application_id"] in body["error"]["detail"]
    # the same employee in another group of the same employer: still one open application
    other_group = make_group(client, employer, "第二批")
    status, body = call(client, "POST", f"/v1/employer/groups/{other_group['group_id']}/employees", employer.headers(),
                        good)
    assert status == 409 and body["error"]["code"] == "EMPLOYEE_ALREADY_ADDED"
    assert len(employees_of(client, employer, group["group_id"])["items"]) == 1


# --- another employer's staff --------------------------------------------------------------------------
def test_an_employer_cannot_add_another_employers_staff(stack: Any, client: Any, employer: Citizen,
                                                        group: dict[str, Any]) -> None:
    worker = registered_citizen(stack, client, "黄小云")
    status, theirs = call(client, "POST", f"/v1/employer/groups/{group['group_id']}/employees", employer.headers(),
                          employee_body(worker))
    assert status == 201, theirs

    rival = make_employer(stack, client, "竞争对手有限公司")
    rival_group = make_group(client, rival)
    rg = rival_group["group_id"]
    status, body = call(client, "POST", f"/v1/employer/groups/{rg}/employees", rival.headers(), employee_body(worker))
    assert status == 409 and body["error"]["code"] == "EMPLOYEE_OF_ANOTHER_EMPLOYER", body
    assert body["error"]["field"] == "id_number" and "detail" not in body["error"]  # not a word about which employer
    assert body["error"]["message"] and not body["error"]["message"].isascii()
    csv = f"{HEADER}\n{worker.name},{worker.id_number},{worker.mobile},本市,300000\n"
    status, result = call(client, "POST", f"/v1/employer/groups/{rg}/employees/import", rival.headers(), {"csv": csv})
    assert status == 200 and result["created"] == []
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(2, "EMPLOYEE_OF_ANOTHER_EMPLOYER")]

    # nothing lost, nothing half-written: the rival has no employee, the first employer's is intact
    assert employees_of(client, rival, rg)["items"] == []
    status, kept = call(client, "GET", f"/v1/applications/{theirs['application_id']}", employer.headers())
    assert status == 200 and kept["status"] == "draft" and kept["version"] == theirs["version"]
    assert kept["group_id"] == group["group_id"]
    status, body = call(client, "GET", f"/v1/applications/{theirs['application_id']}", rival.headers())
    assert status == 404 and body["error"]["code"] == "APPLICATION_NOT_FOUND"
    status, mine = call(client, "GET", "/v1/me/applications", worker.headers())
    assert [a["application_id"] for a in mine["items"]] == [theirs["application_id"]]

    # once the first employer withdraws the employee, the other may list them
    status, _ = call(client, "POST", f"/v1/applications/{theirs['application_id']}/withdraw", employer.headers(),
                     {"version": kept["version"]})
    assert status == 200
    status, body = call(client, "POST", f"/v1/employer/groups/{rg}/employees", rival.headers(), employee_body(worker))
    assert status == 201, body


# --- CSV ----------------------------------------------------------------------------------------------------
def test_csv_import_keeps_valid_rows_and_reports_each_bad_row(client: Any, employer: Citizen,
                                                              group: dict[str, Any]) -> None:
    g = group["group_id"]
    good1, good2, good3 = id_number("19950505"), id_number("19880808", male=False), id_number("19920202")
    bad_check = good1[:17] + ("0" if good1[17] != "0" else "1")
    lines = [
        HEADER + ",备注",
        f"何志明,{good1},13512345678,local,400000,A",           # 2 kept
        f"坏号码,{bad_check},13512345679,本市,300000,",         # 3 bad ID (check digit)
        "格式错,12345,13512345670,本市,300000,",                # 4 bad ID (format)
        f"坏手机,{good2},1351234,本市,300000,",                 # 5 bad mobile
        f"何志明,{good1},13512345678,local,400000,重复",        # 6 duplicate of row 2
        "",                                                     # 7 blank: skipped
        f"李秀英,{good2},13512345671,非本市户籍,350000,",       # 8 kept
        f",{good3},13512345672,本市,300000,",                   # 9 no name
        f"钱多多,{good3},13512345672,本市,三千,",               # 10 income not a number
        f"小孩子,{id_number('20150601')},13512345673,本市,0,",  # 11 a child
        f"户籍错,{id_number()},13512345674,火星,0,",            # 12 bad hukou
    ]
    status, result = call(client, "POST", f"/v1/employer/groups/{g}/employees/import", employer.headers(),
                          {"csv": "\n".join(lines) + "\n"})
    assert status == 200, result
    assert result["rows"] == 10 and result["ignored_columns"] == ["备注"]
    assert [c["row"] for c in result["created"]] == [2, 8]
    assert result["created"][0]["name"] == "何*明" and result["created"][0]["id_number"].count("*") == 10
    errors = {e["row"]: (e["field"], e["code"]) for e in result["errors"]}
    assert errors == {
        3: ("id_number", "INVALID_ID_NUMBER"), 4: ("id_number", "INVALID_ID_NUMBER"),
        5: ("mobile", "INVALID_MOBILE"), 6: ("id_number", "DUPLICATE_ROW"), 9: ("name", "VALUE_REQUIRED"),
        10: ("monthly_income", "INVALID_AMOUNT"), 11: ("id_number", "INVALID_PARAMETER"),
        12: ("hukou", "INVALID_PARAMETER"),
    }, result["errors"]
    assert all(e["message"] and not e["message"].isascii() for e in result["errors"])  # zh-CN for the employer
    assert "row 2" in next(e for e in result["errors"] if e["row"] == 6)["detail"]
    assert not any(good1 in str(e) or bad_check in str(e) for e in result["errors"])  # no ID number in clear

    listed = employees_of(client, employer, g)["items"]
    assert sorted(i["application_id"] for i in listed) == sorted(c["application_id"] for c in result["created"])
    status, app = call(client, "GET", f"/v1/applications/{result['created'][1]['application_id']}", employer.headers())
    assert app["members"][0]["hukou"] == "non_local" and app["members"][0]["sex"] == "female"

    # the same file again: the kept rows are already in the group, nothing is created twice
    status, again = call(client, "POST", f"/v1/employer/groups/{g}/employees/import", employer.headers(),
                         {"csv": "\n".join(lines)})
    assert status == 200 and again["created"] == []
    assert {e["row"]: e["code"] for e in again["errors"]}[2] == "EMPLOYEE_ALREADY_ADDED"
    assert {e["row"]: e["code"] for e in again["errors"]}[8] == "EMPLOYEE_ALREADY_ADDED"
    assert len(employees_of(client, employer, g)["items"]) == 2


def test_csv_with_english_headers_bom_and_quotes(client: Any, employer: Citizen, group: dict[str, Any]) -> None:
    csv = ("\ufeffid_number,name,mobile,monthly_income\r\n"
           f"{id_number().lower()},\"欧阳·娜娜\",+8613712345678,\"1,200\"\r\n"
           f"{id_number()},Zhang Wei,13712345679,\r\n")
    status, result = call(client, "POST", f"/v1/employer/groups/{group['group_id']}/employees/import",
                          employer.headers(), {"csv": csv})
    assert status == 200 and result["errors"] == [] and len(result["created"]) == 2, result
    status, app = call(client, "GET", f"/v1/applications/{result['created'][0]['application_id']}", employer.headers())
    assert app["members"][0]["hukou"] == "local" and app["contact_mobile"] == "137****5678"


def test_csv_that_cannot_be_read_as_a_whole_writes_nothing(client: Any, employer: Citizen,
                                                           group: dict[str, Any]) -> None:
    path = f"/v1/employer/groups/{group['group_id']}/employees/import"
    row = f"陈工,{id_number()},13612345678,本市,300000"
    too_many = HEADER + "\n" + "\n".join(f"陈工{i},{id_number()},13612345678,本市,0" for i in range(501))
    for csv, code in (("\n\n", "INVALID_PARAMETER"),  # blank: the body's csv is required, before any reading
                      (f"姓名,手机号\n{row}", "INVALID_CSV"), (f"{HEADER}\n", "INVALID_CSV"),
                      ("a,b,c\n1,2,3", "INVALID_CSV"), (too_many, "INVALID_CSV"), ('x,"unclosed\n', "INVALID_CSV")):
        status, body = call(client, "POST", path, employer.headers(), {"csv": csv})
        assert (status, body["error"]["code"]) == (400, code), (csv[:30], body)
        assert body["error"]["field"] == "csv"
    status, body = call(client, "POST", path, employer.headers(), {"csv": too_many})
    assert body["error"]["code"] == "INVALID_CSV" and "501" in body["error"]["detail"]
    status, body = call(client, "POST", path, employer.headers(), {"text": row})
    assert status == 400
    status, body = call(client, "POST", path, employer.headers(), {"csv": f"{HEADER}\n{row},多,余"})
    assert status == 200 and body["errors"][0]["row"] == 2 and body["created"] == []
    assert employees_of(client, employer, group["group_id"])["items"] == []


def test_progress_is_paginated(client: Any, employer: Citizen, group: dict[str, Any]) -> None:
    g = group["group_id"]
    csv = HEADER + "\n" + "\n".join(f"职工{'甲乙丙'[i]},{id_number('19900303')},1361234567{i},本市,0" for i in range(3))
    status, result = call(client, "POST", f"/v1/employer/groups/{g}/employees/import", employer.headers(), {"csv": csv})
    assert status == 200 and len(result["created"]) == 3, result
    seen, cursor = [], ""
    for _ in range(5):
        page = employees_of(client, employer, g, f"?limit=2{'&cursor=' + cursor if cursor else ''}")
        seen += [i["application_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(c["application_id"] for c in result["created"])
    status, body = call(client, "GET", f"/v1/employer/groups/{g}/employees?cursor=forged", employer.headers())
    assert status == 400 and body["error"]["code"] == "INVALID_CURSOR"


def test_rows_not_started_in_time_are_reported_not_lost(client: Any, employer: Citizen,
                                                        group: dict[str, Any]) -> None:
    from chalicelib import errors
    from chalicelib.auth import authenticate
    from chalicelib.domain import groups

    actor = authenticate(f"Bearer {employer.token}", ("employer",))
    csv = HEADER + "\n" + "\n".join(f"职工{'甲乙'[i]},{id_number()},1361234567{i},本市,0" for i in range(2))
    result = groups.import_csv(group["group_id"], actor, csv, budget_s=1e-9)
    assert result.created == [] and [(n, type(e)) for n, e in result.failed] == [
        (2, errors.ServiceUnavailable), (3, errors.ServiceUnavailable)]
    assert employees_of(client, employer, group["group_id"])["items"] == []
    again = groups.import_csv(group["group_id"], actor, csv)
    assert [n for n, _ in again.created] == [2, 3] and again.failed == []


def test_an_employee_with_an_active_application_of_their_own_is_refused(stack: Any, client: Any,
                                                                        employer: Citizen,
                                                                        group: dict[str, Any]) -> None:
    person = registered_citizen(stack, client, "周大福")
    status, _ = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
    assert status == 200
    status, own = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, own
    for doc_type in ("id_card", "hukou", "commitment", "application_form"):
        upload(client, person.headers(), own["application_id"], doc_type)
    stack.drain()
    status, _ = call(client, "POST", f"/v1/applications/{own['application_id']}/consent", person.headers(),
                     {"text_version": "2026-01", "agree": True})
    status, fresh = call(client, "GET", f"/v1/applications/{own['application_id']}", person.headers())
    status, submitted = call(client, "POST", f"/v1/applications/{own['application_id']}/submit", person.headers(),
                             {"version": fresh["version"]})
    assert status == 200, submitted

    status, body = call(client, "POST", f"/v1/employer/groups/{group['group_id']}/employees", employer.headers(),
                        employee_body(person))
    assert status == 409 and body["error"]["code"] == "PERSON_ALREADY_APPLYING", body
    assert body["error"]["field"] == "id_number" and person.id_number not in str(body)
    assert employees_of(client, employer, group["group_id"])["items"] == []
    status, mine = call(client, "GET", "/v1/me/applications", person.headers())
    assert [(a["application_id"], a["status"]) for a in mine["items"]] == [(own["application_id"], "submitted")]


def test_csv_rows_are_refused_precisely_in_chinese(client: Any, employer: Citizen, group: dict[str, Any]) -> None:
    """Names and ID numbers of CSV rows follow the same rules as the bodies (issue 9 §4)."""
    nowhere = "000000198801010" + "12"
    nowhere += id_check_digit(nowhere)
    lines = [HEADER, f"周\u202e华明,{id_number()},13612345670,本市,0", f"周明1,{id_number()},13612345671,本市,0",
             f"周明华,{nowhere},13612345672,本市,0", f"周明华,{id_number()[:-1] + 'Y'},13612345673,本市,0",
             f"周明华,{id_number()},13612345674,本市,1.5"]
    status, result = call(client, "POST", f"/v1/employer/groups/{group['group_id']}/employees/import",
                          employer.headers(), {"csv": "\n".join(lines)})
    assert status == 200 and result["created"] == [], result
    said = {e["row"]: (e["field"], e["message"]) for e in result["errors"]}
    assert said == {2: ("name", "职工姓名不能包含文字方向控制字符"), 3: ("name", "职工姓名只能包含汉字、字母、“·”和空格"),
                    4: ("id_number", "身份证号码的地区代码不存在"),
                    5: ("id_number", "身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X"),
                    6: ("monthly_income", "月收入（分）应为以分为单位的非负整数，如 350000")}, result["errors"]
