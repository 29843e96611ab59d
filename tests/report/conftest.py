"""Fixture for the report tests: the hand-made history of report_history.py, ingested."""

from __future__ import annotations

import pytest

from report_history import history, ingest


@pytest.fixture
def community(engine):
    ingest(engine, history())
    return engine
