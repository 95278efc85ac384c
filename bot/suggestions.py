"""Suggestions from habit, looked for in the database and sent once, whichever process sends.

Each group's next look is `groups.suggest_due_at` (NULL: never looked at); every bot process
ticks (PTB's JobQueue, every `TICK_SECONDS`) and claims the groups whose look is due with
`FOR UPDATE SKIP LOCKED`, records what it suggests (one row per group, item and cycle, a
unique key) and sets the next look in the same transaction, so two processes never suggest
the same thing and a look due while no process ran happens after the next start. The rules
are in handlers/suggestions.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.jobs import Send
from db.history import claim_due_suggestions
from db.store import UnitOfWorkFactory, utcnow
from handlers.reply import Reply
from handlers.suggestions import collect_suggestions

__all__ = ["BATCH", "TICK_SECONDS", "send_due_suggestions"]

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
BATCH = 50



async def send_due_suggestions(uow: UnitOfWorkFactory, send: Send, now: datetime | None = None,
                               batch: int = BATCH) -> int:
    """Claim the groups due a look now, suggest what is due; the number of groups claimed.
    A group being changed right now is left for the next tick."""
    claimed = 0
    while True:
        moment = now or utcnow()
        async with uow() as unit:
            group_ids = await claim_due_suggestions(unit.session, moment, batch)
            out: list[tuple[int, Reply]] = []
            for group_id in group_ids:
                if await unit.groups.try_lock(group_id):
                    out.extend(await collect_suggestions(unit, group_id, moment))
            await unit.commit()
        claimed += len(group_ids)
        for chat_id, reply in out:
            try:
                await send(chat_id, reply)
            except Exception as error:  # a blocked bot, a deleted chat: the next one goes on
                log.warning("suggestion to chat %s not sent: %s", chat_id,
                            type(error).__name__)
        if len(group_ids) < batch:
            return claimed
