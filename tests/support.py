"""Helpers the tests import by name (``from support import ...``); fixtures live in conftest.py.

Kept out of conftest.py because several test folders have their own conftest.py, and
``from conftest import`` would resolve to whichever one pytest imported first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

PG_URL = os.environ.get("SHEQUN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHEQUN_SHARED_DATA", ROOT.parent / "shared" / "data"))
FIXTURES = Path(__file__).parent / "fixtures"


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data; fails the test (never skips) if the data is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (tests need ../shared/data next to the project root)")
    return path


class Cli:
    """Runs ``shequn`` in-process against one database."""

    def __init__(self, db: str):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):
        from shequn.cli.app import app

        result = self.runner.invoke(app, ["--db", self.db, *map(str, args)], input=input, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"shequn {' '.join(map(str, args))} exited {result.exit_code}:\n{result.output}")
        return result

    def json(self, *args: str):
        return json.loads(self(*args).stdout)
