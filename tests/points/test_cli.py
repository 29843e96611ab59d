"""The CLI: `shequn receive` earns points live; leaderboards per period and group; adjustments with a
reason; history and `members show` with reasons; `points check`; backtest --json adds points and level."""

from __future__ import annotations

import json

from shequn.domain.events import EventKind

PLAYBOOK = """community: 读书会
timezone: Asia/Shanghai
points:
  message: {award: 2, cooldown: 60s, daily_cap: 6}
  checkin: {award: 5}
  levels: {curve: linear, step: 10, names: [新人, 书虫, 学者]}
"""


def _lines(rows):
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


def _history(tmp_path):
    rows = []
    n = 0

    def add(who, at, text="一段读书笔记", group="g1", kind="message"):
        nonlocal n
        n += 1
        rows.append({"id": f"e{n}", "at": at, "kind": kind, "member": who, "member_name": who.upper(), "text": text,
                     "group": group, "group_name": {"g1": "一群", "g2": "二群"}[group]})

    # April 30th (Tuesday) and May 1st-2nd 2024, Shanghai time
    add("ann", "2024-04-30T20:00:00+08:00")  # +2
    add("ann", "2024-05-01T09:00:00+08:00", "打卡")  # check-in +5
    for m in range(5):
        add("ann", f"2024-05-01T10:0{m * 2}:00+08:00")  # +2 x3, then the daily cap of 6
    add("bob", "2024-05-01T11:00:00+08:00", group="g2")  # +2
    add("bob", "2024-05-01T11:00:30+08:00", group="g2")  # cooldown
    add("bob", "2024-05-02T08:00:00+08:00", "打卡", group="g2")  # +5
    add("cy", "2024-05-02T09:00:00+08:00", "<script>alert(1)</script>", group="g2")  # +2 (text is data)
    add("[/]evil", "2024-05-02T09:30:00+08:00", "[bold]hi[/bold] and [/] and [link=x]", group="g2")  # markup-looking name and text
    path = tmp_path / "events.jsonl"
    path.write_text(_lines(rows), encoding="utf-8")
    return path


def test_points_cli_end_to_end(cli, tmp_path):
    pb = tmp_path / "pb.yaml"
    pb.write_text(PLAYBOOK, encoding="utf-8")
    events = _history(tmp_path)
    first = cli.json("receive", pb, events, "--json")
    assert first["received"] == 12
    assert cli.json("receive", pb, events, "--json")["received"] == 0  # replay: nothing twice

    board = cli.json("points", "leaderboard", "--json")
    assert [(r["rank"], r["name"], r["points"]) for r in board["leaders"]] == [(1, "ANN", 13), (2, "BOB", 7), (3, "CY", 2), (3, "[/]EVIL", 2)]
    assert "[/]EVIL" in cli("points", "leaderboard", "--group", "二群").output  # names are printed, never read as markup
    may1 = cli.json("points", "leaderboard", "--period", "day", "--at", "2024-05-01", "--json")
    assert [(r["name"], r["points"]) for r in may1["leaders"]] == [("ANN", 11), ("BOB", 2)] and may1["from"] == "2024-05-01"
    week = cli.json("points", "leaderboard", "--period", "week", "--at", "2024-05-02", "--json")
    assert week["from"] == "2024-04-29 .. 2024-05-05" and week["leaders"][0]["points"] == 13
    month = cli.json("points", "leaderboard", "-p", "month", "--at", "2024-04-15", "--json")
    assert [(r["name"], r["points"]) for r in month["leaders"]] == [("ANN", 2)]
    g2 = cli.json("points", "leaderboard", "--group", "二群", "--json")
    assert [(r["name"], r["points"]) for r in g2["leaders"]] == [("BOB", 7), ("CY", 2), ("[/]EVIL", 2)]
    evil = cli.json("members", "show", "[/]EVIL", "--community", "读书会", "--json")["id"]
    assert "[/]EVIL" in cli("points", "history", evil).output
    assert "no group" in cli("points", "leaderboard", "--group", "nope", ok=False).output
    assert "--period" in cli("points", "leaderboard", "--period", "year", ok=False).output

    ann = cli.json("members", "show", "ANN", "--community", "读书会", "--json")
    pts = ann["points"]
    assert pts["balance"] == 13 and pts["level"] == 1 and pts["level_name"] == "书虫" and pts["checkins"] == 1
    assert pts["history"][0]["reason"] == "message in 一群: +2 (2 per message, cooldown 1 minute; 6/6 today)"
    text = cli("members", "show", str(ann["id"])).output
    assert "points: 13 (earned 13), level 1 书虫, 打卡 1" in text and "points.checkin" in text

    bob = cli.json("members", "show", "BOB", "--community", "读书会", "--json")["id"]
    out = cli("points", "adjust", bob, "-3", "--reason", "刷屏 flooding", "--key", "case-17").output
    assert "-3 points" in out and "balance 4" in out
    assert "already booked" in cli("points", "adjust", bob, "-3", "--reason", "刷屏 flooding", "--key", "case-17").output
    assert "--reason is required" in cli("points", "adjust", bob, "5", ok=False).output
    assert "no member with id 999" in cli("points", "adjust", "999", "5", "--reason", "x", ok=False).output
    hist = cli.json("points", "history", bob, "--json")
    assert hist["balance"] == 4 and hist["history"][0]["rule"] == "operator.adjust" and hist["history"][0]["reason"] == "刷屏 flooding"
    assert cli.json("points", "leaderboard", "--json")["leaders"][1] == {"rank": 2, "member_id": bob, "name": "BOB", "points": 4}
    assert "is consistent" in cli("points", "check").output

    report = cli.json("backtest", pb, "--json")
    by_name = {m["name"]: m for m in report["members"]}
    # the backtest replays the events (not the operator's adjustment); members without actions are listed too
    assert {n: (m["points"], m["level"]) for n, m in by_name.items()} == {"ANN": (13, 1), "BOB": (7, 0), "CY": (2, 0), "[/]EVIL": (2, 0)}
    assert by_name["CY"]["actions"] == {}


def test_points_history_and_adjust_take_names(cli, tmp_path):
    """MEMBER is a member id, an account or a display name; a shared name is an error listing the candidates."""
    rows = [
        {"id": "e1", "at": "2024-05-01T10:00:00+08:00", "kind": "message", "member": "u1", "member_name": "小明", "text": "早", "group": "g1"},
        {"id": "e2", "at": "2024-05-01T10:01:00+08:00", "kind": "message", "member": "u2", "member_name": "小明", "text": "早", "group": "g1"},
        {"id": "e3", "at": "2024-05-01T10:02:00+08:00", "kind": "message", "member": "bob", "member_name": "Bob [/]", "text": "hi", "group": "g1"},
    ]
    pb = tmp_path / "pb.yaml"
    pb.write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(_lines(rows), encoding="utf-8")
    cli("receive", pb, tmp_path / "a.jsonl")
    bob = cli.json("members", "show", "bob", "-c", "读书会", "--json")["id"]
    u1 = cli.json("members", "show", "u1", "-c", "读书会", "--json")["id"]
    u2 = cli.json("members", "show", "u2", "-c", "读书会", "--json")["id"]

    out = cli("points", "adjust", "Bob [/]", "5", "--reason", "thanks").output  # by display name (markup-looking: data)
    assert f"+5 points for member {bob} Bob [/]" in out and "balance 7" in out
    assert cli.json("points", "history", "bob", "--json")["balance"] == 7  # by account
    assert cli.json("points", "history", str(bob), "-c", "读书会", "--json")["member"] == bob  # by id
    assert cli.json("points", "history", "u1", "--community", "读书会", "--json")["member"] == u1

    shared = cli("points", "history", "小明", ok=False)
    assert shared.exit_code == 1
    flat = " ".join(shared.output.split())
    assert "小明 matches 2 members" in flat and f"{u1} 小明 (" in flat and f"{u2} 小明 (" in flat and "give the member id" in flat
    assert "matches 2 members" in cli("points", "adjust", "小明", "1", "--reason", "x", ok=False).output
    assert cli.json("points", "history", str(u2), "--json")["balance"] == 2  # nothing was booked by the refused adjust
    assert "no member named nobody" in cli("points", "history", "nobody", ok=False).output
    assert "no community named 'nowhere'" in cli("points", "history", "bob", "-c", "nowhere", ok=False).output

    # a second community with its own bob: a name needs --community, a member id does not
    other = tmp_path / "pb2.yaml"
    other.write_text(PLAYBOOK.replace("读书会", "跑步群"), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(_lines([{**rows[2], "id": "f1"}]), encoding="utf-8")
    cli("receive", other, tmp_path / "b.jsonl")
    assert "several communities" in cli("points", "history", "bob", ok=False).output
    bob2 = cli.json("points", "history", "bob", "-c", "跑步群", "--json")
    assert bob2["member"] != bob and bob2["balance"] == 2
    assert cli.json("points", "history", str(bob), "--json")["balance"] == 7
    assert "no member with id" in cli("points", "history", str(bob), "-c", "跑步群", ok=False).output
