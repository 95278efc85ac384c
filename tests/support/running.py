"""A running bot for tests over the Bot API emulator: `shopbot run`'s serving loop in the
test's event loop, and waiting without blocking that loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.app import build_application
from bot.intake import serve_polling
from bot.services import Services, build_services
from bot.settings import Settings
from db.models import Item, ItemStatus
from tests.support.botapi import BotApiEmulator
from tests.support.migrated import migrate
from tests.support.postgres import fresh_database

TOKEN = "123456:TEST-TOKEN"


async def until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Wait without blocking the loop the bot runs on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.01)  # what the bot does next takes milliseconds
    raise AssertionError(f"timed out; last value {check()!r}")


class Bot:
    """A running bot process (in this event loop) over one database."""

    def __init__(self, emulator: BotApiEmulator, db: Path, admin: int | None = None) -> None:
        self.settings = Settings(telegram_token=TOKEN, telegram_api_url=emulator.base_url,
                                 database_url=f"sqlite+aiosqlite:///{db}", digest_delay=0.3,
                                 admin_chat_id=admin)
        self.services: Services | None = None
        self.app: Any = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Bot:
        """`shopbot run`'s own serving loop (durable inbox, long polling) in this loop."""
        await migrate(self.settings.database_url)  # a new file: a copy of a migrated one
        self.services = await build_services(self.settings)
        self.app = build_application(self.services)
        self._task = asyncio.create_task(serve_polling(
            self.app, self.services.uow, self.settings.database_url, self._stop))
        await until(lambda: self.app.running or self._task.done())
        return self

    async def stop(self) -> None:
        self._stop.set()
        assert self._task is not None and self.services is not None
        await self._task
        await self.services.close()


def texts(emulator: BotApiEmulator, chat_id: int) -> list[str]:
    """The texts the bot sent to a chat, oldest first."""
    return [m.get("text", "") for m in emulator.sent(chat_id)]


@asynccontextmanager
async def services_on(emulator: BotApiEmulator, url: str) -> AsyncIterator[Services]:
    """The bot's services over a database, talking to the emulator (digests far away)."""
    settings = Settings(telegram_token=TOKEN, telegram_api_url=emulator.base_url,
                        database_url=url, digest_delay=3600)
    services = await build_services(settings)
    try:
        yield services
    finally:
        await services.close()


@asynccontextmanager
async def database(kind: str, folder: Path) -> AsyncIterator[str]:
    """A migrated database of its own: a SQLite file in `folder`, or a fresh PostgreSQL one."""
    if kind == "postgresql":
        async with fresh_database() as url:
            yield url
        return
    url = f"sqlite+aiosqlite:///{folder / 'bot.db'}"
    await migrate(url)
    yield url


@asynccontextmanager
async def polling(services: Services) -> AsyncIterator[None]:
    """Long polling (bot/intake.py) over the emulator until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve_polling(build_application(services), services.uow,
                                             services.settings.database_url, stop))
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def polled(emulator: BotApiEmulator, kind: str, folder: Path) -> AsyncIterator[Services]:
    """A migrated database of `kind`, the bot's services on it, and long polling over the
    emulator until the block ends."""
    async with database(kind, folder) as url, services_on(emulator, url) as services, \
            polling(services):
        yield services


async def settled(emulator: BotApiEmulator, check: Callable[[], Any],
                  timeout: float = 30.0) -> None:
    """Until `check` holds and every queued update was fetched, then a moment in which a
    reply given twice would show."""
    await until(check, timeout=timeout)
    await until(lambda: not emulator.pending_updates())
    await asyncio.sleep(0.3)


async def count(services: Services, model: Any) -> int:
    """How many rows a table holds."""
    async with services.uow() as unit:
        return int((await unit.session.execute(
            select(func.count()).select_from(model))).scalar_one())


async def open_item_names(services: Services) -> list[str]:
    """Every open line's name in the database, oldest first."""
    async with services.uow() as unit:
        rows = await unit.session.execute(
            select(Item.name).where(Item.status == ItemStatus.OPEN).order_by(Item.id))
        return [str(name) for name in rows.scalars()]
