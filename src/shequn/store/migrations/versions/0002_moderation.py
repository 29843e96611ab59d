"""moderation: operator-marked spam/ham samples and the retrained spam model

Revision ID: 0002_moderation
Revises: 0001
Create Date: 2026-11-22 22:00:00

Its own branch off the core schema. The model is a database blob so that SQLite and PostgreSQL
installations (and their backups) carry it with the samples it was trained on.
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_moderation"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "moderation_samples",
        sa.Column("id", _ID, nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spam", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_samples")),
        sa.UniqueConstraint("text_hash", name="uq_moderation_samples_text_hash"),
    )
    op.create_table(
        "moderation_models",
        sa.Column("id", _ID, nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("spam_samples", sa.Integer(), nullable=False),
        sa.Column("ham_samples", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_models")),
    )


def downgrade() -> None:
    op.drop_table("moderation_models")
    op.drop_table("moderation_samples")
