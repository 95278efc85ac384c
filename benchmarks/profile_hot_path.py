"""Where one update's CPU goes: statements, transactions and a cProfile of the bot process.

Runs the real long-polling path (`serve_polling`: inbox, claim, handler, finish) in this
process against the Bot API emulator on loopback, on SQLite (default) or PostgreSQL, with two
kinds of group message: chit-chat the bot stays out of, and `/add` requests it answers.
For each kind it prints the SQL statements and transactions per update (counted with
SQLAlchemy's cursor events), the process CPU per update, and the top functions by own time.

    .venv/bin/python benchmarks/profile_hot_path.py [--messages 300] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event

from bot.app import build_application
from bot.intake import serve_polling
from bot.services import build_services
from bot.settings import Settings
from tests.support.botapi import BotApiEmulator

TOKEN = "123456:PROFILE"
CHITCHAT = ["בוקר טוב", "תודה רבה", "good morning", "see you at dinner", "صباح الخير",
            "شكرا", "מי אוסף את הילדים?", "ok"]
REQUESTS = ["/add 2 milk", "/add bread", "/add 3 eggs", "/add rice", "/add tea", "/add salt"]


def shape(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).split(" WHERE ")[0].split(" VALUES ")[0][:60]


async def main(messages: int, database: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            BotApiEmulator(token=TOKEN, bot_username="profile_bot") as emulator:
        url = database or f"sqlite+aiosqlite:///{Path(tmp) / 'profile.db'}"
        settings = Settings(telegram_token=TOKEN, telegram_api_url=emulator.base_url,
                            database_url=url, rate_limit=False, digest_delay=3600,
                            log_level="WARNING")
        services = await build_services(settings)
        statements: Counter[str] = Counter()
        begins = Counter[str]()
        event.listen(services.engine.sync_engine, "before_cursor_execute",
                     lambda *args: statements.update([shape(args[2])]))
        event.listen(services.engine.sync_engine, "begin", lambda _c: begins.update(["tx"]))
        stop = asyncio.Event()
        app = build_application(services)
        task = asyncio.create_task(serve_polling(app, services.uow, url, stop))
        groups = [emulator.group(-1006000000000 - i, f"Family {i}") for i in range(20)]
        people = [emulator.user(950000 + i, f"Member {i}", language_code="he")
                  for i in range(20)]
        # First contact (groups, users, members) is not the steady state: done first.
        for group, person in zip(groups, people, strict=True):
            emulator.send_text(group, person, "/list")
        while len(emulator.sent()) < len(groups):
            await asyncio.sleep(0.05)
        print(f"{url.split(':')[0]}; {messages} messages of each kind over {len(groups)} "
              "groups")
        for kind, texts in (("chit-chat (no answer)", CHITCHAT), ("/add (answered)", REQUESTS)):
            await asyncio.sleep(1.5)
            statements.clear()
            begins.clear()
            answered = len(emulator.sent())
            profile = cProfile.Profile()
            cpu, wall = time.process_time(), time.perf_counter()
            profile.enable()
            for number in range(messages):
                group = number % len(groups)
                emulator.send_text(groups[group], people[group], texts[number % len(texts)])
            while emulator.pending_updates():
                await asyncio.sleep(0.02)
            while True:
                # One short transaction a look: on SQLite each holds the write lock.
                async with services.uow() as uow:
                    if not await uow.inbox.depth():
                        break
                await asyncio.sleep(0.02)
            profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            replies = len(emulator.sent()) - answered
            print(f"\n## {kind}: {replies} replies; {1000 * cpu / messages:.1f} ms CPU and "
                  f"{sum(statements.values()) / messages:.1f} statements in "
                  f"{begins['tx'] / messages:.1f} transactions per update; "
                  f"{messages / wall:.0f} updates/s (emulator in this process too)")
            for text, count in statements.most_common(12):
                print(f"  {count / messages:5.2f}  {text}")
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
            print("\n".join(line for line in out.getvalue().splitlines()
                            if re.match(r"\s+\d", line)))
        stop.set()
        await task
        await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database", default=None, help="a SQLAlchemy async URL "
                        "(default: a fresh SQLite file)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.database))
