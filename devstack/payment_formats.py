"""The payment simulator's wire formats, written from the providers' documentation and independent
of the app's adapters (chalicelib/payment_providers/), so that a shared mistake cannot verify itself:
the keys it makes at start, WeChat Pay's and Alipay's signatures, WeChat's AES-256-GCM resources,
and both providers' daily statements. Used by devstack/payments.py."""
from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import secrets
import string
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))
WECHAT_SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


# --- keys --------------------------------------------------------------------------------------------
def new_rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def self_signed(key: Any, common_name: str, serial: int, days: int = 365) -> Any:
    """A platform certificate like WeChat Pay's (here self-signed: the adapter trusts what the secret holds)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))


def certificate_pem(certificate: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class SimulatorKeys:
    """Everything secret the simulator makes at start: nothing is committed anywhere."""

    wechat_merchant: Any = field(default_factory=new_rsa_key)  # the merchant's (the app signs with it)
    wechat_platform: Any = field(default_factory=new_rsa_key)  # WeChat Pay's (it signs answers, notifications)
    alipay_app: Any = field(default_factory=new_rsa_key)  # the app's key at Alipay
    alipay_platform: Any = field(default_factory=new_rsa_key)  # Alipay's own
    apiv3_key: str = field(default_factory=lambda: "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(32)))
    merchant_serial: str = field(default_factory=lambda: secrets.token_hex(20).upper())
    public_key_id: str = field(default_factory=lambda: "PUB_KEY_ID_" + secrets.token_hex(16).upper())
    platform_serial: int = field(default_factory=lambda: secrets.randbits(159) | (1 << 158))
    _certificate: Any = None
    _forger: Any = None

    @property
    def certificate(self) -> Any:
        if self._certificate is None:
            self._certificate = self_signed(self.wechat_platform, "Tenpay.com Root CA (simulated)",
                                            self.platform_serial)
        return self._certificate

    @property
    def forger(self) -> Any:
        """Someone else's key: what a forged notification is signed with."""
        if self._forger is None:
            self._forger = new_rsa_key()
        return self._forger


# --- signatures ------------------------------------------------------------------------------------
def rsa_sign(key: Any, message: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import SHA256

    return base64.b64encode(key.sign(message.encode("utf-8"), PKCS1v15(), SHA256())).decode()


def rsa_verify(public_key: Any, message: str, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import SHA256

    try:
        public_key.verify(base64.b64decode(signature, validate=True), message.encode("utf-8"), PKCS1v15(), SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def alipay_content(params: dict[str, str], leave_out: tuple[str, ...]) -> str:
    """Alipay's signed content: sorted ``k=v`` pairs joined by ``&``, empty values and ``leave_out`` out."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in leave_out and v != "")


def gcm_encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict[str, str]:
    """WeChat Pay's encrypted resource (AEAD_AES_256_GCM, a 12-character nonce)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode("utf-8"), associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(sealed).decode(),
            "associated_data": associated_data, "nonce": nonce}


def flip_tag(resource: dict[str, str]) -> dict[str, str]:
    """The same resource with one bit of its GCM tag (the last 16 bytes) flipped."""
    sealed = bytearray(base64.b64decode(resource["ciphertext"]))
    sealed[-1] ^= 0x01
    return {**resource, "ciphertext": base64.b64encode(bytes(sealed)).decode()}


# --- time and money --------------------------------------------------------------------------------
def china_iso(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def china_wall(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


# --- statements ------------------------------------------------------------------------------------
@dataclass
class BillLine:
    """One line the simulator writes in a statement (before any planted mismatch)."""

    order_id: str
    transaction_id: str
    amount: int  # fen, positive
    kind: str  # payment | refund
    at: datetime
    refund_id: str | None = None  # ours (out_refund_no / out_request_no)
    provider_refund_id: str | None = None
    total: int = 0  # the order's amount (a refund line carries it too)
    description: str = "房租"


WECHAT_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                 "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                 "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
WECHAT_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def wechat_bill(lines: list[BillLine], appid: str, mchid: str) -> bytes:
    """A WeChat Pay trade bill (ALL), UTF-8: every field prefixed with a backtick."""
    out = io.StringIO()
    out.write(WECHAT_HEADER + "\r\n")
    paid = refunded = 0
    for line in sorted(lines, key=lambda x: x.at):
        refund = line.kind == "refund"
        paid += 0 if refund else line.amount
        refunded += line.amount if refund else 0
        fields = [china_wall(line.at), appid, mchid, "0", "", line.transaction_id, line.order_id, "oSimUser0001", "APP",
                  "REFUND" if refund else "SUCCESS", "OTHERS", "CNY", "0.00" if refund else yuan(line.amount), "0.00",
                  line.provider_refund_id or "0", line.refund_id or "0", yuan(line.amount) if refund else "0.00", "0.00",
                  "ORIGINAL" if refund else "", "SUCCESS" if refund else "", line.description, "", "0.00000", "0.60%",
                  yuan(line.total or line.amount), yuan(line.amount) if refund else "0.00", ""]
        out.write(",".join("`" + f for f in fields) + "\r\n")
    out.write(WECHAT_SUMMARY + "\r\n")
    out.write(",".join("`" + f for f in (str(len(lines)), yuan(paid), yuan(refunded), "0.00", "0.00000",
                                         yuan(paid), yuan(refunded))) + "\r\n")
    return out.getvalue().encode("utf-8")


ALIPAY_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                 "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                 "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def alipay_bill(lines: list[BillLine], pid: str, day: str) -> bytes:
    """An Alipay trade bill: a zip of GBK CSVs (业务明细 and its 汇总), ``#`` comment lines."""
    compact = day.replace("-", "")
    detail = io.StringIO()
    writer = csv.writer(detail, lineterminator="\r\n")
    detail.write(f"#支付宝业务明细查询\r\n#账号：[{pid}]\r\n")
    detail.write(f"#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]\r\n")
    detail.write("#-----------------------------------------业务明细列表----------------------------------------\r\n")
    detail.write(ALIPAY_HEADER + "\r\n")
    payments = refunds = 0
    for line in sorted(lines, key=lambda x: x.at):
        refund = line.kind == "refund"
        signed = -line.amount if refund else line.amount
        payments += 0 if refund else 1
        refunds += 1 if refund else 0
        writer.writerow([line.transaction_id + "\t", line.order_id + "\t", "退款" if refund else "交易", line.description,
                         china_wall(line.at), china_wall(line.at), "", "", "", "", "sim***@example.com",
                         yuan(signed), yuan(signed), "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
                         (line.refund_id or "") + ("\t" if refund else ""), "0.00", "0.00", ""])
    detail.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
    detail.write(f"#交易合计：{payments}笔，退款合计：{refunds}笔\r\n")
    detail.write(f"#导出时间：[{china_wall(datetime.now(timezone.utc))}]\r\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{pid}{compact}_业务明细.csv", detail.getvalue().encode("gb18030"))
        z.writestr(f"{pid}{compact}_业务明细(汇总).csv",
                   f"#支付宝业务汇总查询\r\n#交易合计：{payments}笔\r\n".encode("gb18030"))
    return archive.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def compact_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
