"""Personal data never leaves its record in clear (issue 9 §5, docs/decisions/0020): free text is
masked before it is stored (every free-text body field, audit reasons from query parameters), every
log record is masked, the local server's access log has no query string, the local outbox masks the
mobile, and the log scan (tests/logscan.py) fails a test whose output carries personal data."""
from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Iterator, get_args, get_origin

import pytest

from chalicelib.domain.idnumbers import mask_free_text
from tests.applying import id_number
from tests.logscan import find_leaks, known_names

ROOT = Path(__file__).resolve().parent.parent

#: String fields of request bodies that are not masked free text, and why. Anything else that takes
#: a string without a pattern must carry ``bodies.MASKED``: a new free-text field fails here.
NOT_FREE_TEXT: dict[tuple[str, str], str] = {
    **{(m, f): "the person's own identity, stored in its record (masked wherever it is shown)"
       for m, f in [("RegisterIn", "name"), ("RegisterIn", "id_number"), ("RegisterIn", "mobile"),
                    ("EmployerRegisterIn", "credit_code"), ("EmployerRegisterIn", "mobile"),
                    ("MemberIn", "name"), ("MemberIn", "id_number"), ("EmployeeIn", "name"),
                    ("EmployeeIn", "id_number"), ("EmployeeIn", "mobile"), ("GrantIn", "delegate_mobile"),
                    ("ObjectionIn", "contact"), ("ReviewObjectionIn", "contact")]},
    ("EmployeeImportIn", "csv"): "parsed into employees' records (names, ID numbers, mobiles by design)",
    **{(m, "declared"): "answer ids (dict keys), checked against the city's questions"
       for m in ("ApplicationIn", "ApplicationPatch", "AssistedIn", "EmployeeIn", "ReviewAnswerIn")},
    **{(m, f): "a timestamp, parsed as ISO 8601"
       for m, f in [("SupplementIn", "deadline"), ("GrantIn", "expires_at"), ("PublishIn", "ends_at"),
                    ("RoundIn", "registration_opens_at"), ("RoundIn", "registration_closes_at"),
                    ("SelectionStartIn", "starts_at")]},
    **{(m, "photos"): "object keys / URLs of photos" for m in ("EstateIn", "EstatePatch", "UnitIn", "UnitPatch")},
    **{(m, "orientation"): "at most 10 characters: cannot hold a personal number" for m in ("UnitIn", "UnitPatch")},
    ("ConsentIn", "text_version"): "the consent text's version (32 characters)",
    ("ReviewConsentIn", "text_version"): "the consent text's version (32 characters)",
    ("DrawIn", "public_value"): "the lottery's public random value: hashed into the seed, kept verbatim",
}


def _leaves(annotation: Any, meta: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """(type, metadata) for every leaf of an annotation (through Optional, list, dict, Annotated)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        yield from _leaves(base, meta + tuple(more))
    elif origin is not None:
        for arg in get_args(annotation):
            yield from _leaves(arg, meta)
    else:
        yield annotation, meta


def _string_fields() -> Iterator[tuple[str, str, bool]]:
    """(model, field, masked) for every body field that takes an unconstrained string."""
    from pydantic import BaseModel

    from chalicelib import bodies

    for name, cls in vars(bodies).items():
        if not (inspect.isclass(cls) and issubclass(cls, BaseModel) and cls.__module__ == bodies.__name__):
            continue
        for field, info in cls.model_fields.items():
            for base, meta in _leaves(info.annotation, tuple(info.metadata)):
                if base is str and not any(getattr(m, "pattern", None) for m in meta):
                    yield name, field, any(m is bodies.MASKED for m in meta)


# --- the masking function --------------------------------------------------------------------------
@pytest.mark.parametrize("text, masked", [
    ("申请人身份证440703199001011234，电话13812345678", "申请人身份证4407**********1234，电话138****5678"),
    ("44070319900101123X", "4407**********123X"),
    ("旧证 440703900101123", "旧证 4407*******1123"),
    ("银行卡6222021234567890123", "银行卡6222***********0123"),
    ("联系 +86 138-1234-5678 或 8613912345678", "联系 +86 138****5678 或 86139****5678"),
    ("2026年第4批，第2026145期，20261201035959，SHA-256 0a13812345678b", None),
    ("order 12345678901234567890", None),  # 20 digits: no ID number, card or mobile
], ids=["id-and-mobile", "id-x", "id-15", "card", "mobile-forms", "not-personal", "too-long"])
def test_mask_free_text(text: str, masked: str | None) -> None:
    assert mask_free_text(text) == (text if masked is None else masked)
    assert mask_free_text(mask_free_text(text)) == mask_free_text(text)  # idempotent


def test_every_free_text_body_field_is_masked() -> None:
    fields = list(_string_fields())
    assert len(fields) > 40  # the walk found the bodies
    unmasked = [(m, f) for m, f, masked in fields if not masked and (m, f) not in NOT_FREE_TEXT]
    assert not unmasked, f"free-text fields without bodies.MASKED (or a reason in NOT_FREE_TEXT): {unmasked}"


def test_a_masked_body_field_is_stored_masked() -> None:
    from chalicelib.validation import validate

    person = id_number()
    body = validate("chalicelib.bodies:OverrideIn", {
        "version": 1, "recommendation": "pass", "reason": f"电话核实：申请人 {person}，手机 13812345678"})
    assert body["reason"] == f"电话核实：申请人 {person[:4]}{'*' * 10}{person[-4:]}，手机 138****5678"


def test_a_reason_in_a_query_parameter_reaches_the_audit_trail_masked(client: Any, stack: Any, tokens: Any) -> None:
    """GET ...?reason= is free text too: the audit writer masks it (whatever route it came by)."""
    person = id_number()
    target = f"application#A-{person[-6:]}"
    from chalicelib.domain import audit
    from chalicelib.identity import Actor, Role

    actor = Actor(subject="staff-1", roles=frozenset({Role.STAFF}), city="jiangmen", claims={})
    audit.record(actor, target, "read_review", f"市民 {person} 来电（13812345678）查询进度")
    (entry,) = audit.trail(target)
    assert person not in entry["reason"] and "13812345678" not in entry["reason"]
    assert entry["reason"] == f"市民 {person[:4]}{'*' * 10}{person[-4:]} 来电（138****5678）查询进度"


def test_every_log_record_is_masked_before_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    """Not only the Powertools line: a handler the record propagates to (Lambda's root handler, a
    test runner's) sees it masked too, message, arguments, extra keys and exception text alike."""
    from chalicelib.observability import logger

    person = id_number()
    with caplog.at_level("INFO"):
        logger.info("为 %s 办理", person, extra={"contact_name": "周明华", "note": "手机13812345678"})
        try:
            raise ValueError(f"bad {person}")
        except ValueError:
            logger.exception("失败 13812345678")
    text = caplog.text + "".join(str({k: v for k, v in r.__dict__.items() if k != "exc_info"})
                                 for r in caplog.records)
    assert person not in text and "13812345678" not in text and "周明华" not in text
    assert f"{person[:4]}{'*' * 10}{person[-4:]}" in text and "138****5678" in text


# --- the log scan ----------------------------------------------------------------------------------
def test_the_scan_finds_each_kind_of_personal_data() -> None:
    person = id_number()
    wrong_check = person[:17] + ("0" if person[17] != "0" else "1")
    assert find_leaks(f"x {person} y") == [f"ID number {person[:3]}{'*' * 13}{person[-2:]}"]
    assert find_leaks("手机+8613812345678。") == ["mobile 138******78"]
    assert find_leaks("审核人：陈志强", frozenset({"陈志强"})) == ["name 陈**"]
    assert "陈志强" in known_names() and "张三明" in known_names()  # the registry's and the tests' people
    masked = f"{person[:4]}{'*' * 10}{person[-4:]} 138****5678 陈*强"
    assert find_leaks(f"{masked} {wrong_check} 12345678901234567890 a13812345678") == []


LEAKY_TEST = '''
import logging

def test_logs_a_citizen():
    logging.getLogger("somewhere").warning("citizen %s", "{person}")

def test_prints_a_mobile():
    print("sms to 13812345678")

def test_clean():
    print("nothing personal: 4407**********1234")
'''


def test_the_scan_fails_a_test_that_leaks(tmp_path: Path) -> None:
    """A tiny suite run with the scan as a plugin: the two leaking tests fail, the clean one passes."""
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST.replace("{person}", id_number()), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.logscan", "-p", "no:cacheprovider", "-rf",
         str(tmp_path / "test_leaky.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert run.returncode == 1, run.stdout + run.stderr
    summary = run.stdout.splitlines()[-1]
    assert "2 failed, 1 passed" in summary, run.stdout
    assert "FAILED" in run.stdout and "test_logs_a_citizen" in run.stdout and "test_prints_a_mobile" in run.stdout
    assert "personal data in clear" in run.stdout


# --- the local server and the local outbox -----------------------------------------------------------
def test_the_local_access_log_has_no_query_string() -> None:
    """The access-log methods alone (tests/test_local_server.py reads the running server's log)."""
    from devstack.__main__ import _request_handler

    handler = _request_handler()
    person = id_number()
    lines: list[str] = []
    fake = handler.__new__(handler)  # no socket: only the logging methods are exercised
    fake.command, fake.requestline = "GET", f"GET /v1/units?id_number={person}&reason=x HTTP/1.1"
    fake.path = f"/v1/people/{person}/x?id_number={person}&reason=%E6%9F%A5"
    fake.log_message = lambda fmt, *args: lines.append(fmt % args)  # type: ignore[method-assign]
    fake.log_request(200)
    fake.log_error("code %d, message %s", 400, f"Bad request syntax ({fake.requestline!r})")
    assert lines == [f'"GET /v1/people/{person[:4]}{"*" * 10}{person[-4:]}/x" 200',
                     "request refused before routing (400)"]


def test_the_local_outbox_masks_the_mobile(tmp_path: Path) -> None:
    from chalicelib.notify.adapters import RECORDED, LocalOutbox

    outbox = tmp_path / "notifications.jsonl"
    LocalOutbox(str(outbox)).send("13812345678", "【江门市公租房】测试 13912345678")
    recorded = RECORDED.pop()  # other tests read RECORDED: leave it as it was
    written = outbox.read_text(encoding="utf-8")
    assert "13812345678" not in written and "13912345678" not in written
    assert json.loads(written)["mobile"] == "138****5678" and recorded["mobile"] == "138****5678"


def test_capsys_output_is_scanned_too(tmp_path: Path) -> None:
    (tmp_path / "test_reads.py").write_text(
        "def test_reads_its_own_output(capsys):\n    print('sms to 13812345678')\n"
        "    assert '138' in capsys.readouterr().out\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.logscan", "-p", "no:cacheprovider",
                          str(tmp_path / "test_reads.py")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert run.returncode == 1 and "output read with capsys: mobile 138******78" in run.stdout, run.stdout
