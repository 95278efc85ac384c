"""several lists per group

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:40:00

A group may keep named lists beside its default one ("pharmacy", "party"). `lists` holds the
named ones; `items.list_id` says which list a line is on, 0 for the default list, so every
line a group had before this revision stays where it was, with nothing to copy. The open
line's unique index moves to the list: one open line per (group, list, concept, unit, note).
`members.list_id` is the list a member's words act on (each member switches for themselves);
`actions.list_id` the list a change was made on, for digests.

Columns are added with plain ALTER TABLE (a constant default needs no table rebuild on
SQLite), and the partial unique index is dropped and made again around them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("status = 'open'")
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("concept", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lists_group_id", "lists", ["group_id"])
    op.create_index("uq_lists_live_key", "lists", ["group_id", "key"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    for table in ("items", "members", "actions"):
        op.add_column(table, sa.Column("list_id", ID, nullable=False, server_default="0"))
    op.drop_index("uq_items_open_line", table_name="items")
    op.create_index("uq_items_open_line", "items",
                    ["group_id", "list_id", "concept", "unit_key", "note_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    # One list per group again: lines of named lists are taken off (kept as rows), so the
    # old index holds.
    op.execute("UPDATE items SET status = 'removed' WHERE list_id <> 0 AND status = 'open'")
    op.drop_index("uq_items_open_line", table_name="items")
    for table in ("actions", "members", "items"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("list_id")
    op.create_index("uq_items_open_line", "items",
                    ["group_id", "concept", "unit_key", "note_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index("uq_lists_live_key", table_name="lists")
    op.drop_index("ix_lists_group_id", table_name="lists")
    op.drop_table("lists")
