"""``stats_ddb_requests`` and ``stats_recount_mismatches`` (issue 14 §2, docs/decisions/0037).

On a fresh local stack (moto in this process): a seeded random workload of every kind of event the
statistics count, written as the app writes items (PutItem, UpdateItem, DeleteItem, transactions,
some of which fail and roll back) over the last 14 months: citizens and employers registering (and
the ID-claim items beside them, which do not count), units listed and deleted, policies published,
withdrawn and left in draft, applications drafted, submitted, approved after 0-60 days, withdrawn,
payments paid online or at the counter, duplicates refunded, annual reviews decided with each outcome,
leases confirmed (renewals among them), complaints, suggestions and repairs filed, closed on time or
late and rated. The streams are drained through ``count_stats`` with one
batch in five delivered twice and some batches cut short and delivered again (as Lambda retries), then
a full recount through the current month compares every counter of every month and the totals:
``stats_recount_mismatches`` is what it finds (target 0). ``stats_ddb_requests`` is the DynamoDB
requests of one ``GET /v1/stats?month=`` (target <= 2).
"""
from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta
from typing import Any

from bench.common import DynamoRecorder, Result, at_most

SEED = 20261201
EVENTS = 3000


def _s(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: _s(v) for k, v in value.items()}}
    return {"S": str(value)}


class Workload:
    def __init__(self, stack: Any, rng: random.Random) -> None:
        from devstack import aws

        self.ddb = aws.client("dynamodb", stack.endpoint)
        self.prefix = stack.prefix or f"{stack.city}-"
        self.rng = rng
        self.now = datetime.now().astimezone()
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.kinds: dict[str, int] = {}
        self.n = 0

    def stamp(self, after: str | None = None, days: float | None = None) -> str:
        if after is not None:
            at = datetime.fromisoformat(after) + timedelta(days=days if days is not None else self.rng.uniform(0, 40))
            at = min(at, self.now)
        else:
            at = self.now - timedelta(days=self.rng.uniform(0, 420))
        return at.isoformat(timespec="milliseconds")

    def _key(self, table: str, key: dict[str, Any]) -> dict[str, Any]:
        return {k: _s(v) for k, v in key.items()}

    def put(self, table: str, item: dict[str, Any], kind: str) -> dict[str, Any]:
        self.ddb.put_item(TableName=self.prefix + table, Item={k: _s(v) for k, v in item.items() if v is not None})
        self.items.setdefault(table, []).append(item)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return item

    def update(self, table: str, key: dict[str, Any], item: dict[str, Any], changes: dict[str, Any], kind: str) -> None:
        names = {f"#a{i}": k for i, k in enumerate(changes)}
        values = {f":v{i}": _s(v) for i, v in enumerate(changes.values())}
        sets = ", ".join(f"#a{i} = :v{i}" for i in range(len(changes)))
        self.ddb.update_item(TableName=self.prefix + table, Key=self._key(table, key), UpdateExpression=f"SET {sets}",
                             ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        item.update(changes)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def delete(self, table: str, key: dict[str, Any], kind: str) -> None:
        self.ddb.delete_item(TableName=self.prefix + table, Key=self._key(table, key))
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def failed_transaction(self, table: str, item: dict[str, Any], existing: dict[str, Any], key: str) -> None:
        """A put beside a condition that fails: nothing is written, nothing may be counted."""
        try:
            self.ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.prefix + table, "Item": {k: _s(v) for k, v in item.items()}}},
                {"ConditionCheck": {"TableName": self.prefix + table, "Key": {key: _s(existing[key])},
                                    "ConditionExpression": "attribute_not_exists(#k)",
                                    "ExpressionAttributeNames": {"#k": key}}}])
        except self.ddb.exceptions.TransactionCanceledException:
            self.kinds["rolled_back"] = self.kinds.get("rolled_back", 0) + 1
            return
        raise AssertionError("the transaction should have been cancelled")

    def pick(self, table: str) -> dict[str, Any] | None:
        items = self.items.get(table) or []
        return self.rng.choice(items) if items else None

    def step(self) -> None:
        r, self.n = self.rng, self.n + 1
        n = self.n
        kind = r.choice(["person", "claim", "unit", "unit_delete", "policy", "policy_withdraw", "application",
                         "submit", "approve", "withdraw", "payment", "pay", "duplicate", "review", "decide",
                         "lease", "confirm", "rolled_back", "ticket", "ticket_close", "ticket_rate"])
        if kind == "person":
            self.put("people", {"subject": f"sub-{n}", "kind": r.choice(["citizen", "citizen", "employer"]),
                                "name": "某", "created_at": self.stamp(), "updated_at": self.stamp()}, kind)
        elif kind == "claim":
            self.put("people", {"subject": f"id#{n}", "kind": "id_claim", "name": f"sub-{n}", "created_at": self.stamp(),
                                "updated_at": self.stamp()}, kind)
        elif kind == "unit":
            self.put("units", {"unit_id": f"u-{n}", "status": "vacant", "created_at": self.stamp()}, kind)
        elif kind == "unit_delete" and (u := self.pick("units")) and not u.get("deleted"):
            self.delete("units", {"unit_id": u["unit_id"]}, kind)
            u["deleted"] = True
        elif kind == "policy":
            status = r.choice(["draft", "published"])
            at = self.stamp()
            self.put("policies", {"policy_id": f"p-{n}", "status": status,
                                  "published_at": at if status == "published" else None, "created_at": at}, kind)
        elif kind == "policy_withdraw" and (p := self.pick("policies")) and p["status"] == "published":
            self.update("policies", {"policy_id": p["policy_id"]}, p, {"status": "withdrawn"}, kind)
        elif kind == "application":
            self.put("applications", {"application_id": f"a-{n}", "status": "draft", "created_at": self.stamp()}, kind)
        elif kind == "submit" and (a := self.pick("applications")) and a["status"] == "draft":
            self.update("applications", {"application_id": a["application_id"]}, a,
                        {"status": "submitted", "submitted_at": self.stamp(a["created_at"], r.uniform(0, 5))}, kind)
        elif kind == "approve" and (a := self.pick("applications")) and a["status"] == "submitted":
            self.update("applications", {"application_id": a["application_id"]}, a,
                        {"status": "approved", "approved_at": self.stamp(a["submitted_at"], r.uniform(0, 60))}, kind)
        elif kind == "withdraw" and (a := self.pick("applications")) and a["status"] in ("draft", "submitted"):
            self.update("applications", {"application_id": a["application_id"]}, a, {"status": "withdrawn"}, kind)
        elif kind == "payment":
            provider = r.choice(["wechat", "alipay", "counter"])
            item = {"payment_id": f"pay-{n}", "provider": provider, "status": "created", "amount": r.randint(100, 300000),
                    "created_at": self.stamp()}
            if provider == "counter":
                item.update(status="paid", paid_at=item["created_at"])
            self.put("payments", item, kind)
        elif kind == "pay" and (p := self.pick("payments")) and p["status"] == "created":
            self.update("payments", {"payment_id": p["payment_id"]}, p,
                        {"status": "paid", "paid_at": self.stamp(p["created_at"], r.uniform(0, 0.02))}, kind)
        elif kind == "duplicate" and (p := self.pick("payments")) and p["status"] == "created":
            self.update("payments", {"payment_id": p["payment_id"]}, p,
                        {"status": "refunding", "paid_at": self.stamp(p["created_at"], 0.01),
                         "refund": {"duplicate_of": "pay-x", "amount": p["amount"]}}, kind)
        elif kind == "review":
            self.put("reviews", {"review_id": f"r-{n}", "status": "open", "created_at": self.stamp()}, kind)
        elif kind == "decide" and (v := self.pick("reviews")) and v["status"] == "open":
            self.update("reviews", {"review_id": v["review_id"]}, v,
                        {"status": "decided", "outcome": r.choice(["continue", "higher_rent", "must_leave", "manual"]),
                         "decided_at": self.stamp(v["created_at"], r.uniform(0, 30))}, kind)
        elif kind == "lease":
            self.put("leases", {"lease_id": f"l-{n}", "status": "draft", "created_at": self.stamp(),
                                "renews": f"l-old-{n}" if r.random() < 0.2 else None}, kind)
        elif kind == "confirm" and (lease := self.pick("leases")) and lease["status"] == "draft":
            self.update("leases", {"lease_id": lease["lease_id"]}, lease,
                        {"status": "confirmed", "confirmed_at": self.stamp(lease["created_at"], r.uniform(0, 3))}, kind)
        elif kind == "ticket":
            self.put("tickets", {"ticket_id": f"t-{n}", "kind": r.choice(["complaint", "suggestion", "repair"]),
                                 "status": "open", "filed_at": self.stamp()}, kind)
        elif kind == "ticket_close" and (t := self.pick("tickets")) and t["status"] == "open":
            self.update("tickets", {"ticket_id": t["ticket_id"]}, t,
                        {"status": "closed", "resolved_at": self.stamp(t["filed_at"], r.uniform(0, 20)),
                         "resolution_met": r.random() < 0.8}, kind)
        elif kind == "ticket_rate" and (t := self.pick("tickets")) and t["status"] == "closed" and "rating_score" not in t:
            score = r.randint(1, 5)
            self.update("tickets", {"ticket_id": t["ticket_id"]}, t,
                        {"rating_score": score, "rating": {"score": score, "at": self.stamp(t["resolved_at"], 1)}}, kind)
        elif kind == "rolled_back" and (person := self.pick("people")):
            self.failed_transaction("people", {"subject": f"sub-rb-{n}", "kind": "citizen", "name": "某",
                                               "created_at": self.stamp()}, person, "subject")


def _drain_with_redeliveries(stack: Any, rng: random.Random) -> dict[str, int]:
    """What Lambda may do: a batch delivered again after it was counted, a batch cut short then whole."""
    from app import app
    from devstack.stack import FakeLambdaContext
    from devstack.streams import StreamPoller

    count = app.handler_map["count_stats"]
    poller = StreamPoller(stack.endpoint)
    redelivered = cut = 0
    while True:
        handled = 0
        for arn in poller._stream_arns():
            records = poller._read(arn)
            if not records:
                continue
            for record in records:
                record["eventSourceARN"] = arn
            event = {"Records": records}
            if rng.random() < 0.2:  # cut short: the first part counted, then the whole batch again
                count({"Records": records[: rng.randint(1, len(records))]}, FakeLambdaContext("count_stats"))
                cut += 1
            count(event, FakeLambdaContext("count_stats"))
            if rng.random() < 0.2:  # delivered again after it was counted
                count(json.loads(json.dumps(event, default=str)), FakeLambdaContext("count_stats"))
                redelivered += 1
            poller._after[arn] = int(records[-1]["dynamodb"]["SequenceNumber"])
            handled += len(records)
        if not handled:
            return {"redelivered_batches": redelivered, "cut_short_batches": cut}


def stats_results(stack: Any, recorder: DynamoRecorder) -> list[Result]:
    from chalice.test import Client

    from app import app
    from chalicelib.domain import stats_recount
    from chalicelib.domain.common import now

    stack.reset()
    rng = random.Random(SEED)
    work = Workload(stack, rng)
    started = time.perf_counter()
    for _ in range(EVENTS):
        work.step()
    written_s = time.perf_counter() - started
    deliveries = _drain_with_redeliveries(stack, rng)
    month = now().strftime("%Y-%m")
    run = stats_recount.start(None)  # the schedule's run (last month) ...
    run = stats_recount.step(run["recount_id"], 600)
    from chalicelib.bodies import StatsRecountIn

    full = stats_recount.start(type("Admin", (), {"subject": "bench"})(), StatsRecountIn(through=month))  # ... and this month
    full = stats_recount.step(full["recount_id"], 600)
    token = stack.token("ministry")
    with Client(app) as client, recorder.window() as calls:
        response = client.http.get(f"/v1/stats?month={month}", headers={"Authorization": f"Bearer {token}"})
        requests_made = [c.operation for c in calls]
    assert response.status_code == 200, response.body
    figures = json.loads(response.body)["totals"]
    mismatches = full["mismatch_count"] + run["mismatch_count"]
    detail = {"events": EVENTS, "writes_by_kind": work.kinds, "write_s": round(written_s, 1), **deliveries,
              "recount_items_read": sum(t["items"] for t in full["tables"].values()),
              "recount_status": full["status"], "mismatches": full["mismatches"][:5],
              "totals": {k: figures[k] for k in ("registered_users", "units_listed", "applications_approved",
                                                 "approval_days_p90", "payments_online_count", "households_housed",
                                                 "complaints", "feedback_on_time_rate", "feedback_rating_avg")}}
    return [
        Result("stats_ddb_requests", float(len(requests_made)), "requests", "<= 2", at_most(len(requests_made), 2),
               {"operations": requests_made}),
        Result("stats_recount_mismatches", float(mismatches), "mismatches", "0",
               full["status"] == "finished" and mismatches == 0, detail),
    ]
