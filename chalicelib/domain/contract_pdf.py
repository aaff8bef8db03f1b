"""The lease contract (租赁合同) as a PDF: its text, laid out by the shared writer (pdf.py: standard
library only, STSong-Light, deterministic bytes). ``render(lease) -> bytes``."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.pdf import _area, _date, _hex, wrap, yuan, yuan_upper  # noqa: F401 - wrap, _hex: tests
from chalicelib.domain.pdf import render as render_pdf

_NUMERALS = "零一二三四五六七八九"


def _chinese_ordinal(n: int) -> str:
    if n < 10:
        return _NUMERALS[n]
    if n < 20:
        return "十" + (_NUMERALS[n % 10] if n % 10 else "")
    if n < 100:
        return _NUMERALS[n // 10] + "十" + (_NUMERALS[n % 10] if n % 10 else "")
    return str(n)


def _blocks(lease: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(kind, text, indent em) in reading order; kind: title | sub | heading | para | gap."""
    manager = lease.get("manager") or {}
    rent, deposit = lease["monthly_rent"], lease["deposit"]
    blocks: list[tuple[str, str, float]] = [
        ("title", f"{lease['city_name']}公共租赁住房租赁合同", 0),
        ("sub", f"合同编号：{lease['lease_id']}", 0),
        ("gap", "", 0),
        ("para", f"出租人（甲方）：{lease['landlord']}", 0),
        ("para", f"承租人（乙方）：{lease['tenant_name']}", 0),
        ("para", f"乙方证件号码：{lease['tenant_id_masked']}", 0),
        ("para", f"共同居住家庭人口：{lease['household_size']}人", 0),
        ("para", f"物业服务企业：{manager.get('company', '')}；联系人：{manager.get('contact', '')}；"
                 f"联系电话：{manager.get('phone', '')}", 0),
        ("para", "甲乙双方根据《公共租赁住房管理办法》及本市有关规定，在平等、自愿的基础上，"
                 "就乙方承租甲方公共租赁住房事宜，订立本合同。", 2),
        ("heading", "第一条　房屋基本情况", 0),
        ("para", f"房屋位于{lease['estate_name']}（{lease['address']}）{lease['building']}{lease['unit_number']}，"
                 f"户型{lease['layout_name']}，建筑面积{_area(lease['floor_area'])}平方米。", 2),
        ("heading", "第二条　租赁期限", 0),
        ("para", f"租赁期限自{_date(lease['start_date'])}起至{_date(lease['end_date'])}止，"
                 f"共{lease['term_months']}个月。期满需继续承租的，乙方应在期满前三个月内申请续签。", 2),
        ("heading", "第三条　租金和押金", 0),
        ("para", f"月租金为人民币{yuan(rent)}元（大写：{yuan_upper(rent)}）。", 2),
    ]
    if lease.get("rent_reduction_note"):
        blocks.append(("para", f"租金减免：{lease['rent_reduction_note']}", 2))
    blocks.append(("para", f"押金为人民币{yuan(deposit)}元（大写：{yuan_upper(deposit)}），"
                           "合同终止且乙方结清费用、交还房屋后无息退还。", 2))
    clauses = [c for c in (lease.get("clauses") or []) if str(c).strip()]
    if clauses:
        blocks.append(("heading", "第四条　其他约定", 0))
        for index, clause in enumerate(clauses, start=1):
            blocks.append(("para", f"（{_chinese_ordinal(index)}）{str(clause).strip()}", 2))
    blocks += [
        ("gap", "", 0),
        ("para", f"甲方（盖章）：{lease['landlord']}", 0),
        ("para", "乙方（签字）：", 0),
        ("para", f"签订日期：{_date(lease['created_at'])}", 0),
    ]
    return blocks


def render(lease: dict[str, Any]) -> bytes:
    """The lease contract as PDF bytes; the same ``lease`` always gives the same bytes."""
    return render_pdf(_blocks(lease), title="公共租赁住房租赁合同 " + str(lease["lease_id"]),
                      footer=f"合同编号 {lease['lease_id']}　", created_at=lease.get("created_at"),
                      producer="gongzufang contract_pdf")
