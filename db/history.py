"""The list's history read back from its recorded changes: who added what, what was bought
when, and the state of suggestions from habit.

Every change records, line by line, what it did (`actions.undo`: an add put an amount on a
line, a tick or a clear bought it). Changes that were undone are not history. Nothing here is
a new record of purchases: the changes already are one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Action, ActionKind, Chat, Group, Item, ItemStatus, Suggestion
from db.store import _insert, as_utc

__all__ = ["ADDS", "BUYS", "REMOVES", "Event", "already_suggested", "claim_due_suggestions",
           "events", "open_concepts", "private_chats", "record_suggestion", "suggestion"]

# The kinds of change that bought lines, the one that adds them, the one that removes them.
BUYS = (ActionKind.TICK, ActionKind.CLEAR, ActionKind.PARTIAL)
ADDS = (ActionKind.ADD,)
REMOVES = (ActionKind.REMOVE,)


@dataclass(frozen=True, slots=True)
class Event:
    """One line's part in one change: `added`, `bought` or `removed`, by whom, when."""

    kind: str
    action_id: int
    item_id: int
    concept: str
    name: str
    label: str
    user_id: int
    at: datetime
    tick: bool  # bought by a tick on the list (the order of ticks is the aisle order)


def _events_of(action: Action) -> list[Event]:
    out: list[Event] = []
    for entry in action.undo or ():
        if not isinstance(entry, dict) or "id" not in entry:
            continue
        op = entry.get("op")
        if action.kind in ADDS and op in ("create", "add"):
            kind = "added"
        elif action.kind in BUYS and op == "status" and entry.get("after") == "bought":
            kind = "bought"
        elif action.kind in REMOVES and op == "status" and entry.get("after") == "removed":
            kind = "removed"
        else:
            continue
        out.append(Event(kind, action.id, int(entry["id"]), str(entry.get("concept", "")),
                         str(entry.get("name", "")), str(entry.get("label", "")),
                         action.user_id, as_utc(action.created_at),
                         action.kind == ActionKind.TICK))
    return out


async def events(session: AsyncSession, group_id: int, since: datetime | None = None,
                 until: datetime | None = None, kinds: Sequence[str] = (*ADDS, *BUYS),
                 concepts: Sequence[str] | None = None) -> list[Event]:
    """The adds and purchases of a group's lines, oldest first, leaving out undone changes;
    only those of `concepts` when given."""
    query = select(Action).where(Action.group_id == group_id, Action.undone_at.is_(None),
                                 Action.kind.in_(list(kinds)))
    if since is not None:
        query = query.where(Action.created_at >= since)
    if until is not None:
        query = query.where(Action.created_at < until)
    rows = (await session.execute(query.order_by(Action.id))).scalars().all()
    wanted = set(concepts) if concepts is not None else None
    return [event for action in rows for event in _events_of(action)
            if wanted is None or event.concept in wanted]


async def claim_due_suggestions(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Groups whose habits are due a look (never looked at, or their time has come), with
    suggestions on; locked until the transaction ends, and groups another process holds are
    skipped (FOR UPDATE SKIP LOCKED), as digests are claimed."""
    rows = await session.execute(
        select(Group.id).where(Group.suggestions.is_(True),
                               or_(Group.suggest_due_at.is_(None), Group.suggest_due_at <= now))
        .order_by(Group.id).limit(limit).with_for_update(skip_locked=True))
    return [int(group_id) for group_id in rows.scalars().all()]


async def already_suggested(session: AsyncSession, group_id: int, concept: str,
                            cycle: int) -> bool:
    row = await session.execute(
        select(Suggestion.id).where(Suggestion.group_id == group_id,
                                    Suggestion.concept == concept, Suggestion.cycle == cycle))
    return row.first() is not None


async def record_suggestion(session: AsyncSession, group_id: int, concept: str, cycle: int,
                            name: str, days: float, now: datetime) -> int | None:
    """Keep a suggestion; None when this cycle's was already made (by anyone)."""
    statement: Any = _insert(session)(Suggestion).values(
        group_id=group_id, concept=concept, cycle=cycle, name=name[:200], days=days,
        created_at=now).on_conflict_do_nothing(index_elements=["group_id", "concept", "cycle"])
    result = await session.execute(statement.returning(Suggestion.id))
    found = result.scalar_one_or_none()
    return int(found) if found is not None else None


async def open_concepts(session: AsyncSession, group_id: int) -> set[str]:
    """What is open on any of the group's lists (a suggestion of it would be noise)."""
    rows = await session.execute(
        select(Item.concept).where(Item.group_id == group_id, Item.status == ItemStatus.OPEN))
    return {str(concept) for concept in rows.scalars().all()}


async def suggestion(session: AsyncSession, suggestion_id: int) -> Suggestion | None:
    return await session.get(Suggestion, suggestion_id)


async def private_chats(session: AsyncSession, group_id: int) -> Sequence[Chat]:
    """The private chats that act on a group (a personal list's owner's)."""
    rows = await session.execute(
        select(Chat).where(Chat.group_id == group_id, Chat.kind == "private",
                           Chat.gone_at.is_(None)).order_by(Chat.chat_id))
    return rows.scalars().all()
