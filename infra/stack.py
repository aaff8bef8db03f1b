"""One city's stack: tables, document bucket, identity, queues, and the Chalice app on python3.13.

Three of the app's functions are queue workers, each with its own role: ``send_notifications`` (fed
by the notifications queue the other functions write to), ``check_documents`` (fed by the
documents queue, which the bucket tells about every new object) and ``issue_bills`` (fed by the
billing queue: a billing run's shard messages, one at a time). Every queue has a DLQ with an alarm
on its depth, is encrypted with the city's key and delivers through an event source mapping that
reports partial batch failures. The monthly billing run is started by an EventBridge Scheduler
schedule (the city's day and hour from its rent.json, China time) invoking ``start_billing_run``.

Nothing here restates the app's data model: tables come from
``chalicelib.repositories.tables.table_specs()``, function names from the SAM template Chalice
produces. ARNs are built from the partition of the stack's region (grants, ``Aws.PARTITION``),
never spelled out, so the same code serves ``aws`` and ``aws-cn``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import (
    aws_apigateway as apigateway,
    aws_cloudwatch as cloudwatch,
    aws_cognito as cognito,
    aws_dynamodb as dynamodb,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_s3 as s3,
    aws_scheduler as scheduler,
    aws_secretsmanager as secretsmanager,
    aws_sqs as sqs,
    aws_stepfunctions as sfn,
)
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.config import TABLES
from chalicelib.metric_names import UNRESOLVED_MISMATCHES
from chalicelib.metric_names import HOLIDAY_CALENDAR_MISSING
from chalicelib.repositories.tables import TableSpec, table_specs
from infra.city_config import CityConfig
from infra.edge import Edge
from infra.operations import Operations
from infra.queues import batch_size
from infra.packaging import LAMBDA_RUNTIME, chalice_workdir, stage_project

SERVICE = "public-housing"
METRICS_NAMESPACE = "PublicHousing"
ROLES = ("applicant", "employer", "staff", "admin", "auditor", "ministry")
#: What the app does with its tables: items and queries. No Scan (a test forbids it on every request
#: path, IAM forbids it in the cloud), no table management. Transactions need the item actions.
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
#: Tables the app may only append to (no update, no delete): the audit trail.
APPEND_ONLY_TABLES = frozenset({"audit", "audit_seals"})
#: The environment variable naming each payment provider's merchant secret (chalicelib/config.py).
PAYMENT_SECRET_ENV = {"wechat": "WECHAT_PAY_SECRET_ARN", "alipay": "ALIPAY_SECRET_ARN"}
#: Using the customer-managed key through DynamoDB, S3 (SSE-KMS with a bucket key) and SQS: what those
#: services ask for on the caller's behalf (no re-encryption, no data key without plaintext).
KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")

#: The app's queue workers (Chalice ``@lambda_function`` names) -> the queue that feeds each.
WORKERS = {"send_notifications": "notifications", "check_documents": "documents", "issue_bills": "billing",
           "open_reviews": "reviews"}
#: Scheduled jobs that may run longer than an API call (seconds): the daily rent jobs read a day's
#: bills or a provider's statement (100,000 lines in about a minute, docs/decisions/0029).
LONG_JOBS = {"reconcile_statements": 900, "refresh_arrears": 600, "rent_reminders": 600}
LONG_JOBS.update({"purge_expired_applications": 900, "seal_audit_trail": 600})  # docs/decisions/0040
#: A message a worker failed this many times goes to the queue's DLQ.
MAX_RECEIVE_COUNT = 5
#: The sharded jobs' workers (domain/fanout.py) -> their queue: each sends its shard on to it.
FAN_OUT = {"issue_bills": "billing", "open_reviews": "reviews"}
#: Imports (docs/decisions/0036): the worker of the imports queue (one message a time: infra/queues.py),
#: with the time a split needs (a million rows in a few minutes).
WORKERS["run_imports"] = "imports"
IMPORT_TIMEOUT_S = 900
#: Days an export's objects (its file, parts, progress) are kept under ``exports/`` (docs/decisions/0036 "Export").
EXPORT_DAYS = 7
#: The function the monthly billing schedule invokes.
BILLING_SCHEDULE_TARGET = "start_billing_run"

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _gateway_answers() -> dict[str, tuple[str | None, str, str]]:
    """API Gateway response type -> (status, code, zh-CN message), the codes and messages taken
    from the app's one error table where the app has them."""
    from chalicelib import errors
    from chalicelib.web import ERRORS, INTERNAL

    def of(cls: type[errors.DomainError]) -> tuple[str | None, str, str]:
        status, code, message = ERRORS[cls]
        return str(status), code, message

    return {
        "MISSING_AUTHENTICATION_TOKEN": of(errors.RouteNotFound),
        "INCOMPLETE_SIGNATURE": of(errors.RouteNotFound),
        "RESOURCE_NOT_FOUND": of(errors.RouteNotFound),
        "REQUEST_TOO_LARGE": of(errors.BodyTooLarge),
        "UNSUPPORTED_MEDIA_TYPE": of(errors.UnsupportedMediaType),
        "THROTTLED": ("429", "TOO_MANY_REQUESTS", "请求过于频繁，请稍后重试"),
        "QUOTA_EXCEEDED": ("429", "TOO_MANY_REQUESTS", "请求过于频繁，请稍后重试"),
        "INTEGRATION_TIMEOUT": ("504", "SERVICE_UNAVAILABLE", ERRORS[errors.ServiceUnavailable][2]),
        # the gateway's own status stays (None): only the body becomes the envelope
        "DEFAULT_4XX": (None, "BAD_REQUEST", "请求无法处理，请检查后重试"),
        "DEFAULT_5XX": (None, INTERNAL[1], INTERNAL[2]),
    }


def stack_name(city: CityConfig) -> str:
    return f"{SERVICE}-{city.code}"


def function_name(stack: str, logical_id: str) -> str:
    """``<stack>-<logical id>``, shortened with a hash to Lambda's 64 characters."""
    name = f"{stack}-{logical_id}"
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:55]}-{digest}"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _attribute(key: tuple[str, str]) -> dynamodb.Attribute:
    name, kind = key
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[kind])


class PackagedChalice(Chalice):
    """Chalice's CDK construct, with ``chalice package`` run in a child process.

    In-process, Chalice imports app.py with the staging copy first on ``sys.path`` and copies the
    stage's environment variables into ``os.environ``; a child process keeps the caller (a test
    session, say) untouched. The SAM template is kept so the stack can find every function.
    """

    sam: dict[str, Any]

    def _package_app(self) -> None:
        args = {
            "project_dir": self.source_dir,
            "output_dir": self._sam_package_dir,
            "stage": self.stage_name,
            "chalice_config": self.stage_config or {},
        }
        code = "import json, sys\nfrom chalice import api\napi.package_app(**json.loads(sys.argv[1]))\n"
        env = dict(os.environ)
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = cdk.Stack.of(self).region  # Chalice asks botocore
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep __pycache__ out of the staging copy
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(args)],
            cwd=self.source_dir,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"chalice package failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        if "Could not install dependencies" in done.stdout + done.stderr:
            raise RuntimeError(f"chalice package could not install dependencies:\n{done.stdout}{done.stderr}")
        self.sam = json.loads((Path(self._sam_package_dir) / "sam.json").read_text())

    def logical_ids(self, resource_type: str) -> list[str]:
        return sorted(lid for lid, r in self.sam["Resources"].items() if r["Type"] == resource_type)


class CityStack(cdk.Stack):
    def __init__(self, scope: Construct, city: CityConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            stack_name(city),
            env=cdk.Environment(region=city.region),
            description=f"Public rental housing backend for {city.name} ({city.code})",
            **kwargs,
        )
        self.city = city
        cdk.Tags.of(self).add("app", SERVICE)
        cdk.Tags.of(self).add("city", city.code)

        self.key = kms.Key(
            self,
            "DataKey",
            description=f"{SERVICE} {city.code}: tables and documents",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.specs = {spec.logical_name: spec for spec in table_specs()}
        self.tables = {name: self._table(spec) for name, spec in self.specs.items()}
        missing = set(TABLES) - set(self.tables)
        if missing:
            raise RuntimeError(f"chalicelib.config.TABLES names tables with no model: {sorted(missing)}")
        self.bucket = self._document_bucket()
        self.dlqs: dict[str, sqs.Queue] = {}
        self.queues = {name: self._queue(name) for name in WORKERS.values()}
        self._announce_uploads()
        self.sms_secret_arn, self.sms_secret_resource = self._sms_secret()
        identity_env = self._identity()
        self.cursor_secret = self._cursor_secret()

        self.role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{SERVICE} {city.code}: the Chalice functions (IAM managed in CDK)",
        )
        self.worker_roles = {
            name: iam.Role(
                self,
                f"{_camel(name)}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"{SERVICE} {city.code}: the {name} queue worker",
            )
            for name in WORKERS
        }
        self.steps_role = iam.Role(
            self,
            "VerificationStepsRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{SERVICE} {city.code}: the joint verification workflow's steps",
        )
        self.chalice = self._chalice_app(identity_env)
        from infra import stats

        self.own_roles: dict[str, iam.Role] = {}  # functions with a role of their own beyond the workers'
        stats.add(self)  # the statistics: streams, recount, export and analysis (docs/decisions/0037)
        self._gateway_responses()
        self._permissions()
        # The API signs and checks pagination cursors: reading that one secret, in a policy of its
        # own (the role's main policy is near IAM's inline size limit).
        iam.Policy(self, "CursorKeyRead", roles=[self.role], statements=[iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"], resources=[self.cursor_secret.secret_arn])])
        self._event_sources()
        self._verification()
        self._billing_schedule()
        self._dlq_alarms()
        self._rent_jobs()
        self._imports()
        self._holiday_calendar_alarm()
        self._personal_data()
        from infra.compliance import design_choices

        design_choices(self)  # the scanners' findings that are design choices, each with its reason
        # Issue 15 (docs/decisions/0038): WAF, access logs, per-route throttling; the dashboard, the
        # alarms and the ops topic. Keep Operations last: it wires every alarm above to the ops topic.
        Edge(self)
        self.operations = Operations(self)

    # --- data -------------------------------------------------------------------------------
    def table_name(self, logical_name: str) -> str:
        """``<stack>-data-<name>``: the functions' roles grant the ``<stack>-data-*`` tables (one
        statement however many tables there are: a list of ARNs outgrew IAM's inline policy size);
        the append-only tables (the audit trail) are ``<stack>-<name>``, outside that pattern."""
        if logical_name in APPEND_ONLY_TABLES:
            return f"{stack_name(self.city)}-{logical_name}"
        return f"{stack_name(self.city)}-data-{logical_name}"

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"Table{_camel(spec.logical_name)}",
            table_name=self.table_name(spec.logical_name),
            partition_key=_attribute(spec.hash_key),
            sort_key=_attribute(spec.range_key) if spec.range_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            stream=dynamodb.StreamViewType(spec.stream) if spec.stream else None,  # the statistics (0037)
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            projection = index.get("projection", "ALL")
            non_key = list(index.get("non_key_attributes") or ()) if projection == "INCLUDE" else None
            table.add_global_secondary_index(
                index_name=index["name"],
                partition_key=_attribute(index["hash"]),
                sort_key=_attribute(index["range"]) if index.get("range") else None,
                projection_type=_PROJECTIONS[projection],
                non_key_attributes=non_key,
            )
        return table

    def _document_bucket(self) -> s3.Bucket:
        retention = self.city.limits["document_retention_days"]
        bucket = s3.Bucket(
            self,
            "Documents",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
                # Deleting a document leaves a noncurrent version: it goes after the retention period.
                s3.LifecycleRule(
                    id="expire-deleted-documents",
                    noncurrent_version_expiration=cdk.Duration.days(retention),
                    expired_object_delete_marker=True,
                ),
                # An export's file, parts and progress (a tenants export: ID numbers and names in clear) are a
                # report's copy, not a record: gone after a week, any old version a day later (0036 "Export").
                s3.LifecycleRule(
                    id="expire-exports",
                    prefix="exports/",
                    expiration=cdk.Duration.days(EXPORT_DAYS),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                ),
            ],
        )
        self._access_logs(bucket)
        return bucket

    def _access_logs(self, documents: s3.Bucket) -> None:
        """Who read, wrote or deleted a document (S3 server access logs, 等保 2.0 audit), kept as long
        as the city's logs. S3 delivers them (the logging service, granted by bucket policy for this
        bucket and account only) into a bucket of their own, encrypted with S3's key: a delivery
        target with SSE-KMS by default is not supported."""
        days = self.city.limits["log_retention_days"]
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,  # a deleted or overwritten log stays, as a noncurrent version, its time
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(days),
                                              noncurrent_version_expiration=cdk.Duration.days(days))],
        )
        prefix = "documents/"
        self.access_logs.add_to_resource_policy(iam.PolicyStatement(
            sid="S3ServerAccessLogs", principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"], resources=[self.access_logs.arn_for_objects(f"{prefix}*")],
            conditions={"ArnLike": {"aws:SourceArn": documents.bucket_arn},
                        "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}))
        cfn = documents.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=self.access_logs.bucket_name, log_file_prefix=prefix)

    # --- queues -----------------------------------------------------------------------------
    def _queue(self, name: str) -> sqs.Queue:
        """A worker's queue with its DLQ, both encrypted with the city's key, TLS only."""
        dlq = self.dlqs[name] = sqs.Queue(
            self,
            f"{_camel(name)}Dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=cdk.Duration.hours(1),
            retention_period=cdk.Duration.days(14),
            enforce_ssl=True,
        )
        return sqs.Queue(
            self,
            f"{_camel(name)}Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=cdk.Duration.hours(1),
            # At least the worker's timeout (else the mapping is refused); six times, as AWS advises.
            visibility_timeout=cdk.Duration.seconds(6 * self.city.limits["lambda_timeout_s"]),
            retention_period=cdk.Duration.days(4),
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=dlq),
        )

    def _announce_uploads(self) -> None:
        """S3 -> SQS: the bucket puts an event on the documents queue for every object created.

        Set on the bucket itself (no custom resource, hence no extra Lambda function): S3 checks
        the destination when the configuration is written, so the bucket waits for the queue's
        policy. That policy cannot name the bucket's ARN (a cycle); it admits S3 from this account
        only, and the worker ignores events of any other bucket.
        """
        queue = self.queues["documents"]
        from_this_account = {"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
        s3_service = iam.ServicePrincipal("s3.amazonaws.com")
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="UploadEvents",
                principals=[s3_service],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions=from_this_account,
            )
        )
        # The queue is encrypted with the city's key: S3 needs to use it to send.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="UploadEventsToEncryptedQueue",
                principals=[s3_service],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_this_account,
            )
        )
        bucket = self.bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        bucket.add_property_override(
            "NotificationConfiguration.QueueConfigurations",
            [{"Event": "s3:ObjectCreated:*", "Queue": queue.queue_arn,  # citizens' uploads, not the app's own files
              "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "applications/"}]}}}],
        )
        queue_policy = queue.node.find_child("Policy").node.default_child
        assert isinstance(queue_policy, cdk.CfnResource)
        bucket.add_resource_dependency(queue_policy)

    def _sms_secret(self) -> tuple[str | None, str | None]:
        """The SMS provider's credentials (http_sms only): (what SMS_SECRET_ARN says, IAM resource)."""
        notifications = self.city.notifications
        if notifications.channel != "http_sms":
            return None, None
        if notifications.sms_secret_name:  # an existing secret, by name
            secret = secretsmanager.Secret.from_secret_name_v2(self, "SmsCredentials", notifications.sms_secret_name)
            return notifications.sms_secret_name, f"{secret.secret_arn}-??????"
        created = secretsmanager.Secret(
            self,
            "SmsCredentials",
            description=f"{SERVICE} {self.city.code}: SMS provider credentials (app_key, app_secret)",
            # Secrets Manager's own key: the city's key would need a kms:ViaService condition that
            # CDK spells with the global domain (wrong in the China partition).
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"app_key": "set-me"}),
                generate_string_key="app_secret",
                exclude_punctuation=True,
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        cdk.CfnOutput(self, "SmsCredentialsSecret", value=created.secret_arn)
        return created.secret_arn, created.secret_arn

    def _cursor_secret(self) -> secretsmanager.Secret:
        """The per-stack key pagination cursors are signed with (HMAC-SHA256; issue 9 §3). Rotating
        it only makes outstanding cursors a 400 (clients start again from the first page)."""
        return secretsmanager.Secret(
            self,
            "CursorSigningKey",
            description=f"{SERVICE} {self.city.code}: signs pagination cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

    def _gateway_responses(self) -> None:
        """What API Gateway answers itself (no route, throttled, its own failures) in the API's
        error envelope, as the local stack does (devstack/gateway.py). An unknown path or method
        reaches no Lambda: API Gateway calls it MISSING_AUTHENTICATION_TOKEN (or, with a bearer
        header, INCOMPLETE_SIGNATURE, whose default message echoes the header): both are 404
        ROUTE_NOT_FOUND here. No template refers to the request, so nothing of it is echoed."""
        api_id = self.chalice.get_resource("RestAPI").ref
        for response_type, (status, code, message) in _gateway_answers().items():
            body = {"error": {"code": code, "message": message, "request_id": "$context.requestId"}}
            headers = {"gatewayresponse.header.Content-Type": "'application/json; charset=utf-8'"}
            if status in ("429", "503", "504"):  # the client may retry, a little later
                headers["gatewayresponse.header.Retry-After"] = "'2'"
            apigateway.CfnGatewayResponse(
                self,
                f"GatewayResponse{_camel(response_type.lower())}",
                rest_api_id=api_id,
                response_type=response_type,
                status_code=status,
                response_parameters=headers,
                response_templates={"application/json": json.dumps(body, ensure_ascii=False)},
            )

    # --- identity ---------------------------------------------------------------------------
    def _identity(self) -> dict[str, str]:
        ident = self.city.identity
        if ident.provider == "oidc":
            return {
                "AUTH_ISSUER": ident.issuer or "",
                "AUTH_JWKS_URL": ident.jwks_url or "",
                "AUTH_AUDIENCE": ident.audience or "",
                "AUTH_TOKEN_USE": ident.token_use or "",
                "AUTH_ROLES_CLAIM": ident.roles_claim,
                "AUTH_CITY_CLAIM": ident.city_claim,
                **({"AUTH_NAME_CLAIM": ident.name_claim, "AUTH_ID_NUMBER_CLAIM": ident.id_number_claim}
                   if ident.name_claim and ident.id_number_claim else {}),
            }
        if self.city.in_china:  # the loader refuses this too; Cognito user pools are not in aws-cn
            raise RuntimeError("Cognito user pools do not exist in the China partition")
        pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{SERVICE}-{self.city.code}",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(phone=True),
            auto_verify=cognito.AutoVerifiedAttrs(phone=True),
            standard_attributes=cognito.StandardAttributes(
                phone_number=cognito.StandardAttribute(required=True, mutable=True),
            ),
            custom_attributes={"city": cognito.StringAttribute(min_len=1, max_len=32, mutable=True)},
            # 等保 2.0: passwords of some complexity; Cognito enforces only the flags the template sets.
            password_policy=cognito.PasswordPolicy(min_length=10, require_lowercase=True, require_uppercase=True,
                                                   require_digits=True, require_symbols=True),
            account_recovery=cognito.AccountRecovery.PHONE_ONLY_WITHOUT_MFA,
            user_verification=cognito.UserVerificationConfig(
                sms_message=f"【{self.city.name}公租房】验证码 {{####}}",
            ),
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for role in ROLES:
            cognito.UserPoolGroup(self, f"Group{_camel(role)}", user_pool=pool, group_name=role)
        # Users may not write custom:city (a staff member's city is set by an admin).
        client = pool.add_client(
            "AppClient",
            generate_secret=False,  # a mobile app: no secret to keep
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,  # SRP from the app; no hosted UI, no redirect URLs
            prevent_user_existence_errors=True,
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(phone_number=True, phone_number_verified=True, fullname=True)
            .with_custom_attributes("city"),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(phone_number=True, fullname=True),
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
        )
        issuer = f"https://cognito-idp.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/{pool.user_pool_id}"
        cdk.CfnOutput(self, "UserPoolId", value=pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=client.user_pool_client_id)
        self.user_pool, self.user_pool_client = pool, client
        return {
            "AUTH_ISSUER": issuer,
            "AUTH_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "AUTH_AUDIENCE": client.user_pool_client_id,
            "AUTH_TOKEN_USE": "id",
            "AUTH_ROLES_CLAIM": ident.roles_claim,
            "AUTH_CITY_CLAIM": ident.city_claim,
        }

    # --- the app ----------------------------------------------------------------------------
    def environment(self, identity_env: dict[str, str]) -> dict[str, str]:
        city, obs = self.city, self.city.observability
        env = {
            "CITY_CODE": city.code,
            "CITY_NAME": city.name,
            **{f"TABLE_{name.upper()}": table.table_name for name, table in self.tables.items()},
            **identity_env,
            "DOCUMENT_BUCKET": self.bucket.bucket_name,
            "DOCUMENT_KMS_KEY": self.key.key_arn,
            "DOCUMENT_RETENTION_DAYS": str(city.limits["document_retention_days"]),
            "NOTIFY_QUEUE_URL": self.queues["notifications"].queue_url,
            "BILLING_QUEUE_URL": self.queues["billing"].queue_url,
            "REVIEWS_QUEUE_URL": self.queues["reviews"].queue_url,
            "IMPORTS_QUEUE_URL": self.queues["imports"].queue_url,
            "NOTIFY_CHANNEL": city.notifications.channel,
            "VERIFICATION_STATE_MACHINE_ARN": self.verification_arn,
            "CURSOR_SECRET_ARN": self.cursor_secret.secret_arn,
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": obs["log_level"],
            "POWERTOOLS_TRACE_DISABLED": "false" if obs["xray_sdk"] else "true",
        }
        if city.notifications.channel == "http_sms":
            env["SMS_ENDPOINT"] = city.notifications.sms_endpoint or ""
            env["SMS_SECRET_ARN"] = self.sms_secret_arn or ""
        if city.real_name.endpoint:  # the real-name check (docs/decisions/0016); its key: {city}/real-name
            env["REALNAME_BASE_URL"] = city.real_name.endpoint
            env["REALNAME_FACE"] = "true" if city.real_name.face else "false"
            env["REALNAME_SECRET_ARN"] = f"{city.code}/real-name"
        # Rent (docs/decisions/0026): the merchant keys of the providers the city's rent.json accepts,
        # one secret each, written by the operator: {city}/payments/wechat, {city}/payments/alipay.
        for provider in self.payment_providers:
            env[PAYMENT_SECRET_ENV[provider]] = f"{city.code}/payments/{provider}"
        if city.api_base_url:
            env["PAYMENT_NOTIFY_BASE_URL"] = city.api_base_url.rstrip("/")
        return env

    @property
    def payment_providers(self) -> list[str]:
        from chalicelib.city_files import city_file

        return list(city_file(self.city.code, "rent.json").providers)

    def _chalice_app(self, identity_env: dict[str, str]) -> PackagedChalice:
        stage = stack_name(self.city)  # Chalice names its stage after the construct's scope
        source = stage_project(self.city.code, stage)
        stage_config = {
            "api_gateway_stage": "api",
            # Edge-optimized APIs do not exist in the China partition; regional works everywhere.
            "api_gateway_endpoint_type": "REGIONAL",
            "autogen_policy": False,
            "manage_iam_role": False,
            "iam_role_arn": self.role.role_arn,
            "xray": True,
            "lambda_memory_size": self.city.limits["lambda_memory_mb"],
            "lambda_timeout": self.city.limits["lambda_timeout_s"],
            "environment_variables": self.environment(identity_env),
        }
        # Chalice writes chalice.out/ into the working directory: keep it under build/.
        work = chalice_workdir(self.city.code)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        cwd = os.getcwd()
        os.chdir(work)
        try:
            app = PackagedChalice(self, "Api", source_dir=str(source), stage_config=stage_config)
        finally:
            os.chdir(cwd)
        if app.stage_name != stage:  # the staging config's stage entry must be the one Chalice reads
            raise RuntimeError(f"Chalice stage {app.stage_name!r} is not {stage!r}")

        self.functions: dict[str, cdk.CfnResource] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        self.worker_ids = {name: _camel(name) for name in WORKERS}  # Chalice's logical ids
        missing = set(self.worker_ids.values()) - set(app.logical_ids("AWS::Serverless::Function"))
        if missing:
            raise RuntimeError(f"the app has no function {sorted(missing)} (chalicelib/handlers/workers.py)")
        for name, lid in self.worker_ids.items():  # the queue workers run with their own roles
            app.get_resource(lid).add_property_override("Role", self.worker_roles[name].role_arn)
        from infra.workflows import functions as workflow_functions

        self.step_ids = [_camel(name) for name in workflow_functions()]  # so do the workflow's steps
        for lid in self.step_ids:
            app.get_resource(lid).add_property_override("Role", self.steps_role.role_arn)
        for lid in app.logical_ids("AWS::Serverless::Function"):
            fn = app.get_resource(lid)
            # Chalice writes the packaging interpreter's version; the code is built for this one.
            fn.add_property_override("Runtime", LAMBDA_RUNTIME)
            # A fixed name, so the log group can be created first and named without referring to
            # the function (the function waits for its role's policy, which names the log group).
            name = function_name(stage, lid)
            fn.add_property_override("FunctionName", name)
            self.functions[lid] = fn
            group = logs.LogGroup(
                self,
                f"{lid}Logs",
                log_group_name=f"/aws/lambda/{name}",
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            cfn_group = group.node.default_child
            assert isinstance(cfn_group, logs.CfnLogGroup)
            cfn_group.add_property_override("RetentionInDays", self.city.limits["log_retention_days"])
            self.log_groups[lid] = group
        for lid in app.logical_ids("AWS::Serverless::Api"):
            app.get_resource(lid).add_property_override("TracingEnabled", True)
        for lid in app.logical_ids("AWS::IAM::Role"):  # none while manage_iam_role is false
            raise RuntimeError(f"Chalice created IAM role {lid}: IAM is managed in CDK")
        return app

    def _permissions(self) -> None:
        """Least privilege, one role per kind of function.

        - the API and the app's other functions (``FunctionRole``): item reads and writes on this
          city's tables and their indexes (never Scan, never table management), objects in the
          document bucket, the data key, sending to the notifications queue;
        - ``send_notifications``: its queue, and its channel: ``sns:Publish`` (SNS SMS) or reading
          the SMS provider's credentials (that one secret);
        - ``check_documents``: its queue, reading and deleting document objects, the tables, sending
          notifications (a rejected document is told to its owner).
        Every role writes its own functions' log groups and X-Ray segments.
        """
        data = self.format_arn(service="dynamodb", resource="table", resource_name=self.table_name("*"))
        table_arns = [data, f"{data}/index/*"]  # every table but the append-only ones (table_name)
        audit = self.tables["audit"]
        audit_arns = [audit.table_arn, f"{audit.table_arn}/index/*"]
        # The audit trail (等保 2.0): the app appends and reads; it can neither rewrite nor delete.
        self.role.add_to_principal_policy(iam.PolicyStatement(
            sid="AuditAppendOnly", actions=["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"],
            resources=audit_arns))
        self.role.add_to_principal_policy(iam.PolicyStatement(
            sid="AuditNeverRewritten", effect=iam.Effect.DENY,
            actions=["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"], resources=audit_arns))
        notifications, documents = self.queues["notifications"], self.queues["documents"]
        notify_role, check_role = self.worker_roles["send_notifications"], self.worker_roles["check_documents"]

        # The API and every other function.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="TableItems", actions=list(TABLE_ACTIONS), resources=table_arns)
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DocumentObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="DocumentList", actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        self.key.grant(self.role, *KEY_ACTIONS)
        self.role.add_to_principal_policy(self._send_notices())
        self.role.add_to_principal_policy(self._send_billing_work())  # a billing run's first messages
        self.role.add_to_principal_policy(self._send_fan_out_work("reviews"))  # a review campaign's pass
        if self.payment_providers:  # the merchant keys of the city's payment providers (docs/decisions/0026)
            self.role.add_to_principal_policy(iam.PolicyStatement(
                sid="PaymentMerchantKeys", actions=["secretsmanager:GetSecretValue"],
                resources=[self.format_arn(service="secretsmanager", resource="secret",
                                           resource_name=f"{self.city.code}/payments/{p}-??????",
                                           arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
                           for p in self.payment_providers]))
        if self.city.real_name.endpoint:  # the real-name check provider's key (written by the operator)
            self.role.add_to_principal_policy(iam.PolicyStatement(
                sid="RealNameCredentials", actions=["secretsmanager:GetSecretValue"],
                resources=[self.format_arn(service="secretsmanager", resource="secret",
                                           resource_name=f"{self.city.code}/real-name-??????",
                                           arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))

        # the verification workflow's steps: the tables, notices; the departments' credentials below
        self.steps_role.add_to_principal_policy(
            iam.PolicyStatement(sid="TableItems", actions=list(TABLE_ACTIONS), resources=table_arns)
        )
        self.key.grant(self.steps_role, *KEY_ACTIONS)
        self.steps_role.add_to_principal_policy(self._send_notices())

        # send_notifications
        notifications.grant_consume_messages(notify_role)
        if self.city.notifications.channel == "sns":
            notify_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="SmsThroughSns",
                    actions=["sns:Publish"],
                    resources=["*"],  # an SMS to a phone number has no resource ARN
                )
            )
        elif self.sms_secret_resource:
            notify_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="SmsProviderCredentials",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[self.sms_secret_resource],
                )
            )

        # check_documents
        documents.grant_consume_messages(check_role)
        check_role.add_to_principal_policy(
            iam.PolicyStatement(sid="TableItems", actions=list(TABLE_ACTIONS), resources=table_arns)
        )
        check_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DocumentObjects",
                actions=["s3:GetObject", "s3:DeleteObject"],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
        # Without it S3 answers a vanished object's GET with 403, not 404 (and it would be retried).
        check_role.add_to_principal_policy(
            iam.PolicyStatement(sid="DocumentList", actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        self.key.grant(check_role, *KEY_ACTIONS)
        check_role.add_to_principal_policy(self._send_notices())

        # the sharded jobs (issue_bills, open_reviews): its queue (and sending a shard on), the tables,
        # the data key; a review campaign's pass queues notices too
        for worker, queue_name in FAN_OUT.items():
            queue, role = self.queues[queue_name], self.worker_roles[worker]
            queue.grant_consume_messages(role)
            role.add_to_principal_policy(self._send_fan_out_work(queue_name))
            role.add_to_principal_policy(
                iam.PolicyStatement(sid="TableItems", actions=list(TABLE_ACTIONS), resources=table_arns)
            )
            self.key.grant(role, *KEY_ACTIONS)
        self.worker_roles["open_reviews"].add_to_principal_policy(self._send_notices())

        workers = {self.worker_ids[name]: role for name, role in self.worker_roles.items()}
        workers.update({lid: self.steps_role for lid in self.step_ids})
        workers.update(self.own_roles)  # their log groups, X-Ray and policies are their own (infra/stats.py)
        roles: dict[str, iam.Role] = {lid: workers.get(lid, self.role) for lid in self.functions}
        for role in (self.role, *self.worker_roles.values(), self.steps_role):
            for lid, group in self.log_groups.items():
                if roles[lid] is role:
                    group.grant_write(role)
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="XRay",
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    resources=["*"],  # X-Ray has no resource-level permissions
                )
            )
        # Functions start (and e.g. poll queues) only once their permissions exist.
        for lid, fn in self.functions.items():
            policy = roles[lid].node.try_find_child("DefaultPolicy")
            if policy is not None:
                fn.add_resource_dependency(policy.node.default_child)
        cdk.CfnOutput(self, "DocumentBucketName", value=self.bucket.bucket_name)

    # --- joint verification ---------------------------------------------------------------------
    @property
    def verification_name(self) -> str:
        return f"{stack_name(self.city)}-verification"

    @property
    def verification_arn(self) -> str:
        """Built from the name (no reference): the functions' environment names the state machine and
        the state machine names the functions, and CloudFormation allows no cycle."""
        return self.format_arn(service="states", resource="stateMachine", resource_name=self.verification_name,
                               arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)

    def _verification(self) -> None:
        """The state machine from infra/workflows/verification.asl.json (the file the local stack
        runs), its tasks the app's functions; the app may start it, it may invoke only its steps."""
        from infra.workflows import VERIFICATION, functions, substitutions

        steps = {name: self.functions[_camel(name)] for name in functions()}
        role = iam.Role(self, "VerificationRole", assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
                        description=f"{SERVICE} {self.city.code}: the joint verification workflow")
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="InvokeSteps", actions=["lambda:InvokeFunction"],
            resources=[fn.get_att("Arn").to_string() for fn in steps.values()]))
        logs_group = logs.LogGroup(self, "VerificationLogs", log_group_name=f"/aws/vendedlogs/states/"
                                   f"{self.verification_name}", removal_policy=cdk.RemovalPolicy.RETAIN)
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ExecutionLogs", resources=["*"],  # log delivery has no resource-level permissions
            actions=["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                     "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                     "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="XRay", resources=["*"],
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                     "xray:GetSamplingTargets"]))
        machine = sfn.CfnStateMachine(
            self, "Verification", state_machine_name=self.verification_name, role_arn=role.role_arn,
            definition_string=VERIFICATION.read_text(encoding="utf-8"),
            definition_substitutions=substitutions(lambda name: steps[name].get_att("Arn").to_string()),
            logging_configuration=sfn.CfnStateMachine.LoggingConfigurationProperty(
                # every event (a stuck run's history for the operator), never its data: it holds ID numbers
                level="ALL", include_execution_data=False,
                destinations=[sfn.CfnStateMachine.LogDestinationProperty(
                    cloud_watch_logs_log_group=sfn.CfnStateMachine.CloudWatchLogsLogGroupProperty(
                        log_group_arn=logs_group.log_group_arn))]),
            tracing_configuration=sfn.CfnStateMachine.TracingConfigurationProperty(enabled=True))
        machine.add_resource_dependency(role.node.find_child("DefaultPolicy").node.default_child)  # may invoke first
        self.role.add_to_principal_policy(iam.PolicyStatement(
            sid="StartVerification", actions=["states:StartExecution", "states:DescribeExecution"],
            resources=[self.verification_arn, self.format_arn(
                service="states", resource="execution", resource_name=f"{self.verification_name}:*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))
        # The departments' credentials (one secret per city, written by the operator).
        self.steps_role.add_to_principal_policy(iam.PolicyStatement(
            sid="DepartmentCredentials", actions=["secretsmanager:GetSecretValue"],
            resources=[self.format_arn(service="secretsmanager", resource="secret",
                                       resource_name=f"{self.city.code}/departments*",
                                       arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))
        cdk.CfnOutput(self, "VerificationStateMachine", value=machine.attr_arn)

    def _send_notices(self) -> iam.PolicyStatement:
        """Sending to the notifications queue (the data key is granted separately)."""
        queue = self.queues["notifications"]
        return iam.PolicyStatement(sid="SendNotices", actions=["sqs:SendMessage"], resources=[queue.queue_arn])

    def _send_billing_work(self) -> iam.PolicyStatement:
        """Sending to the billing queue (a run's shard messages, a worker's continuation)."""
        return self._send_fan_out_work("billing")

    def _send_fan_out_work(self, queue_name: str) -> iam.PolicyStatement:
        """Sending to a sharded job's queue (a job's shard messages, a worker's continuation)."""
        return iam.PolicyStatement(sid=f"Send{_camel(queue_name)}Work", actions=["sqs:SendMessage"],
                                   resources=[self.queues[queue_name].queue_arn])

    def _billing_schedule(self) -> None:
        """The monthly billing run: an EventBridge Scheduler schedule (China time, the city's day and
        hour from its rent.json) invoking ``start_billing_run``, which bills the current month (its
        run id is the month's: a retried invocation makes one run). Its own role may invoke only that."""
        from chalicelib.city_files import city_file

        when = city_file(self.city.code, "rent.json").schedule
        target = self.functions[_camel(BILLING_SCHEDULE_TARGET)]
        role = iam.Role(self, "BillingScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                        description=f"{SERVICE} {self.city.code}: the monthly billing schedule")
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="InvokeBillingRun", actions=["lambda:InvokeFunction"], resources=[target.get_att("Arn").to_string()]))
        schedule = scheduler.CfnSchedule(
            self, "BillingSchedule", name=f"{stack_name(self.city)}-billing",
            description=f"{self.city.name}: the month's rent bills",
            schedule_expression=f"cron(0 {when.hour} {when.day_of_month} * ? *)",
            schedule_expression_timezone="Asia/Shanghai",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target.get_att("Arn").to_string(), role_arn=role.role_arn, input=json.dumps({"source": "schedule"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3,
                                                                       maximum_event_age_in_seconds=3600)))
        schedule.add_resource_dependency(role.node.find_child("DefaultPolicy").node.default_child)

    def _dlq_alarms(self) -> None:
        """One alarm per DLQ: a message there is work a worker gave up on (a notice not sent, a
        document not checked, a billing shard failed). No action yet: the city's alarm topic (or its
        monitoring) subscribes to them."""
        for name, dlq in self.dlqs.items():
            cloudwatch.Alarm(
                self, f"{_camel(name)}DlqAlarm", alarm_name=f"{stack_name(self.city)}-{name}-dlq",
                alarm_description=f"{name}: messages in the dead-letter queue (a worker gave up on them)",
                metric=dlq.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5),
                                                                          statistic="Maximum"),
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)

    def _event_sources(self) -> None:
        """Each worker polls its queue; a failed record is reported alone (ReportBatchItemFailures)."""
        for name, queue_name in WORKERS.items():
            fn = self.functions[self.worker_ids[name]]
            lambda_.CfnEventSourceMapping(
                self,
                f"{_camel(name)}Source",
                function_name=fn.ref,
                event_source_arn=self.queues[queue_name].queue_arn,
                batch_size=batch_size(name),
                function_response_types=["ReportBatchItemFailures"],
                enabled=True,
            )

    # --- imports (docs/decisions/0036) -------------------------------------------------------------
    def _imports(self) -> None:
        """The imports worker: its queue (consume, and send the chunks on), the tables, the files under
        ``imports/`` in the document bucket, the data key; a split's time (and the queue's visibility
        six times it). The API starts imports (sends to the queue) and signs the upload form."""
        queue, role = self.queues["imports"], self.worker_roles["run_imports"]
        queue.grant_consume_messages(role)
        send = iam.PolicyStatement(sid="SendImportsWork", actions=["sqs:SendMessage"], resources=[queue.queue_arn])
        role.add_to_principal_policy(send)
        data = self.format_arn(service="dynamodb", resource="table", resource_name=self.table_name("*"))
        role.add_to_principal_policy(iam.PolicyStatement(sid="TableItems", actions=list(TABLE_ACTIONS),
                                                         resources=[data, f"{data}/index/*"]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ImportFiles", actions=["s3:GetObject", "s3:PutObject"], resources=[self.bucket.arn_for_objects("imports/*")]))
        role.add_to_principal_policy(iam.PolicyStatement(  # exports ride this worker (0036 "Export")
            sid="ExportFiles", actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[self.bucket.arn_for_objects("exports/*")]))
        role.add_to_principal_policy(iam.PolicyStatement(  # a tenants export reads every household: a parallel Scan
            sid="ExportScansHouseholds", actions=["dynamodb:Scan"], resources=[self.tables["households"].table_arn]))
        self.key.grant(role, *KEY_ACTIONS)
        iam.Policy(self, "ImportsStart", roles=[self.role], statements=[iam.PolicyStatement(
            actions=["sqs:SendMessage"], resources=[queue.queue_arn])])
        self.chalice.get_resource(_camel("run_imports")).add_property_override("Timeout", IMPORT_TIMEOUT_S)
        child = queue.node.default_child
        assert isinstance(child, sqs.CfnQueue)
        child.add_property_override("VisibilityTimeout", 6 * IMPORT_TIMEOUT_S)

    # --- rent: the daily jobs and the reconciliation alarm (docs/decisions/0029) -------------------
    def _rent_jobs(self) -> None:
        """The daily jobs get the time a day's work needs (their EventBridge rules come from the
        app's ``@schedule`` declarations), and an alarm goes off while a reconciliation mismatch is
        unresolved: the job counts them once a day; a day without the count (the job did not run)
        is breaching too."""
        for name, seconds in LONG_JOBS.items():
            self.chalice.get_resource(_camel(name)).add_property_override("Timeout", seconds)
        metric = cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=UNRESOLVED_MISMATCHES,
                                   dimensions_map={"service": SERVICE, "city": self.city.code},
                                   statistic="Maximum", period=cdk.Duration.days(1))
        cloudwatch.Alarm(
            self, "ReconciliationMismatchesUnresolved", metric=metric, threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"{self.city.name}：有未处理的对账差异（或当日对账未运行）。请在对账差异列表中逐笔处理。")

    # --- holiday calendars: the alarm on a missing year (docs/decisions/0035) --------------------------------
    def _holiday_calendar_alarm(self) -> cloudwatch.Alarm:
        """The daily ``holiday_calendar_check`` counts the years whose holiday arrangement is missing (this
        year; in December, next year); the alarm goes off while one is, and on a day without the count."""
        metric = cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=HOLIDAY_CALENDAR_MISSING,
                                   dimensions_map={"service": SERVICE, "city": self.city.code},
                                   statistic="Maximum", period=cdk.Duration.days(1))
        return cloudwatch.Alarm(
            self, "HolidayCalendarMissing", metric=metric, threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"{self.city.name}：缺少法定节假日安排（当年，或 12 月起的下一年）。国务院办公厅公布后，"
                              f"管理员以 PUT /v1/admin/holiday-calendars/{{year}} 整年录入。")

    def _personal_data(self) -> None:
        """PIPL and 等保 (docs/decisions/0040), in a policy of its own (the role's main policy is near
        IAM's inline size limit): the audit trail's daily seals, append-only like the trail; the
        retention job deleting every version of an expired application's documents (under the
        uploads prefix only)."""
        seals = self.tables["audit_seals"]
        iam.Policy(self, "PersonalDataOverTime", roles=[self.role], statements=[
            iam.PolicyStatement(sid="AuditSealsAppendOnly", actions=["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"],
                                resources=[seals.table_arn]),
            iam.PolicyStatement(sid="AuditSealsNeverRewritten", effect=iam.Effect.DENY,
                                actions=["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
                                resources=[seals.table_arn]),
            iam.PolicyStatement(sid="RetentionListVersions", actions=["s3:ListBucketVersions"],
                                resources=[self.bucket.bucket_arn],
                                conditions={"StringLike": {"s3:prefix": ["applications/*"]}}),
            iam.PolicyStatement(sid="RetentionDeleteVersions", actions=["s3:DeleteObjectVersion"],
                                resources=[self.bucket.arn_for_objects("applications/*")]),
        ])
