"""Parsing files into storable rows, in this process or in a second one.

On a big import the parser and the database writer each keep a core busy: parsing runs in a child
process and sends compact row batches back over a bounded queue (so memory stays flat however large
the export), while the parent resolves members and writes. Small imports parse in-process (starting
a process costs more than it saves). Both paths yield exactly the same messages, in file order:

- ``(ROWS, [EventRow, ...], bytes_read)`` — events ready for ``EventWriter.write_rows``;
- ``(REJECT, Reject, bytes_read)`` — a line the format could not turn into an event;
- ``(FAILED, message, bytes_read)`` — the current file cannot be read any further (what came before is kept);
- ``(END, path, bytes_read)`` — the current file is finished (the caller commits).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import traceback
from collections.abc import Iterator
from pathlib import Path

from shequn.domain.events import Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source
from shequn.store.event_writer import event_row

ROWS, REJECT, FAILED, END = "rows", "reject", "failed", "end"
_EOF, _CRASH = "eof", "crash"
MAX_ID = 500  # column size of platform ids and group ids
ROWS_PER_MESSAGE = 2000
QUEUE_DEPTH = 16  # messages in flight: bounds the parent's memory when the writer is the slower side
PARALLEL_MIN_BYTES = 8 << 20  # below this a second process costs more than it saves


def parse_files(
    importer: Importer, files: list[Path], opts: ImportOptions, *, parallel: bool | None = None
) -> Iterator[tuple]:
    """Yield the messages above for ``files``; ``parallel=None`` decides by total size and cores."""
    if parallel is None:
        parallel = (mp.cpu_count() or 1) > 1 and sum(f.stat().st_size for f in files) >= PARALLEL_MIN_BYTES
    if parallel:
        yield from _in_child(importer, files, opts)
    else:
        yield from _parse(importer, files, opts)


def _parse(importer: Importer, files: list[Path], opts: ImportOptions) -> Iterator[tuple]:
    read = 0

    def on_read(n: int) -> None:
        nonlocal read
        read += n

    def taken() -> int:
        nonlocal read
        n, read = read, 0
        return n

    for f in files:
        rows: list[tuple] = []
        try:
            for item in importer.read(Source(f, on_read), opts):
                if isinstance(item, Reject):
                    if rows:
                        yield ROWS, rows, 0
                        rows = []
                    yield REJECT, item, taken()
                elif len(item.platform_id) > MAX_ID or len(item.reply_to or "") > MAX_ID or len(item.group.external_id) > MAX_ID:
                    yield REJECT, Reject(f.name, item.platform_id[:80], f"id longer than {MAX_ID} characters", item.text), taken()
                else:
                    rows.append(event_row(item))
                    if len(rows) >= ROWS_PER_MESSAGE:
                        yield ROWS, rows, taken()
                        rows = []
        except ImportError_ as exc:
            failure = str(exc)
        except (OSError, UnicodeError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            failure = None
        if rows:
            yield ROWS, rows, taken()
        if failure is not None:
            yield FAILED, failure, taken()
        yield END, f, taken()


def _child(importer: Importer, files: list[Path], opts: ImportOptions, out) -> None:
    try:
        for msg in _parse(importer, files, opts):
            out.put(msg)
        out.put((_EOF, None, 0))
    except BaseException:  # noqa: BLE001 - the parent must learn why the parser stopped
        out.put((_CRASH, traceback.format_exc(), 0))


def _in_child(importer: Importer, files: list[Path], opts: ImportOptions) -> Iterator[tuple]:
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    out = ctx.Queue(maxsize=QUEUE_DEPTH)
    proc = ctx.Process(target=_child, args=(importer, files, opts, out), name="shequn-parse", daemon=True)
    proc.start()
    try:
        while True:
            try:
                msg = out.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"the parser process stopped unexpectedly (exit code {proc.exitcode})") from None
                continue
            if msg[0] == _EOF:
                break
            if msg[0] == _CRASH:
                raise RuntimeError(f"the parser process failed:\n{msg[1]}")
            yield msg
        proc.join(timeout=10)
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        out.close()
        out.cancel_join_thread()
