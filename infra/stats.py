"""The statistics' part of a city's stack (docs/decisions/0037), added to ``CityStack`` by one call.

- **Counting**: each source table (``chalicelib.domain.stats.SOURCES``) streams both images; one event
  source mapping per table feeds ``count_stats`` (batches of 100, from the stream's start, a failing
  batch halved until the record that fails is alone, 10 retries, then the record's place goes to the
  stats DLQ, whose alarm says counters may be short until the recount). ``count_stats`` runs with a
  role of its own: reading the streams, the tables' items (its counters and markers), the key.
- **Recount**: ``recount_stats`` (15 minutes) is the only function allowed to Scan, and only the
  source tables; an alarm goes off when a recount counts a mismatch (``STATS_RECOUNT_MISMATCHES``).
- **Analysis**: a private analytics bucket (the city's key, TLS only) receives each source table's
  daily incremental export (``export_tables``: DynamoDB export to S3, the tables' point-in-time
  recovery is on), a Glue database and a crawler per day catalogue the exports, an Athena workgroup
  (results encrypted in the same bucket, its settings enforced) queries them. All of these exist in
  cn-northwest-1; QuickSight does not, so none is used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from chalicelib.domain.stats import SOURCES
from chalicelib.metric_names import STATS_RECOUNT_MISMATCHES
from infra.compliance import acknowledge

if TYPE_CHECKING:
    from infra.stack import CityStack

COUNTER = "count_stats"
RECOUNT = "recount_stats"
EXPORT = "export_tables"
BATCH_SIZE = 100
RETRIES = 10
TIMEOUTS = {RECOUNT: 900, EXPORT: 300}
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
EXPORT_PREFIX = "exports"
RESULTS_PREFIX = "athena-results"


def add(stack: CityStack) -> None:
    _counting(stack)
    _recount(stack)
    _analysis(stack)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _function(stack: CityStack, name: str) -> Any:
    fn = stack.functions.get(_camel(name))
    if fn is None:
        raise RuntimeError(f"the app has no function {name} (chalicelib/handlers/stats.py)")
    return fn


def _own_role(stack: CityStack, name: str, description: str, statements: list[iam.PolicyStatement]) -> iam.Role:
    """A function's own role: its statements, the key, its log group, X-Ray; the function waits for it."""
    lid = _camel(name)
    role = iam.Role(stack, f"{lid}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description=f"{stack.stack_name}: {description}")
    for statement in statements:
        role.add_to_principal_policy(statement)
    from infra.stack import KEY_ACTIONS

    stack.key.grant(role, *KEY_ACTIONS)
    stack.log_groups[lid].grant_write(role)
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="XRay", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]))
    _function(stack, name).add_property_override("Role", role.role_arn)
    stack.own_roles[lid] = role  # CityStack._permissions makes the function wait for its policy
    return role


def _data_items(stack: CityStack) -> iam.PolicyStatement:
    from infra.stack import TABLE_ACTIONS

    data = stack.format_arn(service="dynamodb", resource="table", resource_name=stack.table_name("*"))
    return iam.PolicyStatement(sid="TableItems", actions=list(TABLE_ACTIONS), resources=[data, f"{data}/index/*"])


def _counting(stack: CityStack) -> None:
    tables = {name: stack.tables[name] for name in SOURCES}
    dlq = sqs.Queue(stack, "StatsDlq", encryption=sqs.QueueEncryption.KMS, encryption_master_key=stack.key,
                    retention_period=cdk.Duration.days(14), enforce_ssl=True)
    acknowledge(dlq, "AwsSolutions-SQS3", "This queue is itself a dead-letter destination: the stream event source "
                "mappings send a record that failed every retry here (OnFailure), which cdk-nag cannot see.")
    role = _own_role(stack, COUNTER, "the statistics' stream consumer", [
        _data_items(stack),
        iam.PolicyStatement(sid="SourceStreams", actions=list(STREAM_ACTIONS),
                            resources=[t.table_stream_arn for t in tables.values()]),
        iam.PolicyStatement(sid="FailedRecords", actions=["sqs:SendMessage"], resources=[dlq.queue_arn]),
    ])
    fn = _function(stack, COUNTER)
    for name, table in tables.items():
        mapping = lambda_.CfnEventSourceMapping(
            stack, f"Stats{_camel(name)}Stream", function_name=fn.ref, event_source_arn=table.table_stream_arn,
            starting_position="TRIM_HORIZON", batch_size=BATCH_SIZE, bisect_batch_on_function_error=True,
            maximum_retry_attempts=RETRIES, maximum_record_age_in_seconds=-1,
            destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(destination=dlq.queue_arn)),
            enabled=True)
        mapping.add_dependency(role.node.find_child("DefaultPolicy").node.default_child)
    cloudwatch.Alarm(
        stack, "StatsDlqAlarm", alarm_name=f"{stack.stack_name}-stats-dlq",
        alarm_description=f"{stack.city.name}：统计计数有处理失败的变更记录（计数可能偏少），请查看日志并发起统计复核。",
        metric=dlq.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5), statistic="Maximum"),
        threshold=1, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)


def _recount(stack: CityStack) -> None:
    from infra.stack import METRICS_NAMESPACE, SERVICE

    sources = [stack.tables[name].table_arn for name in SOURCES]
    _own_role(stack, RECOUNT, "the statistics' monthly recount (the one function that scans)", [
        _data_items(stack),
        iam.PolicyStatement(sid="RecountScans", actions=["dynamodb:Scan"], resources=sources),
    ])
    _function(stack, RECOUNT).add_property_override("Timeout", TIMEOUTS[RECOUNT])
    metric = cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=STATS_RECOUNT_MISMATCHES,
                               dimensions_map={"service": SERVICE, "city": stack.city.code},
                               statistic="Maximum", period=cdk.Duration.days(1))
    cloudwatch.Alarm(
        stack, "StatsRecountMismatches", metric=metric, threshold=1, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"{stack.city.name}：统计复核发现计数与全量重算不一致。请查看复核记录的不一致项，排查后再次复核。")


def _analysis(stack: CityStack) -> None:
    bucket = s3.Bucket(
        stack, "Analytics", block_public_access=s3.BlockPublicAccess.BLOCK_ALL, encryption=s3.BucketEncryption.KMS,
        encryption_key=stack.key, bucket_key_enabled=True, enforce_ssl=True, versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, removal_policy=cdk.RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(id="abort-incomplete-uploads",
                                          abort_incomplete_multipart_upload_after=cdk.Duration.days(1))])
    _access_logs(stack, bucket)
    sources = {name: stack.tables[name] for name in SOURCES}
    export_role = _own_role(stack, EXPORT, "the source tables' daily incremental export to the analytics bucket", [
        iam.PolicyStatement(sid="ExportTables", actions=["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeTable"],
                            resources=[t.table_arn for t in sources.values()]),
        iam.PolicyStatement(sid="DescribeExports", actions=["dynamodb:DescribeExport"],
                            resources=[f"{t.table_arn}/export/*" for t in sources.values()]),
        iam.PolicyStatement(sid="ExportObjects", actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
                            resources=[bucket.arn_for_objects(f"{EXPORT_PREFIX}/*")]),
    ])
    acknowledge(export_role, f"AwsSolutions-IAM5[Resource::<{_lid(bucket)}.Arn>/{EXPORT_PREFIX}/*]",
                "DynamoDB writes each export under a new id below exports/{table}/: the role may put objects "
                "under that prefix of the analytics bucket only.")
    for table in sources.values():
        acknowledge(export_role, f"AwsSolutions-IAM5[Resource::<{_lid(table)}.Arn>/export/*]",
                    "An export's ARN is the table's ARN and an id DynamoDB makes when the export starts: the role "
                    "may describe this table's exports, whatever their id.")
    export = _function(stack, EXPORT)
    export.add_property_override("Timeout", TIMEOUTS[EXPORT])
    export.add_property_override("Environment.Variables.ANALYTICS_BUCKET", bucket.bucket_name)
    export.add_property_override("Environment.Variables.ANALYTICS_KMS_KEY", stack.key.key_arn)

    database = f"{stack.city.code}_public_housing"
    glue.CfnDatabase(stack, "AnalyticsDatabase", catalog_id=stack.account, database_input=glue.CfnDatabase.DatabaseInputProperty(
        name=database, description=f"{stack.city.name} 公租房：数据表的每日增量导出（DynamoDB JSON）"))
    crawler_role = iam.Role(stack, "AnalyticsCrawlerRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                            description=f"{stack.stack_name}: catalogues the tables' exports")
    crawler_role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSGlueServiceRole"))
    acknowledge(crawler_role, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]",
                "A Glue crawler's service role: the managed policy Glue documents for crawlers (catalogue writes, "
                "its own logs); the data it reads is granted below, one prefix of one bucket.")
    crawler_role.add_to_principal_policy(iam.PolicyStatement(
        sid="ReadExports", actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{EXPORT_PREFIX}/*")]))
    crawler_role.add_to_principal_policy(iam.PolicyStatement(
        sid="ListExports", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]))
    acknowledge(crawler_role, f"AwsSolutions-IAM5[Resource::<{_lid(bucket)}.Arn>/{EXPORT_PREFIX}/*]",
                "The crawler reads every export file DynamoDB wrote below exports/ of the analytics bucket "
                "(their names are ids DynamoDB makes), and nothing else.")
    stack.key.grant(crawler_role, "kms:Decrypt", "kms:DescribeKey")
    crawler = glue.CfnCrawler(
        stack, "AnalyticsCrawler", name=f"{stack.stack_name}-exports", role=crawler_role.role_arn,
        database_name=database, table_prefix="export_",
        targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
            glue.CfnCrawler.S3TargetProperty(path=f"s3://{bucket.bucket_name}/{EXPORT_PREFIX}/{name}/",
                                             exclusions=["**/manifest-*", "**/_started"])
            for name in sources]),
        schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression="cron(0 20 * * ? *)"),  # 04:00 China time
        schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(update_behavior="UPDATE_IN_DATABASE",
                                                                         delete_behavior="LOG"))
    acknowledge(crawler, "AwsSolutions-GL1",
                "The crawler's CloudWatch logs hold table and partition names of the catalogue only (no item, "
                "no personal data); they stay in the city's account with its log retention.")
    athena.CfnWorkGroup(
        stack, "AnalyticsWorkGroup", name=f"{stack.stack_name}-analysis",
        description=f"{stack.city.name} 公租房：统计分析（结果加密存放于分析桶）",
        work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
            enforce_work_group_configuration=True, publish_cloud_watch_metrics_enabled=True,
            result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                output_location=f"s3://{bucket.bucket_name}/{RESULTS_PREFIX}/",
                encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                    encryption_option="SSE_KMS", kms_key=stack.key.key_arn))))
    cdk.CfnOutput(stack, "AnalyticsBucketName", value=bucket.bucket_name)


def _lid(construct: Any) -> str:
    """The construct's logical id as cdk-nag names it in a finding (``Analytics0CFCBF3B``)."""
    return cdk.Stack.of(construct).resolve(construct.node.default_child.logical_id)


def _access_logs(stack: CityStack, bucket: s3.Bucket) -> None:
    """Server access logs of the analytics bucket into the stack's access-log bucket (as the documents')."""
    prefix = "analytics/"
    stack.access_logs.add_to_resource_policy(iam.PolicyStatement(
        sid="S3ServerAccessLogsAnalytics", principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
        actions=["s3:PutObject"], resources=[stack.access_logs.arn_for_objects(f"{prefix}*")],
        conditions={"ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}))
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=stack.access_logs.bucket_name, log_file_prefix=prefix)
