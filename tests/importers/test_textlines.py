"""Block-wise line reading: the same lines, numbers and decoding as reading the file line by line."""

from __future__ import annotations

import pytest

from shequn.importers.base import Source
from shequn.importers.textlines import FALLBACK_ENCODINGS, decode_line, iter_blocks

CASES = [
    b"",
    b"\n",
    b"one",
    b"one\n",
    b"a\r\nb\r\n",
    b"\xef\xbb\xbfbom\nsecond",
    b"a\r\r\n\rb\r",  # CRs at a line end go, a CR inside a line stays
    b"caf\xe9 latin-1\nok\n\xff\xfe\n",
    b"x\x0by\x0cz\x1c\xe2\x80\xa8w\n",  # characters str.splitlines() would break on are not line ends
    "中文\n长".encode(),
    "中文".encode("gb18030") + b"\nutf8 \xe2\x9c\x93\n",
]


def by_lines(data: bytes) -> list[tuple[int, str]]:
    """The reference: split on LF, drop a leading BOM and trailing CRs, decode each line on its own."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raws = data.split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    return [(n, decode_line(raw.rstrip(b"\r"), FALLBACK_ENCODINGS)[0]) for n, raw in enumerate(raws)]


@pytest.mark.parametrize("data", CASES)
@pytest.mark.parametrize("size", [1, 2, 5, 1 << 18])
def test_blocks_hold_exactly_the_lines(tmp_path, data, size):
    f = tmp_path / "x.txt"
    f.write_bytes(data)
    got = [(first + k, line) for first, text in iter_blocks(Source(f), size=size) for k, line in enumerate(text.split("\n"))]
    assert got == by_lines(data)


def test_progress_counts_every_byte(tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes(b"line\n" * 100_000)
    seen = []
    assert sum(len(text.split("\n")) for _, text in iter_blocks(Source(f, seen.append))) == 100_000
    assert sum(seen) == f.stat().st_size
