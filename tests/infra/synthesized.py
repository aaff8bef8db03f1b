"""A synthesized city stack as the infra tests see it (the fixture is in tests/infra/conftest.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CITIES = ("jiangmen", "xining", "sandbox")
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


@dataclass
class Synth:
    city: str
    region: str
    path: Path
    text: str
    template: dict[str, Any]

    def resources(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] in types}

    def functions(self) -> dict[str, dict[str, Any]]:
        return self.resources(*FUNCTION_TYPES)
