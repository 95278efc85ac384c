"""Concurrent writers through the real Dispatcher, on a SQLite file and on PostgreSQL.

Three loads, each message in its own task with its own session (as updates of different
chats, or of several bot processes, run):
  first contact  every user's first messages in several group chats and their private chat
  one list       members add "1 milk" to one family list from the group and private chats
  join guesses   one user sends wrong /join codes from many chats at once (limit: 5 an hour)
Prints writers, expected and actual totals, rows, errors and time per database.

    .venv/bin/python benchmarks/concurrency.py [--writers 105] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.dispatch import Dispatcher  # noqa: E402
from bot.settings import BUNDLED_MODEL  # noqa: E402
from db.engine import make_engine, make_sessionmaker, upgrade  # noqa: E402
from db.models import Group, Item, JoinAttempt, User  # noqa: E402
from db.store import UnitOfWorkFactory  # noqa: E402
from router.classifier import Classifier  # noqa: E402
from router.router import Router  # noqa: E402
from router.types import ChatKind, Incoming  # noqa: E402


def say(text: str, user: int, chat: int, update: int) -> Incoming:
    private = chat == user
    return Incoming(chat_id=chat, user_id=user, text=text,
                    chat_kind=ChatKind.PRIVATE if private else ChatKind.GROUP,
                    user_name=f"user {user}", addressed=True, update_id=update,
                    chat_title=None if private else f"chat {chat}", language_hint="en")


async def at_once(dispatcher: Dispatcher, messages: list[Incoming]) -> tuple[Counter[str], float]:
    started = time.perf_counter()
    results = await asyncio.gather(*(dispatcher.handle_message(m) for m in messages),
                                   return_exceptions=True)
    seconds = time.perf_counter() - started
    keys: Counter[str] = Counter()
    for result in results:
        if isinstance(result, BaseException):
            keys[f"ERROR {type(result).__name__}"] += 1
        else:
            keys[str(result.reply.key if result.reply else None)] += 1
    return keys, seconds


async def scalar(store: UnitOfWorkFactory, query: object) -> int:
    async with store() as uow:
        return int((await uow.session.execute(query)).scalar_one())  # type: ignore[call-overload]


async def run(url: str, writers: int, classifier: Classifier) -> None:
    await upgrade(url)
    engine = make_engine(url)
    store = UnitOfWorkFactory(make_sessionmaker(engine))
    dispatcher = Dispatcher(Router(classifier), store)
    name = url.split("+", 1)[0]

    users, chats = [501, 502, 503, 504, 505], [-1001, -1002, -1003, -1004]
    first = [say("/add 1 bread", u, c, 1000 + i) for i, (u, c) in enumerate(
        (u, c) for u in users for c in [*chats, u] for _ in range(2))]
    keys, seconds = await at_once(dispatcher, first)
    groups = await scalar(store, select(func.count()).select_from(Group))
    people = await scalar(store, select(func.count()).select_from(User))
    print(f"{name:10} first contact: {len(first)} writers, replies {dict(keys)}, users "
          f"{people}/{len(users)}, groups {groups}/{len(chats) + len(users)}, {seconds:.2f} s")

    family, members = -2001, list(range(601, 621))
    await dispatcher.handle_message(say("/start", members[0], family, 1))
    invite = await dispatcher.handle_message(say("/invite", members[0], family, 2))
    code = invite.reply.params["code"] if invite.reply else ""
    for index, member in enumerate(members):
        await dispatcher.handle_message(say(f"/join {code}", member, member, 10 + index))
    async with store() as uow:
        family_group = await uow.groups.group_of_chat(family)
        group_id = family_group.id if family_group else 0
    adds = [say("/add 1 milk", members[i % len(members)],
                family if i % 3 == 0 else members[i % len(members)], 5000 + i)
            for i in range(writers)]
    keys, seconds = await at_once(dispatcher, adds)
    total = await scalar(store, select(func.coalesce(func.sum(Item.quantity), 0)).where(
        Item.group_id == group_id, Item.status == "open"))
    rows = await scalar(store, select(func.count()).select_from(Item).where(
        Item.group_id == group_id, Item.status == "open"))
    print(f"{name:10} one list: {writers} writers from {len(members)} members' chats and the "
          f"group, replies {dict(keys)}, total {total}/{writers}, open rows {rows}, "
          f"{seconds:.2f} s")

    guesser = 701
    guesses = [say(f"/join WRONGCODE{n:02d}", guesser, guesser if n < 5 else -3000 - n,
                   9000 + n) for n in range(15)]
    keys, seconds = await at_once(dispatcher, guesses)
    tries = await scalar(store, select(func.count()).select_from(JoinAttempt).where(
        JoinAttempt.user_id == guesser))
    print(f"{name:10} join guesses: 15 at once, replies {dict(keys)}, counted tries "
          f"{tries}/5, {seconds:.2f} s")
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=105)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432",
                        help="server URL without a database; '' to skip PostgreSQL")
    args = parser.parse_args()
    classifier = Classifier.from_dir(BUNDLED_MODEL)
    with tempfile.TemporaryDirectory() as folder:
        await run(f"sqlite+aiosqlite:///{folder}/bench.db", args.writers, classifier)
    if args.postgres:
        import asyncpg

        admin = args.postgres.replace("postgresql+asyncpg", "postgresql") + "/postgres"
        database = f"shopbot_bench_{uuid.uuid4().hex[:8]}"
        connection = await asyncpg.connect(admin)
        await connection.execute(f'CREATE DATABASE "{database}"')
        try:
            await run(f"{args.postgres}/{database}", args.writers, classifier)
        finally:
            await connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
