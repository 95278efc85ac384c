"""Shared fixtures: a migrated SQLite file per test. Helpers to call handlers directly live
in tests/support/direct.py (tests import them from there, never from this file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.engine import make_engine, make_sessionmaker, upgrade
from db.store import UnitOfWorkFactory


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'shopbot.db'}"


@pytest.fixture
async def uow(db_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    await upgrade(db_url)
    engine = make_engine(db_url)
    yield UnitOfWorkFactory(make_sessionmaker(engine))
    await engine.dispose()
