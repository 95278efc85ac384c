"""The durable inbox: stored before confirmed, applied once, one chat in order (issue 10).

Against the Bot API emulator on loopback, which forgets an update only when a later
getUpdates offset confirms it, as Telegram does; on a real SQLite file and on the machine's
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.app import build_application
from bot.intake import Intake, serve_polling
from db.engine import make_engine, make_sessionmaker, upgrade
from db.models import InboxUpdate
from db.store import InboxRow, UnitOfWorkFactory
from tests.support.botapi import BotApiEmulator
from tests.support.postgres import fresh_database
from tests.support.running import services_on, texts, until

FAMILY = -1009000000001


@asynccontextmanager
async def factory(url: str) -> AsyncIterator[UnitOfWorkFactory]:
    await upgrade(url)
    engine = make_engine(url)
    try:
        yield UnitOfWorkFactory(make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _claims_in_chat_order(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.inbox.store([InboxRow(1, 10, "{}"), InboxRow(2, 10, "{}"),
                                InboxRow(3, 10, "{}"), InboxRow(4, 20, "{}")])
        # Fetched twice before the confirmation got through: stored once.
        await unit.inbox.store([InboxRow(4, 20, "{}")])
        await unit.commit()
    lease = timedelta(minutes=5)
    async with uow() as unit:
        first = await unit.inbox.claim("a", 10, lease)
        await unit.commit()
    # Each chat's oldest row only: chat 10's second update waits behind its first.
    assert [(row.update_id, row.chat_id) for row in first] == [(1, 10), (4, 20)]
    async with uow() as unit:
        assert await unit.inbox.claim("b", 10, lease) == []
        await unit.commit()
    async with uow() as unit:
        following = await unit.inbox.finish(1, 10, "a", lease)
        await unit.commit()
    assert following is not None and following.update_id == 2
    async with uow() as unit:
        assert await unit.inbox.claim("b", 10, lease) == []
        # A worker that died keeps its chats only until its lease runs out.
        await unit.session.execute(update(InboxUpdate).values(
            lease_until=datetime(2000, 1, 1, tzinfo=UTC)))
        taken = await unit.inbox.claim("b", 10, lease)
        await unit.commit()
    assert [row.update_id for row in taken] == [2, 4]
    async with uow() as unit:
        assert await unit.inbox.depth() == 3
        assert await unit.inbox.release() == 2


async def test_claims_take_each_chats_oldest_update_only_on_sqlite(tmp_path: Path) -> None:
    async with factory(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}") as uow:
        await _claims_in_chat_order(uow)


async def test_claims_take_each_chats_oldest_update_only_on_postgresql() -> None:
    async with fresh_database() as url, factory(url) as uow:
        await _claims_in_chat_order(uow)


async def test_an_update_is_confirmed_to_telegram_only_after_it_is_stored(
        emulator: BotApiEmulator, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    dana = emulator.user(11, "Dana", language_code="en")
    family = emulator.group(FAMILY, "Family")
    for item in ("milk", "bread", "eggs"):
        emulator.send_text(family, dana, f"add {item}")
    async with services_on(emulator, url) as services:
        app = build_application(services)
        async with app:
            fetched = Intake(app, services.uow)
            assert await fetched.fetch_once(timeout=0) == 3
            # Stored, but not yet confirmed: a crash now loses nothing, Telegram still has
            # them and so does the inbox.
            assert emulator.pending_updates() == 3
            async with services.uow() as uow:
                assert await uow.inbox.depth() == 3
            # The process dies here; the next one starts from scratch (no offset).
            restarted = Intake(app, services.uow)
            assert await restarted.fetch_once(timeout=0) == 3
            async with services.uow() as uow:
                assert await uow.inbox.depth() == 3
            await restarted.fetch_once(timeout=0)
            assert emulator.pending_updates() == 0
        stop = asyncio.Event()
        task = asyncio.create_task(serve_polling(build_application(services), services.uow,
                                                 url, stop))
        try:
            await until(lambda: sum("Added" in t for t in texts(emulator, FAMILY)) >= 3)
        finally:
            stop.set()
            await task
        async with services.uow() as uow:
            assert await uow.inbox.depth() == 0
    assert sum("Added" in t for t in texts(emulator, FAMILY)) == 3


@pytest.mark.slow
async def test_two_workers_apply_one_chats_updates_in_order_on_postgresql(
        emulator: BotApiEmulator) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    chats = [emulator.group(FAMILY - i, f"Family {i}") for i in range(4)]
    items = ["milk", "bread", "eggs", "rice", "tea", "coffee", "sugar", "salt"]
    async with fresh_database() as url, services_on(emulator, url) as first, \
            services_on(emulator, url) as second:
        polling = asyncio.Event()
        poller = asyncio.create_task(serve_polling(build_application(first), first.uow, url,
                                                   polling))
        other = build_application(second)
        async with other:
            # A second process's worker: it claims from the same inbox, never polls.
            worker = Intake(other, second.uow, concurrency=4, idle=0.1)
            working = asyncio.create_task(worker.apply_pending())
            try:
                for item in items:
                    for chat in chats:
                        emulator.send_text(chat, dana, f"/add {item}")

                def replies(chat: dict[str, Any]) -> list[str]:
                    return [t for t in texts(emulator, chat["id"]) if "Added" in t]

                await until(lambda: all(len(replies(c)) == len(items) for c in chats),
                            timeout=60)
            finally:
                worker.stop()
                await working
                polling.set()
                await poller
        for chat in chats:
            said = [next(item for item in items if item in reply) for reply in replies(chat)]
            assert said == items


@pytest.mark.slow
async def test_an_update_that_meets_a_locked_database_is_tried_again_not_lost(
        emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture) -> None:
    import asyncpg

    dana = emulator.user(11, "Dana", language_code="en")
    family = emulator.group(FAMILY, "Family")
    async with fresh_database() as url:
        name = url.rsplit("/", 1)[1]
        await upgrade(url)
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        holder = await asyncpg.connect(dsn)
        try:
            # The bot's transactions give up on a lock after 300 ms (a busy database).
            await holder.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '300ms'")
            async with services_on(emulator, url) as services:
                stop = asyncio.Event()
                task = asyncio.create_task(serve_polling(build_application(services),
                                                         services.uow, url, stop))
                try:
                    emulator.send_text(family, dana, "add milk")
                    await until(lambda: any("Added" in t for t in texts(emulator, FAMILY)))
                    group_id = await holder.fetchval(
                        "SELECT group_id FROM chats WHERE chat_id = $1", FAMILY)
                    await holder.execute("SELECT pg_advisory_lock($1)", group_id)
                    emulator.send_text(family, dana, "add bread")
                    await asyncio.sleep(1.5)
                    await holder.execute("SELECT pg_advisory_unlock($1)", group_id)
                    await until(lambda: any("bread" in t for t in texts(emulator, FAMILY)),
                                timeout=30)
                finally:
                    stop.set()
                    await task
        finally:
            await holder.close()
    said = texts(emulator, FAMILY)
    assert "will be tried again" in caplog.text
    assert not any("Oops" in t or "nothing was changed" in t for t in said)
    assert sum("bread" in t for t in said) == 1
