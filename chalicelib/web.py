"""The HTTP edge: route declaration, query/body validation, cursors and the error envelope (the one
error table is chalicelib/error_table.py).

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
from chalicelib.error_table import ERRORS, INTERNAL  # noqa: F401 - the one error table (error_table.py); re-exported
from chalicelib.lazy import resolve  # noqa: F401 - re-exported (openapi.py); schemas.py imports it from lazy
from chalicelib.observability import logger

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
    if code == 429:  # a per-user limit counts per minute
        headers["Retry-After"] = "60"
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
    #: A route speaking a third party's format (a payment provider's notification): the document's
    #: "requestBody", "parameters" (headers) and "responses" for it, verbatim; its view answers a
    #: Response in that format and never the error envelope (handlers/payments.py).
    raw: dict[str, Any] | None = None


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
        raw: dict[str, Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        declared = tuple(params)
        allowed = tuple(roles) if roles is not None else None
        bp = self.blueprint

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            doc = (view.__doc__ or "").strip().splitlines()
            OPERATIONS.append(Operation(
                path, method, summary, self.tag, declared, allowed, body, status, response, body_schema,
                tuple(raises), pending_ok, operation_id or camel_case(view.__name__), doc[0] if doc else summary, raw))

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
                        if actor.has("applicant"):  # 实名: nothing while pending; a closed account nothing at all
                            from chalicelib.domain.real_name import require_verified

                            actor = require_verified(actor, pending_ok=pending_ok)
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
