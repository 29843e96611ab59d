"""points: the double-entry points ledger (transactions, entries, materialised balances)

Revision ID: 0003_points
Revises: 0001
Create Date: 2026-11-22 21:45:00

Its own branch off the core schema. Module state (streaks, caps, levels) lives in module_state.
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_points"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "points_transactions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("counter", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_points_transactions_community_id_communities")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_points_transactions_member_id_members")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_points_transactions_event_id_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_transactions")),
        sa.UniqueConstraint("community_id", "key", name="uq_points_transactions_community_key"),
    )
    op.create_index("ix_points_transactions_member_at", "points_transactions", ["community_id", "member_id", "at_ms"])
    op.create_index("ix_points_transactions_community_at", "points_transactions", ["community_id", "at_ms"])
    op.create_table(
        "points_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["transaction_id"], ["points_transactions.id"], name=op.f("fk_points_entries_transaction_id_points_transactions")),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_points_entries_community_id_communities")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_points_entries_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
    )
    op.create_index("ix_points_entries_transaction_id", "points_entries", ["transaction_id"])
    op.create_table(
        "points_balances",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_points_balances_community_id_communities")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_points_balances_member_id_members")),
        sa.PrimaryKeyConstraint("community_id", "member_id", "account", name=op.f("pk_points_balances")),
    )


def downgrade() -> None:
    op.drop_table("points_balances")
    op.drop_index("ix_points_entries_transaction_id", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_index("ix_points_transactions_community_at", table_name="points_transactions")
    op.drop_index("ix_points_transactions_member_at", table_name="points_transactions")
    op.drop_table("points_transactions")
