"""Powertools Logger, Metrics and Tracer, set up once; personal data is masked in every line."""
from __future__ import annotations

from typing import Any

import logging
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from chalicelib.domain.idnumbers import mask_free_text

SERVICE = "public-housing"

#: Keys whose values are personal data however they look (names cannot be recognised by shape).
SENSITIVE_KEYS = frozenset(
    {"name", "full_name", "real_name", "id_number", "phone", "mobile", "applicant_name", "contact_name"}
)


def mask_text(text: str) -> str:
    """Mask ID numbers (4407**********1234), bank-card-like numbers and mobile numbers (138****5678)
    in free text: the same function that masks free text before it is stored."""
    return mask_free_text(text)


def mask_value(value: Any) -> Any:
    """Recursively mask a log payload: sensitive keys wholesale, other strings by pattern."""
    if isinstance(value, dict):
        return {k: ("***" if k in SENSITIVE_KEYS and v else mask_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return mask_text(str(value))  # an exception, a date...: serialised as its text anyway


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that never lets an ID number, phone number or name through."""

    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(mask_value(log))


class MaskingFilter(logging.Filter):
    """Masks the record itself (message, args, extra keys) before any handler sees it: the
    Powertools handler, and any handler the record propagates to (Lambda's or a test runner's
    root handler, which would otherwise format the raw message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) or record.args:
            record.msg = mask_text(record.getMessage())
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                record.__dict__[key] = "***" if key in SENSITIVE_KEYS and value else mask_value(value)
        return True


_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
logger.addFilter(MaskingFilter())
metrics = Metrics(namespace="PublicHousing", service=SERVICE)


def tracing_enabled() -> bool:
    """Tracing is on only in Lambda and when the city turned it on: Powertools' Tracer imports
    the X-Ray SDK (~200 ms) even to disable itself, so it is not even built otherwise."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() in ("true", "1")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled


def daily_count(name: str, value: int) -> None:
    """A scheduled job's figure as one CloudWatch metric per city (EMF), flushed now: a job has no
    request to flush it at the end of (an alarm watches some, e.g. unresolved reconciliation mismatches)."""
    from chalicelib.config import settings

    metrics.set_default_dimensions(city=settings().city_code)
    metrics.add_metric(name=name, unit="Count", value=value)
    metrics.flush_metrics(raise_on_empty_metrics=False)
    metrics.clear_metrics()


def daily_figures(values: dict[str, tuple[float, str]]) -> None:
    """Several of a job's figures (name -> (value, unit)) as CloudWatch metrics per city, flushed now:
    the statistics' daily figures (metric_names.STATS_FIGURES; docs/decisions/0037)."""
    from chalicelib.config import settings

    metrics.set_default_dimensions(city=settings().city_code)
    for name, (value, unit) in values.items():
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.flush_metrics(raise_on_empty_metrics=False)
    metrics.clear_metrics()


def count(name: str, value: float = 1, unit: str = "Count") -> None:
    """A business event, counted where it happens (a name from chalicelib.metric_names): flushed with
    the invocation's other metrics by app.py's middleware (dimensions service and city)."""
    metrics.add_metric(name=name, unit=unit, value=value)


def emit_now(values: dict[str, tuple[str, float]], **dimensions: str) -> None:
    """Metrics with a dimension of their own (a department, a function), as one EMF line now:
    ``{name: (unit, value)}``, dimensions service, city and ``dimensions``. Nothing is printed when
    POWERTOOLS_METRICS_DISABLED is set (tests, the local stack)."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from chalicelib.config import settings

    one = EphemeralMetrics(namespace="PublicHousing", service=SERVICE)
    one.add_dimension(name="city", value=settings().city_code)
    for key, value in dimensions.items():
        one.add_dimension(name=key, value=value)
    for name, (unit, number) in values.items():
        one.add_metric(name=name, unit=unit, value=number)
    one.flush_metrics(raise_on_empty_metrics=False)
    one.clear_metrics()


_cold = True


def cold_start() -> None:
    """The container's first invocation counts one COLD_START for its function (in Lambda only:
    the function's name comes from the runtime's environment)."""
    global _cold
    if not _cold:
        return
    _cold = False
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function:
        from chalicelib.metric_names import COLD_START

        emit_now({COLD_START: ("Count", 1)}, function_name=function)
