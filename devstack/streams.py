"""DynamoDB Streams locally: what Lambda's stream event source mappings do on AWS, for moto.

``StreamPoller(endpoint).drain()`` reads every streamed table's stream (moto keeps one shard per
table) from where it stopped, hands the records to the app's ``count_stats`` function in batches of
up to 100 (the deployed batch size), as Lambda does (``eventSourceARN`` set), and moves on only past
a batch the function handled: a batch that fails is offered again at the next drain, as Lambda
retries it. ``make run`` drains every half second beside the queues; tests and benchmarks call
``stack.drain_streams()`` when they want the figures up to date (docs/decisions/0037).

A table dropped and created again (``stack.reset()``) has a new stream: its position starts over.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from devstack import aws

#: The app's function each streamed table feeds (one today: the statistics).
FUNCTION = "count_stats"
BATCH_SIZE = 100
_log = logging.getLogger(__name__)


class StreamPoller:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._ddb = aws.client("dynamodb", endpoint)
        self._streams = aws.client("dynamodbstreams", endpoint)
        self._after: dict[str, int] = {}  # stream ARN -> the last sequence number handled
        self._lock = threading.Lock()

    def _stream_arns(self) -> list[str]:
        arns = []
        for page in self._ddb.get_paginator("list_tables").paginate():
            for name in page["TableNames"]:
                table = self._ddb.describe_table(TableName=name)["Table"]
                if table.get("StreamSpecification", {}).get("StreamEnabled") and table.get("LatestStreamArn"):
                    arns.append(table["LatestStreamArn"])
        return arns

    def drain(self) -> dict[str, int]:
        """Every record written since the last drain, through the function; counts what it did."""
        from app import app
        from devstack.stack import FakeLambdaContext

        totals = {"records": 0, "batches": 0, "failed_batches": 0}
        with self._lock:
            for arn in self._stream_arns():
                while True:
                    records = self._read(arn)
                    if not records:
                        break
                    for record in records:
                        record["eventSourceARN"] = arn
                        record["awsRegion"] = aws.REGION
                    try:
                        app.handler_map[FUNCTION]({"Records": records}, FakeLambdaContext(FUNCTION))
                    except Exception:  # the batch is offered again at the next drain (Lambda retries it)
                        _log.exception("local stream consumer %s failed", FUNCTION)
                        totals["failed_batches"] += 1
                        break
                    self._after[arn] = int(records[-1]["dynamodb"]["SequenceNumber"])
                    totals["records"] += len(records)
                    totals["batches"] += 1
        return totals

    def _read(self, arn: str) -> list[dict[str, Any]]:
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        if not shards:
            return []
        shard = shards[0]["ShardId"]
        after = self._after.get(arn)
        if after is None:
            iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        else:
            iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                        SequenceNumber=str(after))["ShardIterator"]
        return list(self._streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)["Records"])
