"""Bad input is refused precisely, in Chinese (issue 9 §4), generated from the declarations:

* every field of every body model in chalicelib/bodies.py has a Chinese label, and a value of the
  wrong type (a string for an integer, 1 or "yes" for a boolean, 1.0 or true for an integer, ...) is
  refused with a message that is Chinese and names the field by that label, ``field`` being its path;
* every query parameter of every route refuses a bad value with a Chinese message naming it;
* the same over HTTP for every write route with a body model and every route with query parameters;
* ID numbers (division code, birth date, check digit) and names have their own table tests.

A new model, field or parameter without a label fails here.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import chalicelib.bodies as bodies
import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib import errors
from chalicelib.domain.idnumbers import id_check_digit, parse_id_number
from chalicelib.domain.names import parse_person_name
from chalicelib.messages import from_pydantic, label
from chalicelib.validation import validate
from chalicelib.web import OPERATIONS, Param

CJK = re.compile(r"[\u4e00-\u9fff]")
MODELS = sorted((obj for obj in vars(bodies).values() if isinstance(obj, type) and issubclass(obj, bodies.Body)
                 and obj is not bodies.Body), key=lambda m: m.__name__)
FIELDS = [(m, name) for m in MODELS for name in m.model_fields]


def _zh(message: str) -> bool:
    return bool(message) and bool(CJK.search(message))


def _types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a property schema admits (through anyOf / $ref / enum / const)."""
    if "anyOf" in prop:
        return set().union(*(_types(p) for p in prop["anyOf"]))
    if "$ref" in prop:
        return {"object"}
    if "const" in prop:
        return {"boolean" if isinstance(prop["const"], bool) else "string"}
    if "enum" in prop and "type" not in prop:
        return {"string"}
    kind = prop.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def wrong_values(model: type[BaseModel], name: str) -> Iterator[Any]:
    """Values of the wrong JSON type for a field, strictness included (true is not 1, 1 is not true)."""
    schema = model.model_json_schema()
    types = _types(schema["properties"][name]) - {"null"}
    if "boolean" in types:
        yield from (1, 0, "yes", "true")
    if "integer" in types:
        yield from ("1", 1.0, True, 1.5)
    if "number" in types and "integer" not in types:
        yield from ("1", True)
    if "string" in types:
        yield from (1, True, ["x"])
    if "array" in types:
        yield from ("x", {"a": 1})
    if "object" in types:
        yield from ("x", [1])


def _error_at(model: type[BaseModel], data: dict[str, Any], path: str) -> tuple[str | None, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(data))
    at = [e for e in caught.value.errors(include_url=False) if f'{".".join(map(str, e["loc"]))}.'.startswith(path + ".")]
    assert at, (model.__name__, data, caught.value.errors())
    return from_pydantic(model, dict(at[0]))


@pytest.mark.parametrize("model,name", FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_every_body_field_has_a_chinese_label_shown_as_its_title(model: type[BaseModel], name: str) -> None:
    found = label(model, name)
    assert found and _zh(found), f"{model.__name__}.{name}: add a label to chalicelib/messages.py LABELS"
    assert model.model_json_schema()["properties"][name]["title"] == found


@pytest.mark.parametrize("model,name", FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_a_wrong_type_is_refused_naming_the_field(model: type[BaseModel], name: str) -> None:
    values = list(wrong_values(model, name))
    assert values, f"{model.__name__}.{name}: no JSON type known"
    for value in values:
        field, message = _error_at(model, {name: value}, name)
        assert field == name and _zh(message) and label(model, name) in message, (model.__name__, name, value, message)
        try:  # what the route answers: the first problem of the body, in Chinese
            validate(f"chalicelib.bodies:{model.__name__}", {name: value})
        except errors.InvalidInput as exc:
            assert exc.field and _zh(exc.message or ""), (model.__name__, name, value, exc.message)
        else:
            pytest.fail(f"{model.__name__}.{name}={value!r} accepted")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_unknown_fields_are_refused_by_name(model: type[BaseModel]) -> None:
    field, message = _error_at(model, {"zz_unknown": 1}, "zz_unknown")
    assert field == "zz_unknown" and _zh(message) and "zz_unknown" in message


BOOLEAN_FIELDS = [(m, n) for m, n in FIELDS if _types(m.model_json_schema()["properties"][n]) - {"null"} == {"boolean"}]
INTEGER_FIELDS = [(m, n) for m, n in FIELDS if "integer" in _types(m.model_json_schema()["properties"][n])]


def test_strictness_covers_the_fields_that_matter() -> None:
    assert (bodies.MemberIn, "veteran") in BOOLEAN_FIELDS and (bodies.MemberIn, "monthly_income") in INTEGER_FIELDS
    assert len(BOOLEAN_FIELDS) >= 8 and len(INTEGER_FIELDS) >= 10


def test_nested_and_dict_fields_name_their_path_and_label() -> None:
    member = {"relation": "self", "name": "周明华", "id_number": "440703198808080011", "veteran": 1}
    field, message = _error_at(bodies.HouseholdIn, {"members": [member]}, "members.0.veteran")
    assert (field, message) == ("members.0.veteran", "是否退役军人应为 true 或 false")
    field, message = _error_at(bodies.ApplicationIn, {"kind": "individual", "declared": {"veteran": "yes"}},
                               "declared.veteran")
    assert field == "declared.veteran" and "申报信息" in message and "veteran" in message
    for agree in (False, 1, "true"):
        field, message = _error_at(bodies.ConsentIn, {"text_version": "v1", "agree": agree}, "agree")
        assert _zh(message) and "同意授权" in message


# --- query parameters ----------------------------------------------------------------------------
PARAMS = sorted({(op.path, op.method, p) for op in OPERATIONS for p in op.params},
                key=lambda t: (t[0], t[1], t[2].name))


def bad_values(param: Param) -> Iterator[str]:
    yield "x" * (max(param.max_length, 256) + 1)
    if param.kind == "integer":
        yield from ("abc", "1.5", "1e3")
    if param.kind == "number":
        yield from ("abc", "nan", "inf")
    if param.kind in ("integer", "number"):
        if param.minimum is not None:
            yield str(int(param.minimum) - 1)
        if param.maximum is not None:
            yield str(int(param.maximum) + 1)
    if param.kind == "enum":
        yield "no-such-choice"
    if param.kind == "bbox":
        yield from ("1,2,3", "a,b,c,d")
    if param.kind == "string" and param.pattern:
        yield "!! bad !!"
    if param.kind == "string":
        yield "查\u202e看"  # a bidi override
        yield "a\x00b"


@pytest.mark.parametrize("path,method,param", PARAMS, ids=lambda x: getattr(x, "name", x))
def test_every_query_parameter_refuses_in_chinese_naming_it(path: str, method: str, param: Param) -> None:
    assert _zh(param.zh), f"{method} {path} ?{param.name}: give it a Chinese description or label"
    for raw in bad_values(param):
        with pytest.raises(errors.InvalidInput) as caught:
            param.parse(raw)
        assert caught.value.field == param.name and param.zh in (caught.value.message or ""), (param.name, raw)


def test_the_issue_s_own_examples() -> None:
    limit = next(p for op in OPERATIONS for p in op.params if p.name == "limit" and p.maximum == 100)
    with pytest.raises(errors.InvalidInput) as caught:
        limit.parse("101")
    assert caught.value.message == "每页条数不能超过 100"
    with pytest.raises(errors.InvalidIdNumber) as bad:
        parse_id_number("440703198808080012")
    assert bad.value.message == "身份证号码校验位不正确"


# --- over HTTP: the envelope carries the message and the path ---------------------------------------
def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", template)


BODY_ROUTES = [op for op in OPERATIONS if op.body and op.roles]


@pytest.mark.parametrize("op", BODY_ROUTES, ids=lambda op: f"{op.method} {op.path}")
def test_every_body_route_answers_a_wrong_type_in_chinese(client: Any, tokens: Any, op: Any) -> None:
    model = getattr(bodies, op.body.partition(":")[2])
    send = getattr(client.http, op.method.lower())
    for name in model.model_fields:
        value = next(wrong_values(model, name))
        response = send(_path(op.path), headers=tokens.headers(op.roles[0]), body=json.dumps({name: value}))
        err = json.loads(response.body)["error"]
        assert response.status_code == 400 and err["code"] == "INVALID_PARAMETER", (op.path, name, err)
        assert err["field"] and _zh(err["message"]) and err["message"] != "请求参数不正确", (op.path, name, err)
        top = err["field"].split(".")[0]
        assert label(model, top) in err["message"] or top not in model.model_fields, (op.path, name, err)


def _good(param: Param) -> str:
    """A value the parameter parses (for the required ones beside the one under test)."""
    if param.kind == "bbox":
        return "112.9,22.4,113.3,22.8"
    if param.kind in ("integer", "number"):
        return str(int(param.minimum or 0))
    return param.choices[0] if param.choices else "a1"


QUERY_ROUTES = [op for op in OPERATIONS if op.method == "GET" and op.params]


@pytest.mark.parametrize("op", QUERY_ROUTES, ids=lambda op: f"{op.method} {op.path}")
def test_every_query_route_answers_a_bad_value_in_chinese(client: Any, tokens: Any, op: Any) -> None:
    headers = tokens.headers(op.roles[0]) if op.roles else {}
    required = {p.name: _good(p) for p in op.params if p.required}
    for param in op.params:
        query = urlencode({**required, param.name: next(bad_values(param))})
        response = client.http.get(f"{_path(op.path)}?{query}", headers=headers)
        err = json.loads(response.body)["error"]
        assert response.status_code == 400 and err["field"] == param.name, (op.path, param.name, err)
        assert param.zh in err["message"], (op.path, param.name, err)
    response = client.http.get(f"{_path(op.path)}?zz_unknown=1", headers=headers)
    err = json.loads(response.body)["error"]
    assert response.status_code == 400 and err["field"] == "zz_unknown" and _zh(err["message"])


# --- ID numbers ----------------------------------------------------------------------------------
def _id(first17: str) -> str:
    return first17 + id_check_digit(first17)


@pytest.mark.parametrize("value,message", [
    ("12345", "身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X"),
    ("44070319880808001A", "身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X"),
    ("٤٤٠٧٠٣١٩٨٨٠٨٠٨٠٠١١", "身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X"),  # Arabic-Indic digits
    (_id("00000019880808001"), "身份证号码的地区代码不存在"),
    (_id("99070319880808001"), "身份证号码的地区代码不存在"),
    (_id("16070319880808001"), "身份证号码的地区代码不存在"),  # 16: no such province
    (_id("44000019880808001"), "身份证号码的地区代码不存在"),  # a province, not a person's county
    (_id("44001219880808001"), "身份证号码的地区代码不存在"),
    (_id("81070319880808001"), "身份证号码的地区代码不存在"),  # 81 is only 810000 (residence permits)
    (_id("44070319880230001"), "身份证号码中的出生日期不正确"),
    (_id("44070319881301001"), "身份证号码中的出生日期不正确"),
    (_id("44070318991231001"), "身份证号码中的出生日期不正确"),
    (_id("44070330000101001"), "身份证号码中的出生日期不正确"),
    ("440703198808080012", "身份证号码校验位不正确"),
])
def test_id_number_failures_each_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(errors.InvalidIdNumber) as caught:
        parse_id_number(value, field="members.1.id_number")
    assert (caught.value.message, caught.value.field) == (message, "members.1.id_number")


@pytest.mark.parametrize("first17", ["44070319880808001", "11010119900307002", "65010219000101003",
                                     "81000019900101004", "83000020000229005", "54010220260101006"])
def test_real_id_numbers_pass(first17: str) -> None:
    assert parse_id_number(_id(first17).lower()).value == _id(first17)


def test_full_width_digits_are_the_same_digits() -> None:
    assert parse_id_number("４４０７０３１９８８０８０８００１１").value == "440703198808080011"


def test_the_test_generators_make_valid_numbers() -> None:
    from tests.applying import JIANGMEN_REGIONS, id_number

    for _ in range(len(JIANGMEN_REGIONS) * 500 + 1):
        parse_id_number(id_number())
    registry = json.loads(open("devstack/seed_data/registry.json", encoding="utf-8").read())
    numbers = re.findall(r"\b\d{17}[\dX]\b", json.dumps(registry))
    assert numbers
    for n in numbers:
        parse_id_number(n)


# --- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,expected", [
    ("周明华", "周明华"), ("  欧阳娜娜 ", "欧阳娜娜"), ("阿依古丽·买买提", "阿依古丽·买买提"),
    ("阿依古丽•买买提", "阿依古丽·买买提"), ("Zhang  Wei", "Zhang Wei"), ("王\u3000芳", "王 芳"),
    ("José Ñúñez", "José Ñúñez"), ("Jose\u0301", "José"), ("𠀾明", "𠀾明"), ("བཀྲ་ཤིས", None),
])
def test_names_accepted_and_normalised(raw: str, expected: str | None) -> None:
    if expected is None:  # Tibetan with its tsheg: not a letter; a name card writes it in CJK
        with pytest.raises(errors.InvalidInput):
            parse_person_name(raw)
        return
    assert parse_person_name(raw) == expected == unicodedata.normalize("NFC", expected)


@pytest.mark.parametrize("raw,message", [
    ("周", "姓名至少 2 个字"), ("周" * 31, "姓名不能超过 30 个字"), ("", "姓名不能为空"), ("   ", "姓名不能为空"),
    ("周明\x00华", "姓名不能包含控制字符"), ("周明\n华", "姓名不能包含控制字符"),
    ("周\u202e华明", "姓名不能包含文字方向控制字符"), ("\u2066周明华\u2069", "姓名不能包含文字方向控制字符"),
    ("\u200b\u200b", "姓名不能包含零宽字符"), ("周\u200d明", "姓名不能包含零宽字符"), ("\ufeff周明", "姓名不能包含零宽字符"),
    ("周明1", "姓名只能包含汉字、字母、“·”和空格"), ("周明<script>", "姓名只能包含汉字、字母、“·”和空格"),
    ("·周明", "姓名中的“·”只能用在两个字之间"), ("周··明", "姓名中的“·”只能用在两个字之间"),
    (12, "姓名应为文字"),
])
def test_names_refused_say_why(raw: Any, message: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        parse_person_name(raw)
    assert caught.value.message == message and caught.value.field == "name"


INVISIBLE = st.sampled_from(["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                             "\u2069", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\x00", "\x1b", "\x7f"])
CJK_NAME = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2, max_size=30)


@settings(max_examples=200, deadline=None)
@given(CJK_NAME, INVISIBLE, st.integers(min_value=0, max_value=30))
def test_no_name_with_an_invisible_character_passes(name: str, bad: str, at: int) -> None:
    with pytest.raises(errors.InvalidInput):
        parse_person_name(name[:at] + bad + name[at:])


@settings(max_examples=200, deadline=None)
@given(CJK_NAME)
def test_every_cjk_name_of_2_to_30_passes_unchanged(name: str) -> None:
    assert parse_person_name(name) == name


def test_every_person_name_field_uses_the_name_rule() -> None:
    """Every body field holding a person's name refuses a bidi override: RegisterIn, MemberIn, EmployeeIn."""
    for model in (bodies.RegisterIn, bodies.MemberIn, bodies.EmployeeIn):
        _, message = _error_at(model, {"name": "周\u202e华明"}, "name")
        assert message.endswith("不能包含文字方向控制字符"), (model.__name__, message)
    for model, name in FIELDS:  # every other text too, wherever it sits in a body
        types = _types(model.model_json_schema()["properties"][name]) - {"null"}
        value = "福泽\u202e园" if "string" in types else ["福泽\u202e园"] if "array" in types else None
        if value is not None and name not in model.checked_per_row:
            field, message = _error_at(model, {name: value}, name)
            assert field == name and "文字方向控制字符" in message, (model.__name__, name, message)


# --- every refusal raised in code says its own sentence ------------------------------------------------
def test_every_invalid_input_raised_carries_a_chinese_message() -> None:
    """An AST scan of chalicelib: each ``raise`` of InvalidInput or a subclass passes ``message=``
    (a zh-CN sentence naming the field and what is wrong). The route wrapper's path-id check is the
    one exception: error_body words it from the field's label."""
    import ast
    import pathlib

    family = {n for n, c in vars(errors).items() if isinstance(c, type) and issubclass(c, errors.InvalidInput)}
    missing = []
    for path in sorted(pathlib.Path("chalicelib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                dynamic = isinstance(func, ast.Call) and getattr(func.func, "id", None) == "type"  # type(exc)(...)
                if (name in family or dynamic) and not any(k.arg == "message" for k in node.exc.keywords):
                    missing.append(f"{path}:{node.lineno}")
    assert missing == [], missing


def test_a_malformed_path_id_is_named_in_chinese(client: Any) -> None:
    err = json.loads(client.http.get("/v1/estates/%E7%A6%8F").body)["error"]
    assert (err["field"], err["message"]) == ("estate_id", "项目编号不正确")


@pytest.mark.parametrize("answer,value,message", [
    ("household_size", 1.0, "家庭人数应为整数"), ("household_size", True, "家庭人数应为整数"),
    ("household_size", "3", "家庭人数应为整数"), ("household_size", 0, "家庭人数不能小于 1"),
    ("hukou_local", 1, "申请人是否为本市户籍应为 true 或 false"),
    ("hukou_local", "yes", "申请人是否为本市户籍应为 true 或 false"),
    ("veteran", 1, "是否为退役军人或优抚对象应为 true 或 false"),
    ("household_monthly_income", 600000.0, "家庭月收入合计应为整数"),
])
def test_self_assessment_answers_are_strict_and_named(client: Any, tokens: Any, answer: str, value: Any,
                                                      message: str) -> None:
    """The questionnaire (and an application's declared answers, which it checks) is strict too."""
    response = client.http.post("/v1/self-assessment", headers={"Content-Type": "application/json"},
                                body=json.dumps({"kind": "individual", "answers": {answer: value}}))
    err = json.loads(response.body)["error"]
    assert response.status_code == 400 and (err["field"], err["message"]) == (f"answers.{answer}", message)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["440703", "110101", "650102", "540102", "810000"]),
       st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
       st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=16),
       st.integers(min_value=1, max_value=9))
def test_a_real_number_passes_and_any_one_digit_changed_is_refused(region: str, born: Any, seq: int, at: int,
                                                                   delta: int) -> None:
    good = _id(f"{region}{born:%Y%m%d}{seq:03d}")
    assert parse_id_number(good).birth_date == born
    digits = list(good)
    digits[at] = str((int(digits[at]) + delta) % 10)
    with pytest.raises(errors.InvalidIdNumber):
        parse_id_number("".join(digits))  # the check digit catches every single-digit slip
