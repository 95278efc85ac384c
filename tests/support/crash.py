"""Crash trials: the real `shopbot run` killed with SIGKILL mid-burst, restarted, counted.

`crash_trial` starts the Bot API emulator on loopback and `shopbot run` as its own process
over a database, sends a burst of `/add 3 <item>` messages across many groups (each group
gets each item once), kills the bot with SIGKILL at random moments while it works, starts
it again each time, lets the last run finish, stops it with SIGTERM and reads every group's
list from the database: an item missing is lost, an item with more than 3 (or on two lines)
was applied twice. Used by tests/test_crash_intake.py (short) and benchmarks/crash_intake.py
(long).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError

from db.engine import make_engine, make_sessionmaker
from db.store import UnitOfWorkFactory
from router.entities import extract
from router.types import Intent
from tests.support.botapi import BotApiEmulator

__all__ = ["TOKEN", "CrashResult", "crash_trial", "pick_items"]

TOKEN = "424242:CRASH-TEST"
ROOT = Path(__file__).resolve().parents[2]
AMOUNT = 3


@dataclass
class CrashResult:
    """What a trial sent and what the lists ended with."""

    sent: int
    kills: int
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kill_points: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The figures in one line."""
        return (f"sent {self.sent}, SIGKILLs {self.kills}, lost {len(self.lost)}, "
                f"doubled {len(self.doubled)} ({self.seconds:.0f} s)")


def pick_items(count: int) -> list[str]:
    """English lexicon items that `/add 3 <item>` reads as exactly one item, amount 3."""
    names: list[str] = []
    seen: set[str] = set()
    lines = (ROOT / "router/data/lang/en/items.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        name = line.split("\t")[0].strip()
        # "half and half" is two items in a list of several; a name stays whole only alone.
        if (not name or name in seen or any(ch.isdigit() for ch in name)
                or " and " in f" {name} "):
            continue
        found = extract(Intent.GROCERY_REQUEST, f"{AMOUNT} {name}").items
        if len(found) == 1 and found[0].quantity == AMOUNT and found[0].unit is None:
            names.append(name)
            seen.add(name)
        if len(names) == count:
            break
    if len(names) < count:
        raise ValueError(f"only {len(names)} lexicon items read cleanly")
    return names


def _start(emulator: BotApiEmulator, database_url: str, workdir: Path,
           code: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHOPBOT_TELEGRAM_TOKEN": TOKEN,
           "SHOPBOT_TELEGRAM_API_URL": emulator.base_url,
           "SHOPBOT_DATABASE_URL": database_url, "SHOPBOT_DIGEST_DELAY": "3600",
           "SHOPBOT_LOG_LEVEL": "WARNING", "PYTHONPATH": str(code)}
    env.pop("SHOPBOT_ADMIN_CHAT_ID", None)
    with log.open("ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env,
                                cwd=workdir, stdout=handle, stderr=subprocess.STDOUT)


async def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def _inbox_depth(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with UnitOfWorkFactory(make_sessionmaker(engine))() as uow:
            return await uow.inbox.depth()
    except DBAPIError:
        return 0  # no inbox yet (not migrated), or a bot from before the inbox
    finally:
        await engine.dispose()


async def _lists(database_url: str,
                 chat_ids: list[int]) -> dict[int, list[tuple[str, float | None]]]:
    # Plain SQL, so a checkout with an older schema (the benchmark's "before") reads too.
    engine = make_engine(database_url)
    try:
        out: dict[int, list[tuple[str, float | None]]] = {chat_id: [] for chat_id in chat_ids}
        async with engine.connect() as connection:
            rows = await connection.execute(sql(
                "SELECT chats.chat_id, items.name, items.quantity FROM items "
                "JOIN chats ON chats.group_id = items.group_id "
                "WHERE items.status = 'open' AND chats.kind = 'group'"))
            for chat_id, name, quantity in rows.all():
                if chat_id in out:
                    out[chat_id].append((str(name), quantity))
        return out
    finally:
        await engine.dispose()


async def crash_trial(database_url: str, workdir: Path, *, groups: int = 10,
                      per_group: int = 30, kills: int = 5, seed: int = 1,
                      max_delay: float = 1.5, code: Path = ROOT,
                      timeout: float = 600.0) -> CrashResult:
    """One trial; see the module docstring. `code` is the checkout whose bot runs."""
    rng = random.Random(seed)
    started = time.monotonic()
    items = pick_items(per_group)
    log = workdir / "bot.log"
    with BotApiEmulator(token=TOKEN, bot_username="crash_test_bot") as emulator:
        chats = [emulator.group(-1001500000000 - i, f"Family {i}") for i in range(groups)]
        users = [emulator.user(700000 + i, f"Member {i}", language_code="en")
                 for i in range(groups * 2)]
        burst = [(chats[g], users[g * 2 + rng.randrange(2)], f"/add {AMOUNT} {item}")
                 for item in items for g in range(groups)]
        # The burst goes out in as many chunks as there are runs, so kills land while
        # updates are being fetched as well as while they are being applied.
        runs = kills + 1
        chunks = [burst[i * len(burst) // runs:(i + 1) * len(burst) // runs]
                  for i in range(runs)]
        result = CrashResult(sent=len(burst), kills=0)
        for run, chunk in enumerate(chunks):
            polls = len(emulator.calls("getUpdates"))
            bot = _start(emulator, database_url, workdir, code, log)
            try:
                await _wait(lambda bot=bot, polls=polls: len(emulator.calls("getUpdates")) > polls
                            or bot.poll() is not None, 120, "the bot to poll")
                if bot.poll() is not None:
                    raise AssertionError(f"shopbot run exited with {bot.returncode}; see {log}")
                for chat, user, text in chunk:
                    emulator.send_text(chat, user, text)
                if run < kills:
                    await asyncio.sleep(rng.uniform(0.0, max_delay))
                    depth = await _inbox_depth(database_url)
                    bot.send_signal(signal.SIGKILL)
                    bot.wait(30)
                    result.kills += 1
                    result.kill_points.append(
                        f"pending at Telegram {emulator.pending_updates()}, inbox ~{depth}")
                    continue
                # The last run: let it take and apply everything, then stop it politely.
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if emulator.pending_updates() == 0 and not await _inbox_depth(database_url):
                        break
                    await asyncio.sleep(0.2)
                else:
                    raise AssertionError(f"the bot did not finish in {timeout} s; see {log}")
                bot.send_signal(signal.SIGTERM)
                bot.wait(60)
            finally:
                if bot.poll() is None:
                    bot.kill()
                    bot.wait(30)
        lists = await _lists(database_url, [chat["id"] for chat in chats])
    for chat in chats:
        seen: dict[str, list[float | None]] = {}
        for name, quantity in lists[chat["id"]]:
            seen.setdefault(name, []).append(quantity)
        for item in items:
            label = f"{chat['title']}: {item}"
            if item not in seen:
                result.lost.append(label)
            elif len(seen[item]) > 1 or seen[item][0] != AMOUNT:
                result.doubled.append(f"{label} {seen[item]}")
    result.seconds = time.monotonic() - started
    return result
