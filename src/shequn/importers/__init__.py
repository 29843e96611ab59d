"""History importers: one module per export format, each a streaming generator of Events."""
