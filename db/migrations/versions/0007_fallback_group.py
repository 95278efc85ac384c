"""the group an LLM fallback text came from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:10:00

`fallback_decisions.group_id` names the group whose message an LLM answer or a "did you mean"
choice was about, so `/forget` deletes a group's fallback texts with the rest of its data.
Rows stored before this migration have none and are deleted only by `shopbot feedback purge`.
No foreign key: a fallback row outlives nothing, it is deleted with its group.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fallback_decisions") as batch:
        batch.add_column(sa.Column(
            "group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.create_index("ix_fallback_decisions_group_id", ["group_id"])


def downgrade() -> None:
    with op.batch_alter_table("fallback_decisions") as batch:
        batch.drop_index("ix_fallback_decisions_group_id")
        batch.drop_column("group_id")
