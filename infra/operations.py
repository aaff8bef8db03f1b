"""Seeing a city's stack and being woken when it breaks (issue 15 §1, docs/decisions/0038).

``Operations(stack)`` adds, per city:

- a KMS key (rotated) for the city's log groups and its ops topic: its policy lets CloudWatch Logs
  of this region use it (``logs.<region>.<URL suffix>``: ``amazonaws.com`` or ``amazonaws.com.cn``,
  from the partition) for this account's log groups only, and CloudWatch alarms publish through it;
- every log group of the stack encrypted with that key and given the city's retention (an aspect:
  log groups added later are covered too);
- the ops SNS topic (encrypted, TLS only) and its subscriptions from the city file
  (``operations.alarm_subscriptions``: an https webhook or email; SMS only outside China);
- every alarm of the stack sends ALARM and OK to that topic (an aspect again: the DLQ alarms, the
  reconciliation alarm, and the next alarm anyone adds);
- alarms on the golden signals (API 5xx rate and p99 latency, each function's errors and
  throttles), on the verification workflow (failed, timed out, slow), tickets past their deadline
  and a missing holiday calendar (unless the stack has that one already);
- one CloudWatch dashboard (``<stack>-operations``).

Metric names the app emits come from chalicelib/metric_names.py (namespace ``PublicHousing``,
dimensions service and city, plus function_name or department where said there).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cloudwatch_actions,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_sns as sns,
    aws_sqs as sqs,
)
from constructs import Construct, IConstruct

from chalicelib import metric_names as names
from chalicelib.departments.contract import DEPARTMENTS

if TYPE_CHECKING:
    from infra.stack import CityStack

#: The API stage Chalice deploys (infra/stack.py, ``api_gateway_stage``).
API_STAGE = "api"
FIVE_MINUTES = cdk.Duration.minutes(5)
#: The golden signals' thresholds: what wakes someone.
API_5XX_RATE = 0.02  # of requests in five minutes, two periods running
API_P99_MS = 3000  # three five-minute periods running (the integration gives up at 29 s)
FUNCTION_ERRORS = 1  # a function's unhandled errors in five minutes (handled ones are 4xx/5xx answers)
FUNCTION_THROTTLES = 1  # a throttled invocation in five minutes: the account's concurrency is exhausted
#: A verification run slower than this (ms) is stuck on a department; the state machine gives up at 600 s.
VERIFICATION_SLOW_MS = 300_000


def _alarm_description(city: Any, text: str) -> str:
    return f"{city.name}（{city.code}）：{text}"


class Operations(Construct):
    def __init__(self, stack: CityStack) -> None:
        super().__init__(stack, "Operations")
        self.stack = stack
        city = stack.city
        self.prefix = f"{stack.stack_name}"
        self.dimensions = {"service": "public-housing", "city": city.code}

        self.key = kms.Key(self, "Key", description=f"{stack.stack_name}: log groups and the ops topic",
                           enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.RETAIN)
        log_groups = stack.format_arn(service="logs", resource="log-group", resource_name="*",
                                      arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="LogGroupsOfThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}}))
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="AlarmsPublishToTheEncryptedTopic",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}))

        self.topic = sns.Topic(self, "Topic", topic_name=f"{self.prefix}-ops",
                               display_name=f"{city.name}公租房运维告警", master_key=self.key, enforce_ssl=True)
        for i, sub in enumerate(city.operations.alarm_subscriptions):
            sns.Subscription(self, f"Subscription{i}", topic=self.topic, endpoint=sub.endpoint,
                             protocol=sns.SubscriptionProtocol(sub.protocol.upper()))
        cdk.CfnOutput(stack, "OpsTopic", value=self.topic.topic_arn)

        cdk.Aspects.of(stack).add(_GuardLogGroups(self.key, city.limits["log_retention_days"]))
        cdk.Aspects.of(stack).add(_AlarmsToTopic(self.topic))

        self.alarms: list[cloudwatch.Alarm] = []
        self._golden_signals()
        self._verification_alarms()
        self._service_desk_alarms()
        self._dashboard()

    # --- metrics ------------------------------------------------------------------------------
    def app_metric(self, name: str, statistic: str = "Sum", period: cdk.Duration = FIVE_MINUTES,
                   **dimensions: str) -> cloudwatch.Metric:
        """A metric the app emits (chalicelib/metric_names.py)."""
        return cloudwatch.Metric(namespace="PublicHousing", metric_name=name, statistic=statistic, period=period,
                                 dimensions_map={**self.dimensions, **dimensions},
                                 label=next(iter(dimensions.values()), name))

    def api_metric(self, name: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name=name, statistic=statistic,
                                 period=FIVE_MINUTES, label=label or name,
                                 dimensions_map={"ApiName": self.api_name, "Stage": API_STAGE})

    def function_metric(self, lid: str, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(namespace="AWS/Lambda", metric_name=name, statistic=statistic, period=FIVE_MINUTES,
                                 dimensions_map={"FunctionName": self.function_names[lid]}, label=lid)

    def states_metric(self, name: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(namespace="AWS/States", metric_name=name, statistic=statistic, period=FIVE_MINUTES,
                                 dimensions_map={"StateMachineArn": self.stack.verification_arn}, label=label or name)

    @property
    def api_name(self) -> str:
        """The REST API's name (set in infra/edge.py: the stack's name, unique per account and region)."""
        return self.stack.stack_name

    @property
    def function_names(self) -> dict[str, str]:
        from infra.stack import function_name

        return {lid: function_name(self.stack.stack_name, lid) for lid in self.stack.functions}

    def alarm(self, cid: str, metric: cloudwatch.IMetric, threshold: float, text: str, *, periods: int = 1,
              missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
              comparison: cloudwatch.ComparisonOperator =
              cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD) -> cloudwatch.Alarm:
        if isinstance(metric, cloudwatch.Metric):  # unlabelled: an alarm on one metric renders it plainly
            metric = cloudwatch.Metric(namespace=metric.namespace, metric_name=metric.metric_name,
                                       dimensions_map=metric.dimensions, statistic=metric.statistic,
                                       period=metric.period)
        alarm = cloudwatch.Alarm(self, cid, alarm_name=f"{self.prefix}-{cid}", metric=metric, threshold=threshold,
                                 evaluation_periods=periods, datapoints_to_alarm=periods, comparison_operator=comparison,
                                 treat_missing_data=missing,
                                 alarm_description=_alarm_description(self.stack.city, text))
        self.alarms.append(alarm)
        return alarm

    # --- alarms -------------------------------------------------------------------------------
    def _golden_signals(self) -> None:
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        self.alarm("api-5xx-rate", self.api_metric("5XXError", "Average"), API_5XX_RATE,
                   f"接口 5xx 比例超过 {API_5XX_RATE:.0%}（连续 10 分钟）。先看仪表板的函数错误与部门接口。",
                   periods=2, comparison=above)
        self.alarm("api-latency-p99", self.api_metric("Latency", "p99"), API_P99_MS,
                   f"接口 p99 延迟超过 {API_P99_MS} 毫秒（连续 15 分钟）。", periods=3, comparison=above)
        for lid in self.stack.functions:
            self.alarm(f"{lid}-errors", self.function_metric(lid, "Errors"), FUNCTION_ERRORS,
                       f"函数 {lid} 出现未处理的错误（见其日志组）。")
            self.alarm(f"{lid}-throttles", self.function_metric(lid, "Throttles"), FUNCTION_THROTTLES,
                       f"函数 {lid} 被限流（账户并发已满）。")

    def _verification_alarms(self) -> None:
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        self.alarm("verification-failed", self.states_metric("ExecutionsFailed"), 1,
                   "联合审查流程执行失败。按运行手册重新发起核查。")
        self.alarm("verification-timed-out", self.states_metric("ExecutionsTimedOut"), 1,
                   "联合审查流程超时（卡住，超过 10 分钟）。按运行手册重新发起核查。")
        self.alarm("verification-slow", self.states_metric("ExecutionTime", "Maximum"), VERIFICATION_SLOW_MS,
                   f"联合审查有运行超过 {VERIFICATION_SLOW_MS // 60000} 分钟（某个部门接口慢）。", comparison=above)

    def _service_desk_alarms(self) -> None:
        day = cdk.Duration.days(1)
        self.alarm("tickets-past-deadline", self.app_metric(names.TICKETS_PAST_DEADLINE, "Maximum", day), 1,
                   "有工单超过答复或办结时限（见工单队列，按时限排序）。")
        if not self._watched(names.HOLIDAY_CALENDAR_MISSING):
            self.alarm("holiday-calendar-missing", self.app_metric(names.HOLIDAY_CALENDAR_MISSING, "Maximum", day),
                       1, "缺少明年（或今年）的节假日安排：请管理员录入，否则工作日期限按周末计算。")

    #: The metric names the dashboard places in a widget of their own (the rest go to "其他业务指标").
    PLACED = frozenset({
        names.COLD_START, names.DEPARTMENT_ERRORS, names.DEPARTMENT_LATENCY, names.APPLICATIONS_SUBMITTED,
        names.VERIFICATIONS_DECIDED, names.BILLING_RUNS_STARTED, names.BILLS_ISSUED, names.PAYMENTS_SETTLED,
        names.PAYMENTS_SETTLED_FEN, names.UNRESOLVED_MISMATCHES, names.TICKETS_PAST_DEADLINE,
        names.HOLIDAY_CALENDAR_MISSING, names.HTTP_STATUS_CLASS, names.TICKETS_ESCALATED})

    def other_metrics(self) -> list[str]:
        """Every other name in chalicelib/metric_names.py (a constant, or a list of names): a metric
        someone adds there is on the dashboard without a change here."""
        found: list[str] = []
        for attr, value in vars(names).items():
            if not attr.isupper() or attr.startswith("_"):
                continue
            for item in (value if isinstance(value, (list, tuple, frozenset, set)) else [value]):
                name = item[0] if isinstance(item, tuple) and item else item  # (name, ...) rows: STATS_FIGURES
                if isinstance(name, str) and name not in self.PLACED and name not in found:
                    found.append(name)
        return found

    def dead_letters(self) -> dict[str, Any]:
        """The workers' DLQs and any other of the stack (a stream's failure destination: ``*Dlq``)."""
        found: dict[str, Any] = dict(self.stack.dlqs)
        for node in self.stack.node.find_all():
            if isinstance(node, sqs.Queue) and node.node.id.endswith("Dlq") and node not in found.values():
                found[node.node.id] = node
        return found

    def every_alarm(self) -> list[cloudwatch.Alarm]:
        return [node for node in self.stack.node.find_all() if isinstance(node, cloudwatch.Alarm)]

    def _watched(self, metric_name: str) -> bool:
        """Whether an alarm of the stack already watches ``metric_name``."""
        for node in self.stack.node.find_all():
            if isinstance(node, cloudwatch.CfnAlarm) and node.metric_name == metric_name:
                return True
        return False

    # --- the dashboard ------------------------------------------------------------------------
    def _dashboard(self) -> None:
        stack, city = self.stack, self.stack.city
        lids = list(stack.functions)

        def graph(title: str, metrics: list[cloudwatch.IMetric], width: int = 8, **kwargs: Any) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=width, height=6, **kwargs)

        def per_function(name: str, statistic: str = "Sum") -> list[cloudwatch.IMetric]:
            return [self.function_metric(lid, name, statistic) for lid in lids]

        def app(*metric_names: str, statistic: str = "Sum") -> list[cloudwatch.IMetric]:
            return [self.app_metric(n, statistic) for n in metric_names]

        def queue_depth(queues: dict[str, Any]) -> list[cloudwatch.IMetric]:
            return [q.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum", label=n)
                    for n, q in queues.items()]

        def header(text: str) -> cloudwatch.TextWidget:
            return cloudwatch.TextWidget(markdown=f"## {text}", width=24, height=1)

        rows: list[list[cloudwatch.IWidget]] = [
            [cloudwatch.TextWidget(markdown=f"# {city.name}公租房（{city.code}）\n告警发往 SNS 主题 "
                                   f"`{self.prefix}-ops`；处理步骤见 docs/runbook.md。", width=24, height=2)],
            [header("接口 API")],
            [graph("请求数", [self.api_metric("Count", label="requests")]),
             graph("4xx / 5xx", [self.api_metric("4XXError", label="4xx"), self.api_metric("5XXError", label="5xx")]),
             graph("延迟 p50 / p99 (ms)", [self.api_metric("Latency", "p50", "p50"),
                                         self.api_metric("Latency", "p99", "p99")])],
            [header("函数 Lambda（每个函数）")],
            [graph("错误 Errors", per_function("Errors"), 12), graph("限流 Throttles", per_function("Throttles"), 12)],
            [graph("耗时 p99 Duration (ms)", per_function("Duration", "p99"), 12),
             graph("冷启动 Cold starts", [self.app_metric(names.COLD_START, function_name=name)
                                       for name in self.function_names.values()], 12)],
            [header("联合审查 Verification（Step Functions）")],
            [graph("执行", [self.states_metric(m, label=m.removeprefix("Executions")) for m in
                          ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut",
                           "ExecutionsAborted")]),
             graph("耗时 p50 / p99 (ms)", [self.states_metric("ExecutionTime", "p50", "p50"),
                                         self.states_metric("ExecutionTime", "p99", "p99")]),
             graph("提交与审查结论", app(names.APPLICATIONS_SUBMITTED, names.VERIFICATIONS_DECIDED))],
            [header("部门接口 Departments（每个部门）")],
            [graph("错误率 (0-1)", [self.app_metric(names.DEPARTMENT_ERRORS, "Average", department=d) for d in DEPARTMENTS]),
             graph("延迟 p99 (ms)", [self.app_metric(names.DEPARTMENT_LATENCY, "p99", department=d) for d in DEPARTMENTS]),
             graph("调用次数", [self.app_metric(names.DEPARTMENT_LATENCY, "SampleCount", department=d)
                              for d in DEPARTMENTS])],
            [header("队列 Queues")],
            [graph("队列积压", queue_depth(stack.queues), 12), graph("死信队列 DLQ", queue_depth(self.dead_letters()), 12)],
            [header("租金 Rent")],
            [graph("出账", app(names.BILLING_RUNS_STARTED, names.BILLS_ISSUED)),
             graph("缴费", app(names.PAYMENTS_SETTLED), right=app(names.PAYMENTS_SETTLED_FEN)),
             graph("未处理对账差异", app(names.UNRESOLVED_MISMATCHES, statistic="Maximum"))],
            [header("服务台 Service desk")],
            [graph("超时工单", app(names.TICKETS_PAST_DEADLINE, statistic="Maximum")),
             graph("升级", app(names.TICKETS_ESCALATED)),
             graph("缺少节假日安排", app(names.HOLIDAY_CALENDAR_MISSING, statistic="Maximum"))],
            [graph("应用自报的应答 (Http2xx/4xx/5xx)", app(*(names.http_status_class(s) for s in (200, 400, 500))), 12),
             graph("其他业务指标", app(*self.other_metrics()), 12)],
            [cloudwatch.AlarmStatusWidget(title="告警", alarms=self.every_alarm()[:100], width=24, height=8)],
        ]
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{self.prefix}-operations",
                                         default_interval=cdk.Duration.hours(6))
        for row in rows:
            dashboard.add_widgets(*row)


@jsii.implements(cdk.IAspect)
class _GuardLogGroups:
    """Every log group of the stack: encrypted with the operations key, with a retention."""

    def __init__(self, key: kms.IKey, days: int) -> None:
        self.key, self.days = key, days

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup):
            if node.kms_key_id is None:
                node.kms_key_id = self.key.key_arn
            if node.retention_in_days is None:
                node.retention_in_days = self.days


@jsii.implements(cdk.IAspect)
class _AlarmsToTopic:
    """Every alarm of the stack tells the ops topic when it goes off and when it is OK again."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cloudwatch.Alarm):
            action = cloudwatch_actions.SnsAction(self.topic)
            node.add_alarm_action(action)
            node.add_ok_action(action)
        elif isinstance(node, cloudwatch.CfnAlarm) and not isinstance(node.node.scope, cloudwatch.Alarm):
            arn = self.topic.topic_arn  # an alarm built without the L2 construct
            node.alarm_actions = [*(node.alarm_actions or []), arn]
            node.ok_actions = [*(node.ok_actions or []), arn]
