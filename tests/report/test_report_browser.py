"""The report in a real headless Chromium: it renders in both languages, the charts draw, and the page
makes no request at all (see tests/report/browser.py for how requests are observed)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from browser import require_chromium
from report_history import COMMUNITY, history
from matplotlib.image import imread

#: probes evaluated in the loaded page
PROBES = {
    "charts": "[...document.querySelectorAll('svg.chart')].map(s => ({h: s.getBoundingClientRect().height,"
              " shapes: s.querySelectorAll('path, rect, use').length}))",
    "zh_visible": "[...document.querySelectorAll('h2 [lang=zh-CN]')].filter(e => e.offsetParent !== null).length",
    "en_visible": "[...document.querySelectorAll('h2 [lang=en]')].filter(e => e.offsetParent !== null).length",
    "switch": "document.getElementById('lang-en').click(),"
              " [...document.querySelectorAll('h2 [lang=en]')].filter(e => e.offsetParent !== null).length",
    "zh_after_switch": "[...document.querySelectorAll('h2 [lang=zh-CN]')].filter(e => e.offsetParent !== null).length",
    "scripts": "document.scripts.length",
}


def _jsonl(path):
    """The conftest history as a Shequn JSONL export, so the browser test starts from an import."""
    with path.open("w", encoding="utf-8") as fh:
        for e in history():
            row = {"id": e.platform_id, "at": e.at.isoformat(), "kind": e.kind.value, "platform": e.group.platform,
                   "group": e.group.external_id, "group_name": e.group.name, "text": e.text, "reply_to": e.reply_to}
            if e.author:
                row.update(member=e.author.external_id, member_name=e.author.name, bot=e.author.is_bot)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _assert_no_network(page, html: str):
    assert page.remote_requests == [], f"the report made requests: {page.remote_requests}"
    assert page.csp_violations == [], f"the report tried to load something: {page.csp_violations}"
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I)  # nothing remote in CSS either


@pytest.mark.slow
def test_report_renders_draws_and_stays_offline(sqlite_cli, tmp_path):
    chromium = require_chromium()
    sqlite_cli("import", "jsonl", _jsonl(tmp_path / "history.jsonl"), "--community", COMMUNITY)
    full, weekly = tmp_path / "report.html", tmp_path / "weekly.html"
    sqlite_cli("report", "--out", full, "--since", "2024-02-26", "--until", "2024-03-18")
    sqlite_cli("report", "--weekly", "--out", weekly, "--until", "2024-03-18")

    page = chromium.load(full, screenshot=True, probes=PROBES)
    _assert_no_network(page, full.read_text(encoding="utf-8"))
    assert "社群报告" in page.dom and "Community report" in page.dom and "开源学习营" in page.dom
    assert page.values["scripts"] == 0
    # the CSS switch: Chinese first, English after a click on "English"
    assert page.values["zh_visible"] >= 8 and page.values["en_visible"] == 0
    assert page.values["switch"] >= 8 and page.values["zh_after_switch"] == 0
    # charts: actives, joins/leaves, heatmap, cohorts, pyramid, response time, sparklines; each drawn with shapes
    charts = page.values["charts"]
    assert len(charts) >= 7, charts
    assert all(c["h"] > 15 and c["shapes"] > 3 for c in charts), charts
    # the screenshot is a real picture: many colours, not a blank page
    pixels = imread(io.BytesIO(page.png), format="png")[..., :3]
    assert pixels.shape[0] > 1500 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert (pixels.min(axis=2) < 0.6).mean() > 0.02  # a fair share of ink, not only background

    page = chromium.load(weekly, probes={"charts": PROBES["charts"]})
    _assert_no_network(page, weekly.read_text(encoding="utf-8"))
    assert "周报" in page.dom and "Weekly report" in page.dom and "2024-W11" in page.dom
    assert len(page.values["charts"]) >= 3 and all(c["shapes"] > 3 for c in page.values["charts"])
    assert "<script" not in page.dom.lower()  # the hostile member name stayed text


def test_probe_sees_requests_a_page_makes(tmp_path):
    """Control: a page that fetches a stylesheet, an image and a font is caught, so 'no requests' above means something."""
    chromium = require_chromium()
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://cdn.example.com/x.css">'
        "<style>@font-face{font-family:f;src:url(https://fonts.example.com/f.woff2)} body{font-family:f}</style></head>"
        '<body>hi<img src="http://img.example.com/a.png"></body></html>',
        encoding="utf-8",
    )
    page = chromium.load(leaky)
    hosts = {re.sub(r"^https?://([^/]+)/.*$", r"\1", u) for u in page.remote_requests}
    assert {"cdn.example.com", "img.example.com"} <= hosts, page.requests
