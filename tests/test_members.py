"""Members and identities: merge several accounts into one person, split one back out, tags."""

from __future__ import annotations

from sqlalchemy import select

from support import FIXTURES
from shequn.store.tables import identities


def test_merge_split_tag_via_cli(cli):
    cli("import", "irc", str(FIXTURES / "irc" / "2024-03-09.demo.txt"), "--community", "c", "--group", "#demo")
    alice = cli.json("members", "show", "alice", "-c", "c", "--json")
    bob = cli.json("members", "show", "bob", "-c", "c", "--json")
    assert alice["events"] == {"join": 1, "message": 2}
    cli("members", "merge", str(alice["id"]), str(bob["id"]))
    merged = cli.json("members", "show", str(alice["id"]), "--json")
    assert sorted(i["account"] for i in merged["identities"]) == ["alice", "bob"]
    assert merged["events"] == {"join": 1, "message": 3, "emote": 1, "rename": 1}
    # speakers count people, not accounts
    stats = cli.json("stats", "--json")["communities"][0]
    assert (stats["messages"], stats["speakers"]) == (4, 2)
    bob_identity = next(i["id"] for i in merged["identities"] if i["account"] == "bob")
    cli("members", "split", str(bob_identity))
    assert cli.json("stats", "--json")["communities"][0]["speakers"] == 3
    tagged = cli("members", "tag", str(alice["id"]), "地区:上海", "职业:设计师")
    assert "地区:上海" in tagged.output
    assert cli.json("members", "show", str(alice["id"]), "--json")["tags"] == ["地区:上海", "职业:设计师"]


def test_member_errors_are_clear(sqlite_cli):
    sqlite_cli("import", "irc", str(FIXTURES / "irc" / "2024-03-09.demo.txt"), "--community", "c")
    r = sqlite_cli("members", "merge", "1", "999", ok=False)
    assert r.exit_code == 1 and "no member with id 999" in r.output
    r = sqlite_cli("members", "split", "1", ok=False)
    assert "only identity" in r.output
    r = sqlite_cli("members", "show", "nobody", "-c", "c", ok=False)
    assert "no member named 'nobody'" in r.output


def test_identity_rows_unique_per_platform_account(engine):
    from shequn.domain.events import Author
    from shequn.store.directory import ensure_community
    from shequn.store.members import IdentityResolver

    with engine.begin() as conn:
        cid = ensure_community(conn, "c")
        r = IdentityResolver(conn, cid)
        r.resolve_many("qq", [Author("10001", "甲"), Author("10002", "乙"), Author("10001", "甲")])
        again = IdentityResolver(conn, cid)
        again.resolve_many("qq", [Author("10001"), Author("10003", "丙")])
        assert again.get("qq", "10001") == r.get("qq", "10001")
        assert conn.execute(select(identities.c.external_id).order_by(identities.c.id)).scalars().all() == ["10001", "10002", "10003"]


def test_members_are_named_by_account_and_the_only_community_needs_no_flag(sqlite_cli):
    """After importing into community 'c' (not 'default'), every members command works without -c,
    names members by account, and never creates a community by reading."""
    sqlite_cli("import", "irc", str(FIXTURES / "irc" / "2024-03-09.demo.txt"), "--community", "c", "--group", "#demo")
    assert sqlite_cli.json("members", "show", "alice", "--json")["name"] == "alice"
    table = sqlite_cli.json("members", "--json")
    assert table["community"] == "c" and {m["name"] for m in table["members"]} >= {"alice", "bob"}
    sqlite_cli("members", "merge", "alice", "bob")
    merged = sqlite_cli.json("members", "show", "alice", "--json")
    assert sorted(i["account"] for i in merged["identities"]) == ["alice", "bob"]
    sqlite_cli("members", "tag", "bob", "地区:上海")  # bob's account now belongs to alice's member
    assert sqlite_cli.json("members", "show", "alice", "--json")["tags"] == ["地区:上海"]
    r = sqlite_cli("members", "show", "alice", "-c", "nope", ok=False)
    assert r.exit_code == 1 and "no community named 'nope'" in r.output and "'c'" in r.output
    assert sqlite_cli.json("stats", "--json")["communities"][0]["name"] == "c"
    assert len(sqlite_cli.json("stats", "--json")["communities"]) == 1  # reading created nothing


def test_two_communities_need_a_choice(sqlite_cli):
    sqlite_cli("import", "irc", str(FIXTURES / "irc" / "2024-03-09.demo.txt"), "--community", "c1")
    sqlite_cli("import", "irc", str(FIXTURES / "irc" / "2024-03-09.demo.txt"), "--community", "c2")
    for args in (("members", "show", "alice"), ("members", "--json"), ("members", "tag", "alice", "x")):
        r = sqlite_cli(*args, ok=False)
        assert r.exit_code == 1 and "several communities" in r.output and "'c1'" in r.output, args
    assert sqlite_cli.json("members", "show", "alice", "-c", "c2", "--json")["name"] == "alice"
