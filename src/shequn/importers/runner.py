"""Runs an importer over files and stores what it yields: batched, idempotent, with progress.

Every ``COMMIT_EVERY`` events (and the end) commit on their own, so an interrupted import keeps what it
wrote and a re-run skips it as duplicates. Not every file: a commit writes the pages it changed to the
WAL, and on a directory of small day logs a commit per file rewrote them (the identities index, which
new nicks touch all over, above all) once per file: 1.8 times the WAL writes of the ubuntu-irc split.
Rejected lines are stored with their reason (table ``import_rejects``) so nothing the operator handed us
disappears without a trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from shequn.domain.community import GroupKind
from shequn.domain.events import Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions
from shequn.importers.parsing import FAILED, REJECT, ROWS, fewer_gc_passes, parse_files
from shequn.store.bulk import deferred_event_indexes, fewer_checkpoints
from shequn.store.directory import GroupDirectory, community_timezone, ensure_community, now_ms
from shequn.store.event_writer import EventRow, EventWriter
from shequn.store.members import IdentityResolver
from shequn.store.tables import import_rejects, imports

BATCH = 2000
COMMIT_EVERY = 20_000  # events per transaction: few page rewrites, bounded loss if the process is killed
BYTES_PER_EVENT = 80  # a rough size of one exported message: estimates an import's size from its files
MAX_REJECTS_STORED = 100_000  # per import; beyond this only the count grows


@dataclass
class ImportSummary:
    import_id: int | None = None
    files: int = 0
    skipped_files: list[str] = field(default_factory=list)
    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    reject_reasons: Counter = field(default_factory=Counter)
    reject_examples: list[Reject] = field(default_factory=list)
    failed_files: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "import_id": self.import_id,
            "files": self.files,
            "skipped_files": self.skipped_files,
            "added": self.added,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "reject_reasons": dict(self.reject_reasons.most_common()),
            "failed_files": [{"file": f, "error": e} for f, e in self.failed_files],
        }


def expand_paths(importer: Importer, paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Files to read and files skipped. Files named explicitly are always read; directories are
    walked (sorted, recursively) for the format's patterns and files that fail its sniff test are skipped.
    """
    files: list[Path] = []
    skipped: list[str] = []
    for p in paths:
        if not p.exists():
            raise ImportError_(f"{p}: no such file or directory")
        if p.is_file():
            files.append(p)
            continue
        found = sorted({f for pattern in importer.patterns for f in p.rglob(pattern) if f.is_file()})
        for f in found:
            if importer.sniff is None or importer.sniff(f):
                files.append(f)
            else:
                skipped.append(str(f))
        if not found:
            raise ImportError_(f"{p}: no files matching {', '.join(importer.patterns)}")
    return files, skipped


def run_import(
    engine: Engine,
    importer: Importer,
    paths: list[Path],
    *,
    community: str = "default",
    group: str | None = None,
    tz: str | None = None,
    kind: GroupKind | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
    extra: dict | None = None,
    parallel: bool | None = None,
) -> ImportSummary:
    """Import ``paths`` into ``community``. ``progress(done_bytes, total_bytes)`` is called as files are read.

    ``parallel``: parse in a second process (default: when the files are big enough to gain from it).
    """
    files, skipped = expand_paths(importer, paths)
    summary = ImportSummary(files=len(files), skipped_files=skipped)
    total = sum(f.stat().st_size for f in files)
    done = 0

    def on_read(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    with engine.connect() as conn:
        community_id = ensure_community(conn, community)
        zone_name = tz or ("UTC" if importer.naive_time_zone == "utc" else community_timezone(conn, community_id))
        opts = ImportOptions(tz=ZoneInfo(zone_name), group=group, extra=extra or {})
        import_id = conn.execute(
            imports.insert().values(
                community_id=community_id, format=importer.name, paths=[str(p) for p in paths], started_ms=now_ms()
            )
        ).inserted_primary_key[0]
        conn.commit()
        summary.import_id = import_id
        writer = EventWriter(conn, community_id, GroupDirectory(conn, community_id, kind=kind), IdentityResolver(conn, community_id))
        batch: list[EventRow] = []
        rejects: list[dict] = []
        since_commit = 0
        current = iter(files)
        f = next(current, None)

        def flush() -> None:
            nonlocal since_commit
            counts = writer.write_rows(batch)
            summary.added += counts.added
            summary.duplicates += counts.duplicates
            if rejects:
                conn.execute(import_rejects.insert(), rejects)
            since_commit += len(batch) + len(rejects)
            batch.clear()
            rejects.clear()
            if since_commit >= COMMIT_EVERY:
                conn.commit()
                since_commit = 0

        with fewer_checkpoints(conn), deferred_event_indexes(conn, expected_rows=total // BYTES_PER_EVENT), fewer_gc_passes():
            for tag, body, read in parse_files(importer, files, opts, parallel=parallel):
                on_read(read)
                if tag == ROWS:
                    batch.extend(body)
                elif tag == REJECT:
                    summary.rejected += 1
                    summary.reject_reasons[body.reason] += 1
                    if len(summary.reject_examples) < 20:
                        summary.reject_examples.append(body)
                    if summary.rejected <= MAX_REJECTS_STORED:
                        rejects.append(dict(import_id=import_id, source=str(f), location=body.location, reason=body.reason, raw=(body.raw or "")[:2000]))
                elif tag == FAILED:
                    summary.failed_files.append((str(f), body))
                else:  # END: the next messages are about the next file
                    f = next(current, None)
                    continue
                if len(batch) >= batch_size or len(rejects) >= batch_size:
                    flush()
            flush()
            conn.commit()
        conn.execute(
            imports.update()
            .where(imports.c.id == import_id)
            .values(finished_ms=now_ms(), added=summary.added, duplicates=summary.duplicates, rejected=summary.rejected)
        )
        conn.commit()
    return summary
