"""Powertools Logger, Metrics and Tracer, set up once; personal data is masked in every line."""
from __future__ import annotations

import re
from typing import Any

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "public-housing"

# 18-digit resident ID numbers (last may be X) and 11-digit mainland mobile numbers, standing alone.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
#: Keys whose values are personal data however they look (names cannot be recognised by shape).
SENSITIVE_KEYS = frozenset(
    {"name", "full_name", "real_name", "id_number", "phone", "mobile", "applicant_name", "contact_name"}
)


def mask_text(text: str) -> str:
    """Mask ID numbers (4407**********1234) and mobile numbers (138****5678) in free text."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def mask_value(value: Any) -> Any:
    """Recursively mask a log payload: sensitive keys wholesale, other strings by pattern."""
    if isinstance(value, dict):
        return {k: ("***" if k in SENSITIVE_KEYS and v else mask_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that never lets an ID number, phone number or name through."""

    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(mask_value(log))


logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
metrics = Metrics(namespace="PublicHousing", service=SERVICE)


def tracing_enabled() -> bool:
    """Tracing is on only in Lambda and when the city turned it on: Powertools' Tracer imports
    the X-Ray SDK (~200 ms) even to disable itself, so it is not even built otherwise."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() in ("true", "1")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled
