"""The response shapes of payments and their vouchers (issue 11 §2-3, docs/decisions/0028), beside
schemas.py (at its size limit) and built with its helpers; openapi.document() adds them to the
document's components like RESPONSE_SCHEMAS."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.bills import BillKind
from chalicelib.domain.payments import PaymentMethod, PaymentStatus
from chalicelib.schemas import INT, NS, B, S, _enum, _maybe, _obj, _page, _ref

FEN = {**INT, "description": "分"}
PAYMENT_SCHEMAS: dict[str, Any] = {
    "Payment": _obj({
        "payment_id": {**S, "description": "订单号（即支付机构的商户订单号 out_trade_no）"}, "status": _enum(PaymentStatus),
        "status_name": S, "provider": _enum(("wechat", "alipay", "counter")),
        "method": _enum(PaymentMethod), "method_name": S, "amount": FEN, "description": S,
        "payer_role": _enum(("tenant", "delegate", "staff")),
        "payer_name": {**NS, "description": "已遮盖，如 张*明"},
        "bills": {"type": "array", "items": _obj({"bill_id": S, "kind": _enum(BillKind),
                                                  "kind_name": S, "month": NS, "unit_label": S, "amount": FEN,
                                                  "due_date": S})},
        "transaction_id": {**NS, "description": "支付机构的交易号"}, "counter_receipt_no": NS,
        "created_at": S, "expires_at": NS, "paid_at": NS, "closed_at": NS,
        "refund": _maybe({"refund_id": S, "amount": FEN, "reason": _enum(("bills_paid", "closed")),
                          "requested_at": S, "refunded_at": NS}),
        "receipt": _maybe({"number": S, "sha256": S, "available": B, "external_no": NS}),
        "version": INT}),
    "PaymentPage": _page("Payment"),
    "ReceiptLink": _obj({"payment_id": S, "number": S, "sha256": S, "content_type": S,
                         "download": _obj({"url": S, "expires_at": S})}),
}
PAYMENT_SCHEMAS["PaymentOrder"] = {"allOf": [_ref("Payment"), _obj({"prepay": _obj({
    "provider": _enum(("wechat", "alipay")),
    "params": {"type": "object", "additionalProperties": S,
               "description": "交给支付 SDK 的参数：微信 App 支付 appid、partnerid、prepayid、package、noncestr、"
                              "timestamp、sign；支付宝 order_string"}})})]}

