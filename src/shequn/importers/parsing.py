"""Parsing files into storable rows, in this process or in a second one.

On a big import, when a core is idle, the parser and the database writer each keep a core busy:
parsing runs in a child process and sends compact row batches back over a bounded queue (so memory
stays flat however large the export), while the parent resolves members and writes. Otherwise, and
for small imports, parsing runs in-process (a second process costs CPU to pickle every row across).
Both paths yield exactly the same messages, in file order:

- ``(ROWS, [EventRow, ...], bytes_read)`` — events ready for ``EventWriter.write_rows``;
- ``(REJECT, Reject, bytes_read)`` — a line the format could not turn into an event;
- ``(FAILED, message, bytes_read)`` — the current file cannot be read any further (what came before is kept);
- ``(END, path, bytes_read)`` — the current file is finished (the caller commits).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import queue
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shequn.domain.events import Reject
from shequn.importers.base import MAX_ID, Importer, ImportError_, ImportOptions, Source
from shequn.store.event_writer import event_row

ROWS, REJECT, FAILED, END = "rows", "reject", "failed", "end"
_EOF, _CRASH = "eof", "crash"
ROWS_PER_MESSAGE = 2000
QUEUE_DEPTH = 16  # messages in flight: bounds the parent's memory when the writer is the slower side
PARALLEL_MIN_BYTES = 8 << 20  # below this a second process costs more than it saves


GC_THRESHOLD = 200_000  # allocations between young-generation collections during a bulk import (default 700)


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """An import allocates millions of short-lived tuples that hold no reference cycles; at Python's
    default threshold the cyclic collector scans the young ones every 700 allocations, for nothing.
    Reference counting frees them either way; cycles (rare here) are still collected, just later."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_THRESHOLD), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def parse_files(
    importer: Importer, files: list[Path], opts: ImportOptions, *, parallel: bool | None = None
) -> Iterator[tuple]:
    """Yield the messages above for ``files``; ``parallel=None`` decides by total size and idle cores."""
    if parallel is None:
        parallel = sum(f.stat().st_size for f in files) >= PARALLEL_MIN_BYTES and _idle_cores() >= 1.5
    if parallel:
        yield from _in_child(importer, files, opts)
    else:
        yield from _parse(importer, files, opts)


def _idle_cores() -> float:
    """Cores not busy over the last minute. A parser process only pays when it gets a core of its own:
    on two cores it saved ~6 % of an import's wall time with the other core idle, nothing with it busy,
    and always costs ~40 % more CPU (every row is pickled across), so it is used only when a core is free."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform: assume the machine is ours
        load = 0.0
    return (os.cpu_count() or 1) - load


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
        source = Source(f, on_read)
        try:
            items = importer.read_rows(source, opts) if importer.read_rows is not None else _as_rows(importer, source, opts, f)
            for item in items:
                if isinstance(item, Reject):
                    if rows:
                        yield ROWS, rows, 0
                        rows = []
                    yield REJECT, item, taken()
                    continue
                rows.extend(item)
                while len(rows) >= ROWS_PER_MESSAGE:
                    yield ROWS, rows[:ROWS_PER_MESSAGE], taken()
                    del rows[:ROWS_PER_MESSAGE]
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


def _as_rows(importer: Importer, source: Source, opts: ImportOptions, f: Path) -> Iterator[list | Reject]:
    """Adapt an importer that yields one event at a time to the row-list shape of ``read_rows``,
    checking the id lengths that ``read_rows`` importers promise to check themselves."""
    for item in importer.read(source, opts):
        if isinstance(item, Reject):
            yield item
        elif len(item.platform_id) > MAX_ID or len(item.reply_to or "") > MAX_ID or len(item.group.external_id) > MAX_ID:
            yield Reject(f.name, item.platform_id[:80], f"id longer than {MAX_ID} characters", item.text)
        else:
            yield [event_row(item)]


def _child(importer: Importer, files: list[Path], opts: ImportOptions, out) -> None:
    try:
        gc.set_threshold(GC_THRESHOLD)  # this process only parses (see fewer_gc_passes)
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
