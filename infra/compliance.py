"""The compliance scanners over every city's template: cdk-nag (AwsSolutions pack) and checkov.

- cdk-nag runs inside the synth (``add_checks``: a CDK policy-validation plugin); its findings are
  in the cloud assembly's ``validation-report.json`` (``nag_findings``). A finding that is a design
  choice is acknowledged on its resource (``NAG_ACKNOWLEDGED``, and the IAM wildcards
  ``_wildcard_reasons`` knows), with its reason.
- checkov runs over the synthesized templates (``checkov_scan``) from its own virtual
  environment, ``.venv-checkov/`` (its dependencies would move the app's pinned boto3, packaging
  and networkx); ``make test`` creates it, ``ensure_checkov()`` does when a test runs without make.
  A check skipped on purpose is in ``CHECKOV_SKIPS`` below, with its reason, per resource type or
  resource (written into the resource's ``Metadata.checkov.skip``).

Both are applied by one aspect, ``design_choices(stack)``, which the stack adds once.

See docs/decisions/0039-compliance-scanners.md.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = REPO_ROOT / ".venv-checkov"
CHECKOV_STAMP = CHECKOV_VENV / f".installed-{CHECKOV_VERSION}"
#: A suppression's reason is read by an assessor: at least this long (a sentence, not "n/a").
MIN_REASON = 60
#: The report CDK writes into the cloud assembly when a policy-validation plugin reports something.
NAG_REPORT = "validation-report.json"
#: How checkov runs: the CloudFormation checks only, every result (failed, passed, skipped with its
#: comment), offline (no policy download from the vendor's platform).
CHECKOV_ARGS = ("--compact", "--framework", "cloudformation", "--output", "json", "--skip-download")
#: checkov's results per template content (see checkov_scan).
CACHE_DIR = REPO_ROOT / "build" / "compliance"


@dataclass(frozen=True)
class Finding:
    scanner: str
    rule: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.scanner} {self.rule} @ {self.path}: {self.message}"


# --- cdk-nag ---------------------------------------------------------------------------------------
def add_checks(app: Any) -> None:
    """The AwsSolutions pack on every construct of ``app`` (run when the app synthesizes)."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: Any, rule: str, reason: str) -> None:
    """One cdk-nag finding on ``construct`` (and its children) is a design choice: ``reason`` says
    why. ``rule`` is the finding's id as reported, e.g. ``AwsSolutions-IAM5[Resource::*]``."""
    import aws_cdk as cdk

    if len(reason) < MIN_REASON:
        raise ValueError(f"acknowledging {rule}: give a real reason, not {reason!r}")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def is_validation_failure(exc: BaseException) -> bool:
    """CDK's synth raises this when a policy-validation plugin reports a finding (the assembly and
    its report are written before)."""
    return "ValidationFailed" in str(exc)


def nag_findings(assembly_dir: Path) -> list[Finding]:
    """Every finding (error or warning) the synth's policy-validation plugins reported."""
    report = assembly_dir / NAG_REPORT
    if not report.is_file():
        raise FileNotFoundError(f"no {NAG_REPORT} in {assembly_dir}: was the app synthesized by infra.synth?")
    found = []
    for plugin in json.loads(report.read_text(encoding="utf-8")).get("pluginReports", []):
        name = plugin.get("pluginName") or plugin.get("summary", {}).get("pluginName", "?")
        for violation in plugin.get("violations", []):
            where = violation.get("violatingConstructs") or violation.get("violatingResources") or [{}]
            for resource in where:
                found.append(Finding(
                    scanner=f"cdk-nag/{name}",
                    rule=violation["ruleName"],
                    path=resource.get("constructPath", "?"),
                    message=f"{violation.get('severity', '?')}: {violation['description']}",
                ))
    return found


# --- the design choices: every acknowledged cdk-nag finding and skipped checkov check -------------
#: Actions that have no resource-level permissions (IAM accepts only ``"Resource": "*"`` for them),
#: each with why the stack uses it. A ``Resource::*`` finding on a policy is acknowledged only when
#: every statement of that policy with ``"*"`` has actions from this table, and the reason says which.
NO_RESOURCE_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray tracing (xray:Put*, xray:GetSampling*: X-Ray has no resource-level permissions)",
    "xray:PutTelemetryRecords": "X-Ray tracing (xray:Put*, xray:GetSampling*: X-Ray has no resource-level permissions)",
    "xray:GetSamplingRules": "X-Ray tracing (xray:Put*, xray:GetSampling*: X-Ray has no resource-level permissions)",
    "xray:GetSamplingTargets": "X-Ray tracing (xray:Put*, xray:GetSampling*: X-Ray has no resource-level permissions)",
    "sns:Publish": "SMS through SNS (an SMS to a phone number has no topic, hence no resource ARN)",
    **{f"logs:{a}": "Step Functions' log delivery to CloudWatch Logs (the logs:*LogDelivery* and resource-policy "
       "actions it needs have no resource-level permissions)"
       for a in ("CreateLogDelivery", "GetLogDelivery", "UpdateLogDelivery", "DeleteLogDelivery",
                 "ListLogDeliveries", "PutResourcePolicy", "DescribeResourcePolicies", "DescribeLogGroups")},
}


@dataclass(frozen=True)
class Skip:
    """A checkov check that does not apply to any resource of ``resource_type`` (or only to the one at
    ``path``, its construct path under the stack), and why."""

    check: str
    resource_type: str
    reason: str
    path: str | None = None
    #: and only while its policy grants ``Resource: "*"`` to this action (e.g. sns:Publish)
    star_action: str | None = None


_SMS_THROUGH_SNS = ("Publishing to SNS on any resource: an SMS to a phone number has no resource ARN to name (the "
                    "city's notification channel is SNS SMS).")

CHECKOV_SKIPS: tuple[Skip, ...] = (
    Skip("CKV_AWS_117", "AWS::Serverless::Function",
         "No VPC: the functions reach only AWS services and the departments' and payment providers' HTTPS "
         "endpoints; a VPC would add NAT gateways or an endpoint per service, per city, and nothing to protect "
         "inside it (no database server, no private host)."),
    Skip("CKV_AWS_115", "AWS::Serverless::Function",
         "No reserved concurrency per function: it would carve the account's regional pool into 26 fixed slices "
         "and throttle the selection-hour burst that on-demand tables absorb; load is bounded at the edge (API "
         "Gateway throttling) and by the queues' event source mappings."),
    Skip("CKV_AWS_116", "AWS::Serverless::Function",
         "No function DLQ: a DLQ catches failed asynchronous invocations only. The API is invoked synchronously, "
         "the queue workers by event source mappings (each queue has a DLQ with an alarm), the workflow's steps "
         "by Step Functions (Retry/Catch); the scheduled jobs are idempotent and run again on their next tick."),
    Skip("CKV_AWS_173", "AWS::Serverless::Function",
         "Environment encrypted at rest with Lambda's service key, not the city's: it holds names, ARNs and URLs "
         "only (every secret is in Secrets Manager, read at run time by ARN); a customer key would add a KMS "
         "call to every cold start."),
    Skip("CKV_AWS_120", "AWS::Serverless::Api",
         "No API Gateway cache: every answer depends on the caller's token (roles, own objects) and on state "
         "that changes under it (statuses, queues); a cache keyed by path would serve one caller's data to "
         "another or stale statuses."),
    Skip("CKV_AWS_149", "AWS::SecretsManager::Secret",
         "Encrypted with Secrets Manager's AWS managed key, not the city's: with a customer key CDK adds a key "
         "policy for kms:ViaService secretsmanager.<region>.amazonaws.com, the global domain, wrong in the "
         "China partition; the secrets are read only by roles this stack grants, by ARN."),
    Skip("CKV_AWS_18", "AWS::S3::Bucket",
         "The access-log bucket does not log access to itself (S3 would log its own log deliveries, forever).",
         path="AccessLogs/Resource"),
    Skip("CKV_AWS_111", "AWS::IAM::Policy", _SMS_THROUGH_SNS, path="SendNotificationsRole/DefaultPolicy/Resource",
         star_action="sns:Publish"),
    Skip("CKV_AWS_111", "AWS::IAM::Role", _SMS_THROUGH_SNS, path="UserPool/smsRole/Resource",
         star_action="sns:Publish"),
    Skip("CKV_AWS_145", "AWS::S3::Bucket",
         "The access-log bucket is encrypted with S3's key (SSE-S3): S3 server access logging does not deliver "
         "to a bucket whose default encryption is SSE-KMS.",
         path="AccessLogs/Resource"),
)
CHECKOV_SKIPS = CHECKOV_SKIPS + (  # the statistics' analysis (docs/decisions/0037)
    Skip("CKV_AWS_195", "AWS::Glue::Crawler",
         "The crawler reads the tables' exports, already encrypted with the city's key in the analytics bucket, and "
         "writes only the catalogue; its logs hold table names. A Glue security configuration (CloudWatch logs "
         "under KMS) needs the key policy to admit the logs service, which the log groups' KMS change brings.",
         path="AnalyticsCrawler"),
)

#: cdk-nag findings acknowledged on one resource (its construct path under the stack) -> reason.
NAG_ACKNOWLEDGED: dict[tuple[str, str], str] = {
    ("AccessLogs/Resource", "AwsSolutions-S1"):
        "The access-log bucket does not log access to itself (S3 would log its own log deliveries, forever).",
    ("CursorSigningKey/Resource", "AwsSolutions-SMG4"):
        "No automatic rotation: rotating the cursor key only turns outstanding page cursors into a 400 (clients "
        "start again from the first page); the operator rotates it by the runbook, no rotation Lambda needed.",
    ("SmsCredentials/Resource", "AwsSolutions-SMG4"):
        "The SMS provider's credentials are issued by the provider: they change when the provider issues new ones, "
        "and the operator writes them (runbook); Secrets Manager cannot rotate them.",
    ("UserPool/Resource", "AwsSolutions-COG2"):
        "MFA not required: citizens sign in with a phone number verified by SMS, a second SMS code per sign-in "
        "adds nothing; this Cognito pool serves the sandbox city only (the China cities sign in through their "
        "provincial identity platform).",
    ("UserPool/Resource", "AwsSolutions-COG8"):
        "Essentials tier: the pool serves the sandbox city only (no real residents); the cities in China sign in "
        "through their provincial identity platform, not Cognito.",
}


def design_choices(stack: Any) -> None:
    """Mark ``stack``'s design choices for the scanners. An aspect: it runs when the app synthesizes,
    so constructs added after this call are covered too."""
    import aws_cdk as cdk

    cdk.Aspects.of(stack).add(_aspect_type()(stack))


@functools.cache
def _aspect_type() -> type:
    """Built on first use: CDK and jsii load only when a stack is built."""
    import aws_cdk as cdk
    import jsii

    @jsii.implements(cdk.IAspect)
    class DesignChoices:
        def __init__(self, stack: Any) -> None:
            self.stack = stack

        def visit(self, node: Any) -> None:
            if isinstance(node, cdk.CfnResource):
                _mark_checkov_skips(self.stack, node)
                _acknowledge_nag(self.stack, node)

    return DesignChoices


def _path(stack: Any, node: Any) -> str:
    """``node``'s construct path under the stack (``Documents/Resource``)."""
    return node.node.path.removeprefix(stack.node.path + "/")


def _mark_checkov_skips(stack: Any, node: Any) -> None:
    skips = [{"id": sk.check, "comment": sk.reason} for sk in CHECKOV_SKIPS
             if sk.resource_type == node.cfn_resource_type
             and (sk.path is None or sk.path == _path(stack, node))
             and (sk.star_action is None or sk.star_action in _star_actions(stack, node))]
    if skips:
        node.add_metadata("checkov", {"skip": skips})


def _acknowledge_nag(stack: Any, node: Any) -> None:
    path = _path(stack, node)
    for (where, rule), reason in NAG_ACKNOWLEDGED.items():
        if where == path:
            acknowledge(node, rule, reason)
    if node.cfn_resource_type in ("AWS::IAM::Policy", "AWS::IAM::Role"):
        for rule, reason in _wildcard_reasons(stack, node).items():
            acknowledge(node, rule, reason)


def _statements(stack: Any, node: Any) -> list[dict[str, Any]]:
    if node.cfn_resource_type == "AWS::IAM::Policy":
        documents = [stack.resolve(node.policy_document)]
    else:
        documents = [p.get("PolicyDocument") or p.get("policyDocument") or {}
                     for p in stack.resolve(node.policies) or []]
    statements = []
    for doc in documents:
        doc = doc or {}
        found = doc.get("Statement") or []
        statements += found if isinstance(found, list) else [found]
    return statements


def _star_actions(stack: Any, node: Any) -> set[str]:
    """The actions an IAM policy (or a role's inline policies) allows on ``Resource: "*"``."""
    if node.cfn_resource_type not in ("AWS::IAM::Policy", "AWS::IAM::Role"):
        return set()
    return {action for st in _statements(stack, node) if st.get("Effect") == "Allow"
            and "*" in _as_list(st.get("Resource", [])) for action in _as_list(st.get("Action", []))}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def nag_string(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag spells it in a finding's id: ``{"Ref": X}`` is
    ``<X>``, ``{"Fn::GetAtt": [A, B]}`` is ``<A.B>``, ``Fn::Join`` joins."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>" if isinstance(arg, list) else f"<{arg}>"
        if fn == "Fn::Join":
            return arg[0].join(nag_string(v) for v in arg[1])
    return json.dumps(value)


def _wildcard_reasons(stack: Any, node: Any) -> dict[str, str]:
    """The IAM5 findings of one policy that are design choices -> reason: wildcards in resources that
    are collections the stack cannot enumerate (below), and ``*`` for actions without resources."""
    from infra.stack import stack_name

    city = stack.city.code
    tables = nag_string(stack.resolve(stack.format_arn(
        service="dynamodb", resource="table", resource_name=stack.table_name("*"))))
    audit = nag_string(stack.resolve(stack.tables["audit"].table_arn))
    documents = nag_string(stack.resolve(stack.bucket.bucket_arn))
    executions = nag_string(stack.resolve(stack.format_arn(
        service="states", resource="execution", resource_name=f"{stack.verification_name}:*",
        arn_format=_colon())))
    departments = nag_string(stack.resolve(stack.format_arn(
        service="secretsmanager", resource="secret", resource_name=f"{city}/departments*",
        arn_format=_colon())))
    log_groups = nag_string(stack.resolve(stack.format_arn(
        service="logs", resource="log-group", resource_name="*", arn_format=_colon())))
    known = {
        tables: f"Every table of this city ({stack_name(stack.city)}-data-*: one statement however many tables "
                "there are; a list of ARNs outgrew IAM's inline policy size). The audit trail is outside the "
                "pattern (append-only, its own statement).",
        f"{tables}/index/*": "The global secondary indexes of this city's tables (the app queries them by name; "
                             "an index is part of its table).",
        f"{audit}/index/*": "The audit trail's indexes, for reading it (PutItem/GetItem/Query only; rewriting "
                            "or deleting the trail is denied).",
        f"{documents}/*": "Objects of the city's document bucket: their keys are made per upload "
                          "(applications/<id>/..., payments/<id>/...), the bucket itself is named.",
        executions: "Executions of this city's verification state machine: their names are made per run.",
        f"{documents}/applications/*": "Every version of the applications' documents (applications/<id>/...): "
                                       "the retention job deletes an expired application's files for good "
                                       "(docs/decisions/0040); their keys are made per upload.",
        departments: "The departments' credentials: one secret per department (or one for all) under "
                     f"{city}/departments, named in the city's data, not known to the stack.",
        log_groups: "API Gateway's CloudWatch role (AWS::ApiGateway::Account, one setting per account and region, "
                    "infra/edge.py): API Gateway writes the access logs of every API in the account with it, into "
                    "log groups this stack does not name; no other role of the stack has this statement.",
    }
    known[f"{documents}/imports/*"] = ("The imports worker's files (docs/decisions/0036): an import's source, chunks and "
                                       "reports under imports/<import id>/, made per import; nothing else of the bucket.")
    known[f"{documents}/exports/*"] = ("The imports worker's exports (docs/decisions/0036 \"Export\"): a job's file and "
                                       "status under exports/<export id>/, made per export; nothing else of the bucket.")
    reasons: dict[str, str] = {}
    for st in _statements(stack, node):
        if st.get("Effect") != "Allow":
            continue
        for r in (nag_string(r) for r in _as_list(st.get("Resource", []))):
            if r in known:
                reasons[f"AwsSolutions-IAM5[Resource::{r}]"] = known[r]
    star_actions = _star_actions(stack, node)
    if star_actions and star_actions <= set(NO_RESOURCE_ACTIONS):
        why = sorted({NO_RESOURCE_ACTIONS[a] for a in star_actions})
        reasons["AwsSolutions-IAM5[Resource::*]"] = "Actions without resource-level permissions: " + "; ".join(why)
    return reasons


def _colon() -> Any:
    import aws_cdk as cdk

    return cdk.ArnFormat.COLON_RESOURCE_NAME


# --- checkov ---------------------------------------------------------------------------------------
def checkov_python() -> Path:
    return CHECKOV_VENV / "bin" / "python"


def ensure_checkov() -> Path:
    """checkov's own virtual environment (created once, under a lock: test workers share it)."""
    if CHECKOV_STAMP.is_file():
        return checkov_python()
    CHECKOV_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(REPO_ROOT / ".venv-checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHECKOV_STAMP.is_file():
            if not checkov_python().exists():
                subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
            subprocess.run([str(checkov_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            f"checkov=={CHECKOV_VERSION}"], check=True)
            CHECKOV_STAMP.touch()
    return checkov_python()


@dataclass(frozen=True)
class CheckovResult:
    """One template's scan: the failed checks, and the skipped ones with their comments."""

    failed: list[Finding]
    skipped: list[Finding]


def _cache_key(template: Path) -> str:
    digest = hashlib.sha256()
    runner = (REPO_ROOT / "infra" / "checkov_run.py").read_bytes()
    for part in (template.read_bytes(), CHECKOV_VERSION.encode(), " ".join(CHECKOV_ARGS).encode(), runner):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def checkov_scan(templates: list[Path]) -> dict[Path, CheckovResult]:
    """checkov over synthesized CloudFormation templates, in one run (its start-up is most of a small
    scan). A template scanned before, byte for byte with the same checkov, is read from the cache
    (``build/compliance/``)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    keys = {t.resolve(): _cache_key(t) for t in templates}
    results: dict[Path, CheckovResult] = {}
    todo = []
    for template, key in keys.items():
        cached = CACHE_DIR / f"checkov-{key}.json"
        if cached.is_file():
            results[template] = _result(json.loads(cached.read_text(encoding="utf-8")))
        else:
            todo.append(template)
    if todo:
        for template, raw in _run_checkov(todo).items():
            (CACHE_DIR / f"checkov-{keys[template]}.json").write_text(json.dumps(raw), encoding="utf-8")
            results[template] = _result(raw)
    return {t: results[t.resolve()] for t in templates}


def _result(raw: dict[str, list[dict[str, str]]]) -> CheckovResult:
    def findings(kind: str) -> list[Finding]:
        return [Finding("checkov", c["check_id"], c["resource"], c["message"]) for c in raw[kind]]

    return CheckovResult(failed=findings("failed"), skipped=findings("skipped"))


def _run_checkov(templates: list[Path]) -> dict[Path, dict[str, list[dict[str, str]]]]:
    python = ensure_checkov()
    cmd = [str(python), str(REPO_ROOT / "infra" / "checkov_run.py"), *CHECKOV_ARGS]
    for template in templates:
        cmd += ["--file", str(template)]
    # No platform API key, no telemetry, no policy download: the built-in checks, offline.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=templates[0].parent)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    out = json.loads(done.stdout) if done.stdout.strip() else []
    reports = out if isinstance(out, list) else [out]
    raw: dict[Path, dict[str, list[dict[str, str]]]] = {t: {"failed": [], "skipped": []} for t in templates}
    by_name = {t.name: t for t in templates}
    for report in reports:
        for kind, checks in (("failed", "failed_checks"), ("skipped", "skipped_checks")):
            for check in report.get("results", {}).get(checks, []):
                template = by_name[Path(check["file_path"]).name]
                message = check.get("check_name", "") if kind == "failed" else \
                    (check.get("check_result", {}).get("suppress_comment") or "")
                raw[template][kind].append({"check_id": check["check_id"], "resource": check["resource"],
                                            "message": message})
    return raw
