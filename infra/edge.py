"""Guarding the API's edge (issue 15 §2, docs/decisions/0038).

``Edge(stack)`` adds, per city:

- a WAFv2 regional web ACL on the API stage: a rate limit per client IP (city file,
  ``operations.waf_rate_limit`` requests in five minutes, answered 429 in the API's error envelope),
  a body size limit (``operations.waf_max_body_kb``, 413; the bulk routes excepted, the app's own
  1 MB limit applies there) and the AWS managed rule groups of the partition (``MANAGED_RULE_GROUPS``);
- API Gateway access logs to a KMS-encrypted log group (the key and retention: infra/operations.py),
  one JSON line per request with the resource path (``/v1/applications/{application_id}``: no ids,
  no query string, no body) and the account setting that lets API Gateway write them;
- throttling per route where abuse is cheap for the caller and dear for the city
  (``THROTTLED_ROUTES``; API Gateway's limits for the whole stage, every caller together).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway, aws_iam as iam, aws_logs as logs, aws_wafv2 as wafv2
from constructs import Construct

from infra.city_config import WAF_WINDOW_S

if TYPE_CHECKING:
    from infra.stack import CityStack

#: The AWS managed rule groups (all free of charge) the web ACL uses, per partition. The China
#: regions (Beijing, Ningxia) run WAF regionally only, without Shield, Firewall Manager or Marketplace
#: rule groups, and Bot Control there has its common level only ("Getting Started with Amazon Web
#: Services in China", Amazon WAF); these four baseline groups exist in both partitions.
MANAGED_RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "aws": ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"),
    "aws-cn": ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
               "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"),
}
#: Rules of the managed groups that only count (another rule does their job): the common rule set
#: blocks bodies over 8 KB; the web ACL's own size rule applies the city's limit and spares bulk routes.
COUNT_ONLY = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}
#: Routes whose bodies may be larger than the edge limit (the app checks them against its own 1 MB):
#: matched by the end of the request path.
BULK_ROUTE_SUFFIXES = ("/employees/import",)
#: (path, method) -> (requests per second, burst) for the whole stage: abuse that is cheap to send and
#: costs the city (a paid identity check, an S3 upload URL and a document record, an anonymous rules
#: evaluation, an application or objection staff must look at). Every other route has the stage's
#: account default.
THROTTLED_ROUTES: dict[tuple[str, str], tuple[int, int]] = {
    ("/v1/me", "POST"): (10, 20),  # sign-up (实名登记): a real-name check per call
    ("/v1/me/real-name-check", "POST"): (10, 20),  # the provider's face check result, paid per query
    ("/v1/self-assessment", "POST"): (20, 40),  # anonymous: the rules engine for anyone
    ("/v1/applications", "POST"): (20, 40),  # filing: a new application
    ("/v1/applications/{application_id}/documents", "POST"): (50, 100),  # upload URLs
    ("/v1/reviews/{review_id}/documents", "POST"): (50, 100),  # upload URLs (annual review)
    ("/v1/publicity/{batch_id}/objections", "POST"): (10, 20),  # filing an objection
    ("/v1/tickets", "POST"): (10, 20),  # filing a complaint, suggestion or repair (deadlines start running)
    ("/v1/tickets/{ticket_id}/photos", "POST"): (50, 100),  # upload URLs (a ticket's photos)
}
#: What one access log line holds: API Gateway $context variables, none of them the query string,
#: the path with its values ($context.path) or a header but the user agent.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "length": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationMs": "$context.integrationLatency",
    "error": "$context.error.responseType",
    "waf": "$context.wafResponseCode",
    "userAgent": "$context.identity.userAgent",
}


def _escaped(path: str) -> str:
    """A resource path as MethodSettings spells it: ``/v1/me`` -> ``/~1v1~1me``."""
    return "/" + path.replace("/", "~1")


class Edge(Construct):
    def __init__(self, stack: CityStack) -> None:
        super().__init__(stack, "Edge")
        self.stack = stack
        api = stack.chalice.get_resource("RestAPI")
        # The stack's name, not Chalice's app name: two cities in one account and region would share
        # the metrics' ApiName dimension otherwise (infra/operations.py watches it).
        api.add_property_override("Name", stack.stack_name)
        self._access_logs(api)
        self._throttling(api)
        self._firewall(api)

    def _access_logs(self, api: cdk.CfnResource) -> None:
        stack = self.stack
        group = logs.LogGroup(self, "AccessLogs", log_group_name=f"/aws/apigateway/{stack.stack_name}-access",
                              removal_policy=cdk.RemovalPolicy.RETAIN)
        cfn_group = group.node.default_child
        assert isinstance(cfn_group, logs.CfnLogGroup)
        cfn_group.retention_in_days = stack.city.limits["log_retention_days"]
        destination = stack.format_arn(service="logs", resource="log-group", resource_name=group.log_group_name,
                                       arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        api.add_property_override("AccessLogSetting", {
            "DestinationArn": destination, "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))})
        # API Gateway writes logs with a role set once per account and region (the last stack deployed
        # sets it; the role is kept when a stack goes, so the setting never points at nothing).
        role = iam.Role(self, "LogsRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                        description=f"{stack.stack_name}: API Gateway writes access logs",
                        inline_policies={"Logs": iam.PolicyDocument(statements=[iam.PolicyStatement(
                            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                                     "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents",
                                     "logs:FilterLogEvents"],
                            resources=[stack.format_arn(service="logs", resource="log-group", resource_name="*",
                                                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)])])})
        role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigateway.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        api.add_resource_dependency(account)  # the setting first, or the stage's logging is refused

    def _throttling(self, api: cdk.CfnResource) -> None:
        paths = self.stack.chalice.sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
        settings = []
        for (path, method), (rate, burst) in THROTTLED_ROUTES.items():
            if method.lower() not in paths.get(path, {}):
                raise RuntimeError(f"infra/edge.py THROTTLED_ROUTES: the app has no route {method} {path}")
            settings.append({"ResourcePath": _escaped(path), "HttpMethod": method,
                             "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst})
        api.add_property_override("MethodSettings", settings)

    def _firewall(self, api: cdk.CfnResource) -> None:
        stack, ops = self.stack, self.stack.city.operations
        name = f"{stack.stack_name}-api"

        def seen(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)

        def answer(status: int, body: str) -> wafv2.CfnWebACL.RuleActionProperty:
            return wafv2.CfnWebACL.RuleActionProperty(block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=status,
                                                                       custom_response_body_key=body)))

        bulk = [wafv2.CfnWebACL.StatementProperty(byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}), positional_constraint="ENDS_WITH",
            search_string=suffix,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")]))
            for suffix in BULK_ROUTE_SUFFIXES]
        not_bulk = wafv2.CfnWebACL.StatementProperty(not_statement=wafv2.CfnWebACL.NotStatementProperty(
            statement=bulk[0] if len(bulk) == 1 else wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=bulk))))
        too_large = wafv2.CfnWebACL.StatementProperty(size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")),
            comparison_operator="GT", size=ops.waf_max_body_kb * 1024,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")]))
        rules: list[Any] = [
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp", priority=0, action=answer(429, "TooManyRequests"),
                visibility_config=seen(f"{name}-rate-limit"),
                statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=ops.waf_rate_limit, aggregate_key_type="IP", evaluation_window_sec=WAF_WINDOW_S))),
            wafv2.CfnWebACL.RuleProperty(
                name="BodySizeLimit", priority=1, action=answer(413, "BodyTooLarge"),
                visibility_config=seen(f"{name}-body-size"),
                statement=wafv2.CfnWebACL.StatementProperty(and_statement=wafv2.CfnWebACL.AndStatementProperty(
                    statements=[too_large, not_bulk]))),
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS[stack.city.partition], start=10):
            overrides = [wafv2.CfnWebACL.RuleActionOverrideProperty(
                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}))
                for rule in COUNT_ONLY.get(group, ())]
            rules.append(wafv2.CfnWebACL.RuleProperty(
                name=group, priority=priority, override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=seen(f"{name}-{group}"),
                statement=wafv2.CfnWebACL.StatementProperty(managed_rule_group_statement=(
                    wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group, rule_action_overrides=overrides or None)))))
        from infra.stack import _gateway_answers

        gateway = _gateway_answers()  # the same codes and messages as the gateway's own answers
        bodies = {key: wafv2.CfnWebACL.CustomResponseBodyProperty(content_type="APPLICATION_JSON", content=json.dumps(
            {"error": {"code": gateway[kind][1], "message": gateway[kind][2]}}, ensure_ascii=False))
            for key, kind in (("TooManyRequests", "THROTTLED"), ("BodyTooLarge", "REQUEST_TOO_LARGE"))}
        self.web_acl = wafv2.CfnWebACL(
            self, "WebAcl", name=name, scope="REGIONAL", description=f"{stack.stack_name} API stage firewall",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}), rules=rules,
            visibility_config=seen(name), custom_response_bodies=bodies)
        stage_arn = cdk.Fn.join("", ["arn:", cdk.Aws.PARTITION, ":apigateway:", cdk.Aws.REGION, "::/restapis/",
                                     api.ref, "/stages/", cdk.Fn.ref("RestAPI.Stage")])
        on_stage = wafv2.CfnWebACLAssociation(self, "WebAclOnStage", resource_arn=stage_arn,
                                              web_acl_arn=self.web_acl.attr_arn)
        cdk.Validations.of(on_stage).acknowledge(cdk.Acknowledgment(
            id="CloudFormation-Validate::F1020",
            reason="RestAPI.Stage is the SAM Api's stage (the template's Serverless transform makes it; cfn-lint "
                   "checks the transformed template): CDK's check does not know SAM's generated resources"))
