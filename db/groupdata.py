"""Everything the store keeps about one group: read whole for `/export`, deleted for `/forget`.

A group's data is its row and every row with its `group_id`: its lists and their lines, their
history (changes and their undo), the questions the bot asked about lines, recipe offers,
invite codes, members, the chats bound to it (with the dialogue state they hold: the question
asked, an awaited answer), suggestions, its bug reports and the LLM fallback texts of its
messages (`fallback_decisions.group_id`, migration 0007).
Users (a name and a language per Telegram user, shared by every group they are in) are not a
group's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Action, Base, Group, Invite, Item, Member, ShoppingList, User

__all__ = ["GroupData", "erase_group", "read_group"]


@dataclass(frozen=True, slots=True)
class GroupData:
    """One group's rows, oldest first, with the names of the people they mention."""

    group: Group
    members: list[tuple[Member, User | None]]
    items: list[Item]
    actions: list[Action]
    invites: list[Invite]
    names: dict[int, str]
    lists: list[ShoppingList]


async def read_group(session: AsyncSession, group_id: int) -> GroupData | None:
    """The group's data for an export; None when there is no such group."""
    group = await session.get(Group, group_id)
    if group is None:
        return None
    joined = await session.execute(
        select(Member, User).join(User, User.user_id == Member.user_id, isouter=True)
        .where(Member.group_id == group_id).order_by(Member.joined_at, Member.id))
    members: list[tuple[Member, User | None]] = [(member, user) for member, user in joined]
    items = list((await session.execute(
        select(Item).where(Item.group_id == group_id).order_by(Item.id))).scalars())
    actions = list((await session.execute(
        select(Action).where(Action.group_id == group_id).order_by(Action.id))).scalars())
    invites = list((await session.execute(
        select(Invite).where(Invite.group_id == group_id).order_by(Invite.id))).scalars())
    lists = list((await session.execute(
        select(ShoppingList).where(ShoppingList.group_id == group_id)
        .order_by(ShoppingList.id))).scalars())
    people = ({item.added_by for item in items} | {action.user_id for action in actions}
              | {member.user_id for member, _user in members})
    users = (await session.execute(select(User).where(User.user_id.in_(people)))).scalars()
    names = {user.user_id: user.display_name for user in users}
    return GroupData(group, members, items, actions, invites, names, lists)


async def erase_group(session: AsyncSession, group_id: int) -> dict[str, int]:
    """Delete the group and every row of it; the number of rows deleted per table.

    Every table with a `group_id` column is the group's (lines, lists, history, questions,
    offers, invites, members, chats, bug reports, suggestions, fallback texts, and whatever
    a later migration adds the same way); dependants go before what they reference, the
    group row last, so a database that enforces foreign keys never objects.
    """
    counts: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == Group.__tablename__ or "group_id" not in table.c:
            continue
        result = await session.execute(delete(table).where(table.c.group_id == group_id))
        counts[table.name] = int(getattr(result, "rowcount", 0) or 0)
    result = await session.execute(delete(Group).where(Group.id == group_id))
    counts[Group.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
    # The rows are gone behind the session's back: nothing it holds may be written again.
    session.expunge_all()
    return counts
