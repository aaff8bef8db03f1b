"""Validating a request body against its pydantic model (chalicelib/bodies.py): web.py calls ``parse``
on every write with a body; the first problem is a 400 naming its field, in Chinese."""
from __future__ import annotations

from typing import Any

from chalicelib import errors


def parse(dotted: str, data: dict[str, Any]) -> Any:
    """Validate a body against ``module:Model`` and return the model; the first problem is a 400
    naming its field."""
    import json

    from pydantic import ValidationError

    from chalicelib.messages import from_pydantic

    from chalicelib.lazy import resolve

    model = resolve(dotted)
    try:  # as JSON: strict mode then takes enums from their strings, and nothing else loosely
        return model.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field, message = from_pydantic(model, dict(first))
        raise errors.InvalidInput(first.get("msg", "invalid"), field=field, message=message) from None


def validate(dotted: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a body against ``module:Model``; the body as plain JSON values."""
    return dict(parse(dotted, data).model_dump(mode="json"))
