"""Payments (缴费) and their vouchers: a tenant's orders (WeChat Pay, Alipay), the providers'
notifications, counter payments by staff, the voucher link. Decisions: docs/decisions/0028.

The two notify routes need no login (trust comes from the provider's signature only) and answer in
the provider's own format, never the app's error envelope: the provider reads nothing else and
delivers again until it gets its ``success``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CASE_STAFF, CITIZEN
from chalicelib.identity import Role
from chalicelib.observability import logger
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.payments import Payment

payments = lazy.module("chalicelib.domain.payments")
settlement = lazy.module("chalicelib.domain.settlement")
receipts = lazy.module("chalicelib.domain.receipts")

bp = Blueprint(__name__)
api = Api(bp, "payments")

RECEIPT_READERS = (Role.APPLICANT.value, Role.STAFF.value, Role.ADMIN.value)
REASON = Param("reason", description="查看事由（工作人员必填，记入审计）", max_length=200)


def present(p: Payment) -> dict[str, Any]:
    from chalicelib.domain.bills import KIND_NAMES

    receipt = p.receipt or {}
    refund = p.refund or {}
    return {
        "payment_id": p.payment_id, "status": p.status, "status_name": payments.STATUS_NAMES[p.status],
        "provider": p.provider, "method": p.method, "method_name": payments.METHOD_NAMES[p.method],
        "amount": p.amount, "description": p.description, "payer_role": p.payer_role, "payer_name": p.payer_masked,
        "bills": [{"bill_id": b.bill_id, "kind": b.kind, "kind_name": KIND_NAMES.get(b.kind, str(b.kind)),
                   "month": b.month, "unit_label": b.unit_label, "amount": b.amount, "due_date": b.due_date}
                  for b in p.bills],
        "transaction_id": p.transaction_id, "counter_receipt_no": (p.counter or {}).get("receipt_no"),
        "created_at": p.created_at, "expires_at": p.expires_at, "paid_at": p.paid_at, "closed_at": p.closed_at,
        "refund": {k: refund.get(k) for k in ("refund_id", "amount", "reason", "requested_at", "refunded_at")}
        if refund else None,
        "receipt": {"number": receipt.get("number"), "sha256": receipt.get("sha256"),
                    "available": p.status == payments.PAID and bool(receipt.get("sha256")),
                    "external_no": receipt.get("external_no")} if receipt else None,
        "version": p.version,
    }


# --- the tenant (or a delegate with a grant) -----------------------------------------------------------------
@api.route("/v1/me/payments", "POST", summary="缴费：为一笔或多笔账单下单（微信支付/支付宝），返回支付 SDK 所需参数",
           roles=CITIZEN, body="chalicelib.bodies:PaymentIn", status=201, response="PaymentOrder",
           raises=(errors.BillNotFound, errors.BillAlreadyPaid, errors.BillCancelled, errors.NothingToPay),
           operation_id="createPayment")
def create_payment(call: Call) -> dict[str, Any]:
    """Opens an order for the bills (amounts from the bills only) and returns the provider's prepay parameters."""
    p = payments.create(call.actor, call.model())
    return present(p) | {"prepay": {"provider": p.provider, "params": dict(p.prepay or {})}}


@api.route("/v1/me/payments", summary="我的缴费记录（最新在前）", roles=CITIZEN, params=[LIMIT, CURSOR],
           response="PaymentPage", operation_id="listMyPayments")
def my_payments(call: Call) -> dict[str, Any]:
    page = payments.mine(call.actor, call.params["limit"], call.params["cursor"])
    return {"items": [present(p) for p in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/me/payments/{payment_id}", summary="一笔缴费：状态、账单、凭证是否可下载", roles=CITIZEN,
           response="Payment", operation_id="getMyPayment")
def my_payment(call: Call, payment_id: str) -> dict[str, Any]:
    return present(payments.get(payment_id, call.actor))


@api.route("/v1/me/payments/{payment_id}/close", "POST", summary="取消未支付的缴费订单（同时在支付机构关闭）",
           roles=CITIZEN, response="Payment", raises=(errors.PaymentAlreadyPaid,), operation_id="closeMyPayment")
def close_payment(call: Call, payment_id: str) -> dict[str, Any]:
    return present(settlement.close_order(payment_id, call.actor))


# --- the voucher ------------------------------------------------------------------------------------------------
@api.route("/v1/payments/{payment_id}/receipt", summary="缴费凭证（PDF）的短期下载链接：承租人、受托人、工作人员（记入审计）",
           roles=RECEIPT_READERS, params=[REASON], response="ReceiptLink", raises=(errors.ReceiptNotReady,),
           operation_id="getPaymentReceipt")
def receipt(call: Call, payment_id: str) -> dict[str, Any]:
    p, link = receipts.link(payment_id, call.actor, call.params["reason"])
    return {"payment_id": p.payment_id, "number": (p.receipt or {}).get("number"),
            "sha256": (p.receipt or {}).get("sha256"), "content_type": receipts.CONTENT_TYPE, "download": link}


# --- staff at the counter (窗口) ----------------------------------------------------------------------------------
@api.route("/v1/staff/payments", "POST", summary="登记窗口缴费（现金、银行转账；记入审计）", roles=CASE_STAFF,
           body="chalicelib.bodies:CounterPaymentIn", status=201, response="Payment",
           raises=(errors.BillNotFound, errors.BillAlreadyPaid, errors.BillCancelled),
           operation_id="recordCounterPayment")
def record_counter_payment(call: Call) -> dict[str, Any]:
    return present(settlement.record_counter(call.actor, call.model()))


# --- the providers' notifications (no login: the signature decides) ---------------------------------------------
def _notify(call: Call, provider: str) -> Response:
    request = call.request
    try:
        outcome = settlement.notify(provider, dict(request.headers or {}), request.raw_body or b"")
    except errors.RouteNotFound:
        raise  # the city has no such merchant: there is no such route here
    except Exception as exc:  # noqa: BLE001 - ours (DynamoDB busy, a bug): the provider delivers again later
        if not isinstance(exc, errors.ServiceUnavailable):
            logger.exception("payment notification failed", extra={"provider": provider})
        outcome = settlement.RETRY_LATER
    status, headers, body = settlement.answer(provider, outcome)
    return Response(body=body.decode("utf-8"), status_code=status, headers=headers)


_WECHAT_FAIL = {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string", "enum": ["FAIL"]}, "message": {"type": "string"}}}
_ERROR, _FAIL = {"$ref": "#/components/schemas/Error"}, {"code": "FAIL", "message": "失败"}
_NOT_HERE = {"description": "本市未开通该支付方式：没有此接口（应用的错误格式 ROUTE_NOT_FOUND）",
             "content": {"application/json": {"schema": _ERROR}}}
_TEXT = {"type": "string", "enum": ["success", "failure"]}
WECHAT_RAW = {
    "parameters": [{"name": n, "in": "header", "required": False, "schema": {"type": "string"}, "description": d}
                   for n, d in (("Wechatpay-Signature", "平台签名（SHA256withRSA，Base64）"),
                                ("Wechatpay-Timestamp", "签名时间戳（秒）：与服务器时间相差超过 5 分钟的通知被拒绝"),
                                ("Wechatpay-Nonce", "随机串"), ("Wechatpay-Serial", "平台证书序列号或平台公钥 ID"))],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "微信支付 API v3 支付成功通知（resource 为 AEAD_AES_256_GCM 密文）",
        "properties": {"id": {"type": "string"}, "create_time": {"type": "string"}, "event_type": {"type": "string"},
                       "resource_type": {"type": "string"}, "summary": {"type": "string"},
                       "resource": {"type": "object", "properties": {
                           "algorithm": {"type": "string"}, "ciphertext": {"type": "string"},
                           "nonce": {"type": "string"}, "associated_data": {"type": "string"},
                           "original_type": {"type": "string"}}}}}}}},
    "responses": {
        "204": {"description": "已验签并入账（或此前已入账）：无响应体，微信支付不再重发"},
        "400": {"description": "签名、时间戳或报文不可信，或商户号、订单、金额不符：未做任何资金变更，微信支付按其策略重发"
                               "（带查询参数的请求：应用的错误格式）",
                "content": {"application/json": {"schema": {"anyOf": [_WECHAT_FAIL, _ERROR]},
                                                 "example": _FAIL}}},
        "404": _NOT_HERE,
        "500": {"description": "本方暂时无法处理（如数据库繁忙）：未做任何资金变更，微信支付稍后重发",
                "content": {"application/json": {"schema": _WECHAT_FAIL, "example": _FAIL}}},
    },
}
ALIPAY_RAW = {
    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "description": "支付宝异步通知（参数按名称排序后以 RSA2 验签）",
        "properties": {n: {"type": "string"} for n in (
            "notify_time", "notify_type", "notify_id", "app_id", "charset", "version", "sign_type", "sign",
            "trade_no", "out_trade_no", "trade_status", "total_amount", "receipt_amount", "gmt_payment",
            "seller_id", "buyer_id")}}}}},
    "responses": {
        "200": {"description": "纯文本：success（已验签并入账，或此前已入账，支付宝不再重发）；failure（不可信或不符，"
                               "或本方暂时无法处理：未做任何资金变更，支付宝按其策略重发）",
                "content": {"text/plain": {"schema": _TEXT, "example": "success"}}},
        "400": {"description": "带查询参数的请求（应用的错误格式）",
                "content": {"application/json": {"schema": _ERROR}}},
        "404": _NOT_HERE,
    },
}


@api.route("/v1/payments/wechat/notify", "POST", summary="微信支付结果通知（无需登录，以平台签名为准）", raw=WECHAT_RAW,
           operation_id="notifyWechatPayment")
def wechat_notify(call: Call) -> Response:
    """WeChat Pay's payment notification: verified, matched, settled once; answered as WeChat Pay expects."""
    return _notify(call, "wechat")


@api.route("/v1/payments/alipay/notify", "POST", summary="支付宝异步通知（无需登录，以支付宝签名为准）", raw=ALIPAY_RAW,
           operation_id="notifyAlipayPayment")
def alipay_notify(call: Call) -> Response:
    """Alipay's asynchronous notification: verified, matched, settled once; answered with the 7 bytes success."""
    return _notify(call, "alipay")
