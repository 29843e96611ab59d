"""The labeled spam corpora the shipped model is trained on (``../shared/data/spam/*/labeled.tsv``) and the
one-message-per-line files operators feed to ``shequn moderation check`` / ``learn``.

Both readers stream and never crash on bad input: an undecodable line is reported with its line number and the bytes
that could not be read are replaced, so one broken line costs one line, not the file.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The corpora the shipped model is trained on, by directory name under ``shared/data/spam``.
CORPORA = ("zh-sms", "tg-spam", "sms-en")


@dataclass(frozen=True)
class Sample:
    text: str
    spam: bool


def default_spam_dir() -> Path:
    """``../shared/data/spam`` next to the project root (or ``SHEQUN_SHARED_DATA``/spam)."""
    env = os.environ.get("SHEQUN_SHARED_DATA")
    if env:
        return Path(env) / "spam"
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "spam"


def read_labeled(path: Path) -> list[Sample]:
    """A ``label<TAB>text`` file with a header (``ham``/``spam``); raises ValueError naming the line on a bad label."""
    samples: list[Sample] = []
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["label", "text"]:
            raise ValueError(f"{path}:1: expected a header 'label<TAB>text', got {header!r}")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            label = row[0].strip().lower()
            if label not in ("ham", "spam"):
                raise ValueError(f"{path}:{lineno}: label must be 'ham' or 'spam', got {row[0]!r}")
            text = "\t".join(row[1:])
            if text.strip():
                samples.append(Sample(text, label == "spam"))
    return samples


def load_corpus(name: str, spam_dir: Path | None = None) -> list[Sample]:
    path = (spam_dir or default_spam_dir()) / name / "labeled.tsv"
    if not path.exists():
        raise FileNotFoundError(f"spam corpus {name!r} not found at {path} (training needs ../shared/data/spam)")
    return read_labeled(path)


@dataclass(frozen=True)
class Line:
    """One message of a message-per-line file; ``error`` says what was wrong with its bytes, if anything."""

    lineno: int
    text: str
    error: str | None = None


def iter_lines(source: str | Path) -> Iterator[Line]:
    """Messages from a file (or ``-`` for standard input), one per line, streamed. Bytes that are not UTF-8 are
    replaced by U+FFFD and the line carries an ``error`` naming the offending byte offset; a UTF-8 BOM is ignored."""
    if str(source) == "-":
        stream = sys.stdin.buffer
        close = False
    else:
        stream = open(source, "rb")  # noqa: SIM115 - closed below
        close = True
    try:
        for lineno, raw in enumerate(stream, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\r\n")
            try:
                yield Line(lineno, raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                text = raw.decode("utf-8", errors="replace")
                yield Line(lineno, text, f"line {lineno}: not UTF-8 at byte {exc.start} ({raw[exc.start:exc.start + 4]!r}); "
                                         "undecodable bytes replaced with U+FFFD")
    finally:
        if close:
            stream.close()


def read_text_lines(source: str | Path) -> tuple[list[str], list[str]]:
    """All non-blank messages of a message-per-line file, and the decoding problems met (for ``learn``)."""
    texts, problems = [], []
    for line in iter_lines(source):
        if line.error:
            problems.append(f"{source}:{line.error}")
        if line.text.strip():
            texts.append(line.text)
    return texts, problems


__all__ = ["CORPORA", "Sample", "Line", "default_spam_dir", "read_labeled", "load_corpus", "iter_lines", "read_text_lines", "io"]
