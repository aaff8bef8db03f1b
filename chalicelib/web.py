"""The HTTP edge: route declaration, query/body validation, cursors and the one error table.

Handlers declare routes with :class:`Api`; the declaration also feeds the OpenAPI document, so
the parameters a route validates and the parameters it documents are the same objects.
"""
from __future__ import annotations

import copy
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import errors
from chalicelib.lazy import resolve  # noqa: F401 - re-exported (openapi.py); schemas.py imports it from lazy
from chalicelib.observability import logger

# status, stable code, zh-CN message. The most specific class wins (looked up along the MRO).
ERRORS: dict[type[errors.DomainError], tuple[int, str, str]] = {
    errors.InvalidInput: (400, "INVALID_PARAMETER", "请求参数不正确"),
    errors.InvalidCursor: (400, "INVALID_CURSOR", "分页标记无效，请从第一页重新查询"),
    errors.InvalidJson: (400, "INVALID_JSON", "请求内容不是有效的 JSON 对象"),
    errors.BodyTooLarge: (413, "BODY_TOO_LARGE", "请求内容过大"),
    errors.UnsupportedMediaType: (415, "UNSUPPORTED_MEDIA_TYPE", "请以 application/json 格式提交"),
    errors.NotAuthenticated: (401, "NOT_AUTHENTICATED", "请先登录"),
    errors.InvalidToken: (401, "INVALID_TOKEN", "登录凭证无效或已过期，请重新登录"),
    errors.Forbidden: (403, "FORBIDDEN", "您没有权限进行此操作"),
    errors.NotFound: (404, "NOT_FOUND", "未找到相关内容"),
    errors.AreaNotFound: (404, "AREA_NOT_FOUND", "未找到该片区"),
    errors.StreetNotFound: (404, "STREET_NOT_FOUND", "未找到该街道"),
    errors.EstateNotFound: (404, "ESTATE_NOT_FOUND", "未找到该项目（小区）"),
    errors.BuildingNotFound: (404, "BUILDING_NOT_FOUND", "未找到该楼栋"),
    errors.UnitNotFound: (404, "UNIT_NOT_FOUND", "未找到该房源"),
    errors.FacilityNotFound: (404, "FACILITY_NOT_FOUND", "未找到该配套设施"),
    errors.PolicyNotFound: (404, "POLICY_NOT_FOUND", "未找到该政策文件"),
    errors.Conflict: (409, "CONFLICT", "操作与当前状态冲突"),
    errors.AlreadyExists: (409, "ALREADY_EXISTS", "该记录已存在，请勿重复提交"),
    errors.StaleVersion: (409, "STALE_VERSION", "数据已被他人修改，请刷新后重试"),
    errors.IllegalTransition: (409, "ILLEGAL_TRANSITION", "当前状态不允许此操作"),
    errors.IdempotencyKeyReused: (409, "IDEMPOTENCY_KEY_REUSED", "该请求编号已用于另一项提交"),
    errors.RequestInProgress: (409, "REQUEST_IN_PROGRESS", "相同的请求正在处理中，请稍候"),
    errors.ServiceUnavailable: (503, "SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后重试"),
}
INTERNAL = (500, "INTERNAL_ERROR", "系统繁忙，请稍后重试")
JSON_TYPE = "application/json; charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise as UTF-8 JSON (Chinese text readable, not \\u-escaped)."""
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def error_body(exc: errors.DomainError, request_id: str | None) -> tuple[int, dict[str, Any]]:
    status, code, message = next(
        (ERRORS[k] for k in type(exc).__mro__ if k in ERRORS), INTERNAL  # type: ignore[index]
    )
    if code == "INVALID_PARAMETER" and exc.field and not getattr(exc, "message", None):
        from chalicelib.messages import field_message  # a field named without its own sentence

        message = field_message(exc.field)
    err: dict[str, Any] = {"code": code, "message": getattr(exc, "message", None) or message}
    if exc.field:
        err["field"] = exc.field
    if exc.detail and status < 500:  # a dependency's own words stay in the logs
        err["detail"] = exc.detail
    if request_id:
        err["request_id"] = request_id
    return status, {"error": err}


def error_code(exc: errors.DomainError) -> str:
    """The stable machine code the error table gives this error."""
    return str(error_body(exc, None)[1]["error"]["code"])


def item_failure(exc: errors.DomainError) -> dict[str, Any]:
    """One failed item of a many-at-once answer (bulk approve, publishing): its status and error."""
    status, body = error_body(exc, None)
    return {"ok": False, "status_code": status, "error": body["error"]}


#: Seconds a client should wait before retrying a 503 (a throttled or unreachable dependency).
RETRY_AFTER_SECONDS = 2


def error_response(exc: errors.DomainError, request_id: str, path: str) -> Response:
    """The error envelope for a domain error; a 503 also tells the client when to retry."""
    code, payload = error_body(exc, request_id)
    headers: dict[str, str] = {}
    if code >= 500:
        logger.warning("dependency unavailable", extra={"error": repr(exc), "path": path})
    if code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return json_response(payload, code, headers)


def request_id_of(request: Request | None) -> str:
    """API Gateway's request id; where there is none (local), one made up once per request."""
    if request is None:
        return str(uuid.uuid4())
    if request.context is None:
        request.context = {}
    return str(request.context.setdefault("requestId", str(uuid.uuid4())))


# --- parameters --------------------------------------------------------------------------------
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
PATH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,159}")


@dataclass(frozen=True)
class Param:
    """One query parameter: parsed, range-checked and documented from this single declaration."""

    name: str
    kind: str = "string"  # string | integer | number | enum | bbox | cursor
    description: str = ""
    required: bool = False
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 64
    choices: tuple[str, ...] = ()
    default: Any = None
    label: str = ""  # the Chinese name messages use; default: the description up to its first aside

    @property
    def zh(self) -> str:
        """The parameter's Chinese name, as a message says it ("每页条数不能超过 100")."""
        return self.label or re.split(r"[（(，,；;：:]", self.description, maxsplit=1)[0].strip() or self.name

    def _bad(self, detail: str, message: str) -> errors.InvalidInput:
        return errors.InvalidInput(detail, field=self.name, message=message)

    def parse(self, raw: str) -> Any:
        limit = max(self.max_length, 256 if self.kind == "bbox" else 0)
        if len(raw) > limit:
            raise self._bad("too long", f"{self.zh}不能超过 {limit} 个字符")
        if self.kind == "string":
            if self.pattern and not re.fullmatch(self.pattern, raw):
                raise self._bad("bad format", f"{self.zh}格式不正确")
            if not raw.strip():
                raise self._bad("empty", f"{self.zh}不能为空")
            from chalicelib.domain.names import unsafe_in_text

            problem = unsafe_in_text(raw)
            if problem:
                raise self._bad("invisible or control character", f"{self.zh}{problem}")
            return raw
        if self.kind == "cursor":  # signed by this stack: a forged one is refused before any lookup
            from chalicelib.repositories.paging import check_signature

            check_signature(raw)
            return raw
        if self.kind == "enum":
            if raw not in self.choices:
                raise self._bad(f"one of {', '.join(self.choices)}", f"{self.zh}应为以下之一：{'、'.join(self.choices)}")
            return raw
        if self.kind == "integer":
            if not re.fullmatch(r"-?\d{1,15}", raw):
                raise self._bad("not an integer", f"{self.zh}应为整数")
            return self._in_range(int(raw))
        if self.kind == "number":
            try:
                value = float(raw)
            except ValueError:
                raise self._bad("not a number", f"{self.zh}应为数字") from None
            if not math.isfinite(value):
                raise self._bad("not a number", f"{self.zh}应为有限的数字")
            return self._in_range(value)
        if self.kind == "bbox":
            bbox = f"{self.zh}应为“最小经度,最小纬度,最大经度,最大纬度”四个数字"
            parts = raw.split(",")
            if len(parts) != 4:
                raise self._bad("minLng,minLat,maxLng,maxLat", bbox)
            try:
                values = tuple(float(p) for p in parts)
            except ValueError:
                raise self._bad("minLng,minLat,maxLng,maxLat", bbox) from None
            if not all(math.isfinite(v) for v in values):
                raise self._bad("not a number", bbox)
            return values
        raise AssertionError(self.kind)

    def _in_range(self, value: float) -> Any:
        if self.minimum is not None and value < self.minimum:
            raise self._bad(f">= {self.minimum:g}", f"{self.zh}不能小于 {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise self._bad(f"<= {self.maximum:g}", f"{self.zh}不能超过 {self.maximum:g}")
        return value

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": {"enum": "string", "bbox": "string", "cursor": "string"}.get(
            self.kind, self.kind)}
        if self.pattern:
            schema["pattern"] = self.pattern
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.default is not None:
            schema["default"] = self.default
        return {"name": self.name, "in": "query", "required": self.required,
                "description": self.description, "schema": schema}


def parse_query(declared: Iterable[Param], raw: dict[str, str] | None) -> dict[str, Any]:
    """Validate query parameters: unknown names and malformed values are 400s naming the field."""
    by_name = {p.name: p for p in declared}
    raw = dict(raw or {})
    for name in raw:
        if name not in by_name:
            raise errors.InvalidInput("unknown parameter", field=name, message=f"不支持的查询参数：{name}")
    values: dict[str, Any] = {}
    for name, param in by_name.items():
        if name in raw and raw[name] != "":
            values[name] = param.parse(raw[name])
        elif param.required:
            raise errors.InvalidInput("required", field=name, message=f"{param.zh}为必填项")
        else:
            values[name] = param.default
    return values


CURSOR = Param("cursor", "cursor", description="上一页返回的 next_cursor（不透明）", max_length=2048, label="分页标记")
LIMIT = Param("limit", "integer", "每页条数", minimum=1, maximum=100, default=20)


# --- routes ------------------------------------------------------------------------------------
@dataclass
class Call:
    """What a handler gets: validated query values, the caller (if the route needs one), the body."""

    request: Request
    params: dict[str, Any]
    actor: Any = None
    _body_model: str | None = None

    _body: Any = None
    _model: Any = None

    def body(self) -> Any:
        """The JSON body, validated by the route's pydantic model (imported on first use), as plain
        JSON values: for the handler's own shaping; the domain gets ``model()``."""
        if self._body is None:
            data = read_json_body(self.request)
            if self._body_model is not None:
                data = self.model().model_dump(mode="json")
            self._body = data
        return copy.deepcopy(self._body)  # handlers may pop fields

    def model(self) -> Any:
        """The body as the route's validated request model (``chalicelib.bodies``): what the domain receives."""
        if self._body_model is None:
            raise TypeError("this route declares no body model")
        if self._model is None:
            from chalicelib.validation import parse  # pydantic stays off the read path

            self._model = parse(self._body_model, read_json_body(self.request))
        return self._model


def read_json_body(request: Request) -> dict[str, Any]:
    from chalicelib.config import settings

    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.UnsupportedMediaType(content_type or "missing")
    raw = request.raw_body or b""
    if len(raw) > settings().max_body_bytes:
        raise errors.BodyTooLarge(f"> {settings().max_body_bytes} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        raise errors.InvalidJson() from None
    if not isinstance(data, dict):
        raise errors.InvalidJson("expected an object")
    return data


@dataclass(frozen=True)
class Operation:
    """A declared route, kept for the OpenAPI document."""

    path: str
    method: str
    summary: str
    tag: str
    params: tuple[Param, ...]
    roles: tuple[str, ...] | None
    body: str | None
    status: int
    response: str | None
    body_schema: str | None = None  # a documented body checked by the domain (not a pydantic model)
    raises: tuple[type[errors.DomainError], ...] = ()  # answers the declaration alone does not imply
    pending_ok: bool = False  # open to a citizen whose real-name check is not complete (docs/decisions/0016)
    operation_id: str = ""  # the SDK's method name: the view's name in camelCase, or declared (docs/decisions/0024)
    description: str = ""  # one line for the SDK's docs: the view's docstring, or the summary


OPERATIONS: list[Operation] = []


@dataclass
class Api:
    """Declares routes on a Chalice blueprint with auth, validation and error mapping built in."""

    blueprint: Blueprint
    tag: str

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        summary: str,
        params: Iterable[Param] = (),
        roles: Iterable[str] | None = None,
        body: str | None = None,
        status: int = 200,
        response: str | None = None,
        body_schema: str | None = None,
        pending_ok: bool = False,
        raises: Iterable[type[errors.DomainError]] = (),
        operation_id: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        declared = tuple(params)
        allowed = tuple(roles) if roles is not None else None
        bp = self.blueprint

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            doc = (view.__doc__ or "").strip().splitlines()
            OPERATIONS.append(Operation(
                path, method, summary, self.tag, declared, allowed, body, status, response, body_schema,
                tuple(raises), pending_ok, operation_id or camel_case(view.__name__), doc[0] if doc else summary))

            def handler(**path_args: str) -> Response:
                request = bp.current_request
                request_id = request_id_of(request)
                try:
                    for name, value in path_args.items():  # ids are short and plain, or not ids
                        if not PATH_ID.fullmatch(value):
                            from chalicelib.messages import field_message

                            raise errors.InvalidInput("malformed id", field=name, message=field_message(name))
                    actor = None
                    if allowed is not None:
                        from chalicelib.auth import authenticate  # jwt stays off public routes

                        actor = authenticate(request.headers.get("authorization"), allowed)
                        if not pending_ok and actor.has("applicant"):  # 实名: nothing while pending
                            from chalicelib.domain.real_name import require_verified

                            actor = require_verified(actor)
                    call = Call(request, parse_query(declared, request.query_params), actor, body)
                    key = request.headers.get("idempotency-key")
                    if key and method == "POST" and actor is not None:
                        from chalicelib.idempotency import run_once  # only when a client asks

                        result = run_once(f"{method} {path}", actor.subject, key,
                                          {"path": path_args, "body": call.body()},
                                          lambda: view(call, **path_args), bp.lambda_context)
                    else:
                        result = view(call, **path_args)
                    return result if isinstance(result, Response) else json_response(result, status)
                except errors.DomainError as exc:
                    return error_response(exc, request_id, path)
                except Exception as exc:  # an AWS failure is a 409/503; anything else a 500
                    from chalicelib.repositories.failures import as_domain_error

                    known = as_domain_error(exc)
                    if known is not None:
                        return error_response(known, request_id, path)
                    logger.exception("unhandled error", extra={"path": path, "method": method})
                    return json_response(
                        {"error": {"code": INTERNAL[1], "message": INTERNAL[2], "request_id": request_id}},
                        INTERNAL[0],
                    )

            handler.__name__ = view.__name__
            handler.__doc__ = view.__doc__
            # Content types are checked by read_json_body, so the refusal is ours (zh-CN, with a code).
            bp.route(path, methods=[method], content_types=["*/*"])(handler)
            return view

        return decorate


def camel_case(name: str) -> str:
    """``submit_application`` -> ``submitApplication`` (an operationId as a mobile developer writes it)."""
    head, *rest = name.strip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


ERRORS.update({
    errors.InvalidIdNumber: (400, "INVALID_ID_NUMBER", "身份证号码不正确，请核对后重新填写"),
    errors.InvalidCreditCode: (400, "INVALID_CREDIT_CODE", "统一社会信用代码不正确，请核对后重新填写"),
    errors.InvalidMobile: (400, "INVALID_MOBILE", "手机号码不正确"),
    errors.RegistrationRequired: (403, "REGISTRATION_REQUIRED", "请先完成实名登记"),
    errors.GrantExpired: (403, "GRANT_EXPIRED", "授权已过期，请联系委托人重新授权"),
    errors.GrantRevoked: (403, "GRANT_REVOKED", "授权已被委托人撤销"),
    errors.OutsideGrant: (403, "OUTSIDE_GRANT", "您获得的授权不包括此项操作"),
    errors.ApplicationNotFound: (404, "APPLICATION_NOT_FOUND", "未找到该申请"),
    errors.HouseholdNotFound: (404, "HOUSEHOLD_NOT_FOUND", "未找到家庭信息，请先填写家庭成员"),
    errors.DocumentNotFound: (404, "DOCUMENT_NOT_FOUND", "未找到该材料"),
    errors.GrantNotFound: (404, "GRANT_NOT_FOUND", "未找到该授权"),
    errors.DelegateNotRegistered: (404, "DELEGATE_NOT_REGISTERED", "对方尚未在本应用实名登记，无法授权"),
    errors.ConsentNotFound: (404, "CONSENT_NOT_FOUND", "未找到需要您授权的申请"),
    errors.AlreadyRegistered: (409, "ALREADY_REGISTERED", "您已完成实名登记"),
    errors.IdNumberTaken: (409, "ID_NUMBER_REGISTERED", "该身份证号已被其他账号登记，如有疑问请到窗口办理"),
    errors.PersonAlreadyApplying: (409, "PERSON_ALREADY_APPLYING", "家庭成员已有正在办理的公租房申请，不能重复申请"),
    errors.ConsentMissing: (409, "CONSENT_MISSING", "还有成年家庭成员未完成个人信息查询授权"),
    errors.DocumentsIncomplete: (409, "DOCUMENTS_INCOMPLETE", "申请材料不齐全，或有材料未通过检查"),
    errors.TooManyDocuments: (409, "TOO_MANY_DOCUMENTS", "材料数量已达上限"),
    errors.SupplementExpired: (409, "SUPPLEMENT_EXPIRED", "补正期限已过，请联系经办窗口"),
})

ERRORS.update({
    errors.EmployerRegistrationRequired: (403, "EMPLOYER_REGISTRATION_REQUIRED", "请先完成单位登记（单位名称与统一社会信用代码）"),
    errors.GroupNotFound: (404, "GROUP_NOT_FOUND", "未找到该团租申请"),
    errors.EmployeeOfAnotherEmployer: (409, "EMPLOYEE_OF_ANOTHER_EMPLOYER", "该职工已在其他单位的团租申请中，不能重复添加"),
    errors.EmployeeAlreadyAdded: (409, "EMPLOYEE_ALREADY_ADDED", "该职工已在本单位的团租申请中，请勿重复添加"),
    errors.InvalidCsv: (400, "INVALID_CSV", "导入文件格式不正确，请使用模板的表头（姓名,身份证号,手机号,户籍,月收入（分）），每次不超过500行"),
    errors.DuplicateRow: (400, "DUPLICATE_ROW", "文件中该职工重复出现，已按第一次出现的行处理"),
    errors.ValueRequired: (400, "VALUE_REQUIRED", "此项必须填写"),
    errors.InvalidAmount: (400, "INVALID_AMOUNT", "金额应为以分为单位的非负整数"),
})

ERRORS.update({
    errors.PublicityNotFound: (404, "PUBLICITY_NOT_FOUND", "未找到该公示批次或公示对象"),
    errors.ObjectionNotFound: (404, "OBJECTION_NOT_FOUND", "未找到该异议"),
    errors.OutsidePublicityPeriod: (409, "OUTSIDE_PUBLICITY_PERIOD", "不在公示期内，不能提出异议"),
    errors.PublicityNotEnded: (409, "PUBLICITY_NOT_ENDED", "公示期尚未结束，不能结束公示"),
    errors.ObjectionAlreadyResolved: (409, "OBJECTION_ALREADY_RESOLVED", "该异议已处理，请勿重复处理"),
    errors.NothingToPublish: (409, "NOTHING_TO_PUBLISH", "所选申请均不能进入公示（只有审核通过的申请可以公示）"),
})

ERRORS.update({
    errors.RoundNotFound: (404, "ROUND_NOT_FOUND", "未找到该摇号批次"),
    errors.RegistrationNotFound: (404, "LOTTERY_REGISTRATION_NOT_FOUND", "您未报名该摇号批次"),
    errors.RegistrationClosed: (409, "REGISTRATION_CLOSED", "不在摇号报名时间内，不能报名"),
    errors.AlreadyRegisteredForRound: (409, "ALREADY_REGISTERED", "您已报名该摇号批次，请勿重复报名"),
    errors.NotQualified: (409, "NOT_QUALIFIED", "您还没有已取得资格、正在轮候的公租房申请，不能报名摇号"),
    errors.NoFittingLayout: (409, "NO_FITTING_LAYOUT", "本批次房源中没有适合您家庭人数的户型"),
    errors.RegistrationWindowOpen: (409, "REGISTRATION_WINDOW_OPEN", "报名尚未截止；如需提前截止，请选择强制截止并写明理由"),
    errors.AlreadyDrawn: (409, "ALREADY_DRAWN", "该批次已摇号，不能重复摇号"),
    errors.RoundNotPublished: (409, "ROUND_NOT_PUBLISHED", "摇号结果尚未公布"),
    errors.RegistrationsSettling: (409, "REGISTRATIONS_SETTLING", "仍有报名正在写入，请稍后重试"),
    errors.UnitNotVacant: (409, "UNIT_NOT_VACANT", "所选房源不是空置可租状态，不能纳入摇号批次"),
})

ERRORS.update({
    errors.SelectionNotFound: (404, "SELECTION_NOT_FOUND", "您不在本轮选房名单中"),
    errors.LeaseNotFound: (404, "LEASE_NOT_FOUND", "未找到该租赁合同"),
    errors.SelectionNotOpen: (409, "SELECTION_NOT_OPEN", "本轮尚未开始选房或选房已结束"),
    errors.NotYourTurn: (409, "NOT_YOUR_TURN", "还没轮到您选房，或您的选房时段已过，请按通知的时段选房"),
    errors.UnitTaken: (409, "UNIT_TAKEN", "该房源已被其他家庭选定，请选择其他房源"),
    errors.AlreadyChosen: (409, "ALREADY_CHOSEN", "您已选定房源，不能重复选房"),
    errors.UnitNotAvailable: (409, "UNIT_NOT_AVAILABLE", "该房源不在本轮可选范围内，或户型与您的家庭人数不符"),
    errors.LeaseAlreadyConfirmed: (409, "LEASE_ALREADY_CONFIRMED", "该租赁合同已确认，请勿重复确认"),
    errors.BillNotFound: (404, "BILL_NOT_FOUND", "未找到该账单"),
    errors.BillAlreadyPaid: (409, "BILL_ALREADY_PAID", "该账单已缴清，请勿重复缴费"),
    errors.BillCancelled: (409, "BILL_CANCELLED", "该账单已作废，无需缴费"),
    errors.BillingRunNotFound: (404, "BILLING_RUN_NOT_FOUND", "未找到该账单生成批次"),
    errors.ContractNotReady: (409, "CONTRACT_NOT_READY", "租赁合同尚未确认，暂无合同文本"),
})

ERRORS.update({
    errors.RawFileForbidden: (403, "RAW_FILE_FORBIDDEN", "证件材料原件仅本人、经授权的受托人和工作人员可以查看"),
    errors.FilesOutsideGrant: (403, "DOCUMENTS_OUTSIDE_GRANT", "您获得的授权不包括查看证件材料原件，请联系委托人授予“查看证件材料原件”权限"),
    errors.RealNamePending: (403, "REAL_NAME_PENDING", "您的实名核验尚未完成，请先完成人脸核验后再办理"),
    errors.RealNameMismatch: (409, "REAL_NAME_MISMATCH", "姓名与身份证号不一致，请核对后重新填写"),
    errors.RealNameNotFound: (409, "REAL_NAME_NOT_FOUND", "未能核验该身份证号（号码不存在或已注销），请到窗口办理"),
    errors.FaceCheckFailed: (409, "FACE_CHECK_FAILED", "人脸核验未通过，请重新进行人脸核验"),
    errors.FaceCheckNotDone: (409, "FACE_CHECK_NOT_DONE", "人脸核验尚未完成，请先完成人脸核验"),
    errors.RealNameCheckNotFound: (404, "REAL_NAME_CHECK_NOT_FOUND", "未找到该实名核验，请重新实名登记"),
    errors.RealNameCheckUnavailable: (503, "REAL_NAME_CHECK_UNAVAILABLE", "实名核验服务暂时不可用，请稍后重试"),
    errors.IdNumberInDispute: (409, "ID_NUMBER_IN_DISPUTE",
                               "该身份证号已由其他账号实名核验，已转工作人员核查，工作人员将与您联系，您也可携带身份证到窗口办理"),
    errors.IdentityConflictNotFound: (404, "IDENTITY_CONFLICT_NOT_FOUND", "未找到该身份争议"),
    errors.IdentityConflictResolved: (409, "IDENTITY_CONFLICT_RESOLVED", "该身份争议已处理，请勿重复处理"),
    errors.WriteConflict: (409, "WRITE_CONFLICT", "数据刚被同时修改，本次操作未生效，请刷新后重试"),
    errors.RouteNotFound: (404, "ROUTE_NOT_FOUND", "请求的接口不存在"),
    errors.MethodNotAllowed: (405, "METHOD_NOT_ALLOWED", "该接口不支持此请求方法"),
    errors.DraftExists: (409, "DRAFT_EXISTS", "该家庭已有同类申请草稿，请继续填写原草稿"),
    errors.GrantExists: (409, "GRANT_EXISTS", "您已授权此人，如需调整请先撤销原授权"),
})
