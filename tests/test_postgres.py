"""The same store on PostgreSQL (asyncpg), by configuration alone.

Uses the machine's PostgreSQL on 127.0.0.1:5432 (trust auth); a fresh database per test
module, dropped afterwards. Skipped where no server answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from db.engine import make_engine, make_sessionmaker, upgrade
from db.store import UnitOfWorkFactory
from router.types import Intent
from tests.support.direct import YOSSI, handle, open_items, routed
from tests.support.postgres import fresh_database


@pytest.fixture
async def pg_uow() -> AsyncIterator[UnitOfWorkFactory]:
    async with fresh_database() as url:
        await upgrade(url)
        engine = make_engine(url)
        yield UnitOfWorkFactory(make_sessionmaker(engine))
        await engine.dispose()


async def test_the_list_works_on_postgresql(pg_uow: UnitOfWorkFactory) -> None:
    await handle(pg_uow, routed("תוסיף 2 חלב וביצים", Intent.GROCERY_REQUEST))
    await handle(pg_uow, routed("עוד 3 חלב", Intent.GROCERY_REQUEST, user_id=YOSSI))
    await handle(pg_uow, routed("קנינו הכל חוץ מהביצים", Intent.PARTIAL_COMPLETION))
    assert await open_items(pg_uow) == [("ביצים", None, None)]
    code = (await handle(pg_uow, routed("new code", Intent.CREATE_INVITE))).params["code"]
    assert len(code) >= 10


async def test_a_redelivered_update_is_claimed_once_on_postgresql(
        pg_uow: UnitOfWorkFactory) -> None:
    async with pg_uow() as unit:
        assert await unit.log.claim_update(4242)
        await unit.commit()
    async with pg_uow() as unit:
        assert not await unit.log.claim_update(4242)
