"""The merchant keys: one Secrets Manager secret per provider and city, JSON (docs/decisions/0026).

WeChat Pay (``settings.wechat_pay_secret_arn``, e.g. ``jiangmen/payments/wechat``)::

    {"mchid", "appid", "merchant_serial_no", "merchant_private_key" (PKCS#8 PEM), "apiv3_key" (32 chars),
     "platform_public_key_id", "platform_public_key" (PEM)          # WeChat Pay public key mode, and/or
     "platform_certificates": ["PEM", ...]}                          # platform certificate mode

Alipay (``settings.alipay_secret_arn``, e.g. ``jiangmen/payments/alipay``)::

    {"app_id", "seller_id" (the merchant's 2088... PID; optional), "app_private_key" (PEM),
     "alipay_public_key" (PEM)}

Nothing here is committed anywhere: the deployed secrets are filled by the city's operators, the
local stack's by the payment simulator (devstack/payments.py), which makes its own keys at start.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.payment_providers.types import ProviderUnavailable

if TYPE_CHECKING:
    from chalicelib.config import Settings

WECHAT_FIELDS = ("mchid", "appid", "merchant_serial_no", "merchant_private_key", "apiv3_key")
ALIPAY_FIELDS = ("app_id", "app_private_key", "alipay_public_key")


def read_secret(config: Settings, secret_id: str) -> dict[str, Any]:
    """The secret's JSON object; AWS unreachable or the secret missing or malformed: ProviderUnavailable."""
    import boto3  # only here: a process that never pays builds no client

    region = secret_id.split(":")[3] if secret_id.count(":") >= 6 else config.region
    try:
        client = boto3.client("secretsmanager", region_name=region or config.region,
                              endpoint_url=config.endpoint_url)
        value = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as exc:  # botocore's errors: the key is unreachable now, maybe not later
        raise ProviderUnavailable(f"merchant secret unavailable ({type(exc).__name__})") from None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ProviderUnavailable("the merchant secret is not a JSON object")
    return parsed


def require(secret: Mapping[str, Any], fields: tuple[str, ...], provider: str) -> None:
    """Every field present as a non-empty string, else ProviderUnavailable naming the missing ones."""
    missing = [f for f in fields if not isinstance(secret.get(f), str) or not secret.get(f)]
    if missing:
        raise ProviderUnavailable(f"the {provider} merchant secret lacks {', '.join(missing)}")
