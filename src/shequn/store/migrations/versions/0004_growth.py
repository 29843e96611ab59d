"""growth: points mall, lotteries and red packets

Revision ID: 0004_growth
Revises: 0001
Create Date: 2026-11-22 21:50:00

Its own branch off the core schema (every capability owns one); referral keeps its state in
module_state and needs no table.
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_growth"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mall_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("stock >= 0", name="ck_mall_items_stock_nonnegative"),
        sa.CheckConstraint("price >= 0", name="ck_mall_items_price_nonnegative"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_mall_items_community_id_communities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mall_items")),
        sa.UniqueConstraint("community_id", "sku", name="uq_mall_items_community_sku"),
    )
    op.create_table(
        "mall_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("written_off_ms", sa.BigInteger(), nullable=True),
        sa.Column("written_off_by", sa.String(length=200), nullable=True),
        sa.Column("refunded_ms", sa.BigInteger(), nullable=True),
        sa.Column("refund_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_mall_redemptions_community_id_communities")),
        sa.ForeignKeyConstraint(["item_id"], ["mall_items.id"], name=op.f("fk_mall_redemptions_item_id_mall_items")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_mall_redemptions_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mall_redemptions")),
        sa.UniqueConstraint("code", name=op.f("uq_mall_redemptions_code")),
    )
    op.create_index(op.f("ix_mall_redemptions_member_id"), "mall_redemptions", ["member_id"], unique=False)
    op.create_table(
        "lotteries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed_hash", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.String(length=200), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("closes_ms", sa.BigInteger(), nullable=True),
        sa.Column("drawn_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_lotteries_community_id_communities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lotteries")),
        sa.UniqueConstraint("community_id", "name", name="uq_lotteries_community_name"),
    )
    op.create_table(
        "lottery_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lottery_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("member_entry", sa.Integer(), nullable=False),
        sa.Column("share", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["lottery_id"], ["lotteries.id"], name=op.f("fk_lottery_entries_lottery_id_lotteries")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_lottery_entries_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_entries")),
        sa.UniqueConstraint("lottery_id", "member_id", "member_entry", name="uq_lottery_entries_member_entry"),
        sa.UniqueConstraint("lottery_id", "share", name="uq_lottery_entries_share"),
    )
    op.create_index(op.f("ix_lottery_entries_lottery_id"), "lottery_entries", ["lottery_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lottery_entries_lottery_id"), table_name="lottery_entries")
    op.drop_table("lottery_entries")
    op.drop_table("lotteries")
    op.drop_index(op.f("ix_mall_redemptions_member_id"), table_name="mall_redemptions")
    op.drop_table("mall_redemptions")
    op.drop_table("mall_items")
