"""Digests that are due, claimed in the database and sent once, whichever process sends them.

A change to a list sets its group's `digest_due_at` a delay ahead (debounced: a later change
moves it); nothing about the schedule lives in process memory. Every bot process ticks once
a second (PTB's JobQueue) and claims due groups with `FOR UPDATE SKIP LOCKED`; the digests
are read and `digest_due_at` is cleared in the same transaction, so two processes never send
the same digest, and a digest due while no process ran goes out after the next start.
"""

from __future__ import annotations

import logging

from bot.jobs import Send
from bot.metrics import DIGESTS_SENT
from db.store import UnitOfWorkFactory, utcnow
from handlers.digest import collect_digests
from handlers.reply import Reply

__all__ = ["BATCH", "TICK_SECONDS", "send_due_digests"]

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# Groups claimed in one transaction; more wait for the next round of the same tick.
BATCH = 50



async def send_due_digests(uow: UnitOfWorkFactory, send: Send, batch: int = BATCH) -> int:
    """Claim what is due now and send it; the number of groups claimed.

    A group being changed right now (its lock held by a writer) is left for the next tick,
    so a digest never misses a change that commits a moment later, and claiming never
    waits on a writer.
    """
    claimed = 0
    while True:
        async with uow() as unit:
            group_ids = await unit.groups.claim_due_digests(utcnow(), batch)
            digests: list[tuple[int, Reply]] = []
            for group_id in group_ids:
                if await unit.groups.try_lock(group_id):
                    digests.extend(await collect_digests(unit, group_id))
            await unit.commit()
        claimed += len(group_ids)
        for chat_id, reply in digests:
            try:
                await send(chat_id, reply)
                DIGESTS_SENT.inc()
            except Exception as error:  # a blocked bot, a deleted chat: the next one goes on
                log.warning("digest to chat %s not sent: %s", chat_id, type(error).__name__)
        if len(group_ids) < batch:
            return claimed
