"""The event reader's read-ahead thread: order kept, early stops and reader errors handled."""

from __future__ import annotations

import threading

import pytest

from shequn.store.event_reader import PREFETCH_CHUNKS, _prefetched


def _source(chunks: list[list[tuple]], fail_at: int | None = None):
    it = iter(chunks)
    calls = 0

    def fetch():
        nonlocal calls
        calls += 1
        if fail_at is not None and calls == fail_at:
            raise OSError("disk gone")
        return next(it, [])

    return fetch


def test_chunks_arrive_in_order_and_end():
    chunks = [[(i, j) for j in range(3)] for i in range(50)]
    assert list(_prefetched(_source(chunks))) == chunks


def test_a_consumer_that_stops_early_stops_the_thread():
    chunks = [[(i,)] for i in range(1000)]
    before = threading.active_count()
    gen = _prefetched(_source(chunks))
    assert next(gen) == [(0,)]
    gen.close()  # e.g. a backtest that failed on its first event
    assert threading.active_count() == before
    # the reader read at most a few chunks ahead: memory stays bounded
    assert not any(t.name == "shequn-event-reader" for t in threading.enumerate())


def test_a_read_error_reaches_the_consumer_after_what_was_read():
    chunks = [[(i,)] for i in range(10)]
    got = []
    with pytest.raises(OSError, match="disk gone"):
        for rows in _prefetched(_source(chunks, fail_at=4)):
            got.append(rows)
    assert got == chunks[:3]
    assert PREFETCH_CHUNKS >= 1
