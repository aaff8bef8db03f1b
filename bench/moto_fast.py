"""Make moto answer GSI queries on a big table in time proportional to the partition, not the table.

moto 5.2's ``Table.query`` on an index loops over every item of the table in Python (sorting them
all first), so one query on 300,000 units takes ~10 s and a 50-page walk would not fit the budget.
While the bench reads a table it does not write, it buckets the table's items by each index's
partition key (pre-sorted in index order) and hands moto's own ``Table.query`` a view whose
``all_items()`` is that one partition. Everything else is moto's code unchanged: key conditions, sort order, Limit,
ExclusiveStartKey, filters, ScannedCount and LastEvaluatedKey. Items of other partitions are skipped
by that same code anyway, so responses are identical; the bench checks this on real pages with the
acceleration off (see deep_paging.verify_equivalence).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from moto.dynamodb.models.table import Table

_ORIGINAL_QUERY = Table.query


@dataclass
class _Partitions:
    size: int  # number of items when bucketed; any write disables the shortcut
    hash_attr: dict[str, str]  # index name -> partition key attribute
    buckets: dict[str, dict[tuple[str, Any], list[Any]]]
    served: int = 0
    fallbacks: int = 0
    by_index: dict[str, int] = field(default_factory=dict)


_TABLES: dict[int, tuple[Table, _Partitions]] = {}
_enabled = True


class _View:
    """The table as moto's query sees it, with one partition's items."""

    def __init__(self, table: Table, items: list[Any]) -> None:
        self.__dict__["_table"] = table
        self.__dict__["_items"] = items

    def all_items(self) -> list[Any]:
        return list(self._items)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_table"], name)


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    entry = _TABLES.get(id(self))
    if _enabled and entry is not None and entry[0] is self:
        parts = entry[1]
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions") or []
        if (len(self.items) == parts.size and index_name in parts.hash_attr and len(conditions) == 1
                and conditions[0][0] == parts.hash_attr[index_name]):
            value = conditions[0][1]
            items = parts.buckets[index_name].get((value.type, value.value), [])
            parts.served += 1
            parts.by_index[index_name] = parts.by_index.get(index_name, 0) + 1
            return _ORIGINAL_QUERY(_View(self, items), *args, **kwargs)  # type: ignore[arg-type]
        parts.fallbacks += 1
    return _ORIGINAL_QUERY(self, *args, **kwargs)


def partition(table: Table) -> _Partitions:
    """Bucket a hash-key-only table's items by every GSI's partition key and route its queries."""
    hash_attr = {}
    for index in table.global_indexes or []:
        hash_attr[index.name] = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
    buckets: dict[str, dict[tuple[str, Any], list[Any]]] = {name: {} for name in hash_attr}
    # moto's all_items() order: by the table's key (hash-only table here)
    for _, item in sorted(table.items.items(), key=lambda kv: kv[0].value):
        for name, attr in hash_attr.items():
            value = item.attrs.get(attr)
            if value is not None:
                buckets[name].setdefault((value.type, value.value), []).append(item)
    # Pre-sorted in the order moto's query then sorts them into (index range key, table key; all
    # strings here), so its sort is a linear pass instead of ~n log n Python-level comparisons.
    for index in table.global_indexes or []:
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        for items in buckets[index.name].values():
            items.sort(key=lambda it: (*(str(it.attrs[r].value) if r in it.attrs else "" for r in ranges),
                                       str(it.hash_key.value)))
    parts = _Partitions(len(table.items), hash_attr, buckets)
    _TABLES[id(table)] = (table, parts)
    Table.query = _query  # type: ignore[method-assign]
    return parts


def forget() -> None:
    _TABLES.clear()
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]


@contextmanager
def disabled() -> Iterator[None]:
    """moto's own O(table) query, to check the shortcut changes nothing."""
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True
