"""moto's DynamoDB made faithful where our guarantees depend on it, and cheap where it was not
(atomic item operations, transactions that copy only the items they touch, an item's size measured
once, an expression parsed once (for the write and for the request's own check), an item projected
from one conversion, items read and answered as the DynamoDB JSON they are); moto's SQS sends made
independent of the queue's length (``_sqs_sends_do_not_count``); and what every request recomputed
(the service routing, a handler's method list) computed once.

1. Atomic conditions: DynamoDB evaluates a condition and writes in one step; moto, serving each
   request on its own thread, does not (CI saw two clerks' conditional approvals both win). Every
   item operation of moto's DynamoDB backend runs under one lock here, so "one unit to one
   household" and "one of two clerks wins" hold under threads as they do on DynamoDB; and so do the
   item requests whose answer moto builds from the live item afterwards (CI saw two ADDs of a
   round's registration counter both answer the same number).
2. Transactions cost what they touch, not the size of their tables:

moto 5.2 backs up every table a transaction names with ``copy.deepcopy`` (once per item of the
transaction), to roll back on failure: each application submit or decision copied the whole events
and applications tables, so a burst of submits slowed down quadratically. Here the backup is an undo
record of the items the transaction names (and the stream's length); rolling back restores exactly
what moto's own backup would. Only the local stack uses this.
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
        if value.name not in _local.saved:  # the tables do not change before every backup is taken
            _local.saved[value.name] = _undo(value, touched[value.name])
        return value  # moto's "restore" puts the live table back; _rolled_back undoes its writes


_MISSING = object()


def _undo(table: Any, touched: dict[Any, set[Any] | None]) -> tuple[Any, list[tuple[Any, Any, Any]], Any]:
    """What a rollback needs: each item the transaction names as it was (deep-copied; ``_MISSING``
    when there was none) and the stream's length. Nothing else is copied: the transaction cannot
    change another item, so the cost is what it touches, not the size of its table (copying the
    table's item dict made an import's every transaction cost the units already imported)."""
    saved = []
    for key, ranges in touched.items():
        current = table.items.get(key, _MISSING)
        if ranges is None:  # no range key: the partition is the item
            saved.append((key, None, _MISSING if current is _MISSING else copy.deepcopy(current)))
            continue
        partition = {} if current is _MISSING else current
        for r in ranges:
            item = partition.get(r, _MISSING)
            saved.append((key, r, _MISSING if item is _MISSING else copy.deepcopy(item)))
    shard = getattr(table, "stream_shard", None)
    return table, saved, (shard.items, len(shard.items)) if shard is not None else None


def _rolled_back(undo: dict[str, tuple[Any, list[tuple[Any, Any, Any]], Any]]) -> None:
    """A failed transaction's writes undone: each named item back as it was, and the stream records
    it left removed (the statistics never count a write that did not happen)."""
    for table, saved, stream in undo.values():
        for key, r, old in saved:
            if r is None:
                if old is _MISSING:
                    table.items.pop(key, None)
                else:
                    table.items[key] = old
                continue
            partition = table.items.get(key)
            if old is not _MISSING:
                if partition is None:
                    partition = table.items[key] = {}
                partition[r] = old
            elif partition is not None:
                partition.pop(r, None)
                if not partition:
                    del table.items[key]
        if stream is not None:
            records, length = stream
            del records[length:]


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched: dict[str, dict[Any, set[Any] | None]] = defaultdict(dict)
        for item in transact_items:
            _, op = next(iter(item.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op.get("Item") or op.get("Key") or {}
            if table.hash_key_attr not in attrs or (table.range_key_attr and table.range_key_attr not in attrs):
                return original(self, transact_items)  # malformed: let moto's own backup (and error) handle it
            key = DynamoType(attrs[table.hash_key_attr])
            if table.range_key_attr:
                ranges = touched[table.name].setdefault(key, set())
                assert ranges is not None
                ranges.add(DynamoType(attrs[table.range_key_attr]))
            else:
                touched[table.name][key] = None
        _local.touched, _local.saved = touched, {}
        try:
            return original(self, transact_items)
        except BaseException:
            _rolled_back(_local.saved)
            raise
        finally:
            _local.touched = _local.saved = None

    models.copy = _CopyShim()  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items
    _item_size_once()
    _conditions_parsed_once()
    _checked_conditions_parsed_once()
    _projected_from_one_conversion()
    _attribute_values_as_they_are()
    for name in ATOMIC:
        setattr(models.DynamoDBBackend, name, _atomic(getattr(models.DynamoDBBackend, name)))
    from moto.dynamodb.responses import DynamoHandler

    for name in ANSWERED_ATOMIC:
        setattr(DynamoHandler, name, _atomic(getattr(DynamoHandler, name)))
    from moto.dynamodbstreams import models as streams

    for name in STREAM_READS:
        setattr(streams.DynamoDBStreamsBackend, name, _atomic(getattr(streams.DynamoDBStreamsBackend, name)))
    _sqs_sends_do_not_count()
    _per_request_constants_once()
    _stream_record_sized_when_read()
    _key_sizes_measured_directly()
    _queries_read_their_partition()
    _installed = True


def _queries_read_their_partition() -> None:
    """11. A query of a table's own key reads the partition it names: moto listed and sorted every item
    of the table for each one (``all_items``), then kept those with the hash key, so reading one
    import's progress cost every other import's items. The same items (the partition's, in the same
    order), the rest of moto's query (range condition, filter, paging, size limit) unchanged. Queries
    of an index and scans take moto's own path."""
    from moto.dynamodb.models import table as table_module

    table_class = table_module.Table
    query, all_items = table_class.query, table_class.all_items

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if hash_key is None or len(args) >= 7 and args[6] or kwargs.get("index_name"):
            return query(self, hash_key, *args, **kwargs)
        _local.partition = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = None

    def partition_items(self: Any) -> Any:
        key = getattr(_local, "partition", None)
        if key is None:
            return all_items(self)
        found = self.items.get(key)
        if found is None:
            return []
        if not self.range_key_attr:
            return [found]
        return sorted(found.values(), key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    table_class.query = partition_query  # type: ignore[method-assign]
    table_class.all_items = partition_items  # type: ignore[method-assign]


def _stream_record_sized_when_read() -> None:
    """9. A stream record's ``SizeBytes`` (moto: the length of the record's JSON, images included) is
    measured when the record is first read, not as the item is written: every write to a streamed
    table (units, leases, bills...) encoded its item to JSON once more for a number only a stream
    reader sees. The same number, from the same record; the images, keys and time are taken at the
    write as before."""
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.utilities import dynamo_json_dump

    record_class = table_module.StreamRecord
    build = record_class.__init__
    table_module.dynamo_json_dump = _no_size  # the module's one use of it: the record's size

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        self._sized = False

    def to_json(self: Any) -> dict[str, Any]:
        if not getattr(self, "_sized", True):
            self.record["dynamodb"]["SizeBytes"] = 1  # measured as moto does: with its placeholder in
            self.record["dynamodb"]["SizeBytes"] = len(dynamo_json_dump(self.record["dynamodb"]))
            self._sized = True
        return self.record

    record_class.__init__ = __init__  # type: ignore[method-assign]
    record_class.to_json = to_json  # type: ignore[method-assign]


def _no_size(_: Any) -> str:
    return ""


def _key_sizes_measured_directly() -> None:
    """10. A put's key sizes (the table's and each index's keys: 2,048 and 1,024 bytes at most) are
    measured on the request's values as they are: moto built a typed value per key per put and
    recomputed the index key names from the schema each time. The same limits, the same errors."""
    from moto.dynamodb.exceptions import HashKeyTooLong, RangeKeyTooLong
    from moto.dynamodb.limits import HASH_KEY_MAX_LENGTH, RANGE_KEY_MAX_LENGTH
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    def size(value: dict[str, Any]) -> int:
        text = value.get("S") if len(value) == 1 else None
        return bytesize(text) if isinstance(text, str) else DynamoType(value).size()

    def _validate_key_sizes(self: Any, item_attrs: dict[str, Any]) -> None:
        for names, limit, error in ((self.hash_key_names, HASH_KEY_MAX_LENGTH, HashKeyTooLong),
                                    (self.range_key_names, RANGE_KEY_MAX_LENGTH, RangeKeyTooLong)):
            for name in names:
                value = item_attrs.get(name)
                if value and size(value) > limit:
                    raise error

    table_module.Table._validate_key_sizes = _validate_key_sizes  # type: ignore[method-assign]


def _per_request_constants_once() -> None:
    """8. What every request recomputed, computed once: the server lists moto's package directory
    (a ``stat`` per service) to route each request, and each handler lists its class's methods with
    ``inspect.getmembers``; both are constants of the installed moto. A round trip cost ~1 ms more."""
    import functools

    from moto import backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)


def _sqs_sends_do_not_count() -> None:
    """moto's SQS reads a queue's ``attributes`` (which counts every message of the queue three
    times) to validate and to send each message, for the one setting it needs
    (ContentBasedDeduplication): a send cost the queue's length, so a campaign queueing 10,000
    notices took minutes (docs/decisions/0032). While a message is validated and sent, the
    approximate counts (which a send never uses) answer 0; everywhere else they are moto's own."""
    from moto.sqs import models as sqs

    for name in ("approximate_number_of_messages_delayed", "approximate_number_of_messages_not_visible",
                 "approximate_number_of_messages"):
        def counted(self: Any, _count: Any = getattr(sqs.Queue, name).fget) -> int:
            return 0 if getattr(_local, "sqs_sending", False) else int(_count(self))

        setattr(sqs.Queue, name, property(counted))
    for name in ("send_message", "_validate_message"):
        def sending(self: Any, *args: Any, _send: Any = getattr(sqs.SQSBackend, name), **kw: Any) -> Any:
            before = getattr(_local, "sqs_sending", False)
            _local.sqs_sending = True
            try:
                return _send(self, *args, **kw)
            finally:
                _local.sqs_sending = before

        setattr(sqs.SQSBackend, name, sending)


def _item_size_once() -> None:
    """3. An item's size is checked once as it is built, not once per attribute: moto's ``Item()``
    sets each attribute through ``LimitedSizeDict.__setitem__``, which re-measures every attribute
    already set (quadratic in the attributes; most of a put's time for a 25-attribute bill). The
    same running total, the same limit, the same error, in one pass; a string's or a number's typed
    value built directly, and an item's JSON (a stream record's image) copied in one step."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    typed_class, new = dynamo_type.DynamoType, object.__new__

    def typed(value: Any) -> tuple[Any, int]:
        """The typed value and its size, as ``DynamoType(value)`` and its ``size()`` give them; a
        string or a number built directly (no list or map inside to type)."""
        if type(value) is dict and len(value) == 1:
            (kind, raw), = value.items()
            if (kind == "S" or kind == "N") and type(raw) is str:
                built = new(typed_class)
                built.type, built.value = kind, raw
                return built, (len(raw) if kind == "N" else len(raw.encode("utf-8")))
        built = typed_class(value)
        return built, built.size()

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = dynamo_type.LimitedSizeDict.__new__(dynamo_type.LimitedSizeDict)
        total = 0
        for key, value in attrs.items():
            value, size = typed(value)
            total += bytesize(key) + size
            if total > 405000:  # moto's limit (DynamoDB's 400 KB, as measured)
                raise ItemSizeTooLarge
            dict.__setitem__(built, key, value)
        self.attrs = built

    composite = dynamo_type.Item.to_json

    def to_json(self: Any, root_attr_name: str = "Attributes") -> dict[str, Any]:
        """moto's, with a string's or a number's attribute copied in one step (a stream record
        takes the item's JSON at every write); a list or a map as moto builds it."""
        if any(isinstance(a.value, (dict, list)) for a in self.attrs.values()):
            return composite(self, root_attr_name)
        return {root_attr_name: {k: {a.type: a.value} for k, a in self.attrs.items()}}

    dynamo_type.Item.__init__ = __init__  # type: ignore[method-assign]
    dynamo_type.Item.to_json = to_json  # type: ignore[method-assign]


def _per_expression(parse: Any) -> Any:
    """``parse(expr, names, values)`` remembered per distinct (expression, names, values): a pure
    function of them. Values moto has already typed, or big ones, are parsed each time; an error is
    raised each time (never remembered); at most 4,096 kept."""
    import json

    known: dict[tuple[Any, str, str], Any] = {}

    def remembered(expr: Any, names: Any, values: Any) -> Any:
        try:
            key = (expr, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True))
        except TypeError:
            return parse(expr, names, values)
        if len(key[2]) > 4096:
            return parse(expr, names, values)
        found = known.get(key)
        if found is None:
            found = parse(expr, names, values)
            if len(known) >= 4096:
                known.clear()
            known[key] = found
        return found

    return remembered


def _conditions_parsed_once() -> None:
    """4. A condition or filter expression is parsed once, not once per item: moto parses the same
    ``attribute_not_exists(#0)`` for every put of a transaction, twice (the transaction's check,
    then the put's). The parsed expression is a pure tree evaluated against each item, so equal
    (expression, names, values) share it; a parse error is raised as before (never cached)."""
    from moto.dynamodb import comparisons, models
    from moto.dynamodb.models import table as table_module

    get_filter_expression = _per_expression(comparisons.get_filter_expression)
    models.get_filter_expression = get_filter_expression  # type: ignore[attr-defined]
    table_module.get_filter_expression = get_filter_expression  # type: ignore[attr-defined]


def _checked_conditions_parsed_once() -> None:
    """4b. The request's own check of a condition (which attribute names it uses) is parsed once per
    distinct (expression, names, values), not once per item: a transaction of 96 puts named the same
    ``attribute_not_exists(#0)`` 96 times. The names and values found are handed out as fresh lists
    (the handler extends them); a parse error is raised as before (never cached)."""
    from moto.dynamodb import comparisons, responses

    class _Parsed:
        def __init__(self, op: Any, names: list[str], values: list[str]) -> None:
            self._op, self.expr_attr_names_found, self.expr_attr_values_found = op, list(names), list(values)

        def parse(self) -> Any:
            return self._op

    def check(expr: Any, names: Any, values: Any) -> tuple[Any, list[str], list[str]]:
        parser = comparisons.create_condition_expression_parser(expr, names, values)
        op = parser.parse()
        return op, list(parser.expr_attr_names_found), list(getattr(parser, "expr_attr_values_found", []))

    checked = _per_expression(check)

    def create_condition_expression_parser(expr: Any, names: Any, values: Any) -> Any:
        return _Parsed(*checked(expr, names, values))

    responses.create_condition_expression_parser = create_condition_expression_parser  # type: ignore[attr-defined]


def _projected_from_one_conversion() -> None:
    """5. An item projected to an index's attributes (INCLUDE) is converted to plain JSON once, not
    once per projected attribute (moto's ``Item.project`` converts the whole item for each one: a
    query of 1,000 leases on a 12-attribute index took seconds). The same keys picked, each copied."""
    import copy as copying

    from botocore.utils import merge_dicts
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import find_nested_key

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        regular = self.to_regular_json()
        result: dict[str, Any] = {}
        for expr in projection_expressions:  # a nested path's part is copied: merging must not change ``regular``
            found = find_nested_key(expr, regular)
            merge_dicts(result, copying.deepcopy(found) if len(expr) > 1 else found)
        return dynamo_type.Item(hash_key=self.hash_key, range_key=self.range_key,
                                attrs=dynamo_type.serializer.serialize(result)["M"])

    dynamo_type.Item.project = project  # type: ignore[method-assign]


def _plain(value: Any) -> bool:
    """DynamoDB JSON with nothing but strings, booleans and nulls in it (no binary to base64)."""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, (str, bool)) or value is None


def _attribute_values_as_they_are() -> None:
    """6. A DynamoDB item is read from a request and written into an answer as the DynamoDB JSON it
    already is: moto's generic request parser and response serializer walk each attribute value's
    shape member by member (the serializer through alias providers, ten lookups per value), so a
    page of 1,000 items cost seconds. Values holding binary data take moto's own path (base64)."""
    from moto.core import parse, serialize

    original = serialize.BaseJSONSerializer._serialize_type_structure
    parse_structure = parse.BaseJSONParser._parse_structure
    plain = _plain

    def _parse_structure(self: Any, shape: Any, value: Any) -> Any:
        if (shape.name == "AttributeValue" and isinstance(value, dict) and len(value) == 1 and self.MAP_TYPE is dict
                and self.operation_model.service_model.service_name == "dynamodb" and plain(value)):
            return value
        return parse_structure(self, shape, value)

    parse.BaseJSONParser._parse_structure = _parse_structure  # type: ignore[method-assign]
    parse_map = parse.BaseJSONParser._parse_map

    def _parse_map(self: Any, shape: Any, value: Any) -> Any:  # an item: a map of attribute values
        if (shape.value.name == "AttributeValue" and isinstance(value, dict) and self.MAP_TYPE is dict
                and self.operation_model.service_model.service_name == "dynamodb"
                and all(isinstance(k, str) and isinstance(v, dict) and len(v) == 1 and plain(v) for k, v in value.items())):
            return dict(value)
        return parse_map(self, shape, value)

    parse.BaseJSONParser._parse_map = _parse_map  # type: ignore[method-assign]

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (shape.name == "AttributeValue" and isinstance(value, dict) and len(value) == 1 and key
                and self.operation_model.service_model.service_name == "dynamodb" and plain(value)):
            self._default_serialize(serialized, value, shape, key)
            return
        original(self, serialized, value, shape, key)

    serialize.BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]


#: Backend operations that read or write items: one at a time, as DynamoDB's per-item atomicity
#: (and its serialisable transactions) make them look.
ATOMIC = ("put_item", "get_item", "query", "update_item", "delete_item", "transact_write_items",
          "batch_get_item", "transact_get_items")
#: Requests whose answer moto builds from the live item after the backend call (an UpdateItem's
#: ``ALL_NEW``, a PutItem's ``ALL_OLD`` read before it): the whole request under the same lock, or
#: two ADDs of one counter can both answer the second value (DynamoDB's cannot).
ANSWERED_ATOMIC = ("put_item", "update_item", "delete_item", "get_item", "batch_get_item", "query", "scan",
                   "transact_get_items", "batch_write_item")
#: Stream reads, under the same lock: a poller never reads a transaction's records before it is done.
STREAM_READS = ("get_records", "get_shard_iterator", "describe_stream")
_item_lock = threading.RLock()


def _atomic(method: Any) -> Any:
    import functools

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _item_lock:
            return method(*args, **kwargs)

    return locked
