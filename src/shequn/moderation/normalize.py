"""Normalization: map the many spellings spammers use to one canonical text before anything looks at it.

Public API::

    normalize(text: str) -> str        # the canonical form every check (and the rules module) works on
    normalize_many(texts) -> list[str] # the same for a batch (one OpenCC call for all of it)
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

__all__ = ["normalize", "normalize_many", "strip_invisible", "INVISIBLE"]


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


def _char_class(codepoints, *, any_astral: bool = False) -> str:
    """A regex character class built from ranges (a class of single characters is many times slower to scan).

    ``any_astral``: the code points from U+10000 up are replaced by the whole range U+10000-U+10FFFF (a superset, for a
    pre-check). The regex engine tests a character below U+10000 against a bitmap, but walks the class's ranges above
    one by one for every character it tests: the homoglyph class has 81 of them."""
    cps = sorted(codepoints)
    tail = ""
    if any_astral:
        tail = re.escape(chr(0x10000)) + "-" + re.escape(chr(0x10FFFF)) if cps and cps[-1] >= 0x10000 else ""
        cps = [cp for cp in cps if cp < 0x10000]
        if not cps:
            return "[" + tail + "]"
    parts, start, prev = [], cps[0], cps[0]
    for cp in cps[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        start = prev = cp
    return "[" + "".join(parts) + tail + "]"


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
#: _HAS_HOMOGLYPH for texts without characters above U+FFFF (quick); any such character also counts here.
_HOMOGLYPH_BMP_CLASS = _char_class(_HOMOGLYPHS, any_astral=True)
_MAYBE_HOMOGLYPH_WORD = re.compile(_HOMOGLYPH_BMP_CLASS)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
#: Cheap pre-filter: every look-alike lies outside ASCII, CJK ideographs/punctuation and Hangul.
_MAYBE_HOMOGLYPH = re.compile(r"[\u0080-\u2dff\ua000-\uabff\U00010000-\U0001ffff]")
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"[A-Za-z0-9]")
#: A word (from its first character on) that holds a Latin letter or digit and a look-alike: the only words folding can
#: change. The regex engine finds them itself, so a Russian text costs one scan, not a Python call per word.
_MIXED_WORD = re.compile(rf"(?<!\w)(?=\w*?[A-Za-z0-9])(?=\w*?{_char_class(_HOMOGLYPHS)})\w+")
_MIXED_WORD_BMP = re.compile(rf"(?<!\w)(?=\w*?[A-Za-z0-9])(?=\w*?{_HOMOGLYPH_BMP_CLASS})\w+")  # texts without astral characters

_T2S = opencc.OpenCC("t2s")
#: OpenCC's t2s tables only hold CJK characters (checked: it leaves every character below U+2E80 unchanged), so a
#: text without one is not converted (Russian and accented English skip ~40 ns per character).
_MAYBE_TRADITIONAL = re.compile(r"[\u2e80-\U0010ffff]")
#: Joins the texts of a batch for one OpenCC call (its cost per call is several µs); an invisible character, which
#: normalization has removed before this step, and which no conversion table holds.
_T2S_SEPARATOR = "\u2063"

#: A run of single visible characters separated by one space (after squeezing), bounded by whitespace or the text's ends
#: (a final punctuation mark may follow: "w e i x i n: abc" -> "weixin: abc"), or by a colon that introduces what
#: follows, spaced or not ("Ｖ　Ｘ：abc123" -> "vx:abc123": Chinese writes no space after a full-width colon).
_SPACED = re.compile(r"(?<!\S)\S(?: \S)+(?=[:：]|[,，.。!！?？;；]?(?!\S))")
#: Found exactly when _SPACED finds something (the last two characters of such a run), but led by a plain space, which
#: the regex engine scans for much faster than _SPACED's leading lookbehind.
_MAYBE_SPACED = re.compile(r" (?<=(?<!\S)\S )\S(?=[:：]|[,，.。!！?？;；]?(?!\S))")
_BLANKS = re.compile(r"[^\S\n]+")

#: Characters NFKC changes that Chinese messages are full of (full-width punctuation, the ellipsis), replaced by their
#: NFKC form before NFKC runs: that leaves the NFKC of the whole text as it was (the full decomposition, which NFKC
#: recomposes, does not change), and the text is then often normalized already. CPython's NFKC of a text that needs
#: any change costs ~150 ns per character.
_COMMON_COMPAT = tuple((ch, unicodedata.normalize("NFKC", ch)) for ch in "，：！…～（）；？＂％￥　")


def _nfkc(text: str) -> str:
    if unicodedata.is_normalized("NFKC", text):
        return text
    for ch, plain in _COMMON_COMPAT:
        if ch in text:
            text = text.replace(ch, plain)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _fold_word(m: re.Match[str]) -> str:
    word = m.group(0)
    if _LATIN.search(word) and _HAS_HOMOGLYPH.search(word):
        return word.translate(_HOMOGLYPHS)
    return word


def _fold_homoglyphs(text: str) -> str:
    if not _MAYBE_HOMOGLYPH.search(text) or not _LATIN.search(text) or not _MAYBE_HOMOGLYPH_WORD.search(text):
        return text
    if _ASTRAL.search(text) is None:  # the quick classes are exact
        return _MIXED_WORD_BMP.sub(_fold_word, text)
    return _MIXED_WORD.sub(_fold_word, text) if _HAS_HOMOGLYPH.search(text) else text


@lru_cache(maxsize=1)
def _combining() -> re.Pattern[str]:
    """The characters below U+20000 with a non-zero canonical combining class (built on first use: ~15 ms)."""
    return re.compile(_char_class(cp for cp in range(0x20000) if unicodedata.combining(chr(cp))))


_BEYOND_U1FFFF = re.compile("[\U00020000-\U0010ffff]")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    if _BEYOND_U1FFFF.search(decomposed) is None:
        stripped = _combining().sub("", decomposed)
    else:  # (no such character combines today; asking each keeps this right if one ever does)
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


_HAS_COMBINABLE = re.compile(r"[\u00C0-\u024F\u0300-\u036F\u1E00-\u1EFF\u0400-\u04FF\u0370-\u03FF]")


def _join_spaced(text: str) -> str:
    if not _MAYBE_SPACED.search(text):
        return text
    return _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)


#: Every character steps 1, 3 and 4 act on (invisible, combinable, look-alike) is in here; most Chinese messages hold
#: none, and one search then stands for the three (a regex search costs ~0.25 µs before it reads a character).
_UNUSUAL = re.compile(_char_class(set(INVISIBLE) | set(range(0x80, 0x2E00)) | set(range(0xA000, 0xAC00)),
                                  any_astral=True))


def _before_t2s(text: str) -> str:
    """Steps 1-4 for a non-ASCII text."""
    if _UNUSUAL.search(text) is None:
        out = _nfkc(text)  # nothing invisible to strip
        if out is text or _UNUSUAL.search(out) is None:
            return out  # nothing for steps 3 and 4 either
    else:
        out = _nfkc(strip_invisible(text))
    if _HAS_COMBINABLE.search(out):
        out = _strip_marks(out)
    return _fold_homoglyphs(out)


def _after_t2s(out: str) -> str:
    """Step 6 for a non-ASCII text (step 7 is :func:`_spacing`)."""
    out = out.casefold()
    if not out.isascii():
        # casefold can reintroduce compatibility forms; NFKC once more keeps the function idempotent
        out = unicodedata.normalize("NFKC", out)
    return out


def _spacing(out: str) -> str:
    """Step 7."""
    if " " in out or "\t" in out:
        out = _join_spaced(_squeeze(out))
    return out


def _squeeze(out: str) -> str:
    """Whitespace runs (but line breaks) to one space. Nothing changes when the only blanks are single spaces and line
    breaks (every other whitespace character is unprintable, so ``isprintable`` vouches for that)."""
    return _BLANKS.sub(" ", out) if "  " in out or not out.isprintable() else out


def normalize(text: str) -> str:
    """The canonical form of a message: invisible characters gone, NFKC, marks dropped, homoglyphs folded,
    simplified Chinese, case-folded, spaced letters joined. See the module docstring for each step."""
    if text.isascii():
        return _spacing(text.lower())
    out = _before_t2s(text)
    if _MAYBE_TRADITIONAL.search(out):
        out = _T2S.convert(out)
    return _spacing(_after_t2s(out))


def normalize_many(texts: list[str]) -> list[str]:
    """``[normalize(t) for t in texts]`` for a batch, reading the batch's characters in numpy first: a regex search
    costs ~1,000 instructions before it reads a character, and per message normalization asks several. One table
    lookup per character tells which texts hold an invisible, combinable or look-alike character (most hold none, and
    skip those steps) and which have single letters spaced apart; OpenCC is called once for all the texts."""
    if len(texts) < 16:  # numpy's fixed costs outweigh what it saves
        return [normalize(t) for t in texts]
    import numpy as np  # here: the rules module normalizes single messages without numpy

    out = [t.lower() if t.isascii() else t for t in texts]
    other = [i for i, t in enumerate(texts) if not t.isascii()]
    if other:
        flags = _flags_per_text([texts[i] for i in other], _char_flags()[0], np)
        for i, f in zip(other, flags, strict=True):
            out[i] = _before_t2s_flagged(texts[i], f)
        joined = _T2S_SEPARATOR.join([out[i] for i in other])
        if joined.count(_T2S_SEPARATOR) == len(other) - 1:
            converted = _T2S.convert(joined).split(_T2S_SEPARATOR)
        else:  # a text still holds the separator (it cannot after strip_invisible, but never guess)
            converted = [_T2S.convert(out[i]) for i in other]
        for i, c in zip(other, converted, strict=True):
            out[i] = _after_t2s(c)
    spaced = [i for i, o in enumerate(out) if " " in o or "\t" in o]
    if spaced:
        squeezed = [_squeeze(out[i]) for i in spaced]
        for i, sq, maybe in zip(spaced, squeezed, _maybe_spaced(squeezed, np), strict=True):
            out[i] = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), sq) if maybe else sq
    return out


_INVISIBLE_BIT, _COMBINABLE_BIT, _MAYBE_HOMOGLYPH_BIT = 1, 2, 4
_SPACE_BIT, _BLANK_BIT, _COLON_BIT, _PUNCT_BIT = 1, 2, 4, 8


@lru_cache(maxsize=1)
def _char_flags():
    """Two tables of bit flags, one entry per code point below U+10000 and one for all above: which of the classes
    normalize_many asks about a character is in (read off the regexes themselves, so the two agree)."""
    import numpy as np

    every = "".join(map(chr, range(0x10000)))
    unusual = np.zeros(0x10001, dtype=np.uint8)
    for rx, bit in ((_INVISIBLE_RE, _INVISIBLE_BIT), (_HAS_COMBINABLE, _COMBINABLE_BIT),
                    (_MAYBE_HOMOGLYPH, _MAYBE_HOMOGLYPH_BIT)):
        for m in re.finditer(f"(?:{rx.pattern})+", every):
            unusual[m.start() : m.end()] |= bit
    unusual[0x10000] = 0xFF  # above U+FFFF: ask the regexes
    spacing = np.zeros(0x10001, dtype=np.uint8)  # above U+FFFF: a visible character, not punctuation
    for rx, bit in ((" ", _SPACE_BIT), (r"\s", _BLANK_BIT), ("[:：]", _COLON_BIT), ("[,，.。!！?？;；]", _PUNCT_BIT)):
        for m in re.finditer(f"(?:{rx})+", every):
            spacing[m.start() : m.end()] |= bit
    return unusual, spacing


def _codes(texts: list[str], separator: str, np):
    """The code points of the texts joined by ``separator`` (capped to U+10000), and where each text starts."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    codes = np.frombuffer((separator.join(texts) + separator).encode("utf-32-le"), dtype=np.uint32)
    return np.minimum(codes, 0x10000), np.cumsum(lengths) - lengths


def _flags_per_text(texts: list[str], table, np) -> list[int]:
    codes, starts = _codes(texts, "\x00", np)
    return np.bitwise_or.reduceat(table[codes], starts).tolist()


def _before_t2s_flagged(text: str, flags: int) -> str:
    """:func:`_before_t2s` knowing which of the classes the text's characters are in. Stripping invisible characters
    only removes characters, so the flags still cover the text unless NFKC changes it."""
    out = strip_invisible(text) if flags & _INVISIBLE_BIT else text
    normalized = _nfkc(out)
    if normalized is not out:
        return _before_t2s(normalized)
    if flags & _COMBINABLE_BIT and _HAS_COMBINABLE.search(out):
        return _fold_homoglyphs(_strip_marks(out))
    return _fold_homoglyphs(out) if flags & _MAYBE_HOMOGLYPH_BIT else out


def _maybe_spaced(texts: list[str], np) -> list[bool]:
    """For each text, whether _MAYBE_SPACED (so _SPACED) finds something: a space between two characters that are each
    alone (whitespace or an end before the first), the second followed by a colon, or by an end or whitespace, maybe
    after one punctuation mark. The texts are joined by a line break, which stands for an end on either side."""
    _, table = _char_flags()
    codes, starts = _codes(texts, "\n", np)
    f = table[codes]
    blank = (f & _BLANK_BIT) != 0
    n = len(f)
    p = np.flatnonzero(f & _SPACE_BIT)
    p = p[(p >= 1) & (p + 1 < n)]
    p = p[~blank[p - 1] & ~blank[p + 1]]
    p = p[(p < 2) | blank[np.maximum(p - 2, 0)]]
    after = np.minimum(p + 2, n - 1)  # the last character is the separator (blank)
    after2 = np.minimum(p + 3, n - 1)
    ok = ((f[after] & _COLON_BIT) != 0) | blank[after] | (((f[after] & _PUNCT_BIT) != 0) & blank[after2])
    maybe = np.zeros(len(texts), dtype=bool)
    maybe[np.searchsorted(starts, p[ok], side="right") - 1] = True
    return maybe.tolist()


@lru_cache(maxsize=4096)
def normalize_cached(text: str) -> str:
    """``normalize`` for short strings seen again and again (keyword lists, stop words)."""
    return normalize(text)


if __name__ == "__main__":  # pragma: no cover - a quick manual probe: python -m shequn.moderation.normalize TEXT
    print(normalize(" ".join(sys.argv[1:])))
