"""Personal names (姓名) as an ID card carries them, and the plain text rule for other names.

A person's name is 2 to 30 characters of CJK ideographs, letters (any script, with their combining
marks), the separator ``·`` of minority and foreign names, and single inner spaces; it is stored
NFC-normalised. Control characters, bidirectional overrides and zero-width characters are refused:
they make a name look like another one on a screen, in a publicity list or in a log line.
"""
from __future__ import annotations

import re
import unicodedata

from chalicelib import errors

NAME_MIN, NAME_MAX = 2, 30
SEPARATOR = "·"  # U+00B7, the ID card's separator
# Look-alike separators people type; read as the ID card's.
_SEPARATORS = str.maketrans({"\u2022": SEPARATOR, "\u2027": SEPARATOR, "\u30fb": SEPARATOR, "\uff65": SEPARATOR,
                             "\u3000": " "})
BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C))
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
_SPACES = re.compile(r"\s+")


# What free text may not carry either (a fast scan; names are checked character by character).
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e"
                             "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]")


def unsafe_in_text(value: str) -> str | None:
    """For multi-line free text: the zh-CN reason it carries an invisible or direction-changing
    character, or None (tabs and line breaks are text; a leading byte-order mark is tolerated)."""
    found = _UNSAFE_IN_TEXT.search(value, 1 if value.startswith("\ufeff") else 0)
    return unsafe_character(found.group()) if found else None


def unsafe_character(value: str, *, allow_newlines: bool = False) -> str | None:
    """The zh-CN reason a text carries a character that changes how it reads, or None."""
    for ch in value:
        if ch in BIDI:
            return "不能包含文字方向控制字符"
        if ch in ZERO_WIDTH:
            return "不能包含零宽字符"
        category = unicodedata.category(ch)
        if category == "Cc" and not (allow_newlines and ch in "\n\r\t"):
            return "不能包含控制字符"
        if category in ("Cf", "Cs", "Co", "Cn"):
            return "不能包含不可见或无法显示的字符"
    return None


def person_name_problem(raw: object) -> tuple[str, str | None]:
    """(the normalised name, the zh-CN problem after the field's label, or None if it is a name)."""
    if not isinstance(raw, str):
        return "", "应为文字"
    value = unicodedata.normalize("NFC", raw)
    problem = unsafe_character(value)
    if problem:
        return value, problem
    value = _SPACES.sub(" ", value.translate(_SEPARATORS)).strip()
    if not value:
        return value, "不能为空"
    for i, ch in enumerate(value):
        if ch.isalpha():
            continue
        if unicodedata.category(ch).startswith("M") and i > 0 and value[i - 1] not in (" ", SEPARATOR):
            continue  # a combining mark on a letter (Tibetan, Uyghur, accented Latin)
        if ch in (" ", SEPARATOR):
            continue
        return value, f"只能包含汉字、字母、“{SEPARATOR}”和空格"
    if value[0] == SEPARATOR or value[-1] == SEPARATOR or SEPARATOR * 2 in value or f" {SEPARATOR}" in value \
            or f"{SEPARATOR} " in value:
        return value, f"中的“{SEPARATOR}”只能用在两个字之间"
    if len(value) < NAME_MIN:
        return value, f"至少 {NAME_MIN} 个字"
    if len(value) > NAME_MAX:
        return value, f"不能超过 {NAME_MAX} 个字"
    return value, None


def parse_person_name(raw: object, field: str = "name", label: str = "姓名") -> str:
    """A person's name, normalised, or InvalidInput naming the field and what is wrong."""
    value, problem = person_name_problem(raw)
    if problem:
        raise errors.InvalidInput(f"not a name: {problem}", field=field, message=label + problem)
    return value
