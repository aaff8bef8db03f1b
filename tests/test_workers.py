"""The queue workers: what a file really is, S3 event messages as moto's S3 -> SQS sends them, one
failed record failing alone, and the local stack running the workers (``stack.drain()``)."""
from __future__ import annotations

import json
import sys
import types
import uuid
from typing import Any, Iterator

import pytest

from chalicelib.domain.filetypes import describe_unknown, sniff
from chalicelib.notify import RECORDED, Notice, notify

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + bytes(100)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(100)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(100)
ZIP = b"PK\x03\x04\x14\x00\x06\x00" + bytes(100)


# --- what a file is -----------------------------------------------------------------------------
@pytest.mark.parametrize(("head", "media_type"), [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf"),
    (EXE, None), (ELF, None), (ZIP, None), (b"", None), (b"\xff\xd8", None), (b"PNG", None), (b"hello", None),
])
def test_sniff(head: bytes, media_type: str | None) -> None:
    assert sniff(head) == media_type
    assert sniff(head[:64]) == media_type  # the checker reads only the first 64 bytes


@pytest.mark.parametrize(("head", "says"), [
    (EXE, "文件实际是可执行程序，不是图片或 PDF"),
    (ELF, "文件实际是可执行程序，不是图片或 PDF"),
    (b"#!/bin/sh\nrm -rf /\n", "文件实际是脚本程序，不是图片或 PDF"),
    (ZIP, "文件实际是压缩包或 Office 文档，不是图片或 PDF"),
    (b"\xef\xbb\xbf<!DOCTYPE html><html>", "文件实际是网页文件，不是图片或 PDF"),
    (b"  <HTML><body>", "文件实际是网页文件，不是图片或 PDF"),
    (b"GIF89a\x01\x00", "文件实际是GIF 动图，不是图片或 PDF"),
    (b"\x00\x00\x00\x18ftypheic", "HEIC"),
    (b"", "文件是空的"),
    (b"\x00\x01\x02garbage", "无法识别的文件格式"),
])
def test_describe_unknown_names_what_it_looks_like(head: bytes, says: str) -> None:
    reason = describe_unknown(head)
    assert says in reason
    assert all(ch.isprintable() for ch in reason)


# --- record_check, with or without the documents module ---------------------------------------------
@pytest.fixture()
def checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bytes]]:
    """Calls of ``chalicelib.domain.documents.record_check(key, size, head)``, recorded instead."""
    calls: list[tuple[str, int, bytes]] = []

    def record_check(key: str, size: int, head: bytes) -> None:
        calls.append((key, size, head))

    try:
        import chalicelib.domain.documents as documents
    except ImportError:  # not written yet: a stand-in module
        documents = types.ModuleType("chalicelib.domain.documents")
        monkeypatch.setitem(sys.modules, "chalicelib.domain.documents", documents)
    monkeypatch.setattr(documents, "record_check", record_check, raising=False)
    return calls


@pytest.fixture()
def queues(stack: Any) -> Iterator[Any]:
    """The local stack's queues, empty before and after (a failed message would come back later)."""
    from devstack import aws

    sqs = aws.client("sqs", stack.endpoint)

    def purge() -> None:
        for url in stack.queues.values():
            sqs.purge_queue(QueueUrl=url)

    purge()
    RECORDED.clear()
    yield sqs
    purge()
    RECORDED.clear()


def _s3(stack: Any) -> Any:
    from devstack import aws

    return aws.client("s3", stack.endpoint)


def _bucket(stack: Any) -> str:
    return stack.environment["DOCUMENT_BUCKET"]


def _invoke(app: Any, function: str, messages: list[dict[str, Any]], arn: str = "arn:aws-cn:sqs:q") -> Any:
    from devstack.stack import FakeLambdaContext, _sqs_record

    return app.handler_map[function]({"Records": [_sqs_record(m, arn) for m in messages]},
                                     FakeLambdaContext(function))


def _message(body: str) -> dict[str, Any]:
    return {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh", "Body": body}


# --- S3 event messages -----------------------------------------------------------------------------
def test_s3_event_messages_as_moto_sends_them(stack: Any) -> None:
    """A bucket of its own, announcing to a queue of its own: first S3's test event, then the upload."""
    from chalicelib.handlers.workers import s3_objects
    from devstack import aws

    name = f"parse-{uuid.uuid4().hex[:8]}"
    aws.create_bucket(stack.endpoint, name)
    url, _ = aws.create_queue(stack.endpoint, name)
    aws.notify_queue_on_upload(stack.endpoint, name, url)
    _s3(stack).put_object(Bucket=name, Key="applications/申请A1/户口本 第1页+.jpg", Body=JPEG)
    sqs = aws.client("sqs", stack.endpoint)
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert len(bodies) == 2
    test_event, created = sorted(bodies, key=lambda b: "Records" in json.loads(b))
    assert json.loads(test_event)["Event"] == "s3:TestEvent" and s3_objects(test_event) == []
    assert s3_objects(created) == [(name, "applications/申请A1/户口本 第1页+.jpg", len(JPEG))]
    removed = json.loads(created)
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert s3_objects(json.dumps(removed)) == []


def test_check_documents_reads_the_head_of_each_new_object(
    stack: Any, app: Any, checks: list[tuple[str, int, bytes]]
) -> None:
    s3, bucket = _s3(stack), _bucket(stack)
    s3.put_object(Bucket=bucket, Key="docs/a.jpg", Body=JPEG)
    s3.put_object(Bucket=bucket, Key="docs/empty.pdf", Body=b"")
    event = {"Records": [
        _record(bucket, "docs/a.jpg", len(JPEG)),
        _record(bucket, "docs/empty.pdf", 0),
        _record(bucket, "docs/gone.png", 123),  # deleted before its check: skipped, not retried
        _record("someone-elses-bucket", "x.jpg", 10),  # not ours: ignored
    ]}
    result = _invoke(app, "check_documents", [_message(json.dumps(event)), _message('{"Event": "s3:TestEvent"}')])
    assert result == {"batchItemFailures": []}
    assert checks == [("docs/a.jpg", len(JPEG), JPEG[:64]), ("docs/empty.pdf", 0, b"")]


def test_a_failed_check_fails_only_its_message(stack: Any, app: Any, monkeypatch: pytest.MonkeyPatch,
                                               checks: list[tuple[str, int, bytes]]) -> None:
    import chalicelib.domain.documents as documents

    s3, bucket = _s3(stack), _bucket(stack)
    for key in ("ok.jpg", "boom.jpg"):
        s3.put_object(Bucket=bucket, Key=key, Body=JPEG)

    def record_check(key: str, size: int, head: bytes) -> None:
        if key == "boom.jpg":
            raise RuntimeError("table unavailable")
        checks.append((key, size, head))

    monkeypatch.setattr(documents, "record_check", record_check)
    ok, boom = _message(_event(bucket, "ok.jpg", len(JPEG))), _message(_event(bucket, "boom.jpg", len(JPEG)))
    garbled = _message("not json")
    result = _invoke(app, "check_documents", [ok, boom, garbled])
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {boom["MessageId"], garbled["MessageId"]}
    assert [c[0] for c in checks] == ["ok.jpg"]


def _record(bucket: str, key: str, size: int) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/"), "size": size}}}


def _event(bucket: str, key: str, size: int) -> str:
    return json.dumps({"Records": [_record(bucket, key, size)]})


# --- notifications -------------------------------------------------------------------------------
def test_send_notifications_reports_only_the_failing_record(
    stack: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, str]] = []

    class Flaky:
        def send(self, mobile: str, text: str) -> None:
            if mobile == "13900000000":
                raise RuntimeError("provider down")
            sent.append((mobile, text))

    monkeypatch.setattr("chalicelib.notify.adapter", lambda: Flaky())
    good = _message(Notice("status_changed", {"status_name": "已受理"}, mobile="13800000001").to_json())
    bad = _message(Notice("status_changed", {"status_name": "已受理"}, mobile="13900000000").to_json())
    also_good = _message(Notice("grant_revoked", mobile="13800000002").to_json())
    result = _invoke(app, "send_notifications", [good, bad, also_good])
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}
    assert [m for m, _ in sent] == ["13800000001", "13800000002"]
    assert sent[0][1].startswith("【江门市公租房】")


def test_every_record_failing_is_still_a_partial_response(stack: Any, app: Any) -> None:
    broken = [_message("{"), _message(json.dumps({"template": "no_such_template", "mobile": "13800000001"}))]
    result = _invoke(app, "send_notifications", broken)
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {m["MessageId"] for m in broken}


# --- the local stack runs the workers --------------------------------------------------------------
def test_drain_checks_an_upload_and_sends_the_notices(
    stack: Any, app: Any, queues: Any, checks: list[tuple[str, int, bytes]]
) -> None:
    key = f"applications/A1/{uuid.uuid4().hex}.pdf"
    _s3(stack).put_object(Bucket=_bucket(stack), Key=key, Body=PDF)
    assert notify(Notice("document_rejected", {"document_name": "身份证", "reason": "照片模糊"},
                         mobile="13800000001", application_id="A1")) is True
    counts = stack.drain()
    assert counts == {"documents": 1, "notifications": 1, "billing": 0, "reviews": 0, "imports": 0, "failed": 0}
    assert checks == [(key, len(PDF), PDF[:64])]
    (recorded,) = RECORDED
    assert recorded["text"] == "【江门市公租房】您上传的“身份证”未通过检查：照片模糊。请登录公租房APP重新上传。"
    with open(stack.outbox, encoding="utf-8") as outbox:
        assert json.loads(outbox.read().splitlines()[-1])["text"] == recorded["text"]
    assert stack.drain() == {"documents": 0, "notifications": 0, "billing": 0, "reviews": 0, "imports": 0, "failed": 0}


def test_drain_leaves_failed_messages_on_the_queue(
    stack: Any, app: Any, queues: Any, monkeypatch: pytest.MonkeyPatch, checks: list[tuple[str, int, bytes]]
) -> None:
    def record_check(key: str, size: int, head: bytes) -> None:
        raise RuntimeError("not now")

    monkeypatch.setattr(sys.modules["chalicelib.domain.documents"], "record_check", record_check)
    _s3(stack).put_object(Bucket=_bucket(stack), Key="applications/retry.jpg", Body=JPEG)
    assert stack.drain() == {"documents": 0, "notifications": 0, "billing": 0, "reviews": 0, "imports": 0, "failed": 1}
    attributes = queues.get_queue_attributes(QueueUrl=stack.queues["documents"], AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # offered again after the timeout


def test_the_apps_own_objects_are_not_announced(stack: Any) -> None:
    """Lottery files and lease contracts live in the same private bucket; only citizens' uploads
    under applications/ go to the document checker."""
    from devstack import aws

    stack.drain()
    _s3(stack).put_object(Bucket=_bucket(stack), Key="leases/lse_x/contract.pdf", Body=PDF)
    sqs = aws.client("sqs", stack.endpoint)
    assert sqs.receive_message(QueueUrl=stack.queues["documents"], MaxNumberOfMessages=10).get("Messages", []) == []


def test_a_message_is_not_handed_to_a_second_worker_while_its_invocation_runs_past_the_visibility_timeout(
        stack: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployed, a queue's visibility timeout is six times its function's timeout: a message is never
    offered again while its invocation runs. Locally the timeout is short (a failed message comes back
    soon), so the pump keeps a running invocation's messages hidden: an import's split of a large file
    ran twice, side by side, before it did."""
    import threading
    import time

    from devstack import aws

    sqs = aws.client("sqs", stack.endpoint)
    url = sqs.create_queue(QueueName=f"slow-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    calls: list[str] = []
    lock = threading.Lock()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            calls.extend(r["messageId"] for r in event["Records"])
        time.sleep(2.5)  # two and a half visibility timeouts
        return {"batchItemFailures": []}
    monkeypatch.setitem(app.handler_map, "slow_worker", slow)
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    try:
        assert stack._drain_queue(url, "slow_worker", workers=2) == (1, 0)
        assert len(calls) == 1, calls
    finally:
        sqs.delete_queue(QueueUrl=url)
