"""Links, phone numbers and contact handles, with the evasions people really use, through the
moderation library's normalizer and finders (the same code ``shequn moderation check`` uses)."""

from __future__ import annotations

import pytest

PLAYBOOK = """rules:
  rules:
    - name: no-contact
      when:
        any: [{link: true}, {phone: true}, {contact: true}]
      do: [delete, warn]
"""

CAUGHT = [
    ("加V详聊", "contact handle"),
    ("有意者加薇信", "contact handle"),
    ("vx: abc12345", "contact handle"),
    ("ＶＸ：ａｂｃ１２３４５", "contact handle"),  # full-width letters and digits
    ("加 v x 私聊", "contact handle"),  # spaced letters
    ("Ｖ\u3000Ｘ：abc12345", "contact handle"),  # spaced full-width letters (ideographic space), full-width colon
    ("加微\u200b信 abc123", "contact handle"),  # zero-width space inside the word
    ("薇信號 abc123", "contact handle"),  # traditional characters
    ("ԝеіхіn: abc123", "contact handle"),  # Cyrillic/Latin homoglyphs
    ("详情 https://t.cn/A6abc", "link"),
    ("打开 ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ", "link"),
    ("电话 138 0013 8000", "phone number"),
    ("一三八〇〇一三八〇〇〇", "phone number"),
]


@pytest.mark.parametrize(("text", "what"), CAUGHT)
def test_evasions_are_caught_and_quoted(make_run, text, what):
    out = make_run(PLAYBOOK).send(text)
    assert [a.kind.value for a in out] == ["delete", "warn"], text
    assert out[0].reason.startswith(f"contains a {what}: "), out[0].reason


@pytest.mark.parametrize("text", ["用微信支付就行", "QQ音乐挺好用", "版本 v1.2 发布了", "see file.txt", "我们 3 点见"])
def test_ordinary_talk_is_left_alone(make_run, text):
    assert make_run(PLAYBOOK).send(text) == []


def test_an_ad_window_allows_links_at_noon(make_run):
    from modules.conftest import HOUR, T0

    run = make_run("rules:\n  rules:\n    - name: ads\n      when: {link: true, not: {during: '12:00-13:00'}}\n      do: [delete]\n")
    assert run.at(T0 + 2 * HOUR).send("https://shop.example.com") == []  # 12:00 Beijing time
    [a] = run.at(T0 + 4 * HOUR).send("https://shop.example.com")  # 14:00
    assert a.reason == "contains a link: https://shop.example.com; not during 12:00-13:00"
