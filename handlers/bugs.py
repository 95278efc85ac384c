"""Bug reports: stored, and forwarded to the admin chat by the bot."""

from __future__ import annotations

import re

from db.store import UnitOfWork
from handlers.common import resolve
from handlers.reply import Effect, EffectKind, Reply
from router.types import Routed

__all__ = ["handle_bug_report"]

_COMMAND = re.compile(r"^/bug(?:@\w+)?\s*", re.IGNORECASE)


async def handle_bug_report(msg: Routed, uow: UnitOfWork) -> Reply:
    """Store the report and ask the bot to forward it to the admin chat."""
    ctx = await resolve(msg.incoming, uow)
    text = _COMMAND.sub("", msg.incoming.text).strip()
    if not text:
        return Reply("bug_ask", msg.lang)
    report = await uow.log.add_bug(ctx.group.id, msg.incoming.chat_id, msg.incoming.user_id,
                                   text)
    return Reply("bug_thanks", msg.lang, {"id": report.id},
                 effects=(Effect(EffectKind.FORWARD_BUG, {
                     "id": report.id, "text": text, "user": msg.incoming.user_name,
                     "user_id": msg.incoming.user_id, "chat_id": msg.incoming.chat_id}),))
