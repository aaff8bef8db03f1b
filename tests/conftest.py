"""Shared fixtures: one local AWS (moto server on loopback) per test worker, the app's test client,
real tokens from moto's Cognito, and two guards: no network beyond loopback, and no DynamoDB Scan."""
from __future__ import annotations

import ipaddress
import json
import os
import socket
from typing import Any, Iterator

import pytest

# Powertools reads these at import: set them before the app is imported.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "public-housing")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
os.environ.setdefault("AWS_DEFAULT_REGION", "cn-northwest-1")
for _key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_key, None)

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = ipaddress.ip_address(socket.gethostbyname(host)) if host == "localhost" else None
        if ip is None or not ip.is_loopback:
            raise ConnectionRefusedError(f"tests may only reach loopback, not {host}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]

# The composition root the app installs (app.py): tests that reach the domain without the app too.
from chalicelib import composition  # noqa: E402

composition.install()

# The log scan: a test whose printed or logged output carries personal data in clear fails.
from tests.logscan import _scan_what_capsys_hands_the_test, pytest_runtest_makereport  # noqa: E402,F401


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    from devstack.stack import LocalStack

    with LocalStack() as local:
        yield local


@pytest.fixture(scope="session")
def app(stack: Any) -> Any:
    from app import app as chalice_app

    return chalice_app


@pytest.fixture(scope="session")
def local_server(stack: Any) -> Iterator[str]:
    """The app behind Chalice's local HTTP server, as `make run` serves it (one per process:
    Chalice's local server cannot be built twice in one interpreter)."""
    import threading

    from devstack.__main__ import _local_server

    srv = _local_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server.server_port}"
    srv.shutdown()


@pytest.fixture()
def client(app: Any) -> Iterator[Any]:
    from chalice.test import Client

    with Client(app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def no_scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every DynamoDB call a test causes is recorded; a Scan anywhere fails the test."""
    import botocore.client

    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
            if operation == "Scan":
                raise AssertionError("a request path made a DynamoDB Scan")
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield calls


class Tokens:
    """Real ID tokens signed by moto's Cognito, cached per role for the session."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self._cache: dict[str, str] = {}

    def __call__(self, role: str) -> str:
        if role not in self._cache:
            self._cache[role] = self.stack.token(role)
        return self._cache[role]

    def headers(self, role: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **extra}
        if role:
            headers["Authorization"] = f"Bearer {self(role)}"
        return headers


@pytest.fixture(scope="session")
def tokens(stack: Any) -> Tokens:
    return Tokens(stack)


def body(response: Any) -> Any:
    return json.loads(response.body)


def post(client: Any, path: str, data: Any, headers: dict[str, str], method: str = "POST") -> Any:
    payload = data if isinstance(data, (str, bytes)) else json.dumps(data, ensure_ascii=False)
    return getattr(client.http, method.lower())(path, headers=headers, body=payload)


# --- a small catalogue, built through the domain services -------------------------------------
def build_catalogue() -> dict[str, Any]:
    from chalicelib.bodies import AreaIn, EstateIn, FacilityIn, PolicyIn, StreetIn, UnitIn
    from chalicelib.domain import areas, estates, facilities, policies, units
    from chalicelib.domain.policies import PolicyStatus
    from chalicelib.domain.units import UnitStatus

    for area_id, name, district in (("pengjiang", "蓬江片区", "蓬江区"), ("jianghai", "江海片区", "江海区")):
        areas.create_area(AreaIn.model_validate({"area_id": area_id, "name": name, "district": district}))
    for area_id, street_id, name in (("pengjiang", "baisha", "白沙街道"), ("pengjiang", "huanshi", "环市街道"),
                                     ("jianghai", "waihai", "外海街道")):
        areas.create_street(area_id, StreetIn.model_validate({"street_id": street_id, "name": name}))
    for facility_id, type_, name, lat, lng in (("bus-fuze", "bus_stop", "福泽园公交站", 22.6012, 113.0718),
                                               ("school-1", "school", "白沙小学", 22.6050, 113.0750),
                                               ("park-far", "park", "东湖公园", 22.5900, 113.0950)):
        facilities.create(FacilityIn.model_validate(
            {"facility_id": facility_id, "type": type_, "name": name, "lat": lat, "lng": lng}, strict=False))
    manager = {"company": "江门市安居物业管理有限公司", "contact": "李经理", "phone": "0750-3123456"}
    specs = [
        ("fuzeyuan", "福泽园", "pengjiang", "baisha", 22.6010, 113.0710),
        ("huizeyuan", "惠泽园", "pengjiang", "huanshi", 22.5850, 113.0600),
        ("haiyuan", "海悦园", "jianghai", "waihai", 22.5600, 113.1300),
    ]
    made = {}
    for estate_id, name, area, street, lat, lng in specs:
        e = estates.create(EstateIn.model_validate({"estate_id": estate_id, "name": name, "area_id": area,
                                                    "street_id": street, "address": f"{name}路1号", "lat": lat,
                                                    "lng": lng, "manager": manager}))
        e = estates.put_building(estate_id, {"building_id": "b1", "name": "1栋", "floors": 18}, e.version)
        made[estate_id] = e
    layouts = ["1b1l", "2b1l", "3b1l"]
    created = []
    for i in range(24):
        estate_id = specs[i % 3][0]
        u = units.create(UnitIn.model_validate({"estate_id": estate_id, "building_id": "b1", "number": f"{100 + i}",
                                                "layout": layouts[i % 3], "floor_area": 35 + i * 1.5,
                                                "floor": 1 + i % 18, "rent": 30000 + (i * 7919) % 40000},
                                               strict=False), "test", "admin")
        created.append(u)
    for u in created[::4]:  # some reserved, one leased
        units.change_status(u.unit_id, UnitStatus.RESERVED, u.version, "测试", "test", "admin")
    leased = units.get(created[0].unit_id)
    units.change_status(leased.unit_id, UnitStatus.LEASED, leased.version, "签约", "test", "admin")
    published = []
    for n, category in enumerate(["admission", "application", "rent", "admission"]):
        p = policies.create(PolicyIn.model_validate(
            {"title": f"江门市公租房政策{n}号", "body": f"第{n}号文件正文：准入条件与申请流程。", "category": category,
             "issuer": "江门市住房和城乡建设局"}, strict=False))
        published.append(policies.change_status(p.policy_id, PolicyStatus.PUBLISHED, p.version))
    draft = policies.create(PolicyIn.model_validate({"title": "草稿：租金调整方案", "body": "尚未发布", "category": "rent"},
                                                    strict=False))
    return {"estates": made, "units": created, "policies": published, "draft": draft}


@pytest.fixture(scope="module")
def catalogue(stack: Any) -> dict[str, Any]:
    """A fresh local AWS with a small city, once per test module."""
    stack.reset()
    return build_catalogue()


# --- every answer the suite gets is one the OpenAPI document describes (tests/documented.py) ----
@pytest.fixture(scope="session", autouse=True)
def answers_match_the_document() -> Iterator[None]:
    from tests.documented import install

    with pytest.MonkeyPatch.context() as patch:
        install(patch)
        yield
