"""Where a rendered message goes: one small interface, ``send(mobile, text)``, raising on failure.

- ``SnsSms``: Amazon SNS SMS (global regions only: the China partition has no SNS SMS);
- ``HttpSms``: the city's SMS provider over HTTPS (China), credentials from Secrets Manager;
- ``LocalOutbox``: the local stack records messages (a JSON-lines file and ``RECORDED``), mobiles masked.

boto3 is imported only where a client is built (it costs ~100 ms of cold start).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from chalicelib.config import settings

CHANNELS = ("sns", "http_sms", "local")
HTTP_TIMEOUT_S = 3.0
CST = timezone(timedelta(hours=8))

#: What the local outbox recorded in this process (a test reads and clears it).
RECORDED: list[dict[str, Any]] = []

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str], Any] = {}
_secrets: dict[str, dict[str, str]] = {}


class SendFailed(RuntimeError):
    """The channel did not accept the message (the queue will offer it again)."""


class Adapter(Protocol):
    def send(self, mobile: str, text: str) -> None: ...


def aws_client(service: str) -> Any:
    """A boto3 client for the configured region and endpoint (moto locally), built once."""
    config = settings()
    key = (service, config.endpoint_url, config.region)
    with _lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            _clients[key] = boto3.client(
                service, region_name=config.region, endpoint_url=config.endpoint_url,
                config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}),
            )
        return _clients[key]


class SnsSms:
    """SMS through Amazon SNS (``Publish`` to a phone number)."""

    def send(self, mobile: str, text: str) -> None:
        aws_client("sns").publish(
            PhoneNumber=f"+86{mobile}",
            Message=text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )


class HttpSms:
    """The city's SMS provider: ``POST`` JSON, signed with HMAC-SHA256 over timestamp, nonce and body.

    Credentials are ``{"app_key": ..., "app_secret": ...}``, from the Secrets Manager secret
    ``secret_arn`` (fetched on first send and cached) unless given directly.
    """

    def __init__(self, endpoint: str | None, secret_arn: str | None = None,
                 credentials: dict[str, str] | None = None, timeout: float = HTTP_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.secret_arn = secret_arn
        self._credentials = credentials
        self.timeout = timeout

    def credentials(self) -> dict[str, str]:
        if self._credentials is None:
            if not self.secret_arn:
                raise SendFailed("no SMS credentials configured (SMS_SECRET_ARN)")
            with _lock:
                cached = _secrets.get(self.secret_arn)
            if cached is None:
                raw = aws_client("secretsmanager").get_secret_value(SecretId=self.secret_arn)["SecretString"]
                cached = json.loads(raw)
                with _lock:
                    _secrets[self.secret_arn] = cached
            self._credentials = cached
        return self._credentials

    @staticmethod
    def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()

    def send(self, mobile: str, text: str) -> None:
        if not self.endpoint:
            raise SendFailed("no SMS endpoint configured (SMS_ENDPOINT)")
        creds = self.credentials()
        body = json.dumps({"mobile": mobile, "content": text}, ensure_ascii=False).encode()
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
        request = urllib.request.Request(self.endpoint, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Key": creds["app_key"],
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": self.signature(creds["app_secret"], timestamp, nonce, body),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (https from config)
                status, raw = response.status, response.read(65536)
        except urllib.error.HTTPError as exc:
            raise SendFailed(f"SMS provider answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SendFailed(f"SMS provider unreachable: {exc.__class__.__name__}") from None
        if not 200 <= status < 300:
            raise SendFailed(f"SMS provider answered HTTP {status}")
        if not self.accepted(raw):
            raise SendFailed(f"SMS provider refused the message: {raw[:200].decode('utf-8', 'replace')}")

    @staticmethod
    def accepted(raw: bytes) -> bool:
        """``{"code": "OK"}``-style success (also ``0``/``"0"``/``"200"``, or ``"success": true``)."""
        try:
            answer = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(answer, dict):
            return False
        if answer.get("success") is True:
            return True
        code = answer.get("code", answer.get("Code"))
        return str(code).upper() in ("OK", "0", "200", "SUCCESS") if code is not None else False


class LocalOutbox:
    """The local stack: messages are recorded (``RECORDED``, and a JSON-lines file when set)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def send(self, mobile: str, text: str) -> None:
        self.record({"mobile": mobile, "text": text})

    def record(self, entry: dict[str, Any]) -> None:
        """The mobile is kept masked (``138****0001``) and the text with personal numbers masked:
        a file on a developer's disk is no place for citizens' numbers in clear."""
        from chalicelib.domain.idnumbers import mask_free_text, mask_mobile

        entry = {"at": datetime.now(CST).isoformat(timespec="seconds"), **entry}
        mobile = entry.get("mobile")
        if mobile and "*" not in mobile:
            entry["mobile"] = mask_mobile(mobile)
        if isinstance(entry.get("text"), str):
            entry["text"] = mask_free_text(entry["text"])
        with _lock:
            RECORDED.append(entry)
            if self.path:
                with open(self.path, "a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def adapter() -> Adapter:
    """The channel the city's settings name: ``sns``, ``http_sms`` or ``local``."""
    config = settings()
    channel = config.notify_channel
    if channel == "sns":
        return SnsSms()
    if channel == "http_sms":
        return HttpSms(config.sms_endpoint, config.sms_secret_arn)
    if channel == "local":
        return LocalOutbox(config.local_outbox)
    raise ValueError(f"unknown NOTIFY_CHANNEL {channel!r} (one of {', '.join(CHANNELS)})")


def reset() -> None:
    """Forget cached clients and credentials (tests, after changing settings)."""
    with _lock:
        _clients.clear()
        _secrets.clear()
