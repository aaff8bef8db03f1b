"""Identity numbers: resident ID (GB 11643), unified social credit code (GB 32100), mobiles, masks.

Age and sex come from the ID number, never from a form field. Masks follow the app's convention
(``4407**********1234``, ``张*明``, ``138****0001``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from chalicelib.errors import InvalidCreditCode, InvalidIdNumber, InvalidMobile

_ID = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CC = re.compile(rf"^[{_CC_CHARS}]{{18}}$")

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    sex: str  # male | female (odd / even sequence digit)
    region: str  # first 6 digits: the issuing county

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


# GB/T 2260 province-level codes (the first two digits). 71 is Taiwan in the standard; 81, 82 and 83
# head the numbers of residence permits for Hong Kong, Macao and Taiwan residents (810000, 820000,
# 830000), the only numbers whose remaining four digits are zeros.
PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                       50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83})
RESIDENCE_PERMITS = frozenset({"810000", "820000", "830000"})
EARLIEST_BIRTH_YEAR = 1900

ID_FORMAT = "身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X"
ID_REGION = "身份证号码的地区代码不存在"
ID_BIRTH_DATE = "身份证号码中的出生日期不正确"
ID_CHECK_DIGIT = "身份证号码校验位不正确"


def region_exists(region: str) -> bool:
    """A person's issuing division code: a real province, and a city part that is not a placeholder
    (xx0000 and xx00yy are provinces and their own offices, never a person's county)."""
    if region in RESIDENCE_PERMITS:
        return True
    return int(region[:2]) in PROVINCES and region[:2] not in ("81", "82", "83") and region[2:4] != "00"


def parse_id_number(raw: str, field: str = "id_number", today: date | None = None) -> IdNumber:
    """Validate an 18-digit ID (lower-case x accepted) and read birth date and sex from it.

    Each failure has its own zh-CN message: format, division code, birth date, check digit."""
    # NFKC: full-width digits from a Chinese keyboard are the same digits; other scripts' are not
    value = unicodedata.normalize("NFKC", raw).strip().upper() if isinstance(raw, str) else ""
    if not _ID.fullmatch(value):
        raise InvalidIdNumber("18 digits, the last may be X", field=field, message=ID_FORMAT)
    if not region_exists(value[:6]):
        raise InvalidIdNumber("no such administrative division code", field=field, message=ID_REGION)
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("no such birth date", field=field, message=ID_BIRTH_DATE) from None
    if born.year < EARLIEST_BIRTH_YEAR or born > (today or date.today()):
        raise InvalidIdNumber("birth date before 1900 or in the future", field=field, message=ID_BIRTH_DATE)
    if id_check_digit(value[:17]) != value[17]:
        raise InvalidIdNumber("check digit does not match", field=field, message=ID_CHECK_DIGIT)
    return IdNumber(value, born, "male" if int(value[16]) % 2 else "female", value[:6])


def credit_check_char(first17: str) -> str:
    total = sum(_CC_CHARS.index(c) * w for c, w in zip(first17, _CC_WEIGHTS))
    return _CC_CHARS[(31 - total % 31) % 31]


def parse_credit_code(raw: str, field: str = "credit_code") -> str:
    """Validate a unified social credit code (统一社会信用代码) including its check character."""
    value = (raw or "").strip().upper()
    if not _CC.fullmatch(value):
        raise InvalidCreditCode("18 characters of 0-9 and A-Y without I, O, S, V, Z", field=field,
                                message="统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）")
    if credit_check_char(value[:17]) != value[17]:
        raise InvalidCreditCode("check character does not match", field=field, message="统一社会信用代码校验位不正确")
    return value


def parse_mobile(raw: str, field: str = "mobile") -> str:
    value = (raw or "").strip()
    if value.startswith("+86"):
        value = value[3:]
    if not _MOBILE.fullmatch(value):
        raise InvalidMobile("11 digits starting with 1", field=field, message="手机号码应为以 1 开头的 11 位数字")
    return value


def mask_id(value: str | None) -> str | None:
    """``4407**********1234``: the issuing prefix and the last four, as publicity lists show."""
    if not value:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_name(value: str | None) -> str | None:
    """``张*明`` / ``张*``: the first and (for three or more characters) the last character."""
    if not value:
        return value
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_mobile(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)


def mask_credit_code(value: str | None) -> str | None:
    if not value:
        return value
    return value[:6] + "*" * 8 + value[-4:]


# Personal numbers inside free text (docs/decisions/0020): a run of 15-19 digits standing alone
# (18-digit ID numbers, the last may be X; old 15-digit ones; bank cards), and mainland mobiles
# (optionally +86 / 86, optionally split by spaces or dashes: 138 1234 5678).
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{4})(\d{7,11})(\d{4}|\d{3}[Xx])(?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z+])(\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?![0-9A-Za-z])")


def mask_free_text(text: str) -> str:
    """Mask every ID number (``4407**********1234``), bank-card-like number and mobile
    (``138****5678``) inside free text: what staff and citizens write is stored and logged this way.
    Names cannot be recognised in free text; they are kept out of logs by key (observability)."""
    if not text:
        return text
    text = _LONG_NUMBER.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(3)}", text)


def person_key(city: str, id_number: str) -> str:
    """A stable key for a person that is not their ID number (keys and indexes show up in logs
    and metrics; the number itself stays in attributes only)."""
    return "p" + hmac.new(city.encode(), id_number.encode(), hashlib.sha256).hexdigest()[:40]


def mobile_key(city: str, mobile: str) -> str:
    return "m" + hmac.new(city.encode(), mobile.encode(), hashlib.sha256).hexdigest()[:40]
