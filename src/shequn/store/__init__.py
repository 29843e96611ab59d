"""The event store: tables, migrations and the repositories that read and write them."""
