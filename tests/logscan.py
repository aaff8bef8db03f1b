"""The log scan (issue 9 §5): every line a test makes the code print or log is read, and the test
fails if one carries personal data in clear: an 18-digit ID number with a valid GB 11643 check
digit, an 11-digit mainland mobile, or the name of a seeded or test person.

What is read: pytest's captured stdout and stderr (Powertools JSON lines go to stdout; the local
server's access log and moto's go to stderr) and its captured log records, phase by phase
(setup, call, teardown), and what a test reads itself with ``capsys.readouterr()``. Request bodies and responses are not read: only what is printed or logged.
It runs wherever the test runs (under xdist, in the worker). tests/conftest.py imports the hook;
tests/test_personal_data.py proves it bites.
"""
from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?(1[3-9]\d{9})(?![0-9A-Za-z])")
#: A person's name: two to four characters, the first a common surname (test placeholders such as
#: 路人甲 or 未申请 are words a log line may well contain, not names).
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
             "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_PERSON_NAME = re.compile(rf"^[{_SURNAMES}][\u4e00-\u9fff]{{1,3}}$")


def _valid_id(value: str) -> bool:
    first17 = value[:17]
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11] == value[17].upper()


def _masked(value: str) -> str:
    return value[:3] + "*" * (len(value) - 5) + value[-2:] if len(value) > 5 else value[0] + "*" * (len(value) - 1)


def find_leaks(text: str, names: frozenset[str] | None = None) -> list[str]:
    """What in ``text`` is personal data in clear, each described (masked: the report is a log too)."""
    found = [f"ID number {_masked(m.group(1))}" for m in _ID18.finditer(text) if _valid_id(m.group(1))]
    found += [f"mobile {_masked(m.group(1))}" for m in _MOBILE.finditer(text)]
    pattern = _names_pattern(known_names() if names is None else names)
    if pattern is not None:
        found += [f"name {m.group(0)[0]}{'*' * (len(m.group(0)) - 1)}" for m in pattern.finditer(text)]
    return found


@functools.lru_cache(maxsize=8)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    if not names:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def _seeded_names() -> Iterator[str]:
    registry = json.loads((ROOT / "devstack" / "seed_data" / "registry.json").read_text(encoding="utf-8"))
    for person in registry.get("persons", {}).values():
        yield person.get("name", "")


def _fixture_names(path: Path) -> Iterator[str]:
    """Names given to people in code: ``name="..."`` keyword arguments and defaults, a test
    ``Citizen``'s name, and ``{"name": ...}`` in a dict that also has an ``id_number`` (a person,
    not an estate or a policy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called == "Citizen" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                yield str(node.args[1].value)  # Citizen(stack, "王五")
            for kw in node.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    yield kw.value.value
        elif isinstance(node, ast.Dict):
            pairs = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            value = pairs.get("name")
            if "id_number" in pairs and isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args[-len(node.args.defaults):] if node.args.defaults else []
            for arg, default in zip(args, node.args.defaults):
                if arg.arg == "name" and isinstance(default, ast.Constant) and isinstance(default.value, str):
                    yield default.value


@functools.lru_cache(maxsize=1)
def known_names() -> frozenset[str]:
    """The people of the seeds (the department registry) and of the tests and demo journeys."""
    names = set(_seeded_names())
    for folder in ("tests", "devstack"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            names.update(_fixture_names(path))
    return frozenset(n for n in names if _PERSON_NAME.fullmatch(n))


_READ_BY_THE_TEST = pytest.StashKey[list[str]]()


@pytest.fixture(autouse=True)
def _scan_what_capsys_hands_the_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Output a test reads with ``capsys.readouterr()`` never reaches the report: scan it there."""
    from _pytest.capture import CaptureFixture

    seen = request.node.stash.setdefault(_READ_BY_THE_TEST, [])
    original = CaptureFixture.readouterr

    def readouterr(self: Any) -> Any:
        result = original(self)
        seen.extend(f"output read with capsys: {leak}" for leak in find_leaks(f"{result.out}\n{result.err}"))
        return result

    monkeypatch.setattr(CaptureFixture, "readouterr", readouterr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.passed:
        return
    leaks = list(item.stash.get(_READ_BY_THE_TEST, [])) if report.when == "call" else []
    for title, content in report.sections:
        if title.endswith(f" {report.when}") and content:
            leaks += [f"{title}: {leak}" for leak in find_leaks(content)]
    if leaks:
        report.outcome = "failed"
        report.longrepr = ("personal data in clear in what this test printed or logged "
                           "(tests/logscan.py; mask it: chalicelib/domain/idnumbers.py):\n  "
                           + "\n  ".join(dict.fromkeys(leaks)))
