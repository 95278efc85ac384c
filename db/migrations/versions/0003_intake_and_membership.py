"""the durable inbox of Telegram updates and membership changes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("update_id"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_chat_update", ["chat_id", "update_id"], unique=False)
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("removed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("removed_by")
        batch_op.drop_column("joined_via")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("gone_at")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_chat_update")
    op.drop_table("inbox")
