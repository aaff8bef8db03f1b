"""Logs are structured JSON and never carry an ID number, phone number or name in clear."""
from __future__ import annotations

import io
import json
import logging

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
