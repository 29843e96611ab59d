"""Line reading shared by the text formats: tolerant decoding that never loses a line.

Real exports mix encodings (an old log in Latin-1, a QQ export in GB18030). A line that is not valid
UTF-8 is decoded with the fallback encodings in turn; only bytes no encoding accepts become U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from shequn.importers.base import Source

FALLBACK_ENCODINGS = ("gb18030", "cp1252", "latin-1")


def decode_line(raw: bytes, fallbacks: tuple[str, ...] = FALLBACK_ENCODINGS) -> tuple[str, str]:
    """Return (text, encoding used)."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for enc in fallbacks:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace"), "utf-8-replace"


CHUNK = 1 << 18  # bytes decoded at once: one decode call per block of lines instead of one per line
_BOM = b"\xef\xbb\xbf"
_CR_AT_END = re.compile(r"\r+$", re.M)


def _byte_blocks(source: Source, size: int) -> Iterator[bytes]:
    """The file as blocks of whole lines (each without its final newline), in order.

    A UTF-8 byte-order mark at the start is dropped. A line longer than ``size`` is gathered
    piece by piece and comes out as one block (a file without newlines is one block)."""
    pending: list[bytes] = []  # the start of a line that continues in the next read
    with source.open_binary() as fh:
        head = fh.read(3)
        block = fh.read(size) if head == _BOM else head + fh.read(size)
        while block:
            cut = block.rfind(b"\n")
            if cut < 0:
                pending.append(block)
            else:
                yield b"".join((*pending, block[:cut])) if pending else block[:cut]
                pending = [block[cut + 1 :]] if cut + 1 < len(block) else []
            block = fh.read(size)
    if pending:  # the last line had no newline
        yield b"".join(pending)


def iter_blocks(source: Source, fallbacks: tuple[str, ...] = FALLBACK_ENCODINGS, size: int = CHUNK) -> Iterator[tuple[int, str]]:
    """Yield (0-based number of the first line, text) for blocks of whole lines joined by ``\\n``, for
    parsers that match a whole block at once (``re.findall`` with ``re.M``) instead of calling Python
    per line. Lines end at LF or CRLF (a lone CR does not end a line; CRs at a line's end are dropped);
    a UTF-8 byte-order mark at the start is dropped. A block that is not valid UTF-8 is decoded line by
    line with the fallbacks, so one bad line never changes how its neighbours are read."""
    lineno = 0
    for data in _byte_blocks(source, size):
        lines = data.count(b"\n") + 1
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "\n".join(decode_line(raw, fallbacks)[0] for raw in data.split(b"\n"))
        if "\r" in text:
            text = _CR_AT_END.sub("", text)
        yield lineno, text
        lineno += lines
