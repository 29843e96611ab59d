"""Backtesting a link rule over real ubuntu-irc history names who would have been warned, and why.

Checked against the raw files independently: everyone who posted an http(s):// URL is warned, and every
reason quotes a link the member really posted.
"""

from __future__ import annotations

import re

import pytest

from support import shared_data

pytestmark = pytest.mark.slow

LINE = re.compile(r"^\[\d\d:\d\d\] <([^>]*)> (.*)$")
TOPIC = re.compile(r"^=== \.*\[topic/|changed the topic of ")
URL = re.compile(r"https?://[\w-]+(?:\.[\w-]+)+", re.I)  # a real host (has a dot), not a placeholder like http://yourproxy:port

PLAYBOOK = """community: ubuntu
timezone: UTC
rules:
  exempt: {roles: [admin]}
  rules:
    - name: no-links
      reason: "links are not allowed in #ubuntu"
      when: {link: true}
      do: [warn]
  escalation:
    ladder:
      - {warnings: 3, within: 7d, do: [{mute: 1d}]}
      - {warnings: 5, within: 30d, do: [kick]}
"""


def test_link_rule_backtest_on_ubuntu_irc(cli, tmp_path):
    dev = shared_data("chat", "ubuntu-irc", "dev")
    said: dict[str, list[str]] = {}
    for f in sorted(dev.glob("*.raw.txt")):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            m = LINE.match(line)
            if m:
                said.setdefault(m.group(1), []).append(m.group(2).lower())
            elif line.startswith("=== ") and not TOPIC.search(line):  # /me actions are judged too; topic notices
                nick, _, rest = line[4:].partition(" ")                 # are server notices (system), not messages
                said.setdefault(nick, []).append(rest.lower())
    posted_urls = {nick for nick, lines in said.items() if any(URL.search(t) for t in lines)}
    assert len(posted_urls) > 20, "the dev split should hold links from many people"

    cli("import", "irc", str(dev), "--community", "ubuntu", "--group", "#ubuntu")
    pb = tmp_path / "links.yaml"
    pb.write_text(PLAYBOOK, encoding="utf-8")
    doc = cli.json("backtest", str(pb), "--json")
    rule = next(r for r in doc["rules"] if r["rule"] == "no-links")
    warned = {m["name"]: m for m in doc["members"] if m["warnings"]}
    assert rule["members"] == len(warned) and rule["fired"] == sum(m["warnings"] for m in warned.values())
    assert posted_urls <= set(warned), sorted(posted_urls - set(warned))[:10]
    assert set(warned) <= set(said), sorted(set(warned) - set(said))[:10]  # nobody is warned for a server notice
    for name, m in warned.items():
        assert m["identities"] == [f"irc:{name}"]
        for r in m["reasons"]:
            if r["rule"] == "no-links":
                quoted = r["reason"].split("contains a link: ", 1)[1].split(", ")[0]
                assert r["reason"].startswith("links are not allowed in #ubuntu: contains a link: ")
                host = quoted.split("://")[-1].split("/")[0]
                assert any(host in t for t in said[name]), (name, quoted)
    escalated = [m for m in warned.values() if m.get("escalations")]
    assert escalated and all(e.endswith(("-> mute 1 day", "-> kick")) for m in escalated for e in m["escalations"])
    text = cli("backtest", str(pb)).stdout
    assert "no-links" in text and ("would have been muted, kicked or banned" in text) == bool(escalated)
