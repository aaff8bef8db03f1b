"""State machine definitions, kept as Amazon States Language files: the CDK stack deploys them and
the local stack runs the very same file on moto's interpreter (docs/decisions/0010-verification.md).

Only the Lambda ARNs differ: each ``${fn_<name>}`` placeholder is one of the Chalice app's
functions. Nothing here imports CDK or boto3.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

VERIFICATION = Path(__file__).with_name("verification.asl.json")
_PLACEHOLDER = re.compile(r"\$\{fn_([a-z_]+)\}")


def functions(path: Path = VERIFICATION) -> list[str]:
    """The app's Lambda functions a definition calls (their Chalice names), in order of appearance."""
    seen: dict[str, None] = {}
    for name in _PLACEHOLDER.findall(path.read_text(encoding="utf-8")):
        seen.setdefault(name, None)
    return list(seen)


def substitutions(arn_of: Callable[[str], str], path: Path = VERIFICATION) -> dict[str, str]:
    """``DefinitionSubstitutions`` for the definition: ``fn_<name>`` -> that function's ARN."""
    return {f"fn_{name}": arn_of(name) for name in functions(path)}


def render(arn_of: Callable[[str], str], path: Path = VERIFICATION) -> str:
    """The definition with every placeholder replaced (what Step Functions does with substitutions)."""
    text = path.read_text(encoding="utf-8")
    out = _PLACEHOLDER.sub(lambda m: arn_of(m.group(1)), text)
    json.loads(out)  # still a valid document
    return out
