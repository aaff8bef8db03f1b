"""Placeholder: filled in by the verification work (issue 4)."""
from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
