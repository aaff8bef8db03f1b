"""Modules imported on first use: route modules name their domain modules at the top, as usual,
but a cold start serving a catalogue read never imports the applications code."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self.__name__)
        return getattr(self._module, attr)


def module(name: str) -> Any:
    return LazyModule(name)


def resolve(dotted: str) -> Any:
    """Import ``module:attr`` lazily (used for body schemas)."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)
