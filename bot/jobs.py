"""The JobQueue callback for work claimed in the database (digests, suggestions): one claiming
round a tick, never two at once in a process — a tick that comes while the last one still
sends returns at once, and a failed round is logged and tried again at the next tick."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from db.store import UnitOfWorkFactory
from handlers.reply import Reply

__all__ = ["Send", "Ticker"]

log = logging.getLogger(__name__)

Send = Callable[[int, Reply], Awaitable[None]]


class Ticker:
    """Calls `job(uow, send)` on each tick unless the previous call is still running."""

    def __init__(self, job: Callable[[UnitOfWorkFactory, Send], Awaitable[object]],
                 uow: UnitOfWorkFactory, send: Send, what: str) -> None:
        self.job = job
        self.uow = uow
        self.send = send
        self.what = what
        self._busy = False

    async def __call__(self, _context: object = None) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            await self.job(self.uow, self.send)
        except Exception:
            log.exception("%s failed; the next tick tries again", self.what)
        finally:
            self._busy = False
