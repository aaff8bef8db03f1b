"""Issue 15 §1 and the edge of §2 in every city's template (infra/operations.py, infra/edge.py;
docs/decisions/0038): alarms all tell the ops topic, every DLQ has one, log groups are encrypted and
kept, the dashboard shows what the operator needs, WAF guards the API stage, access logs carry no
query string, cheap-to-abuse routes are throttled.

The cities are synthesized once per test run (the ``synthesized`` fixture in tests/infra/conftest.py).
"""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra.synthesized import CITIES, Synth

pytestmark = pytest.mark.xdist_group("infra")


def _one(s: Synth, kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(lid, r) for lid, r in s.resources(kind).items() if lid.startswith(prefix)]
    return found


def _topic(s: Synth) -> dict[str, str]:
    return {"Ref": _one(s, "AWS::SNS::Topic", "OperationsTopic")[0]}


def _alarms(s: Synth) -> dict[str, dict[str, Any]]:
    return {lid: r["Properties"] for lid, r in s.resources("AWS::CloudWatch::Alarm").items()}


def _alarm_on(s: Synth, namespace: str, metric: str, **dimensions: Any) -> dict[str, Any]:
    found = [p for p in _alarms(s).values() if p.get("Namespace") == namespace and p.get("MetricName") == metric
             and all({"Name": k, "Value": v} in p.get("Dimensions", []) for k, v in dimensions.items())]
    assert len(found) == 1, (namespace, metric, dimensions, len(found))
    return found[0]


def _strings(value: Any) -> str:
    """The literal parts of a (possibly Fn::Join'ed) string, tokens left out."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_strings(part) for part in value["Fn::Join"][1])
    return ""


@pytest.mark.parametrize("city", CITIES)
def test_every_alarm_tells_the_ops_topic_when_it_goes_off_and_when_it_is_ok(synthesized: dict[str, Synth],
                                                                             city: str) -> None:
    """The next alarm anyone adds is wired too (an aspect); this fails if one is not."""
    s = synthesized[city]
    topic = _topic(s)
    alarms = _alarms(s)
    assert len(alarms) >= 2 * len(s.functions()) + 4
    unwired = [lid for lid, p in alarms.items() if topic not in p.get("AlarmActions", [])
               or topic not in p.get("OKActions", [])]
    assert unwired == []
    assert all(p["AlarmActions"].count(topic) == 1 for p in alarms.values())  # once, not once per visit


@pytest.mark.parametrize("city", CITIES)
def test_every_dead_letter_queue_has_an_alarm_on_its_depth(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    dlqs = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q in s.resources("AWS::SQS::Queue").values() if "RedrivePolicy" in q["Properties"]}
    assert len(dlqs) >= 4
    queues = s.resources("AWS::SQS::Queue")
    for mapping in s.resources("AWS::Lambda::EventSourceMapping").values():  # a stream's failure destination
        target = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", {})
        if isinstance(target, dict) and target.get("Fn::GetAtt", [None])[0] in queues:
            dlqs.add(target["Fn::GetAtt"][0])
    for dlq in dlqs:
        alarm = _alarm_on(s, "AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName={"Fn::GetAtt": [dlq, "QueueName"]})
        assert alarm["Threshold"] == 1


@pytest.mark.parametrize("city", CITIES)
def test_the_ops_topic_is_encrypted_and_the_city_file_says_who_hears_it(synthesized: dict[str, Synth],
                                                                         city: str) -> None:
    from infra.city_config import load_city

    s = synthesized[city]
    topic_id, topic = _one(s, "AWS::SNS::Topic", "OperationsTopic")
    key_id, key = _one(s, "AWS::KMS::Key", "OperationsKey")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    subscribed = sorted((p["Properties"]["Protocol"], p["Properties"]["Endpoint"])
                        for p in s.resources("AWS::SNS::Subscription").values()
                        if p["Properties"]["TopicArn"] == {"Ref": topic_id})
    wanted = sorted((sub.protocol, sub.endpoint) for sub in load_city(city).operations.alarm_subscriptions)
    assert subscribed == wanted and wanted
    if s.region.startswith("cn-"):
        assert all(protocol != "sms" for protocol, _ in subscribed)
    # CloudWatch may use the key to publish to the encrypted topic.
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(st["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in st["Action"]
               for st in statements)


@pytest.mark.parametrize("city", CITIES)
def test_every_log_group_is_encrypted_by_a_key_this_regions_logs_may_use_and_kept(synthesized: dict[str, Synth],
                                                                                   city: str) -> None:
    from infra.city_config import MIN_LOG_RETENTION_DAYS_CN, load_city

    s = synthesized[city]
    key_id, key = _one(s, "AWS::KMS::Key", "OperationsKey")
    groups = s.resources("AWS::Logs::LogGroup")
    assert len(groups) >= len(s.functions()) + 2  # the functions', the workflow's, the access logs
    days = load_city(city).limits["log_retention_days"]
    for lid, group in groups.items():
        props = group["Properties"]
        assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}, lid
        assert isinstance(props["RetentionInDays"], int) and props["RetentionInDays"] >= days, lid
        if s.region.startswith("cn-"):
            assert props["RetentionInDays"] >= MIN_LOG_RETENTION_DAYS_CN
    (logs,) = [st for st in key["Properties"]["KeyPolicy"]["Statement"] if st.get("Sid") == "LogGroupsOfThisAccount"]
    # logs.<region>.amazonaws.com or .amazonaws.com.cn: the suffix is the partition's, never spelled out
    assert logs["Principal"]["Service"] == {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".",
                                                              {"Ref": "AWS::URLSuffix"}]]}
    arn = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert {"Ref": "AWS::Partition"} in arn["Fn::Join"][1] and _strings(arn).endswith(":log-group:*")


@pytest.mark.parametrize("city", CITIES)
def test_golden_signals_have_alarms(synthesized: dict[str, Synth], city: str) -> None:
    from infra import operations
    from infra.stack import function_name, stack_name
    from infra.city_config import load_city

    s = synthesized[city]
    name = stack_name(load_city(city))
    assert s.template["Resources"]["RestAPI"]["Properties"]["Name"] == name  # the ApiName the alarms watch
    api = {"ApiName": name, "Stage": operations.API_STAGE}
    five_xx = _alarm_on(s, "AWS/ApiGateway", "5XXError", **api)
    assert (five_xx["Statistic"], five_xx["Threshold"]) == ("Average", operations.API_5XX_RATE)
    latency = _alarm_on(s, "AWS/ApiGateway", "Latency", **api)
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p99", operations.API_P99_MS)
    for lid, fn in s.functions().items():
        assert fn["Properties"]["FunctionName"] == function_name(name, lid)
        for metric in ("Errors", "Throttles"):
            _alarm_on(s, "AWS/Lambda", metric, FunctionName=fn["Properties"]["FunctionName"])


@pytest.mark.parametrize("city", CITIES)
def test_stuck_workflows_and_the_business_alarms(synthesized: dict[str, Synth], city: str) -> None:
    from chalicelib import metric_names as names

    s = synthesized[city]
    (machine,) = s.resources("AWS::StepFunctions::StateMachine").values()
    arn = {"StateMachineArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":states:{s.region}:",
                                                 {"Ref": "AWS::AccountId"},
                                                 f":stateMachine:{machine['Properties']['StateMachineName']}"]]}}
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionTime"):
        _alarm_on(s, "AWS/States", metric, **arn)
    city_dims = {"service": "public-housing", "city": city}
    for metric in (names.UNRESOLVED_MISMATCHES, names.TICKETS_PAST_DEADLINE, names.HOLIDAY_CALENDAR_MISSING):
        alarm = _alarm_on(s, "PublicHousing", metric, **city_dims)
        assert alarm["Threshold"] == 1


@pytest.mark.parametrize("city", CITIES)
def test_the_dashboard_shows_the_api_functions_workflow_departments_queues_rent_and_tickets(
        synthesized: dict[str, Synth], city: str) -> None:
    from chalicelib import metric_names as names
    from chalicelib.departments.contract import DEPARTMENTS

    s = synthesized[city]
    (dashboard,) = s.resources("AWS::CloudWatch::Dashboard").values()
    body = _strings(dashboard["Properties"]["DashboardBody"])
    for metric in ("Count", "4XXError", "5XXError", "Latency", "Errors", "Throttles", "Duration",
                   "ExecutionsFailed", "ExecutionTime", "ApproximateNumberOfMessagesVisible"):
        assert f'"{metric}"' in body, metric
    assert '"p50"' in body and '"p99"' in body
    for fn in s.functions().values():
        assert f'"{fn["Properties"]["FunctionName"]}"' in body
    for department in DEPARTMENTS:
        assert f'"department","{department}"' in body
    # every name of chalicelib/metric_names.py is on it (a new one lands in "其他业务指标")
    declared = [v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)]
    declared += [row[0] for row in names.STATS_FIGURES]  # the statistics' daily figures, by name
    for metric in declared:
        shown = metric.format(digit=5) if "{" in metric else metric
        assert f'"{shown}"' in body, metric


@pytest.mark.parametrize("city", CITIES)
def test_waf_guards_the_api_stage_with_the_citys_limits(synthesized: dict[str, Synth], city: str) -> None:
    from infra.city_config import WAF_WINDOW_S, load_city
    from infra.edge import COUNT_ONLY, MANAGED_RULE_GROUPS

    s = synthesized[city]
    ops = load_city(city).operations
    acl_id, acl = _one(s, "AWS::WAFv2::WebACL", "Edge")
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in props["Rules"]}
    rate = rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["AggregateKeyType"], rate["EvaluationWindowSec"]) == (ops.waf_rate_limit, "IP",
                                                                                      WAF_WINDOW_S)
    assert rules["RateLimitPerIp"]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    size = rules["BodySizeLimit"]["Statement"]["AndStatement"]["Statements"][0]["SizeConstraintStatement"]
    assert (size["Size"], size["ComparisonOperator"]) == (ops.waf_max_body_kb * 1024, "GT")
    assert size["FieldToMatch"]["Body"]["OversizeHandling"] == "MATCH"
    partition = "aws-cn" if s.region.startswith("cn-") else "aws"
    managed = [r["Statement"]["ManagedRuleGroupStatement"] for r in props["Rules"]
               if "ManagedRuleGroupStatement" in r["Statement"]]
    assert [m["Name"] for m in managed] == list(MANAGED_RULE_GROUPS[partition])
    for group in managed:
        counted = [o["Name"] for o in group.get("RuleActionOverrides", []) if "Count" in o["ActionToUse"]]
        assert counted == list(COUNT_ONLY.get(group["Name"], ()))
    bodies = {k: json.loads(v["Content"]) for k, v in props["CustomResponseBodies"].items()}
    assert bodies["TooManyRequests"]["error"]["code"] == "TOO_MANY_REQUESTS"
    assert bodies["BodyTooLarge"]["error"]["code"] == "BODY_TOO_LARGE"
    (association,) = s.resources("AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    parts = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": "AWS::Partition"} in parts and {"Ref": "RestAPI"} in parts and {"Ref": "RestAPI.Stage"} in parts


#: $context variables an access log line may hold: none is the query string, the path with its
#: values, a header other than the user agent, or the caller's token.
ALLOWED_CONTEXT = {"requestId", "requestTime", "identity.sourceIp", "httpMethod", "resourcePath", "protocol",
                   "status", "responseLength", "responseLatency", "integrationLatency", "error.responseType",
                   "wafResponseCode", "identity.userAgent"}


@pytest.mark.parametrize("city", CITIES)
def test_access_logs_go_to_their_log_group_without_query_strings(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    api = s.template["Resources"]["RestAPI"]
    setting = api["Properties"]["AccessLogSetting"]
    used = set(re.findall(r"\$context\.([A-Za-z.]+)", setting["Format"]))
    assert used and used <= ALLOWED_CONTEXT, used - ALLOWED_CONTEXT
    assert "querystring" not in setting["Format"].lower() and "$context.path" not in setting["Format"]
    json.loads(setting["Format"])  # one JSON object per line
    group_id, group = _one(s, "AWS::Logs::LogGroup", "EdgeAccessLogs")
    assert {"Ref": group_id} in setting["DestinationArn"]["Fn::Join"][1]
    account_id, account = _one(s, "AWS::ApiGateway::Account", "EdgeAccount")
    assert account_id in api["DependsOn"]  # the account's logging role is set before the stage logs


@pytest.mark.parametrize("city", CITIES)
def test_routes_cheap_to_abuse_are_throttled(synthesized: dict[str, Synth], city: str) -> None:
    from infra.edge import THROTTLED_ROUTES

    s = synthesized[city]
    props = s.template["Resources"]["RestAPI"]["Properties"]
    paths = props["DefinitionBody"]["paths"]
    settings = {(m["ResourcePath"], m["HttpMethod"]): (m["ThrottlingRateLimit"], m["ThrottlingBurstLimit"])
                for m in props["MethodSettings"]}
    assert len(settings) == len(THROTTLED_ROUTES)
    for (path, method), limits in THROTTLED_ROUTES.items():
        assert method.lower() in paths[path]  # a route that exists (a renamed one fails the synth)
        assert settings["/" + path.replace("/", "~1"), method] == limits
