"""The engine: live ingestion commits event + state + actions together; backtest replays the same
modules over stored history in a sandbox and leaves live state untouched."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import func, select

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.engine.backtest import run_backtest
from shequn.engine.live import LiveIngest
from shequn.playbook.loader import parse_playbook
from shequn.store.tables import actions, communities, events, module_state

PLAYBOOK = "community: c\ntimezone: UTC\nwelcome:\n  template: '欢迎 {name} 来到 {group}'\n  once_per_days: 7\n"
G = GroupRef("telegram", "-100", "学习群")


def ev(pid: str, kind: EventKind, who: str, day: int) -> Event:
    return Event(G, pid, kind, datetime(2024, 5, day, 12, tzinfo=timezone.utc), Author(who, who.title()))


def test_live_ingest_welcomes_once_and_is_idempotent(engine):
    pb = parse_playbook(PLAYBOOK)
    live = LiveIngest(engine, pb)
    stream = [ev("1", EventKind.JOIN, "ann", 1), ev("2", EventKind.MESSAGE, "ann", 1), ev("3", EventKind.LEAVE, "ann", 2),
              ev("4", EventKind.JOIN, "ann", 3), ev("5", EventKind.JOIN, "ann", 20)]
    result = live.receive(stream)
    assert result.received == 5 and result.duplicates == 0
    # rejoin on day 3 is within once_per_days=7: no second welcome; day 20 is outside
    assert [(a.rule, a.payload["text"]) for a in result.actions] == [("welcome", "欢迎 Ann 来到 学习群")] * 2
    again = live.receive(stream)
    assert again.received == 0 and again.duplicates == 5 and again.actions == []
    with engine.connect() as conn:
        rows = conn.execute(select(actions.c.rule, actions.c.reason, actions.c.status, actions.c.kind)).all()
        assert [tuple(r) for r in rows] == [("welcome", "Ann joined 学习群", "pending", "reply")] * 2
        assert conn.execute(select(func.count()).select_from(module_state)).scalar_one() == 1


def test_backtest_uses_same_module_and_touches_nothing(engine):
    pb = parse_playbook(PLAYBOOK)
    # history arrives by import: no module runs, no actions
    LiveIngest(engine, parse_playbook("community: c\ntimezone: UTC\n")).receive(
        [ev("1", EventKind.JOIN, "ann", 1), ev("2", EventKind.JOIN, "bob", 2), ev("3", EventKind.JOIN, "ann", 30)]
    )
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(actions)).scalar_one()
        cid = conn.execute(select(communities.c.id)).scalar_one()
        result = run_backtest(conn, pb, cid)
        assert result.events == 3
        assert [a.reason for a in result.actions] == ["Ann joined 学习群", "Bob joined 学习群", "Ann joined 学习群"]
        assert all(a.event_id is not None for a in result.actions)
        assert conn.execute(select(func.count()).select_from(actions)).scalar_one() == before == 0
        assert conn.execute(select(func.count()).select_from(module_state)).scalar_one() == 0
        # a time window limits the replay
        since = int(datetime(2024, 5, 2, tzinfo=timezone.utc).timestamp() * 1000)
        assert [a.reason for a in run_backtest(conn, pb, cid, since_ms=since).actions] == ["Bob joined 学习群", "Ann joined 学习群"]
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 3


def test_a_failing_module_rolls_back_the_event_and_its_actions(engine, monkeypatch):
    from shequn.modules.welcome import WelcomeModule

    pb = parse_playbook(PLAYBOOK)
    live = LiveIngest(engine, pb)

    def boom(self, event, ctx):
        ctx.state.set("welcome", "half-done", 1)
        raise RuntimeError("module crashed")

    monkeypatch.setattr(WelcomeModule, "on_event", boom)
    try:
        live.receive([ev("1", EventKind.JOIN, "ann", 1)])
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(module_state)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(actions)).scalar_one() == 0


def test_cli_receive_and_backtest(cli, tmp_path):
    lines = [
        {"id": "j1", "at": "2024-05-01T08:00:00+08:00", "kind": "join", "group": "g1", "member": "u1", "member_name": "小明"},
        {"id": "m1", "at": "2024-05-01T08:01:00+08:00", "kind": "message", "group": "g1", "member": "u1", "member_name": "小明", "text": "大家好"},
    ]
    f = tmp_path / "events.jsonl"
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    pb = tmp_path / "pb.yaml"
    pb.write_text("community: c\nwelcome:\n  template: 欢迎{name}\n", encoding="utf-8")
    doc = cli.json("receive", str(pb), str(f), "--json")
    assert doc["received"] == 2 and [a["payload"]["text"] for a in doc["actions"]] == ["欢迎小明"]
    bt = cli.json("backtest", str(pb), "--json")
    assert bt["events"] == 2 and bt["rules"][0]["rule"] == "welcome" and bt["rules"][0]["members"] == 1
    [person] = bt["members"]
    assert person["name"] == "小明" and person["identities"] == ["jsonl:u1"]
    assert person["warnings"] == 0 and person["actions"] == {"reply": 1}
    assert person["reasons"] == [{"kind": "reply", "rule": "welcome", "reason": "小明 joined g1"}]
    bad = tmp_path / "bad.yaml"
    bad.write_text("community: c\nwelcome: {}\n", encoding="utf-8")
    result = cli("backtest", str(bad), ok=False)
    assert result.exit_code == 1 and "welcome.template: required key is missing" in result.output


def test_migration_heads_read_from_the_scripts_equal_alembics():
    """``open_engine`` skips Alembic when ``alembic_version`` already holds the heads read from the
    migration files: that reading must agree with Alembic's own."""
    from alembic.script import ScriptDirectory

    from shequn.store.db import alembic_config, script_heads

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_opening_an_old_database_still_migrates_it(db_url):
    """A database whose recorded revisions are behind the scripts is upgraded by Alembic on open."""
    from alembic import command
    from sqlalchemy import inspect

    from shequn.store.db import alembic_config, open_engine

    engine = open_engine(db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_growth@-1")  # undo the mall/lottery branch only
    with engine.connect() as conn:
        assert "mall_items" not in inspect(conn).get_table_names()
    engine.dispose()
    engine = open_engine(db_url)
    with engine.connect() as conn:
        assert "mall_items" in inspect(conn).get_table_names()
    engine.dispose()
