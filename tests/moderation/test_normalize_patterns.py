"""Normalization and the finders: every evasion the issue names, and the false positives we refuse to make."""

from __future__ import annotations

import pytest

from shequn.moderation.normalize import normalize, strip_invisible
from shequn.moderation.patterns import find_contact_handles, find_links, find_phones

ZWSP, ZWJ, BOM, SHY = "\u200b", "\u200d", "\ufeff", "\u00ad"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＶＸ：ａｂｃ１２３", "vx:abc123"),  # full-width letters, digits and colon
        ("薇信號碼", "薇信号码"),  # traditional -> simplified
        ("w\u0435\u0456\u0445\u0456n", "weixin"),  # Cyrillic е, і, х inside a Latin word
        (f"微{ZWSP}信{ZWJ}号{BOM}", "微信号"),  # zero-width characters
        ("v x", "vx"),
        ("w e i x i n: lily", "weixin: lily"),  # spaced letters, a colon after the last one
        ("Ｖ\u3000Ｘ：ａｂｃ１２３", "vx:abc123"),  # spaced full-width letters, a full-width colon with no space after
        ("加 V 信", "加v信"),
        ("ⓥⓧ 𝐯𝐱", "vx vx"),  # circled and mathematical letters
        ("ṽẍ", "vx"),  # combining marks
        ("Hello   World", "hello world"),
    ],
)
def test_normalize_evasions(raw, expected):
    assert normalize(raw) == expected


def test_normalize_keeps_single_script_words_and_is_idempotent():
    # a whole-Cyrillic word is Russian, not a disguise: left alone (UTS #39 mixed-script rule)
    assert normalize("Привет, мир") == "привет, мир"
    for raw in ["ＶＸ：ａｂｃ１２３", "w e i x i n", "薇信號碼", "v    x  y", "I am a b c, ok", "Привет мир", "a\u0301b"]:
        once = normalize(raw)
        assert normalize(once) == once


def test_strip_invisible_only_removes_invisible_characters():
    assert strip_invisible(f"Ｖ{ZWSP}Ｘ{SHY}號") == "ＶＸ號"
    assert strip_invisible("plain text") == "plain text"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("加V：abc123", ["加v", "v:abc123"]),
        ("有需要的加 V", ["加 v"]),
        ("薇信 lily888", ["薇信 lily888"]),
        ("徽信同号", ["徽信"]),
        ("vx: lily888", ["vx: lily888"]),
        ("ＶＸ１２３４５", ["vx12345"]),
        ("w e i x i n: lily_fit", ["weixin: lily_fit"]),
        ("w\u0435\u0456\u0445\u0456n: abc123", ["weixin: abc123"]),
        (f"微{ZWSP}信号 abc123", ["微信号 abc123"]),
        ("微信是lily_fit", ["微信是lily_fit"]),
        ("qq 12345678", ["qq 12345678"]),
        ("扣扣 123456", ["扣扣 123456"]),
        ("QQ号多少", ["qq号"]),
        ("tg @cheap_vpn", ["tg @cheap_vpn"]),
        ("DM me on telegram", ["dm me on"]),
        ("add me on whatsapp", ["add me on"]),
        ("有意者私聊", ["私聊"]),
        ("пишите в лс", ["пишите в лс"]),
        ("write to sales@example.com", ["sales@example.com"]),
    ],
)
def test_contact_handles(text, expected):
    assert find_contact_handles(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "我用微信支付了",  # the product, no id: not a handle (documented choice)
        "微信群里见",
        "他在群里很有威信",  # 威信 = prestige
        "参加我们的活动",  # 参加 is not 加
        "增加我的信心",
        "QQ音乐很好听",
        "on line 12345 of the file",
        "v1.2.3 released",
        "thanks @alice for the fix",  # a plain mention is normal chat
    ],
)
def test_contact_handle_false_positive_guards(text):
    assert find_contact_handles(text) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("访问abc.com了解", ["abc.com"]),
        ("https://t.me/+jS6cJeri0ug5MDkx join", ["https://t.me/+js6cjeri0ug5mdkx"]),
        ("t.me/cheapvpn", ["t.me/cheapvpn"]),
        ("see www.example.org/a.", ["www.example.org/a"]),
        ("example dot com", ["example dot com"]),
        ("baidu(dot)com", ["baidu(dot)com"]),
        ("baidu点com", ["baidu点com"]),
        ("ｅｘａｍｐｌｅ．ｃｏｍ", ["example.com"]),
        (f"exa{ZWSP}mple.com", ["example.com"]),
    ],
)
def test_links(text, expected):
    assert find_links(text) == expected


@pytest.mark.parametrize("text", ["e.g. this", "file.txt", "v1.2", "3.14", "mail me at a@b.com"])
def test_link_false_positive_guards(text):
    assert find_links(text) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13800138000", ["13800138000"]),
        ("138-0013-8000", ["138-0013-8000"]),
        ("138 0013 8000", ["138 0013 8000"]),
        ("１３８００１３８０００", ["13800138000"]),
        ("一三八〇〇一三八〇〇〇", ["一三八〇〇一三八〇〇〇"]),
        ("壹叁捌零零壹叁捌零零零", ["壹叁捌零零壹叁捌零零零"]),
        ("1 3 8 0 0 1 3 8 0 0 0", ["13800138000"]),
        ("+86 138 0013 8000", ["+86 138 0013 8000"]),
        ("+44 7911 123456", ["+44 7911 123456"]),
        ("400-800-1234", ["400-800-1234"]),
        ("010-12345678", ["010-12345678"]),
    ],
)
def test_phones(text, expected):
    assert find_phones(text) == expected


@pytest.mark.parametrize("text", ["一二三四五", "订单号20231122153000", "价格1380元", "12:30 见", "+1 2"])
def test_phone_false_positive_guards(text):
    assert find_phones(text) == []


def test_hostile_text_is_handled():
    html = '<a href="http://evil.example.com/x">点我</a><script>alert(1)</script>'
    assert find_links(html) == ["http://evil.example.com/x"]
    huge = ("正常的聊天内容 " * 150_000) + "加V：abc123"  # ~1.2 MB
    assert find_phones(huge) == []
    assert "加v" in find_contact_handles(huge)
