"""A simulator of WeChat Pay (API v3) and Alipay (the open platform gateway) on loopback, for the
local stack and the tests (docs/decisions/0026-payment-providers.md).

It makes its own keys at start (merchant and platform RSA keys, the API v3 key, Alipay's app and
platform keys; nothing is committed), writes the merchant secrets the app's adapter reads, and
speaks both wire formats as the providers do, independently of the adapter (devstack/payment_formats.py):

- WeChat Pay: ``POST /v3/pay/transactions/app|jsapi``, ``GET /v3/pay/transactions/out-trade-no/{no}``,
  ``POST .../out-trade-no/{no}/close``, ``POST /v3/refund/domestic/refunds``,
  ``GET /v3/bill/tradebill`` + ``GET /v3/billdownload/file``, ``GET /v3/certificates``; requests
  must carry the merchant's ``Authorization`` signature, answers are signed (``Wechatpay-*``);
- Alipay: ``POST /gateway.do`` (``alipay.trade.query|close|refund``,
  ``alipay.data.dataservice.bill.downloadurl.query``; RSA2 both ways) and ``GET /alipay/bill/{token}``.

What the payer and the provider do is driven from Python or over HTTP (``POST /control/...``)::

    with PaymentSimulator(notify_base_url="http://127.0.0.1:8000") as sim:
        env = sim.install(moto_endpoint, city="jiangmen")    # the secrets, + the app's environment
        order_id = sim.open_alipay(order_string)              # Alipay: the App SDK opens the order string
        sim.pay(order_id)                                     # the payer pays: one notification posted
        sim.pay(order_id, deliver="duplicate", times=3, concurrency=3)
        sim.pay(order_id, deliver="late" | "wrong_amount" | "bad_signature" | "never" | "hold")
        sim.release(order="reverse")                          # held notifications, delivered out of order
        headers, body = sim.notification(order_id, kind="normal")   # not sent: post it yourself
        sim.plant("wechat", date(2027, 1, 5), "extra" | "missing" | "wrong_amount" | "bad_hash")
        sim.set_mode("down" | "slow" | "garbage" | "ok")      # the providers' APIs fail (not /control)

Notifications go to ``{notify_base_url}/v1/payments/{provider}/notify`` when a base is given, else to
the ``notify_url`` the order was created with; each answer is kept in ``sim.deliveries``.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from devstack.payment_formats import (
    CHINA,
    WECHAT_SIGNATURE_TYPE,
    BillLine,
    SimulatorKeys,
    alipay_bill,
    alipay_content,
    certificate_pem,
    china_iso,
    china_wall,
    compact_json,
    flip_tag,
    gcm_encrypt,
    gzipped,
    private_pem,
    public_pem,
    rsa_sign,
    rsa_verify,
    wechat_bill,
    yuan,
)
from devstack.simulator import LoopbackSimulator, SimulatorHandler

NOTIFY_PATH = "/v1/payments/{provider}/notify"
DELIVERIES = ("normal", "duplicate", "late", "wrong_amount", "bad_signature", "never", "hold")
KINDS = ("normal", "late", "future", "bad_signature", "unknown_serial", "tampered_body", "tampered_tag",
         "wrong_merchant", "wrong_amount")
SAME_BODY = ("normal", "late", "future", "bad_signature", "unknown_serial")  # re-sent as first sent
PLANTS = ("extra", "missing", "wrong_amount", "bad_hash")
MODES = ("ok", "down", "slow", "garbage")
STALE_S = 600  # a "late" notification's timestamp: ten minutes old
MAX_BODY = 1024 * 1024
_WECHAT_STATES = {"not_paid": "NOTPAY", "paid": "SUCCESS", "closed": "CLOSED", "refunded": "REFUND"}


@dataclass
class SimRefund:
    refund_id: str  # ours
    provider_refund_id: str
    amount: int
    at: datetime


@dataclass
class SimOrder:
    provider: str
    order_id: str
    amount: int
    description: str
    notify_url: str | None
    created_at: datetime
    state: str = "not_paid"  # not_paid | paid | closed | refunded
    prepay_id: str | None = None
    transaction_id: str | None = None
    paid_amount: int | None = None
    paid_at: datetime | None = None
    refunds: list[SimRefund] = field(default_factory=list)

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds)


@dataclass(frozen=True)
class Delivery:
    """One notification posted to the app, and what the app answered."""

    provider: str
    order_id: str
    kind: str
    url: str
    status: int | None  # None: no answer (refused, timed out)
    body: bytes
    error: str | None = None


class PaymentSimulator(LoopbackSimulator):
    thread_name = "payment-simulator"

    def __init__(self, notify_base_url: str | None = None, *, platform_mode: str = "public_key",
                 host: str = "127.0.0.1", port: int = 0, mchid: str = "1900000109",
                 appid: str = "wx5ba2d1f3c8e7a601", alipay_app_id: str = "2021000000000001",
                 seller_id: str = "2088000000000001", slow_s: float = 2.0) -> None:
        if platform_mode not in ("public_key", "certificate"):
            raise ValueError("platform_mode: public_key (WeChat Pay public key) or certificate")
        self.notify_base_url, self.platform_mode, self.host, self.port = notify_base_url, platform_mode, host, port
        self.mchid, self.appid, self.alipay_app_id, self.seller_id = mchid, appid, alipay_app_id, seller_id
        self.slow_s = slow_s
        self.keys = SimulatorKeys()
        self.orders: dict[tuple[str, str], SimOrder] = {}
        self.held: list[tuple[str, str]] = []
        self.deliveries: list[Delivery] = []
        self.plants: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.bills: dict[str, bytes] = {}  # download token -> file
        self.mode = "ok"
        self.calls: list[str] = []  # each provider API call: "wechat GET /v3/...", "alipay alipay.trade.query"
        self._bodies: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.RLock()

    # --- the app's side: secrets and settings --------------------------------------------------------
    @property
    def platform_serial(self) -> str:
        """What ``Wechatpay-Serial`` says: the public key's id, or the platform certificate's serial."""
        return self.keys.public_key_id if self.platform_mode == "public_key" else f"{self.keys.platform_serial:X}"

    def secrets(self) -> dict[str, dict[str, Any]]:
        """The merchant secrets as the city's operators would fill them (JSON per provider)."""
        wechat: dict[str, Any] = {"mchid": self.mchid, "appid": self.appid, "merchant_serial_no": self.keys.merchant_serial,
                                  "merchant_private_key": private_pem(self.keys.wechat_merchant),
                                  "apiv3_key": self.keys.apiv3_key}
        if self.platform_mode == "public_key":
            wechat |= {"platform_public_key_id": self.keys.public_key_id,
                       "platform_public_key": public_pem(self.keys.wechat_platform)}
        else:
            wechat["platform_certificates"] = [certificate_pem(self.keys.certificate)]
        alipay = {"app_id": self.alipay_app_id, "seller_id": self.seller_id,
                  "app_private_key": private_pem(self.keys.alipay_app),
                  "alipay_public_key": public_pem(self.keys.alipay_platform)}
        return {"wechat": wechat, "alipay": alipay}

    def environment(self, secret_ids: dict[str, str] | None = None) -> dict[str, str]:
        """The app's settings pointing at this simulator (secret ids as written by :meth:`install`)."""
        env = {"WECHAT_PAY_BASE_URL": self.base_url, "ALIPAY_GATEWAY_URL": f"{self.base_url}/gateway.do"}
        if secret_ids:
            env |= {"WECHAT_PAY_SECRET_ARN": secret_ids["wechat"], "ALIPAY_SECRET_ARN": secret_ids["alipay"]}
        return env

    def install(self, endpoint: str, city: str = "jiangmen") -> dict[str, str]:
        """Write the merchant secrets into (moto's) Secrets Manager as ``{city}/payments/{provider}``;
        the app's environment for them and for this simulator."""
        from devstack import aws

        client = aws.client("secretsmanager", endpoint)
        ids = {}
        for provider, value in self.secrets().items():
            name, text = f"{city}/payments/{provider}", json.dumps(value)
            try:
                ids[provider] = client.create_secret(Name=name, SecretString=text)["ARN"]
            except client.exceptions.ResourceExistsException:  # a restarted simulator: new keys, same secret
                client.put_secret_value(SecretId=name, SecretString=text)
                ids[provider] = client.describe_secret(SecretId=name)["ARN"]
        return self.environment(ids)

    # --- the payer's and the provider's side -----------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode

    def order(self, order_id: str, provider: str | None = None) -> SimOrder:
        with self._lock:
            found = [o for (p, i), o in self.orders.items() if i == order_id and provider in (None, p)]
        if len(found) != 1:
            raise KeyError(f"no single order {order_id!r} at the simulator (prepay it, or open its order string)")
        return found[0]

    def open_alipay(self, order_string: str) -> str:
        """What the Alipay App does with the order string the app's SDK hands it: check its signature,
        open the trade (waiting for the payer). Returns the order id."""
        params = dict(urllib.parse.parse_qsl(order_string, keep_blank_values=True))
        sign = params.pop("sign", "")
        if (params.get("app_id") != self.alipay_app_id or params.get("method") != "alipay.trade.app.pay"
                or not rsa_verify(self.keys.alipay_app.public_key(), alipay_content(params, ()), sign)):
            raise ValueError("the order string is not signed by the app")
        biz = json.loads(params["biz_content"])
        amount = _fen(biz["total_amount"])
        with self._lock:
            existing = self.orders.get(("alipay", biz["out_trade_no"]))
            if existing is not None:
                if existing.amount != amount:
                    raise ValueError("this out_trade_no was opened with another amount")
                return existing.order_id
            self.orders[("alipay", biz["out_trade_no"])] = SimOrder(
                "alipay", biz["out_trade_no"], amount, biz.get("subject", ""), params.get("notify_url"), _now())
        return str(biz["out_trade_no"])

    def pay(self, order_id: str, *, provider: str | None = None, deliver: str = "normal", times: int | None = None,
            concurrency: int = 1, amount_delta: int = 1, at: datetime | None = None) -> list[Delivery]:
        """The payer pays the order (at ``at``, default now), then the provider notifies as ``deliver`` says:
        normal (once), duplicate (``times``, default 3, ``concurrency`` at once), late (a stale timestamp),
        wrong_amount (the payment, and so every report of it, is ``amount_delta`` fen off), bad_signature
        (signed with another key), never (the query job must find it), hold (kept for :meth:`release`)."""
        if deliver not in DELIVERIES:
            raise ValueError(f"deliver must be one of {DELIVERIES}")
        with self._lock:
            o = self.order(order_id, provider)
            if o.state == "closed":
                raise ValueError("the order is closed")
            if o.state == "not_paid":
                o.state, o.paid_at = "paid", at or _now()
                o.paid_amount = o.amount + (amount_delta if deliver == "wrong_amount" else 0)
                o.transaction_id = _transaction_id(o.provider, o.paid_at)
        if deliver == "never":
            return []
        if deliver == "hold":
            self.held.append((o.provider, o.order_id))
            return []
        kind = {"late": "late", "bad_signature": "bad_signature"}.get(deliver, "normal")
        return self._deliver(o, kind, times or (3 if deliver == "duplicate" else 1), concurrency)

    def release(self, order: str = "fifo") -> list[Delivery]:
        """Deliver the held notifications once each, in the order they were held or reversed."""
        with self._lock:
            held, self.held = list(self.held), []
        out: list[Delivery] = []
        for provider, order_id in reversed(held) if order == "reverse" else held:
            out += self._deliver(self.order(order_id, provider), "normal", 1, 1)
        return out

    def notification(self, order_id: str, *, provider: str | None = None, kind: str = "normal",
                     now: datetime | None = None) -> tuple[dict[str, str], bytes]:
        """The notification of a paid order as the provider would post it (headers, body), not sent.
        ``kind``: one of KINDS (forgeries and tampering for the tests)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        o = self.order(order_id, provider)
        if o.state == "not_paid":
            raise ValueError("the order is not paid: nothing to notify (pay it with deliver='never')")
        moment = now or _now()
        return (self._wechat_notification(o, kind, moment) if o.provider == "wechat"
                else self._alipay_notification(o, kind, moment))

    def plant(self, provider: str, day: date | str, kind: str, order_id: str | None = None,
              amount_delta: int = 100) -> dict[str, Any]:
        """A mismatch in the day's statement: an extra line, a missing or wrong-amount line (of
        ``order_id``, else the first payment that day), or (WeChat) a wrong announced hash."""
        if kind not in PLANTS:
            raise ValueError(f"kind must be one of {PLANTS}")
        day_text = day.isoformat() if isinstance(day, date) else day
        planted: dict[str, Any] = {"provider": provider, "day": day_text, "kind": kind, "order_id": order_id,
                                   "amount_delta": amount_delta}
        if kind == "extra":
            planted |= {"order_id": "sim_extra_" + secrets.token_hex(6), "amount": amount_delta}
        with self._lock:
            self.plants.setdefault((provider, day_text), []).append(planted)
        return planted

    # --- notifications -------------------------------------------------------------------------------
    def _deliver(self, o: SimOrder, kind: str, times: int, concurrency: int) -> list[Delivery]:
        url = (self.notify_base_url.rstrip("/") + NOTIFY_PATH.format(provider=o.provider)
               if self.notify_base_url else o.notify_url)
        if not url:
            raise ValueError("nowhere to deliver: no notify_base_url and no notify_url on the order")

        def one(_: int) -> Delivery:
            headers, body = self.notification(o.order_id, provider=o.provider, kind=kind)
            return _post(o, kind, url, headers, body)

        if concurrency > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                results = list(pool.map(one, range(times)))
        else:
            results = [one(i) for i in range(times)]
        with self._lock:
            self.deliveries += results
        return results

    def _wechat_notification(self, o: SimOrder, kind: str, now: datetime) -> tuple[dict[str, str], bytes]:
        key = ("wechat", o.order_id, o.state)
        body = self._bodies.get(key) if kind in SAME_BODY else None
        if body is None:
            resource = self._wechat_transaction(o)
            if kind == "wrong_merchant":
                resource["mchid"] = "1900000999"
            if kind == "wrong_amount":
                resource["amount"] = {**resource["amount"], "total": resource["amount"]["total"] + 1,
                                      "payer_total": resource["amount"]["total"] + 1}
            sealed = gcm_encrypt(self.keys.apiv3_key, compact_json(resource), "transaction")
            sealed = flip_tag(sealed) if kind == "tampered_tag" else sealed
            event = {"id": _uuid(), "create_time": china_iso(now), "resource_type": "encrypt-resource",
                     "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                     "resource": {"original_type": "transaction", **sealed}}
            body = compact_json(event).encode()
            if kind in SAME_BODY:
                with self._lock:
                    body = self._bodies.setdefault(key, body)
        timestamp = str(int(now.timestamp()) + {"late": -STALE_S, "future": STALE_S}.get(kind, 0))
        nonce = secrets.token_hex(16).upper()
        signer = self.keys.forger if kind == "bad_signature" else self.keys.wechat_platform
        signature = rsa_sign(signer, f"{timestamp}\n{nonce}\n{body.decode()}\n")
        serial = "PUB_KEY_ID_" + secrets.token_hex(16).upper() if kind == "unknown_serial" else self.platform_serial
        if kind == "tampered_body":
            body = body.replace('"summary":"支付成功"'.encode(), '"summary":"支付成功!"'.encode())
        return {"Content-Type": "application/json", "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": signature, "Wechatpay-Serial": serial,
                "Wechatpay-Signature-Type": WECHAT_SIGNATURE_TYPE}, body

    def _alipay_notification(self, o: SimOrder, kind: str, now: datetime) -> tuple[dict[str, str], bytes]:
        key = ("alipay", o.order_id, o.state)
        if kind == "normal" and key in self._bodies:  # a re-delivery is the same notification
            return _form_headers(), self._bodies[key]
        paid = o.paid_amount or 0
        status = "TRADE_SUCCESS" if o.state == "paid" or (o.state == "refunded" and o.refunded < paid) else (
            "TRADE_CLOSED" if o.state in ("closed", "refunded") else "WAIT_BUYER_PAY")
        sent = now - timedelta(hours=25) if kind == "late" else now
        params = {"notify_time": china_wall(sent), "notify_type": "trade_status_sync",
                  "notify_id": "2026" + secrets.token_hex(14), "app_id": self.alipay_app_id, "auth_app_id": self.alipay_app_id,
                  "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "trade_no": o.transaction_id or "",
                  "out_trade_no": o.order_id, "buyer_id": "2088102177846880", "seller_id": self.seller_id,
                  "trade_status": status, "total_amount": yuan(paid), "receipt_amount": yuan(paid),
                  "invoice_amount": yuan(paid), "buyer_pay_amount": yuan(paid), "point_amount": "0.00",
                  "subject": o.description, "gmt_create": china_wall(o.created_at),
                  "gmt_payment": china_wall(o.paid_at) if o.paid_at else "",
                  "fund_bill_list": compact_json([{"amount": yuan(paid), "fundChannel": "ALIPAYACCOUNT"}])}
        if o.refunds:
            params |= {"refund_fee": yuan(o.refunded), "gmt_refund": china_wall(o.refunds[-1].at) + ".000",
                       "out_biz_no": o.refunds[-1].refund_id}
        if kind == "wrong_merchant":
            params["app_id"] = params["auth_app_id"] = "2021000000000999"
        if kind == "wrong_amount":
            params["total_amount"] = yuan(paid + 1)
        signer = self.keys.forger if kind == "bad_signature" else self.keys.alipay_platform
        params["sign"] = rsa_sign(signer, alipay_content(params, ("sign", "sign_type")))
        if kind in ("tampered_body", "tampered_tag"):
            params["total_amount"] = yuan(paid + 100)  # changed after signing
        body = urllib.parse.urlencode(params).encode()
        if kind == "normal":
            with self._lock:
                body = self._bodies.setdefault(key, body)
        return _form_headers(), body

    def _wechat_transaction(self, o: SimOrder) -> dict[str, Any]:
        answer: dict[str, Any] = {"appid": self.appid, "mchid": self.mchid, "out_trade_no": o.order_id,
                                  "trade_type": "APP", "trade_state": _WECHAT_STATES[o.state],
                                  "trade_state_desc": {"not_paid": "订单未支付", "paid": "支付成功",
                                                       "closed": "订单已关闭", "refunded": "转入退款"}[o.state],
                                  "attach": "", "amount": {"total": o.amount, "currency": "CNY"}}
        if o.paid_at is not None and o.paid_amount is not None:
            answer |= {"transaction_id": o.transaction_id, "bank_type": "OTHERS", "success_time": china_iso(o.paid_at),
                       "payer": {"openid": "oSimUser0001"},
                       "amount": {"total": o.paid_amount, "payer_total": o.paid_amount, "currency": "CNY",
                                  "payer_currency": "CNY"}}
        return answer

    # --- HTTP -----------------------------------------------------------------------------------------
    def _handle(self, h: SimulatorHandler) -> None:
        from devstack import payment_api

        length = int(h.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            h.reply(413, {"error": "too_large"})
            return
        body = h.rfile.read(length) if length else b""
        payment_api.route(self, h, "POST", body)

    def _handle_get(self, h: SimulatorHandler) -> None:
        from devstack import payment_api

        payment_api.route(self, h, "GET", b"")

    def _statement(self, provider: str, day: str) -> tuple[list[BillLine], bool]:
        """The day's lines (China time) with the planted mismatches; and whether to announce a wrong hash."""
        lines: list[BillLine] = []
        with self._lock:
            for o in self.orders.values():
                if o.provider != provider or o.paid_at is None or o.transaction_id is None:
                    continue
                if o.paid_at.astimezone(CHINA).date().isoformat() == day:
                    lines.append(BillLine(o.order_id, o.transaction_id, o.paid_amount or 0, "payment", o.paid_at,
                                          total=o.paid_amount or 0, description=o.description or "房租"))
                lines += [BillLine(o.order_id, o.transaction_id, r.amount, "refund", r.at, refund_id=r.refund_id,
                                   provider_refund_id=r.provider_refund_id, total=o.paid_amount or 0)
                          for r in o.refunds if r.at.astimezone(CHINA).date().isoformat() == day]
            plants = list(self.plants.get((provider, day), []))
        bad_hash = False
        for p in plants:
            payments = sorted((x for x in lines if x.kind == "payment"), key=lambda x: x.at)
            target = next((x for x in payments if x.order_id == p["order_id"]), None) if p["order_id"] else (
                payments[0] if payments else None)
            if p["kind"] == "extra":
                at = datetime.fromisoformat(day).replace(hour=12, tzinfo=CHINA)
                lines.append(BillLine(p["order_id"], _transaction_id(provider, at), p["amount"], "payment", at,
                                      total=p["amount"]))
            elif p["kind"] == "missing" and target is not None:
                lines.remove(target)
                p["order_id"] = target.order_id
            elif p["kind"] == "wrong_amount" and target is not None:
                target.amount += p["amount_delta"]
                target.total = target.amount
                p["order_id"] = target.order_id
            elif p["kind"] == "bad_hash":
                bad_hash = True
        return lines, bad_hash

    def bill_file(self, provider: str, day: str) -> tuple[bytes, bytes | None, bool] | None:
        """(the file as served, its uncompressed content (WeChat), wrong-hash flag); None: no trades."""
        lines, bad_hash = self._statement(provider, day)
        if not lines:
            return None
        if provider == "wechat":
            raw = wechat_bill(lines, self.appid, self.mchid)
            return gzipped(raw), raw, bad_hash
        return alipay_bill(lines, self.seller_id, day), None, bad_hash


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _fen(text: str) -> int:
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", text):
        raise ValueError(f"not an amount in yuan: {text!r}")
    return int(Decimal(text) * 100)


def _transaction_id(provider: str, at: datetime) -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(16))
    if provider == "wechat":
        return "4200" + at.astimezone(CHINA).strftime("%Y%m%d") + digits
    return at.astimezone(CHINA).strftime("%Y%m%d") + "22001" + digits[:15]


def _form_headers() -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _post(o: SimOrder, kind: str, url: str, headers: dict[str, str], body: bytes) -> Delivery:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return Delivery(o.provider, o.order_id, kind, url, response.status, response.read(65536))
    except urllib.error.HTTPError as exc:
        answer = exc.read(65536)
        exc.close()
        return Delivery(o.provider, o.order_id, kind, url, exc.code, answer)
    except urllib.error.URLError as exc:  # refused, unreachable: the reason's name
        return Delivery(o.provider, o.order_id, kind, url, None, b"", type(exc.reason).__name__)
    except OSError as exc:  # timed out, reset
        return Delivery(o.provider, o.order_id, kind, url, None, b"", type(exc).__name__)


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {"provider": d.provider, "order_id": d.order_id, "kind": d.kind, "url": d.url, "status": d.status,
            "body": d.body.decode("utf-8", "replace"), "error": d.error}

