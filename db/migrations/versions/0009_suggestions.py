"""suggestions from habit: a group's switch, its next look, and what was suggested

Revision ID: 0009
Revises: 0008 (0007 until the several-lists migration is in the tree)
Create Date: 2026-12-01 05:40:00

`groups.suggestions` turns suggestions from habit on or off for a group (on by default);
`groups.suggest_due_at` is when the group's habits are next looked at (NULL: at the next
tick), claimed with `FOR UPDATE SKIP LOCKED` as digests are (bot/suggestions.py). A row of
`suggestions` is one item suggested in one cycle (the purchase it follows); its unique key
makes a second suggestion of the same cycle a no-op, whichever process tries.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009"
# 0008 (several lists) is another engineer's and may land after this file: chain after it
# when it is there, so the tree never has two heads.
down_revision = "0008" if any(Path(__file__).parent.glob("0008_*.py")) else "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("suggest_due_at IS NOT NULL")


def upgrade() -> None:
    # Plain ADD COLUMN, no batch copy: rebuilding `groups` would trip the foreign keys of
    # every table that points at it.
    op.add_column("groups", sa.Column("suggestions", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.add_column("groups", sa.Column("suggest_due_at", sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        "suggestions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("group_id", Id, sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("concept", sa.String(200), nullable=False),
        sa.Column("cycle", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_id", "concept", "cycle"),
    )
    op.create_index("ix_suggestions_group_id", "suggestions", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_suggestions_group_id", table_name="suggestions")
    op.drop_table("suggestions")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("suggest_due_at")
        batch.drop_column("suggestions")
