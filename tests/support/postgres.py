"""A fresh PostgreSQL database per test on the machine's server (127.0.0.1:5432, trust).

Tests that need PostgreSQL skip where no server answers; CI's machine has one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

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
