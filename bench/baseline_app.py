"""The cold-start baseline: the smallest honest Chalice app that serves the same route.

One route, one DynamoDB GetItem on the same units table, with the boto3 client created at import as
a typical Chalice app does. Nothing else: no logging setup, no validation, no error table.
"""
import os

import boto3
from chalice import Chalice, NotFoundError

app = Chalice(app_name="baseline")
_dynamodb = boto3.client("dynamodb")
_TABLE = os.environ.get("TABLE_UNITS") or os.environ.get("TABLE_PREFIX", "jiangmen-") + "units"


@app.route("/v1/units/{unit_id}")
def get_unit(unit_id):
    item = _dynamodb.get_item(TableName=_TABLE, Key={"unit_id": {"S": unit_id}}).get("Item")
    if item is None:
        raise NotFoundError(unit_id)
    return {name: next(iter(value.values())) for name, value in item.items()}
