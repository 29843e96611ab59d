"""The formats ``shequn import`` knows, by name."""

from __future__ import annotations

from importlib import import_module

from shequn.importers.base import Importer

#: format name -> module holding ``IMPORTER``; imported lazily so the CLI starts fast.
FORMATS: dict[str, str] = {
    "irc": "shequn.importers.irc",
    "telegram": "shequn.importers.telegram",
    "wechat": "shequn.importers.wechat",
    "qq": "shequn.importers.qq",
    "discord": "shequn.importers.discord",
    "whatsapp": "shequn.importers.whatsapp",
    "mbox": "shequn.importers.mbox",
    "jsonl": "shequn.importers.jsonl",
}


def get_importer(name: str) -> Importer:
    try:
        module = FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None
    return import_module(module).IMPORTER
