"""Fast columnar reads from an SQLite file, done in a child process.

Why a child process: ConnectorX (and ADBC) carry their own copy of the SQLite library. SQLite's
locks are POSIX advisory locks, which belong to a *process*: when a second SQLite library in the
same process closes its file, the kernel drops the locks the first library (Python's ``sqlite3``,
which the store uses) still relies on, so WAL readers see stale data and the database can even be
damaged ("multiple copies of SQLite linked into the same application" in SQLite's "How to corrupt
an SQLite database file"). In a child process the locks are its own and every WAL rule holds.

The child runs the query with ConnectorX (two id-range partitions when asked) and streams Arrow IPC
back through a pipe; the parent pays about a fifth of a second to start it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa


class ReadError(RuntimeError):
    pass


def read_sqlite(url: str, sql: str, *, partition_on: str | None = None, partitions: int = 2) -> pa.Table:
    """Run ``sql`` against the SQLite file ``url`` (``sqlite:///abs/path``) in a child process."""
    request = json.dumps({"url": url, "sql": sql, "partition_on": partition_on, "partitions": partitions})
    proc = subprocess.Popen([sys.executable, "-m", "shequn.insights.sqlite_reader"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(request.encode())
    proc.stdin.close()
    try:
        table = pa.ipc.open_stream(proc.stdout).read_all()
    except pa.ArrowInvalid:
        table = None
    err = proc.stderr.read().decode(errors="replace").strip()
    if proc.wait() != 0 or table is None:
        raise ReadError(err.splitlines()[-1] if err else f"reader exited with {proc.returncode}")
    return table


def _main() -> None:
    import connectorx as cx

    req = json.loads(sys.stdin.read())
    kw = {"partition_on": req["partition_on"], "partition_num": req["partitions"]} if req["partition_on"] else {}
    table = cx.read_sql(req["url"], req["sql"], return_type="arrow", **kw)
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as out:
        out.write_table(table)


if __name__ == "__main__":
    _main()
