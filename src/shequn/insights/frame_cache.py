"""An incremental columnar copy of a community's events, so insights do not rescan the store.

Why: SQLite keeps each event's text inside its row, so reading the analytics columns of 10 million
events still walks about 2 GB of pages (5-15 s on two cores) even though the frame needs a tenth of
that. Events are append-only and immutable (DESIGN.md), so what was read once never changes: the
cache keeps the raw event columns (not members: identities are joined at load time, so merges and
splits show at once) in Parquet segments and each load reads only the events with a larger id than
the cache holds, then appends them as a new segment (compacted into one when there are many).

Safety: every load checks that the first and last cached events still exist unchanged (a database
replaced or rebuilt at the same URL invalidates the cache) and, on PostgreSQL, that the cached id
range still holds as many events as the cache (ids are assigned at insert, not at commit, so a long
import can commit ids below ones already cached: the cache is then rebuilt); a lock file serialises writers; files
are written under temporary names and renamed. Small communities (fewer than ``MIN_ROWS`` events)
are not cached at all: reading them directly is already fast. ``SHEQUN_CACHE`` moves the cache
(default: the per-user cache directory); deleting the directory is always safe.

Other immutable results derived from cached events (the keyword background's term counts) are kept
beside the segments as ``*.parquet`` files too (``FrameCache.side``), so the same checks clear them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from shequn.insights.frame import sort_events

VERSION = 1
MIN_ROWS = 200_000
MAX_SEGMENTS = 8


def cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("SHEQUN_CACHE") or user_cache_dir("shequn", appauthor=False)) / "frames"


class FrameCache:
    """The cached raw event columns of one community in one database."""

    def __init__(self, url: str, community_id: int, root: Path | None = None):
        key = hashlib.sha256(f"{url}|{community_id}|v{VERSION}".encode()).hexdigest()[:24]
        self.dir = (root or cache_root()) / key
        self.meta_path = self.dir / "meta.json"

    @contextmanager
    def locked(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def meta(self) -> dict | None:
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        return meta if meta.get("version") == VERSION else None

    def read(self, meta: dict) -> pl.DataFrame:
        return pl.concat([pl.read_parquet(self.dir / name) for name in meta["segments"]], rechunk=False)

    def side(self) -> Path | None:
        """The directory for results derived from the cached events, or None while nothing is cached."""
        return self.dir if self.meta() is not None else None

    def clear(self) -> None:
        for path in self.dir.glob("*.parquet"):
            path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)

    def append(self, meta: dict | None, delta: pl.DataFrame, community_id: int) -> dict:
        """Store ``delta`` (events after the cached ones) as a new segment; compact when there are many."""
        meta = meta or {"version": VERSION, "segments": [], "rows": 0, "first": None, "last": None}
        first_row = delta.row(int(delta["id"].arg_min()), named=True) if meta["first"] is None else None
        name = f"seg-{int(delta['id'].min())}-{int(delta['id'].max())}.parquet"
        self._write(sort_events(delta), name)  # in frame order: a load then need not sort again
        segments = [*meta["segments"], name]
        if len(segments) > MAX_SEGMENTS:
            whole = sort_events(pl.concat([pl.read_parquet(self.dir / s) for s in segments]))
            name = f"seg-{int(whole['id'].min())}-{int(whole['id'].max())}-c.parquet"
            self._write(whole, name)
            old, segments = segments, [name]
        else:
            old = []
        last = delta.row(int(delta["id"].arg_max()), named=True)
        meta = {
            "version": VERSION,
            "community_id": community_id,
            "segments": segments,
            "rows": meta["rows"] + delta.height,
            "first": meta["first"] or _sentinel(first_row),
            "last": _sentinel(last),
        }
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta))
        tmp.replace(self.meta_path)
        for s in old:
            (self.dir / s).unlink(missing_ok=True)
        return meta

    def _write(self, df: pl.DataFrame, name: str) -> None:
        tmp = self.dir / f".{name}.tmp"
        df.write_parquet(tmp, compression="lz4", statistics=False)
        tmp.replace(self.dir / name)


def _sentinel(row: dict) -> dict:
    return {"id": int(row["id"]), "at_ms": int(row["at_ms"]), "platform_id": row["platform_id"], "group_id": int(row["group_id"])}
