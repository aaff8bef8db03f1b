"""The compliance scanners over every city's template (issue 15 §2): cdk-nag's AwsSolutions pack and
checkov report nothing but the design choices infra/compliance.py names, each with its reason.

A failure lists every finding as ``scanner rule @ resource: message``: fix the resource, or, if it is
a design choice, add it to infra/compliance.py with a reason that would convince an assessor.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.synthesized import CITIES, Synth

pytestmark = pytest.mark.xdist_group("infra")

#: checkov checks failing on this branch whose fix is another change in flight (the tracking issue's
#: section). Each must still fail (test_pending_findings_are_still_pending): once the fix is merged,
#: delete its line here.
PENDING: dict[str, str] = {}

#: A template checkov must fail: a bucket with none of the document bucket's protections.
BAD_TEMPLATE = {"Resources": {"OpenBucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}


@pytest.fixture(scope="module")
def checkov(synthesized: dict[str, Synth], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every city's template and the bad one (cached by template content)."""
    from infra.compliance import checkov_scan

    bad = tmp_path_factory.mktemp("checkov") / "bad.template.json"
    bad.write_text(json.dumps(BAD_TEMPLATE), encoding="utf-8")
    results = checkov_scan([bad] + [synthesized[city].path for city in CITIES])
    return {"bad": results[bad], **{city: results[synthesized[city].path] for city in CITIES}}


def _listing(findings: list[Any]) -> str:
    return "\n".join(str(f) for f in findings)


@pytest.mark.parametrize("city", CITIES)
def test_cdk_nag_finds_nothing_unacknowledged(synthesized: dict[str, Synth], city: str) -> None:
    from infra.compliance import nag_findings

    found = nag_findings(synthesized[city].path.parent)
    assert found == [], f"{city}: {len(found)} cdk-nag findings (errors and warnings):\n{_listing(found)}"


@pytest.mark.parametrize("city", CITIES)
def test_checkov_finds_nothing_unskipped(checkov: dict[str, Any], city: str) -> None:
    found = [f for f in checkov[city].failed if f.rule not in PENDING]
    assert found == [], f"{city}: {len(found)} checkov failed checks:\n{_listing(found)}"


def test_pending_findings_are_still_pending(checkov: dict[str, Any]) -> None:
    """A pending check that passes everywhere is fixed: its PENDING line goes."""
    failing = {f.rule for city in CITIES for f in checkov[city].failed}
    fixed = sorted(set(PENDING) - failing)
    assert fixed == [], f"fixed now, delete from PENDING: {fixed}"


def test_the_scanners_see_a_bad_resource(checkov: dict[str, Any], tmp_path: Path) -> None:
    """Neither scanner is silent by accident: an unprotected bucket fails both."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from infra.compliance import add_checks, is_validation_failure, nag_findings

    assert {"CKV_AWS_18", "CKV_AWS_21"} <= {f.rule for f in checkov["bad"].failed}, _listing(checkov["bad"].failed)
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=False)
    s3.Bucket(cdk.Stack(app, "Bad", env=cdk.Environment(region="cn-northwest-1")), "OpenBucket")
    add_checks(app)
    with pytest.raises(RuntimeError) as failed:
        app.synth()
    assert is_validation_failure(failed.value)
    rules = {f.rule for f in nag_findings(tmp_path)}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules, rules


@pytest.mark.parametrize("city", CITIES)
def test_every_checkov_skip_is_one_of_the_design_choices(checkov: dict[str, Any], city: str) -> None:
    """Skips come from infra/compliance.py only (the resource metadata it writes), each with its reason."""
    from infra.compliance import CHECKOV_SKIPS, MIN_REASON

    reasons = {(sk.check, sk.reason) for sk in CHECKOV_SKIPS}
    skipped = checkov[city].skipped
    assert skipped, "no design choice reached checkov: its skip metadata is not in the template"
    strays = [f for f in skipped if (f.rule, f.message) not in reasons or len(f.message) < MIN_REASON]
    assert strays == [], _listing(strays)


@pytest.mark.parametrize("city", CITIES)
def test_every_acknowledged_nag_finding_has_its_reason(synthesized: dict[str, Synth], city: str) -> None:
    """cdk-nag's acknowledgments, as the cloud assembly records them: each with a reason of substance."""
    from infra.compliance import MIN_REASON

    path = synthesized[city].path
    metadata = json.loads(path.with_name(path.name.replace(".template.json", ".metadata.json")).read_text())
    acknowledged = {rule: reason for entries in metadata.values() for entry in entries
                    if entry["type"] == "aws:cdk:acknowledged-rules" for rule, reason in entry["data"].items()}
    assert any("AwsSolutions-IAM5" in rule for rule in acknowledged), sorted(acknowledged)
    short = {rule: reason for rule, reason in acknowledged.items() if len(reason) < MIN_REASON}
    assert short == {}


@pytest.mark.parametrize("city", CITIES)
def test_who_touched_a_document_is_logged(synthesized: dict[str, Synth], city: str) -> None:
    """The document bucket's server access logs go to a bucket of their own, which admits S3's log
    delivery for that bucket and this account only, and keeps them as long as the city's logs."""
    from infra.city_config import load_city

    s = synthesized[city]
    env = s.resources("AWS::Serverless::Function")["APIHandler"]["Properties"]["Environment"]["Variables"]
    documents = s.template["Resources"][env["DOCUMENT_BUCKET"]["Ref"]]["Properties"]
    target = documents["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert documents["LoggingConfiguration"]["LogFilePrefix"] == "documents/"
    logs = s.template["Resources"][target]["Properties"]
    days = load_city(city).limits["log_retention_days"]
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == days
    (policy,) = [p["Properties"]["PolicyDocument"] for p in s.resources("AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": target}]
    (delivery,) = [st for st in policy["Statement"] if st.get("Sid") == "S3ServerAccessLogs"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": [env["DOCUMENT_BUCKET"]["Ref"], "Arn"]}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
