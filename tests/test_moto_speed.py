"""devstack.moto_speed: a failed transaction still rolls back exactly (only the backup is cheaper)."""
from __future__ import annotations

from typing import Any

import pytest


def test_a_cancelled_transaction_changes_nothing(stack: Any) -> None:
    from devstack import aws

    ddb = aws.client("dynamodb", stack.endpoint)
    name = "speed-check"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])
    for pk in ("a", "b"):
        for sk in ("1", "2"):
            ddb.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": name, "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Put": {"TableName": name, "Item": {"pk": {"S": "a"}, "sk": {"S": "3"}}}},
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "b"}, "sk": {"S": "2"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    items = ddb.query(TableName=name, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}},
                      ConsistentRead=True)["Items"] + ddb.query(
        TableName=name, KeyConditionExpression="pk = :b", ExpressionAttributeValues={":b": {"S": "b"}},
        ConsistentRead=True)["Items"]
    assert sorted((i["pk"]["S"], i["sk"]["S"], i["n"]["N"]) for i in items) == [
        ("a", "1", "1"), ("a", "2", "1"), ("b", "1", "1"), ("b", "2", "1")]
    # and a transaction that succeeds writes everything
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": name, "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        {"Put": {"TableName": name, "Item": {"pk": {"S": "c"}, "sk": {"S": "1"}, "n": {"N": "5"}}}}])
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]["n"]["N"] == "2"
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "c"}, "sk": {"S": "1"}})["Item"]["n"]["N"] == "5"
    ddb.delete_table(TableName=name)


def test_a_cancelled_transaction_leaves_no_stream_record_and_a_good_one_leaves_each(stack: Any) -> None:
    """The snapshot shares the stream's records with the table; a rollback cuts them back."""
    from devstack import aws

    ddb, streams = aws.client("dynamodb", stack.endpoint), aws.client("dynamodbstreams", stack.endpoint)
    name = "speed-stream"
    arn = ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                           StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                           )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}})

    def records() -> list[str]:
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=it)["Records"]]

    put = {"TableName": name, "ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "pk"}}
    for _ in range(2):  # the second time the condition's check comes from the cache: the same answer
        with pytest.raises(ddb.exceptions.TransactionCanceledException):
            ddb.transact_write_items(TransactItems=[{"Put": put | {"Item": {"pk": {"S": "y"}}}},
                                                    {"Put": put | {"Item": {"pk": {"S": "x"}}}}])
        assert records() == ["x"]
    for _ in range(2):  # a name the expression does not use is refused each time, not only the first
        with pytest.raises(ddb.exceptions.ClientError, match="unused"):
            ddb.transact_write_items(TransactItems=[{"Put": put | {"Item": {"pk": {"S": "z"}},
                                                                   "ExpressionAttributeNames": {"#k": "pk", "#u": "n"}}}])
    ddb.transact_write_items(TransactItems=[{"Put": put | {"Item": {"pk": {"S": "y"}}}},
                                            {"Put": put | {"Item": {"pk": {"S": "z"}}}}])
    assert records() == ["x", "y", "z"]
    ddb.delete_table(TableName=name)


def test_concurrent_adds_answer_distinct_values_even_when_moto_answers_late(
        stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An UpdateItem's ALL_NEW answer is the value its own ADD made: moto builds the answer from the
    live item after its backend call, so a thread switch right there (forced here) used to hand two
    ADDs the same number."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from moto.dynamodb import models

    from devstack import aws

    ddb = aws.client("dynamodb", stack.endpoint)
    name = "speed-counter"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    backend_update = models.DynamoDBBackend.update_item

    def answered_late(*args: Any, **kwargs: Any) -> Any:
        item = backend_update(*args, **kwargs)
        time.sleep(0.003)
        return item

    monkeypatch.setattr(models.DynamoDBBackend, "update_item", answered_late)

    def add(_: int) -> int:
        answer = aws.client("dynamodb", stack.endpoint).update_item(
            TableName=name, Key={"pk": {"S": "seq"}}, UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
        return int(answer["Attributes"]["n"]["N"])

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(add, range(40)))
    assert sorted(numbers) == list(range(1, 41))
    ddb.delete_table(TableName=name)


def test_item_operations_are_serialised() -> None:
    from moto.dynamodb import models

    from devstack import moto_speed

    moto_speed.install()
    for name in moto_speed.ATOMIC:
        assert getattr(models.DynamoDBBackend, name).__wrapped__ is not None, name


def test_a_stream_records_size_is_moto_s_own_measure_and_key_sizes_keep_their_limits(stack: Any) -> None:
    """SizeBytes, measured when the record is read, is what moto measures at the write; a key (the
    table's or an index's) over its size limit is refused as before."""
    from moto.dynamodb.models.utilities import dynamo_json_dump

    from devstack import aws

    ddb, streams = aws.client("dynamodb", stack.endpoint), aws.client("dynamodbstreams", stack.endpoint)
    name = "speed-size"
    arn = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"},
                              {"AttributeName": "r", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                    {"AttributeName": "r", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "g": {"S": "广州"}, "r": {"S": "1"}, "n": {"N": "12.5"},
                                       "m": {"M": {"a": {"L": [{"S": "是"}, {"N": "1"}]}}}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "g": {"S": "江门"}, "r": {"S": "2"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    found = streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in found] == ["INSERT", "MODIFY"]
    from moto.dynamodb.models import dynamodb_backends

    table = next(b.tables[name] for account in dynamodb_backends.values() for b in account.values() if name in b.tables)
    for record, kept in zip(found, table.stream_shard.items):  # moto's measure: the record's JSON, SizeBytes 1 in it
        assert record["dynamodb"]["SizeBytes"] == len(dynamo_json_dump({**kept.record["dynamodb"], "SizeBytes": 1})) > 100
    for item, error in (({"pk": {"S": "k" * 2049}}, "hashkey"),
                        ({"pk": {"S": "y"}, "g": {"S": "江" * 683}, "r": {"S": "1"}}, "hashkey"),
                        ({"pk": {"S": "y"}, "g": {"S": "a"}, "r": {"S": "k" * 1025}}, "range key")):
        with pytest.raises(ddb.exceptions.ClientError, match=error):
            ddb.put_item(TableName=name, Item=item)
    ddb.put_item(TableName=name, Item={"pk": {"S": "k" * 2048}, "g": {"S": "江" * 682}, "r": {"S": "k" * 1024}})
    ddb.delete_table(TableName=name)


def test_a_query_reads_its_partition_in_order_with_conditions_and_pages(stack: Any) -> None:
    """A query of the table's own key answers what moto's full listing did: the partition's items,
    in range order (or reversed), the range condition and filter applied, paged by Limit."""
    from devstack import aws

    ddb = aws.client("dynamodb", stack.endpoint)
    name = "speed-query"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])
    for pk in ("a", "b", "c"):
        for sk in ("g#2", "c#1", "g#1", "p#x", "g#3"):
            ddb.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(len(sk) + ord(pk))}})

    def keys(values: dict[str, Any] | None = None, **kw: Any) -> list[str]:
        found, start = [], None
        while True:
            page = ddb.query(TableName=name, ExpressionAttributeValues={":p": {"S": "b"}, **(values or {})},
                             **({"ExclusiveStartKey": start} if start else {}), **kw)
            found += [i["pk"]["S"] + i["sk"]["S"] for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    assert keys(KeyConditionExpression="pk = :p") == ["bc#1", "bg#1", "bg#2", "bg#3", "bp#x"]
    assert keys(KeyConditionExpression="pk = :p", ScanIndexForward=False, Limit=2) == [
        "bp#x", "bg#3", "bg#2", "bg#1", "bc#1"]
    assert keys(KeyConditionExpression="pk = :p AND begins_with(sk, :g)", values={":g": {"S": "g#"}}, Limit=2) == [
        "bg#1", "bg#2", "bg#3"]
    assert keys(KeyConditionExpression="pk = :p AND sk >= :i", values={":i": {"S": "i"}}) == ["bp#x"]
    assert ddb.query(TableName=name, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "nobody"}})["Items"] == []
    ddb.delete_table(TableName=name)

