"""SQLAlchemy Core tables. Timestamps are UTC epoch milliseconds (BIGINT) so that analytics can
bucket and compare them without parsing; ``shequn.domain.events.from_ms`` turns them back.

Events are append-only and unique per (group, platform_id): a group belongs to one platform, so
this is the "platform + group + the platform's own id" idempotency key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("name", String(500), nullable=False),
    Column("kind", String(32), nullable=False, server_default="other"),
    Column("capacity", Integer, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("community_id", "platform", "external_id", name="uq_groups_platform_external"),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("display_name", String(500), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("display_name", String(500), nullable=False),
    Column("is_bot", Boolean, nullable=False, server_default="0"),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    UniqueConstraint("community_id", "platform", "external_id", name="uq_identities_platform_external"),
)

member_roles = Table(
    "member_roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("group_id", Integer, ForeignKey("groups.id"), nullable=True),  # NULL: community-wide
    Column("role", String(32), nullable=False),
    UniqueConstraint("member_id", "group_id", "role", name="uq_member_roles_member_group_role"),
)

member_tags = Table(
    "member_tags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("tag", String(200), nullable=False),
    Column("source", String(200), nullable=False, server_default="operator"),  # rule or operator that set it
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("member_id", "tag", name="uq_member_tags_member_tag"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("group_id", Integer, ForeignKey("groups.id"), nullable=False),
    Column("identity_id", Integer, ForeignKey("identities.id"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("platform_id", String(500), nullable=False),
    Column("reply_to", String(500), nullable=True),
    Column("text", Text, nullable=True),
    Column("payload", JSON(none_as_null=True), nullable=True),
    UniqueConstraint("group_id", "platform_id", name="uq_events_group_platform_id"),
    Index("ix_events_community_at", "community_id", "at_ms"),
    Index("ix_events_group_at", "group_id", "at_ms"),
    Index("ix_events_identity", "identity_id"),
)

actions = Table(
    "actions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("group_id", Integer, ForeignKey("groups.id"), nullable=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=True),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", JSON, nullable=True),
    Column("status", String(16), nullable=False, server_default="pending"),  # pending / sent / failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_ms", BigInteger, nullable=False),
    Column("sent_ms", BigInteger, nullable=True),
    Index("ix_actions_status", "status"),
)

module_state = Table(
    "module_state",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id"), primary_key=True),
    Column("module", String(100), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("value", JSON, nullable=True),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("format", String(32), nullable=False),
    Column("paths", JSON, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger, nullable=True),
    Column("added", Integer, nullable=False, server_default="0"),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
)

import_rejects = Table(
    "import_rejects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False, index=True),
    Column("source", String(1000), nullable=False),
    Column("location", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=True),
)

# --- growth (issue 5): points mall 积分商城, lotteries 抽奖 and red packets 红包 — migration 0004_growth ---
# Referral (裂变) keeps its state in module_state (module "referral"), so it replays in a backtest.
from sqlalchemy import CheckConstraint  # noqa: E402 - kept inside the growth block (additive edit)

mall_items = Table(
    "mall_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("sku", String(200), nullable=False),  # what operators type: `shequn mall redeem 42 mug`
    Column("title", String(500), nullable=False),
    Column("price", Integer, nullable=False),  # in points
    Column("stock", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("community_id", "sku", name="uq_mall_items_community_sku"),
    CheckConstraint("stock >= 0", name="ck_mall_items_stock_nonnegative"),  # the last line of defence against overselling
    CheckConstraint("price >= 0", name="ck_mall_items_price_nonnegative"),
)

mall_redemptions = Table(
    "mall_redemptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("item_id", Integer, ForeignKey("mall_items.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("code", String(32), nullable=False, unique=True),  # 兑换码, from `secrets`
    Column("price", Integer, nullable=False),  # what was paid (prices change; refunds return this)
    Column("status", String(16), nullable=False),  # issued / written_off / refunded
    Column("created_ms", BigInteger, nullable=False),
    Column("written_off_ms", BigInteger, nullable=True),
    Column("written_off_by", String(200), nullable=True),
    Column("refunded_ms", BigInteger, nullable=True),
    Column("refund_reason", Text, nullable=True),
)

lotteries = Table(
    "lotteries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # draw / redpacket
    Column("status", String(16), nullable=False),  # open / drawn
    Column("seed_hash", String(64), nullable=False),  # sha256 of the seed, published before entries close
    Column("seed", String(200), nullable=True),  # NULL when the operator holds the seed until the draw
    Column("config", JSON, nullable=False),  # prizes, limits, eligibility / total, shares, minimum
    Column("result", JSON, nullable=True),  # the published record once drawn
    Column("created_ms", BigInteger, nullable=False),
    Column("closes_ms", BigInteger, nullable=True),
    Column("drawn_ms", BigInteger, nullable=True),
    UniqueConstraint("community_id", "name", name="uq_lotteries_community_name"),
)

lottery_entries = Table(
    "lottery_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("lottery_id", Integer, ForeignKey("lotteries.id"), nullable=False, index=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("member_entry", Integer, nullable=False),  # 1..per-member limit: the unique key enforces the limit
    Column("share", Integer, nullable=True),  # red packets: index of the share this grab took
    Column("amount", Integer, nullable=True),  # red packets: the amount of that share
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("lottery_id", "member_id", "member_entry", name="uq_lottery_entries_member_entry"),
    UniqueConstraint("lottery_id", "share", name="uq_lottery_entries_share"),
)
# --- end growth ---

# --- points (issue 5): ledger 积分账本 — migration 0003_points ---
# Double-entry: every transaction has two entries that sum to zero (the member's account and a counter
# account such as issuance, mall, adjustment, expiry). Transactions and entries are append-only; the
# balances table is a materialised, rebuildable sum of the entries (shequn.points.ledger.rebuild_balances).
points_transactions = Table(
    "points_transactions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("key", String(300), nullable=False),  # idempotency key, e.g. "msg:<event id>"
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("account", String(64), nullable=False),  # the member's account ("points")
    Column("counter", String(64), nullable=False),  # the other side: issuance / mall / adjustment / expiry ...
    Column("amount", BigInteger, nullable=False),  # + credits the member, - debits
    Column("rule", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=True),
    Column("at_ms", BigInteger, nullable=False),  # when it counts (the event's time), UTC ms
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("community_id", "key", name="uq_points_transactions_community_key"),
    Index("ix_points_transactions_member_at", "community_id", "member_id", "at_ms"),
    Index("ix_points_transactions_community_at", "community_id", "at_ms"),
)

points_entries = Table(
    "points_entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("transaction_id", BigInteger, ForeignKey("points_transactions.id"), nullable=False, index=True),
    Column("community_id", Integer, ForeignKey("communities.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=True),  # NULL on the counter side
    Column("account", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
)

points_balances = Table(
    "points_balances",
    metadata,
    Column("community_id", Integer, ForeignKey("communities.id"), primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("earned", BigInteger, nullable=False),  # lifetime sum from earning counters (levels use it)
)
# --- end points ---

# --- moderation (issue 4): ad/spam samples marked by operators and the retrained model — migration 0002_moderation ---
from sqlalchemy import LargeBinary  # noqa: E402  (kept inside this block so the capability blocks stay independent)

moderation_samples = Table(
    "moderation_samples",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("text_hash", String(64), nullable=False, unique=True),  # sha256 of the normalized text: duplicates ignored
    Column("text", Text, nullable=False),  # as the operator gave it
    Column("spam", Boolean, nullable=False),
    Column("source", String(500), nullable=False),  # the file (or "-") it came from
    Column("created_ms", BigInteger, nullable=False),
)

moderation_models = Table(
    "moderation_models",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("model", LargeBinary, nullable=False),  # shequn.moderation.model.SpamModel.to_bytes(); the newest row is used
    Column("spam_samples", Integer, nullable=False),  # operator samples it was trained with (besides the shipped corpus)
    Column("ham_samples", Integer, nullable=False),
    Column("metrics", JSON, nullable=False),  # cross-validated figures printed by `shequn moderation learn`
)
# --- end moderation ---
