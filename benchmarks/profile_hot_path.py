"""Where one update's CPU goes: statements, transactions and a cProfile of the bot.

Runs the real long-polling path (`serve_polling`: inbox, claim, handler, finish) in this
process against the Bot API emulator on loopback, on SQLite (default) or PostgreSQL, with
three kinds of group message: chit-chat the bot stays out of, `/add` requests and list
questions in words, both answered. For each kind, a first pass counts the SQL statements
and transactions per update (SQLAlchemy's cursor and begin events) and the bot's CPU per
update: the event loop's thread and the database driver's threads, not the emulator's
(which runs in this process too). A second pass of the same messages runs under cProfile
and prints the event loop thread's time by package and its top functions by own time (the
driver threads' time is in the first pass's figure, not in the profile).

    .venv/bin/python benchmarks/profile_hot_path.py [--messages 300] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.app import build_application
from bot.intake import serve_polling
from bot.services import build_services
from bot.settings import Settings
from tests.support.botapi import BotApiEmulator

TOKEN = "123456:PROFILE"
# Per kind, the phrases of each language; each group (one member) keeps to one language.
KINDS = {
    "chit-chat (no answer)": [["בוקר טוב", "תודה רבה", "מי אוסף את הילדים?"],
                              ["good morning", "see you at dinner", "ok"],
                              ["صباح الخير", "شكرا"]],
    "/add (answered)": [["/add 2 milk", "/add bread", "/add 3 eggs", "/add rice", "/add tea",
                         "/add salt"]],
    "list question (answered)": [["מה ברשימה?", "מה צריך לקנות?"],
                                 ["what's on the list?", "what do we need?"],
                                 ["شو ناقصنا؟", "شو في عالقائمة؟"]],
}
# Where a function lives, for the by-package table.
PACKAGES = [("sqlalchemy", "/sqlalchemy/"), ("python-telegram-bot", "/telegram/"),
            ("httpx/httpcore", "/http"), ("aiosqlite", "/aiosqlite/"), ("asyncpg", "/asyncpg/"),
            ("onnxruntime", "onnxruntime"), ("shopbot", "/work/"), ("asyncio", "/asyncio/"),
            ("json", "/json/")]
# Waiting for the network or the database thread, not work.
IDLE = ("<method 'poll' of 'select.epoll' objects>", "<method 'control' of 'select.kqueue'")


def shape(statement: str) -> str:
    statement = re.sub(r"sa_savepoint_\d+", "sa_savepoint_N", statement)
    return re.sub(r"\s+", " ", statement).split(" WHERE ")[0].split(" VALUES ")[0][:60]


def bot_threads() -> set[int]:
    """Native ids of the threads that do the bot's work: the event loop's (this one) and
    the database driver's (aiosqlite runs each connection in a thread of its own)."""
    ids = {threading.get_native_id()}
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        if getattr(target, "__module__", "").startswith("aiosqlite") and thread.native_id:
            ids.add(thread.native_id)
    return ids


def bot_cpu() -> float:
    threads = bot_threads()
    return sum(t.user_time + t.system_time for t in psutil.Process().threads()
               if t.id in threads)


def package_of(filename: str) -> str:
    for name, marker in PACKAGES:
        if marker in filename:
            return name
    return "other (stdlib, C)"


def sent_count(emulator: BotApiEmulator) -> int:
    """How many messages the bot has sent, without copying them (`sent()` deep-copies every
    one, which would weigh on the profile of the bot in this same process)."""
    with emulator._lock:
        return sum(1 for messages in emulator._messages.values()
                   for record in messages.values() if record["outgoing"])


async def drained(emulator: BotApiEmulator, services: object, replies: int) -> None:
    """Every update fetched and out of the inbox, and the replies sent (they go out after
    their batch's commit)."""
    while emulator.pending_updates() or sent_count(emulator) < replies:
        await asyncio.sleep(0.02)
    while True:
        # One short transaction a look: on SQLite each holds the write lock.
        async with services.uow() as uow:  # type: ignore[attr-defined]
            if not await uow.inbox.depth():
                return
        await asyncio.sleep(0.02)


async def main(messages: int, database: str | None, top: int, save: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            BotApiEmulator(token=TOKEN, bot_username="profile_bot") as emulator:
        url = database or f"sqlite+aiosqlite:///{Path(tmp) / 'profile.db'}"
        settings = Settings(telegram_token=TOKEN, telegram_api_url=emulator.base_url,
                            database_url=url, rate_limit=False, digest_delay=3600,
                            log_level="WARNING")
        services = await build_services(settings)
        statements: Counter[str] = Counter()
        begins = Counter[str]()
        # Every engine of the process: long polling applies its batches on an engine of
        # its own (on SQLite one that syncs every commit to disk).
        event.listen(Engine, "before_cursor_execute",
                     lambda *args: statements.update([shape(args[2])]))
        event.listen(Engine, "begin", lambda _c: begins.update(["tx"]))
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

        def burst(languages: list[list[str]]) -> None:
            for number in range(messages):
                group, round_ = number % len(groups), number // len(groups)
                texts = languages[group % len(languages)]
                emulator.send_text(groups[group], people[group],
                                   texts[(group + round_) % len(texts)])

        for kind, texts in KINDS.items():
            await asyncio.sleep(1.5)
            statements.clear()
            begins.clear()
            answered = sent_count(emulator)
            cpu, wall = bot_cpu(), time.perf_counter()
            wanted = sent_count(emulator) + (0 if "no answer" in kind else messages)
            burst(texts)
            await drained(emulator, services, wanted)
            cpu, wall = bot_cpu() - cpu, time.perf_counter() - wall
            replies = sent_count(emulator) - answered
            print(f"\n## {kind}: {replies} replies to {messages}; {1000 * cpu / messages:.2f} ms "
                  f"of bot CPU, {sum(statements.values()) / messages:.1f} statements in "
                  f"{begins['tx'] / messages:.2f} transactions per update; "
                  f"{messages / wall:.0f} updates/s (emulator in this process too)")
            for text, count in statements.most_common(14):
                print(f"  {count / messages:5.2f}  {text}")

            await asyncio.sleep(1.5)
            profile = cProfile.Profile()
            profile.enable()
            wanted = sent_count(emulator) + (0 if "no answer" in kind else messages)
            burst(texts)
            await drained(emulator, services, wanted)
            profile.disable()
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                profile.dump_stats(save / f"{kind.split()[0].strip('/')}.prof")
            stats = pstats.Stats(profile)
            own: Counter[str] = Counter()
            rows = []
            for (filename, line, name), (_cc, calls, tottime, _ct, _callers) in \
                    stats.stats.items():  # type: ignore[attr-defined]
                label = name if filename == "~" else f"{filename}:{line}({name})"
                if label.startswith(IDLE):
                    continue
                own[package_of(filename if filename != "~" else name)] += tottime
                rows.append((tottime, calls, label))
            busy = sum(own.values())
            print(f"  event loop thread under cProfile, idle waiting left out: "
                  f"{1000 * busy / messages:.2f} ms per update; own time by package:")
            print("   " + ", ".join(f"{package} {100 * seconds / busy:.0f}%"
                                    for package, seconds in own.most_common()))
            print(f"  top {top} functions by own time (ms per update, calls per update):")
            for tottime, calls, label in sorted(rows, reverse=True)[:top]:
                label = re.sub(r"^.*/site-packages/", "", re.sub(r"^/work/main/", "", label))
                label = re.sub(r"^/.*/lib/python3\.\d+/", "", label)
                print(f"  {1000 * tottime / messages:6.3f} {calls / messages:6.1f}  {label}")
        stop.set()
        await task
        await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--database", default=None, help="a SQLAlchemy async URL "
                        "(default: a fresh SQLite file)")
    parser.add_argument("--save", type=Path, default=None,
                        help="a folder for each kind's cProfile file (pstats, snakeviz)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.database, arguments.top, arguments.save))
