"""Streaming helpers for exports that are one big JSON document (Telegram Desktop, DiscordChatExporter).

A multi-GB ``result.json`` must never be loaded whole. Every stream goes through a
:class:`RepairedStream` (encoding repair, see below). Two ways to read:

* the header comes first and the records follow in one array (DiscordChatExporter, a Telegram
  single-chat export): :func:`peek` parses the start of the file (outside the progress count) until
  the array begins, then :func:`iter_items` builds the records with ``ijson.items``, entirely in C
  with the ``yajl2_c`` backend;
* headers are interleaved with record arrays (Telegram's full-account export): the importer walks the
  ``(prefix, event, value)`` events of :func:`open_json` itself, follows the structure, and hands the
  events of the records it wants, renamed to :data:`RECORD`, to a :class:`RecordBuilder`.

Memory stays flat: at most one record, one line and one 64 KiB buffer are held.

Encoding repair. Both tools write UTF-8, but files get re-saved by editors and mangled by transfers.
The stream passes valid UTF-8 through untouched (checked a newline-ended chunk at a time, so the
fast path costs one ``bytes.decode`` per 64 KiB). A line that is not valid UTF-8 is decoded with the
fallback encodings of :mod:`shequn.importers.textlines` (GB18030, cp1252, Latin-1) and re-encoded as
UTF-8 before the parser sees it; JSON never has a raw newline inside a string, so a line is a safe
unit (a newline-free, minified file that is not UTF-8 is cut every 4 MiB instead). A leading UTF-8
byte-order mark is dropped and a UTF-16/UTF-32 file (recognised by its BOM) is transcoded.

Damage. ``ijson`` stops at the first syntax error (a truncated file, a garbage line). Everything
before the damage has already been yielded; :func:`damage_reject` describes where it stopped (byte
offset, approximate to the parser's buffer, and the last good record) so the importer can end with
one Reject instead of crashing.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import ijson
from ijson.utils import sendable_list

from shequn.domain.events import Reject
from shequn.importers.base import ImportError_, Source
from shequn.importers.textlines import FALLBACK_ENCODINGS, decode_line

#: the prefix an importer gives to the events of the records it wants a RecordBuilder to build
RECORD = "\x00record"
#: errors ijson raises for malformed or truncated input
JSON_ERRORS: tuple[type[BaseException], ...] = (ijson.JSONError, ijson.IncompleteJSONError)

_CHUNK = 1 << 16
_MAX_CARRY = 1 << 22  # a "line" longer than 4 MiB is cut (minified JSON); only matters on the fallback path
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, None),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class RepairedStream:
    """A binary file-like object that yields valid UTF-8 JSON text for ``ijson``.

    ``consumed`` is the number of bytes taken from the underlying file (for error locations);
    ``fallback_lines`` counts lines that had to be decoded with a fallback encoding.
    """

    def __init__(self, raw: BinaryIO, fallbacks: tuple[str, ...] = FALLBACK_ENCODINGS):
        self._raw = raw
        self._fallbacks = fallbacks
        self._out = bytearray()
        self._carry = b""
        self._eof = False
        self._started = False
        self._decoder = None  # incremental decoder when the file is UTF-16/32
        self.consumed = 0
        self.fallback_lines = 0

    # ijson calls read(n) and checks whether it returns bytes
    def read(self, n: int = -1) -> bytes:
        while not self._eof and (n < 0 or len(self._out) < n):
            self._fill()
        if n < 0 or n >= len(self._out):
            data = bytes(self._out)
            self._out.clear()
            return data
        data = bytes(self._out[:n])
        del self._out[:n]
        return data

    def close(self) -> None:
        self._raw.close()

    def _fill(self) -> None:
        chunk = self._raw.read(_CHUNK)
        self.consumed += len(chunk)
        if not self._started:
            self._started = True
            for bom, encoding in _BOMS:
                if chunk.startswith(bom):
                    chunk = chunk[len(bom) :]
                    if encoding:
                        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
                    break
        if not chunk:
            self._eof = True
            if self._decoder is not None:
                self._out += self._decoder.decode(b"", final=True).encode("utf-8")
            elif self._carry:
                self._emit(self._carry)
                self._carry = b""
            return
        if self._decoder is not None:
            self._out += self._decoder.decode(chunk).encode("utf-8")
            return
        data = self._carry + chunk if self._carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            # no newline (minified JSON): pass valid UTF-8 through up to an incomplete last character
            cut = _safe_cut(data)
            try:
                data[:cut].decode("utf-8")
            except UnicodeDecodeError:
                if len(data) < _MAX_CARRY:  # the fallback path works a line at a time: wait for one
                    self._carry = data
                    return
        self._carry = data[cut:]
        self._emit(data[:cut])

    def _emit(self, piece: bytes) -> None:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            self._out += piece
            return
        for line in piece.splitlines(keepends=True):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                body = line.rstrip(b"\r\n")
                text, _enc = decode_line(body, self._fallbacks)
                self._out += text.encode("utf-8") + line[len(body) :]
                self.fallback_lines += 1
            else:
                self._out += line


def _safe_cut(data: bytes) -> int:
    """``len(data)``, or less so as not to split a UTF-8 multi-byte character at the end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # continuation byte: look further back for the lead byte
            continue
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) - back if need > back else len(data)
        break
    return len(data)


def open_json(source: Source) -> tuple[RepairedStream, Iterator[tuple[str, str, Any]]]:
    """Open ``source`` and return the stream and its ijson parse events. Numbers become int/float."""
    stream = RepairedStream(source.open_binary())
    return stream, ijson.parse(stream, use_float=True)


def iter_items(source: Source, prefix: str) -> tuple[RepairedStream, Iterator[Any]]:
    """Open ``source`` and build every value at ``prefix`` (e.g. ``"messages.item"``) one at a time."""
    stream = RepairedStream(source.open_binary())
    return stream, ijson.items(stream, prefix, use_float=True)


@contextmanager
def peek(source: Source):
    """Parse events of the file from its start, outside the progress count (for reading a header)."""
    stream = RepairedStream(open(source.path, "rb"))
    try:
        yield ijson.parse(stream, use_float=True)
    finally:
        stream.close()


_BACKEND = ijson.get_backend(ijson.backend)


class RecordBuilder:
    """Builds the values whose events are sent with prefix :data:`RECORD` (in C with yajl2_c).

    ``send((prefix, event, value))`` every event from the start of a record to its end; finished
    records collect in ``done`` (clear it after taking them). Events outside a record are ignored.
    """

    def __init__(self) -> None:
        self.done: list = sendable_list()
        self.send = _BACKEND.items_basecoro(self.done, RECORD).send


def error_text(exc: BaseException) -> str:
    """The first line of an ijson/yajl error (yajl appends a multi-line excerpt of the input)."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    first = str(text).strip().splitlines()
    return first[0].strip() if first else type(exc).__name__


def damage_reject(source: Source, stream: RepairedStream, exc: BaseException, last_good: str | None) -> Reject:
    """One Reject saying where a truncated or malformed JSON file stopped being readable."""
    after = f"after {last_good}" if last_good else "before the first record"
    return Reject(
        source.name,
        f"near byte {stream.consumed}",
        "truncated or malformed JSON: import stopped here",
        f"{error_text(exc)} ({after})",
    )


def not_this_format(source: Source, what: str, exc: BaseException | None = None) -> ImportError_:
    detail = f": {error_text(exc)}" if exc is not None else ""
    return ImportError_(f"{source.name}: not a {what}{detail}")


def raw_json(value: Any, limit: int = 2000) -> str:
    """A record as compact JSON for a Reject's ``raw`` (never fails)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:limit]


def head(path, size: int = 1 << 16) -> str:
    """The first ``size`` bytes of a file as text (for sniffing); empty on errors."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(size)
    except OSError:
        return ""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")
