"""item concepts, notes and the unique open line

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:00:00

Every item gets the concept it stands for (one identity across Hebrew, English and Arabic, from
the lexicon in router/data/items_*.tsv, or `~` and its loose words), a note, and the unit and
note as keys ('' for none) for the open line's unique index. Open lines that
now share a concept, unit and note are merged into the oldest (amounts added up, the others
marked removed), and a partial unique index keeps it that way. `item_questions` holds the
"which one did you mean?" questions the bot asks about list lines.

The lexicon is read here as data, with this revision's own copy of the normalization, so the
migration means the same thing whenever it runs, whatever the code becomes.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LEXICON = Path(__file__).resolve().parents[3] / "router" / "data"
_MARKS = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
                    "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
                    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و",
                       "ئ": "ي", "׳": "'", "’": "'", "‘": "'", "`": "'", "״": '"', "“": '"',
                       "”": '"'})
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _normalize(text: str) -> str:
    text = _MARKS.sub("", unicodedata.normalize("NFKC", text))
    text = text.translate(_FOLD).translate(_DIGITS).lower()
    text = re.sub(r"(\D)\1{2,}", r"\1\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _loose(name: str) -> str:
    text = _normalize(name)
    for lead in ("the ", "some ", "a ", "an "):
        if text.startswith(lead) and len(text) > len(lead) + 1:
            text = text[len(lead):]
            break
    words = []
    for word in text.split():
        for article in ("وال", "بال", "ال"):
            if word.startswith(article) and len(word) - len(article) >= 3:
                word = word[len(article):]
                break
        if word.isascii():
            if len(word) > 4 and word.endswith("ies"):
                word = word[:-3] + "y"
            elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
        elif len(word) >= 5 and word[-2:] in ("ים", "ות", "ات"):
            word = word[:-2]
        elif len(word) >= 4 and word[-1] in "הه":
            word = word[:-1]
        words.append(word)
    return " ".join(words)


def _concepts() -> dict[str, str]:
    spellings: dict[str, str] = {}
    for lang in ("he", "en", "ar"):
        path = _LEXICON / f"items_{lang}.tsv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                name = (row.get("name") or "").strip()
                if not name:
                    continue
                concept = (row.get("concept") or "").strip() or name
                for spelling in [name, *(row.get("variants") or "").split(",")]:
                    if _normalize(spelling):
                        spellings.setdefault(_normalize(spelling), concept)
    return spellings


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
    spellings = _concepts()
    rows = connection.execute(sa.select(items.c.id, items.c.name, items.c.key,
                                        items.c.group_id, items.c.unit, items.c.quantity,
                                        items.c.status).order_by(items.c.id)).all()
    survivors: dict[tuple[int, str, str], tuple[int, float | None]] = {}
    for row in rows:
        concept = (spellings.get(_normalize(row.key)) or spellings.get(_normalize(row.name))
                   or "~" + _loose(row.name))
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
