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



def test_item_operations_are_serialised() -> None:
    from moto.dynamodb import models

    from devstack import moto_speed

    moto_speed.install()
    for name in moto_speed.ATOMIC:
        assert getattr(models.DynamoDBBackend, name).__wrapped__ is not None, name
