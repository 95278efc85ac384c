"""recipe offers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recipe_offers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recipe_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recipe_offers_group_id"), ["group_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recipe_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recipe_offers_group_id"))
    op.drop_table("recipe_offers")
