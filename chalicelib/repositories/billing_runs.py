"""Billing runs: the run and its shards' progress (one item collection per run), and the queue the
shards' messages go through (SQS; the local stack pumps it). docs/decisions/0027.

A shard's page is recorded with ONE conditional write on the page number the worker started from
(``seq``): a redelivered or duplicated message loses it and counts nothing. A shard's last page is
recorded in a transaction with the run's totals (``shards_done`` + the shard's counts), so the run
counts each shard once.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.billing_runs import (COUNTS, BillingRun, BillingRunStatus, Counts, Shard, Trigger, decode_cursor,
                                            encode_cursor)
from chalicelib.domain.common import Page
from chalicelib.repositories.common import is_condition_failure, transact
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import BillingRunRecord

RUN = "run"
R = BillingRunRecord
_lock = threading.Lock()
_clients: dict[tuple[str | None, str], Any] = {}


def shard_item(shard: str) -> str:
    return f"s#{shard}"


class BillingRunRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- the run ---------------------------------------------------------------------------------
    def create(self, run: BillingRun) -> bool:
        """Record a new run; False if a run with this id exists (the schedule's run of a month)."""
        try:
            run_record(run).save(condition=R.run_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def get(self, run_id: str) -> BillingRun:
        try:
            return to_run(R.get(run_id, RUN, consistent_read=True))
        except R.DoesNotExist:
            raise errors.BillingRunNotFound(run_id, field="run_id") from None

    def mark_enqueued(self, run: BillingRun) -> BillingRun:
        R(run.run_id, RUN).update(actions=[R.enqueued.set(1)])
        return self.get(run.run_id)

    def finish(self, run: BillingRun) -> BillingRun | None:
        """The run's final status, once (only while it is running); None if it was settled already."""
        actions = [R.status.set(run.status.value), R.finished_at.set(run.finished_at)]
        if run.reason:
            actions.append(R.reason.set(run.reason))
        try:
            R(run.run_id, RUN).update(actions=actions, condition=R.status == BillingRunStatus.RUNNING.value)
        except UpdateError as exc:
            if is_condition_failure(exc):
                return None
            raise
        return run

    def page(self, cursor: str | None, limit: int) -> Page[BillingRun]:
        records, next_cursor = query_page(R.by_started, RUN, key_names=("run_id", "item", "list_key", "started_sort"),
                                          scope="billing_runs", limit=limit, cursor=cursor, forward=False)
        return Page([to_run(r) for r in records], next_cursor)

    # --- shards ----------------------------------------------------------------------------------
    def shards(self, run_id: str) -> list[Shard]:
        return [to_shard(r) for r in R.query(run_id, R.item.startswith("s#"), consistent_read=True)]

    def get_shard(self, run_id: str, shard: str) -> Shard | None:
        try:
            return to_shard(R.get(run_id, shard_item(shard), consistent_read=True))
        except R.DoesNotExist:
            return None

    def advance_shard(self, run_id: str, shard: str, seq: int, counts: Counts, total: Counts,
                      failures: list[dict[str, str]], cursor: dict[str, Any] | None, finished: bool, at: str) -> bool:
        """Record page ``seq`` of a shard (its counts added, the cursor after it), only if the shard
        has recorded exactly ``seq`` pages and is neither finished nor failed. The last page also
        adds the shard's ``total`` to the run, in the same transaction. False: the condition failed."""
        actions = [R.seq.set(seq + 1), R.updated_at.set(at)]
        actions += [getattr(R, name).add(getattr(counts, name)) for name in COUNTS]
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
        run_actions = [R.shards_done.add(1)] + [getattr(R, name).add(getattr(total, name)) for name in COUNTS]
        return self._transact(lambda tx: (tx.update(record, actions=actions, condition=condition),
                                          tx.update(R(run_id, RUN), actions=run_actions, condition=R.run_id.exists())))

    def fail_shard(self, run_id: str, shard: str, reason: str, at: str) -> bool:
        """A shard gave up (its last delivery failed): the reason on it, one more failed shard on the run."""
        condition = R.finished_at.does_not_exist() & R.failed_reason.does_not_exist()
        return self._transact(lambda tx: (
            tx.update(R(run_id, shard_item(shard)), actions=[R.failed_reason.set(reason), R.updated_at.set(at)],
                      condition=condition),
            tx.update(R(run_id, RUN), actions=[R.shards_failed.add(1)], condition=R.run_id.exists())))

    def _transact(self, build: Any) -> bool:
        return transact(self.settings, build)

    # --- the queue -------------------------------------------------------------------------------
    def send(self, messages: list[dict[str, Any]]) -> None:
        """Shard messages onto the billing queue (10 a request); a queue that fails is a 503."""
        url = self.settings.billing_queue_url
        if not url:
            raise errors.ServiceUnavailable("no billing queue configured (BILLING_QUEUE_URL)")
        from botocore.exceptions import BotoCoreError, ClientError

        sqs = self._sqs()
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            entries = [{"Id": str(n), "MessageBody": json.dumps(m, separators=(",", ":"))} for n, m in enumerate(chunk)]
            try:
                failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
                if failed:  # throttled entries: once more, one by one
                    for f in failed:
                        sqs.send_message(QueueUrl=url, MessageBody=entries[int(f["Id"])]["MessageBody"])
            except (BotoCoreError, ClientError) as exc:
                raise errors.ServiceUnavailable(f"billing queue: {type(exc).__name__}") from None

    def _sqs(self) -> Any:
        key = (self.settings.endpoint_url, self.settings.region)
        with _lock:
            if key not in _clients:
                import boto3

                _clients[key] = boto3.client("sqs", region_name=self.settings.region,
                                             endpoint_url=self.settings.endpoint_url)
            return _clients[key]


# --- records ----------------------------------------------------------------------------------------
def run_record(run: BillingRun) -> BillingRunRecord:
    return R(run.run_id, RUN, month=run.month, trigger=run.trigger.value, started_by=run.started_by,
             started_at=run.started_at, status=run.status.value, shards=run.shards, shards_done=run.shards_done,
             shards_failed=run.shards_failed, enqueued=1 if run.enqueued else None, reason=run.reason,
             finished_at=run.finished_at, list_key=RUN, started_sort=f"{run.started_at}#{run.run_id}",
             **{name: getattr(run.counts, name) for name in COUNTS})


def _counts(r: BillingRunRecord) -> Counts:
    return Counts(**{name: int(getattr(r, name) or 0) for name in COUNTS})


def to_run(r: BillingRunRecord) -> BillingRun:
    return BillingRun(
        run_id=r.run_id, month=r.month or "", trigger=Trigger(r.trigger or Trigger.ADMIN.value), started_by=r.started_by,
        started_at=r.started_at or "", status=BillingRunStatus(r.status or BillingRunStatus.RUNNING.value),
        shards=int(r.shards or 0), shards_done=int(r.shards_done or 0), shards_failed=int(r.shards_failed or 0),
        counts=_counts(r), enqueued=bool(r.enqueued), reason=r.reason, finished_at=r.finished_at)


def to_shard(r: BillingRunRecord) -> Shard:
    failures = [{k: str(v) for k, v in (f.as_dict() if hasattr(f, "as_dict") else dict(f)).items()}
                for f in (r.failures or [])]
    return Shard(run_id=r.run_id, shard=r.item.removeprefix("s#"), seq=int(r.seq or 0), cursor=decode_cursor(r.cursor),
                 counts=_counts(r), failures=failures, finished_at=r.finished_at, failed_reason=r.failed_reason,
                 updated_at=r.updated_at)
