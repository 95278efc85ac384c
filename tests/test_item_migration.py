"""Migration 0004 on a list written before items had concepts: identities filled in, and open
lines of one thing (a lost race, or spellings that now meet) merged into the oldest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from db.engine import make_engine, upgrade


async def test_old_lines_get_their_concept_and_duplicates_merge(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shopbot.db'}"
    await upgrade(url, "0003")
    engine = make_engine(url)
    now = datetime.now(UTC)
    old = [  # name, key (the old merge key), quantity, unit, status
        ("חלב", "חלב", 2.0, None, "open"),
        ("milk", "milk", 3.0, None, "open"),
        ("حليب", "حليب", None, None, "open"),
        ("עגבניות", "עגבניות", 1.0, "קילו", "open"),
        ("tomatoes", "tomatoes", 2.0, None, "open"),
        ("kombucha", "kombucha", None, None, "open"),
        ("לחם", "לחם", None, None, "bought"),
    ]
    async with engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO groups (title, kind, timezone, created_at) "
            "VALUES ('family', 'group', 'Asia/Jerusalem', :now)"), {"now": now})
        for name, key, quantity, unit, status in old:
            await connection.execute(text(
                "INSERT INTO items (group_id, name, key, quantity, unit, category, status, "
                "added_by, created_at, updated_at) VALUES (1, :name, :key, :quantity, :unit, "
                "'other', :status, 11, :now, :now)"),
                {"name": name, "key": key, "quantity": quantity, "unit": unit,
                 "status": status, "now": now})
    await engine.dispose()

    await upgrade(url)
    engine = make_engine(url)
    async with engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT name, concept, quantity, unit, status FROM items ORDER BY id"))).all()
    await engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("חלב", "milk", 5.0, None, "open"),  # 2 + 3; no amount adds nothing
        ("milk", "milk", 3.0, None, "removed"),
        ("حليب", "milk", None, None, "removed"),
        ("עגבניות", "tomatoes", 1.0, "קילו", "open"),  # another unit is another line
        ("tomatoes", "tomatoes", 2.0, None, "open"),
        ("kombucha", "~kombucha", None, None, "open"),
        ("לחם", "bread", None, None, "bought"),
    ]
