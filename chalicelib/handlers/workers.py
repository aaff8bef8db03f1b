"""The app's queue workers: Lambda functions fed by SQS, each record on its own.

- ``send_notifications``: a record is a ``Notice`` (JSON); it is rendered and sent through the
  city's channel. A failed send fails only that record: SQS offers it again, a DLQ keeps the
  hopeless ones.
- ``check_documents``: a record is an S3 event notification (uploads to the document bucket); the
  first bytes of each new object are read and ``chalicelib.domain.documents.record_check`` marks the
  document accepted or rejected. An object that is gone by then is skipped.
- ``issue_bills``: a record is a billing run's shard message (JSON); the shard's leases are billed a
  page at a time until it ends or time runs low (``chalicelib.domain.billing_runs.process``). A
  record that fails its last delivery marks the shard failed (with the reason) before it goes to the
  DLQ, so the run shows it (docs/decisions/0027).
- ``open_reviews``: a record is a review campaign's shard message: the same sharded job
  (domain/fanout.py) opening the campaign's reviews, or sending a reminder (docs/decisions/0032).
- ``run_imports``: a record is an import's step: the split of its file into chunks, the real run's
  fan-out, or one chunk (domain/imports.py, docs/decisions/0036).

Partial batch failures through Powertools (``ReportBatchItemFailures`` on the event source mapping,
see infra/stack.py); Chalice's ``on_sqs_message`` cannot report them. Heavy imports stay inside the
functions: this module is imported with every route.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from typing import Any

from chalice import Blueprint

from chalicelib.config import settings
from chalicelib.observability import logger

bp = Blueprint(__name__)

_lock = threading.Lock()
_s3_clients: dict[tuple[str | None, str], Any] = {}


def _partial(event: dict[str, Any], context: Any, record_handler: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # Every record that failed is reported, even all of them (SQS then offers each again).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)


# --- notifications -------------------------------------------------------------------------------
@bp.lambda_function(name="send_notifications")
def send_notifications(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _partial(event, context, _send_one)


def _send_one(record: Any) -> None:
    from chalicelib.notify import Notice, deliver

    deliver(Notice.from_json(record.body))


# --- document checks -----------------------------------------------------------------------------
@bp.lambda_function(name="check_documents")
def check_documents(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _partial(event, context, _check_message)


def s3_objects(body: str) -> list[tuple[str, str, int]]:
    """(bucket, key, size) of each object an S3 event notification says was created; none for
    S3's ``s3:TestEvent`` (sent when the notification is configured) or other events."""
    message = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return []
    found = []
    for rec in message.get("Records") or []:
        if not str(rec.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = rec["s3"]
        key = urllib.parse.unquote_plus(s3["object"]["key"])  # S3 URL-encodes keys in events
        found.append((s3["bucket"]["name"], key, int(s3["object"].get("size") or 0)))
    return found


def _check_message(record: Any) -> None:
    ours = settings().document_bucket
    for bucket, key, size in s3_objects(record.body):
        if ours and bucket != ours:  # the queue admits S3 events of the whole account
            logger.warning("upload event of another bucket ignored", extra={"bucket": bucket})
            continue
        head = read_head(bucket, key, size)
        if head is None:
            logger.info("document gone before its check, skipped", extra={"key": key})
            continue
        from chalicelib.domain.documents import record_check

        record_check(key, size, head)


def _s3() -> Any:
    config = settings()
    cache_key = (config.endpoint_url, config.region)
    with _lock:
        if cache_key not in _s3_clients:
            import boto3

            _s3_clients[cache_key] = boto3.client("s3", region_name=config.region,
                                                  endpoint_url=config.endpoint_url)
        return _s3_clients[cache_key]


def read_head(bucket: str, key: str, size: int) -> bytes | None:
    """The first bytes of an object (a ranged GET); None when the object no longer exists."""
    from botocore.exceptions import ClientError

    from chalicelib.domain.filetypes import HEAD_BYTES

    if size == 0:
        try:
            _s3().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return b""
    try:
        response = _s3().get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")
    except ClientError as exc:
        if _missing(exc):
            return None
        if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # emptied since the event
            return b""
        raise
    with response["Body"] as body:
        return body.read(HEAD_BYTES)


def _missing(exc: Any) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


# --- billing runs ----------------------------------------------------------------------------------
#: The deliveries SQS makes before the DLQ (infra/stack.py MAX_RECEIVE_COUNT, devstack/aws.py).
MAX_RECEIVES = 5


@bp.lambda_function(name="issue_bills")
def issue_bills(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _partial(event, context, lambda record: _fan_out_one(record, context, "billing_runs"))


# --- review campaigns ------------------------------------------------------------------------------
@bp.lambda_function(name="open_reviews")
def open_reviews(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A review campaign's pass: a shard's reviews opened (or reminded) a page at a time (docs/decisions/0032)."""
    return _partial(event, context, lambda record: _fan_out_one(record, context, "review_campaigns"))


def _fan_out_one(record: Any, context: Any, kind: str) -> None:
    """One shard message of a sharded job (domain/fanout.py) to its kind's module (``process``,
    ``give_up``). A record that fails its last delivery marks the shard failed (with the reason)
    before it goes to the DLQ, so the job shows it."""
    import importlib

    module = importlib.import_module(f"chalicelib.domain.{kind}")
    message = json.loads(record.body)
    left = getattr(context, "get_remaining_time_in_millis", None)
    try:
        outcome = module.process(message, left if callable(left) else (lambda: 60_000))
    except Exception as exc:
        receives = int((record.attributes.approximate_receive_count if record.attributes else None) or 1)
        if receives >= MAX_RECEIVES:  # SQS will not offer it again: the job shows why it failed
            logger.exception("shard gave up", extra={"kind": kind, "run_id": message.get("run_id"),
                                                      "shard": message.get("shard")})
            module.give_up(message, f"{type(exc).__name__}: {exc}")
        raise
    logger.info("shard", extra={"kind": kind, "run_id": message.get("run_id"), "shard": message.get("shard"),
                                "outcome": outcome})


# --- imports ---------------------------------------------------------------------------------------
@bp.lambda_function(name="run_imports")
def run_imports(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An import's step (docs/decisions/0036): the split of its file into chunks, the real run's fan-out,
    or one chunk (checked, compared, written group by group: each group once, whatever the deliveries)."""
    return _partial(event, context, lambda record: _import_one(record, context))


def _import_one(record: Any, context: Any) -> None:
    message = json.loads(record.body)
    if message.get("step") == "export":  # an export rides this queue (domain/exports.py, 0036 "Export")
        return _export_one(record, message, context)
    from chalicelib.domain import imports

    try:
        outcome = imports.process(message)
    except Exception as exc:
        receives = int((record.attributes.approximate_receive_count if record.attributes else None) or 1)
        if receives >= MAX_RECEIVES:  # SQS will not offer it again: the import shows why it failed
            logger.exception("import step gave up", extra={"import_id": message.get("import_id"),
                                                            "step": message.get("step"), "chunk": message.get("chunk")})
            imports.give_up(message, f"{type(exc).__name__}: {exc}")
        raise
    logger.info("import step", extra={"import_id": message.get("import_id"), "step": message.get("step"),
                                      "chunk": message.get("chunk"), "outcome": outcome})


def _export_one(record: Any, message: dict[str, Any], context: Any) -> None:
    """An export's one part: rows written until the part is full or the time runs short, the next part
    queued, the file joined at the end (nothing of the rows logged)."""
    from chalicelib.domain import exports

    left = getattr(context, "get_remaining_time_in_millis", None)
    try:
        outcome = exports.process(message, left if callable(left) else None)
    except Exception as exc:
        receives = int((record.attributes.approximate_receive_count if record.attributes else None) or 1)
        if receives >= MAX_RECEIVES:  # SQS will not offer it again: the export shows why it failed
            logger.exception("export gave up", extra={"export_id": message.get("export_id")})
            exports.give_up(message, f"{type(exc).__name__}: {exc}")
        raise
    logger.info("export", extra={"export_id": message.get("export_id"), "segment": message.get("segment"),
                                 "part": message.get("part"), "outcome": outcome})
