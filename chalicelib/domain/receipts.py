"""Receipts (收据/票据): the payment voucher (缴费凭证), one per paid payment, and the city's external
e-receipt where it has one. Decisions: docs/decisions/0028.

The voucher is a PDF made by the shared writer (pdf.py) from what the payment holds, nothing else:
the bills it paid, the amount (in figures and in capitals), the way and the provider's transaction
id (or the counter's receipt number), the time, the payer's masked name. So it is the same bytes
whenever it is made: its number and SHA-256 are written in the settlement transaction itself, the
file is put in the private document bucket after (``payments/{id}/receipt.pdf``, SSE-KMS), and a
file lost on the way is made again, byte for byte, when someone asks for it.

Where the city has a non-tax e-receipt (非税电子票据) or e-invoice service, the ``ReceiptProvider``
adapter (chalicelib/receipt_provider.py, ``deps().receipt_provider``) issues it after settlement and
its number is stored on the payment; not answering leaves the task to the sweep. The built-in voucher
is the default and stays the record either way.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.bills import KIND_NAMES
from chalicelib.domain.payments import (COUNTER, METHOD_NAMES, PAID, STAFF_ROLES, Payment, Task, authorize,
                                        with_changes)
from chalicelib.identity import Actor

CONTENT_TYPE = "application/pdf"


def number(payment: Payment) -> str:
    """The voucher's number: ``SJ`` + the day it was paid (China time) + the payment's own digits, so
    it is unique without a counter every settlement would contend on."""
    day = (payment.paid_at or payment.created_at)[:10].replace("-", "")
    return f"SJ{day}{payment.payment_id.removeprefix('pay_').upper()}"


def key(payment: Payment) -> str:
    return f"payments/{payment.payment_id}/receipt.pdf"


def issue(payment: Payment) -> Payment:
    """``payment`` (being settled) with its voucher: number, file key and the file's SHA-256."""
    numbered = replace(payment, receipt={"number": number(payment), "key": key(payment),
                                         "issued_at": payment.paid_at or payment.updated_at,
                                         # as the voucher says them, so it renders the same bytes later
                                         "city_name": deps().settings.city_name, "payee": _payee()})
    sha = hashlib.sha256(render(numbered)).hexdigest()
    return replace(numbered, receipt={**(numbered.receipt or {}), "sha256": sha})


def _payee() -> str:
    from chalicelib.domain.leases import config as lease_config

    return lease_config().landlord


def render(payment: Payment) -> bytes:
    from chalicelib.domain.pdf import render as render_pdf, yuan, yuan_upper

    receipt = payment.receipt or {}
    way = METHOD_NAMES.get(payment.method, str(payment.method))
    if payment.provider == COUNTER:
        reference = f"窗口收据编号：{(payment.counter or {}).get('receipt_no', '')}"
    else:
        reference = f"交易单号：{payment.transaction_id or ''}"
    blocks: list[tuple[str, str, float]] = [
        ("title", f"{receipt.get('city_name') or deps().settings.city_name}公共租赁住房缴费凭证", 0),
        ("sub", f"凭证编号：{receipt.get('number', '')}", 0),
        ("gap", "", 0),
        ("para", f"收款单位：{receipt.get('payee') or _payee()}", 0),
        ("para", f"缴费人：{payment.payer_masked or '承租人'}", 0),
        ("para", f"缴费方式：{way}", 0),
        ("para", reference, 0),
        ("para", f"订单编号：{payment.payment_id}", 0),
        ("para", f"缴费时间：{_when(payment.paid_at)}", 0),
        ("heading", "缴费明细", 0),
    ]
    for n, line in enumerate(payment.bills, start=1):
        what = KIND_NAMES.get(line.kind, str(line.kind)) + (f"（{line.month}）" if line.month else "")
        blocks.append(("para", f"{n}. {what}　{line.unit_label}　账单 {line.bill_id}　人民币{yuan(line.amount)}元", 2))
    blocks += [
        ("gap", "", 0),
        ("para", f"合计：人民币{yuan(payment.amount)}元（大写：{yuan_upper(payment.amount)}）", 0),
        ("gap", "", 0),
        ("para", "本凭证由公租房服务系统在缴费成功后生成，可用于核对缴费；其 SHA-256 摘要记录在缴费记录中。", 0),
    ]
    return render_pdf(blocks, title=f"公共租赁住房缴费凭证 {receipt.get('number', '')}",
                      footer=f"凭证编号 {receipt.get('number', '')}　", created_at=receipt.get("issued_at"),
                      producer="gongzufang receipts")


def _when(value: str | None) -> str:
    try:
        moment = datetime.fromisoformat(str(value)).astimezone(common.CHINA_TZ)
    except (TypeError, ValueError):
        return str(value or "")
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M:%S}"


def store(payment: Payment) -> None:
    """The voucher's file, private (after the transaction that recorded its SHA-256)."""
    deps().payments.put_receipt(key(payment), _checked(payment))


def _checked(payment: Payment) -> bytes:
    pdf = render(payment)
    recorded = (payment.receipt or {}).get("sha256")
    if hashlib.sha256(pdf).hexdigest() != recorded:  # the same payment must give the same bytes
        raise errors.ServiceUnavailable(f"the voucher of {payment.payment_id} does not render as recorded")
    return pdf


def issue_external(payment: Payment) -> Payment:
    """The city's external e-receipt (none by default): its number stored on the payment; a service
    that does not answer leaves the payment to the sweep (task ``receipt``)."""
    provider = deps().receipt_provider
    receipt = dict(payment.receipt or {})
    if provider.name == "builtin" or receipt.get("external_no"):
        return payment
    request = {"request_no": receipt.get("number"), "payer": payment.payer_masked or "",
               "payee": _payee(), "amount": payment.amount, "paid_at": payment.paid_at,
               "items": [{"bill_id": b.bill_id, "kind": str(b.kind), "month": b.month, "amount": b.amount}
                         for b in payment.bills]}
    try:
        issued = provider.issue(request)
    except errors.ServiceUnavailable:
        later = with_changes(payment, task=Task.RECEIPT, task_at=common.now_iso())
        return later if deps().payments.change(payment, later) else payment
    done = with_changes(payment, task=None, task_at=None, receipt={
        **receipt, "external_provider": provider.name, "external_no": issued.number, "external_url": issued.url})
    return done if deps().payments.change(payment, done) else deps().payments.get(payment.payment_id)


def link(payment_id: str, actor: Actor, reason: str | None) -> tuple[Payment, dict[str, Any]]:
    """A short-lived link to the voucher: the tenant, the one who paid, a delegate whose grant from the
    tenant is live (``view`` is enough: the voucher carries amounts, the unit and the payer's masked
    name, no ID number nor full name), or staff with a reason (audited). Anyone else: 404."""
    payment = deps().payments.get(payment_id)
    if actor.has(*STAFF_ROLES):
        from chalicelib.domain import audit

        audit.record(actor, f"payment#{payment_id}", "read_receipt", reason)
    else:
        authorize(payment, actor, "view")  # check(grant, "view") for a delegate
    if payment.status != PAID or not (payment.receipt or {}).get("sha256"):
        raise errors.ReceiptNotReady(payment.status, field="payment_id")
    storage = deps().storage
    if not deps().payments.has_receipt(key(payment)):  # lost after the settlement: the same bytes again
        store(payment)
    return payment, storage.presigned_get(key(payment), CONTENT_TYPE)
