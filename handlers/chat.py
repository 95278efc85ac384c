"""Everything that is not a shopping request: greetings, thanks, help."""

from __future__ import annotations

from db.store import UnitOfWork
from handlers.common import command_args, resolve
from handlers.i18n import LANGUAGES
from handlers.reply import Reply
from router.types import ChatKind, Incoming, Routed

__all__ = ["handle_help", "handle_lang", "handle_other", "handle_start", "help_reply"]


def help_reply(lang: str) -> Reply:
    """What the bot can do, with the commands."""
    return Reply("help", lang)


async def handle_other(msg: Routed, uow: UnitOfWork) -> Reply:
    """Chit-chat: silence in a group (families talk), a short pointer in private."""
    await resolve(msg.incoming, uow)
    if msg.incoming.chat_kind is ChatKind.GROUP and not msg.incoming.addressed:
        return Reply.silent(msg.lang)
    return Reply("other", msg.lang)


async def handle_start(incoming: Incoming, uow: UnitOfWork, lang: str,
                       _admin: bool | None) -> Reply:
    """`/start`: the list this chat works on, by name (made on first contact)."""
    ctx = await resolve(incoming, uow)
    return Reply("start", lang, {"title": ctx.group.title})


async def handle_help(incoming: Incoming, uow: UnitOfWork, lang: str,
                      _admin: bool | None) -> Reply:
    """`/help`."""
    await resolve(incoming, uow)
    return help_reply(lang)


async def handle_lang(incoming: Incoming, uow: UnitOfWork, lang: str,
                      _admin: bool | None) -> Reply:
    """`/lang CODE`: the language the bot answers this user in, whatever they write in."""
    choice = command_args(incoming).lower()[:2]
    if choice not in LANGUAGES:
        return Reply("lang_usage", lang, {"languages": "|".join(LANGUAGES)})
    await resolve(incoming, uow)
    user = await uow.groups.user(incoming.user_id)
    if user is not None:
        user.language = choice
    return Reply("lang_set", choice)
