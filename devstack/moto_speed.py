"""moto's DynamoDB made faithful where our guarantees depend on it, and cheap where it was not.

1. Atomic conditions: DynamoDB evaluates a condition and writes in one step; moto, serving each
   request on its own thread, does not (CI saw two clerks' conditional approvals both win). Every
   item operation of moto's DynamoDB backend runs under one lock here, so "one unit to one
   household" and "one of two clerks wins" hold under threads as they do on DynamoDB.
2. Transactions cost what they touch, not the size of their tables:

moto 5.2 backs up every table a transaction names with ``copy.deepcopy`` (once per item of the
transaction), to roll back on failure: each application submit or decision copied the whole events
and applications tables, so a burst of submits slowed down quadratically. Here the backup is a new
table object that shares every item the transaction cannot change and deep-copies the partitions it
names; rolling back restores exactly what moto's own backup would. Only the local stack uses this.
"""
from __future__ import annotations

import copy
import threading
from collections import defaultdict
from typing import Any

_local = threading.local()
_installed = False


class _CopyShim:
    """Stands in for the ``copy`` module inside moto.dynamodb.models."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        touched = getattr(_local, "touched", None)
        if not isinstance(value, Table) or touched is None or value.name not in touched:
            return copy.deepcopy(value, memo)
        done = _local.snapshots
        if value.name not in done:  # the tables do not change before every backup is taken
            done[value.name] = _snapshot(value, touched[value.name])
        return done[value.name]


def _snapshot(table: Any, hashes: set[Any]) -> Any:
    clone = copy.copy(table)
    clone.items = defaultdict(dict)
    for key, value in table.items.items():
        if key in hashes:
            clone.items[key] = copy.deepcopy(value)
        else:  # never written by this transaction: shared, the containers copied
            clone.items[key] = dict(value) if table.has_range_key else value
    return clone


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched: dict[str, set[Any]] = defaultdict(set)
        for item in transact_items:
            _, op = next(iter(item.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op.get("Item") or op.get("Key") or {}
            if table.hash_key_attr in attrs:
                touched[table.name].add(DynamoType(attrs[table.hash_key_attr]))
            else:  # malformed: let moto's own backup (and error) handle it
                return original(self, transact_items)
        _local.touched, _local.snapshots = touched, {}
        try:
            return original(self, transact_items)
        finally:
            _local.touched = _local.snapshots = None

    models.copy = _CopyShim()  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items
    for name in ATOMIC:
        setattr(models.DynamoDBBackend, name, _atomic(getattr(models.DynamoDBBackend, name)))
    _installed = True


#: Backend operations that read or write items: one at a time, as DynamoDB's per-item atomicity
#: (and its serialisable transactions) make them look.
ATOMIC = ("put_item", "get_item", "query", "update_item", "delete_item", "transact_write_items",
          "batch_get_item", "transact_get_items")
_item_lock = threading.RLock()


def _atomic(method: Any) -> Any:
    import functools

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _item_lock:
            return method(*args, **kwargs)

    return locked
