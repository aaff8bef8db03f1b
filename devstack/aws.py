"""Provision a local AWS (moto server) for one city: tables, document bucket, Cognito users."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from chalicelib.repositories.tables import TableSpec, table_specs

REGION = "cn-northwest-1"
# Cognito does not exist in the China partition (moto agrees): the identity provider that stands in
# for the province's OIDC platform lives in a global region, as an external issuer would.
IDP_REGION = "ap-southeast-1"
ROLES = ("applicant", "employer", "staff", "admin", "auditor")
DEMO_PASSWORD = "Demo-pass-2026"
#: One demo user per role; phone numbers are the login names (11-digit, test-reserved style).
DEMO_USERS = {
    "applicant": "13800000001",
    "employer": "13800000002",
    "staff": "13800000003",
    "admin": "13800000004",
    "auditor": "13800000005",
}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass
class LocalIdentity:
    pool_id: str
    client_id: str
    issuer: str
    jwks_url: str
    users: dict[str, str] = field(default_factory=dict)  # role -> username


def client(service: str, endpoint: str) -> Any:
    region = IDP_REGION if service == "cognito-idp" else REGION
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def create_tables(endpoint: str, prefix: str) -> list[str]:
    ddb = client("dynamodb", endpoint)
    names = []
    for spec in table_specs():
        name = f"{prefix}{spec.logical_name}"
        ddb.create_table(**table_request(spec, name))
        if spec.ttl_attribute:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": spec.ttl_attribute})
        names.append(name)
    return names


def table_request(spec: TableSpec, name: str) -> dict[str, Any]:
    """The CreateTable request for a spec (the deployed tables are built from the same spec)."""
    attrs: dict[str, str] = {}

    def key_schema(h: tuple[str, str], r: tuple[str, str] | None) -> list[dict[str, str]]:
        out = [{"AttributeName": h[0], "KeyType": "HASH"}]
        attrs[h[0]] = h[1]
        if r:
            out.append({"AttributeName": r[0], "KeyType": "RANGE"})
            attrs[r[0]] = r[1]
        return out

    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema(spec.hash_key, spec.range_key),
        "BillingMode": "PAY_PER_REQUEST",
    }
    gsis = []
    for index in spec.indexes:
        projection: dict[str, Any] = {"ProjectionType": index["projection"]}
        if index["non_key_attributes"]:
            projection["NonKeyAttributes"] = list(index["non_key_attributes"])
        gsis.append({"IndexName": index["name"], "KeySchema": key_schema(index["hash"], index["range"]),
                     "Projection": projection})
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    request["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in attrs.items()]
    return request


def create_bucket(endpoint: str, name: str) -> None:
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def create_identity(endpoint: str, city: str, users: dict[str, str] | None = None) -> LocalIdentity:
    """A Cognito user pool standing in for the city's identity provider, with one user per role."""
    idp = client("cognito-idp", endpoint)
    pool = idp.create_user_pool(
        PoolName=f"{city}-citizens",
        UsernameAttributes=["phone_number"],
        Schema=[{"Name": "city", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]
    pool_id = pool["Id"]
    for role in ROLES:
        idp.create_group(GroupName=role, UserPoolId=pool_id)
    app_client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName=f"{city}-app", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    identity = LocalIdentity(
        pool_id=pool_id,
        client_id=app_client["ClientId"],
        issuer=f"https://cognito-idp.{IDP_REGION}.amazonaws.com/{pool_id}",
        jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json",
    )
    for role, phone in (users or DEMO_USERS).items():
        add_user(idp, identity, phone, role, city)
    return identity


def add_user(idp: Any, identity: LocalIdentity, phone: str, role: str | None, city: str) -> str:
    username = f"+86{phone}"
    idp.admin_create_user(
        UserPoolId=identity.pool_id, Username=username, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "phone_number", "Value": username}, {"Name": "custom:city", "Value": city}],
    )
    idp.admin_set_user_password(UserPoolId=identity.pool_id, Username=username, Password=DEMO_PASSWORD,
                                Permanent=True)
    if role:
        idp.admin_add_user_to_group(UserPoolId=identity.pool_id, Username=username, GroupName=role)
    identity.users[role or username] = username
    return username


def id_token(endpoint: str, client_id: str, username: str, password: str = DEMO_PASSWORD) -> str:
    idp = client("cognito-idp", endpoint)
    result = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": username, "PASSWORD": password})
    return result["AuthenticationResult"]["IdToken"]


def app_environment(endpoint: str, city: str, city_name: str, prefix: str, bucket: str,
                    identity: LocalIdentity) -> dict[str, str]:
    """The environment the app reads its settings from (what a deployed stage sets)."""
    return {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "CITY_CODE": city,
        "CITY_NAME": city_name,
        "TABLE_PREFIX": prefix,
        "DOCUMENT_BUCKET": bucket,
        "AUTH_ISSUER": identity.issuer,
        "AUTH_JWKS_URL": identity.jwks_url,
        "AUTH_AUDIENCE": identity.client_id,
        "AUTH_TOKEN_USE": "id",
        "AUTH_ROLES_CLAIM": "cognito:groups",
        "AUTH_CITY_CLAIM": "custom:city",
    }
