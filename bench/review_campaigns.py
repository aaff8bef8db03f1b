"""Opening a review campaign over 10,000 active leases in the local stack (issue 12 §1,
docs/decisions/0032).

- ``review_campaign_10k_s``: seconds from opening the year's campaign (``review_campaigns.open_campaign``,
  what the admin's route calls) until its opening pass is finished: every review created and its
  first notice queued (on the notifications queue, counted there), the shards' messages worked on by
  the local stack's queue pump (``stack.drain``, one worker at a time here; 32 shards in parallel on AWS).
- ``review_campaign_reopen_created``: the reviews a second opening of the same campaign creates (0:
  each review's id is the campaign's and the lease's, written with a conditional put).
- ``review_ddb_requests_per_lease``: DynamoDB requests of the first opening / reviews created (a
  page's reviews are 10 transactions of 100 conditional puts, each review carrying its first
  notice's mark; the tenants' mobiles are one BatchGetItem per 100; a page's index Query and its
  progress write; each shard's and the pass's bookkeeping).

The leases are seeded as the rent bench seeds them (bench/billing.py) and read through the same moto
partition shortcut (bench/moto_fast.py).
"""
from __future__ import annotations

import time
from typing import Any

from bench import moto_fast
from bench.common import DynamoRecorder, Result

LEASES = 10_000
TARGET_S, TARGET_REQUESTS = 120.0, 2.0


def _notices_queued(stack: Any) -> int:
    from devstack import aws

    attributes = aws.client("sqs", stack.endpoint).get_queue_attributes(
        QueueUrl=stack.queues["notifications"], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _open_and_drain(stack: Any, admin: Any, year: int) -> tuple[Any, float, int]:
    from chalicelib.bodies import ReviewCampaignIn
    from chalicelib.domain import review_campaigns

    started = time.perf_counter()
    campaign, run = review_campaigns.open_campaign(admin, ReviewCampaignIn(scope="all", year=year))
    drains = 0
    while review_campaigns.deps().review_campaigns.get(run.run_id).status == review_campaigns.RUNNING:
        stack.drain(rounds=50, only=("reviews",))  # the notices stay queued: what is measured is queueing them
        drains += 1
        if time.perf_counter() - started > 20 * TARGET_S:
            raise TimeoutError("the campaign's pass did not finish")
    return review_campaigns.fanout.get(review_campaigns.KIND, run.run_id), time.perf_counter() - started, drains


def review_campaign_10k(stack: Any, recorder: DynamoRecorder) -> list[Result]:
    from bench.billing import _partition_leases, seed_leases
    from chalicelib.domain import review_campaigns
    from chalicelib.domain.common import now
    from chalicelib.identity import Actor, Role

    stack.reset()
    seeded = seed_leases(LEASES, not_started_every=0)
    parts = _partition_leases()
    admin = Actor(subject="sub_bench_admin", roles=frozenset({Role.ADMIN}), city=stack.city, claims={})
    year = now().date().year
    try:
        with recorder.window() as calls:
            first, elapsed, drains = _open_and_drain(stack, admin, year)
            ops: dict[str, int] = {}
            for c in calls:
                ops[c.operation] = ops.get(c.operation, 0) + 1
        queued = _notices_queued(stack)
        again, again_s, _ = _open_and_drain(stack, admin, year)
    finally:
        moto_fast.forget()
    counts, reopened = first.counts, again.counts
    requests = sum(ops.values())
    per_lease = requests / counts.created if counts.created else None
    detail = {
        **seeded, "campaign_id": f"rc-{year}", "status": first.run.status.value, "leases_seen": counts.seen,
        "reviews_created": counts.created, "already_existing": counts.existing, "out_of_scope": counts.out_of_scope,
        "first_notices_marked": counts.notified, "notices_on_queue": queued, "failed": counts.failed,
        "shards": first.run.shards, "pages": sum(s.seq for s in first.shards), "drain_calls": drains,
        "moto_partition_shortcut": {"served": parts.served, "fallbacks": parts.fallbacks},
        "note": "one local worker drains the 32 shards in turn; deployed, each shard is its own Lambda invocation",
    }
    ok_open = (first.run.status == review_campaigns.FINISHED and counts.created == LEASES
               and counts.notified == LEASES and queued >= LEASES)
    return [
        Result("review_campaign_10k_s", round(elapsed, 1), "s", f"<= {TARGET_S:g}", ok_open and elapsed <= TARGET_S,
               detail),
        Result("review_campaign_reopen_created", reopened.created, "reviews", "0",
               again.run.status == review_campaigns.FINISHED and reopened.created == 0
               and reopened.existing == LEASES and reopened.notified == 0,
               {"already_existing": reopened.existing, "notices_queued": reopened.notified, "seconds": round(again_s, 1)}),
        Result("review_ddb_requests_per_lease", None if per_lease is None else round(per_lease, 3),
               "requests / review", f"<= {TARGET_REQUESTS:g}",
               ok_open and per_lease is not None and per_lease <= TARGET_REQUESTS,
               {"requests": requests, "reviews_created": counts.created, "requests_by_operation": dict(sorted(ops.items()))}),
    ]
