"""Notifications: zh-CN templates without full ID numbers, the channel the settings name, the SMS
provider's HTTP API (a loopback server stands in), and notify() that never raises."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import pytest

from chalicelib.notify import RECORDED, TEMPLATES, Notice, deliver, notify, render_notice
from chalicelib.notify import adapters
from chalicelib.notify.adapters import HttpSms, LocalOutbox, SendFailed, SnsSms
from chalicelib.notify.templates import mask_ids, render

ID_18 = "440703199001011234"
ID_18X = "44070319900101123X"
ID_15 = "440703900101123"
MOBILE = "13800000001"

SAMPLE_PARAMS = {
    "status_name": "审核通过", "document_name": "户口本", "reason": "照片模糊", "deadline": "2026-12-31",
    "note": "请补充收入证明",
}


@pytest.fixture()
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Switch the app's settings for one test (environment variables), then back."""
    from chalicelib.config import settings

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings.cache_clear()
        adapters.reset()

    yield apply
    settings.cache_clear()
    adapters.reset()
    RECORDED.clear()


@pytest.fixture()
def log_lines() -> Iterator[io.StringIO]:
    from chalicelib.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield buffer
    logger.removeHandler(handler)


# --- templates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_zh_cn_with_the_signature(template: str) -> None:
    text = render(template, SAMPLE_PARAMS, city_name="江门市", application_id="A20261101")
    assert text.startswith("【江门市公租房】")
    assert re.search(r"[\u4e00-\u9fff]{4}", text) and "{" not in text and "}" not in text


def test_the_templates_the_workflows_use_exist() -> None:
    assert {"application_submitted", "status_changed", "document_rejected", "supplement_requested",
            "supplement_reminder", "consent_requested", "assisted_created", "grant_created", "grant_revoked",
            "group_member_added"} <= set(TEMPLATES)
    text = render("supplement_requested", {"deadline": "12月31日", "note": "收入证明"}, city_name="西宁市")
    assert "12月31日" in text and "收入证明" in text and text.startswith("【西宁市公租房】")
    assert "工作单位江门市某某公司列入" in render("group_member_added", {"employer_name": "江门市某某公司"},
                                                 city_name="江门市")
    assert "工作单位列入" in render("group_member_added", {}, city_name="江门市")


def test_no_message_carries_a_full_id_number() -> None:
    for number, masked in ((ID_18, "4407**********1234"), (ID_18X, "4407**********123X"),
                           (ID_15, "4407*******1123")):
        text = render("document_rejected", {"document_name": f"身份证{number}", "reason": f"号码 {number} 不清晰"},
                      city_name="江门市")
        assert number not in text and text.count(masked) == 2, text
    assert mask_ids(f"申请人{ID_18}，电话{MOBILE}") == f"申请人4407**********1234，电话{MOBILE}"
    assert mask_ids("订单 12345678901234567890") == "订单 12345678901234567890"  # 20 digits: not an ID


def test_missing_params_render_empty_and_unknown_templates_are_refused() -> None:
    assert "状态已更新为：。" in render("status_changed", {}, city_name="江门市")
    from chalicelib.notify import UnknownTemplate

    with pytest.raises(UnknownTemplate):
        render("no_such_template", {}, city_name="江门市")


def test_a_notice_travels_as_json() -> None:
    notice = Notice("status_changed", {"status_name": "已受理"}, recipient="sub-1", mobile=MOBILE, application_id="A1")
    body = notice.to_json()
    assert "已受理" in body  # zh-CN as is, not \\u escapes
    assert Notice.from_json(body) == notice
    assert Notice.from_json({"template": "grant_revoked"}) == Notice("grant_revoked")


def test_render_notice_uses_the_city_name(configure: Callable[..., None]) -> None:
    configure(CITY_NAME="西宁市")
    assert render_notice(Notice("grant_created")).startswith("【西宁市公租房】")


# --- the channel -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "kind"), [("sns", SnsSms), ("http_sms", HttpSms), ("local", LocalOutbox)])
def test_the_adapter_follows_the_city_settings(configure: Callable[..., None], channel: str, kind: type) -> None:
    configure(NOTIFY_CHANNEL=channel, SMS_ENDPOINT="https://sms.example.gov.cn/send", SMS_SECRET_ARN="sms-secret",
              LOCAL_OUTBOX="")
    chosen = adapters.adapter()
    assert isinstance(chosen, kind)
    if channel == "http_sms":
        assert (chosen.endpoint, chosen.secret_arn) == ("https://sms.example.gov.cn/send", "sms-secret")


def test_an_unknown_channel_is_an_error_but_notify_still_does_not_raise(configure: Callable[..., None]) -> None:
    configure(NOTIFY_CHANNEL="carrier-pigeon", NOTIFY_QUEUE_URL="")
    with pytest.raises(ValueError, match="NOTIFY_CHANNEL"):
        adapters.adapter()
    assert notify(Notice("grant_revoked", mobile=MOBILE)) is False


def test_local_outbox_records_in_process_and_in_a_file(configure: Callable[..., None], tmp_path: Any) -> None:
    outbox = tmp_path / "notifications.jsonl"
    configure(NOTIFY_CHANNEL="local", NOTIFY_QUEUE_URL="", LOCAL_OUTBOX=str(outbox), CITY_NAME="江门市")
    RECORDED.clear()
    assert notify(Notice("status_changed", {"status_name": "审核中"}, recipient="sub-1", mobile=f"+86{MOBILE}",
                         application_id="A7")) is True
    assert notify(Notice("consent_requested", recipient="sub-2")) is True  # no mobile: still recorded
    (first, second) = RECORDED
    assert first["mobile"] == "138****0001" and first["recipient"] == "sub-1" and first["application_id"] == "A7"
    assert first["text"] == "【江门市公租房】您的公租房申请（编号A7）状态已更新为：审核中。详情请登录公租房APP查看。"
    assert second["mobile"] is None and second["template"] == "consent_requested"
    assert MOBILE not in outbox.read_text(encoding="utf-8")  # the outbox keeps the mobile masked
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [entry["text"] for entry in lines] == [first["text"], second["text"]]
    assert first["at"].endswith("+08:00")


def test_sns_sms_publishes_to_the_mobile(stack: Any, configure: Callable[..., None]) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    from chalicelib.config import settings

    configure(NOTIFY_CHANNEL="sns")
    backend = sns_backends[DEFAULT_ACCOUNT_ID][settings().region]  # moto's server runs in this process
    before = set(backend.sms_messages)
    SnsSms().send(MOBILE, "【江门市公租房】测试")
    sent = [backend.sms_messages[m] for m in backend.sms_messages if m not in before]
    assert sent == [(f"+86{MOBILE}", "【江门市公租房】测试")]


def test_without_a_mobile_number_sms_channels_skip(configure: Callable[..., None], log_lines: io.StringIO) -> None:
    configure(NOTIFY_CHANNEL="http_sms", NOTIFY_QUEUE_URL="", SMS_ENDPOINT="https://sms.example.gov.cn/send")
    deliver(Notice("grant_created", recipient="sub-1"))  # nothing to send to; retrying would not help
    deliver(Notice("grant_created", mobile="12345"))
    assert log_lines.getvalue().count("without a usable mobile number") == 2


# --- the SMS provider's HTTP API -------------------------------------------------------------------
class Provider:
    """A loopback stand-in for a city's SMS provider."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.answer: bytes = b'{"code": "OK", "message": "success"}'
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                provider.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                time.sleep(provider.delay)
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(provider.answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "Provider":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def provider() -> Iterator[Provider]:
    with Provider() as p:
        yield p


CREDENTIALS = {"app_key": "jm-housing", "app_secret": "s3cr3t-for-tests"}


def test_http_sms_posts_signed_json(provider: Provider) -> None:
    HttpSms(provider.url, credentials=CREDENTIALS).send(MOBILE, "【江门市公租房】您的申请已受理。")
    (request,) = provider.requests
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/sms/send" and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"mobile": MOBILE, "content": "【江门市公租房】您的申请已受理。"}
    assert headers["X-App-Key"] == "jm-housing"
    signed = headers["X-Timestamp"].encode() + b"\n" + headers["X-Nonce"].encode() + b"\n" + body
    assert headers["X-Signature"] == hmac.new(b"s3cr3t-for-tests", signed, hashlib.sha256).hexdigest()
    assert abs(int(headers["X-Timestamp"]) - time.time()) < 60


@pytest.mark.parametrize(
    ("status", "answer", "message"),
    [
        (500, b'{"code": "ERROR"}', "HTTP 500"),
        (429, b"slow down", "HTTP 429"),
        (200, b'{"code": "InvalidMobile", "message": "bad number"}', "refused the message"),
        (200, b"<html>gateway</html>", "refused the message"),
        (200, b"[]", "refused the message"),
    ],
)
def test_http_sms_failures_raise(provider: Provider, status: int, answer: bytes, message: str) -> None:
    provider.status, provider.answer = status, answer
    with pytest.raises(SendFailed, match=message):
        HttpSms(provider.url, credentials=CREDENTIALS).send(MOBILE, "测试")


@pytest.mark.parametrize("answer", [b'{"code": 0}', b'{"code": "0"}', b'{"success": true}', b'{"Code": "OK"}'])
def test_http_sms_success_answers(provider: Provider, answer: bytes) -> None:
    provider.answer = answer
    HttpSms(provider.url, credentials=CREDENTIALS).send(MOBILE, "测试")


def test_http_sms_times_out_and_unreachable_raise(provider: Provider) -> None:
    provider.delay = 0.5
    with pytest.raises(SendFailed, match="unreachable"):
        HttpSms(provider.url, credentials=CREDENTIALS, timeout=0.1).send(MOBILE, "测试")
    with pytest.raises(SendFailed, match="unreachable"):
        HttpSms(f"http://127.0.0.1:{_closed_port()}/sms", credentials=CREDENTIALS).send(MOBILE, "测试")
    with pytest.raises(SendFailed, match="SMS_ENDPOINT"):
        HttpSms(None, credentials=CREDENTIALS).send(MOBILE, "测试")
    with pytest.raises(SendFailed, match="SMS_SECRET_ARN"):
        HttpSms(provider.url).send(MOBILE, "测试")


def test_http_sms_credentials_come_from_secrets_manager_once(
    stack: Any, configure: Callable[..., None], provider: Provider
) -> None:
    from devstack import aws

    secrets = aws.client("secretsmanager", stack.endpoint)
    arn = secrets.create_secret(Name=f"sms-{time.time_ns()}", SecretString=json.dumps(CREDENTIALS))["ARN"]
    configure(NOTIFY_CHANNEL="http_sms", NOTIFY_QUEUE_URL="", SMS_ENDPOINT=provider.url, SMS_SECRET_ARN=arn)
    assert notify(Notice("grant_revoked", mobile=MOBILE)) is True
    secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert notify(Notice("grant_created", mobile=MOBILE)) is True  # cached: no second fetch
    assert [r["headers"]["X-App-Key"] for r in provider.requests] == ["jm-housing", "jm-housing"]
    assert json.loads(provider.requests[0]["body"])["content"].startswith("【江门市公租房】公租房业务授权委托已撤销")


# --- notify() never raises -----------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_notify_puts_the_notice_on_the_queue(stack: Any, configure: Callable[..., None]) -> None:
    from devstack import aws

    queue = stack.queues["notifications"]
    configure(NOTIFY_QUEUE_URL=queue)
    sqs = aws.client("sqs", stack.endpoint)
    sqs.purge_queue(QueueUrl=queue)
    notice = Notice("supplement_reminder", {"deadline": "12月31日"}, recipient="sub-9", mobile=MOBILE)
    assert notify(notice) is True
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert Notice.from_json(message["Body"]) == notice
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def test_notify_with_the_queue_down_returns_false(
    stack: Any, configure: Callable[..., None], log_lines: io.StringIO
) -> None:
    configure(NOTIFY_QUEUE_URL=f"{stack.endpoint}/123456789012/no-such-queue")
    notice = Notice("status_changed", {"status_name": f"退回 {ID_18}"}, mobile=MOBILE)
    assert notify(notice) is False
    configure(AWS_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}",
              NOTIFY_QUEUE_URL=f"http://127.0.0.1:{_closed_port()}/123456789012/notifications")
    started = time.monotonic()
    assert notify(notice) is False
    assert time.monotonic() - started < 5
    logged = log_lines.getvalue()
    assert logged.count("notice not handed on") == 2 and "138****0001" in logged
    assert MOBILE not in logged and ID_18 not in logged


def test_notify_with_a_failing_channel_returns_false(
    configure: Callable[..., None], provider: Provider, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.status = 503
    configure(NOTIFY_CHANNEL="http_sms", NOTIFY_QUEUE_URL="", SMS_ENDPOINT=provider.url)
    monkeypatch.setattr("chalicelib.notify.adapter", lambda: HttpSms(provider.url, credentials=CREDENTIALS))
    assert notify(Notice("grant_revoked", mobile=MOBILE)) is False
    assert len(provider.requests) == 1 and "notice not handed on" in log_lines.getvalue()
    assert MOBILE not in log_lines.getvalue()


def test_notify_refuses_an_unknown_template_without_raising(configure: Callable[..., None]) -> None:
    configure(NOTIFY_QUEUE_URL="", NOTIFY_CHANNEL="local", LOCAL_OUTBOX="")
    RECORDED.clear()
    assert notify(Notice("no_such_template", mobile=MOBILE)) is False
    assert RECORDED == []
