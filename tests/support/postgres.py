"""A fresh PostgreSQL database per test on the machine's server (127.0.0.1:5432, trust).

Tests that need PostgreSQL skip where no server answers; CI's machine has one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from db.engine import make_engine, make_sessionmaker, upgrade
from db.store import UnitOfWorkFactory

SERVER = os.environ.get("SHOPBOT_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def admin(sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    import asyncpg

    dsn = SERVER.replace("postgresql+asyncpg", "postgresql") + "/postgres"
    connection = await asyncpg.connect(dsn, timeout=3)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped (with its connections) afterwards."""
    name = f"shopbot_{uuid.uuid4().hex[:12]}"
    try:
        await admin(f'CREATE DATABASE "{name}"')
    except (OSError, ImportError) as error:
        pytest.skip(f"no PostgreSQL here: {error}")
    try:
        yield f"{SERVER}/{name}"
    finally:
        await admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@asynccontextmanager
async def migrated_store(kind: str, folder: Path) -> AsyncIterator[UnitOfWorkFactory]:
    """A migrated store on `kind` ("sqlite": a file in `folder`; "postgresql": a fresh
    database), for tests that run the same writers against both."""
    async with AsyncExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{folder / 'shopbot.db'}"
        else:
            url = await stack.enter_async_context(fresh_database())
        await upgrade(url)
        engine = make_engine(url)
        try:
            yield UnitOfWorkFactory(make_sessionmaker(engine))
        finally:
            await engine.dispose()
