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
