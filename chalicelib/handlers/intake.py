"""Intake (代办): staff (窗口/街道) create an application for a citizen and record a member's signed
paper consent. The citizen later claims and confirms it (handlers/applications.py)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.applications import access, present
from chalicelib.handlers.roles import CASE_STAFF
from chalicelib.web import Api, Call

intake = lazy.module("chalicelib.domain.intake")

bp = Blueprint(__name__)
api = Api(bp, "intake")


@api.route("/v1/staff/applications", "POST", summary="代办：工作人员为群众创建申请（窗口或上门）",
           roles=CASE_STAFF, body="chalicelib.bodies:AssistedIn", status=201, response="Application", operation_id="createAssistedApplication")
def assisted_intake(call: Call) -> dict[str, Any]:
    return present(intake.create_assisted(call.actor, call.model()), access("staff"))


@api.route("/v1/staff/applications/{application_id}/consents", "POST", raises=(errors.ConsentNotFound,),
           summary="登记家庭成员的书面授权（已上传签字授权书）", roles=CASE_STAFF,
           body="chalicelib.bodies:PaperConsentIn", response="Application", operation_id="recordPaperConsent")
def paper_consent(call: Call, application_id: str) -> dict[str, Any]:
    return present(intake.paper_consent(application_id, call.actor, call.model()), access("staff"))
