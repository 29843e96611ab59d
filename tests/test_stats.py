"""stats: definitions of messages, speakers, members, joins and leaves; bots; group filter; empty store."""

from __future__ import annotations

from datetime import datetime, timezone

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.engine.live import LiveIngest
from shequn.playbook.loader import parse_playbook


def at(minute: int) -> datetime:
    return datetime(2024, 1, 1, 0, minute, tzinfo=timezone.utc)


def test_stats_definitions(cli, engine):
    a, b = GroupRef("discord", "1", "general"), GroupRef("discord", "2", "help")
    bot = Author("b0", "HelperBot", is_bot=True)
    LiveIngest(engine, parse_playbook("community: c\ntimezone: UTC\n")).receive([
        Event(a, "1", EventKind.JOIN, at(0), Author("u1", "ann")),
        Event(a, "2", EventKind.MESSAGE, at(1), Author("u1", "ann"), text="hi"),
        Event(a, "3", EventKind.MESSAGE, at(2), bot, text="Welcome!"),
        Event(a, "4", EventKind.EMOTE, at(3), Author("u2", "bo"), text="waves"),
        Event(a, "5", EventKind.SYSTEM, at(4), text="topic changed"),
        Event(b, "1", EventKind.MESSAGE, at(5), Author("u1", "ann"), text="question"),
        Event(b, "2", EventKind.MESSAGE, at(6), Author("u3", "cy"), text="answer"),
        Event(b, "3", EventKind.KICK, at(7), Author("u3", "cy")),
        Event(b, "4", EventKind.LEAVE, at(8), Author("u1", "ann")),
    ])
    doc = cli.json("stats", "--json")
    (comm,) = doc["communities"]
    assert {k: comm[k] for k in ("name", "messages", "members", "speakers", "joins", "leaves", "first_at", "last_at")} == {
        "name": "c", "messages": 3, "members": 3, "speakers": 2, "joins": 1, "leaves": 2,
        "first_at": "2024-01-01T00:00:00Z", "last_at": "2024-01-01T00:08:00Z",
    }
    general, help_ = comm["groups"]
    assert (general["name"], general["messages"], general["speakers"], general["members"]) == ("general", 1, 1, 2)
    assert (help_["name"], help_["messages"], help_["speakers"], help_["leaves"]) == ("help", 2, 2, 2)
    only = cli.json("stats", "--group", "help", "--json")["communities"][0]
    assert [g["name"] for g in only["groups"]] == ["help"] and only["messages"] == 2
    missing = cli("stats", "--group", "nope", ok=False)
    assert missing.exit_code == 1 and "no group named 'nope'" in missing.output
    assert "general" in cli("stats").output


def test_stats_on_empty_store(cli):
    assert cli.json("stats", "--json") == {"communities": []}
    assert "No data yet" in cli("stats").output


def test_default_database_is_created_in_user_data_dir(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from shequn.cli.app import app

    monkeypatch.delenv("SHEQUN_DB", raising=False)
    monkeypatch.setenv("SHEQUN_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "shequn.db").exists()
