"""The lease contract PDF (chalicelib/domain/contract_pdf.py): structure checked by parsing the file."""
from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.domain import contract_pdf
from chalicelib.domain.contract_pdf import render, wrap, yuan, yuan_upper


def lease(**overrides: Any) -> dict[str, Any]:
    base = {
        "lease_id": "L2026000123", "city_name": "江门市", "tenant_name": "张三明",
        "tenant_id_masked": "4407**********1234", "household_size": 3, "estate_name": "福泽园",
        "address": "江门市蓬江区建设路88号", "building": "3栋", "unit_number": "1202", "layout_name": "两房一厅",
        "floor_area": 58.6, "monthly_rent": 68050, "rent_reduction_note": "低保家庭按市场租金的10%缴纳。",
        "deposit": 136100, "start_date": "2026-03-01", "end_date": "2029-02-28", "term_months": 36,
        "manager": {"company": "江门市安居物业服务有限公司", "contact": "李经理", "phone": "0750-3288888"},
        "landlord": "江门市住房保障中心",
        "clauses": ["乙方应按月缴纳租金，不得转租、转借、擅自调换或改变房屋用途。",
                    "乙方应爱护并合理使用房屋及附属设施，因使用不当造成损坏的，应负责修复或赔偿。"],
        "created_at": "2026-02-20T10:30:00+08:00",
    }
    base.update(overrides)
    return base


def hexof(text: str) -> bytes:
    return text.encode("utf-16-be").hex().upper().encode()


def parse_xref(pdf: bytes) -> tuple[int, dict[int, int], bytes]:
    """(size, {object number: offset}, trailer) from the classic xref table at startxref."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n?$", pdf).group(1))
    assert pdf[start:start + 5] == b"xref\n"
    header = re.match(rb"xref\n0 (\d+)\n", pdf[start:])
    size = int(header.group(1))
    table = pdf[start + header.end():]
    offsets = {}
    for number in range(size):
        entry = table[number * 20:(number + 1) * 20]
        assert len(entry) == 20 and entry[-2:] == b" \n", entry  # the writer's end of line (PDF allows \r\n too)
        offset, generation, kind = entry[:10], entry[11:16], entry[17:18]
        if number == 0:
            assert (offset, generation, kind) == (b"0000000000", b"65535", b"f")
        else:
            assert kind == b"n" and generation == b"00000"
            offsets[number] = int(offset)
    trailer = table[size * 20:]
    assert trailer.startswith(b"trailer\n")
    return size, offsets, trailer


def test_valid_pdf_structure() -> None:
    pdf = render(lease())
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.rstrip(b"\n").endswith(b"%%EOF")
    size, offsets, trailer = parse_xref(pdf)
    assert f"/Size {size}".encode() in trailer and b"/Root 1 0 R" in trailer
    for number, offset in offsets.items():
        assert pdf[offset:].startswith(f"{number} 0 obj\n".encode()), number
    # every stream's /Length is its exact byte count
    for match in re.finditer(rb"<< /Length (\d+) >>\nstream\n", pdf):
        length = int(match.group(1))
        assert pdf[match.end() + length:match.end() + length + 10] == b"\nendstream"
    assert b"/BaseFont /STSong-Light /Encoding /UniGB-UCS2-H" in pdf
    assert b"/Subtype /CIDFontType0" in pdf and b"/Ordering (GB1)" in pdf
    assert b"FontFile" not in pdf  # not embedded: small
    assert len(pdf) < 20_000


def test_contains_the_chinese_text_as_ucs2_hex() -> None:
    pdf = render(lease())
    for text in ("公共租赁住房租赁合同", "张三明", "江门市住房保障中心", "福泽园", "李经理",
                 "680.50", "陆佰捌拾元伍角", "1361.00", "2026年3月1日", "58.60", "租金减免"):
        assert hexof(text) in pdf, text
    assert hexof("4407**********1234") in pdf
    assert b"/Count 1 " in pdf


def test_reduction_note_is_optional() -> None:
    assert hexof("租金减免") not in render(lease(rent_reduction_note=None))


def test_many_clauses_make_many_pages() -> None:
    clauses = [f"第{i}项约定：乙方应遵守小区管理规约，按时缴纳水电燃气及物业服务费用，不得饲养危险动物。" for i in range(60)]
    pdf = render(lease(clauses=clauses))
    pages = int(re.search(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", pdf).group(1))
    assert pages >= 3
    assert len(re.findall(rb"/Type /Page /Parent", pdf)) == pages
    assert hexof(f"第 {pages} 页 共 {pages} 页") in pdf
    _, offsets, _ = parse_xref(pdf)
    assert len(offsets) == 6 + 2 * pages
    # the last clause made it in
    assert hexof("第59项约定") in pdf


def test_deterministic() -> None:
    assert render(lease()) == render(lease())
    assert render(lease()) != render(lease(tenant_name="李四"))


def test_money() -> None:
    assert yuan(68050) == "680.50" and yuan(5) == "0.05" and yuan(100) == "1.00"
    assert yuan_upper(136100) == "壹仟叁佰陆拾壹元整"
    assert yuan_upper(68050) == "陆佰捌拾元伍角"
    assert yuan_upper(100500) == "壹仟零伍元整"
    assert yuan_upper(1050000) == "壹万零伍佰元整"
    assert yuan_upper(100000005) == "壹佰万元零伍分"
    assert yuan_upper(1) == "壹分" and yuan_upper(0) == "零元整"
    with pytest.raises(ValueError):
        yuan(12.5)  # type: ignore[arg-type]
    assert yuan(68050.0) == "680.50"  # type: ignore[arg-type]


def test_wrap() -> None:
    text = "甲" * 75
    assert [len(line) for line in wrap(text)] == [30, 30, 15]
    assert [len(line) for line in wrap(text, indent=2)] == [28, 30, 17]
    # closing punctuation does not start a line; a number is not split
    assert all(not line.startswith("，") for line in wrap("甲" * 30 + "，乙"))
    lines = wrap("甲" * 28 + "20260301")
    assert lines == ["甲" * 28, "20260301"]
    # a rare character outside the BMP is replaced, not mis-encoded
    assert contract_pdf._hex("𠀀") == "<" + "□".encode("utf-16-be").hex().upper() + ">"
