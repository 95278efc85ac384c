"""the question the bot last asked in a chat

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 01:00:00

`chats.question` holds the one question the bot last asked in a chat, so an answer in words
("yes", "the second one", "add them all") can be taken as pressing the matching button: whom
it asked, the message it was about, its language, when, and each option's button data, role
and label. NULL when nothing is asked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("question", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("question")
