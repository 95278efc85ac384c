"""Concurrent writers of one list, on a SQLite file and on PostgreSQL: exact totals, one line.

Each writer is its own task with its own session and transaction, as updates of different
chats (or of several bot processes) are. The first tests call the item writes directly, with no
group lock around them, so they show that the writes are correct by themselves (the unique open
line, upserts, conditional updates); the last goes through the whole Dispatcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.dispatch import Dispatcher
from bot.settings import BUNDLED_MODEL
from db.models import Action, Item
from db.store import UnitOfWork, UnitOfWorkFactory
from handlers.common import Context, resolve
from handlers.items import add_items, tick_item, undo_action
from router.classifier import Classifier
from router.router import Router
from router.types import ChatKind, Incoming
from router.types import Item as Wanted
from tests.support.postgres import migrated_store

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

WRITERS = 105
FAMILY = -4001


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path
                ) -> AsyncIterator[UnitOfWorkFactory]:
    async with migrated_store(request.param, tmp_path) as factory:
        yield factory


def say(text: str, user_id: int, chat_id: int, update_id: int | None = None) -> Incoming:
    private = chat_id == user_id
    return Incoming(chat_id=chat_id, user_id=user_id, text=text,
                    chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
                    user_name=f"user {user_id}", addressed=True, update_id=update_id,
                    chat_title=None if private else "family", language_hint="en")


async def family(store: UnitOfWorkFactory) -> int:
    async with store() as uow:
        ctx = await resolve(say("hi", 1, FAMILY), uow)
        await uow.commit()
        return ctx.group.id


async def at_once(store: UnitOfWorkFactory, group_id: int, count: int,
                  work: Callable[[UnitOfWork, Context, int], Awaitable[object]]) -> None:
    """`count` writers at once, each in its own transaction, none behind a group lock."""
    async def one(index: int) -> None:
        async with store() as uow:
            group = await uow.groups.get(group_id)
            member = await uow.groups.member(group_id, 1)
            assert group is not None and member is not None
            await work(uow, Context(group, member), index)
            await uow.commit()
    await asyncio.gather(*(one(index) for index in range(count)))


async def lines(store: UnitOfWorkFactory) -> list[tuple[str, str, float | None]]:
    async with store() as uow:
        rows = (await uow.session.execute(
            select(Item.concept, Item.status, Item.quantity).order_by(Item.id))).all()
        return [(concept, status, quantity) for concept, status, quantity in rows]


async def test_concurrent_adds_in_three_languages_end_as_one_line_with_the_exact_total(
        store: UnitOfWorkFactory) -> None:
    group_id = await family(store)
    names = ["milk", "חלב", "حليب"]

    async def add_one(uow: UnitOfWork, ctx: Context, index: int) -> None:
        await add_items(ctx, [Wanted(names[index % 3], 1.0)], uow, 100 + index)

    await at_once(store, group_id, WRITERS, add_one)
    assert await lines(store) == [("milk", "open", float(WRITERS))]


async def test_concurrent_ticks_of_one_line_buy_it_once(store: UnitOfWorkFactory) -> None:
    group_id = await family(store)
    await at_once(store, group_id, 1,
                  lambda uow, ctx, _i: add_items(ctx, [Wanted("bread")], uow, 1))
    [(_concept, _status, _q)] = await lines(store)
    async with store() as uow:
        [row] = await uow.items.open_items(group_id)
    await at_once(store, group_id, 20,
                  lambda uow, ctx, i: tick_item(ctx, uow, "en", 100 + i, row.id))
    assert await lines(store) == [("bread", "bought", None)]
    async with store() as uow:
        ticks = (await uow.session.execute(
            select(func.count()).select_from(Action).where(Action.kind == "tick"))
        ).scalar_one()
    assert ticks == 1


async def test_concurrent_undos_and_adds_keep_every_later_amount(
        store: UnitOfWorkFactory) -> None:
    group_id = await family(store)
    async def add_two(uow: UnitOfWork, ctx: Context, _index: int) -> None:
        lines, undo = await add_items(ctx, [Wanted("eggs", 2.0)], uow, 1)
        await uow.items.record(ctx.group.id, 1, "add", lines, undo)

    await at_once(store, group_id, 1, add_two)
    async with store() as uow:
        [first] = (await uow.session.execute(select(Action.id))).scalars().all()

    async def undo_or_add(uow: UnitOfWork, ctx: Context, index: int) -> None:
        if index == 0:
            await undo_action(ctx, uow, "en", 1, first)
        else:
            await add_items(ctx, [Wanted("ביצים", 1.0)], uow, 100 + index)

    await at_once(store, group_id, 30, undo_or_add)
    # The first 2 eggs are taken back whenever the undo ran; the 29 added around it stay
    # (on one open line: the first one, or a new one when the undo came before any add).
    assert [line for line in await lines(store) if line[1] == "open"] == [
        ("eggs", "open", 29.0)]


@pytest.mark.slow
async def test_a_hundred_and_five_plus_one_milk_from_many_chats_make_one_line(
        store: UnitOfWorkFactory) -> None:
    dispatcher = Dispatcher(Router(Classifier.from_dir(BUNDLED_MODEL)), store)
    await dispatcher.handle_message(say("/start", 1, FAMILY, update_id=1))
    code = (await dispatcher.handle_message(say("/invite", 1, FAMILY, 2))
            ).reply.params["code"]  # type: ignore[union-attr]
    members = list(range(801, 816))
    for index, member in enumerate(members):
        await dispatcher.handle_message(say(f"/join {code}", member, member, 10 + index))
    texts = ["/add 1 milk", "/add 1 חלב", "/add 1 حليب"]
    messages = [say(texts[n % 3], members[n % len(members)],
                    FAMILY if n % 2 else members[n % len(members)], update_id=100 + n)
                for n in range(WRITERS)]
    outcomes = await asyncio.gather(*(dispatcher.handle_message(m) for m in messages))
    assert all(o.reply is not None and o.reply.key == "added" for o in outcomes)
    assert await lines(store) == [("milk", "open", float(WRITERS))]
