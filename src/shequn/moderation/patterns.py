"""Finders for what an ad needs to carry: a link, a phone number, or a way to reach the sender privately.

Public API (each returns what matched, in order, without duplicates, so an explanation can quote it)::

    find_links(text, *, normalized=False) -> list[str]            # URLs, bare domains, t.me links, "example dot com"
    find_phones(text, *, normalized=False) -> list[str]           # Chinese mobiles (also 一三八…), hotlines, landlines, +xx
    find_contact_handles(text, *, normalized=False) -> list[str]  # 加V, 薇信, vx, 微信号: abc123, QQ号, 扣扣, tg @x, 私聊…

Every finder works on the canonical text from :func:`shequn.moderation.normalize.normalize`; pass raw text and it is
normalized first, or pass ``normalized=True`` when the caller already did (the detector does, once per message).
Matches are therefore quoted in canonical form (lower case, half-width, simplified).

Deliberate choices (false-positive guards, tested):

- the word 微信 / wechat / QQ **alone** is not a contact handle: people talk about the product ("用微信支付", "QQ音乐").
  It becomes one with an id after it (微信: abc123, qq 12345678), as 微信号/QQ号, or after 加 (加微信);
- spellings nobody uses innocently are handles on their own: 薇信, 徽信, v信, 微x, vx, 扣扣, 企鹅号, 飞机号;
  威信 is also a real word (prestige), so like 微信 it needs an id, 号 or 加 (加威信, 威信号);
- bare domains need a known top-level domain, so "e.g.", "file.txt" and "v1.2" are not links;
- a phone number is 11 digits starting 1[3-9] (Chinese mobile) not inside a longer digit run, a 400/800 hotline,
  a 0xx landline with its dash, or a "+" international number of 8-15 digits. Chinese numerals count as digits here
  only inside such a run, so 一三八〇〇一三八〇〇〇 is a phone and 一二三 is not.
"""

from __future__ import annotations

import re

from shequn.moderation.normalize import normalize

__all__ = ["find_links", "find_phones", "find_contact_handles", "TLDS"]

#: Top-level domains a bare domain must end with (generic, popular with spammers, and country codes seen in Chinese
#: and Telegram spam). URLs with a scheme or www. are links whatever their TLD.
TLDS = (
    "com net org info biz edu gov mil int io co me tv cc ws ly gl gg to tk ml ga cf gq xyz top vip club site online "
    "shop store live app dev pro link click win bid loan work ltd fun icu buzz cyou cam space website tech asia mobi "
    "cn hk tw mo jp kr sg my th vn ph id in ru ua by kz su uk de fr nl eu us ca au nz br es it pl tr ir ae sa "
    "cloud email money finance today bet casino games"
).split()
_TLD = "(?:" + "|".join(sorted(TLDS, key=len, reverse=True)) + ")"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"

_URL = re.compile(r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'`，。！？、；）】」》]+")
_DOMAIN = re.compile(rf"(?<![a-z0-9_.@/-])(?:{_LABEL}\.)+{_TLD}(?![a-z0-9_-])(?:/[^\s<>\"'`，。！？、；）】」》]*)?")
_DOTWORD = r"(?:\s*[\(\[\{（【]\s*(?:dot|点|\.)\s*[\)\]\}）】]\s*|\s+dot\s+|\s*点\s*|\s*。\s*)"
_OBFUSCATED = re.compile(rf"(?<![a-z0-9_-])(?:{_LABEL}{_DOTWORD})+{_TLD}(?![a-z0-9_-])")
_TRAILING = ".,;:!?)]}'\""


def _canonical(text: str, normalized: bool) -> str:
    return text if normalized else normalize(text)


def _unique(items) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)


def find_links(text: str, *, normalized: bool = False) -> list[str]:
    """URLs (with scheme or www.), t.me-style short links, bare domains with a known TLD, and "example dot com"."""
    t = _canonical(text, normalized)
    if "." not in t and "点" not in t and "。" not in t and "dot" not in t:
        return []
    found = []
    spans = []
    for m in _URL.finditer(t):
        found.append(m.group(0).rstrip(_TRAILING))
        spans.append(m.span())
    for m in _DOMAIN.finditer(t):
        if any(a <= m.start() < b for a, b in spans):
            continue
        found.append(m.group(0).rstrip(_TRAILING))
    if "点" in t or "dot" in t or "。" in t or "(" in t or "[" in t or "（" in t or "【" in t:
        for m in _OBFUSCATED.finditer(t):
            if not any(a <= m.start() < b for a, b in spans) and m.group(0) not in found:
                found.append(m.group(0))
    return _unique(found)


# Same-length mapping, so a match found in the digit view is quoted from the canonical text.
_NUMERALS = str.maketrans("〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖两", "0012345678911234567892")
_HAS_NUMERAL = re.compile("[〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖两]")
_DIGIT = re.compile(r"\d")
_SEP = r"[\s\-.·_/()]?"
_MOBILE = re.compile(rf"(?<![\d+])(?:(?:\+|00)?86{_SEP})?1{_SEP}[3-9](?:{_SEP}\d){{9}}(?!\d)")
_HOTLINE = re.compile(rf"(?<!\d)[48]00{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)")
_LANDLINE = re.compile(r"(?<![\d+])\(?0\d{2,3}\)?[\s\-]\d{7,8}(?!\d)")
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d[\d\s\-.()]{6,20}\d(?!\d)")


def find_phones(text: str, *, normalized: bool = False) -> list[str]:
    """Chinese mobile numbers (with +86, spaces, dashes, dots, full-width or Chinese-numeral digits), 400/800
    hotlines, landlines written 0xx-xxxxxxxx, and "+" international numbers of 8-15 digits."""
    t = _canonical(text, normalized)
    digits = t.translate(_NUMERALS) if _HAS_NUMERAL.search(t) else t
    if not _DIGIT.search(digits):
        return []
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for rx in (_MOBILE, _HOTLINE, _LANDLINE, _INTERNATIONAL):
        for m in rx.finditer(digits):
            a, b = m.span()
            if any(x < b and a < y for x, y in taken):
                continue
            if rx is _INTERNATIONAL and not 8 <= len(_DIGIT.findall(m.group(0))) <= 15:
                continue
            taken.append((a, b))
            found.append((a, t[a:b].strip()))
    return _unique(s for _, s in sorted(found))


# --- contact handles -------------------------------------------------------------------------------------------
# 威信 (prestige) and 微信 are real words, so they count only with an id, 号 or 加; these spellings never are.
_WECHAT_EVASION = r"(?:[薇徽嶶]\s*[信芯心]|微\s*芯|v\s*信|wei\s*信|微\s*x(?![a-z]))"
_APPS = r"微信|威信|维信|weixin|wechat|vx|wx|qq|扣扣|企鹅|tg|telegram|电报|飞机|whatsapp|skype|" + _WECHAT_EVASION
_APP_ANY = r"(?<![a-z])(?:" + _APPS + r"|v|q|line|discord)"
_APP_STRICT = r"(?<![a-z])(?:" + _APPS + ")"
_ID = r"@?[a-z0-9][a-z0-9_\-]{4,}"
_HANDLE_RULES: list[re.Pattern[str]] = [
    # spellings nobody uses innocently
    re.compile(_WECHAT_EVASION),
    re.compile(r"(?<![a-z0-9])(?:vx|vxin)(?![a-z])"),
    re.compile(r"扣扣|企鹅号|飞机号|纸飞机|电报号|tg号|小飞机"),
    # 加 + a channel: 加V, 加我, 加微信, 加qq (not 参加我们 / 增加 / 更加 / 追加 / 添加我们的)
    re.compile(r"(?<![参增更追附外叠施添])加\s*(?:我|好友|" + _APP_ANY[len("(?<![a-z])(?:"):] + r"(?![a-z])"),
    # an app name followed by an id: 微信: abc123, qq 12345678, 微信是 lily_fit, wechat id: abc_123
    re.compile(_APP_ANY + r"\s*(?:号码|号|id)?\s*(?:[:：=]|是|为)\s*" + _ID),
    re.compile(_APP_STRICT + r"\s*(?:号码|号|id)?\s*(?=@?[a-z0-9_\-]*\d)" + _ID),
    # the id label itself
    re.compile(r"(?:微信|威信|wx|vx|v|qq|q|扣扣|企鹅|line|whatsapp)\s*(?:号码|号)|联系方式|联系电话"),
    # "write to me privately"
    re.compile(r"私聊|私信我|私我|私戳|密我|戳我|滴滴我|找我领|加群领|进群领"),
    re.compile(r"(?<![a-z])(?:dm|pm|inbox|message|text|whatsapp|contact|add|reach)\s+me\s+(?:on|at|via)(?![a-z])"),
    re.compile(r"(?<![a-z])(?:dm|pm|inbox)\s+me(?![a-z])"),
    # telegram handles in a contact context (plain @mentions are normal chat)
    re.compile(r"(?:tg|telegram|电报|飞机|тг|телеграм|телега|dm|pm|contact|write to|message|联系|私聊|私信|找|пиши(?:те)?)"
               r"\s*[:：]?\s*@[a-z0-9_]{4,}"),
    # Russian Telegram spam: "write in DMs"
    re.compile(r"(?:пиши(?:те)?|напиши(?:те)?|жду)\s+(?:мне\s+)?в\s+(?:лс|личку|личные)|(?<![а-я])в\s+лс(?![а-я])"),
    # e-mail addresses are a private channel too
    re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"),
]

#: Every rule above needs one of these; one search rules out most messages before 13 rule scans.
_HANDLE_HINT = re.compile(r"[加薇徽嶶微威维扣企飞电联私密戳滴找进@]|vx|wx|qq|tg|(?:dm|pm|inbox|message|text|whatsapp|contact|add|reach)"
                          r"\s+me|whatsapp|wechat|weixin|skype|line|discord|telegram|пиш|напиш|жду|лс|v\s*[:：=是为号信]|"
                          r"q\s*[:：=是为号]|wei")


def find_contact_handles(text: str, *, normalized: bool = False) -> list[str]:
    """Ways to take the conversation private: WeChat/QQ/Telegram ids and their evasive spellings, 加V/加我,
    私聊/私信我, "dm me", "add me on", tg @handle, Russian "пишите в лс", e-mail addresses."""
    t = _canonical(text, normalized)
    if not _HANDLE_HINT.search(t):
        return []
    found: list[tuple[int, str]] = []
    for rx in _HANDLE_RULES:
        for m in rx.finditer(t):
            found.append((m.start(), m.group(0).strip()))
    found.sort()
    # drop a match that is part of a longer one found by another rule (微信号 inside 微信号: abc123)
    out: list[str] = []
    for _, s in found:
        if any(s in other and s != other for _, other in found):
            continue
        out.append(s)
    return _unique(out)
