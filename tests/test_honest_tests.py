"""Tests that cannot fail do not come back (issue 9 §7): no ``or True``, no ``assert True``, and no
test accepting either of two statuses or error codes where one answer is right."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: What a test that cannot fail (or cannot tell right from wrong) looks like.
FORBIDDEN = {
    "or True": re.compile(r"\bor\s+True\b"),
    "assert True": re.compile(r"\bassert\s+True\b"),
    "either status": re.compile(r"\bassert\b.*\bstatus(?:_code)?\s+in\s*[(\[{]"),
    "either of two HTTP statuses": re.compile(r"\bin\s*[(\[{]\s*[1-5]\d\d\s*,\s*[1-5]\d\d\b"),
    "either error code": re.compile(r"\[[\"']code[\"']\]\s+in\s*[(\[{]"),
    "one status or another": re.compile(r"==\s*[1-5]\d\d\s+or\b.*==\s*[1-5]\d\d\b"),
}


def offending_lines(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        found += [(number, name) for name, pattern in FORBIDDEN.items() if pattern.search(code)]
    return found


@pytest.mark.parametrize("sample, name", [
    ("    assert remind() == 0 or True", "or True"),
    ("    assert True", "assert True"),
    ("    assert r.status_code in (401, 403)", "either status"),
    ("    assert got in [200, 202], got", "either of two HTTP statuses"),
    ('    assert body["error"]["code"] in ("A", "B")', "either error code"),
    ("    assert r.status_code == 401 or r.status_code == 403", "one status or another"),
])
def test_the_patterns_catch_each_kind(sample: str, name: str) -> None:
    assert name in [n for _, n in offending_lines(sample)]


def test_one_right_answer_passes() -> None:
    clean = """
    assert remind() == 0
    assert r.status_code == 403  # not in (401, 403): one is right
    for role, status in (("applicant", 403), (None, 401)):
    assert (status, body["error"]["code"]) == (409, "UNIT_TAKEN")
    assert is_ok or fallback_used
"""
    assert offending_lines(clean) == []


def test_no_test_in_the_suite_cannot_fail() -> None:
    me = Path(__file__).name
    found = [f"{path.relative_to(TESTS)}:{number}: {name}"
             for path in sorted(TESTS.rglob("*.py")) if path.name != me
             for number, name in offending_lines(path.read_text(encoding="utf-8"))]
    assert not found, "tests that accept a wrong answer (decide the right one):\n" + "\n".join(found)
