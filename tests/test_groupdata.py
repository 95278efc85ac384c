"""`/forget`'s deletion on SQLite and PostgreSQL (foreign keys enforced on both): every table
with a group_id loses the group's rows, other groups keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.groupdata import erase_group
from db.models import (
    Action,
    Base,
    BugReport,
    FallbackDecision,
    Invite,
    Item,
    ItemQuestion,
    RecipeOffer,
    ShoppingList,
    Suggestion,
)
from db.store import utcnow
from router.types import ChatKind, Incoming
from tests.support.postgres import migrated_store


def _rows(group_id: int, user_id: int) -> list[object]:
    now = utcnow()
    return [
        ShoppingList(group_id=group_id, name="pharmacy", key="pharmacy", concept="~pharmacy",
                     created_by=user_id, created_at=now),
        Item(group_id=group_id, name="milk", key="milk", concept="milk", added_by=user_id,
             created_at=now, updated_at=now),
        ItemQuestion(group_id=group_id, user_id=user_id, kind="which", payload={},
                     created_at=now),
        Action(group_id=group_id, user_id=user_id, kind="add", summary=[], undo=[],
               created_at=now),
        Invite(group_id=group_id, code=f"code{group_id}", created_by=user_id, created_at=now,
               expires_at=now),
        RecipeOffer(group_id=group_id, title="shakshuka", items=[], created_at=now),
        BugReport(group_id=group_id, chat_id=-group_id, user_id=user_id, text="broken",
                  created_at=now),
        FallbackDecision(group_id=group_id, text="hmm", lang="en", top=[], intents=[],
                         source="llm", created_at=now),
        Suggestion(group_id=group_id, concept="milk", cycle=1, name="milk", days=4.0,
                   created_at=now),
    ]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_forget_deletes_every_row_of_the_group_and_only_of_it(
        kind: str, tmp_path: Path) -> None:
    from handlers.common import resolve

    async with migrated_store(kind, tmp_path) as uow:
        groups = []
        for chat_id, user_id in ((-1001, 11), (-1002, 22)):
            async with uow() as unit:
                ctx = await resolve(Incoming(chat_id=chat_id, user_id=user_id, text="hi",
                                             chat_kind=ChatKind.GROUP, user_name="x",
                                             chat_title="Home"), unit)
                unit.session.add_all(_rows(ctx.group.id, user_id))
                await unit.commit()
                groups.append(ctx.group.id)
        async with uow() as unit:
            counts = await erase_group(unit.session, groups[0])
            await unit.commit()
        tables = [t for t in Base.metadata.sorted_tables if "group_id" in t.c]
        assert counts["groups"] == 1 and all(counts[t.name] >= 1 for t in tables), counts
        async with uow() as unit:
            for table in tables:
                left = await unit.session.scalar(
                    select(func.count()).select_from(table)
                    .where(table.c.group_id == groups[0]))
                kept = await unit.session.scalar(
                    select(func.count()).select_from(table)
                    .where(table.c.group_id == groups[1]))
                assert (table.name, left) == (table.name, 0)
                assert kept and kept >= 1, table.name
