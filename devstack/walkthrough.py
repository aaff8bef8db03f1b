"""`make walkthrough`: the applying journey of issue 3, step by step, against the running local stack.

It creates fresh demo citizens each run (so it can be run again), then: self-assessment,
registration, household, application, document uploads straight to S3, consent, submit, timeline,
a supplement requested by staff and answered, a delegate granted and revoked, an assisted intake
by staff, and a group application by an employer. Every step prints what the API answered.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

import requests

from chalicelib.domain.idnumbers import credit_check_char, id_check_digit

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(512)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 512


class Walk:
    def __init__(self, base: str, state: dict[str, Any], quiet: bool = False) -> None:
        self.base, self.state, self.quiet = base.rstrip("/"), state, quiet
        self.rng = random.Random()
        #: People's names the journey uses: printed masked (张*明), like every log line.
        self.private_names: set[str] = set()

    # --- people ------------------------------------------------------------------------------
    def user(self, role: str) -> dict[str, str]:
        from devstack.aws import DEMO_PASSWORD, client, id_token

        mobile = f"137{self.rng.randrange(10**8):08d}"
        idp = client("cognito-idp", self.state["endpoint"])
        username = f"+86{mobile}"
        idp.admin_create_user(UserPoolId=self.state["pool_id"], Username=username, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "phone_number", "Value": username},
                                              {"Name": "custom:city", "Value": self.state["city"]}])
        idp.admin_set_user_password(UserPoolId=self.state["pool_id"], Username=username, Password=DEMO_PASSWORD,
                                    Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=self.state["pool_id"], Username=username, GroupName=role)
        return {"mobile": mobile, "token": id_token(self.state["endpoint"], self.state["client_id"], username)}

    def demo_token(self, role: str) -> str:
        from devstack.aws import id_token

        return id_token(self.state["endpoint"], self.state["client_id"], self.state["users"][role])

    def id_number(self, born: str) -> str:
        first = f"440703{born}{self.rng.randrange(1000):03d}"
        return first + id_check_digit(first)

    def register(self, token: str, name: str, id_number: str, title: str = "实名登记") -> Any:
        """Real-name registration (docs/decisions/0016): the person is in the simulator's registry (the
        population registry vouches for them), registers (pending), passes the face check as the
        phone's SDK would, and the server asks the provider for the result."""
        simulator = self.state.get("realname")
        if simulator:
            requests.post(f"{simulator}/registry", json={"id_number": id_number, "name": name}, timeout=10)
        me = self.call("POST", "/v1/me", token, {"name": name, "id_number": id_number}, 201, title)
        if me["real_name"]["status"] == "pending":
            requests.post(me["real_name"]["face"]["sdk_url"], json={"outcome": "pass"}, timeout=10)
            me = self.call("POST", "/v1/me/real-name-check", token, {"check_id": me["real_name"]["check_id"]},
                           200, "人脸核验完成，服务端向核验方确认")
        return me

    # --- HTTP --------------------------------------------------------------------------------
    def call(self, method: str, path: str, token: str | None = None, data: Any = None, expect: int = 200,
             title: str = "") -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = requests.request(method, self.base + path, headers=headers, timeout=30,
                             data=None if data is None else json.dumps(data, ensure_ascii=False).encode())
        body = r.json() if r.content else None
        self.say(f"{method} {path} -> {r.status_code}", title)
        if r.status_code != expect:
            raise SystemExit(f"unexpected answer {r.status_code} (wanted {expect}): {json.dumps(body, ensure_ascii=False)}")
        return body

    def say(self, line: str, title: str = "") -> None:
        if not self.quiet:
            print(self.masked(f"  {line}" + (f"   # {title}" if title else "")), flush=True)

    def masked(self, text: str) -> str:
        """Names, ID numbers and mobiles in what the journey prints, masked."""
        from chalicelib.domain.idnumbers import mask_free_text, mask_name

        for name in sorted(self.private_names, key=len, reverse=True):
            text = text.replace(name, mask_name(name) or "")
        return mask_free_text(text)

    def step(self, title: str) -> None:
        if not self.quiet:
            print(self.masked(f"\n== {title}"), flush=True)

    def upload(self, token: str, application_id: str, doc_type: str, content: bytes = JPEG,
               content_type: str = "image/jpeg") -> str:
        got = self.call("POST", f"/v1/applications/{application_id}/documents", token,
                        {"type": doc_type, "content_type": content_type}, 201, f"预签名上传 {doc_type}")
        form = got["upload"]
        r = requests.post(form["url"], data=form["fields"], files={"file": ("f", content, content_type)}, timeout=30)
        self.say(f"POST <S3 presigned> -> {r.status_code}", f"{doc_type} 直传 S3")
        return str(got["document"]["document_id"])

    def wait_checked(self, token: str, application_id: str, query: str = "") -> dict[str, Any]:
        for _ in range(60):
            app = requests.get(f"{self.base}/v1/applications/{application_id}{query}",
                               headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
            if all(d["status"] != "awaiting_upload" for d in app["documents"]):
                self.say("documents checked: " + ", ".join(f"{d['type']}={d['status']}" for d in app["documents"]))
                return dict(app)
            time.sleep(0.5)
        raise SystemExit("documents were not checked within 30 s (is the queue worker running?): "
                         + ", ".join(f"{d['type']}={d['status']}" for d in app["documents"]))

    # --- the journey -----------------------------------------------------------------------------
    def run(self) -> None:
        self.step("1. 资格自评（无需登录）")
        got = self.call("POST", "/v1/self-assessment", None, {"kind": "individual", "answers": {
            "household_size": 2, "hukou_local": True, "homes_owned_in_city": 0, "housing_floor_area": 0,
            "household_monthly_income": 400000, "max_vehicle_value": 0, "max_company_capital": 0}})
        self.say(f"verdict: {got['verdict_name']}")

        self.step("2. 实名登记、填写家庭")
        main, spouse = self.user("applicant"), self.user("applicant")
        main_id, spouse_id = self.id_number("19880808"), self.id_number("19900909")
        self.register(main["token"], "周明华", main_id, "申请人实名登记")
        self.register(spouse["token"], "吴丽", spouse_id, "配偶实名登记")
        self.call("PUT", "/v1/me/household", main["token"], {"members": [
            {"relation": "self", "name": "周明华", "id_number": main_id, "monthly_income": 250000},
            {"relation": "spouse", "name": "吴丽", "id_number": spouse_id, "monthly_income": 150000},
            {"relation": "child", "name": "周小乐", "id_number": self.id_number("20180101")}]}, 200, "家庭成员")

        self.step("3. 新建申请、上传材料、成员授权、提交")
        app = self.call("POST", "/v1/applications", main["token"], {"kind": "individual"}, 201)
        app_id = app["application_id"]
        for doc_type in ("id_card", "hukou", "commitment"):
            self.upload(main["token"], app_id, doc_type)
        self.upload(main["token"], app_id, "application_form", PDF, "application/pdf")
        app = self.wait_checked(main["token"], app_id)
        for who in (main, spouse):
            self.call("POST", f"/v1/applications/{app_id}/consent", who["token"],
                      {"text_version": self.call("GET", "/v1/consent-text")["version"], "agree": True})
        app = self.call("GET", f"/v1/applications/{app_id}", main["token"])
        app = self.call("POST", f"/v1/applications/{app_id}/submit", main["token"], {"version": app["version"]},
                        title="提交")
        self.call("POST", f"/v1/applications/{app_id}/submit", main["token"], {"version": app["version"] - 1},
                  title="重复点击：同一次提交")
        self.say(f"status: {app['status_name']}, rules {app['rules_version']}")

        self.step("4. 工作人员要求补正；申请人补传后再次提交")
        staff = self.demo_token("staff")
        app = self.call("POST", f"/v1/staff/applications/{app_id}/supplement", staff,
                        {"version": app["version"], "documents": ["hukou"], "note": "户口本首页不清晰，请重新拍照上传"})
        self.upload(main["token"], app_id, "hukou")
        app = self.wait_checked(main["token"], app_id)
        app = self.call("POST", f"/v1/applications/{app_id}/submit", main["token"], {"version": app["version"]},
                        title="补正后再次提交")
        timeline = self.call("GET", f"/v1/applications/{app_id}/timeline", main["token"])
        for e in timeline["items"]:
            self.say(f"{e['at']}  {e['actor_role_name']:<4} {e['type']}  {e['note'] or ''}")

        self.step("5. 授权子女查看，再撤销")
        child = self.user("applicant")
        self.register(child["token"], "周晓", self.id_number("19990101"))
        grant = self.call("POST", "/v1/me/grants", main["token"], {
            "delegate_mobile": child["mobile"], "scopes": ["view"],
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.localtime(time.time() + 30 * 86400))}, 201)
        self.call("GET", f"/v1/applications/{app_id}", child["token"], title="受托人查看（证件号已遮盖）")
        self.call("POST", f"/v1/me/grants/{grant['grant_id']}/revoke", main["token"], title="撤销授权")
        self.call("GET", f"/v1/applications/{app_id}", child["token"], expect=403, title="撤销后不能再看")

        self.step("6. 代办：工作人员上门为老人创建并提交申请")
        elder_id = self.id_number("19460606")
        assisted = self.call("POST", "/v1/staff/applications", staff, {
            "kind": "individual", "note": "上门代办", "members": [
                {"relation": "self", "name": "黄阿婆", "id_number": elder_id, "monthly_income": 80000}]}, 201)
        a_id = assisted["application_id"]
        for doc_type in ("id_card", "hukou", "commitment", "application_form", "consent_form"):
            self.upload(staff, a_id, doc_type)
        assisted = self.wait_checked(staff, a_id, "?reason=%E4%BB%A3%E5%8A%9E")
        form = next(d for d in assisted["documents"] if d["type"] == "consent_form")
        assisted = self.call("POST", f"/v1/staff/applications/{a_id}/consents", staff,
                             {"member_id": assisted["consents"][0]["member_id"], "document_id": form["document_id"]},
                             title="登记书面授权")
        self.call("POST", f"/v1/applications/{a_id}/submit", staff, {"version": assisted["version"]}, title="代为提交")

        self.step("7. 团租：单位登记、建团、添加职工（逐个与 CSV）")
        employer = self.user("employer")
        first = f"91440700MA4U{self.rng.randrange(10**5):05d}"
        self.call("POST", "/v1/me/employer", employer["token"],
                  {"name": "江门示范制造有限公司", "credit_code": first + credit_check_char(first)}, 201)
        group = self.call("POST", "/v1/employer/groups", employer["token"], {"name": "2026 年第一批"}, 201)
        g = group["group_id"]
        worker, worker_id = self.user("applicant"), self.id_number("19960202")
        member = self.call("POST", f"/v1/employer/groups/{g}/employees", employer["token"], {
            "name": "邓工", "id_number": worker_id, "mobile": worker["mobile"]}, 201, "添加一名职工")
        csv = "姓名,身份证号,手机号,户籍,月收入（分）\n" + f"何工,{self.id_number('19970303')},13512345678,local,400000\n" \
              + "错行,123,1351234,local,1\n"
        result = self.call("POST", f"/v1/employer/groups/{g}/employees/import", employer["token"], {"csv": csv},
                           title="CSV：有效行保留，错误逐行报告")
        self.say(f"created {len(result['created'])}, errors {[e['row'] for e in result['errors']]}")
        self.register(worker["token"], "邓工", worker_id, "职工实名登记")
        self.call("POST", f"/v1/applications/{member['application_id']}/consent", worker["token"],
                  {"text_version": "2026-01", "agree": True}, title="职工本人授权")
        for doc_type in ("id_card", "labour_contract", "commitment"):
            self.upload(employer["token"], member["application_id"], doc_type)
        member = self.wait_checked(employer["token"], member["application_id"])
        self.call("POST", f"/v1/applications/{member['application_id']}/submit", employer["token"],
                  {"version": member["version"]}, title="单位为职工提交")
        progress = self.call("GET", f"/v1/employer/groups/{g}/employees", employer["token"])
        for item in progress["items"]:
            self.say(f"{item.get('name')}  {item.get('status_name')}")
        print("\n完成 (done). Notifications the citizens got: .local/notifications.jsonl", flush=True)


def main(argv: list[str] | None = None, journey: type[Walk] = Walk, prog: str = "devstack.walkthrough",
         description: str | None = __doc__) -> int:
    """Play ``journey`` against the running `make run` (its state file names the API and the pool)."""
    from devstack.__main__ import STATE_FILE

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--base", default=None, help="API base URL (default: the running `make run`)")
    args = parser.parse_args(argv)
    if not STATE_FILE.exists():
        print("本地环境未运行：请先在另一个终端执行 make run", file=sys.stderr)
        return 1
    state = json.loads(STATE_FILE.read_text())
    journey(args.base or state.get("api", "http://127.0.0.1:8000"), state).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
