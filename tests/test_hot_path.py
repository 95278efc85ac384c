"""The lean hot path (issue 11): an update is applied, marked and taken out of the inbox in
one commit; silence writes nothing else; the digest schedule is found through its index.

On a real SQLite file and on the machine's PostgreSQL; the bot test runs the real polling
path against the Bot API emulator on loopback.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy import text as sql

from db.models import Group, InboxUpdate, ProcessedUpdate, RouteLog
from db.store import APPLYING, Applying, InboxRow, UnitOfWorkFactory, utcnow
from tests.support.botapi import BotApiEmulator
from tests.support.postgres import migrated_store
from tests.support.running import polling, services_on, until

LEASE = timedelta(minutes=5)


async def _inbox(uow: UnitOfWorkFactory) -> list[tuple[int, str | None]]:
    async with uow() as unit:
        rows = await unit.session.execute(
            select(InboxUpdate.update_id, InboxUpdate.lease_owner).order_by(InboxUpdate.update_id))
        return [(int(update_id), owner) for update_id, owner in rows.all()]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_commit_that_applies_an_update_also_takes_it_out_of_the_inbox(
        kind: str, tmp_path: Path) -> None:
    async with migrated_store(kind, tmp_path) as uow:
        async with uow() as unit:
            await unit.inbox.store([InboxRow(1, 10, "{}"), InboxRow(2, 10, "{}")])
            await unit.commit()
        async with uow() as unit:
            [row] = await unit.inbox.claim("me", 5, LEASE)
            await unit.commit()
        # A transaction that fails takes nothing out: the row waits for another try.
        failed = Applying(row.update_id, row.chat_id, "me", LEASE)
        token = APPLYING.set(failed)
        try:
            async with uow() as unit:
                assert await unit.log.claim_update(1)
                await unit.rollback()
        finally:
            APPLYING.reset(token)
        assert not failed.finished
        assert await _inbox(uow) == [(1, "me"), (2, None)]
        # The one that commits marks it processed, removes it and leases the chat's next.
        applied = Applying(row.update_id, row.chat_id, "me", LEASE)
        token = APPLYING.set(applied)
        try:
            async with uow() as unit:
                assert await unit.log.claim_update(1)
                await unit.commit()
        finally:
            APPLYING.reset(token)
        assert applied.finished
        assert applied.next_row is not None and applied.next_row.update_id == 2
        assert await _inbox(uow) == [(2, "me")]
        async with uow() as unit:
            assert not await unit.log.claim_update(1)  # already applied


async def test_a_silent_message_leaves_only_its_processed_mark(
        emulator: BotApiEmulator, tmp_path: Path) -> None:
    dana = emulator.user(11, "Dana", language_code="he")
    family = emulator.group(-1009000000077, "Family")
    async with services_on(emulator, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as services, \
            polling(services):
        emulator.send_text(family, dana, "/add 2 milk")
        await until(lambda: len(emulator.sent(family["id"])) >= 1)
        async with services.uow() as unit:
            due = (await unit.session.execute(select(Group.digest_due_at))).scalar_one()
            logged = (await unit.session.execute(
                select(func.count()).select_from(RouteLog))).scalar_one()
        # The change and its digest's due time committed together.
        assert due is not None
        for text in ("good morning", "see you at dinner", "ok"):
            emulator.send_text(family, dana, text)

        async def processed() -> int:
            async with services.uow() as unit:
                return int((await unit.session.execute(
                    select(func.count()).select_from(ProcessedUpdate))).scalar_one())

        for _ in range(200):
            if await processed() == 4 and not await _inbox(services.uow):
                break
            await asyncio.sleep(0.05)
        assert await processed() == 4
        assert await _inbox(services.uow) == []
        async with services.uow() as unit:
            assert (await unit.session.execute(
                select(func.count()).select_from(RouteLog))).scalar_one() == logged
        assert len(emulator.sent(family["id"])) == 1


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_due_digests_are_looked_up_through_a_partial_index(kind: str,
                                                                 tmp_path: Path) -> None:
    async with migrated_store(kind, tmp_path) as uow, uow() as unit:
        connection = await unit.session.connection()
        indexes = await connection.run_sync(
            lambda sync: inspect(sync).get_indexes("groups"))
        assert [index["column_names"] for index in indexes
                if index["name"] == "ix_groups_digest_due"] == [["digest_due_at"]]
        if kind == "sqlite":
            claim = select(Group.id).where(Group.digest_due_at.is_not(None),
                                           Group.digest_due_at <= utcnow())
            compiled = claim.compile(connection.sync_connection, compile_kwargs={
                "literal_binds": True})
            plan = (await unit.session.execute(
                sql(f"EXPLAIN QUERY PLAN {compiled}"))).all()
            assert "ix_groups_digest_due" in " ".join(str(row) for row in plan)
