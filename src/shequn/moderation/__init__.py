"""Built-in ad/spam detection (广告/垃圾信息识别) for Chinese and English chat messages.

- :mod:`shequn.moderation.normalize` — one canonical text (full-width, traditional, homoglyphs, zero-width, spaced letters);
- :mod:`shequn.moderation.patterns` — links, phone numbers and contact handles, found on the canonical text;
- :mod:`shequn.moderation.detector` — the named checks combined into one explained verdict (``Detector``).
"""
