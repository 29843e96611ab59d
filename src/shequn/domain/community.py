"""Community structure: the kinds of groups an operator runs and the roles members hold."""

from __future__ import annotations

from enum import StrEnum


class GroupKind(StrEnum):
    ACQUISITION = "acquisition"  # 拉新群
    RETENTION = "retention"  # 留存群
    SHARING = "sharing"  # 分享群 (ambassadors)
    COURSE = "course"  # 课程群
    VIP = "vip"  # 会员群
    DEALS = "deals"  # 福利群
    OTHER = "other"


class Role(StrEnum):
    OWNER = "owner"  # 群主
    ADMIN = "admin"  # 管理员
    KOL = "kol"
    ASSISTANT = "assistant"  # 小助手
    MEMBER = "member"


DEFAULT_TIMEZONE = "Asia/Shanghai"
