"""The household: who is in it, its name, and leaving it."""

from __future__ import annotations

from db.store import UnitOfWork, utcnow
from handlers.common import resolve
from handlers.reply import Effect, EffectKind, Reply
from router.normalize import clean_text
from router.types import ChatKind, Routed

__all__ = ["handle_group_info", "handle_leave_group", "handle_rename_group", "rename_to"]

MAX_TITLE = 64


async def handle_group_info(msg: Routed, uow: UnitOfWork) -> Reply:
    """The group's name, its members and how much is on the list."""
    ctx = await resolve(msg.incoming, uow)
    members = await uow.groups.members(ctx.group.id)
    names = [user.display_name if user else str(member.user_id) for member, user in members]
    count = await uow.items.count_open(ctx.group.id)
    return Reply("group_info", msg.lang, {"title": ctx.group.title, "members": names,
                                          "count": count})


async def rename_to(msg: Routed, uow: UnitOfWork, name: str) -> Reply:
    """Give the group a new name (cleaned of invisible characters, at most 64 long)."""
    ctx = await resolve(msg.incoming, uow)
    title = clean_text(name)[:MAX_TITLE]
    if not title:
        return Reply("rename_ask", msg.lang)
    old = ctx.group.title
    ctx.group.title = title
    await uow.groups.set_awaiting(msg.incoming.chat_id, None, None)
    return Reply("renamed", msg.lang, {"old": old, "title": title})


async def handle_rename_group(msg: Routed, uow: UnitOfWork) -> Reply:
    """Rename to the given name, or ask for one and take the sender's next message."""
    if msg.entities.new_name:
        return await rename_to(msg, uow, msg.entities.new_name)
    await resolve(msg.incoming, uow)
    await uow.groups.set_awaiting(msg.incoming.chat_id, "rename", msg.incoming.user_id)
    return Reply("rename_ask", msg.lang)


async def handle_leave_group(msg: Routed, uow: UnitOfWork) -> Reply:
    """Leave the group; the items one added stay on the list for the others."""
    ctx = await resolve(msg.incoming, uow)
    if ctx.group.kind == "personal" and ctx.member.role == "owner":
        return Reply("cannot_leave_personal", msg.lang)
    ctx.member.active = False
    ctx.member.left_at = utcnow()
    title = ctx.group.title
    if msg.incoming.chat_kind is ChatKind.PRIVATE:
        # The private chat falls back to the member's own list on their next message.
        chat = await uow.groups.chat(msg.incoming.chat_id)
        if chat is not None:
            personal = await uow.groups.personal_group(msg.incoming.user_id)
            if personal is not None:
                chat.group_id = personal.id
    return Reply("left", msg.lang, {"title": title},
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))
