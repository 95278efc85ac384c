"""A group's named lists (migration 0008). The default list is no row: `list_id` 0."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Item, ItemStatus, Member, ShoppingList
from db.store import utcnow

__all__ = ["ListRepo"]


class ListRepo:
    """Named lists: create, rename, delete and bring back, and each member's current one.

    A live list's key is unique in its group (`uq_lists_live_key`): two members creating
    "party" at once make one list, the second told it exists.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def live(self, group_id: int) -> Sequence[ShoppingList]:
        rows = await self.session.execute(
            select(ShoppingList).where(ShoppingList.group_id == group_id,
                                       ShoppingList.deleted_at.is_(None))
            .order_by(ShoppingList.id))
        return rows.scalars().all()

    async def get(self, list_id: int) -> ShoppingList | None:
        return await self.session.get(ShoppingList, list_id, populate_existing=True)

    async def create(self, group_id: int, name: str, key: str, concept: str,
                     user_id: int) -> ShoppingList | None:
        """A new live list; None when the group already has a live list of that key."""
        row = ShoppingList(group_id=group_id, name=name[:64], key=key[:64],
                           concept=concept[:100], created_by=user_id, created_at=utcnow())
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            return None
        return row

    async def rename(self, list_id: int, name: str, key: str, concept: str) -> bool:
        """False when another live list of the group has that key."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    update(ShoppingList).where(ShoppingList.id == list_id)
                    .values(name=name[:64], key=key[:64], concept=concept[:100]))
        except IntegrityError:
            return False
        return True

    async def set_deleted(self, list_id: int, deleted: bool) -> bool:
        """Delete a live list, or bring a deleted one back (False when its key is taken
        meanwhile, or it already was in that state)."""
        try:
            async with self.session.begin_nested():
                result = await self.session.execute(
                    update(ShoppingList)
                    .where(ShoppingList.id == list_id,
                           ShoppingList.deleted_at.is_(None) if deleted
                           else ShoppingList.deleted_at.is_not(None))
                    .values(deleted_at=utcnow() if deleted else None))
        except IntegrityError:
            return False
        return bool(getattr(result, "rowcount", 0))

    async def set_current(self, member_id: int, list_id: int) -> None:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(list_id=list_id))

    async def leave(self, group_id: int, list_id: int) -> None:
        """Members whose current list goes away are back on the default list."""
        await self.session.execute(
            update(Member).where(Member.group_id == group_id, Member.list_id == list_id)
            .values(list_id=0))

    async def open_counts(self, group_id: int) -> dict[int, int]:
        """Open lines per list of a group (lists without any are absent)."""
        rows = await self.session.execute(
            select(Item.list_id, func.count()).where(Item.group_id == group_id,
                                                     Item.status == ItemStatus.OPEN)
            .group_by(Item.list_id))
        return {int(list_id): int(count) for list_id, count in rows.all()}
