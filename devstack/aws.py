"""Provision a local AWS (moto server) for one city: tables, data key, document bucket, queues, Cognito users."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import boto3

from chalicelib.repositories.tables import TableSpec, table_specs

REGION = "cn-northwest-1"
# Cognito does not exist in the China partition (moto agrees): the identity provider that stands in
# for the province's OIDC platform lives in a global region, as an external issuer would.
IDP_REGION = "ap-southeast-1"
ROLES = ("applicant", "employer", "staff", "admin", "auditor", "ministry")
DEMO_PASSWORD = "Demo-pass-2026"
#: One demo user per role; phone numbers are the login names (11-digit, test-reserved style).
DEMO_USERS = {
    "applicant": "13800000001",
    "employer": "13800000002",
    "staff": "13800000003",
    "admin": "13800000004",
    "auditor": "13800000005",
    "ministry": "13800000006",
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
    if spec.stream:  # the statistics count this table's changes (docs/decisions/0037)
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream}
    return request


def create_bucket(endpoint: str, name: str, kms_key: str | None = None) -> None:
    """The private document bucket; with ``kms_key``, SSE-KMS by default (as deployed)."""
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    if kms_key:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key},
            "BucketKeyEnabled": True,
        }]})


def create_key(endpoint: str, city: str) -> str:
    """The city's data key (documents); returns its ARN."""
    kms = client("kms", endpoint)
    key = kms.create_key(Description=f"public-housing {city}: tables and documents")["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/public-housing-{city}", TargetKeyId=key["KeyId"])
    return key["Arn"]


#: As deployed: a message a worker failed five times goes to the queue's DLQ.
MAX_RECEIVE_COUNT = 5
#: Locally a failed message is offered again after this many seconds (deployed: 6x the function timeout).
LOCAL_VISIBILITY_TIMEOUT_S = 10


def create_queue(endpoint: str, name: str, kms_key: str | None = None) -> tuple[str, str]:
    """A queue with its DLQ (``<name>-dlq``) and redrive after MAX_RECEIVE_COUNT receives: both URLs."""
    sqs = client("sqs", endpoint)
    encryption = {"KmsMasterKeyId": kms_key} if kms_key else {}
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={
        "MessageRetentionPeriod": str(14 * 24 * 3600), **encryption})["QueueUrl"]
    dlq_arn = queue_arn(endpoint, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(LOCAL_VISIBILITY_TIMEOUT_S),
        "RedrivePolicy": json.dumps(redrive),
        **encryption,
    })["QueueUrl"]
    return url, dlq_url


UPLOADS_PREFIX = "applications/"  # where citizens' documents are uploaded (chalicelib.domain.documents)


def queue_arn(endpoint: str, url: str) -> str:
    sqs = client("sqs", endpoint)
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def notify_queue_on_upload(endpoint: str, bucket: str, queue_url: str) -> None:
    """S3 -> SQS: every citizen upload (``applications/``) is announced on the queue (first comes
    S3's ``s3:TestEvent``), as the deployed bucket does for the ``check_documents`` worker; the
    app's own objects (lottery files, contracts) are not."""
    s3 = client("s3", endpoint)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn(endpoint, queue_url), "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOADS_PREFIX}]}}}],
    })


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
    identity.users.setdefault(role or username, username)  # the first of a role stays its demo user
    return username


def id_token(endpoint: str, client_id: str, username: str, password: str = DEMO_PASSWORD) -> str:
    idp = client("cognito-idp", endpoint)
    result = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": username, "PASSWORD": password})
    return result["AuthenticationResult"]["IdToken"]


def app_environment(endpoint: str, city: str, city_name: str, prefix: str, bucket: str,
                    identity: LocalIdentity, *, document_kms_key: str | None = None,
                    notify_queue_url: str | None = None, document_queue_url: str | None = None,
                    billing_queue_url: str | None = None, reviews_queue_url: str | None = None,
                    imports_queue_url: str | None = None, local_outbox: str | None = None) -> dict[str, str]:
    """The environment the app reads its settings from (what a deployed stage sets)."""
    optional = {
        "DOCUMENT_KMS_KEY": document_kms_key,
        "NOTIFY_QUEUE_URL": notify_queue_url,
        "DOCUMENT_QUEUE_URL": document_queue_url,  # read by the local stack's drain only
        "BILLING_QUEUE_URL": billing_queue_url,
        "REVIEWS_QUEUE_URL": reviews_queue_url,
        "IMPORTS_QUEUE_URL": imports_queue_url,
        "LOCAL_OUTBOX": local_outbox,
    }
    return {
        **{k: v for k, v in optional.items() if v},
        "NOTIFY_CHANNEL": "local",  # messages are recorded (LOCAL_OUTBOX), not sent
        "CURSOR_SECRET": secrets.token_urlsafe(32),  # signs cursors; made at each start, never stored
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
        # moto's ID tokens carry no phone_number claim; the pool's usernames are the verified mobiles
        "AUTH_MOBILE_CLAIM": "cognito:username",
    }
