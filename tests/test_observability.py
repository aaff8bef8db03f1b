"""Logs are structured JSON and never carry an ID number, phone number or name in clear."""
from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib.observability import logger, mask_text, mask_value


def test_mask_text() -> None:
    assert mask_text("身份证 440703199001011234 手机 13812345678") == "身份证 4407**********1234 手机 138****5678"
    assert mask_text("44070319900101123X") == "4407**********123X"
    assert mask_text("order 12345678901234567890") == "order 12345678901234567890"  # not an ID number


def test_mask_value_by_key_and_pattern() -> None:
    masked = mask_value({"name": "张三明", "note": "联系 13912345678", "members": [{"id_number": "440703199001011234"}]})
    assert masked == {"name": "***", "note": "联系 139****5678", "members": [{"id_number": "***"}]}


def test_log_lines_are_masked() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)  # the formatter every line goes through
    logger.addHandler(handler)
    try:
        logger.info("申请人 440703199001011234 来电 13812345678",
                    extra={"applicant_name": "李四", "phone": "13800000000"})
    finally:
        logger.removeHandler(handler)
    line = buffer.getvalue().strip().splitlines()[-1]
    record = json.loads(line)
    assert "440703199001011234" not in line and "13812345678" not in line and "李四" not in line
    assert record["message"] == "申请人 4407**********1234 来电 138****5678"
    assert record["applicant_name"] == "***" and record["phone"] == "***"


# --- metrics: cold starts and business events (docs/decisions/0038) ---------------------------------
def _emf(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_a_container_counts_one_cold_start_for_its_function(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import observability
    from chalicelib.metric_names import COLD_START

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "public-housing-jiangmen-IssueBills")
    monkeypatch.setattr(observability, "_cold", True)
    capsys.readouterr()
    observability.cold_start()
    observability.cold_start()  # the same container's next invocation
    [point] = _emf(capsys.readouterr().out)
    assert point[COLD_START] == [1.0] and point["function_name"] == "public-housing-jiangmen-IssueBills"
    assert point["service"] == "public-housing" and point["city"]


def test_business_events_of_a_worker_or_job_are_flushed_per_invocation_with_the_city(
        app: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from app import count_events  # (imported as the suite imports it: through the local stack's fixture)
    from chalicelib.metric_names import BILLS_ISSUED, PAYMENTS_SETTLED
    from chalicelib.observability import count, metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    def invocation(event: object) -> str:
        count(BILLS_ISSUED, 3)
        count(PAYMENTS_SETTLED)
        return "done"

    assert count_events({"Records": []}, invocation) == "done"
    [point] = _emf(capsys.readouterr().out)
    assert (point[BILLS_ISSUED], point[PAYMENTS_SETTLED]) == ([3.0], [1.0])
    [directive] = point["_aws"]["CloudWatchMetrics"]
    assert set(directive["Dimensions"][0]) == {"service", "city"}
    assert metrics.metric_set == {}  # nothing carried into the next invocation
    assert count_events({"Records": []}, lambda event: "idle") == "idle"
    assert _emf(capsys.readouterr().out) == []  # no events, no line
