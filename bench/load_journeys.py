"""What the load benchmark's users do, written once over a ``send`` function (no locust here).

``bench/locustfile.py`` plays these journeys under locust against the running local stack; the smoke
test (tests/test_load_journeys.py) plays each once against the test stack and checks every answer is
a 2xx. Three kinds of work, mixed as the news reports in /work/shared/seeds/ suggest (``MIX``):

- **browse** (a visit, anonymous): areas, a unit search, a unit, its estate, the map, the facilities
  near a point, policies and one policy, the self-assessment's questions;
- **apply** (a citizen's journey): sign in (Cognito), self-assessment, real-name registration (the
  face check on the local simulator), household, a draft application, four documents uploaded straight
  to S3 and checked by the document worker, consent, submit, then the timeline and "my applications";
- **staff** (a round of the review queue): the queue, the list of submitted applications, and one
  case's review page (with a reason: an audit write).

The seeds (2021 reports on the ministry's 公租房APP pilot, 10 cities, about four months): 105,000
registered users, 314,000 units published, 2,683 applications submitted (666 approved), 2,944 online
payments, 173 complaints; in 江门 over 10,000 households use the app. So about 39 people browse for
every one who applies (105,000 / 2,683), and every application costs staff about one round of queue
pages. ``MIX`` weighs a locust user's next task accordingly: 39 visits, 1 journey, 1 staff round.
"""
from __future__ import annotations

import itertools
import json
import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Protocol
from urllib.parse import quote

#: A locust user's next task, by weight (see the module's docstring for where the ratios come from).
MIX = {"browse": 39, "apply": 1, "staff": 1}
#: The seeds' figures the mix is derived from (reported with the results).
SEEDS = {"registered_users": 105_000, "units_published": 314_000, "applications_submitted": 2_683,
         "applications_approved": 666, "online_payments": 2_944, "complaints": 173,
         "source": "/work/shared/seeds/001_*.txt (中国建设报 2021-10-19: 10 pilot cities); 000_*.txt (江门, 2021-12-15)"}

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(512)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 512
DOCUMENTS = (("id_card", JPEG, "image/jpeg"), ("hukou", JPEG, "image/jpeg"), ("commitment", JPEG, "image/jpeg"),
             ("application_form", PDF, "application/pdf"))
LAYOUTS = ("studio", "1b1l", "2b1l", "2b2l", "3b1l")
REASON = quote("审核")
DIGITS = "零一二三四五六七八九"


class Send(Protocol):
    def __call__(self, method: str, path: str, *, name: str, token: str | None = None, body: Any = None,
                 headers: dict[str, str] | None = None) -> tuple[int, Any]: ...


class Refused(Exception):
    """An answer the journey cannot go on from (the locust user starts its next task)."""


@dataclass
class Target:
    """Where the journeys go: the API and the local stack's parts a phone would reach (Cognito, S3
    through presigned forms, the real-name provider's face SDK). Built from `make run`'s state file."""

    endpoint: str  # moto (Cognito, S3)
    pool_id: str
    client_id: str
    city: str
    realname: str | None
    users: dict[str, str]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Target":
        return cls(state["endpoint"], state["pool_id"], state["client_id"], state["city"], state.get("realname"),
                   dict(state["users"]))


_people = itertools.count()
_offset = random.Random().randrange(6000)  # another run against the same stack makes other people


def person() -> dict[str, str]:
    """A fictional adult with a valid, unique ID number, a unique mobile and a name without digits."""
    from chalicelib.domain.idnumbers import id_check_digit

    n = next(_people)
    born = date(1965, 1, 1) + timedelta(days=_offset + n // 900)
    first = f"440703{born:%Y%m%d}{100 + n % 900:03d}"
    return {"id_number": first + id_check_digit(first), "mobile": f"136{(_offset * 10_000 + n) % 10**8:08d}",
            "name": "测试" + "".join(DIGITS[int(d)] for d in f"{n % 1000:03d}")}


@dataclass
class Journeys:
    target: Target
    send: Send
    #: Waits for the queue workers (the document checks): a sleep under locust, ``stack.drain`` in tests.
    settle: Callable[[], None] = lambda: time.sleep(0.5)
    #: Times a call that is not the API's (Cognito's sign-in): ``timed(name, fn)``.
    timed: Callable[[str, Callable[[], Any]], Any] = lambda _name, fn: fn()
    rng: random.Random = field(default_factory=random.Random)
    catalogue: dict[str, list[Any]] = field(default_factory=dict)
    _staff_token: str | None = None

    # --- the catalogue, as a visitor finds it --------------------------------------------------------
    def discover(self) -> None:
        """What a visit picks from: areas, estates (with their position), units and policies."""
        _, areas = self._get("/v1/areas", "/v1/areas")
        _, estates = self._get("/v1/estates?limit=50", "/v1/estates")
        _, units = self._get("/v1/units?limit=100", "/v1/units")
        _, policies = self._get("/v1/policies?limit=20", "/v1/policies")
        self.catalogue = {
            "areas": [a["area_id"] for a in areas["items"]],
            "estates": [(e["estate_id"], e["lat"], e["lng"]) for e in estates["items"]],
            "units": [u["unit_id"] for u in units["items"]],
            "policies": [p["policy_id"] for p in policies["items"]],
        }
        if not all(self.catalogue[k] for k in ("areas", "estates", "units")):
            raise Refused("the stack has no catalogue (areas, estates, units): was it seeded?")

    def browse(self) -> None:
        """One visit of the catalogue (eight to ten reads, no login)."""
        if not self.catalogue:
            self.discover()
        c, rng = self.catalogue, self.rng
        self._get("/v1/areas", "/v1/areas")
        area, layout = rng.choice(c["areas"]), rng.choice(LAYOUTS)
        self._get(f"/v1/units?area={area}&status=vacant&layout={layout}&limit=20", "/v1/units")
        self._get(f"/v1/units/{rng.choice(c['units'])}", "/v1/units/{unit_id}")
        estate, lat, lng = rng.choice(c["estates"])
        self._get(f"/v1/estates/{estate}", "/v1/estates/{estate_id}")
        self._get(f"/v1/map/estates?bbox={lng - 0.1:.4f},{lat - 0.1:.4f},{lng + 0.1:.4f},{lat + 0.1:.4f}",
                  "/v1/map/estates")
        self._get(f"/v1/map/facilities?lat={lat:.4f}&lng={lng:.4f}&radius=1500", "/v1/map/facilities")
        self._get("/v1/policies?limit=10", "/v1/policies")
        if c["policies"]:
            self._get(f"/v1/policies/{rng.choice(c['policies'])}", "/v1/policies/{policy_id}")
        if rng.random() < 0.5:
            self._get("/v1/self-assessment/questions", "/v1/self-assessment/questions")

    # --- a citizen's journey ---------------------------------------------------------------------------
    def apply(self) -> str:
        """Sign in, check, register, household, draft, documents, consent, submit, follow: the
        application's id."""
        who = person()
        self._get("/v1/self-assessment/questions", "/v1/self-assessment/questions")
        self._ok("POST", "/v1/self-assessment", "/v1/self-assessment", body={"kind": "individual", "answers": {
            "household_size": 1, "hukou_local": True, "homes_owned_in_city": 0, "housing_floor_area": 0,
            "household_monthly_income": 300000, "max_vehicle_value": 0, "max_company_capital": 0}})
        token = self.sign_in(who["mobile"], "applicant")
        self.register(token, who)
        self._ok("PUT", "/v1/me/household", "/v1/me/household", token, {"members": [
            {"relation": "self", "name": who["name"], "id_number": who["id_number"], "hukou": "local",
             "monthly_income": 300000}]})
        self._get("/v1/document-requirements", "/v1/document-requirements")
        _, app = self._ok("POST", "/v1/applications", "/v1/applications", token, {"kind": "individual"})
        app_id = app["application_id"]
        for doc_type, content, content_type in DOCUMENTS:
            self.upload(token, app_id, doc_type, content, content_type)
        app = self.checked(token, app_id)
        _, text = self._get("/v1/consent-text", "/v1/consent-text")
        self._ok("POST", f"/v1/applications/{app_id}/consent", "/v1/applications/{application_id}/consent", token,
                 {"text_version": text["version"], "agree": True})
        _, app = self._get(f"/v1/applications/{app_id}", "/v1/applications/{application_id}", token)
        self._ok("POST", f"/v1/applications/{app_id}/submit", "/v1/applications/{application_id}/submit", token,
                 {"version": app["version"]})
        self._get(f"/v1/applications/{app_id}/timeline", "/v1/applications/{application_id}/timeline", token)
        self._get("/v1/me/applications", "/v1/me/applications", token)
        self._get("/v1/me", "/v1/me", token)
        return str(app_id)

    def sign_in(self, mobile: str, role: str) -> str:
        """A new user of the pool (the app's sign-up, done here with the admin calls) and its sign-in."""
        from devstack.aws import DEMO_PASSWORD, client, id_token

        t = self.target
        username = f"+86{mobile}"
        idp = client("cognito-idp", t.endpoint)
        idp.admin_create_user(UserPoolId=t.pool_id, Username=username, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "phone_number", "Value": username},
                                              {"Name": "custom:city", "Value": t.city}])
        idp.admin_set_user_password(UserPoolId=t.pool_id, Username=username, Password=DEMO_PASSWORD, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=t.pool_id, Username=username, GroupName=role)
        return str(self.timed("[cognito] InitiateAuth", lambda: id_token(t.endpoint, t.client_id, username)))

    def register(self, token: str, who: dict[str, str]) -> None:
        """Real-name registration (docs/decisions/0016): the registry knows the person, the face passes."""
        import requests

        if self.target.realname:
            requests.post(f"{self.target.realname}/registry", json={"id_number": who["id_number"],
                                                                    "name": who["name"]}, timeout=30)
        _, me = self._ok("POST", "/v1/me", "/v1/me", token, {"name": who["name"], "id_number": who["id_number"]})
        if me["real_name"]["status"] == "pending":
            requests.post(me["real_name"]["face"]["sdk_url"], json={"outcome": "pass"}, timeout=30)
            self._ok("POST", "/v1/me/real-name-check", "/v1/me/real-name-check", token,
                     {"check_id": me["real_name"]["check_id"]})

    def upload(self, token: str, app_id: str, doc_type: str, content: bytes, content_type: str) -> None:
        import requests

        _, got = self._ok("POST", f"/v1/applications/{app_id}/documents", "/v1/applications/{application_id}/documents",
                          token, {"type": doc_type, "content_type": content_type})
        form = got["upload"]
        r = requests.post(form["url"], data=form["fields"], files={"file": ("f", content, content_type)}, timeout=30)
        if r.status_code >= 300:
            raise Refused(f"S3 presigned POST answered {r.status_code}")

    def checked(self, token: str, app_id: str, tries: int = 120) -> dict[str, Any]:
        """The application once the document worker has checked every upload."""
        for _ in range(tries):
            _, app = self._get(f"/v1/applications/{app_id}", "/v1/applications/{application_id}", token)
            if all(d["status"] != "awaiting_upload" for d in app["documents"]):
                return dict(app)
            self.settle()
        raise Refused("documents not checked in time (are the queue workers running?)")

    # --- staff ---------------------------------------------------------------------------------------
    def staff_round(self) -> None:
        """The review queue, the submitted applications, one case (read with a reason: audited)."""
        if self._staff_token is None:
            from devstack.aws import id_token

            t = self.target
            self._staff_token = str(self.timed("[cognito] InitiateAuth",
                                               lambda: id_token(t.endpoint, t.client_id, t.users["staff"])))
        token = self._staff_token
        _, queue = self._get("/v1/staff/review?limit=20", "/v1/staff/review", token)
        _, submitted = self._get("/v1/staff/applications?status=submitted&limit=20", "/v1/staff/applications", token)
        cases = [a["application_id"] for a in queue["items"] + submitted["items"]]
        if cases:
            case = self.rng.choice(cases)
            self._get(f"/v1/staff/applications/{case}/review?reason={REASON}",
                      "/v1/staff/applications/{application_id}/review", token)

    # --- HTTP ------------------------------------------------------------------------------------------
    def _get(self, path: str, name: str, token: str | None = None) -> tuple[int, Any]:
        return self._ok("GET", path, name, token)

    def _ok(self, method: str, path: str, name: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        status, got = self.send(method, path, name=name, token=token, body=body)
        if not 200 <= status < 300:
            code = (got or {}).get("error", {}).get("code") if isinstance(got, dict) else None
            raise Refused(f"{method} {name} -> {status} {code or ''}".strip())
        return status, got


def requests_send(base: str, session: Any = None) -> Send:
    """A ``send`` over HTTP with requests (the smoke test; any client of a running stack)."""
    import requests

    http = session or requests.Session()

    def send(method: str, path: str, *, name: str, token: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        r = http.request(method, base.rstrip("/") + path, headers=h, data=data, timeout=60)
        return r.status_code, (r.json() if r.content else None)

    return send
