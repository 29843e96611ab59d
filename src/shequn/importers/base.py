"""The importer contract. An importer is a streaming generator: it reads a source file and yields
Events and Rejects, one at a time, never holding the file in memory. It knows nothing about the
database; ``shequn.importers.runner`` stores what it yields.

To add a format, write a module with an ``Importer`` instance named ``IMPORTER`` and list it in
``shequn.importers.registry``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import BinaryIO, TextIO

from shequn.domain.events import Event, Reject


MAX_ID = 500  # column size of platform ids and group ids


class ImportError_(ValueError):
    """A whole source cannot be read (not this format, unreadable); the message says why."""


class CountingReader(io.RawIOBase):
    """Wraps a binary file and counts bytes read, so progress bars work for every format."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]):
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._on_read(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass
class Source:
    """One input file. ``open_*`` return streams whose reads advance the import's progress bar."""

    path: Path
    on_read: Callable[[int], None] = lambda n: None

    @property
    def name(self) -> str:
        return self.path.name

    def open_binary(self) -> BinaryIO:
        return io.BufferedReader(CountingReader(open(self.path, "rb", buffering=0), self.on_read), 1 << 16)

    def open_text(self, encoding: str = "utf-8", errors: str = "strict", newline: str | None = None) -> TextIO:
        return io.TextIOWrapper(self.open_binary(), encoding=encoding, errors=errors, newline=newline)


@dataclass
class ImportOptions:
    """What the operator said on the command line that an importer needs to know."""

    tz: tzinfo  # zone for timestamps the source writes without an offset
    group: str | None = None  # --group: the group these events belong to (see each format's docs)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Importer:
    name: str
    description: str
    #: glob patterns of files to take when the operator passes a directory
    patterns: tuple[str, ...]
    #: "utc" or "community": the zone assumed for timestamps without an offset
    naive_time_zone: str
    read: Callable[[Source, ImportOptions], Iterator[Event | Reject]]
    #: optional cheap check used when walking directories: does this file look like our format?
    sniff: Callable[[Path], bool] | None = None
    #: optional fast path for big imports: the same items as ``read``, but events as lists of flat rows
    #: (``store.event_writer.EventRow``, in order), so no Event object is built per line. Its group,
    #: platform and reply ids must fit the id columns (``MAX_ID``): they are not re-checked.
    read_rows: Callable[[Source, ImportOptions], Iterator[list[tuple] | Reject]] | None = None
