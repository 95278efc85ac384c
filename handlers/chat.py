"""Everything that is not a shopping request: greetings, thanks, help."""

from __future__ import annotations

from db.store import UnitOfWork
from handlers.common import resolve
from handlers.reply import Reply
from router.types import ChatKind, Routed

__all__ = ["handle_other", "help_reply"]


def help_reply(lang: str) -> Reply:
    """What the bot can do, with the commands."""
    return Reply("help", lang)


async def handle_other(msg: Routed, uow: UnitOfWork) -> Reply:
    """Chit-chat: silence in a group (families talk), a short pointer in private."""
    await resolve(msg.incoming, uow)
    if msg.incoming.chat_kind is ChatKind.GROUP and not msg.incoming.addressed:
        return Reply.silent(msg.lang)
    return Reply("other", msg.lang)
