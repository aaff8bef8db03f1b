"""Request bodies (pydantic, imported only on write paths) and documented response shapes."""
from __future__ import annotations

from typing import Any

RESPONSE_SCHEMAS: dict[str, Any] = {
    "Health": {"type": "object", "properties": {"status": {"type": "string"}, "city": {"type": "string"}}},
}


def validate(dotted: str, data: dict[str, Any]) -> Any:
    raise NotImplementedError


def json_schema(dotted: str) -> dict[str, Any]:
    raise NotImplementedError
