"""Replies go out in each chat's order, after the change they report is committed.

Long polling applies a fetched batch of updates in one transaction (bot/intake.py), so an
update's reply may go out only once that transaction has committed: while a batch is open
(`HELD`), the sending is kept in the batch and handed to `Outbox.queue` after the commit,
or dropped with a rolled-back batch (whose updates are then applied again, one by one).
Each chat's sendings run one after another, in the order they were queued, different chats'
side by side, while the next batch is applied. A reply sent outside a batch (an update
applied on its own) waits for what is still queued for its chat, so it never overtakes an
earlier update's reply.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from contextvars import Context, ContextVar

__all__ = ["HELD", "OUTBOX_KEY", "Outbox", "Sending", "outbox_of"]

log = logging.getLogger(__name__)

Sending = Callable[[], Awaitable[None]]

# The sendings of the batch being applied, each with its chat; None outside a batch.
HELD: ContextVar[list[tuple[int, Sending]] | None] = ContextVar("shopbot_held", default=None)


# Sendings in flight at once. Each holds an HTTP connection, and the HTTP client's pool looks
# at every connection for every request: forty at once cost more CPU than they saved.
IN_FLIGHT = 8


class Outbox:
    """Per-chat queues of sendings (one process)."""

    def __init__(self, in_flight: int = IN_FLIGHT) -> None:
        self._tails: dict[int, asyncio.Future[None]] = {}
        self._slots = asyncio.Semaphore(in_flight)

    async def send(self, chat_id: int, sending: Sending) -> None:
        """Send now, or, inside a batch, once the batch has committed. Outside a batch the
        sending waits for the chat's queued ones and its errors reach the caller."""
        held = HELD.get()
        if held is not None:
            held.append((chat_id, sending))
            return
        tail = self._tails.get(chat_id)
        if tail is not None and not tail.done():
            await asyncio.shield(tail)
        await sending()

    def queue(self, sendings: list[tuple[int, Sending]]) -> None:
        """Start committed sendings: each after the earlier ones of its chat."""
        for chat_id, sending in sendings:
            previous = self._tails.get(chat_id)
            # A fresh context: nothing of the batch (its session) reaches the sending.
            task = asyncio.get_running_loop().create_task(
                self._after(previous, sending), name=f"outbox:{chat_id}", context=Context())
            self._tails[chat_id] = task
            task.add_done_callback(functools.partial(self._forget, chat_id))

    def _forget(self, chat_id: int, done: asyncio.Future[None]) -> None:
        if self._tails.get(chat_id) is done:
            del self._tails[chat_id]

    async def _after(self, previous: asyncio.Future[None] | None, sending: Sending) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            async with self._slots:
                await sending()
        except Exception:
            log.exception("a committed reply could not be sent")

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every queued sending (a stopping bot)."""
        tails = [tail for tail in self._tails.values() if not tail.done()]
        if tails:
            await asyncio.wait(tails, timeout=timeout)


OUTBOX_KEY = "outbox"


def outbox_of(bot_data: dict[str, object]) -> Outbox:
    """The process's outbox, kept in the application's `bot_data`."""
    box = bot_data.get(OUTBOX_KEY)
    if not isinstance(box, Outbox):
        box = bot_data[OUTBOX_KEY] = Outbox()
    return box
