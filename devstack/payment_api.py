"""The payment simulator's HTTP side (devstack/payments.py holds its state): WeChat Pay API v3
routes, the Alipay gateway, the statement downloads, and the ``/control/...`` routes that make the
payer and the provider act (for a demo running in another process)."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import urllib.parse
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from devstack.payment_formats import (
    WECHAT_SIGNATURE_TYPE,
    alipay_content,
    certificate_pem,
    china_iso,
    china_wall,
    compact_json,
    gcm_encrypt,
    rsa_sign,
    rsa_verify,
    yuan,
)

if TYPE_CHECKING:
    from devstack.payments import PaymentSimulator, SimOrder
    from devstack.simulator import SimulatorHandler

_AUTH = re.compile(r'(\w+)="([^"]*)"')
_ORDER_ID = re.compile(r"[A-Za-z0-9_\-|*]{6,32}")


def route(sim: PaymentSimulator, h: SimulatorHandler, method: str, body: bytes) -> None:
    url = urllib.parse.urlsplit(h.path)
    if url.path.startswith("/control/"):
        _control(sim, h, method, url.path.removeprefix("/control/"), body)
    elif url.path == "/gateway.do" and method == "POST":
        _alipay(sim, h, url.query, body)
    elif url.path.startswith("/alipay/bill/") and method == "GET":
        if not _disturbed(sim, h, "alipay"):
            served = sim.bills.get(url.path.removeprefix("/alipay/bill/"))
            h.reply(200 if served else 404, served or {"error": "not_found"},
                    content_type="application/octet-stream" if served else "application/json; charset=utf-8")
    elif url.path.startswith("/v3/"):
        _wechat(sim, h, method, url, body)
    else:
        h.reply(404, {"error": "not_found"})


def _disturbed(sim: PaymentSimulator, h: SimulatorHandler, provider: str) -> bool:
    """The provider's trouble of the moment (``sim.mode``); True when the request is answered."""
    if sim.mode == "slow":
        time.sleep(sim.slow_s)
    elif sim.mode == "down":
        h.reply(503, {"code": "SYSTEM_ERROR", "message": "系统繁忙"} if provider == "wechat" else b"Service Unavailable",
                content_type="application/json; charset=utf-8" if provider == "wechat" else "text/plain")
        return True
    elif sim.mode == "garbage":
        h.reply(200, b"<html>502 Bad Gateway</html>", content_type="text/html")
        return True
    return False


# --- WeChat Pay API v3 -------------------------------------------------------------------------------
def _wechat(sim: PaymentSimulator, h: SimulatorHandler, method: str, url: urllib.parse.SplitResult,
            body: bytes) -> None:
    if not _wechat_signed(sim, h, method, body):
        _wechat_reply(sim, h, 401, {"code": "SIGN_ERROR", "message": "签名错误"})
        return
    sim.calls.append(f"wechat {method} {url.path}")
    if _disturbed(sim, h, "wechat"):
        return
    try:
        request = json.loads(body) if body else {}
    except ValueError:
        _wechat_reply(sim, h, 400, {"code": "PARAM_ERROR", "message": "请求体不是JSON"})
        return
    with sim._lock:
        status, payload = _wechat_route(sim, method, url.path, dict(urllib.parse.parse_qsl(url.query)), request)
    if isinstance(payload, bytes):
        h.reply(status, payload, content_type="application/octet-stream")
    else:
        _wechat_reply(sim, h, status, payload)


def _wechat_signed(sim: PaymentSimulator, h: SimulatorHandler, method: str, body: bytes) -> bool:
    """The merchant's ``Authorization``: method, path, timestamp, nonce, body, signed with its key."""
    scheme, _, rest = (h.headers.get("Authorization") or "").partition(" ")
    f = dict(_AUTH.findall(rest))
    timestamp = f.get("timestamp", "")
    if (scheme != WECHAT_SIGNATURE_TYPE or f.get("mchid") != sim.mchid or f.get("serial_no") != sim.keys.merchant_serial
            or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300):
        return False
    message = f"{method}\n{h.path}\n{timestamp}\n{f.get('nonce_str', '')}\n{body.decode('utf-8', 'replace')}\n"
    return rsa_verify(sim.keys.wechat_merchant.public_key(), message, f.get("signature", ""))


def _wechat_reply(sim: PaymentSimulator, h: SimulatorHandler, status: int, payload: dict[str, Any] | None) -> None:
    body = b"" if payload is None else compact_json(payload).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16).upper()
    headers = {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": sim.platform_serial,
               "Wechatpay-Signature": rsa_sign(sim.keys.wechat_platform, f"{timestamp}\n{nonce}\n{body.decode()}\n"),
               "Wechatpay-Signature-Type": WECHAT_SIGNATURE_TYPE, "Request-ID": secrets.token_hex(16)}
    h.reply(status, body, headers=headers, content_type="application/json; charset=utf-8" if body else None)


def _fail(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": message}


def _wechat_route(sim: PaymentSimulator, method: str, path: str, q: dict[str, str],
                  r: dict[str, Any]) -> tuple[int, dict[str, Any] | bytes | None]:
    if method == "POST" and (m := re.fullmatch(r"/v3/pay/transactions/(app|jsapi)", path)):
        return _wechat_prepay(sim, m[1], r)
    if method == "GET" and (m := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", path)):
        o = sim.orders.get(("wechat", urllib.parse.unquote(m[1])))
        if q.get("mchid") != sim.mchid:
            return _fail(400, "PARAM_ERROR", "商户号不正确")
        return (200, sim._wechat_transaction(o)) if o else _fail(404, "ORDER_NOT_EXIST", "订单不存在")
    if method == "POST" and (m := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path)):
        o = sim.orders.get(("wechat", urllib.parse.unquote(m[1])))
        if r.get("mchid") != sim.mchid:
            return _fail(400, "PARAM_ERROR", "商户号不正确")
        if o is None:
            return _fail(404, "ORDER_NOT_EXIST", "订单不存在")
        if o.state in ("paid", "refunded"):
            return _fail(400, "ORDERPAID", "订单已支付")
        o.state = "closed"
        return 204, None
    if method == "POST" and path == "/v3/refund/domestic/refunds":
        return _wechat_refund(sim, r)
    if method == "GET" and path == "/v3/bill/tradebill":
        return _wechat_tradebill(sim, q)
    if method == "GET" and path == "/v3/billdownload/file":
        served = sim.bills.get(q.get("token", ""))
        return (200, served) if served else _fail(404, "RESOURCE_NOT_EXISTS", "账单文件不存在")
    if method == "GET" and path == "/v3/certificates":
        c = sim.keys.certificate
        return 200, {"data": [{"serial_no": f"{sim.keys.platform_serial:X}",
                               "effective_time": china_iso(c.not_valid_before_utc),
                               "expire_time": china_iso(c.not_valid_after_utc),
                               "encrypt_certificate": gcm_encrypt(sim.keys.apiv3_key, certificate_pem(c), "certificate")}]}
    return _fail(404, "NOT_FOUND", "接口不存在")


def _wechat_prepay(sim: PaymentSimulator, kind: str, r: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from devstack.payments import SimOrder, _now

    if r.get("appid") != sim.appid or r.get("mchid") != sim.mchid:
        return _fail(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    order_id, amount, description = r.get("out_trade_no"), (r.get("amount") or {}).get("total"), r.get("description")
    notify_url = r.get("notify_url")
    if (not isinstance(order_id, str) or not _ORDER_ID.fullmatch(order_id) or isinstance(amount, bool)
            or not isinstance(amount, int) or amount <= 0 or not isinstance(description, str) or not description
            or not isinstance(notify_url, str) or not notify_url.startswith(("http://", "https://"))):
        return _fail(400, "PARAM_ERROR", "参数错误")
    if kind == "jsapi" and not (r.get("payer") or {}).get("openid"):
        return _fail(400, "PARAM_ERROR", "缺少payer.openid")
    o = sim.orders.get(("wechat", order_id))
    if o is not None:
        if o.state in ("paid", "refunded"):
            return _fail(400, "ORDERPAID", "该订单已支付")
        if o.state == "closed":
            return _fail(400, "ORDER_CLOSED", "订单已关闭")
        if o.amount != amount or o.description != description:
            return _fail(400, "INVALID_REQUEST", "201 商户订单号重复")
        return 200, {"prepay_id": o.prepay_id}
    prepay_id = "wx" + datetime.now(timezone.utc).strftime("%d%H%M%S") + secrets.token_hex(12)
    sim.orders[("wechat", order_id)] = SimOrder("wechat", order_id, amount, description, notify_url, _now(),
                                                prepay_id=prepay_id)
    return 200, {"prepay_id": prepay_id}


def _wechat_refund(sim: PaymentSimulator, r: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    o = sim.orders.get(("wechat", str(r.get("out_trade_no"))))
    if o is None:
        return _fail(404, "RESOURCE_NOT_EXISTS", "订单不存在")
    done = next((x for x in o.refunds if x.refund_id == r.get("out_refund_no")), None)
    if done is None:
        amount = r.get("amount") or {}
        refund = amount.get("refund")
        if o.state not in ("paid", "refunded") or o.paid_amount is None:
            return _fail(400, "INVALID_REQUEST", "订单未支付")
        if amount.get("total") != o.paid_amount:
            return _fail(400, "PARAM_ERROR", "订单金额与实际不一致")
        if not isinstance(refund, int) or refund <= 0 or o.refunded + refund > o.paid_amount:
            return _fail(403, "NOT_ENOUGH", "可退金额不足")
        if not isinstance(r.get("out_refund_no"), str) or not _ORDER_ID.fullmatch(r["out_refund_no"]):
            return _fail(400, "PARAM_ERROR", "out_refund_no 不正确")
        done = _add_refund(sim, o, r["out_refund_no"], refund, "50" + secrets.token_hex(14))
    return 200, {"refund_id": done.provider_refund_id, "out_refund_no": done.refund_id,
                 "transaction_id": o.transaction_id, "out_trade_no": o.order_id, "channel": "ORIGINAL",
                 "user_received_account": "支付用户零钱", "success_time": china_iso(done.at),
                 "create_time": china_iso(done.at), "status": "SUCCESS", "funds_account": "AVAILABLE",
                 "amount": {"total": o.paid_amount, "refund": done.amount, "payer_total": o.paid_amount,
                            "payer_refund": done.amount, "settlement_refund": done.amount,
                            "settlement_total": o.paid_amount, "discount_refund": 0, "currency": "CNY"}}


def _add_refund(sim: PaymentSimulator, o: SimOrder, refund_id: str, amount: int, provider_refund_id: str) -> Any:
    from devstack.payments import SimRefund, _now

    done = SimRefund(refund_id, provider_refund_id, amount, _now())
    o.refunds.append(done)
    o.state = "refunded"
    return done


def _wechat_tradebill(sim: PaymentSimulator, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
    day = q.get("bill_date", "")
    if q.get("bill_type", "ALL") != "ALL" or q.get("tar_type", "GZIP") != "GZIP" or not re.fullmatch(r"\d{4}-\d\d-\d\d", day):
        return _fail(400, "PARAM_ERROR", "参数错误")
    file = sim.bill_file("wechat", day)
    if file is None:
        return _fail(400, "NO_STATEMENT_EXIST", "账单文件不存在")
    served, raw, bad_hash = file
    token = secrets.token_urlsafe(16)
    sim.bills[token] = served
    digest = hashlib.sha1((raw or b"") + (b"planted" if bad_hash else b"")).hexdigest()  # noqa: S324 - WeChat's choice
    return 200, {"hash_type": "SHA1", "hash_value": digest,
                 "download_url": f"{sim.base_url}/v3/billdownload/file?token={token}"}


# --- Alipay gateway ------------------------------------------------------------------------------------
def _alipay(sim: PaymentSimulator, h: SimulatorHandler, query: str, body: bytes) -> None:
    try:
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        params.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        h.reply(400, {"error": "bad_request"})
        return
    method = params.get("method", "")
    member = method.replace(".", "_") + "_response" if method else "error_response"
    sign = params.pop("sign", "")
    if params.get("app_id") != sim.alipay_app_id:
        _alipay_reply(sim, h, member, _alipay_fail("40002", "isv.invalid-app-id", "无效的AppID参数"))
        return
    if params.get("sign_type") != "RSA2" or not rsa_verify(sim.keys.alipay_app.public_key(),
                                                           alipay_content(params, ()), sign):
        _alipay_reply(sim, h, member, _alipay_fail("40002", "isv.invalid-signature", "验签出错"))
        return
    sim.calls.append(f"alipay {method}")
    if _disturbed(sim, h, "alipay"):
        return
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        _alipay_reply(sim, h, member, _alipay_fail("40002", "isv.invalid-parameter", "参数无效"))
        return
    with sim._lock:
        answer = _alipay_method(sim, method, biz)
    _alipay_reply(sim, h, member, answer)


def _alipay_reply(sim: PaymentSimulator, h: SimulatorHandler, member: str, answer: dict[str, Any]) -> None:
    inner = compact_json(answer)
    text = '{"' + member + '":' + inner + ',"sign":"' + rsa_sign(sim.keys.alipay_platform, inner) + '"}'
    h.reply(200, text.encode("utf-8"), content_type="application/json;charset=utf-8")


def _alipay_fail(code: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    msg = {"40002": "Invalid Arguments", "40004": "Business Failed"}.get(code, "Failed")
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _alipay_status(o: SimOrder) -> str:
    if o.state == "refunded":
        return "TRADE_CLOSED" if o.refunded >= (o.paid_amount or 0) else "TRADE_SUCCESS"
    return {"not_paid": "WAIT_BUYER_PAY", "paid": "TRADE_SUCCESS", "closed": "TRADE_CLOSED"}[o.state]


def _alipay_method(sim: PaymentSimulator, method: str, biz: dict[str, Any]) -> dict[str, Any]:
    ok = {"code": "10000", "msg": "Success"}
    if method == "alipay.data.dataservice.bill.downloadurl.query":
        day = str(biz.get("bill_date", ""))
        if biz.get("bill_type") != "trade" or not re.fullmatch(r"\d{4}-\d\d-\d\d", day):
            return _alipay_fail("40004", "isv.invalid-parameter", "参数无效")
        file = sim.bill_file("alipay", day)
        if file is None:
            return _alipay_fail("40004", "isp.bill_not_exist", "账单不存在")
        token = secrets.token_urlsafe(16)
        sim.bills[token] = file[0]
        return ok | {"bill_download_url": f"{sim.base_url}/alipay/bill/{token}"}
    o = sim.orders.get(("alipay", str(biz.get("out_trade_no"))))
    if method not in ("alipay.trade.query", "alipay.trade.close", "alipay.trade.refund"):
        return _alipay_fail("40002", "isv.invalid-method", "不存在的方法名")
    if o is None:
        return _alipay_fail("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
    base = {"trade_no": o.transaction_id, "out_trade_no": o.order_id} if o.transaction_id else {"out_trade_no": o.order_id}
    if method == "alipay.trade.query":
        paid = {"send_pay_date": china_wall(o.paid_at), "buyer_pay_amount": yuan(o.paid_amount or 0)} if o.paid_at else {}
        return ok | base | {"buyer_logon_id": "sim***@example.com", "trade_status": _alipay_status(o),
                            "total_amount": yuan(o.paid_amount if o.paid_amount is not None else o.amount)} | paid
    if method == "alipay.trade.close":
        if o.state in ("paid", "refunded"):
            return _alipay_fail("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        o.state = "closed"
        return ok | base
    # alipay.trade.refund
    if o.state not in ("paid", "refunded") or o.paid_amount is None:
        return _alipay_fail("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    request_no = str(biz.get("out_request_no") or o.order_id)
    done = next((x for x in o.refunds if x.refund_id == request_no), None)
    if done is None:
        try:
            from devstack.payments import _fen

            amount = _fen(str(biz.get("refund_amount")))
        except ValueError:
            return _alipay_fail("40004", "ACQ.INVALID_PARAMETER", "参数无效")
        if amount <= 0 or o.refunded + amount > o.paid_amount:
            return _alipay_fail("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        done = _add_refund(sim, o, request_no, amount, request_no)
        fund_change = "Y"
    else:
        fund_change = "N"  # the same out_request_no again: nothing moves
    return ok | base | {"buyer_logon_id": "sim***@example.com", "fund_change": fund_change,
                        "refund_fee": yuan(o.refunded), "gmt_refund_pay": china_wall(done.at)}


# --- control -----------------------------------------------------------------------------------------
def _control(sim: PaymentSimulator, h: SimulatorHandler, method: str, name: str, body: bytes) -> None:
    from devstack.payments import delivery_json

    if method != "POST":
        h.reply(405, {"error": "method_not_allowed"})
        return
    try:
        r = json.loads(body or b"{}")
        if not isinstance(r, dict):
            raise ValueError("a JSON object is expected")
        if name == "open":
            out: dict[str, Any] = {"order_id": sim.open_alipay(r["order_string"])}
        elif name == "pay":
            order_id = r.get("order_id") or sim.open_alipay(r["order_string"])
            at = datetime.fromisoformat(r["at"]) if r.get("at") else None
            delivered = sim.pay(order_id, provider=r.get("provider"), deliver=r.get("deliver", "normal"),
                                times=r.get("times"), concurrency=int(r.get("concurrency", 1)),
                                amount_delta=int(r.get("amount_delta", 1)), at=at)
            out = {"order_id": order_id, "deliveries": [delivery_json(d) for d in delivered]}
        elif name == "release":
            out = {"deliveries": [delivery_json(d) for d in sim.release(r.get("order", "fifo"))]}
        elif name == "notification":
            headers, raw = sim.notification(r["order_id"], provider=r.get("provider"), kind=r.get("kind", "normal"))
            out = {"headers": headers, "body": raw.decode("utf-8")}
        elif name == "plant":
            out = sim.plant(r["provider"], r["day"], r["kind"], r.get("order_id"), int(r.get("amount_delta", 100)))
        elif name == "mode":
            sim.set_mode(r["mode"])
            out = {"mode": sim.mode}
        else:
            h.reply(404, {"error": "not_found"})
            return
    except (KeyError, ValueError, TypeError) as exc:
        h.reply(400, {"error": f"{type(exc).__name__}: {exc}"})
        return
    h.reply(200, out)


