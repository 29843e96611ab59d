"""The whole ubuntu-irc train split, imported twice, against an independent count of the files."""

from __future__ import annotations

import re

import pytest

from support import shared_data

pytestmark = pytest.mark.slow

MESSAGE = re.compile(r"^\[\d\d:\d\d\] <([^>]*)>")
# membership notices as irssi writes them: '=== nick [user@host]  has joined #c', '... has left #c [reason]',
# '... has quit [reason]', '=== nick was kicked off #c by op (reason)'
JOIN = re.compile(r"^=== .+ has joined #\S*\s*$")
LEAVE = re.compile(r"^=== .+ (?:has left #\S*(?: \[.*\])?|has quit(?: IRC)?(?: [\[(].*[\])])?|was kicked (?:off|from) #\S+ by \S+(?: \(.*\))?)\s*$")


def independent_count(files):
    messages, speakers, joins, leaves = 0, set(), 0, 0
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if m := MESSAGE.match(line):
                    messages += 1
                    speakers.add(m.group(1))
                elif JOIN.match(line):
                    joins += 1
                elif LEAVE.match(line):
                    leaves += 1
    return messages, len(speakers), joins, leaves


def test_train_split_twice_matches_independent_count(cli):
    train = shared_data("chat", "ubuntu-irc", "train")
    files = sorted(train.glob("*.raw.txt"))
    assert len(files) > 100, "the train split should hold over a hundred days"
    lines = sum(1 for f in files for _ in open(f, "rb"))
    first = cli.json("import", "irc", str(train), "--community", "ubuntu", "--group", "#ubuntu", "--json")
    assert first["files"] == len(files) and len(first["skipped_files"]) == len(files)  # the annotation files
    assert first["rejected"] == 0 and first["added"] == lines
    stats1 = cli.json("stats", "--json")
    second = cli.json("import", "irc", str(train), "--community", "ubuntu", "--group", "#ubuntu", "--json")
    assert second["added"] == 0 and second["duplicates"] == lines
    stats2 = cli.json("stats", "--json")
    assert stats1 == stats2
    (comm,) = stats2["communities"]
    messages, speakers, joins, leaves = independent_count(files)
    assert (comm["messages"], comm["speakers"]) == (messages, speakers)
    # topic, mode and server lines and /me actions are neither chat nor membership events
    assert (comm["joins"], comm["leaves"]) == (joins, leaves) and joins > 10_000
    assert comm["groups"][0]["messages"] == messages and comm["groups"][0]["name"] == "#ubuntu"
    assert comm["first_at"].startswith(files[0].name[:10])
    assert comm["last_at"][:10] >= files[-1].name[:10]
