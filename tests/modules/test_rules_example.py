"""The example playbook, backtested over a small hand-made WeChat history: ads outside the ad window,
the escalation ladder, zero tolerance for a tagged member's QR code, flooding, and a captcha nobody answered."""

from __future__ import annotations

import json

from shequn.playbook.loader import EXAMPLES


def line(i: int, at: str, who: str, text: str | None = None, kind: str = "message", group: str = "闲聊群", **payload) -> str:
    doc = {"id": f"e{i}", "at": f"2024-05-06T{at}+08:00", "kind": kind, "group": group, "platform": "wechat", "member": who, "member_name": who}
    if text is not None:
        doc["text"] = text
    if payload:
        doc["payload"] = payload
    return json.dumps(doc, ensure_ascii=False)


HISTORY = [
    line(1, "09:00:00", "小明", kind="join", group="开源学习营 1 群"),
    line(2, "10:00:00", "广告哥", "加V：abc12345 领优惠"),
    line(3, "12:30:00", "广告哥", "午间福利 https://shop.example.com"),  # inside the 12:00-13:00 ad window
    line(4, "14:00:00", "广告哥", "薇信 abc12345"),
    line(5, "15:00:00", "广告哥", "详情 www.example.com/deal"),
    line(6, "16:00:00", "广告哥", None, media="image", qr_code="https://u.wechat.com/xyz"),
    *[line(10 + i, f"17:00:0{i}", "话痨", f"第{i}条消息哈哈哈") for i in range(6)],
]


def test_example_playbook_backtest_explains_every_decision(cli, tmp_path):
    history = tmp_path / "history.jsonl"
    history.write_text("\n".join(HISTORY) + "\n", encoding="utf-8")
    cli("import", "jsonl", str(history), "--community", "开源学习营")
    example = str(EXAMPLES / "community.yaml")
    doc = cli.json("backtest", example, "--json")
    rules = {r["rule"]: r for r in doc["rules"]}
    assert rules["禁止广告"]["fired"] == 3 * 3 and rules["禁止广告"]["members"] == 1  # delete + warn + tag, three times
    assert rules["禁止广告"]["examples"][0]["reason"] == "本群仅 12:00-13:00 可发广告 / ads only 12:00-13:00: contains a contact handle: 加v, v:abc12345; not during 12:00-13:00"
    people = {m["name"]: m for m in doc["members"]}
    spammer = people["广告哥"]
    assert spammer["warnings"] == 3 and spammer["actions"]["mute"] == 1 and spammer["actions"]["ban"] == 1
    assert spammer["escalations"] == ["3rd warning in 7 days -> mute 1 day"]
    # in the ad window the link is allowed, but a newcomer's 2nd message that scores as spam goes to the admins
    assert spammer["rules_broken"] == {"禁止广告": 3, "新人疑似广告": 1, "屡教不改": 1}
    held = next(r for r in spammer["reasons"] if r["rule"] == "新人疑似广告")
    assert held["reason"].startswith("message 2 of the member's first 3; spam score ")
    ban = next(r for r in spammer["reasons"] if r["kind"] == "ban")
    assert ban == {"kind": "ban", "rule": "屡教不改", "reason": "tag 广告嫌疑; contains a QR code: https://u.wechat.com/xyz"}
    flood = people["话痨"]
    assert flood["actions"] == {"mute": 1, "reply": 1}
    assert next(r for r in flood["reasons"] if r["kind"] == "mute")["reason"] == "6 messages in 30 seconds"
    assert people["小明"]["gates"]["captcha"] == "failed: did not answer the captcha within 5 minutes"
    text = cli("backtest", example).stdout
    assert "would have been muted, kicked or banned" in text
    assert "广告哥 (wechat:广告哥)" in text and "小明 (wechat:小明): kick by gate:captcha" in text
