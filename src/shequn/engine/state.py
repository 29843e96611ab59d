"""Module state: a small key-value store per (community, module). Live it is a database table that
commits with the event and its actions; in a backtest it is a dict that is thrown away.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from shequn.store.tables import module_state


class StateStore(Protocol):
    def get(self, module: str, key: str, default: Any = None) -> Any: ...

    def set(self, module: str, key: str, value: Any) -> None: ...

    def delete(self, module: str, key: str) -> None: ...


class MemoryState:
    """For backtests and tests: nothing leaves the process."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Any] = {}

    def get(self, module: str, key: str, default: Any = None) -> Any:
        return self._data.get((module, key), default)

    def set(self, module: str, key: str, value: Any) -> None:
        self._data[(module, key)] = value

    def delete(self, module: str, key: str) -> None:
        self._data.pop((module, key), None)

    def items(self) -> list[tuple[tuple[str, str], Any]]:
        """Every (module, key) and value: what a partitioned backtest hands back to be merged."""
        return list(self._data.items())


class DbState:
    """Live state in table ``module_state``, written in the caller's transaction."""

    def __init__(self, conn: Connection, community_id: int):
        self.conn = conn
        self.community_id = community_id
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        self._insert = insert

    def get(self, module: str, key: str, default: Any = None) -> Any:
        row = self.conn.execute(
            select(module_state.c.value).where(
                module_state.c.community_id == self.community_id, module_state.c.module == module, module_state.c.key == key
            )
        ).first()
        return default if row is None else row.value

    def set(self, module: str, key: str, value: Any) -> None:
        stmt = self._insert(module_state).values(community_id=self.community_id, module=module, key=key, value=value)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["community_id", "module", "key"], set_={"value": value}))

    def delete(self, module: str, key: str) -> None:
        self.conn.execute(
            module_state.delete().where(
                module_state.c.community_id == self.community_id, module_state.c.module == module, module_state.c.key == key
            )
        )
