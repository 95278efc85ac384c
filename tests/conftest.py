"""Shared fixtures: a migrated SQLite file per test (a copy of one migrated once a run), the
bundled model (loaded once a run) and a dispatcher over it, the Bot API emulator and a bot
running over it. Helpers live in tests/support/ (tests import them
from there, never from this file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.dispatch import Dispatcher
from bot.settings import BUNDLED_MODEL
from db.engine import make_engine, make_sessionmaker
from db.store import UnitOfWorkFactory
from router.classifier import Classifier
from router.router import Router
from tests.support.botapi import BotApiEmulator
from tests.support.migrated import migrate
from tests.support.running import TOKEN, Bot


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'shopbot.db'}"


@pytest.fixture
async def uow(db_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield UnitOfWorkFactory(make_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.from_dir(BUNDLED_MODEL)


@pytest.fixture
def dispatcher(classifier: Classifier, uow: UnitOfWorkFactory) -> Dispatcher:
    return Dispatcher(Router(classifier), uow)


@pytest.fixture
def emulator() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(token=TOKEN, bot_username="family_list_bot") as emu:
        yield emu


@pytest.fixture
async def bot(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await Bot(emulator, tmp_path / "bot.db").start()
    yield running
    await running.stop()
