"""`shequn members` (the listing) on SQLite and PostgreSQL, from a small imported JSONL history with answers by hand."""

from __future__ import annotations

import json

import pytest

EVE = "<b>Eve</b>\u200b"  # HTML and a zero-width space in a display name: shown literally, never interpreted


def _history(path):
    lines = [{"id": f"a{d}", "at": f"2024-05-{d:02d}T09:00:00", "kind": "message", "member": "alice", "member_name": "Alice",
              "text": f"早安 day {d}"} for d in range(1, 11)]
    lines += [
        {"id": "q1", "at": "2024-05-11T09:00:00", "kind": "message", "member": "bob", "member_name": "Bob", "text": "这个课程怎么报名？"},
        {"id": "r1", "at": "2024-05-11T09:05:00", "kind": "message", "member": "alice", "member_name": "Alice",
         "text": "看群公告", "reply_to": "q1"},
        {"id": "e1", "at": "2024-04-01T20:00:00", "kind": "message", "member": "eve", "member_name": EVE, "text": "[red]hi[/red]"},
        {"id": "b1", "at": "2024-05-12T09:00:00", "kind": "message", "member": "helper-bot", "bot": True, "text": "欢迎新人"},
        {"id": "j1", "at": "2024-05-25T12:00:00", "kind": "join", "member": "carol", "member_name": "Carol"},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def imported(cli, tmp_path):
    cli("import", "jsonl", str(_history(tmp_path / "课程群.jsonl")), "--community", "课程")
    return cli


def test_members_table_json(imported):
    doc = imported.json("members", "-c", "课程", "--json", "--no-infer")
    assert doc["timezone"] == "Asia/Shanghai" and doc["as_of"] == "2024-05-25T04:00:00.001000Z" and doc["total"] == 4
    m = {r["name"]: r for r in doc["members"]}
    assert list(m) == ["Alice", "Bob", EVE, "Carol"]  # by score; the bot is not a member of the table
    a = m["Alice"]
    # 10 plain messages (1 each) + one reply (2) that is also the first answer to a question (+3)
    assert (a["score"], a["messages"], a["replies"], a["answers"]) == (15.0, 11, 1, 1)
    assert (a["tier"], a["status"], a["silent_days"], a["recall_rank"]) == ("active", "at-risk", 14, 1)
    assert a["reasons"] == ["usually speaks every 1.0 days; silent for 14 days"]
    assert (m["Bob"]["score"], m["Bob"]["status"], m["Bob"]["tier"]) == (1.0, "active", "lurker")
    e = m[EVE]
    assert (e["score"], e["status"], e["reasons"]) == (0.9, "churned", ["no message for 53 days"])  # 53 d 16 h; one month old: x0.9
    assert (m["Carol"]["status"], m["Carol"]["newcomer"], m["Carol"]["reasons"]) == ("lurker", True, ["never sent a message"])
    assert all(r["risk"] is None for r in doc["members"]) and "a fit needs 50" in doc["churn_model"]["note"]


def test_members_filters_limit_and_text_output(imported):
    doc = imported.json("members", "-c", "课程", "--json", "--no-infer", "--status", "churned")
    assert [r["name"] for r in doc["members"]] == [EVE] and doc["total"] == 1
    doc = imported.json("members", "-c", "课程", "--json", "--no-infer", "--limit", "1")
    assert len(doc["members"]) == 1 and doc["total"] == 4
    doc = imported.json("members", "-c", "课程", "--json", "--no-infer", "--as-of", "2024-05-05")
    assert {r["name"] for r in doc["members"]} == {"Alice", EVE}  # Bob and Carol had not arrived yet
    out = imported("members", "-c", "课程", "--no-infer").stdout
    assert "Alice" in out and "<b>Eve</b>" in out and "at-risk" in out  # markup-looking names are printed literally
    # with reply inference (the default) the command still works, whatever the model's state
    assert imported.json("members", "-c", "课程", "--json")["total"] == 4


def test_members_bad_input_and_subcommands_still_work(imported):
    r = imported("members", "-c", "课程", "--status", "sleepy", ok=False)
    assert r.exit_code == 1 and "not one of: active, lurker, churned, at-risk" in r.output
    r = imported("members", "-c", "nope", ok=False)
    assert r.exit_code == 1 and "no community named 'nope'" in r.output
    r = imported("members", "-c", "课程", "--group", "missing", ok=False)
    assert r.exit_code == 1 and "no group named 'missing'" in r.output
    r = imported("members", "-c", "课程", "--as-of", "yesterday", ok=False)
    assert r.exit_code == 1 and "--as-of 'yesterday' is not a date" in r.output
    assert imported.json("members", "-c", "课程", "--json", "--no-infer", "--group", "课程群")["total"] == 4
    assert imported.json("members", "show", "Alice", "-c", "课程", "--json")["name"] == "Alice"
    assert "merge" in imported("members", "--help").stdout
