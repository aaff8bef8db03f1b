"""Reading the national system's export (全国公租房信息系统) row by row: CSV (UTF-8, or GBK/GB18030 as
the national system writes it: detected) or XLSX, streamed, never the whole file in memory; the
city's column mapping (``imports.json``) turns the Chinese headers into our fields; each row's values
are parsed and checked here, a refused row becoming a ``RowError`` (row, column, code, zh-CN message)
for the report. docs/decisions/0036."""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Iterator

from chalicelib import errors

#: Each kind's fields -> required. The city's mapping names the export's column for each.
FIELDS: dict[str, dict[str, bool]] = {
    "estates": {"national_id": True, "name": True, "area_id": True, "street_id": True, "address": True,
                "lng": True, "lat": True, "description": False, "manager_company": False, "manager_phone": False},
    "buildings": {"estate_national_id": True, "building_id": True, "name": True, "floors": False, "elevator": False},
    "units": {"national_id": True, "estate_national_id": True, "building_id": True, "number": True, "layout": True,
              "floor_area": True, "floor": True, "rent": True, "orientation": False, "status": False},
    "tenants": {"household_national_id": True, "relation": True, "name": True, "id_number": True, "mobile": False,
                "monthly_income": False, "hukou": False, "lease_national_id": False, "unit_national_id": False,
                "monthly_rent": False, "deposit": False, "start_date": False, "end_date": False},
}
KINDS = tuple(FIELDS)
#: The row-level refusals of the report: code -> zh-CN message (a row's message may be more precise).
CODES = {
    "IMPORT_MISSING_VALUE": "必填项为空",
    "IMPORT_BAD_VALUE": "取值不正确",
    "IMPORT_NEGATIVE_AMOUNT": "金额不能为负数",
    "IMPORT_BAD_ID_NUMBER": "身份证号码不正确",
    "IMPORT_DUPLICATE_ID": "文件中编码重复：同一编码只能出现一次（同一家庭的成员应连续排列）",
    "IMPORT_BAD_ENCODING": "该行含有无法识别的字符，请确认文件编码（UTF-8 或 GBK）",
    "IMPORT_BAD_ROW": "该行列数与表头不符",
    "IMPORT_ESTATE_NOT_FOUND": "项目不存在：请先导入项目",
    "IMPORT_BUILDING_NOT_FOUND": "楼栋不存在：请先导入楼栋",
    "IMPORT_STREET_NOT_FOUND": "片区或街道不存在，或街道不属于该片区",
    "IMPORT_UNIT_NOT_FOUND": "房源不存在：请先导入房源",
    "IMPORT_UNIT_NOT_VACANT": "该房源已出租或维修中，不能再登记一份合同",
    "IMPORT_HOUSEHOLD_REFUSED": "同一家庭的其他行有误，整户未导入",
    "IMPORT_HOUSEHOLD_INVALID": "家庭成员不符合要求",
    "IMPORT_LEASE_CHANGED": "合同的房源或承租人与已导入的不同，请在系统中办理变更",
}
HEAD_BYTES = 64 * 1024
_NATIONAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MONEY = re.compile(r"^-?\d{1,9}(\.\d{1,2})?$")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    message: str

    def as_list(self) -> list[Any]:
        return [self.row, self.column, self.code, self.message]


class Refused(Exception):
    """One value of a row refused: the field and the report's code (and a precise message)."""

    def __init__(self, field: str, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.field, self.code, self.message = field, code, message or CODES[code]


# --- the file --------------------------------------------------------------------------------------
def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the first bytes decode as UTF-8; otherwise GB18030 (the
    superset of GBK, what the national system's Windows export writes)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class _Joined(io.RawIOBase):
    """The bytes read to detect the encoding, then the rest of the stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def raw_rows(stream: IO[bytes], fmt: str) -> Iterator[list[str]]:
    """Every row of the file as text cells (the header first), streamed."""
    if fmt == "xlsx":
        yield from _xlsx_rows(stream)
        return
    head = stream.read(HEAD_BYTES)
    text = io.TextIOWrapper(io.BufferedReader(_Joined(head, stream), 1 << 16), encoding=detect_encoding(head),
                            errors="replace", newline="")
    for row in csv.reader(text):
        yield row


def _xlsx_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    """The first sheet (openpyxl's read-only mode streams the sheet's XML; the zip needs a seekable
    file: the object is spooled to a temporary file first, not held in memory)."""
    import tempfile

    from openpyxl import load_workbook  # imported only for an XLSX file (docs/decisions/0036)

    with tempfile.TemporaryFile() as spool:
        for block in iter(lambda: stream.read(1 << 20), b""):
            spool.write(block)
        spool.seek(0)
        try:
            book = load_workbook(spool, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - not a workbook: the file, not a row, is refused
            raise errors.ImportUnreadable("not an XLSX workbook", field="format",
                                         message="文件不是有效的 XLSX 工作簿：请另存为 Excel 工作簿（.xlsx）或 CSV 后重新上传") from None
        try:
            for values in book.worksheets[0].iter_rows(values_only=True):
                yield [_cell(v) for v in values]
        finally:
            book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value)


def header_map(header: list[str], kind: str, columns: dict[str, str]) -> dict[int, str]:
    """Column position -> our field, from the file's header and the city's mapping; a header without
    a required column refuses the whole file (400 IMPORT_BAD_HEADER, the missing columns named)."""
    names = [unicodedata.normalize("NFKC", h).strip().lstrip("\ufeff") for h in header]
    wanted = {unicodedata.normalize("NFKC", h).strip(): f for h, f in columns.items()}
    found = {i: wanted[n] for i, n in enumerate(names) if n in wanted}
    missing = [h for h, f in wanted.items() if FIELDS[kind][f] and f not in found.values()]
    if missing:
        raise errors.ImportBadHeader(
            f"missing columns: {', '.join(missing)}", field="header",
            message=f"文件表头不符合本市导入格式，缺少以下列：{'、'.join(missing)}（请使用全国公租房信息系统的导出文件）")
    return found


def rows(stream: IO[bytes], fmt: str, kind: str, columns: dict[str, str]) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """(row number as a spreadsheet shows it, the header being row 1; the row's fields, or why it
    cannot be read). Blank rows are skipped."""
    it = raw_rows(stream, fmt)
    header = next(it, None)
    if header is None:
        raise errors.ImportBadHeader("empty file", field="header", message="文件为空，没有表头")
    positions = header_map(header, kind, columns)
    width = len(header)
    labels = {f: h for h, f in columns.items()}
    for n, raw in enumerate(it, start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) > width and any(c.strip() for c in raw[width:]):
            yield n, RowError(n, "", "IMPORT_BAD_ROW", CODES["IMPORT_BAD_ROW"])
            continue
        values = {f: (raw[i].strip() if i < len(raw) else "") for i, f in positions.items()}
        bad = next((f for f, v in values.items() if "\ufffd" in v), None)
        if bad is not None:
            yield n, RowError(n, labels.get(bad, bad), "IMPORT_BAD_ENCODING", CODES["IMPORT_BAD_ENCODING"])
            continue
        yield n, values


# --- values ------------------------------------------------------------------------------------------
def national(values: dict[str, str], f: str) -> str:
    """A national system's code as our id (lower case): ``JM-XM-0002`` -> ``jm-xm-0002``."""
    raw = text(values, f)
    if not _NATIONAL.fullmatch(raw):
        raise Refused(f, "IMPORT_BAD_VALUE", "编码应为字母、数字、连字符，1-64 位")
    return raw.lower()


def text(values: dict[str, str], f: str, *, required: bool = True, limit: int = 200) -> str:
    raw = values.get(f, "")
    if not raw:
        if required:
            raise Refused(f, "IMPORT_MISSING_VALUE")
        return ""
    if len(raw) > limit or any(unicodedata.category(c) == "Cc" for c in raw):
        raise Refused(f, "IMPORT_BAD_VALUE", f"内容过长（最多 {limit} 字）或含控制字符")
    return raw


def money(values: dict[str, str], f: str, *, required: bool = True) -> int | None:
    """Yuan in the export (``1234.5``), fen here; a negative amount is refused."""
    raw = values.get(f, "").replace(",", "")
    if not raw:
        if required:
            raise Refused(f, "IMPORT_MISSING_VALUE")
        return None
    if not _MONEY.fullmatch(raw):
        raise Refused(f, "IMPORT_BAD_VALUE", "金额应为元，最多两位小数")
    if raw.startswith("-"):
        raise Refused(f, "IMPORT_NEGATIVE_AMOUNT")
    return int(Decimal(raw) * 100)


def number(values: dict[str, str], f: str, low: float, high: float, *, whole: bool = False,
           required: bool = True) -> float | None:
    raw = values.get(f, "")
    if not raw:
        if required:
            raise Refused(f, "IMPORT_MISSING_VALUE")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Refused(f, "IMPORT_BAD_VALUE", "应为数字") from None
    if not value.is_finite() or not low <= value <= high or (whole and value != value.to_integral_value()):
        raise Refused(f, "IMPORT_BAD_VALUE", f"应为 {low:g} 至 {high:g} 之间的{'整数' if whole else '数字'}")
    return float(value)


def day(values: dict[str, str], f: str) -> str:
    raw = values.get(f, "").replace("/", "-").replace(".", "-")
    try:
        y, m, d = (int(p) for p in raw.split("-"))
        return date(y, m, d).isoformat()
    except ValueError:
        raise Refused(f, "IMPORT_BAD_VALUE" if raw else "IMPORT_MISSING_VALUE", "日期应为 YYYY-MM-DD") from None


def choice(values: dict[str, str], f: str, allowed: dict[str, Any], *, required: bool = True) -> Any:
    raw = values.get(f, "")
    if not raw and not required:
        return None
    if raw not in allowed:
        raise Refused(f, "IMPORT_BAD_VALUE" if raw else "IMPORT_MISSING_VALUE",
                      f"应为以下之一：{'、'.join(map(str, allowed))}")
    return allowed[raw]


def translate(values: dict[str, str], tables: dict[str, dict[str, str]]) -> dict[str, str]:
    """The city's value tables (``values`` in imports.json): a national value -> ours, per field."""
    return {f: tables.get(f, {}).get(v, v) for f, v in values.items()}
