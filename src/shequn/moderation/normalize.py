"""Normalization: map the many spellings spammers use to one canonical text before anything looks at it.

Public API::

    normalize(text: str) -> str        # the canonical form every check (and the rules module) works on
    strip_invisible(text: str) -> str  # only removes invisible characters; nothing else changes

``normalize`` applies, in order:

1. **invisible characters removed** — zero-width space/joiners, BOM, soft hyphen, bidi controls, variation selectors,
   Hangul fillers, tag characters (every Unicode "format" character, category Cf, plus the invisible letters): 微\u200b信 → 微信;
2. **NFKC** — full-width → half-width (ＶＸ → VX, １３８ → 138), circled and styled letters (ⓥ, 𝐯) → plain;
3. **combining marks dropped** — ṽẍ → vx (accents are never needed to decide spam);
4. **homoglyphs folded** in *mixed-script words* — a word that holds Latin letters or digits and Cyrillic/Greek/…
   look-alikes (wеіхіn with Cyrillic е, і, х) becomes all Latin (weixin). The look-alike table is the Unicode
   confusables data shipped by the ``confusable_homoglyphs`` package (UTS #39). Words written entirely in one
   script are left alone, so Russian stays Russian (this is the UTS #39 "mixed-script" rule, not a blanket fold);
5. **traditional → simplified** with OpenCC (``t2s``): 薇信號碼 → 薇信号码;
6. **case-folded**;
7. **spaced letters joined** — a run of single characters separated by spaces is one word: ``v x`` → ``vx``,
   ``w e i x i n`` → ``weixin``, ``1 3 8 0 0`` → ``13800``; whitespace runs are squeezed to one space.

What is *not* done here: Chinese numerals (一三八) are kept as written — the phone finder reads them itself, so a sentence
such as 一二三 is not turned into digits for the classifier. ``normalize`` is idempotent: normalize(normalize(x)) == normalize(x).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

import opencc
from confusable_homoglyphs import confusables as _confusables

__all__ = ["normalize", "strip_invisible", "INVISIBLE"]


def _invisible_codepoints() -> list[int]:
    """Every format character (Cf) plus the invisible "letters" and fillers that render as nothing."""
    out = []
    for cp in list(range(0x80, 0x20000)) + list(range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(cp)) == "Cf":
            out.append(cp)
    out += [
        0x034F,  # combining grapheme joiner
        0x115F, 0x1160, 0x3164, 0xFFA0,  # Hangul fillers (look blank, count as letters)
        0x2800,  # braille pattern blank
        0x180B, 0x180C, 0x180D, 0x180E, 0x180F,  # Mongolian free variation selectors / vowel separator
    ]
    out += list(range(0xFE00, 0xFE10)) + list(range(0xE0100, 0xE01F0))  # variation selectors
    return sorted(set(out))


#: Code points removed by :func:`strip_invisible` (and by :func:`normalize`).
INVISIBLE: frozenset[int] = frozenset(_invisible_codepoints())
_DROP_INVISIBLE = dict.fromkeys(INVISIBLE)


def _char_class(codepoints) -> str:
    """A regex character class built from ranges (a class of single characters is many times slower to scan)."""
    cps = sorted(codepoints)
    parts, start, prev = [], cps[0], cps[0]
    for cp in cps[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        start = prev = cp
    return "[" + "".join(parts) + "]"


_INVISIBLE_RE = re.compile(_char_class(INVISIBLE))


def strip_invisible(text: str) -> str:
    """Remove zero-width and other invisible characters; every visible character stays as it is."""
    if text.isascii() or not _INVISIBLE_RE.search(text):
        return text
    return text.translate(_DROP_INVISIBLE)


def _homoglyph_table() -> dict[int, str]:
    """Non-ASCII look-alikes of ASCII letters/digits from the Unicode confusables data (UTS #39).

    CJK characters are excluded (〇 is a Chinese numeral, not the letter O); characters that NFKC already maps are
    irrelevant because folding runs after NFKC.
    """
    table: dict[int, str] = {}
    for ch, glyphs in _confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        cp = ord(ch)
        if 0x2E80 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp:
            continue
        if unicodedata.normalize("NFKC", ch) != ch:
            continue
        for g in glyphs:
            target = g["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[cp] = target.lower()
                break
    return table


_HOMOGLYPHS = _homoglyph_table()
_HAS_HOMOGLYPH = re.compile(_char_class(_HOMOGLYPHS))
#: Cheap pre-filter: every look-alike lies outside ASCII, CJK ideographs/punctuation and Hangul.
_MAYBE_HOMOGLYPH = re.compile(r"[\u0080-\u2dff\ua000-\uabff\U00010000-\U0001ffff]")
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"[A-Za-z0-9]")

_T2S = opencc.OpenCC("t2s")

#: A run of single visible characters separated by one space (after squeezing), bounded by whitespace or the text's ends
#: (a final punctuation mark may follow: "w e i x i n: abc" -> "weixin: abc"), or by a colon that introduces what
#: follows, spaced or not ("Ｖ　Ｘ：abc123" -> "vx:abc123": Chinese writes no space after a full-width colon).
_SPACED = re.compile(r"(?<!\S)\S(?: \S)+(?=[:：]|[,，.。!！?？;；]?(?!\S))")
_BLANKS = re.compile(r"[^\S\n]+")


def _fold_word(m: re.Match[str]) -> str:
    word = m.group(0)
    if _LATIN.search(word) and _HAS_HOMOGLYPH.search(word):
        return word.translate(_HOMOGLYPHS)
    return word


def _fold_homoglyphs(text: str) -> str:
    if not _MAYBE_HOMOGLYPH.search(text) or not _HAS_HOMOGLYPH.search(text):
        return text
    return _WORD.sub(_fold_word, text)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


_HAS_COMBINABLE = re.compile(r"[\u00C0-\u024F\u0300-\u036F\u1E00-\u1EFF\u0400-\u04FF\u0370-\u03FF]")


def _join_spaced(text: str) -> str:
    return _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)


def normalize(text: str) -> str:
    """The canonical form of a message: invisible characters gone, NFKC, marks dropped, homoglyphs folded,
    simplified Chinese, case-folded, spaced letters joined. See the module docstring for each step."""
    if text.isascii():
        out = text.lower()
    else:
        out = strip_invisible(text)
        if not unicodedata.is_normalized("NFKC", out):
            out = unicodedata.normalize("NFKC", out)
        if _HAS_COMBINABLE.search(out):
            out = _strip_marks(out)
        out = _fold_homoglyphs(out)
        out = _T2S.convert(out)
        out = out.casefold()
        if not out.isascii():
            # casefold can reintroduce compatibility forms; NFKC once more keeps the function idempotent
            out = unicodedata.normalize("NFKC", out)
    if " " in out or "\t" in out:
        out = _BLANKS.sub(" ", out)
        out = _join_spaced(out)
    return out


@lru_cache(maxsize=4096)
def normalize_cached(text: str) -> str:
    """``normalize`` for short strings seen again and again (keyword lists, stop words)."""
    return normalize(text)


if __name__ == "__main__":  # pragma: no cover - a quick manual probe: python -m shequn.moderation.normalize TEXT
    print(normalize(" ".join(sys.argv[1:])))
