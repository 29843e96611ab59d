"""Line reading shared by the text formats: tolerant decoding that never loses a line.

Real exports mix encodings (an old log in Latin-1, a QQ export in GB18030). A line that is not valid
UTF-8 is decoded with the fallback encodings in turn; only bytes no encoding accepts become U+FFFD.
"""

from __future__ import annotations

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


def iter_lines(source: Source, fallbacks: tuple[str, ...] = FALLBACK_ENCODINGS) -> Iterator[tuple[int, str, str]]:
    """Yield (0-based line number, line without its newline, encoding) for every line of the file.

    A UTF-8 byte-order mark on the first line is dropped; CRLF and LF both end a line.
    """
    with source.open_binary() as fh:
        for lineno, raw in enumerate(fh):
            if lineno == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            text, enc = decode_line(raw.rstrip(b"\r\n"), fallbacks)
            yield lineno, text, enc
