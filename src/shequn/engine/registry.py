"""Finding modules: every class published under the ``shequn.modules`` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points


class ModuleLoadError(RuntimeError):
    pass


@cache
def available_modules() -> dict[str, type]:
    """Module name -> class, for built-in and installed third-party modules alike."""
    found: dict[str, type] = {}
    for ep in entry_points(group="shequn.modules"):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must say which one
            raise ModuleLoadError(f"module {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if getattr(cls, "name", ep.name) != ep.name:
            raise ModuleLoadError(f"entry point {ep.name!r} points at a module named {cls.name!r}")
        found[ep.name] = cls
    return found
