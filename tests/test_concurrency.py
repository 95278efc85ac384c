"""Real concurrent writers through the real Dispatcher, on a SQLite file and on PostgreSQL.

Each message runs in its own task with its own session, as updates of different chats (or of
several bot processes) do. Nothing may fail, nothing may be lost or doubled, and a rate limit
must hold however many guesses arrive at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.dispatch import Dispatcher, Outcome
from db.models import Group, Item, JoinAttempt, Member, User
from db.store import UnitOfWorkFactory
from router.classifier import Classifier
from router.router import Router
from router.types import ChatKind, Incoming
from tests.support.postgres import migrated_store

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path
                ) -> AsyncIterator[UnitOfWorkFactory]:
    async with migrated_store(request.param, tmp_path) as factory:
        yield factory


def say(text: str, user_id: int, chat_id: int, update_id: int) -> Incoming:
    private = chat_id == user_id
    return Incoming(chat_id=chat_id, user_id=user_id, text=text,
                    chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
                    user_name=f"user {user_id}", addressed=True, update_id=update_id,
                    chat_title=None if private else f"chat {chat_id}", language_hint="en")


async def gather(dispatcher: Dispatcher, messages: list[Incoming]) -> list[Outcome]:
    """Every message at once, each in its own task; an exception fails the test."""
    tasks = [asyncio.create_task(dispatcher.handle_message(m)) for m in messages]
    return list(await asyncio.gather(*tasks))


async def count(store: UnitOfWorkFactory, model: type[object], *where: object) -> int:
    async with store() as uow:
        query = select(func.count()).select_from(model)  # type: ignore[arg-type]
        for clause in where:
            query = query.where(clause)  # type: ignore[arg-type]
        return int((await uow.session.execute(query)).scalar_one())


async def test_first_contact_in_many_chats_at_once_never_fails(
        classifier: Classifier, store: UnitOfWorkFactory) -> None:
    dispatcher = Dispatcher(Router(classifier), store)
    users = [501, 502, 503]
    group_chats = [-1001, -1002, -1003, -1004, -1005]
    messages = [say("/add 1 milk", user, chat, update_id=index)
                for index, (user, chat, _) in enumerate(
                    (user, chat, n) for user in users for chat in [*group_chats, user]
                    for n in range(2))]
    outcomes = await gather(dispatcher, messages)
    assert Counter(o.reply.key if o.reply else None for o in outcomes) == {
        "added": len(messages)}
    assert await count(store, User) == len(users)
    # One group per group chat and one personal list per user: no orphan made by a race.
    assert await count(store, Group) == len(group_chats) + len(users)
    assert await count(store, Member) == len(users) * (len(group_chats) + 1)
    async with store() as uow:
        for chat in group_chats:
            group = await uow.groups.group_of_chat(chat)
            assert group is not None
            rows = await uow.items.open_items(group.id)
            assert [(r.name, r.quantity) for r in rows] == [("milk", 2.0 * len(users))]


async def test_concurrent_adds_to_one_list_from_many_chats_add_up_exactly(
        classifier: Classifier, store: UnitOfWorkFactory) -> None:
    dispatcher = Dispatcher(Router(classifier), store)
    family = -2001
    members = list(range(601, 611))
    await dispatcher.handle_message(say("/start", members[0], family, update_id=1))
    code = (await dispatcher.handle_message(say("/invite", members[0], family, 2))
            ).reply.params["code"]  # type: ignore[union-attr]
    for index, member in enumerate(members):
        joined = await dispatcher.handle_message(say(f"/join {code}", member, member, 10 + index))
        assert joined.reply is not None and joined.reply.key == "joined"
    # Each member adds 2 eggs three times from their private chat and once in the group.
    messages = [say("/add 2 eggs", member, chat, update_id=100 + index)
                for index, (member, chat) in enumerate(
                    (m, c) for m in members for c in (m, m, m, family))]
    outcomes = await gather(dispatcher, messages)
    assert all(o.reply is not None and o.reply.key == "added" for o in outcomes)
    async with store() as uow:
        group = await uow.groups.group_of_chat(family)
        assert group is not None
        rows = await uow.items.open_items(group.id)
        assert [(r.name, r.quantity) for r in rows] == [("eggs", 2.0 * len(messages))]
    assert await count(store, Item) == 1


async def test_join_guesses_stay_limited_when_they_arrive_at_once(
        classifier: Classifier, store: UnitOfWorkFactory) -> None:
    dispatcher = Dispatcher(Router(classifier), store)
    guesser = 701
    # 15 wrong codes at once, from the guesser's private chat and from 10 group chats.
    chats = [guesser] * 5 + [-3000 - n for n in range(10)]
    messages = [say(f"/join WRONGCODE{n:02d}", guesser, chat, update_id=n)
                for n, chat in enumerate(chats)]
    outcomes = await gather(dispatcher, messages)
    keys = Counter(o.reply.key if o.reply else None for o in outcomes)
    assert keys == {"join_bad_code": 5, "join_rate_limited": 10}
    assert await count(store, JoinAttempt, JoinAttempt.user_id == guesser) == 5
