"""Finders for what an ad needs to carry: a link, a phone number, or a way to reach the sender privately.

Public API (each returns what matched, in order, without duplicates, so an explanation can quote it)::

    find_links(text, *, normalized=False) -> list[str]            # URLs, bare domains, t.me links, "example dot com"
    find_phones(text, *, normalized=False) -> list[str]           # Chinese mobiles (also 一三八…), hotlines, landlines, +xx
    find_contact_handles(text, *, normalized=False) -> list[str]  # 加V, 薇信, vx, 微信号: abc123, QQ号, 扣扣, tg @x, 私聊…
    find_many(normalized_texts) -> (links, phones, handles)       # the three for a batch: a list per finder, one per text

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
from functools import lru_cache

import numpy as np

from shequn.moderation.normalize import normalize

__all__ = ["find_links", "find_phones", "find_contact_handles", "find_many", "TLDS"]

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


def _trie(words) -> str:
    """A regex for exactly these words, as a trie (the engine compares one letter per branch instead of trying ~100
    alternatives one by one); for pre-checks, where which word matched does not matter."""
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


#: Exact pre-checks (each is a part every match must contain, so a miss proves there is no match), led by a literal,
#: which the regex engine scans for far faster than the full patterns' leading lookbehinds.
_TLD_TRIE = _trie(TLDS)
_DOMAIN_GATE = re.compile(rf"\.{_TLD_TRIE}(?![a-z0-9_-])")  # the last label's dot and the TLD
_OBFUSCATED_GATE = re.compile(rf"(?:dot|点|\.|。)[\s)\]}}）】]*{_TLD_TRIE}(?![a-z0-9_-])")  # the last dot-word and the TLD


def find_links(text: str, *, normalized: bool = False) -> list[str]:
    """URLs (with scheme or www.), t.me-style short links, bare domains with a known TLD, and "example dot com"."""
    t = _canonical(text, normalized)
    if "." not in t and "点" not in t and "。" not in t and "dot" not in t:
        return []
    found = []
    spans = []
    if "://" in t or "www." in t:
        for m in _URL.finditer(t):
            found.append(m.group(0).rstrip(_TRAILING))
            spans.append(m.span())
    if "." in t and _DOMAIN_GATE.search(t):
        for m in _DOMAIN.finditer(t):
            if any(a <= m.start() < b for a, b in spans):
                continue
            found.append(m.group(0).rstrip(_TRAILING))
    if ("点" in t or "dot" in t or "。" in t or "(" in t or "[" in t or "（" in t or "【" in t) and _OBFUSCATED_GATE.search(t):
        for m in _OBFUSCATED.finditer(t):
            if not any(a <= m.start() < b for a, b in spans) and m.group(0) not in found:
                found.append(m.group(0))
    return _unique(found) if found else found


# Same-length mapping, so a match found in the digit view is quoted from the canonical text.
_NUMERALS = str.maketrans("〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖两", "0012345678911234567892")
_HAS_NUMERAL = re.compile("[〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖两]")
_DIGIT = re.compile(r"\d")
_SEP = r"[\s\-.·_/()]?"
_MOBILE = re.compile(rf"(?<![\d+])(?:(?:\+|00)?86{_SEP})?1{_SEP}[3-9](?:{_SEP}\d){{9}}(?!\d)")
_HOTLINE = re.compile(rf"(?<!\d)[48]00{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)")
_LANDLINE = re.compile(r"(?<![\d+])\(?0\d{2,3}\)?[\s\-]\d{7,8}(?!\d)")
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d[\d\s\-.()]{6,20}\d(?!\d)")
_PHONE_RULES = (_MOBILE, _HOTLINE, _LANDLINE, _INTERNATIONAL)  # in this order: an earlier match wins an overlap
#: Exact pre-check: every number above holds 7 digits (or Chinese numerals) in a row, at most one separator between
#: two of them, or "+" and a digit; one scan starting with a character class rules out almost every message.
_DIGITISH_CLASS = "[\\d〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖两]"
_PHONE_GATE = re.compile(rf"[+\d〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖两](?:(?<=\+){_DIGITISH_CLASS}|(?<!\+)(?:{_SEP}{_DIGITISH_CLASS}){{6}})")


def find_phones(text: str, *, normalized: bool = False) -> list[str]:
    """Chinese mobile numbers (with +86, spaces, dashes, dots, full-width or Chinese-numeral digits), 400/800
    hotlines, landlines written 0xx-xxxxxxxx, and "+" international numbers of 8-15 digits."""
    t = _canonical(text, normalized)
    return _phones(t) if _PHONE_GATE.search(t) else []


def _phones(t: str, rules: tuple[re.Pattern[str], ...] | None = None) -> list[str]:
    """find_phones for a text that passed _PHONE_GATE; ``rules``: only these of the four can match (find_many knows)."""
    digits = t.translate(_NUMERALS) if _HAS_NUMERAL.search(t) else t
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for rx in rules or _PHONE_RULES:
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
    # spellings nobody uses innocently (_WECHAT_EVASION with each alternative led by a plain character, so the regex
    # engine can skip to those characters: the same matches)
    re.compile(r"薇\s*[信芯心]|徽\s*[信芯心]|嶶\s*[信芯心]|微\s*芯|v\s*信|wei\s*信|微\s*x(?![a-z])"),
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

#: Every rule above needs one of these; one search rules out most messages before 13 rule scans. (The definition:
#: _handle_hint asks the same more quickly, and a test checks that the two agree.)
_HANDLE_HINT = re.compile(r"[加薇徽嶶微威维扣企飞电联私密戳滴找进@]|vx|wx|qq|tg|(?:dm|pm|inbox|message|text|whatsapp|contact|add|reach)"
                          r"\s+me|whatsapp|wechat|weixin|skype|line|discord|telegram|пиш|напиш|жду|лс|v\s*[:：=是为号信]|"
                          r"q\s*[:：=是为号]|wei")


#: For each rule above, in order, what every match of it contains: a string (``in``) or a regex (a quick search), all of
#: which must be found before the rule runs (none: the rule is a plain list of words, as quick to run as to pre-check).
#: A text that passes the hint then needs one or two of the 13 rules, not all of them. The ASCII list holds only the
#: rules an ASCII text can match (the others all need a CJK or Cyrillic character), with ASCII-only pre-checks.
_APP_HINT = "[微薇徽嶶vq]|威信|维信|wei|wechat|wx|扣扣|企鹅|tg|telegram|电报|飞机|whatsapp|skype|line|discord"  # _APP_ANY
_APP_STRICT_HINT = r"[微薇徽嶶]|v(?:x|\s*信)|威信|维信|wei|wechat|wx|qq|扣扣|企鹅|tg|telegram|电报|飞机|whatsapp|skype"
_ID_HINT = r"[a-z0-9][a-z0-9_\-]{4}"
_SPACE_ME = r"me(?<=\sme)"  # \s+me, led by the letters so that the engine looks for them directly
_NEEDS: list[tuple[str | re.Pattern[str], ...]] = [
    (),
    ("vx",),
    (),
    ("加",),
    (re.compile("[:：=是为]"), re.compile(_ID_HINT), re.compile(_APP_HINT)),  # an app name, then : = 是 为, then the id
    (re.compile(r"\d"), re.compile(_APP_STRICT_HINT)),  # an app name, then an id with a digit
    (re.compile("号|联系"),),
    (),
    (re.compile(_SPACE_ME + r"(?=\s)"),),
    (re.compile(_SPACE_ME), re.compile("dm|pm|inbox")),
    ("@",),
    ("в",),  # every alternative has в (в лс)
    ("@",),
]
_RULES = list(zip(_HANDLE_RULES, _NEEDS, strict=True))
_RULES_ASCII = [
    (_HANDLE_RULES[1], ("vx",)),
    (_HANDLE_RULES[4], (re.compile("[:=]"), re.compile(_ID_HINT), re.compile("[vq]|wei|wechat|wx|tg|telegram|whatsapp|skype|line|discord"))),
    (_HANDLE_RULES[5], (re.compile("[0-9]"), re.compile("vx|wei|wechat|wx|qq|tg|telegram|whatsapp|skype"))),
    (_HANDLE_RULES[8], _NEEDS[8]),
    (_HANDLE_RULES[9], _NEEDS[9]),
    (_HANDLE_RULES[10], ("@",)),
    (_HANDLE_RULES[12], ("@",)),
]
#: _HANDLE_HINT's alternatives as substring tests and small regexes: a search for one of ~40 alternatives tries them
#: at every character that starts one (t, s, l, d, п, н ... start a trial at every other character of English or
#: Russian), while ``in`` scans at memchr speed.
_HINT_CHARS = re.compile("[加薇徽嶶微威维扣企飞电联私密戳滴找进@]")
_HINT_WORDS = ("vx", "wx", "qq", "tg", "wei", "wechat", "whatsapp", "skype", "line", "discord", "telegram")  # wei: weixin
_HINT_WORDS_CYRILLIC = ("пиш", "жду", "лс")  # пиш: напиш
_HINT_ME_NEAR = re.compile(_SPACE_ME)
_HINT_ME = re.compile(r"(?:dm|pm|inbox|message|text|whatsapp|contact|add|reach)\s+me")
_HINT_VQ = re.compile(r"v\s*[:：=是为号信]|q\s*[:：=是为号]")


def _handle_hint(t: str, chars_checked: bool = False) -> bool:
    """``_HANDLE_HINT.search(t)``, quicker. ``chars_checked``: the caller knows t holds none of _HINT_CHARS."""
    if t.isascii():
        if "@" in t:
            return True
    elif not chars_checked and _HINT_CHARS.search(t) is not None:
        return True
    for w in _HINT_WORDS:
        if w in t:
            return True
    if not t.isascii():
        for w in _HINT_WORDS_CYRILLIC:
            if w in t:
                return True
    return (_HINT_ME_NEAR.search(t) is not None and _HINT_ME.search(t) is not None) or (
        ("v" in t or "q" in t) and _HINT_VQ.search(t) is not None)


def find_contact_handles(text: str, *, normalized: bool = False) -> list[str]:
    """Ways to take the conversation private: WeChat/QQ/Telegram ids and their evasive spellings, 加V/加我,
    私聊/私信我, "dm me", "add me on", tg @handle, Russian "пишите в лс", e-mail addresses."""
    t = _canonical(text, normalized)
    return _handles(t) if _handle_hint(t) else []


def _handles(t: str) -> list[str]:
    """find_contact_handles for a text that passed the hint."""
    found: list[tuple[int, str]] = []
    for rx, needs in _RULES_ASCII if t.isascii() else _RULES:
        for need in needs:
            if (need not in t) if type(need) is str else (need.search(t) is None):
                break
        else:
            for m in rx.finditer(t):
                found.append((m.start(), m.group(0).strip()))
    if not found:
        return []
    found.sort()
    # drop a match that is part of a longer one found by another rule (微信号 inside 微信号: abc123)
    out: list[str] = []
    for _, s in found:
        if any(s in other and s != other for _, other in found):
            continue
        out.append(s)
    return _unique(out)


# --- a batch at once -------------------------------------------------------------------------------------------
# Most messages carry nothing, and asking each one costs more than the answer: a regex search costs ~1,000
# instructions before it reads a character, and ~40-150 per character it scans. find_many first reads the whole
# batch's characters in numpy (one table lookup each) and calls a finder only for the texts holding what it needs:
#   phones   exactly what _PHONE_GATE looks for: 7 digits (Unicode digits or Chinese numerals) in a row, at most one
#            separator between two of them, or "+" and a digit;
#   handles  a character _HANDLE_HINT starts with (one of its characters: then the hint holds; or a first letter of
#            one of its words: then it is asked);
#   links    ".", "点" or "。", or the letters "dot" (find_links' own first test).
_DIGITISH, _PLUS, _PHONE_SEP, _HINT_CHAR, _HINT_LETTER, _LINK_CHAR = 1, 2, 4, 8, 16, 32
# digits by the value they have in the digit view (_NUMERALS), and the characters before a landline's last 7 digits
_ZERO, _ONE, _THREE_TO_NINE, _FOUR_OR_EIGHT, _SPACE_OR_DASH, _DIGIT_OR_PAREN = 64, 128, 256, 512, 1024, 2048
_SEPARATOR = "\x00"
_SMALL_BATCH = 16


def _flag_classes() -> tuple[tuple[str, int], ...]:
    return ((_DIGITISH_CLASS, _DIGITISH), (r"\+", _PLUS), (r"[\s\-.·_/()]", _PHONE_SEP),
            (_HINT_CHARS.pattern, _HINT_CHAR), ("[vwqtdpimcarslпнжл]", _HINT_LETTER), ("[.点。]", _LINK_CHAR),
            ("[0〇零]", _ZERO), ("[1一幺壹]", _ONE), ("[3-9三四五六七八九叁肆伍陆柒捌玖]", _THREE_TO_NINE),
            ("[48四八肆捌]", _FOUR_OR_EIGHT), (r"[\s\-]", _SPACE_OR_DASH), (_DIGITISH_CLASS[:-1] + ")]", _DIGIT_OR_PAREN))


@lru_cache(maxsize=1)
def _char_flags() -> np.ndarray:
    """Bit flags for each code point below U+10000 (read off the classes' regexes, so the two agree)."""
    every = "".join(map(chr, range(0x10000)))
    table = np.zeros(0x10000, dtype=np.uint16)
    for rx, bit in _flag_classes():
        for m in re.finditer(f"(?:{rx})+", every):
            table[m.start() : m.end()] |= bit
    return table


@lru_cache(maxsize=4096)
def _astral_flags(cp: int) -> int:
    """Bit flags of a code point above U+FFFF (emoji, mostly: few per batch, asked one by one)."""
    ch = chr(cp)
    return sum(bit for rx, bit in _flag_classes() if re.fullmatch(rx, ch))


def _flags_of(codes: np.ndarray) -> np.ndarray:
    flags = _char_flags()[np.minimum(codes, 0xFFFF)]
    astral = np.flatnonzero(codes > 0xFFFF)
    if len(astral):
        found, where = np.unique(codes[astral], return_inverse=True)
        flags[astral] = np.array([_astral_flags(cp) for cp in found.tolist()], dtype=np.uint16)[where]
    return flags


def _phone_texts(flags: np.ndarray, starts: np.ndarray) -> dict[int, tuple[re.Pattern[str], ...]]:
    """The texts (by start offset in the joined batch) where a phone rule can match, with those rules (reading digits
    as the digit view does):
      mobile         1, then 3-9, then 9 more digits, at most one separator between two;
      hotline        4 or 8, 0, 0, then 7 more digits (at most one separator between two);
      landline       ends in a space or dash, then 7 digits, with a digit or ")" before the space;
      international  "+" and a digit."""
    digit = (flags & _DIGITISH) != 0
    can: dict[re.Pattern[str], np.ndarray] = {}
    at = np.flatnonzero(digit)
    if len(at) >= 7:
        gap = np.diff(at)
        adjacent = gap == 1
        linked = adjacent | ((gap == 2) & ((flags[at[:-1] + 1] & _PHONE_SEP) != 0))
        value = flags[at]

        def runs(ok: np.ndarray, links: int) -> np.ndarray:
            """k where ok[k .. k+links-1] all hold (digits at[k .. k+links] are linked)."""
            total = np.concatenate(([0], np.cumsum(ok)))
            return np.flatnonzero(total[links:] - total[:-links] == links)

        k = runs(linked, 10)
        k = k[((value[k] & _ONE) != 0) & ((value[k + 1] & _THREE_TO_NINE) != 0)]
        can[_MOBILE] = at[k]
        k = runs(linked, 9)
        k = k[((value[k] & _FOUR_OR_EIGHT) != 0) & ((value[k + 1] & value[k + 2] & _ZERO) != 0) & adjacent[k] & adjacent[k + 1]]
        can[_HOTLINE] = at[k]
        k = runs(adjacent, 6)
        before = at[k] - 1
        k = k[(before >= 1) & ((flags[before] & _SPACE_OR_DASH) != 0) & ((flags[np.maximum(before - 1, 0)] & _DIGIT_OR_PAREN) != 0)]
        can[_LANDLINE] = at[k]
    can[_INTERNATIONAL] = np.flatnonzero(((flags[:-1] & _PLUS) != 0) & digit[1:])
    texts_of = {rx: set((np.searchsorted(starts, pos, side="right") - 1).tolist()) for rx, pos in can.items()}
    out: dict[int, tuple[re.Pattern[str], ...]] = {}
    for i in set().union(*texts_of.values()):
        out[i] = tuple(rx for rx in _PHONE_RULES if i in texts_of.get(rx, ()))
    return out


def find_many(normalized_texts: list[str]) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """``find_links``, ``find_phones`` and ``find_contact_handles`` of each (normalized) text, as three lists."""
    texts = normalized_texts
    n = len(texts)
    links: list[list[str]] = [[] for _ in texts]
    phones: list[list[str]] = [[] for _ in texts]
    handles: list[list[str]] = [[] for _ in texts]
    if n < _SMALL_BATCH:  # numpy's fixed costs outweigh what it saves
        for i, t in enumerate(texts):
            links[i] = find_links(t, normalized=True)
            phones[i] = find_phones(t, normalized=True)
            handles[i] = find_contact_handles(t, normalized=True)
        return links, phones, handles
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n) + 1  # each text and its separator
    starts = np.cumsum(lengths) - lengths
    joined = _SEPARATOR.join(texts)
    codes = np.frombuffer((joined + _SEPARATOR).encode("utf-32-le"), dtype=np.uint32)
    flags = _flags_of(codes)
    present = np.bitwise_or.reduceat(flags, starts).tolist()
    for i, rules in _phone_texts(flags, starts).items():
        phones[i] = _phones(texts[i], rules)
    dotted = set()
    if "dot" in joined:
        at = joined.find("dot")
        while at >= 0:
            i = int(np.searchsorted(starts, at, side="right")) - 1
            dotted.add(i)
            at = joined.find("dot", int(starts[i + 1]) if i + 1 < n else len(joined))
    for i, t in enumerate(texts):
        f = present[i]
        if f & _LINK_CHAR or i in dotted:
            links[i] = find_links(t, normalized=True)
        # one of the hint's characters: it holds; else one of its words' first letters: ask it
        if f & _HINT_CHAR or (f & _HINT_LETTER and _handle_hint(t, chars_checked=True)):
            handles[i] = _handles(t)
    return links, phones, handles
