"""The providers' daily statements (对账单) as :class:`StatementLine` lists.

WeChat Pay's trade bill (``bill_type=ALL``): UTF-8 CSV, a header row, one row per payment
(``交易状态`` SUCCESS) or refund (REFUND), every field prefixed with a backtick, then a summary
header (``总交易单数,...``) and its row. Amounts are yuan with two decimals; times China time.

Alipay's trade bill (``bill_type=trade``): a zip holding ``<pid>_<date>_业务明细.csv`` (and a
``(汇总)`` summary we do not need), GBK, comment lines starting with ``#``, a header row, one row
per payment (``业务类型`` 交易) or refund (退款, amounts negative), fields often padded with tabs.

Amounts become positive fen, exactly (``yuan_to_fen``); a line that cannot be read makes the whole
statement unreadable (:class:`ProviderUnavailable`): reconciling half a file would invent mismatches.
"""
from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterable

from chalicelib.payment_providers.types import (
    LineKind,
    ProviderUnavailable,
    StatementLine,
    china_wall_time,
    utc_iso,
    yuan_to_fen,
)

WECHAT_SUMMARY = "总交易单数"
ALIPAY_HEADER = "支付宝交易号"
ALIPAY_DETAIL = "业务明细.csv"


def gunzip(data: bytes, limit: int) -> bytes:
    """gzip -> bytes, refusing anything that would unpack past ``limit`` (a bomb is not unpacked)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise ProviderUnavailable("statement: not gzip") from None
    if len(raw) > limit or inflater.unconsumed_tail:
        raise ProviderUnavailable("statement: larger than allowed")
    if not inflater.eof:
        raise ProviderUnavailable("statement: truncated")
    return raw


def _fen(text: str) -> int:
    return yuan_to_fen(text.strip().lstrip("-"))


def wechat_lines(raw: bytes, provider: str = "wechat") -> list[StatementLine]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProviderUnavailable("wechat statement: not UTF-8") from None
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header:
        return []
    index = {name.strip(): i for i, name in enumerate(header)}
    needed = ("交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额", "商户退款单号", "退款金额")
    if any(n not in index for n in needed):
        raise ProviderUnavailable("wechat statement: unexpected header")
    lines = []
    for number, row in enumerate(rows, start=2):
        if row and row[0].strip() == WECHAT_SUMMARY:
            break
        if not row:
            continue
        try:
            field = {name: row[i].strip().lstrip("`").strip() for name, i in index.items()}
            lines += _wechat_line(field, provider)
        except (IndexError, ValueError):
            raise ProviderUnavailable(f"wechat statement: line {number} unreadable") from None
    return lines


def _wechat_line(f: dict[str, str], provider: str) -> list[StatementLine]:
    at = utc_iso(china_wall_time(f["交易时间"]))
    state = f["交易状态"]
    if state == "SUCCESS":
        amount = _fen(f.get("订单金额") or f["应结订单金额"])
        return [StatementLine(provider, _id(f["商户订单号"]), _id(f["微信订单号"]), amount, LineKind.PAYMENT, at)]
    if state == "REFUND":
        amount = _fen(f.get("申请退款金额") or f["退款金额"])
        return [StatementLine(provider, _id(f["商户订单号"]), _id(f["微信订单号"]), amount, LineKind.REFUND, at,
                              refund_id=_id(f["商户退款单号"]))]
    if state == "REVOKED":  # a cancelled card-swipe payment: no money moved
        return []
    raise ValueError(f"unknown trade state {state!r}")


def _id(text: str) -> str:
    if not text or text == "0":
        raise ValueError("an empty id")
    return text


def alipay_lines(archive: bytes, provider: str = "alipay", limit: int = 256 * 1024 * 1024) -> list[StatementLine]:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            names = [n for n in z.namelist() if n.endswith(ALIPAY_DETAIL)]
            if len(names) != 1:
                raise ProviderUnavailable("alipay statement: no single 业务明细 file in the archive")
            info = z.getinfo(names[0])
            if info.file_size > limit:
                raise ProviderUnavailable("alipay statement: larger than allowed")
            raw = z.read(info)  # CRC-checked by zipfile
    except (zipfile.BadZipFile, OSError):
        raise ProviderUnavailable("alipay statement: not a zip archive") from None
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise ProviderUnavailable("alipay statement: not GBK") from None
    return _alipay_rows(text.splitlines(), provider)


def _alipay_rows(lines: Iterable[str], provider: str) -> list[StatementLine]:
    index: dict[str, int] | None = None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        row = [cell.strip() for cell in next(csv.reader([line]))]
        if index is None:
            if row[0] != ALIPAY_HEADER:
                raise ProviderUnavailable("alipay statement: unexpected header")
            index = {name: i for i, name in enumerate(row)}
            continue
        try:
            f = {name: row[i] for name, i in index.items()}
            at = utc_iso(china_wall_time(f["完成时间"] or f["创建时间"]))
            kind = {"交易": LineKind.PAYMENT, "退款": LineKind.REFUND}[f["业务类型"]]
            amount = _fen(f["订单金额（元）"])
            refund_id = _id(f["退款批次号/请求号"]) if kind == LineKind.REFUND else None
            out.append(StatementLine(provider, _id(f["商户订单号"]), _id(f["支付宝交易号"]), amount, kind, at,
                                     refund_id=refund_id))
        except (IndexError, KeyError, ValueError):
            raise ProviderUnavailable(f"alipay statement: line {number} unreadable") from None
    return out
