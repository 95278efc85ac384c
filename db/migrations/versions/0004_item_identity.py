"""item concepts, notes and the unique open line

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:00:00

Every item gets the concept it stands for (one identity across Hebrew, English and Arabic, from
the lexicon, or `~` and its loose words), a note, and the unit and
note as keys ('' for none) for the open line's unique index. Open lines that
now share a concept, unit and note are merged into the oldest (amounts added up, the others
marked removed), and a partial unique index keeps it that way. `item_questions` holds the
"which one did you mean?" questions the bot asks about list lines.

The lexicon is read here as data, frozen as it was for this revision
(db/migrations/data/0004_item_identity.json, with the words its loose form drops), with this
revision's own copy of the normalization, so the migration means the same thing whenever it
runs, whatever the lexicon and the code become.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DATA = Path(__file__).resolve().parents[1] / "data" / "0004_item_identity.json"
_MARKS = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
                    "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
                    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Arabic alef forms, alef maqsura, ta marbuta, hamza seats; Hebrew geresh/gershayim and
# typographic quotes.
_FOLD = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627",
                       "\u0671": "\u0627", "\u0649": "\u064a", "\u0629": "\u0647",
                       "\u0624": "\u0648", "\u0626": "\u064a", "\u05f3": "'", "\u2019": "'",
                       "\u2018": "'", "`": "'", "\u05f4": '"', "\u201c": '"', "\u201d": '"'})
# Arabic-Indic and Persian digits.
_DIGITS = str.maketrans("\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
                        "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9",
                        "01234567890123456789")


def _normalize(text: str) -> str:
    text = _MARKS.sub("", unicodedata.normalize("NFKC", text))
    text = text.translate(_FOLD).translate(_DIGITS).lower()
    text = re.sub(r"(\D)\1{2,}", r"\1\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


def _loose(name: str, data: dict[str, Any]) -> str:
    text = _normalize(name)
    for lead in data["leads"]:
        if text.startswith(lead) and len(text) > len(lead) + 1:
            text = text[len(lead):]
            break
    words = []
    for word in text.split():
        for article in data["articles"]:
            if word.startswith(article) and len(word) - len(article) >= 3:
                word = word[len(article):]
                break
        if word.isascii():
            if len(word) > 4 and word.endswith("ies"):
                word = word[:-3] + "y"
            elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
        elif len(word) >= 5 and word[-2:] in data["plural_suffixes"]:
            word = word[:-2]
        elif len(word) >= 4 and word[-1] in data["singular_endings"]:
            word = word[:-1]
        words.append(word)
    return " ".join(words)


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("concept", sa.String(length=200), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("note", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("unit_key", sa.String(length=32), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("note_key", sa.String(length=100), nullable=False,
                                      server_default=""))

    connection = op.get_bind()
    items = sa.table("items", sa.column("id", sa.Integer), sa.column("group_id", sa.Integer),
                     sa.column("name", sa.String), sa.column("key", sa.String),
                     sa.column("concept", sa.String), sa.column("unit", sa.String),
                     sa.column("unit_key", sa.String), sa.column("quantity", sa.Float),
                     sa.column("status", sa.String))
    data = _data()
    spellings: dict[str, str] = data["spellings"]
    rows = connection.execute(sa.select(items.c.id, items.c.name, items.c.key,
                                        items.c.group_id, items.c.unit, items.c.quantity,
                                        items.c.status).order_by(items.c.id)).all()
    survivors: dict[tuple[int, str, str], tuple[int, float | None]] = {}
    for row in rows:
        concept = (spellings.get(_normalize(row.key)) or spellings.get(_normalize(row.name))
                   or "~" + _loose(row.name, data))
        connection.execute(sa.update(items).where(items.c.id == row.id)
                           .values(concept=concept, unit_key=row.unit or ""))
        if row.status != "open":
            continue
        line = (row.group_id, concept, row.unit or "")
        if line not in survivors:
            survivors[line] = (row.id, row.quantity)
            continue
        # Two open lines of one thing (a lost race, or spellings that now meet): the oldest
        # keeps both amounts, the other is taken off, not deleted.
        first_id, first_quantity = survivors[line]
        if first_quantity is not None and row.quantity is not None:
            total: float | None = first_quantity + row.quantity
        else:
            total = first_quantity if first_quantity is not None else row.quantity
        survivors[line] = (first_id, total)
        connection.execute(sa.update(items).where(items.c.id == first_id)
                           .values(quantity=total))
        connection.execute(sa.update(items).where(items.c.id == row.id)
                           .values(status="removed"))

    # Plain columns (no expressions), so later batch migrations on SQLite keep the index.
    op.create_index("uq_items_open_line", "items",
                    ["group_id", "concept", "unit_key", "note_key"],
                    unique=True, sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))

    op.create_table(
        "item_questions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("item_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_questions_group_id"), ["group_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_questions_group_id"))
    op.drop_table("item_questions")
    op.drop_index("uq_items_open_line", table_name="items")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("note_key")
        batch_op.drop_column("unit_key")
        batch_op.drop_column("note")
        batch_op.drop_column("concept")
