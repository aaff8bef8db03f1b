"""A month's figures as a file for reporting upward (统计导出): CSV (UTF-8 with a BOM, so Excel reads the
Chinese labels) or XLSX, written by the few lines below (the standard library's zip and XML: no
spreadsheet library in the Lambda package). The file goes to the private bucket; the caller gets a
short-lived link (docs/decisions/0037)."""
from __future__ import annotations

import csv
import io
import zipfile
from typing import Any
from xml.sax.saxutils import escape

from chalicelib.deps import deps
from chalicelib.domain.common import now
from chalicelib.domain.stats import MonthStats, of_month, rows

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PREFIX = "exports/stats"


def header(stats: MonthStats) -> list[str]:
    return ["指标代码", "指标", f"{stats.month} 当月", "累计"]


def _cell(value: Any) -> Any:
    return "" if value is None else value


def as_csv(stats: MonthStats) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header(stats))
    for key, label, month_value, total in rows(stats):
        writer.writerow([key, label, _cell(month_value), _cell(total)])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _column(index: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


def _xml_cell(ref: str, value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(_cell(value)))}</t></is></c>'


def as_xlsx(stats: MonthStats) -> bytes:
    """One sheet: the header, then a row per figure (numbers as numbers)."""
    table = [header(stats)] + [[key, label, month_value, total] for key, label, month_value, total in rows(stats)]
    sheet_rows = "".join(
        f'<row r="{r + 1}">' + "".join(_xml_cell(f"{_column(c)}{r + 1}", v) for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(table))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook {ns} xmlns:r="{rel}">'
            f'<sheets><sheet name="{stats.month}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {ns}>'
            f'<sheetData>{sheet_rows}</sheetData></worksheet>'),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), text.encode("utf-8"))
    return out.getvalue()


def export(month: str | None, file_format: str) -> dict[str, Any]:
    """The month's file in the bucket and a short-lived link to it."""
    stats = of_month(month)
    body = as_csv(stats) if file_format == "csv" else as_xlsx(stats)
    key = f"{PREFIX}/{stats.month}-{now().strftime('%Y%m%dT%H%M%S%f')}.{file_format}"
    link = deps().stats.put_export(key, body, FORMATS[file_format], lambda: deps().storage)
    return {"month": stats.month, "format": file_format, "filename": f"公租房统计-{stats.month}.{file_format}",
            "url": link["url"], "expires_at": link["expires_at"], "bytes": len(body)}
