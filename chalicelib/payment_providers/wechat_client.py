"""wechatpayv3, made to fit a Lambda and the local simulator (imported on the first call to WeChat
Pay: ~250 ms of ``requests``, ``cryptography`` and the library, measured after the app's import;
never on the app's import path, nor on a notification's: that needs only ``wechatpayv3.utils``).

Two things the library does not do as we need, so this module subclasses it (pinned: 2.0.4):

- ``Core.__init__`` downloads the platform certificates (``GET /v3/certificates``) unless it is in
  WeChat Pay public key mode, and it does so before the gateway can be changed from
  ``https://api.mch.weixin.qq.com``. Here the certificates come from the merchant secret and the
  gateway is set right after construction; a download happens only when an answer is signed by an
  unknown serial (the library's ``_update_certificates``), against the configured gateway.
- ``WeChatPay.__init__`` builds its own ``Core``; :class:`Client` takes ours.
"""
from __future__ import annotations

from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core

from chalicelib.payment_providers.types import is_loopback, valid_certificates

__all__ = ["Client", "build"]


class _Core(Core):  # type: ignore[misc]
    def _init_certificates(self) -> None:
        """No download at construction: :func:`build` loads the certificates from the secret."""


class Client(WeChatPay):  # type: ignore[misc]
    """``WeChatPay`` (direct merchant, App pay) around a given core."""

    def __init__(self, core: Core, mchid: str, appid: str) -> None:  # noqa: D107 - what WeChatPay sets
        self._type = WeChatPayType.APP
        self._mchid = mchid
        self._appid = appid
        self._notify_url = None  # per call: pay() passes it; refunds get none (no refund notifications)
        self._core = core
        self._partner_mode = False


def build(*, mchid: str, appid: str, serial_no: str, private_key: str, apiv3_key: str, base_url: str,
          timeout_s: float, public_key_id: str | None, public_key: str | None,
          certificates: tuple[str, ...]) -> Client:
    # loopback (the simulator) never goes through an HTTP(S)_PROXY from the environment
    proxy = {"http": None, "https": None} if is_loopback(base_url) else None
    core = _Core(mchid=mchid, cert_serial_no=serial_no, private_key=private_key, apiv3_key=apiv3_key,
                 timeout=timeout_s, proxy=proxy, public_key=public_key if public_key_id else None,
                 public_key_id=public_key_id if public_key else None)
    core._gate_way = base_url.rstrip("/")
    core._certificates.extend(valid_certificates(certificates))
    return Client(core, mchid, appid)
