"""Billing runs: the run and its shards' progress (one item collection per run, the sharded jobs'
layout: repositories/fanout.py), and the billing queue the shards' messages go through.
docs/decisions/0027."""
from __future__ import annotations

from chalicelib import errors
from chalicelib.domain.billing_runs import BillingRun, BillingRunStatus, Counts, Trigger
from chalicelib.domain.common import Page
from chalicelib.repositories.fanout import RUN, JobStore, decode_cursor, encode_cursor, shard_item
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import BillingRunRecord

__all__ = ["BillingRunRepository", "RUN", "decode_cursor", "encode_cursor", "shard_item"]
R = BillingRunRecord


class BillingRunRepository(JobStore, model=BillingRunRecord, counts=Counts, running=BillingRunStatus.RUNNING,
                           not_found=errors.BillingRunNotFound, queue="billing_queue_url"):

    def page(self, cursor: str | None, limit: int) -> Page[BillingRun]:
        records, next_cursor = query_page(R.by_started, RUN, key_names=("run_id", "item", "list_key", "started_sort"),
                                          scope="billing_runs", limit=limit, cursor=cursor, forward=False)
        return Page([self.to_run(r) for r in records], next_cursor)

    def run_record(self, run: BillingRun) -> BillingRunRecord:
        return R(run.run_id, RUN, month=run.month, trigger=run.trigger.value, started_by=run.started_by,
                 started_at=run.started_at, status=run.status.value, shards=run.shards, shards_done=run.shards_done,
                 shards_failed=run.shards_failed, enqueued=1 if run.enqueued else None, reason=run.reason,
                 finished_at=run.finished_at, list_key=RUN, started_sort=f"{run.started_at}#{run.run_id}",
                 **{name: getattr(run.counts, name) for name in self.counts})

    def to_run(self, r: BillingRunRecord) -> BillingRun:
        return BillingRun(
            run_id=r.run_id, month=r.month or "", trigger=Trigger(r.trigger or Trigger.ADMIN.value),
            started_by=r.started_by, started_at=r.started_at or "",
            status=BillingRunStatus(r.status or BillingRunStatus.RUNNING.value), shards=int(r.shards or 0),
            shards_done=int(r.shards_done or 0), shards_failed=int(r.shards_failed or 0), counts=self.counts_of(r),
            enqueued=bool(r.enqueued), reason=r.reason, finished_at=r.finished_at)
