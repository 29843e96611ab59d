"""What reply inference reads from one message's text: content tokens, addressed names, cues.

Done once per message (the only per-message Python work); everything pairwise is numpy. Tokens
are lowercased English words plus character bigrams of Chinese runs, so word overlap works in
both languages without a segmenter. Names are normalised (NFKC, casefold, zero-width characters
removed) so a homoglyph-free ``＠Ｂｏｂ`` and ``@bob`` name the same member.
"""

from __future__ import annotations

import re
import unicodedata

#: zero-width and bidi controls: invisible, so they must never split or disguise a name or word
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u202a\u202b\u202c\u202d\u202e\u00ad"))

_WORD = re.compile(r"[a-z0-9][a-z0-9_'+#.\-]*[a-z0-9+#]|[a-z0-9]|[\u3400-\u9fff\uf900-\ufaff]+")
_NAMEISH = re.compile(r"[^\s,:;!?()\"<>，：；！？（）“”、。]+")
_AT = re.compile(r"[@＠]([^\s@＠,:;!?，：；！？]{1,40})")

STOPWORDS = frozenset(
    """a an the and or but if then so to of in on at by for with from as is are was were be been being am do does did
    done have has had having i me my we our you your he him his she her it its they them their this that these those
    there here what which who whom whose when where why how not no yes can could will would shall should may might must
    just also too very really only any some all about into over than up down out off again more most such own same
    there's it's i'm don't can't dont cant im ive i've you're youre ok okay lol yeah yep well now get got like
    的 了 是 在 我 你 他 她 它 们 这 那 就 都 也 和 与 吧 啊 呀 哦 嗯""".split()
)

_Q_EN = frozenset(
    "how what why where when which who whom whose anyone anybody does do did is are can could should would will "
    "has have any know help".split()
)
_Q_ZH = ("吗", "嗎", "呢", "怎么", "怎麼", "如何", "为什么", "為什麼", "什么", "什麼", "哪", "谁", "誰", "是否", "有没有",
         "有沒有", "能不能", "可不可以", "请问", "請問", "求助", "求教", "咋", "多少", "几", "幾")
_GREET = frozenset("hi hello hey hiya howdy morning evening yo greetings heya hallo hola".split())
_GREET_ZH = ("你好", "您好", "大家好", "早上好", "晚上好", "早安", "晚安", "哈喽", "嗨")
_THANKS = frozenset("thanks thank thx ty thankyou cheers tnx thanx appreciated".split())
_THANKS_ZH = ("谢谢", "謝謝", "多谢", "多謝", "感谢", "感謝", "谢啦", "3q")
_YESNO = frozenset("yes no yeah yep nope nah sure right correct exactly indeed ok okay k".split())

Q, GREET, THANKS, URL, YESNO, CODEISH = 1, 2, 4, 8, 16, 32


def clean(text: str) -> str:
    """NFKC without invisible characters (plain ASCII, the common case, is returned as is)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def norm_name(name: str) -> str:
    """The key a name is matched by: NFKC, casefold, invisible characters gone, IRC decorations stripped."""
    n = clean(name).casefold().strip()
    return n.lstrip("@").rstrip(":,.;!?~")


def content_tokens(low: str) -> list[str]:
    """Distinct content tokens: English words (no stopwords) and bigrams of each Chinese run."""
    out: set[str] = set()
    for w in _WORD.findall(low):
        c = w[0]
        if "\u3400" <= c:
            if len(w) == 1:
                if w not in STOPWORDS:
                    out.add(w)
            else:
                out.update(w[k:k + 2] for k in range(len(w) - 1))
        elif w not in STOPWORDS and len(w) > 1:
            out.add(w)
    return list(out)


def cues(low: str, first_word: str) -> int:
    """Bit flags: question, greeting, thanks, URL, yes/no answer, code-like text."""
    f = 0
    zh = not low.isascii()
    if "?" in low or first_word in _Q_EN or (zh and ("？" in low or any(q in low for q in _Q_ZH))):
        f |= Q
    if first_word in _GREET or (zh and any(g in low for g in _GREET_ZH)):
        f |= GREET
    if not _THANKS.isdisjoint(low.split()) or (zh and any(t in low for t in _THANKS_ZH)) or "3q" in low:
        f |= THANKS
    if "http" in low or "www." in low:
        f |= URL
    if first_word in _YESNO:
        f |= YESNO
    if "/" in low or "sudo" in low or "$" in low or "=" in low:
        f |= CODEISH
    return f


def name_candidates(low: str) -> list[str]:
    """Words of a cleaned, casefolded message that could be someone's name, in order; ``@name`` first."""
    out = [m.rstrip(":,.;!?~") for m in _AT.findall(low)]
    out.extend(w.lstrip("@").rstrip(":,.;!?~") for w in _NAMEISH.findall(low[:400]))
    return [n for n in out if n]
