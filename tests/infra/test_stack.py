"""The synthesized stacks: valid for their region, partition-neutral, the tables the models define,
and a code package whose native modules match the Lambda runtime the template declares.

Every city is synthesized once per test run (the ``synthesized`` fixture in tests/infra/conftest.py,
shared with tests/infra/test_compliance.py).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.infra.synthesized import CITIES, FUNCTION_TYPES, Synth

pytestmark = pytest.mark.xdist_group("infra")

CHINA = ("jiangmen", "xining")
ELF_X86_64 = 62


def _cfn_lint(template: Path, region: str, workdir: Path) -> list[dict[str, Any]]:
    """cfn-lint with its default rules (errors and warnings), none ignored: run where no
    .cfnlintrc can be picked up (working directory and HOME are an empty directory)."""
    cmd = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
           str(template), "--regions", region, "--format", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, env={"HOME": str(workdir), "PATH": ""})
    assert done.stdout.strip(), f"cfn-lint printed nothing (exit {done.returncode}): {done.stderr}"
    return json.loads(done.stdout)


def test_cfn_lint_clean_for_each_city_region(synthesized: dict[str, Synth], tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(CITIES, pool.map(lambda c: _cfn_lint(synthesized[c].path, synthesized[c].region, tmp_path),
                                            CITIES)))
    for city, matches in results.items():
        found = [f"{m['Rule']['Id']} {m['Message']} @ {m['Location']['Path']}" for m in matches]
        assert found == [], f"{city} ({synthesized[city].region}):\n" + "\n".join(found)


def test_cfn_lint_would_catch_a_cognito_pool_in_china(synthesized: dict[str, Synth], tmp_path: Path) -> None:
    """The region check above is not vacuous: the sandbox stack linted for Ningxia fails (E3006)."""
    matches = _cfn_lint(synthesized["sandbox"].path, "cn-northwest-1", tmp_path)
    flagged = {m["Rule"]["Id"] for m in matches if "Cognito" in m["Message"]}
    assert "E3006" in flagged


def test_no_rule_switched_off_in_templates(synthesized: dict[str, Synth]) -> None:
    for s in synthesized.values():
        assert "cfn-lint" not in json.dumps(s.template.get("Metadata", {}))
        for lid, resource in s.template["Resources"].items():
            assert "cfn-lint" not in json.dumps(resource.get("Metadata", {})), f"{s.city}/{lid}"


@pytest.mark.parametrize("city", CITIES)
def test_partition_comes_from_the_region(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    assert "arn:aws:" not in s.text
    assert "arn:aws-cn:" not in s.text  # also spelled out nowhere: the partition is a pseudo parameter
    assert "amazonaws.com/" not in s.text and "amazonaws.com.cn" not in s.text


@pytest.mark.parametrize("city", CHINA)
def test_china_stacks_create_only_what_exists_there(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    types = {r["Type"] for r in s.template["Resources"].values()}
    assert s.region.startswith("cn-")
    assert not {t for t in types if t.startswith("AWS::Cognito::")}, types
    # SNS exists there, its SMS does not: only the ops topic (alarms), heard by email or https
    assert {t for t in types if t.startswith("AWS::SNS::")} == {"AWS::SNS::Topic", "AWS::SNS::TopicPolicy",
                                                                 "AWS::SNS::Subscription"}, types
    assert {sub["Properties"]["Protocol"] for sub in s.resources("AWS::SNS::Subscription").values()} <= {"email", "https"}
    assert "SmsConfiguration" not in s.text
    policies = json.dumps([p["Properties"] for p in s.resources("AWS::IAM::Policy", "AWS::IAM::Role").values()])
    assert '"sns:' not in policies  # no function or service role may publish (no SMS to send)
    env = _function_env(s)
    assert env["AUTH_TOKEN_USE"] == ""
    assert env["AUTH_ISSUER"].startswith("https://") and env["AUTH_JWKS_URL"].startswith("https://")


def test_sandbox_has_a_user_pool_with_the_roles(synthesized: dict[str, Synth]) -> None:
    from infra.stack import ROLES

    s = synthesized["sandbox"]
    pools = s.resources("AWS::Cognito::UserPool")
    assert len(pools) == 1
    pool = next(iter(pools.values()))["Properties"]
    assert pool["UsernameAttributes"] == ["phone_number"]
    assert any(a["Name"] == "city" for a in pool["Schema"])
    groups = {g["Properties"]["GroupName"] for g in s.resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(ROLES)
    (client,) = s.resources("AWS::Cognito::UserPoolClient").values()
    assert "custom:city" not in client["Properties"]["WriteAttributes"]  # users cannot pick their city
    env = _function_env(s)
    assert env["AUTH_TOKEN_USE"] == "id"
    assert env["AUTH_ROLES_CLAIM"] == "cognito:groups" and env["AUTH_CITY_CLAIM"] == "custom:city"
    pool_id = next(iter(pools))
    assert env["AUTH_AUDIENCE"] == {"Ref": next(iter(s.resources("AWS::Cognito::UserPoolClient")))}
    issuer = json.dumps(env["AUTH_ISSUER"])
    parts = ('"https://cognito-idp."', '{"Ref": "AWS::Region"}', '{"Ref": "AWS::URLSuffix"}', f'"Ref": "{pool_id}"')
    assert all(part in issuer for part in parts), issuer
    assert "/.well-known/jwks.json" in json.dumps(env["AUTH_JWKS_URL"])


@pytest.mark.parametrize("city", CITIES)
def test_every_function_runs_python313_with_its_settings(synthesized: dict[str, Synth], city: str) -> None:
    from chalicelib.repositories.tables import table_specs
    from infra.packaging import LAMBDA_RUNTIME

    s = synthesized[city]
    functions = s.functions()
    assert functions, "no Lambda function in the template"
    assert LAMBDA_RUNTIME == "python3.13"
    for lid, fn in functions.items():
        assert fn["Properties"]["Runtime"] == "python3.13", lid
        assert fn["Properties"].get("Tracing") == "Active", lid
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["CITY_CODE"] == city
        expected = {"CITY_NAME", "AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_AUDIENCE", "AUTH_TOKEN_USE", "AUTH_ROLES_CLAIM",
                    "AUTH_CITY_CLAIM", "DOCUMENT_BUCKET", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE",
                    "POWERTOOLS_LOG_LEVEL"} | {f"TABLE_{t.logical_name.upper()}" for t in table_specs()}
        assert expected <= set(env), expected - set(env)
        # Each function's log group exists, with the city's retention.
        groups = [g["Properties"] for g in s.resources("AWS::Logs::LogGroup").values()
                  if g["Properties"]["LogGroupName"] == f"/aws/lambda/{fn['Properties']['FunctionName']}"]
        assert len(groups) == 1 and isinstance(groups[0]["RetentionInDays"], int), lid


@pytest.mark.parametrize("city", ["jiangmen", "xining"])
def test_the_provincial_platform_vouches_for_real_names(synthesized: dict[str, Synth], city: str) -> None:
    """The China cities' identity platforms carry real-name claims (docs/decisions/0016)."""
    env = _function_env(synthesized[city])
    assert env["AUTH_NAME_CLAIM"] and env["AUTH_ID_NUMBER_CLAIM"]


def _function_env(s: Synth) -> dict[str, Any]:
    return s.resources("AWS::Serverless::Function")["APIHandler"]["Properties"]["Environment"]["Variables"]


def _key_schema(key_schema: list[dict[str, str]], types: dict[str, str]) -> tuple[Any, Any]:
    hash_key = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
    return (hash_key, types[hash_key]), ((range_key, types[range_key]) if range_key else None)


@pytest.mark.parametrize("city", CITIES)
def test_tables_match_the_models(synthesized: dict[str, Synth], city: str) -> None:
    """One source of truth: every table of table_specs(), as the template creates it."""
    from chalicelib.repositories.tables import table_specs

    s = synthesized[city]
    env = _function_env(s)
    tables = s.resources("AWS::DynamoDB::Table")
    specs = table_specs()
    assert len(tables) == len(specs)
    for spec in specs:
        ref = env[f"TABLE_{spec.logical_name.upper()}"]
        props = tables[ref["Ref"]]["Properties"]
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        assert _key_schema(props["KeySchema"], types) == (spec.hash_key, spec.range_key), spec.logical_name
        built = {}
        for gsi in props.get("GlobalSecondaryIndexes", []):
            projection = gsi["Projection"]
            built[gsi["IndexName"]] = (
                _key_schema(gsi["KeySchema"], types),
                projection["ProjectionType"],
                sorted(projection.get("NonKeyAttributes", [])),
            )
        wanted = {
            i["name"]: ((i["hash"], i["range"]), i["projection"], sorted(i.get("non_key_attributes") or ()))
            for i in spec.indexes
        }
        assert built == wanted, spec.logical_name
        used = {k["AttributeName"] for k in props["KeySchema"]} | {
            k["AttributeName"] for g in props.get("GlobalSecondaryIndexes", []) for k in g["KeySchema"]
        }
        assert set(types) == used  # no stray attribute definitions
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        sse = props["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS" and sse["KMSMasterKeyId"]
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}


@pytest.mark.parametrize("city", CITIES)
def test_document_bucket_is_private_encrypted_and_tls_only(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    bucket_id = _function_env(s)["DOCUMENT_BUCKET"]["Ref"]  # the other bucket keeps its access logs
    props = s.template["Resources"][bucket_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    policies = [
        p for p in s.resources("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = [st for p in policies for st in p["Properties"]["PolicyDocument"]["Statement"]]
    assert any(
        st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in statements
    )
    assert _function_env(s)["DOCUMENT_BUCKET"] == {"Ref": bucket_id}
    # an export (a tenants file holds ID numbers in clear) is a report's copy: gone after a week (0036 "Export")
    (exports,) = [r for r in props["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "exports/"]
    assert exports["ExpirationInDays"] == 7 and exports["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1


def _actions(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def _role_statements(s: Synth, role: str) -> list[dict[str, Any]]:
    return [
        st
        for p in s.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _function_roles(s: Synth) -> dict[str, str]:
    """Function logical id -> the logical id of its role."""
    return {lid: fn["Properties"]["Role"]["Fn::GetAtt"][0] for lid, fn in s.functions().items()}


def _grants(s: Synth, role: str) -> dict[str, list[Any]]:
    """Action -> the resources a role's policies allow it on."""
    found: dict[str, list[Any]] = {}
    for st in _role_statements(s, role):
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for action in _actions(st):
            found.setdefault(action, []).extend(resources)
    return found


def _queue_ids(s: Synth) -> dict[str, str]:
    """"notifications" / "documents" / "billing" / "reviews" (and their "-dlq") -> logical id of the queue."""
    ids = {}
    for lid in s.resources("AWS::SQS::Queue"):
        for name in ("Notifications", "Documents", "Billing", "Reviews", "Imports"):
            if lid.startswith(name):
                ids[name.lower() + ("-dlq" if lid.startswith(f"{name}Dlq") else "")] = lid
    return ids


@pytest.mark.parametrize("city", CITIES)
def test_function_role_is_least_privilege(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    roles = _function_roles(s)
    assert len({roles[f] for f in ("SendNotifications", "APIHandler", "CheckDocuments", "IssueBills", "OpenReviews")}) == 5
    for role in set(roles.values()):
        statements = _role_statements(s, role)
        actions = {a for st in statements for a in _actions(st)}
        # the statistics' monthly recount scans the source tables (docs/decisions/0037), the imports worker
        # the households table for a tenants export (0036 "Export"); nothing else scans
        assert ("dynamodb:Scan" not in actions or role in (roles["RecountStats"], roles["RunImports"])) and not any(
            a.endswith(":*") or a == "*" for a in actions)
        for st in statements:
            assert st["Effect"] == "Allow" or st.get("Sid") in ("AuditNeverRewritten", "AuditSealsNeverRewritten"), st
            if st["Resource"] == "*":  # no resource-level permissions exist for these
                assert all(a.startswith("xray:") or a == "sns:Publish" for a in _actions(st)), st
        assert "Policies" not in s.template["Resources"][role]["Properties"]  # nothing hidden inline
        # Each role writes only its own functions' log groups.
        own = {lid for lid, r in roles.items() if r == role}
        groups = {r["Fn::GetAtt"][0] for r in _grants(s, role).get("logs:PutLogEvents", [])}
        assert {g.rsplit("Logs", 1)[0] for g in groups} == own, (role, groups)
    assert not s.resources("AWS::IAM::ManagedPolicy")


@pytest.mark.parametrize("city", CITIES)
def test_the_audit_trail_is_append_only(synthesized: dict[str, Synth], city: str) -> None:
    """等保 2.0: the app appends staff reads to the audit table and reads them; it cannot rewrite them."""
    s = synthesized[city]
    env = _function_env(s)
    append_only = [env["TABLE_AUDIT"]["Ref"], env["TABLE_AUDIT_SEALS"]["Ref"]]  # the trail and its daily seals (0040)

    def on_audit(resource: Any) -> bool:
        return any(table in json.dumps(resource) for table in append_only)

    for role in set(_function_roles(s).values()):
        for st in _role_statements(s, role):
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if not any(on_audit(r) for r in resources):
                continue
            if st["Effect"] == "Allow":
                assert set(_actions(st)) <= {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"}, st
            else:
                assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= set(_actions(st))


@pytest.mark.parametrize("city", CITIES)
def test_queues_have_dlqs_and_the_city_key(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    queues = s.resources("AWS::SQS::Queue")
    ids = _queue_ids(s)
    assert set(ids) - IMPORT_QUEUES == {"notifications", "documents", "billing", "reviews", "notifications-dlq",
                                        "documents-dlq", "billing-dlq", "reviews-dlq"} and len(
        [q for q in queues if not q.startswith("StatsDlq")]) == 8 + len(IMPORT_QUEUES)
    (key,) = [k for k in s.resources("AWS::KMS::Key") if k.startswith("DataKey")]  # (logs: OperationsKey)
    # the queue-fed functions' timeouts (a daily job may run longer: no queue feeds it)
    timeouts = {fn["Properties"].get("Timeout") for lid, fn in s.functions().items()
                if lid in ("SendNotifications", "CheckDocuments", "IssueBills", "OpenReviews")}
    for name in ("notifications", "documents", "billing", "reviews"):
        props = queues[ids[name]]["Properties"]
        assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [ids[f"{name}-dlq"], "Arn"]},
                                          "maxReceiveCount": 5}
        assert props["VisibilityTimeout"] >= max(t for t in timeouts if t), "a mapping needs visibility >= timeout"
    for lid, queue in queues.items():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}, lid
    for policy in s.resources("AWS::SQS::QueuePolicy").values():  # TLS only
        assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for st in policy["Properties"]["PolicyDocument"]["Statement"])


@pytest.mark.parametrize("city", CITIES)
def test_workers_are_fed_by_their_queues_with_partial_failures(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    ids = _queue_ids(s)
    mappings = {m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
                for m in s.resources("AWS::Lambda::EventSourceMapping").values()}
    assert set(mappings) - {"CountStats", "RunImports"} == {"SendNotifications", "CheckDocuments", "IssueBills",
                                                           "OpenReviews"}
    for function, queue, name in (("SendNotifications", "notifications", "send_notifications"),
                                  ("CheckDocuments", "documents", "check_documents"),
                                  ("IssueBills", "billing", "issue_bills"), ("OpenReviews", "reviews", "open_reviews")):
        props = mappings[function]
        assert props["EventSourceArn"] == {"Fn::GetAtt": [ids[queue], "Arn"]}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == (1 if queue in ("billing", "reviews") else 10)  # a shard message takes an invocation
        handler = s.template["Resources"][function]["Properties"]["Handler"]
        assert handler == f"chalicelib.handlers.workers.{name}"


@pytest.mark.parametrize("city", CITIES)
def test_uploads_are_announced_on_the_documents_queue(synthesized: dict[str, Synth], city: str) -> None:
    """Every upload (an application's documents, a review's proof, a move-out's photos: one prefix,
    chalicelib.domain.filetypes.UPLOADS) reaches the checking worker, deployed and local alike."""
    from chalicelib.domain.filetypes import UPLOADS
    from devstack.aws import UPLOADS_PREFIX

    assert UPLOADS == UPLOADS_PREFIX == "applications/"
    s = synthesized[city]
    ids = _queue_ids(s)
    bucket = s.template["Resources"][_function_env(s)["DOCUMENT_BUCKET"]["Ref"]]
    config = bucket["Properties"]["NotificationConfiguration"]
    assert config == {"QueueConfigurations": [{"Event": "s3:ObjectCreated:*",
                                               "Queue": {"Fn::GetAtt": [ids["documents"], "Arn"]},
                                               "Filter": {"S3Key": {"Rules": [{"Name": "prefix",
                                                                               "Value": "applications/"}]}}}]}
    assert not {t for t in (r["Type"] for r in s.template["Resources"].values()) if t.startswith("Custom::")}
    (policy_id, policy), = [(lid, p) for lid, p in s.resources("AWS::SQS::QueuePolicy").items()
                            if p["Properties"]["Queues"] == [{"Ref": ids["documents"]}]]
    assert policy_id in bucket["DependsOn"]  # S3 tests the destination when the bucket is configured
    (allow,) = [st for st in policy["Properties"]["PolicyDocument"]["Statement"] if st["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    key = next(v for k, v in s.resources("AWS::KMS::Key").items() if k.startswith("DataKey"))
    assert any(st.get("Principal") == {"Service": "s3.amazonaws.com"} and "kms:GenerateDataKey*" in _actions(st)
               for st in key["Properties"]["KeyPolicy"]["Statement"])


@pytest.mark.parametrize("city", CITIES)
def test_notification_channel_and_its_permissions(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    ids = _queue_ids(s)
    roles = _function_roles(s)
    notifications = {"Fn::GetAtt": [ids["notifications"], "Arn"]}
    documents = {"Fn::GetAtt": [ids["documents"], "Arn"]}
    for lid, fn in s.functions().items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["NOTIFY_QUEUE_URL"] == {"Ref": ids["notifications"]}, lid
        assert env["DOCUMENT_KMS_KEY"] == {"Fn::GetAtt": [next(k for k in s.resources("AWS::KMS::Key") if k.startswith("DataKey")), "Arn"]}
    env = _function_env(s)
    api, notify, check = (_grants(s, roles[f]) for f in ("APIHandler", "SendNotifications", "CheckDocuments"))

    # The API (and the app's other functions) only put notices, and a billing run's or a review campaign's
    # first messages, on queues.
    billing, reviews = {"Fn::GetAtt": [ids["billing"], "Arn"]}, {"Fn::GetAtt": [ids["reviews"], "Arn"]}
    imports = {"Fn::GetAtt": [ids["imports"], "Arn"]}  # an import's first message (docs/decisions/0036)
    assert api["sqs:SendMessage"] == [notifications, billing, reviews, imports] and "sqs:ReceiveMessage" not in api
    assert not {a for a in api if a.startswith("sns:")}
    cursor_key = next(k for k, v in s.resources("AWS::SecretsManager::Secret").items()
                      if "cursor" in v["Properties"].get("Description", ""))
    # its secrets: the key it signs pagination cursors with (issue 9 §3), and the city's merchant keys
    # (test_the_api_reads_only_its_citys_merchant_keys)
    merchant = [r for r in api.get("secretsmanager:GetSecretValue", []) if "/payments/" in json.dumps(r)]
    assert {a: [r for r in rs if r not in merchant] for a, rs in api.items() if a.startswith("secretsmanager:")} == {
        "secretsmanager:GetSecretValue": [{"Ref": cursor_key}]}
    # send_notifications consumes its queue, and has its channel and nothing else.
    assert notify["sqs:ReceiveMessage"] == [notifications] and notify["sqs:DeleteMessage"] == [notifications]
    assert not {a for a in notify if a.startswith(("dynamodb:", "s3:"))} and "sqs:SendMessage" not in notify
    # check_documents consumes its queue, reads and deletes objects (never writes them), uses the tables.
    assert check["sqs:ReceiveMessage"] == [documents]
    assert {"s3:GetObject", "s3:DeleteObject", "dynamodb:UpdateItem"} <= set(check) and "s3:PutObject" not in check
    assert check["sqs:SendMessage"] == [notifications]  # a rejected document is told to its owner
    assert not {a for a in check if a.startswith(("sns:", "secretsmanager:"))}

    if city in CHINA:
        secrets = {k: v for k, v in s.resources("AWS::SecretsManager::Secret").items() if k != cursor_key}
        (secret_id,) = secrets
        assert env["NOTIFY_CHANNEL"] == "http_sms" and env["SMS_ENDPOINT"].startswith("https://")
        assert env["SMS_SECRET_ARN"] == {"Ref": secret_id}
        assert notify["secretsmanager:GetSecretValue"] == [{"Ref": secret_id}]
        assert "sns:Publish" not in notify
    else:
        assert env["NOTIFY_CHANNEL"] == "sns" and "SMS_ENDPOINT" not in env and "SMS_SECRET_ARN" not in env
        assert notify["sns:Publish"] == ["*"] and "secretsmanager:GetSecretValue" not in notify
        assert set(s.resources("AWS::SecretsManager::Secret")) == {cursor_key}


# --- the code package -----------------------------------------------------------------------------
def _code_zip(s: Synth) -> Path:
    """The asset behind the functions' CodeUri, found through the assembly's asset manifest."""
    keys = {json.dumps(fn["Properties"]["CodeUri"]["Key"]) for fn in s.resources("AWS::Serverless::Function").values()}
    (key,) = keys
    manifest = json.loads(next(s.path.parent.glob("*.assets.json")).read_text())
    for asset in manifest["files"].values():
        if any(json.dumps(d["objectKey"]) == key for d in asset["destinations"].values()):
            return s.path.parent / asset["source"]["path"]
    raise AssertionError(f"no asset for CodeUri key {key}")


def _supported_tags(runtime: str) -> set[Any]:
    """Wheel tags a Lambda ``pythonX.Y`` x86_64 runtime (Amazon Linux 2023, glibc 2.34) can load."""
    from packaging import tags

    major, minor = (int(p) for p in runtime.removeprefix("python").split("."))
    platforms = [f"manylinux_2_{m}_x86_64" for m in range(34, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    interpreter = f"cp{major}{minor}"
    return set(tags.cpython_tags((major, minor), abis=[interpreter], platforms=platforms)) | set(
        tags.compatible_tags((major, minor), interpreter, platforms)
    )


def _iter_wheel_tags(zf: zipfile.ZipFile) -> Iterator[tuple[str, list[str]]]:
    for name in zf.namelist():
        if re.fullmatch(r"[^/]+\.dist-info/WHEEL", name):
            lines = zf.read(name).decode().splitlines()
            yield name, [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]


@pytest.fixture(scope="module")
def package(synthesized: dict[str, Synth]) -> tuple[str, zipfile.ZipFile]:
    s = synthesized["jiangmen"]
    (runtime,) = {fn["Properties"]["Runtime"] for fn in s.functions().values()}
    return runtime, zipfile.ZipFile(_code_zip(s))


def test_package_native_modules_match_the_runtime(package: tuple[str, zipfile.ZipFile]) -> None:
    """The template's runtime and the compiled code agree: every extension module is built for
    that CPython (or the stable ABI) on x86_64 Linux, and every wheel's tags fit that runtime."""
    from packaging.tags import parse_tag

    runtime, zf = package
    major, minor = runtime.removeprefix("python").split(".")
    supported = _supported_tags(runtime)
    wheels = list(_iter_wheel_tags(zf))
    assert wheels, "no *.dist-info/WHEEL in the package"
    for name, tag_lines in wheels:
        assert tag_lines, name
        assert any(parse_tag(t) & supported for t in tag_lines), f"{name}: {tag_lines} cannot run on {runtime}"

    extensions = []
    for info in zf.infolist():
        name = info.filename
        if not (name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]):
            continue
        header = zf.open(info).read(20)
        assert header[:4] == b"\x7fELF" and header[4] == 2, f"{name}: not a 64-bit ELF object"
        assert int.from_bytes(header[18:20], "little") == ELF_X86_64, f"{name}: not x86_64"
        tagged = re.search(r"\.cpython-(\d+)-([a-z0-9_]+)-linux-gnu\.so$", name)
        if tagged:
            assert tagged.group(1) == f"{major}{minor}" and tagged.group(2) == "x86_64", name
            extensions.append(name)
        elif name.endswith(".abi3.so"):
            extensions.append(name)
    assert extensions, "no compiled extension in the package: the check above proved nothing"
    assert not [n for n in zf.namelist() if n.endswith(".pyc") and ".cpython-313." not in n]


def test_package_carries_bytecode_lambda_can_use_for_every_module(package: tuple[str, zipfile.ZipFile]) -> None:
    """Lambda's code directory is read-only: a module without its python3.13 bytecode is compiled on
    every cold start. Every module of the app and of its dependencies has it, hash-based and never
    checked against the source (an mtime-checked .pyc would be judged against the zip's timestamps)."""
    from infra.packaging import lambda_python

    if lambda_python() is None:
        pytest.skip("no python3.13 on this machine to compile the package's bytecode with")
    _, zf = package
    names = set(zf.namelist())
    modules = [n for n in names if n.endswith(".py") and not n.startswith("chalice/") and n != "app.py"]
    assert len(modules) > 500, len(modules)  # the app and its dependencies, not a handful

    def bytecode(module: str) -> str:
        folder, _, file = module.rpartition("/")
        return "/".join(p for p in (folder, "__pycache__", f"{file[:-3]}.cpython-313.pyc") if p)

    missing = [m for m in modules if bytecode(m) not in names]
    assert not missing, missing[:20]
    for module in ("chalicelib/web.py", "chalicelib/repositories/tables.py", "pynamodb/models.py"):
        flags = int.from_bytes(zf.read(bytecode(module))[4:8], "little")
        assert flags == 0b01, (module, flags)  # hash-based, the source never checked


def test_package_carries_every_runtime_dependency_and_the_app(package: tuple[str, zipfile.ZipFile]) -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from infra.packaging import runtime_requirements

    _, zf = package
    names = set(zf.namelist())
    assert {"app.py", "chalicelib/__init__.py", "chalice/app.py"} <= names
    dist_infos = {n.split("/")[0] for n in names if ".dist-info/" in n}
    shipped = {canonicalize_name(d.removesuffix(".dist-info").rsplit("-", 1)[0]) for d in dist_infos}
    wanted = {canonicalize_name(Requirement(r).name) for r in runtime_requirements()}
    assert wanted <= shipped, wanted - shipped
    assert not {"pytest", "moto", "aws-cdk-lib", "chalice", "cfn-lint"} & shipped  # tools stay out


def test_wheels_are_cached(synthesized: dict[str, Synth], monkeypatch: pytest.MonkeyPatch) -> None:
    """A second fetch for the same requirements touches neither pip nor the network."""
    from infra import packaging

    def no_pip(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pip ran again")

    monkeypatch.setattr(packaging.subprocess, "run", no_pip)
    wheels = packaging.fetch_wheels()
    assert sorted(wheels.glob("*.whl"))


def test_the_verification_state_machine_is_the_file_the_local_stack_runs(synthesized: dict[str, Synth]) -> None:
    from infra.workflows import VERIFICATION, functions

    for s in synthesized.values():
        machines = s.resources("AWS::StepFunctions::StateMachine")
        assert len(machines) == 1, machines
        props = next(iter(machines.values()))["Properties"]
        assert props["DefinitionString"] == VERIFICATION.read_text(encoding="utf-8")
        subs = props["DefinitionSubstitutions"]
        assert set(subs) == {f"fn_{name}" for name in functions()} and len(subs) == 11
        for value in subs.values():  # every step is one of the app's functions, by reference
            lid = value["Fn::GetAtt"][0]
            assert s.template["Resources"][lid]["Type"] in FUNCTION_TYPES
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is False  # ID numbers stay out of logs
        env = _function_env(s)
        arn = env["VERIFICATION_STATE_MACHINE_ARN"]
        assert "arn:aws" not in json.dumps(arn)  # built from the partition of the region
        role = s.template["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] \
            == "states.amazonaws.com"


@pytest.mark.parametrize("city", CITIES)
def test_the_gateway_answers_in_the_error_envelope(synthesized: dict[str, Synth], city: str) -> None:
    """What API Gateway answers itself (an unknown route or method reaches no Lambda) is the API's
    envelope with a stable code and a zh-CN message; no template echoes anything of the request."""
    s = synthesized[city]
    apis = s.resources("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
    assert len(apis) == 1
    api_id = next(iter(apis))
    answers = {r["Properties"]["ResponseType"]: r["Properties"] for r in
               s.resources("AWS::ApiGateway::GatewayResponse").values()}
    expected = {"MISSING_AUTHENTICATION_TOKEN": ("404", "ROUTE_NOT_FOUND"),
                "INCOMPLETE_SIGNATURE": ("404", "ROUTE_NOT_FOUND"),
                "THROTTLED": ("429", "TOO_MANY_REQUESTS"),
                "DEFAULT_4XX": (None, "BAD_REQUEST"), "DEFAULT_5XX": (None, "INTERNAL_ERROR")}
    for response_type, (status, code) in expected.items():
        answer = answers[response_type]
        assert answer["RestApiId"] == {"Ref": api_id}, answer
        assert answer.get("StatusCode") == status, (response_type, answer)
        template = answer["ResponseTemplates"]["application/json"]
        body = json.loads(template.replace("$context.requestId", "r-1"))
        assert body["error"]["code"] == code and not body["error"]["message"].isascii(), body
        assert body["error"]["request_id"] == "r-1"
        assert "$input" not in template and "$context.authorizer" not in template  # nothing echoed
        assert "header" not in template.lower() and "$util" not in template
    for answer in answers.values():
        assert answer["ResponseParameters"]["gatewayresponse.header.Content-Type"].startswith("'application/json")


@pytest.mark.parametrize("city", CITIES)
def test_cursors_are_signed_with_a_secret_of_the_stack(synthesized: dict[str, Synth], city: str) -> None:
    s = synthesized[city]
    secrets = {k for k, v in s.resources("AWS::SecretsManager::Secret").items() if "cursor" in
               v["Properties"].get("Description", "")}
    assert len(secrets) == 1
    secret = next(iter(secrets))
    assert "GenerateSecretString" in s.template["Resources"][secret]["Properties"]  # made by AWS, never committed
    api = next(fn for lid, fn in s.functions().items() if lid == "APIHandler")
    assert api["Properties"]["Environment"]["Variables"]["CURSOR_SECRET_ARN"] == {"Ref": secret}
    role = _function_roles(s)["APIHandler"]
    assert {"Ref": secret} in _grants(s, role).get("secretsmanager:GetSecretValue", [])


@pytest.mark.parametrize("city", CITIES)
def test_the_roles_table_pattern_covers_every_table_but_the_audit_trail(synthesized: dict[str, Synth], city: str) -> None:
    """The functions' roles grant ``<stack>-data-*`` (one statement, whatever the number of tables):
    every table but the append-only audit trail is named inside that pattern, the audit trail outside."""
    s = synthesized[city]
    names = {lid: t["Properties"]["TableName"] for lid, t in s.resources("AWS::DynamoDB::Table").items()}
    audit = _function_env(s)["TABLE_AUDIT"]["Ref"]
    seals = _function_env(s)["TABLE_AUDIT_SEALS"]["Ref"]  # the trail's daily seals, append-only too (0040)
    prefix = names[audit].rsplit("-audit", 1)[0] + "-data-"
    assert not names[audit].startswith(prefix) and not names[seals].startswith(prefix)
    assert all(n.startswith(prefix) for lid, n in names.items() if lid not in (audit, seals)), names
    grants = json.dumps([st for role in set(_function_roles(s).values()) for st in _role_statements(s, role)
                         if st["Effect"] == "Allow" and st.get("Sid") == "TableItems"])
    assert f"table/{prefix}*" in grants and "-audit" not in grants


@pytest.mark.parametrize("city", CITIES)
def test_the_monthly_billing_run_is_scheduled_on_the_citys_day(synthesized: dict[str, Synth], city: str) -> None:
    """EventBridge Scheduler (in the China regions too), China time, the day and hour of the city's
    rent.json, invoking start_billing_run with a role that may invoke only that function."""
    from chalicelib.city_files import city_file

    s = synthesized[city]
    when = city_file(city, "rent.json").schedule
    (schedule,) = s.resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == f"cron(0 {when.hour} {when.day_of_month} * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Asia/Shanghai" and props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["Target"]["Arn"] == {"Fn::GetAtt": ["StartBillingRun", "Arn"]}
    assert s.template["Resources"]["StartBillingRun"]["Properties"]["Handler"] == \
        "chalicelib.handlers.schedules.start_billing_run"
    role = props["Target"]["RoleArn"]["Fn::GetAtt"][0]
    assumed = s.template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [st["Principal"]["Service"] for st in assumed] == ["scheduler.amazonaws.com"]
    assert _grants(s, role) == {"lambda:InvokeFunction": [{"Fn::GetAtt": ["StartBillingRun", "Arn"]}]}


@pytest.mark.parametrize("city", CITIES)
def test_billing_work_is_sent_by_the_app_and_the_worker_and_every_dlq_has_an_alarm(synthesized: dict[str, Synth],
                                                                                  city: str) -> None:
    s = synthesized[city]
    ids = _queue_ids(s)
    billing = {"Fn::GetAtt": [ids["billing"], "Arn"]}
    roles = _function_roles(s)
    for function in ("APIHandler", "StartBillingRun", "IssueBills"):
        assert billing in _grants(s, roles[function]).get("sqs:SendMessage", []), function
    assert billing in _grants(s, roles["IssueBills"]).get("sqs:ReceiveMessage", [])
    assert billing not in _grants(s, roles["SendNotifications"]).get("sqs:SendMessage", [])
    assert _function_env(s)["BILLING_QUEUE_URL"] == {"Ref": ids["billing"]}
    alarms = [a for a in s.resources("AWS::CloudWatch::Alarm").values() if a["Properties"]["Namespace"] == "AWS/SQS"]
    watched = {d["Value"]["Fn::GetAtt"][0] for a in alarms for d in a["Properties"]["Dimensions"]}
    watched = {w for w in watched if not w.startswith("StatsDlq")}  # the statistics' stream failures (tests/infra/test_stats.py)
    assert watched == {ids[f"{q}-dlq"] for q in ("notifications", "documents", "billing", "reviews", "imports")}
    for alarm in alarms:
        props = alarm["Properties"]
        assert (props["MetricName"], props["Namespace"], props["Threshold"]) == (
            "ApproximateNumberOfMessagesVisible", "AWS/SQS", 1)


@pytest.mark.parametrize("city", CITIES)
def test_review_campaign_work_is_sent_by_the_app_and_its_worker_which_queues_notices(synthesized: dict[str, Synth],
                                                                                     city: str) -> None:
    """Issue 12 §1 (docs/decisions/0032): a campaign's passes go through their own queue (DLQ, alarm) to
    ``open_reviews``, the same sharded job as billing; its role consumes and sends on that queue, queues
    notices, and may not touch the billing queue; the daily ``review_notices`` job starts reminder passes."""
    s = synthesized[city]
    ids = _queue_ids(s)
    reviews, billing = {"Fn::GetAtt": [ids["reviews"], "Arn"]}, {"Fn::GetAtt": [ids["billing"], "Arn"]}
    notifications = {"Fn::GetAtt": [ids["notifications"], "Arn"]}
    roles = _function_roles(s)
    worker = _grants(s, roles["OpenReviews"])
    assert worker["sqs:ReceiveMessage"] == [reviews] and worker["sqs:SendMessage"] == [reviews, notifications]
    assert billing not in worker["sqs:SendMessage"] and "dynamodb:Scan" not in worker
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem", "dynamodb:Query"} <= set(worker)
    for function in ("APIHandler", "ReviewNotices"):
        assert reviews in _grants(s, roles[function]).get("sqs:SendMessage", []), function
    assert reviews not in _grants(s, roles["IssueBills"]).get("sqs:SendMessage", [])
    assert _function_env(s)["REVIEWS_QUEUE_URL"] == {"Ref": ids["reviews"]}
    events = list(s.functions()["ReviewNotices"]["Properties"]["Events"].values())
    assert events == [{"Properties": {"Schedule": "cron(30 1 * * ? *)"}, "Type": "Schedule"}]  # 09:30 China time
    tables = {t["Properties"]["TableName"]: t for t in s.resources("AWS::DynamoDB::Table").values()}
    (campaigns,) = [t for name, t in tables.items() if name.endswith("-data-review_campaigns")]
    assert [g["IndexName"] for g in campaigns["Properties"]["GlobalSecondaryIndexes"]] == ["by_opened"]


@pytest.mark.parametrize("city", CITIES)
def test_the_payments_sweep_runs_every_five_minutes_over_the_payments_index(synthesized: dict[str, Synth],
                                                                           city: str) -> None:
    """Issue 11 §2: orders without a notification are asked at the provider by ``sweep_payments`` (EventBridge,
    every 5 minutes), whose role reads the payments table and its sparse by_task index (docs/decisions/0028)."""
    s = synthesized[city]
    function = s.functions()["SweepPayments"]
    events = list(function["Properties"]["Events"].values())
    assert events == [{"Properties": {"Schedule": "rate(5 minutes)"}, "Type": "Schedule"}]
    tables = {t["Properties"]["TableName"]: t for t in s.resources("AWS::DynamoDB::Table").values()}
    (payments,) = [t for name, t in tables.items() if name.endswith("-data-payments")]
    indexes = {g["IndexName"]: g for g in payments["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes["by_task"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    grants = _grants(s, _function_roles(s)["SweepPayments"])
    assert all(any("-data-*" in json.dumps(r) for r in grants.get(a, [])) for a in
               ("dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem"))


@pytest.mark.parametrize("city", CITIES)
def test_the_api_reads_only_its_citys_merchant_keys(synthesized: dict[str, Synth], city: str) -> None:
    """Each provider the city's rent.json accepts: its secret's name in the environment, and the API's
    role may read that secret (and no other payment secret)."""
    from chalicelib.city_files import city_file

    s = synthesized[city]
    env = _function_env(s)
    providers = city_file(city, "rent.json").providers
    names = {"wechat": "WECHAT_PAY_SECRET_ARN", "alipay": "ALIPAY_SECRET_ARN"}
    for provider, var in names.items():
        assert env.get(var) == (f"{city}/payments/{provider}" if provider in providers else None), var
    grants = json.dumps([st for role in set(_function_roles(s).values()) for st in _role_statements(s, role)
                         if st.get("Sid") == "PaymentMerchantKeys"])
    for provider in names:
        assert (f"{city}/payments/{provider}-??????" in grants) == (provider in providers)


@pytest.mark.parametrize("city", CITIES)
def test_the_daily_rent_jobs_and_the_reconciliation_alarm(synthesized: dict[str, Synth], city: str) -> None:
    """Reminders, arrears and reconciliation run daily (China time, as UTC crons), with the time a day's
    work needs; an alarm watches the unresolved mismatches the reconciliation job counts
    (docs/decisions/0029)."""
    from chalicelib.handlers.schedules import UNRESOLVED_MISMATCHES
    from infra.stack import LONG_JOBS

    s = synthesized[city]
    functions = s.functions()
    crons = {"RentReminders": "cron(0 1 * * ? *)", "RefreshArrears": "cron(30 18 * * ? *)",
             "ReconcileStatements": "cron(30 2 * * ? *)"}  # 09:00, 02:30 and 10:30 in China
    for lid, cron in crons.items():
        events = functions[lid]["Properties"]["Events"]
        assert [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"] == [cron], lid
    assert {lid: functions[lid]["Properties"]["Timeout"] for lid in crons} == {
        "RentReminders": LONG_JOBS["rent_reminders"], "RefreshArrears": LONG_JOBS["refresh_arrears"],
        "ReconcileStatements": LONG_JOBS["reconcile_statements"]}
    [alarm] = [a for a in s.resources("AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("MetricName") == UNRESOLVED_MISMATCHES]
    props = alarm["Properties"]
    assert props["Namespace"] == "PublicHousing"
    assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == {"service": "public-housing", "city": city}
    assert props["Threshold"] == 1 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["Period"] == 86400 and props["TreatMissingData"] == "breaching"


@pytest.mark.parametrize("city", CITIES)
def test_a_missing_holiday_calendar_has_an_alarm(synthesized: dict[str, Synth], city: str) -> None:
    """The daily holiday_calendar_check job counts the missing years; an alarm watches the count, and a
    day without it (docs/decisions/0035)."""
    from chalicelib.metric_names import HOLIDAY_CALENDAR_MISSING

    s = synthesized[city]
    events = s.functions()["HolidayCalendarCheck"]["Properties"]["Events"]
    assert [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"] == ["cron(0 0 * * ? *)"]
    [alarm] = [a for a in s.resources("AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("MetricName") == HOLIDAY_CALENDAR_MISSING]
    props = alarm["Properties"]
    assert props["Namespace"] == "PublicHousing" and props["Statistic"] == "Maximum"
    assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == {"service": "public-housing", "city": city}
    assert props["Threshold"] == 1 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["Period"] == 86400 and props["TreatMissingData"] == "breaching"


# --- statistics (docs/decisions/0037) -------------------------------------------------------------------
@pytest.mark.parametrize("city", CITIES)
def test_the_statistics_count_every_source_tables_stream(synthesized: dict[str, Synth], city: str) -> None:
    from chalicelib.domain.stats import SOURCES

    s = synthesized[city]
    env = _function_env(s)
    tables = s.resources("AWS::DynamoDB::Table")
    streamed = {lid for lid, t in tables.items() if "StreamSpecification" in t["Properties"]}
    assert streamed == {env[f"TABLE_{name.upper()}"]["Ref"] for name in SOURCES}
    for lid in streamed:
        assert tables[lid]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    mappings = [m["Properties"] for m in s.resources("AWS::Lambda::EventSourceMapping").values()
                if m["Properties"]["FunctionName"] == {"Ref": "CountStats"}]
    assert sorted(m["EventSourceArn"]["Fn::GetAtt"][0] for m in mappings) == sorted(streamed)
    for m in mappings:
        assert (m["StartingPosition"], m["BatchSize"], m["BisectBatchOnFunctionError"]) == ("TRIM_HORIZON", 100, True)
        assert m["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0].startswith("StatsDlq")
    roles = _function_roles(s)
    counter = _grants(s, roles["CountStats"])
    assert sorted(r["Fn::GetAtt"][0] for r in counter["dynamodb:GetRecords"]) == sorted(streamed)
    assert "dynamodb:GetRecords" not in _grants(s, roles["APIHandler"])


@pytest.mark.parametrize("city", CITIES)
def test_only_the_recount_and_a_tenants_export_scan_and_a_mismatch_is_an_alarm(synthesized: dict[str, Synth], city: str) -> None:
    from chalicelib.domain.stats import SOURCES
    from chalicelib.metric_names import STATS_RECOUNT_MISMATCHES

    s = synthesized[city]
    env = _function_env(s)
    roles = _function_roles(s)
    scans = {role: _grants(s, role).get("dynamodb:Scan") for role in set(roles.values())}
    assert {role for role, granted in scans.items() if granted} == {roles["RecountStats"], roles["RunImports"]}
    # the imports worker: the households table alone (a tenants export, docs/decisions/0036 "Export")
    assert [r["Fn::GetAtt"][0] for r in scans[roles["RunImports"]]] == [env["TABLE_HOUSEHOLDS"]["Ref"]]
    assert sorted(r["Fn::GetAtt"][0] for r in scans[roles["RecountStats"]]) == sorted(
        env[f"TABLE_{name.upper()}"]["Ref"] for name in SOURCES)
    assert s.functions()["RecountStats"]["Properties"]["Timeout"] == 900
    alarms = [a["Properties"] for a in s.resources("AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("MetricName") == STATS_RECOUNT_MISMATCHES]
    assert len(alarms) == 1 and alarms[0]["Threshold"] == 1
    assert alarms[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("city", CITIES)
def test_the_tables_are_exported_for_glue_and_athena(synthesized: dict[str, Synth], city: str) -> None:
    from chalicelib.domain.stats import SOURCES

    s = synthesized[city]
    buckets = {lid: b["Properties"] for lid, b in s.resources("AWS::S3::Bucket").items() if lid.startswith("Analytics")}
    (bucket_id, bucket), = buckets.items()
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms"
    export = s.functions()["ExportTables"]["Properties"]
    assert export["Environment"]["Variables"]["ANALYTICS_BUCKET"] == {"Ref": bucket_id}
    granted = _grants(s, _function_roles(s)["ExportTables"])
    assert len(granted["dynamodb:ExportTableToPointInTime"]) == len(SOURCES)
    assert "dynamodb:Scan" not in granted
    (database,) = s.resources("AWS::Glue::Database").values()
    (crawler,) = s.resources("AWS::Glue::Crawler").values()
    assert crawler["Properties"]["DatabaseName"] == database["Properties"]["DatabaseInput"]["Name"]
    paths = [t["Path"]["Fn::Join"][1][-1] for t in crawler["Properties"]["Targets"]["S3Targets"]]
    assert sorted(paths) == sorted(f"/exports/{name}/" for name in SOURCES)
    (workgroup,) = s.resources("AWS::Athena::WorkGroup").values()
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert not s.resources("AWS::QuickSight::DataSource", "AWS::QuickSight::Analysis")


#: The imports' queue and its DLQ (docs/decisions/0036).
IMPORT_QUEUES = {"imports", "imports-dlq"}


@pytest.mark.parametrize("city", CITIES)
def test_the_imports_worker_has_its_queue_its_time_and_only_the_imports_files(synthesized: dict[str, Synth],
                                                                              city: str) -> None:
    s = synthesized[city]
    ids = _queue_ids(s)
    queues = s.resources("AWS::SQS::Queue")
    props = queues[ids["imports"]]["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == 5
    timeout = s.functions()["RunImports"]["Properties"]["Timeout"]
    assert timeout == 900 and props["VisibilityTimeout"] >= timeout
    (mapping,) = [m["Properties"] for m in s.resources("AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["FunctionName"]["Ref"] == "RunImports"]
    assert mapping["BatchSize"] == 1 and mapping["EventSourceArn"] == {"Fn::GetAtt": [ids["imports"], "Arn"]}
    text = json.dumps(s.template)
    assert "IMPORTS_QUEUE_URL" in text and '"imports/*"' in text.replace("/imports/*", '"imports/*"')
