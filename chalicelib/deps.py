"""The domain's way to the current composition root (docs/decisions/0023).

Domain code calls ``deps().applications`` and gets whatever the current container holds: the
DynamoDB repositories in a Lambda or the local stack, in-memory twins in a fast domain test. The
container is built lazily (no AWS client at import) by the factory an entry point installed
(:func:`chalicelib.composition.install`), and can be swapped as a whole with :func:`use`.

This module imports no repository and no domain module (only the settings): that is what keeps
``chalicelib`` free of import cycles even though nearly every domain module imports it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

from chalicelib.config import Settings, settings

if TYPE_CHECKING:  # types only: importing the root here would close the circle again
    from chalicelib.composition import Container

_factory: Callable[[Settings], Container] | None = None
_current: Container | None = None


def install(factory: Callable[[Settings], Container]) -> None:
    """Set how a container is built from the stage's settings (the composition root does this)."""
    global _factory
    _factory = factory


def build(config: Settings) -> Container:
    if _factory is None:
        raise RuntimeError("no composition root installed: call chalicelib.composition.install() at the entry point")
    return _factory(config)


def deps() -> Container:
    global _current
    if _current is None:
        _current = build(settings())
    return _current


@contextmanager
def use(container: Container) -> Iterator[Container]:
    """Hand the domain ``container`` (e.g. in-memory twins) for the duration of the block."""
    global _current
    previous, _current = _current, container
    try:
        yield container
    finally:
        _current = previous


def reset(config: Settings | None = None) -> None:
    """Forget built dependencies (tests and the local stack call this after changing settings)."""
    global _current
    settings.cache_clear()
    _current = build(config) if config is not None else None
