"""The statistics' storage (docs/decisions/0037): counter items read in one BatchGetItem, stream events
applied exactly once, the recount's runs and paged scans, the export files.

Exactly once: each counted stream record writes a marker item ``event#{eventID}`` with
``attribute_not_exists`` in the SAME transaction as the ADDs to its counter items. A record handed to
the function again (a retried batch, a bisected one) fails its marker's condition: the transaction is
cancelled, the records whose markers failed are dropped (they were counted) and the rest is written
again. Markers live 2 days (``expires``, DynamoDB's TTL): a stream keeps a record 24 hours.
"""
from __future__ import annotations

import base64
import json
import time
from decimal import Decimal
from functools import cached_property
from typing import Any, Callable

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import now_iso
from chalicelib.domain.stats import KEPT

COUNTERS = "counters"
RECOUNT = "recount"
MARKER_SECONDS = 2 * 24 * 3600
MAX_ACTIONS = 100  # a transaction's limit
_CONFLICT_RETRIES = 8


# --- DynamoDB JSON (stream images, low-level answers) -----------------------------------------------
def from_dynamo(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as plain Python (numbers: int when whole, else float)."""
    (kind, v), = value.items()
    if kind == "S":
        return v
    if kind == "N":
        number = Decimal(v)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(v)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_dynamo(x) for k, x in v.items()}
    if kind == "L":
        return [from_dynamo(x) for x in v]
    if kind in ("SS", "BS"):
        return set(v)
    if kind == "NS":
        return {from_dynamo({"N": x}) for x in v}
    if kind == "B":
        return v
    raise ValueError(f"unknown DynamoDB type {kind}")


def image(attrs: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: from_dynamo(v) for k, v in attrs.items()} if attrs else None


def _number(n: int) -> dict[str, str]:
    return {"N": str(int(n))}


class StatsRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.table = settings.table("stats")

    @cached_property
    def client(self) -> Any:
        from chalicelib.repositories.common import _connection

        return _connection(self.settings.region, self.settings.endpoint_url).client

    # --- reads -------------------------------------------------------------------------------------
    def counters(self, month: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A month's counter item and the total's, in one BatchGetItem (absent: no counters yet)."""
        keys = [{"pk": {"S": COUNTERS}, "sk": {"S": month}}, {"pk": {"S": COUNTERS}, "sk": {"S": "total"}}]
        found: dict[str, dict[str, Any]] = {}
        request = {self.table: {"Keys": keys}}
        for attempt in range(5):
            answer = self.client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table, []):
                plain = image(item) or {}
                sk = plain.pop("sk")
                found[sk] = {k: v for k, v in plain.items() if k not in ("pk", "expires")}
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2 ** attempt)
        return found.get(month, {}), found.get("total", {})

    def all_counters(self) -> dict[str, dict[str, int]]:
        """Every counter item (the months and the total): one partition, a few dozen items a year."""
        out: dict[str, dict[str, int]] = {}
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            answer = self.client.query(TableName=self.table, KeyConditionExpression="pk = :p",
                                       ExpressionAttributeValues={":p": {"S": COUNTERS}}, ConsistentRead=True, **kwargs)
            for item in answer.get("Items", []):
                plain = image(item) or {}
                sk = plain.pop("sk")
                out[sk] = {k: int(v) for k, v in plain.items()
                                        if k not in ("pk", "expires", "updated_at") and isinstance(v, (int, float))}
            start = answer.get("LastEvaluatedKey")
            if not start:
                return out

    # --- the streams' events, each once --------------------------------------------------------------
    def apply(self, events: list[tuple[str, dict[tuple[str, str], int]]]) -> int:
        """Counts each event's deltas once; returns how many events were new (not counted before)."""
        applied = 0
        for group in _groups(events):
            applied += self._apply_group(group)
        return applied

    def _apply_group(self, group: list[tuple[str, dict[tuple[str, str], int]]]) -> int:
        conflicts = 0
        while group:
            try:
                self.client.transact_write_items(TransactItems=self._actions(group))
                return len(group)
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                counted = {i for i, code in enumerate(reasons[:len(group)]) if code == "ConditionalCheckFailed"}
                if counted:  # those events were counted by an earlier delivery: drop them, write the rest
                    group = [e for i, e in enumerate(group) if i not in counted]
                    continue
                conflicts += 1  # another batch moved the same counters meanwhile: try again
                if conflicts > _CONFLICT_RETRIES:
                    raise errors.ServiceUnavailable("stats counters busy") from None
                time.sleep(min(1.0, 0.02 * 2 ** conflicts))
        return 0

    def _actions(self, group: list[tuple[str, dict[tuple[str, str], int]]]) -> list[dict[str, Any]]:
        expires = str(int(time.time()) + MARKER_SECONDS)
        actions: list[dict[str, Any]] = [{"Put": {
            "TableName": self.table, "Item": {"pk": {"S": f"event#{event_id}"}, "sk": {"S": "-"},
                                              "expires": {"N": expires}},
            "ConditionExpression": "attribute_not_exists(pk)"}} for event_id, _ in group]
        merged: dict[str, dict[str, int]] = {}
        for _, deltas in group:
            for (month, counter), n in deltas.items():
                item = merged.setdefault(month, {})
                item[counter] = item.get(counter, 0) + n
        stamp = now_iso()
        for month, moved in sorted(merged.items()):
            moved = {k: n for k, n in moved.items() if n}
            names = {f"#c{i}": counter for i, counter in enumerate(sorted(moved))}
            values = {f":v{i}": _number(moved[counter]) for i, counter in enumerate(sorted(moved))}
            adds = ", ".join(f"#c{i} :v{i}" for i in range(len(moved)))
            expression = "SET #u = :u" + (f" ADD {adds}" if adds else "")
            actions.append({"Update": {
                "TableName": self.table, "Key": {"pk": {"S": COUNTERS}, "sk": {"S": month}},
                "UpdateExpression": expression, "ExpressionAttributeNames": {**names, "#u": "updated_at"},
                "ExpressionAttributeValues": {**values, ":u": {"S": stamp}}}})
        return actions

    # --- the recount -----------------------------------------------------------------------------------
    def scan_page(self, table: str, start: str | None, limit: int = 500) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a source table (the recount only: no request path scans), and where to go on."""
        kwargs: dict[str, Any] = {"ExclusiveStartKey": json.loads(base64.b64decode(start))} if start else {}
        answer = self.client.scan(TableName=self.settings.table(table), Limit=limit, **kwargs)
        last = answer.get("LastEvaluatedKey")
        token = base64.b64encode(json.dumps(last).encode()).decode() if last else None
        return [image(item) or {} for item in answer.get("Items", [])], token

    def kept_page(self, table: str, start: str | None, limit: int = 500) -> tuple[list[dict[str, Any]], str | None]:
        """One page of what the figures keep of ``table``'s deleted items (a Query), and where to go on."""
        kwargs: dict[str, Any] = {"ExclusiveStartKey": json.loads(base64.b64decode(start))} if start else {}
        answer = self.client.query(TableName=self.table, KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": KEPT + table}}, Limit=limit, **kwargs)
        last = answer.get("LastEvaluatedKey")
        token = base64.b64encode(json.dumps(last).encode()).decode() if last else None
        return [json.loads(item["kept"]["S"]) for item in answer.get("Items", []) if "kept" in item], token

    def put_recount(self, run: dict[str, Any], expected_version: int | None) -> None:
        """Write a recount's state; ``expected_version`` None: a new run (its id is free)."""
        item = {"pk": {"S": RECOUNT}, "sk": {"S": run["recount_id"]}, "state": {"S": json.dumps(run, ensure_ascii=False)},
                "version": _number(run["version"])}
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": _number(expected_version)}}
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except self.client.exceptions.ConditionalCheckFailedException:
            raise errors.WriteConflict(f"recount {run['recount_id']} moved") from None

    def get_recount(self, recount_id: str) -> dict[str, Any] | None:
        answer = self.client.get_item(TableName=self.table, Key={"pk": {"S": RECOUNT}, "sk": {"S": recount_id}},
                                      ConsistentRead=True)
        item = answer.get("Item")
        return json.loads(item["state"]["S"]) if item else None

    def recounts(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest recounts, newest first (a dozen a year)."""
        answer = self.client.query(TableName=self.table, KeyConditionExpression="pk = :p", ScanIndexForward=False,
                                   ExpressionAttributeValues={":p": {"S": RECOUNT}}, ConsistentRead=True, Limit=limit)
        return [json.loads(item["state"]["S"]) for item in answer.get("Items", [])]

    # --- analysis: the source tables' incremental exports ------------------------------------------
    def export_increments(self, tables: list[str], bucket: str, kms_key: str | None) -> list[dict[str, str]]:
        """Each table's changes of the 24 hours up to the hour (both images) to ``exports/{table}/``."""
        from datetime import datetime, timedelta, timezone

        until = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        encryption = {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": kms_key} if kms_key else {"S3SseAlgorithm": "AES256"}
        out = []
        for table in tables:
            arn = self.client.describe_table(TableName=self.settings.table(table))["Table"]["TableArn"]
            answer = self.client.export_table_to_point_in_time(
                TableArn=arn, ClientToken=f"{table}-{until:%Y%m%d%H}", S3Bucket=bucket, S3Prefix=f"exports/{table}",
                ExportFormat="DYNAMODB_JSON", ExportType="INCREMENTAL_EXPORT",
                IncrementalExportSpecification={"ExportFromTime": until - timedelta(days=1), "ExportToTime": until,
                                                "ExportViewType": "NEW_AND_OLD_IMAGES"}, **encryption)
            out.append({"table": table, "export_arn": answer["ExportDescription"]["ExportArn"]})
        return out

    # --- exports ---------------------------------------------------------------------------------------
    def put_export(self, key: str, body: bytes, content_type: str, storage: Callable[[], Any]) -> dict[str, Any]:
        """The file in the private bucket (the city's key) and a short-lived link to it. The file rule:
        aggregates only, no personal data in it; who may ask is the route's roles (handlers/stats.py READERS)."""
        s = self.settings
        extra: dict[str, str] = {}
        if s.document_kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": s.document_kms_key}
        store = storage()
        store.s3.put_object(Bucket=s.document_bucket, Key=key, Body=body, ContentType=content_type, **extra)
        return store.presigned_get(key, content_type)


def _groups(events: list[tuple[str, dict[tuple[str, str], int]]]) -> list[list[tuple[str, dict[tuple[str, str], int]]]]:
    """Events in transactions of at most 100 actions: a marker each, one update per counter item."""
    groups: list[list[tuple[str, dict[tuple[str, str], int]]]] = []
    current: list[tuple[str, dict[tuple[str, str], int]]] = []
    months: set[str] = set()
    for event in events:
        touched = {month for month, _ in event[1]}
        if current and len(current) + 1 + len(months | touched) > MAX_ACTIONS:
            groups.append(current)
            current, months = [], set()
        current.append(event)
        months |= touched
    if current:
        groups.append(current)
    return groups

