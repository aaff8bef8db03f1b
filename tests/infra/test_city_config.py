"""City files: the shipped ones load, and a wrong one fails loudly with the field named."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.city_config import CityConfigError, available_cities, load_city, parse_city

OIDC_CITY: dict[str, Any] = {
    "code": "testcity",
    "name": "测试市",
    "region": "cn-north-1",
    "identity": {
        "provider": "oidc",
        "issuer": "https://sso.example.gov.cn/oidc",
        "jwks_url": "https://sso.example.gov.cn/oidc/jwks",
        "audience": "public-housing",
        "roles_claim": "roles",
        "city_claim": "city",
        "token_use": None,
    },
    "limits": {"log_retention_days": 180, "document_retention_days": 180},
    "departments": {},
    "notifications": {"channel": "http_sms", "sms_endpoint": "https://sms.example.gov.cn/api/send"},
}


def test_shipped_cities() -> None:
    assert {"jiangmen", "xining", "sandbox"} <= set(available_cities())
    jiangmen, xining, sandbox = load_city("jiangmen"), load_city("xining"), load_city("sandbox")
    assert (jiangmen.name, xining.name) == ("江门市", "西宁市")
    for city in (jiangmen, xining):
        assert city.partition == "aws-cn" and city.identity.provider == "oidc"
        assert city.identity.token_use is None and city.departments == {}
    assert sandbox.partition == "aws" and sandbox.identity.provider == "cognito"
    assert sandbox.identity.token_use == "id"


def test_every_shipped_city_file_is_valid() -> None:
    for code in available_cities():
        assert load_city(code).code == code


def _error(raw: Any) -> str:
    with pytest.raises(CityConfigError) as info:
        parse_city(raw, source="test.json", expected_code="testcity")
    return str(info.value)


def _with(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(OIDC_CITY)
    for dotted, value in changes.items():
        target = raw
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return raw


def test_notification_channels() -> None:
    from infra.city_config import Notifications

    assert load_city("jiangmen").notifications.channel == "http_sms"
    assert load_city("xining").notifications.sms_endpoint.startswith("https://")
    assert load_city("sandbox").notifications == Notifications("sns")
    named = parse_city(_with(notifications__sms_secret_name="jiangmen/sms-provider"))
    assert named.notifications == Notifications("http_sms", "https://sms.example.gov.cn/api/send", "jiangmen/sms-provider")
    global_city = _with(region="ap-southeast-1", identity={"provider": "cognito"}, notifications=KeyError)
    assert parse_city(global_city).notifications == Notifications("sns")  # the default outside China


def test_a_valid_city_parses() -> None:
    city = parse_city(copy.deepcopy(OIDC_CITY))
    assert city.limits["log_retention_days"] == 180 and city.observability["log_level"] == "INFO"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_with(colour="red"), "colour: unknown key"),
        (_with(code="other"), "does not match the file name"),
        (_with(region="china"), "region:"),
        (_with(identity={"provider": "cognito"}), "Cognito user pools do not exist in the China partition"),
        (_with(identity__issuer="http://sso.example.gov.cn"), "identity.issuer: must be an https:// URL"),
        (_with(identity__audience=KeyError), "identity.audience: required"),
        (_with(identity__provider="saml"), 'identity.provider: must be "oidc" or "cognito"'),
        (_with(limits__log_retention_days=100), "CloudWatch Logs accepts only"),
        (_with(limits__log_retention_days=90), "at least 180"),
        (_with(limits__max_units=3), "limits.max_units: unknown limit"),
        (_with(departments=[]), "departments: must be an object"),
        (_with(name=""), "name: required"),
        (_with(notifications=KeyError), "notifications: required in China"),
        (_with(notifications={"channel": "sns"}), "SNS SMS does not exist in the China partition"),
        (_with(notifications={"channel": "http_sms"}), "notifications.sms_endpoint: required"),
        (_with(notifications__sms_endpoint="http://sms.example.gov.cn"), "notifications.sms_endpoint: required"),
        (_with(notifications__sms_secret_name="arn:aws-cn:secretsmanager:x"), "not an ARN"),
        (_with(notifications__channel="wechat"), 'notifications.channel: must be "sns" or "http_sms"'),
        (_with(notifications__push=True), "notifications.push: unknown key"),
        (_with(identity__realname_claims={"name": "name"}), "identity.realname_claims"),
        (_with(real_name={"endpoint": "http://rn.example.gov.cn"}), "real_name.endpoint: required"),
        (_with(real_name={"endpoint": "https://rn.example.gov.cn", "face": "yes"}), "real_name.face"),
    ],
)
def test_bad_city_files_name_the_problem(raw: dict[str, Any], message: str) -> None:
    assert message in _error(raw)


def test_errors_are_reported_together_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "testcity.json").write_text(json.dumps(_with(region="nowhere", name="")), encoding="utf-8")
    with pytest.raises(CityConfigError) as info:
        load_city("testcity", directory=tmp_path)
    text = str(info.value)
    assert str(tmp_path / "testcity.json") in text and "region:" in text and "name:" in text
    with pytest.raises(CityConfigError, match="known cities: testcity"):
        load_city("elsewhere", directory=tmp_path)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(CityConfigError, match="not valid JSON"):
        load_city("broken", directory=tmp_path)


def test_real_name_settings_parse() -> None:
    """实名 (docs/decisions/0016): the claims the provider vouches for; the check provider otherwise."""
    city = parse_city(_with(identity__realname_claims={"name": "name", "id_number": "id_card_no"},
                            real_name={"endpoint": "https://rn.example.gov.cn/v1", "face": False}))
    assert (city.identity.name_claim, city.identity.id_number_claim) == ("name", "id_card_no")
    assert city.real_name.endpoint == "https://rn.example.gov.cn/v1" and city.real_name.face is False
    assert parse_city(copy.deepcopy(OIDC_CITY)).real_name.endpoint is None


# --- operations: who hears the alarms, the WAF's limits (infra/operations.py, infra/edge.py) -------
def test_operations_default_and_as_written() -> None:
    from infra.city_config import WAF_MAX_BODY_KB, AlarmSubscription

    plain = parse_city(copy.deepcopy(OIDC_CITY)).operations
    assert (plain.alarm_subscriptions, plain.waf_rate_limit, plain.waf_max_body_kb) == ((), 2000, WAF_MAX_BODY_KB)
    raw = copy.deepcopy(OIDC_CITY)
    raw["operations"] = {"alarm_subscriptions": [{"protocol": "https", "endpoint": "https://ops.example.gov.cn/hook"},
                                                 {"protocol": "email", "endpoint": "duty@example.gov.cn"}],
                         "waf_rate_limit": 500, "waf_max_body_kb": 8}
    ops = parse_city(raw).operations
    assert ops.alarm_subscriptions == (AlarmSubscription("https", "https://ops.example.gov.cn/hook"),
                                       AlarmSubscription("email", "duty@example.gov.cn"))
    assert (ops.waf_rate_limit, ops.waf_max_body_kb) == (500, 8)


@pytest.mark.parametrize(("operations", "field"), [
    ({"alarm_subscriptions": [{"protocol": "sms", "endpoint": "+8613800000000"}]}, "alarm_subscriptions[0].protocol"),
    ({"alarm_subscriptions": [{"protocol": "https", "endpoint": "http://ops.example.gov.cn"}]},
     "alarm_subscriptions[0].endpoint"),
    ({"alarm_subscriptions": [{"protocol": "email", "endpoint": "not-an-address"}]}, "alarm_subscriptions[0].endpoint"),
    ({"alarm_subscriptions": [{"protocol": "pager", "endpoint": "x"}]}, "alarm_subscriptions[0].protocol"),
    ({"alarm_subscriptions": "duty@example.gov.cn"}, "alarm_subscriptions"),
    ({"waf_rate_limit": 5}, "waf_rate_limit"),
    ({"waf_max_body_kb": 64}, "waf_max_body_kb"),  # WAF could not see past the first 16 KB
    ({"waf_max_body_kb": True}, "waf_max_body_kb"),
    ({"dashboards": 2}, "dashboards"),
])
def test_a_wrong_operations_section_names_its_field(operations: dict[str, Any], field: str) -> None:
    raw = copy.deepcopy(OIDC_CITY)  # in China: no SMS
    raw["operations"] = operations
    with pytest.raises(CityConfigError, match=re.escape(f"operations.{field}:")):
        parse_city(raw)


def test_sms_alarms_outside_china_only() -> None:
    raw = copy.deepcopy(OIDC_CITY)
    raw["region"] = "ap-southeast-1"
    raw["operations"] = {"alarm_subscriptions": [{"protocol": "sms", "endpoint": "+6591234567"}]}
    assert parse_city(raw).operations.alarm_subscriptions[0].protocol == "sms"
