"""Sharded jobs' storage (domain/fanout.py): a job and its shards in one item collection (``item`` =
"run" for the job, "s#{shard}" for each shard's progress) and the queue its messages go through (SQS;
the local stack pumps it). Each kind has its table and queue; this class is what they share.
docs/decisions/0027, 0032.

A shard's page is recorded with ONE conditional write on the page number the worker started from
(``seq``): a redelivered or duplicated message loses it and counts nothing. A shard's last page is
recorded in a transaction with the job's totals (``shards_done`` + the shard's counts), so the job
counts each shard once.
"""
from __future__ import annotations

import json
import threading
from dataclasses import fields
from typing import Any, ClassVar

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.fanout import Shard
from chalicelib.repositories.common import is_condition_failure, transact

RUN = "run"
_lock = threading.Lock()
_clients: dict[tuple[str | None, str], Any] = {}


def shard_item(shard: str) -> str:
    return f"s#{shard}"


def encode_cursor(cursor: dict[str, Any] | None) -> str | None:
    return None if cursor is None else json.dumps(cursor, separators=(",", ":"), sort_keys=True)


def decode_cursor(raw: str | None) -> dict[str, Any] | None:
    return None if not raw else dict(json.loads(raw))


class JobStore:
    """A kind's jobs: ``model`` (its PynamoDB table: run_id + item, the fields below and one number
    attribute per count), ``counts_type``, its running status, the error for an unknown job and the
    setting naming its queue. A subclass says how a job is a record (``run_record``, ``to_run``)."""

    model: ClassVar[Any]
    counts_type: ClassVar[type]
    not_found: ClassVar[type[errors.NotFound]]
    queue_setting: ClassVar[str]
    running: ClassVar[Any]  # the kind's RUNNING status (a job is settled once, while it is running)

    def __init_subclass__(cls, *, model: Any = None, counts: type | None = None, running: Any = None,
                          not_found: type[errors.NotFound] | None = None, queue: str = "", **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.model, cls.counts_type, cls.running, cls.not_found, cls.queue_setting = (
            model, counts, running, not_found, queue)  # type: ignore[assignment]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run_record(self, run: Any) -> Any:
        raise NotImplementedError

    def to_run(self, record: Any) -> Any:
        raise NotImplementedError

    @property
    def counts(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self.counts_type))

    def counts_of(self, record: Any) -> Any:
        return self.counts_type(**{name: int(getattr(record, name) or 0) for name in self.counts})

    # --- the job ---------------------------------------------------------------------------------
    def create(self, run: Any) -> bool:
        """Record a new job; False if a job with this id exists (a deterministic id started again)."""
        try:
            self.run_record(run).save(condition=self.model.run_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def get(self, run_id: str) -> Any:
        try:
            return self.to_run(self.model.get(run_id, RUN, consistent_read=True))
        except self.model.DoesNotExist:
            raise self.not_found(run_id, field="run_id") from None

    def mark_enqueued(self, run: Any) -> Any:
        self.model(run.run_id, RUN).update(actions=[self.model.enqueued.set(1)])
        return self.get(run.run_id)

    def finish(self, run: Any) -> Any | None:
        """The job's final status, once (only while it is running); None if it was settled already."""
        R = self.model
        actions = [R.status.set(run.status.value), R.finished_at.set(run.finished_at)]
        if run.reason:
            actions.append(R.reason.set(run.reason))
        try:
            R(run.run_id, RUN).update(actions=actions, condition=R.status == self.running.value)
        except UpdateError as exc:
            if is_condition_failure(exc):
                return None
            raise
        return run

    # --- shards ----------------------------------------------------------------------------------
    def shards(self, run_id: str) -> list[Shard[Any]]:
        return [self.to_shard(r) for r in self.model.query(run_id, self.model.item.startswith("s#"),
                                                           consistent_read=True)]

    def get_shard(self, run_id: str, shard: str) -> Shard[Any] | None:
        try:
            return self.to_shard(self.model.get(run_id, shard_item(shard), consistent_read=True))
        except self.model.DoesNotExist:
            return None

    def advance_shard(self, run_id: str, shard: str, seq: int, counts: Any, total: Any,
                      failures: list[dict[str, str]], cursor: dict[str, Any] | None, finished: bool, at: str) -> bool:
        """Record page ``seq`` of a shard (its counts added, the cursor after it), only if the shard
        has recorded exactly ``seq`` pages and is neither finished nor failed. The last page also
        adds the shard's ``total`` to the job, in the same transaction. False: the condition failed."""
        R = self.model
        actions = [R.seq.set(seq + 1), R.updated_at.set(at)]
        actions += [getattr(R, name).add(getattr(counts, name)) for name in self.counts]
        actions.append(R.cursor.set(encode_cursor(cursor)) if cursor is not None else R.cursor.remove())
        if failures:
            actions.append(R.failures.set((R.failures | []).append(failures)))
        if finished:
            actions.append(R.finished_at.set(at))
        condition = (R.seq.does_not_exist() if seq == 0 else R.seq == seq) \
            & R.finished_at.does_not_exist() & R.failed_reason.does_not_exist()
        record = R(run_id, shard_item(shard))
        if not finished:
            try:
                record.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if is_condition_failure(exc):
                    return False
                raise
            return True
        run_actions = [R.shards_done.add(1)] + [getattr(R, name).add(getattr(total, name)) for name in self.counts]
        return self._transact(lambda tx: (tx.update(record, actions=actions, condition=condition),
                                          tx.update(R(run_id, RUN), actions=run_actions, condition=R.run_id.exists())))

    def fail_shard(self, run_id: str, shard: str, reason: str, at: str) -> bool:
        """A shard gave up (its last delivery failed): the reason on it, one more failed shard on the job."""
        R = self.model
        condition = R.finished_at.does_not_exist() & R.failed_reason.does_not_exist()
        return self._transact(lambda tx: (
            tx.update(R(run_id, shard_item(shard)), actions=[R.failed_reason.set(reason), R.updated_at.set(at)],
                      condition=condition),
            tx.update(R(run_id, RUN), actions=[R.shards_failed.add(1)], condition=R.run_id.exists())))

    def _transact(self, build: Any) -> bool:
        return transact(self.settings, build)

    def to_shard(self, r: Any) -> Shard[Any]:
        failures = [{k: str(v) for k, v in (f.as_dict() if hasattr(f, "as_dict") else dict(f)).items()}
                    for f in (r.failures or [])]
        return Shard(run_id=r.run_id, shard=r.item.removeprefix("s#"), seq=int(r.seq or 0),
                     cursor=decode_cursor(r.cursor), counts=self.counts_of(r), failures=failures,
                     finished_at=r.finished_at, failed_reason=r.failed_reason, updated_at=r.updated_at)

    # --- the queue -------------------------------------------------------------------------------
    def send(self, messages: list[dict[str, Any]]) -> None:
        """Shard messages onto the kind's queue (10 a request); a queue that fails is a 503."""
        url = getattr(self.settings, self.queue_setting)
        if not url:
            raise errors.ServiceUnavailable(f"no queue configured ({self.queue_setting.upper()})")
        send_batches(self.settings, url, [json.dumps(m, separators=(",", ":"))
                                          for m in messages], self.queue_setting)


def send_batches(settings: Settings, url: str, bodies: list[str], what: str) -> None:
    """Message bodies onto a queue, 10 a SendMessageBatch (throttled entries once more, one by one);
    a queue that fails is a 503."""
    from botocore.exceptions import BotoCoreError, ClientError

    sqs = sqs_client(settings)
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[start:start + 10])]
        try:
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
            for f in failed:
                sqs.send_message(QueueUrl=url, MessageBody=entries[int(f["Id"])]["MessageBody"])
        except (BotoCoreError, ClientError) as exc:
            raise errors.ServiceUnavailable(f"{what}: {type(exc).__name__}") from None


def sqs_client(settings: Settings) -> Any:
    key = (settings.endpoint_url, settings.region)
    with _lock:
        if key not in _clients:
            import boto3

            _clients[key] = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.endpoint_url)
        return _clients[key]
