"""A PDF of Chinese text, standard library only: what the lease contract (contract_pdf.py) and the
payment voucher (receipts.py) share.

A PDF 1.4 with no embedded font: the text is set in Adobe's standard Simplified Chinese font
``STSong-Light`` (a Type0 font over a CIDFontType0 of the Adobe-GB1 collection, encoding
``UniGB-UCS2-H``), which every conforming reader supplies, so a file stays a few kilobytes. With that
encoding a string is the text's UCS-2 (UTF-16BE within the Basic Multilingual Plane) code units,
written as hex. A character outside the BMP (a rare name character) cannot be encoded that way and is
drawn as ``□``; control characters are dropped.

Layout: A4, body 12 pt, lines wrapped at 30 em (30 CJK characters; Latin letters and digits take
their proportional STSong-Light widths, and a number or word is not split), closing punctuation
never starts a line, pages added as needed, each with a footer ``<footer>第 n 页 共 m 页``. Content
streams are not compressed, so the same blocks give the same bytes on any machine (no zlib version
in the way). A document is a list of blocks ``(kind, text, indent em)``, kind one of title | sub |
heading | para | gap: :func:`render` lays them out and writes the file.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
BODY_SIZE, TITLE_SIZE, SMALL_SIZE = 12, 18, 9
LINE_EM = 30  # wrap width, in em of the body size
LEFT = (PAGE_WIDTH - LINE_EM * BODY_SIZE) / 2
TOP, BOTTOM = 780, 72
LEADING = 20

# Advance widths (1/1000 em) of STSong-Light's proportional Latin glyphs, CIDs 1..95, which
# UniGB-UCS2-H maps from U+0020..U+007E. Every other glyph is 1000 (the font's /DW).
_LATIN_WIDTHS = (
    207, 270, 342, 467, 462, 797, 710, 239, 374, 374, 423, 605, 238, 375, 238, 334,
    462, 462, 462, 462, 462, 462, 462, 462, 462, 462, 238, 238, 605, 605, 605, 344,
    748, 684, 560, 695, 739, 563, 511, 729, 793, 318, 312, 666, 526, 896, 758, 772,
    544, 772, 628, 465, 607, 753, 711, 972, 647, 620, 607, 374, 333, 374, 606, 500,
    239, 417, 503, 427, 529, 415, 264, 444, 518, 241, 230, 495, 228, 793, 527, 524,
    524, 504, 338, 336, 277, 517, 450, 652, 466, 452, 407, 370, 258, 370, 605,
)
_NO_LINE_START = set("，。、；：！？）》」』】〕…%,.;:!?)]}")
_WORD = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_/@+*#%")
_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def _width(ch: str) -> int:
    code = ord(ch)
    return _LATIN_WIDTHS[code - 0x20] if 0x20 <= code <= 0x7E else 1000


def _clean(text: Any) -> str:
    out = []
    for ch in str(text):
        if ch == "\t":
            out.append(" ")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            continue
        elif ord(ch) > 0xFFFF or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("□")
        else:
            out.append(ch)
    return "".join(out)


def _tokens(text: str) -> list[str]:
    """Units that are not split across lines: a run of Latin letters/digits, else one character."""
    tokens: list[str] = []
    for ch in text:
        if ch in _WORD and tokens and tokens[-1][-1] in _WORD:
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens


def wrap(text: str, em: float = LINE_EM, indent: float = 0) -> list[str]:
    """Lines of ``text`` no wider than ``em``; the first line of each paragraph (``\\n`` separates
    paragraphs) is ``indent`` em narrower, as the caller draws it indented. A run of Latin letters
    or digits is not split unless longer than a line; closing punctuation hangs past the margin
    rather than start a line."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        line, used, first = "", 0, True
        limit = (em - indent) * 1000

        def finish() -> None:
            nonlocal line, used, first, limit
            lines.append(line.rstrip())
            line, used, first, limit = "", 0, False, em * 1000

        for token in _tokens(_clean(paragraph)):
            w = sum(_width(c) for c in token)
            if line and used + w > limit and token[0] not in _NO_LINE_START:
                finish()
                if token == " ":
                    continue
            if w > limit and len(token) > 1:  # a word longer than a line: split it
                for ch in token:
                    if line and used + _width(ch) > limit:
                        finish()
                    line, used = line + ch, used + _width(ch)
                continue
            line, used = line + token, used + w
        lines.append(line.rstrip())
    return lines


def _hex(text: str) -> str:
    return "<" + _clean(text).encode("utf-16-be").hex().upper() + ">"


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _fen(value: Any) -> int:
    """An amount in fen: an int, or an integral float/Decimal as a number attribute may come back."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or value != int(value):
        raise ValueError("money must be a whole number of fen")
    return int(value)


def yuan(fen: int) -> str:
    """``123456`` fen -> ``"1234.56"`` (元, two decimals)."""
    fen = _fen(fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan_upper(fen: int) -> str:
    """The amount in capital figures (大写), as a contract writes it: ``123456`` -> 壹仟贰佰叁拾肆元伍角陆分."""
    fen = _fen(fen)
    if fen < 0:
        raise ValueError("money must not be negative")
    whole, cents = divmod(fen, 100)
    jiao, fen_ = divmod(cents, 10)

    def four(n: int) -> str:  # 0 < n < 10000
        out, zero = "", False
        for unit_value, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
            digit = n // unit_value % 10
            if digit:
                if zero and out:
                    out += "零"
                out += _DIGITS[digit] + unit
                zero = False
            else:
                zero = True
        return out

    text = ""
    if whole:
        parts, groups_text, pending_zero = [], "", False
        n = whole
        while n:
            parts.append(n % 10000)
            n //= 10000
        for index in range(len(parts) - 1, -1, -1):
            part = parts[index]
            unit = ("", "万", "亿", "万亿")[index] if index < 4 else ""
            if part:
                if groups_text and (pending_zero or part < 1000):
                    groups_text += "零"
                groups_text += four(part) + unit
                pending_zero = False
            else:
                pending_zero = True
        text = groups_text + "元"
    if not jiao and not fen_:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    if fen_:
        text += _DIGITS[fen_] + "分"
    return text


def _date(value: Any) -> str:
    """``2026-03-01`` (or an ISO datetime) -> ``2026年3月1日``; anything else as given."""
    text = str(value)
    try:
        day = datetime.fromisoformat(text).date() if "T" in text or " " in text else date.fromisoformat(text)
    except ValueError:
        return text
    return f"{day.year}年{day.month}月{day.day}日"


def _area(value: Any) -> str:
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return str(value)


Block = tuple[str, str, float]


def _layout(blocks: list[Block]) -> list[list[tuple[float, float, int, str]]]:
    """Pages of (x, y, size, text) lines."""
    pages: list[list[tuple[float, float, int, str]]] = [[]]
    y = TOP

    def place(x: float, size: int, text: str, advance: float) -> None:
        nonlocal y
        if y - advance < BOTTOM and pages[-1]:
            pages.append([])
            y = TOP
        y -= advance
        pages[-1].append((x, y, size, text))

    for kind, text, indent in blocks:
        if kind == "gap":
            y -= LEADING / 2
        elif kind == "title":
            for line in wrap(text, em=PAGE_WIDTH / TITLE_SIZE - 6):
                width = sum(_width(c) for c in line) * TITLE_SIZE / 1000
                place((PAGE_WIDTH - width) / 2, TITLE_SIZE, line, TITLE_SIZE + 8)
        elif kind == "sub":
            for line in wrap(text):
                width = sum(_width(c) for c in line) * BODY_SIZE / 1000
                place((PAGE_WIDTH - width) / 2, BODY_SIZE, line, LEADING)
        else:
            if kind == "heading":
                y -= LEADING / 3
            for paragraph in text.split("\n"):
                for number, line in enumerate(wrap(paragraph, indent=indent)):
                    place(LEFT + (indent * BODY_SIZE if number == 0 else 0), BODY_SIZE, line, LEADING)
    return pages


class _Writer:
    def __init__(self) -> None:
        self.objects: dict[int, bytes] = {}

    def set(self, number: int, body: str | bytes) -> None:
        self.objects[number] = body.encode("latin-1") if isinstance(body, str) else body

    def stream(self, number: int, data: bytes) -> None:
        self.objects[number] = b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    def bytes(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = {}
        count = max(self.objects) + 1
        for number in range(1, count):
            offsets[number] = len(out)
            out += b"%d 0 obj\n" % number + self.objects[number] + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n" % count
        out += b"0000000000 65535 f \n"
        for number in range(1, count):
            out += b"%010d 00000 n \n" % offsets[number]
        out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (count, root, info)
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        return bytes(out)


def _info_text(text: str) -> str:
    return "<FEFF" + _clean(text).encode("utf-16-be").hex().upper() + ">"


def _pdf_date(value: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    text = moment.strftime("D:%Y%m%d%H%M%S")
    offset = moment.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def render(blocks: list[Block], *, title: str, footer: str, created_at: Any = None, producer: str = "gongzufang pdf") -> bytes:
    """``blocks`` as PDF bytes (the same arguments always give the same bytes). ``title`` goes into the
    document information, ``footer`` before each page's "第 n 页 共 m 页"."""
    pages = _layout(blocks)
    total = len(pages)
    w = _Writer()
    first_page = 7
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(total))
    w.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
    w.set(2, f"<< /Type /Pages /Kids [{kids}] /Count {total} >>")
    w.set(3, "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
             "/DescendantFonts [4 0 R] >>")
    widths = " ".join(str(v) for v in _LATIN_WIDTHS)
    w.set(4, "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
             f"/FontDescriptor 5 0 R /DW 1000 /W [1 [{widths}]] >>")
    w.set(5, "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
             "/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 737 /StemV 58 >>")
    info = f"<< /Title {_info_text(title)} /Producer ({producer})"
    created = _pdf_date(created_at)
    if created:
        info += f" /CreationDate ({created})"
    w.set(6, info + " >>")
    for index, lines in enumerate(pages):
        page_obj, content_obj = first_page + 2 * index, first_page + 2 * index + 1
        ops = ["BT"]
        for x, y, size, text in lines:
            ops.append(f"/F1 {size} Tf 1 0 0 1 {_num(x)} {_num(y)} Tm {_hex(text)} Tj")
        page_footer = f"{footer}第 {index + 1} 页 共 {total} 页"
        footer_width = sum(_width(c) for c in page_footer) * SMALL_SIZE / 1000
        ops.append(f"/F1 {SMALL_SIZE} Tf 1 0 0 1 {_num((PAGE_WIDTH - footer_width) / 2)} 40 Tm {_hex(page_footer)} Tj")
        ops.append("ET")
        w.stream(content_obj, ("\n".join(ops) + "\n").encode("latin-1"))
        w.set(page_obj, f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                        f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_obj} 0 R >>")
    return w.bytes(root=1, info=6)
