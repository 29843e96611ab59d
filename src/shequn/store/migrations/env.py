"""Alembic environment: always run with a connection handed in by ``shequn.store.db.upgrade``."""

from alembic import context

from shequn.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through shequn (shequn.store.db.upgrade), not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
