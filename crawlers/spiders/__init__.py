"""The spider registry: the generic spider, plus one file per site that needs its own.

A site-specific spider subclasses :class:`crawlers.spiders.base.SourceSpider`, overrides
``extract`` and registers itself by name::

    @register("example-site")
    class ExampleSiteSpider(SourceSpider):
        def extract(self, job, response): ...

A Source row whose ``spider`` column holds that name is then crawled by it; every other
source goes to the generic spider. Spider modules are imported by :func:`load_spiders`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from aggregator.errors import ConfigError

if TYPE_CHECKING:
    from crawlers.spiders.base import SourceSpider

GENERIC = "generic"
_REGISTRY: dict[str, type[SourceSpider]] = {}
S = TypeVar("S", bound="type[SourceSpider]")


def register(name: str) -> Callable[[S], S]:
    """Class decorator: make a spider available under ``name``."""

    def decorate(cls: S) -> S:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def load_spiders() -> dict[str, type[SourceSpider]]:
    """Import every module of this package (so each registers itself); return the registry."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return dict(_REGISTRY)


def spider_for(name: str | None) -> type[SourceSpider]:
    """The spider class registered as ``name`` (the generic one for ``None``)."""
    registry = load_spiders()
    try:
        return registry[name or GENERIC]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ConfigError(f"no spider named {name!r} (known: {known})") from None
