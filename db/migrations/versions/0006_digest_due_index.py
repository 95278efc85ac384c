"""an index on the groups whose digest is due

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:20:00

Every bot process looks once a second for groups whose digest is due (`groups.digest_due_at`,
bot/digests.py). Without an index that look reads every group; this partial index holds only
the groups with a digest pending, a handful at any moment, so the look costs the same for ten
families as for a hundred thousand, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = sa.text("digest_due_at IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_groups_digest_due", "groups", ["digest_due_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_groups_digest_due", table_name="groups")
